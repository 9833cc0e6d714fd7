"""Reading registration records (with their versions and certificates) and recording the national code."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.audit import Actor, record
from pubdata.errors import NotFound, PermissionDenied, ValidationFailed
from pubdata.identity.access import require
from pubdata.identity.permissions import Permission
from pubdata.registry.models import Application, Certificate, Registration

NATIONAL_CODE_RE = re.compile(r"^[0-9A-Za-z-]{6,64}$")


def get_registration(session: Session, *, registration_id: int) -> Registration:
    reg = session.get(Registration, registration_id)
    if reg is None:
        raise NotFound("登记记录不存在。", code="registration_not_found")
    return reg


def view_registration(session: Session, *, actor: Actor, registration_id: int) -> Registration:
    reg = get_registration(session, registration_id=registration_id)
    if actor.kind == "system" or actor.org_id == reg.subject_org_id or actor.can(Permission.ORG_VERIFY.value) \
            or actor.can(Permission.AUDIT_READ.value):
        return reg
    filers = session.scalars(select(Application.filed_by_org_id).where(Application.registration_id == reg.id))
    if actor.org_id in set(filers):
        return reg
    raise PermissionDenied("只能查看本单位的登记。", code="other_organisation")


def certificates(session: Session, *, registration_id: int) -> list[Certificate]:
    stmt = select(Certificate).where(Certificate.registration_id == registration_id).order_by(Certificate.id)
    return list(session.scalars(stmt))


def set_national_code(session: Session, *, actor: Actor, registration_id: int, code: str) -> Registration:
    """REG-34: the province platform connects to the national one; keep the code it assigns."""
    require(actor, Permission.ORG_VERIFY)
    reg = get_registration(session, registration_id=registration_id)
    code = (code or "").strip()
    if not NATIONAL_CODE_RE.match(code):
        raise ValidationFailed.single("national_code", "bad_code", "国家登记编码应为 6–64 位字母、数字或连字符。")
    before, reg.national_code = reg.national_code, code
    record(session, actor=actor, tag="registry:registration:national_code_set", object_type="registration",
           object_id=reg.id, changes={"national_code": [before, code]})
    return reg
