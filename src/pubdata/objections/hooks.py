"""How open objections reach the other contexts: certification waits (REG-32) and certificates verify as
异议中 (REG-33). Registered when the objections models are imported, i.e. with every database use."""

from __future__ import annotations

from sqlalchemy.orm import Session

from pubdata.registry.models import Application, Certificate
from pubdata.registry.public_notices import BLOCKERS


def notice_objection(session: Session, app: Application) -> str | None:
    from pubdata.objections.service import unresolved

    obj = unresolved(session, application_id=app.id)
    return f"公示期内有未办结的异议（编号 {obj.id}），暂缓发证（第三十二条）。" if obj else None


def registered_objection(session: Session, cert: Certificate) -> str | None:
    from pubdata.objections.service import unresolved

    obj = unresolved(session, registration_id=cert.registration_id)
    return f"该登记有未办结的异议（编号 {obj.id}，{obj.created_at:%Y-%m-%d} 提出）" if obj else None


def install() -> None:
    from pubdata.certificates.status import OBJECTION_HOOKS

    if notice_objection not in BLOCKERS:
        BLOCKERS.append(notice_objection)
    if registered_objection not in OBJECTION_HOOKS:
        OBJECTION_HOOKS.append(registered_objection)
