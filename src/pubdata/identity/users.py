"""Users of an organisation: creation, deactivation (never deletion), password change."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.audit import Actor, record
from pubdata.errors import Conflict, FieldError, NotFound, ValidationFailed
from pubdata.identity.access import require, require_same_org
from pubdata.identity.models import User
from pubdata.identity.organisations import get_organisation
from pubdata.identity.passwords import hash_password, verify_password
from pubdata.identity.permissions import Permission
from pubdata.identity.validation import password_errors, username_error


def create_user(
    session: Session,
    *,
    actor: Actor,
    org_id: int,
    username: str,
    full_name: str,
    password: str,
    phone: str | None = None,
    is_org_admin: bool = False,
) -> User:
    """Organisation administrators add users to their own organisation; the CLI operator to any."""
    if actor.kind != "system":
        require(actor, Permission.ORG_USERS_MANAGE)
        require_same_org(actor, org_id)
    get_organisation(session, org_id=org_id)
    return _insert_user(session, actor=actor, org_id=org_id, username=username, full_name=full_name,
                        password=password, phone=phone, is_org_admin=is_org_admin)


def user_input_errors(
    session: Session, *, username: str, full_name: str, password: str, phone: str | None
) -> list[FieldError]:
    """Every problem with a new user's fields, the taken user name included."""
    errors: list[FieldError] = []
    if (err := username_error(username)) is not None:
        errors.append(err)
    elif session.scalar(select(User.id).where(User.username == username)) is not None:
        errors.append(FieldError("username", "duplicate_username", f"登录名 {username} 已被使用。"))
    if not full_name:
        errors.append(FieldError("full_name", "required", "请填写姓名（实名）。"))
    errors.extend(password_errors(password))
    if phone and not (phone.isdigit() and len(phone) == 11 and phone.startswith("1")):
        errors.append(FieldError("phone", "phone_format", "手机号应为 11 位数字。"))
    return errors


def _insert_user(
    session: Session, *, actor: Actor, org_id: int, username: str, full_name: str, password: str,
    phone: str | None, is_org_admin: bool,
) -> User:
    username = (username or "").strip().lower()
    full_name = (full_name or "").strip()
    if errors := user_input_errors(session, username=username, full_name=full_name, password=password, phone=phone):
        if [e.code for e in errors] == ["duplicate_username"]:
            raise Conflict(errors[0].message, code="duplicate_username", errors=errors)
        raise ValidationFailed(errors)
    user = User(
        organisation_id=org_id, username=username, full_name=full_name, phone=phone or None,
        password_hash=hash_password(password), is_org_admin=is_org_admin,
    )
    session.add(user)
    session.flush()
    record(session, actor=actor, tag="identity:user:created", object_type="app_user", object_id=user.id,
           changes={"username": [None, username], "full_name": [None, full_name],
                    "organisation_id": [None, org_id], "is_org_admin": [None, is_org_admin]})
    return user


def get_user(session: Session, *, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在。", code="user_not_found")
    return user


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == (username or "").strip().lower()))


def deactivate_user(session: Session, *, actor: Actor, user_id: int, reason: str) -> User:
    user = get_user(session, user_id=user_id)
    if actor.kind != "system":
        require(actor, Permission.ORG_USERS_MANAGE)
        require_same_org(actor, user.organisation_id)
    if not user.is_active:
        raise Conflict("该用户已停用。", code="already_inactive")
    user.is_active = False
    record(session, actor=actor, tag="identity:user:deactivated", object_type="app_user", object_id=user.id,
           changes={"is_active": [True, False]}, data={"reason": reason})
    return user


def change_password(session: Session, *, actor: Actor, current: str, new: str) -> None:
    require(actor, Permission.ACCOUNT_SELF)
    user = get_user(session, user_id=actor.user_id or 0)
    if not verify_password(user.password_hash, current):
        raise ValidationFailed.single("current_password", "wrong_password", "当前口令不正确。")
    errors = password_errors(new, "new_password")
    if new == current:
        errors.append(FieldError("new_password", "password_unchanged", "新口令不能与当前口令相同。"))
    if errors:
        raise ValidationFailed(errors)
    user.password_hash = hash_password(new)
    record(session, actor=actor, tag="identity:user:password_changed", object_type="app_user", object_id=user.id)
