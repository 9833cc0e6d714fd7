"""Industry departments oversee their industries' registrations (REG-18).

A department's role lists GB/T 4754-2017 codes, sections (门类 "G") or divisions (大类 "54"). A registration
belongs to the department when one of its ``basic.industries`` codes is the same code, a division inside the
department's section, or the section that contains the department's division (a registration filed at section
level covers every division of it). If the department's role names a region, only subjects in that region.

What is looked at: the registered content (current version) of registered, cancelled and revoked records; for
records not registered yet, the content of the latest application the subject actually submitted. Drafts stay
private to the subject until submitted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.audit import Actor
from pubdata.errors import PermissionDenied
from pubdata.identity.access import require
from pubdata.identity.models import Organisation
from pubdata.identity.permissions import Permission
from pubdata.identity.roles import Role
from pubdata.reference.industries import get_industry
from pubdata.registry.models import Application, Registration
from pubdata.registry.records import get_registration
from pubdata.supervision.scope import Scope, active_roles


@dataclass(frozen=True)
class IndustryScope:
    #: (section letter, division code or None) for every code the department oversees.
    codes: tuple[tuple[str, str | None], ...]
    regions: Scope

    def matches(self, industries: Iterable[object]) -> list[str]:
        """The registration's industry codes that fall within this department's."""
        hits: list[str] = []
        for raw in industries:
            found = _split(raw)
            if found is None:
                continue
            section, division = found
            for dept_section, dept_division in self.codes:
                if section != dept_section:
                    continue
                if dept_division is None or division is None or division == dept_division:
                    hits.append(division or section)
                    break
        return hits


def _split(code: object) -> tuple[str, str | None] | None:
    industry = get_industry(code) if isinstance(code, str) else None
    if industry is None:
        return None
    if industry.level == "section":
        return industry.code, None
    return str(industry.parent), industry.code


def industry_scope(session: Session, actor: Actor) -> IndustryScope:
    rows = active_roles(session, actor.org_id, [Role.INDUSTRY_DEPARTMENT])
    codes = tuple(dict.fromkeys(s for r in rows for c in r.industry_codes if (s := _split(c)) is not None))
    regions = tuple(r.region_code for r in rows if r.region_code)
    # A department whose roles name no region oversees its industry everywhere.
    return IndustryScope(codes, Scope(regions if regions and len(regions) == len(rows) else None))


def effective_content(session: Session, reg: Registration) -> Mapping[str, Any] | None:
    """Registered content, else the latest submitted application's; None for a record never submitted."""
    if reg.versions:
        return reg.versions[-1].content
    latest = session.scalars(select(Application).where(
        Application.registration_id == reg.id, Application.submitted_at.is_not(None))
        .order_by(Application.id.desc()).limit(1)).first()
    return latest.content if latest is not None else None


def industries_of(content: Mapping[str, Any] | None) -> list[object]:
    basic = content.get("basic") if content else None
    values = basic.get("industries") if isinstance(basic, Mapping) else None
    return list(values) if isinstance(values, list) else []


@dataclass(frozen=True)
class IndustryRegistration:
    registration: Registration
    content: Mapping[str, Any]
    matched: list[str]


def industry_registrations(session: Session, *, actor: Actor, status: str | None = None, limit: int = 100,
                           offset: int = 0) -> list[IndustryRegistration]:
    """Registrations of the department's industries, newest first. Filtering happens on JSON content in Python,
    the same on SQLite and PostgreSQL; fine at a province's volume (tens of thousands)."""
    require(actor, Permission.REGISTRY_READ_INDUSTRY)
    scope = industry_scope(session, actor)
    stmt = select(Registration, Organisation.region_code).join(
        Organisation, Organisation.id == Registration.subject_org_id).where(Registration.code.is_not(None))
    if status:
        stmt = stmt.where(Registration.status == status)
    out: list[IndustryRegistration] = []
    for reg, region in session.execute(stmt.order_by(Registration.id.desc())):
        if not scope.regions.covers(region):
            continue
        content = effective_content(session, reg)
        if content is not None and (hits := scope.matches(industries_of(content))):
            out.append(IndustryRegistration(reg, content, hits))
    return out[offset: offset + limit]


def view_industry_registration(session: Session, *, actor: Actor, registration_id: int) -> IndustryRegistration:
    require(actor, Permission.REGISTRY_READ_INDUSTRY)
    reg = get_registration(session, registration_id=registration_id)
    scope = industry_scope(session, actor)
    subject = session.get(Organisation, reg.subject_org_id)
    content = effective_content(session, reg) if reg.code is not None else None
    hits = scope.matches(industries_of(content)) if content is not None else []
    if not hits or not scope.regions.covers(subject.region_code if subject else None):
        raise PermissionDenied("该登记不属于本部门所管行业。", code="other_industry")
    assert content is not None
    return IndustryRegistration(reg, content, hits)
