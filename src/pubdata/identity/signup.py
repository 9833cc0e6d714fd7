"""Self-service sign-up: an organisation and its first administrator, in one transaction.

The organisation starts unverified: its users can sign in and fill drafts, and submit nothing until a
registration institution verifies it (REG-36).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from pubdata.audit import Actor
from pubdata.errors import DomainError, FieldError, ValidationFailed
from pubdata.identity.models import Organisation, User
from pubdata.identity.organisations import SELF_SERVICE_ROLES, RoleSpec, create_organisation
from pubdata.identity.roles import Role
from pubdata.identity.users import _insert_user, user_input_errors


@dataclass(frozen=True)
class SignUp:
    org_name: str
    uscc: str
    kind: str
    region_code: str
    role: str
    username: str
    full_name: str
    password: str
    phone: str | None = None


def sign_up(session: Session, *, actor: Actor, form: SignUp) -> tuple[Organisation, User]:
    if form.role not in {r.value for r in SELF_SERVICE_ROLES}:
        raise ValidationFailed.single("role", "role_not_self_service", "自行注册仅可选择登记主体、委托代理机构、第三方专业服务机构或运营机构。")
    errors: list[FieldError] = []
    org: Organisation | None = None
    # Collect the organisation's and the user's problems together, so the form shows all at once.
    try:
        with session.begin_nested():
            org = create_organisation(session, actor=actor, name=form.org_name, uscc=form.uscc, kind=form.kind,
                                      region_code=form.region_code, roles=[RoleSpec(Role(form.role))])
    except DomainError as exc:
        errors.extend(exc.errors or [FieldError("uscc", exc.code, exc.detail)])
    username = (form.username or "").strip().lower()
    errors.extend(user_input_errors(session, username=username, full_name=(form.full_name or "").strip(),
                                    password=form.password, phone=form.phone))
    if errors:
        raise ValidationFailed(errors)
    assert org is not None
    user = _insert_user(session, actor=actor, org_id=org.id, username=username, full_name=form.full_name,
                        password=form.password, phone=form.phone, is_org_admin=True)
    return org, user
