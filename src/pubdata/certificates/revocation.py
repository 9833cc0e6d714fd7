"""Revocation of a registration (撤销登记, REG-43): its certificates then verify as 已撤销 with the date.

Called by the objections context (and by nothing on the applicant's side). It records the decision; written
notices and any announcement belong to the caller's procedure, which knows the grounds and the parties.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor, record
from pubdata.errors import Conflict, FieldError, NotFound, ValidationFailed
from pubdata.identity.access import require
from pubdata.identity.permissions import Permission
from pubdata.registry.certificates import end_certificates
from pubdata.registry.models import Registration


def revoke(session: Session, *, actor: Actor, registration_id: int, reasons: str, date: dt.date) -> Registration:
    """Mark the registration revoked and its valid certificates revoked on ``date`` (not in the future)."""
    require(actor, Permission.ORG_VERIFY)
    reg = session.get(Registration, registration_id, with_for_update={"of": Registration})
    if reg is None:
        raise NotFound("登记记录不存在。", code="registration_not_found")
    errors = []
    text = (reasons or "").strip()
    if not text:
        errors.append(FieldError("reasons", "required", "须说明撤销登记的理由（第四十三条）。"))
    if date > clock.today():
        errors.append(FieldError("date", "in_future", "撤销日期不能晚于今天。"))
    if errors:
        raise ValidationFailed(errors)
    if reg.status == "revoked":
        raise Conflict("该登记已被撤销。", code="already_revoked")
    if reg.status != "registered":
        raise Conflict("只有已登记的记录可以撤销。", code="not_registered")
    ended = end_certificates(session, actor=actor, registration=reg, status="revoked", on=date, reason=text)
    reg.status = "revoked"
    record(session, actor=actor, tag="registry:registration:revoked", object_type="registration", object_id=reg.id,
           changes={"status": ["registered", "revoked"]},
           data={"date": date, "reasons": text, "certificates": [c.number for c in ended]})
    return reg
