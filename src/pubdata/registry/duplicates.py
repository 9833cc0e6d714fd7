"""Duplicate registration (REG-30(一)): exact duplicates are refused at submission, near ones flagged."""

from __future__ import annotations

from difflib import SequenceMatcher
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pubdata.config import get_settings
from pubdata.errors import FieldError, ValidationFailed
from pubdata.identity.models import Organisation
from pubdata.registry.form import normalise_name
from pubdata.registry.models import Application, Registration

LIVE = ("pending", "registered")


def evidence_key(content: dict[str, Any]) -> str | None:
    """What identifies the evidenced data: the platform receipt number or the evidence proof's digest."""
    storage = content.get("storage") or {}
    return storage.get("evidence_receipt_no") or storage.get("evidence_proof") or None


def _others(session: Session, app: Application) -> Any:
    return select(Registration).where(Registration.id != app.registration_id, Registration.status.in_(LIVE),
                                      Registration.code.is_not(None))


def refuse_exact(session: Session, app: Application) -> None:
    """Same subject and same normalised data name, or the same evidence: cannot be submitted."""
    reg = app.registration
    name = normalise_name(str((app.content.get("basic") or {}).get("name") or ""))
    key = evidence_key(app.content)
    conditions = [((Registration.subject_org_id == reg.subject_org_id) & (Registration.name_key == name))]
    if key:
        conditions.append(Registration.evidence_key == key)
    clash = session.scalars(_others(session, app).where(or_(*conditions))).first()
    if clash is None:
        return
    field = "basic.name" if clash.name_key == name and clash.subject_org_id == reg.subject_org_id else \
        "storage.evidence_proof"
    raise ValidationFailed([FieldError(field, "duplicate_registration",
                                       f"与已登记或办理中的 {clash.code}“{clash.data_name}”重复，不予重复登记（第三十条）。")],
                           detail="重复登记，不能提交（第三十条）。")


def near(session: Session, app: Application) -> list[dict[str, Any]]:
    """Registrations of the same subject or region whose names look alike, for the reviewer."""
    threshold = get_settings().duplicate_name_threshold
    reg = app.registration
    name = normalise_name(str((app.content.get("basic") or {}).get("name") or ""))
    subject = session.get(Organisation, reg.subject_org_id)
    region = subject.region_code if subject else None
    stmt = _others(session, app).join(Organisation, Organisation.id == Registration.subject_org_id).where(
        or_(Registration.subject_org_id == reg.subject_org_id, Organisation.region_code == region))
    flags = []
    for other in session.scalars(stmt):
        ratio = SequenceMatcher(None, name, other.name_key).ratio()
        if ratio >= threshold:
            flags.append({"kind": "near_duplicate", "registration_code": other.code, "data_name": other.data_name,
                          "similarity": round(ratio, 3), "same_subject": other.subject_org_id == reg.subject_org_id})
    return sorted(flags, key=lambda f: -f["similarity"])
