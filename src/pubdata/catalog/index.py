"""Keeping the catalog in step with the registry: every flush that registers, changes, cancels or revokes a
record, or changes its certificate, re-projects that record in the same transaction (no job, no lag)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, event, insert, select, update
from sqlalchemy.orm import Session, UOWTransaction

from pubdata.catalog.models import CatalogEntry, CatalogFacet, CatalogTerm, CatalogText
from pubdata.db.base import utcnow
from pubdata.fulltext import text
from pubdata.identity.models import Organisation
from pubdata.reference.industries import get_industry
from pubdata.reference.regions import region_path
from pubdata.registry.models import Certificate, Registration, RegistrationVersion

#: Registration states that have a public catalog entry (it stays listed, with its status, once registered).
LISTED = ("registered", "cancelled", "revoked")
BATCH = 500

#: The parts of the registration form (REG-7..14) the catalog publishes; attachments, agents, co-owners'
#: codes, evidence and security documents stay with the institution.
PUBLIC_FIELDS: dict[str, tuple[str, ...]] = {
    "resource": ("coverage_start", "coverage_end", "authorized", "operator_name", "authorization_start",
                 "authorization_end"),
    "product": ("product_type", "source_registration_name", "source_registration_code", "authorization_start",
                "authorization_end", "purpose"),
    "open_data": ("channel", "license"),
    "storage": ("production_method", "structure", "delivery_format", "storage_method", "update_frequency",
                "update_method"),
    "scenario": ("conditions", "scope", "audience", "problems"),
    "sharing": ("sharing_type", "conditions", "method", "open_to_public", "opening_conditions"),
}


def _strings(value: Any) -> list[str]:
    return [str(v).strip() for v in value if str(v).strip()] if isinstance(value, list) else []


def region_values(codes: Iterable[str]) -> set[str]:
    """Each region with its ancestors, so a county's data is in its city's and the province's catalog."""
    return {r.code for code in codes for r in region_path(code) if r.level != "country"}


def industry_values(codes: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for code in codes:
        found = get_industry(code)
        if found is not None:
            out.add(found.code)
            if found.parent:
                out.add(found.parent)
    return out


@dataclass(frozen=True)
class Projection:
    """One registration's current version as the catalog holds it."""

    entry: dict[str, Any]
    #: The catalog_text row (without its entry id): the normalised texts a search checks and ranks against.
    texts: dict[str, Any]
    #: term → the highest weight of the fields it occurs in.
    terms: dict[str, int]
    facets: set[tuple[str, str]]


def project(reg: Any, content: dict[str, Any], org: Any, cert: Any, registered_on: dt.date | None) -> Projection:
    basic = content.get("basic") or {}
    tags = _strings(basic.get("tags"))
    regions = _strings(basic.get("regions"))
    industries = _strings(basic.get("industries"))
    summary = str(basic.get("summary") or "")
    name = str(basic.get("name") or reg.data_name)
    details = {section: {k: (content.get(section) or {}).get(k) for k in keys
                         if (content.get(section) or {}).get(k) not in (None, "", [])}
               for section, keys in PUBLIC_FIELDS.items()}
    row = {
        "registration_id": reg.id, "code": reg.code, "data_name": name[:100], "summary": summary, "tags": tags,
        "subject_org_id": reg.subject_org_id, "subject_name": org.name, "registration_type": reg.registration_type,
        "category": basic.get("category"), "grade": basic.get("grade"), "regions": regions,
        "industries": industries, "status": reg.status, "certificate_number": cert.number if cert else None,
        "certificate_status": cert.status if cert else None, "registered_on": registered_on,
        "version_no": reg.current_version, "details": {k: v for k, v in details.items() if v},
        "updated_at": utcnow(),
    }
    texts = {
        "status": reg.status, "registered_on": registered_on,
        "name_text": text.normalise(name)[:100], "tag_text": text.normalise(" ".join(tags)),
        "subject_text": text.normalise(org.name)[:200],
        "search_text": "\n".join(text.normalise(s) for s in (name, " ".join(tags), org.name, summary)),
    }
    terms = text.weighted_terms([(name, text.NAME), (" ".join(tags), text.TAGS), (org.name, text.SUBJECT),
                                 (summary, text.SUMMARY)])
    facets = {("region", v) for v in region_values(regions + ([org.region_code] if org.region_code else []))}
    facets |= {("industry", v) for v in industry_values(industries)}
    facets |= {(f, str(v)) for f, v in (("type", reg.registration_type), ("category", basic.get("category")),
                                        ("grade", basic.get("grade"))) if v}
    return Projection(row, texts, terms, facets)


def sync(conn: Connection, registration_ids: Iterable[int]) -> int:
    """Re-project these registrations into the catalog; returns how many entries were written."""
    ids = sorted(set(registration_ids))
    written = 0
    for start in range(0, len(ids), BATCH):
        written += _sync_batch(conn, ids[start:start + BATCH])
    return written


def _sync_batch(conn: Connection, ids: Sequence[int]) -> int:
    regs = list(conn.execute(select(Registration.__table__).where(
        Registration.id.in_(ids), Registration.current_version > 0, Registration.status.in_(LISTED))))
    if not regs:
        return 0
    reg_ids = [r.id for r in regs]
    versions = {(v.registration_id, v.version_no): v.content for v in conn.execute(
        select(RegistrationVersion.registration_id, RegistrationVersion.version_no, RegistrationVersion.content)
        .where(RegistrationVersion.registration_id.in_(reg_ids)))}
    orgs = {o.id: o for o in conn.execute(select(Organisation.id, Organisation.name, Organisation.region_code)
                                          .where(Organisation.id.in_({r.subject_org_id for r in regs})))}
    certs: dict[int, Any] = {}
    first_issued: dict[int, dt.date] = {}
    for c in conn.execute(select(Certificate.registration_id, Certificate.number, Certificate.status,
                                 Certificate.issued_on).where(Certificate.registration_id.in_(reg_ids))
                          .order_by(Certificate.id)):
        certs[c.registration_id] = c  # the latest issued is the current one
        first_issued.setdefault(c.registration_id, c.issued_on)
    existing = dict(conn.execute(select(CatalogEntry.registration_id, CatalogEntry.id)
                                 .where(CatalogEntry.registration_id.in_(reg_ids))).all())
    projected = {r.id: project(r, versions.get((r.id, r.current_version)) or {}, orgs[r.subject_org_id],
                               certs.get(r.id), first_issued.get(r.id)) for r in regs}
    new_rows = [p.entry for rid, p in projected.items() if rid not in existing]
    if new_rows:
        conn.execute(insert(CatalogEntry.__table__), new_rows)
        existing.update(conn.execute(select(CatalogEntry.registration_id, CatalogEntry.id)
                                     .where(CatalogEntry.registration_id.in_([r["registration_id"] for r in new_rows])))
                        .all())
    changed = [{**p.entry, "_id": existing[rid]} for rid, p in projected.items() if p.entry not in new_rows]
    if changed:  # one executemany, not a statement per entry
        table = CatalogEntry.__table__
        conn.execute(update(table).where(table.c.id == bindparam("_id"))
                     .values({k: bindparam(k) for k in changed[0] if k != "_id"}), changed)
    entry_ids = [existing[rid] for rid in projected]
    # The search rows are derived data, replaced wholesale; the entry itself is never removed.
    for table in (CatalogText, CatalogTerm, CatalogFacet):
        conn.execute(delete(table).where(table.entry_id.in_(entry_ids)))
    conn.execute(insert(CatalogText.__table__),
                 [{**p.texts, "entry_id": existing[rid]} for rid, p in projected.items()])
    term_rows = [{"term": t, "entry_id": existing[rid], "weight": w, "status": p.texts["status"],
                  "registered_on": p.texts["registered_on"], "leads": int(p.texts["name_text"].startswith(t))}
                 for rid, p in projected.items() for t, w in p.terms.items()]
    facet_rows = [{"facet": f, "value": v, "entry_id": existing[rid]}
                  for rid, p in projected.items() for f, v in p.facets]
    if term_rows:
        conn.execute(insert(CatalogTerm.__table__), term_rows)
    if facet_rows:
        conn.execute(insert(CatalogFacet.__table__), facet_rows)
    return len(projected)


def rebuild(conn: Connection) -> int:
    """Re-project every listed registration (after an import, or to repair a hand-edited database)."""
    ids = list(conn.scalars(select(Registration.id).where(Registration.current_version > 0)))
    return sync(conn, ids)


_WATCHED = {"status", "current_version", "data_name", "code", "registration_type"}


def _touched(session: Session) -> set[int]:
    ids: set[int] = set()
    orgs: set[int] = set()
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Registration):
            if obj in session.new or any(_changed(obj, a) for a in _WATCHED):
                ids.add(obj.id)
        elif isinstance(obj, Certificate):
            ids.add(obj.registration_id)
        elif isinstance(obj, Organisation) and obj not in session.new and _changed(obj, "name"):
            orgs.add(obj.id)
    if orgs:
        ids |= set(session.scalars(select(CatalogEntry.registration_id)
                                   .where(CatalogEntry.subject_org_id.in_(orgs))))
    return ids


def _changed(obj: Any, attr: str) -> bool:
    from sqlalchemy import inspect

    return bool(inspect(obj).attrs[attr].history.has_changes())


@event.listens_for(Session, "after_flush")
def _follow_registry(session: Session, _ctx: UOWTransaction) -> None:
    ids = _touched(session)
    if ids:
        sync(session.connection(), ids)
