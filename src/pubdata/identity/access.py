"""Building actors from users and checking permissions — the one place permission is decided."""

from __future__ import annotations

from pubdata.audit.actor import Actor
from pubdata.errors import NotAuthenticated, PermissionDenied
from pubdata.identity.models import User
from pubdata.identity.permissions import NEEDS_VERIFIED, Permission, permissions_for


def actor_for(user: User, *, request_id: str | None = None, client_addr: str | None = None) -> Actor:
    org = user.organisation
    roles = tuple(r.role for r in org.active_roles)
    return Actor(
        kind="user",
        label=user.username,
        user_id=user.id,
        org_id=org.id,
        roles=roles,
        permissions=permissions_for(roles, org_admin=user.is_org_admin),
        org_verified=org.is_verified,
        request_id=request_id,
        client_addr=client_addr,
    )


def require(actor: Actor, permission: Permission) -> None:
    """Raise unless ``actor`` may use ``permission`` now (REG-36: submitting needs verification)."""
    if actor.kind == "anonymous":
        raise NotAuthenticated("请先登录。")
    if not actor.can(permission.value):
        raise PermissionDenied(f"您没有“{permission.label}”的权限。")
    if permission in NEEDS_VERIFIED and not actor.org_verified:
        raise PermissionDenied(
            "本单位尚未通过登记机构的实名核验，暂不能提交；可以先保存草稿。",
            code="organisation_unverified",
        )


def require_same_org(actor: Actor, org_id: int | None, message: str = "只能操作本单位的数据。",
                     code: str = "other_organisation") -> None:
    """Object-level check: a user acts only on its own organisation's objects (a context may say which)."""
    if actor.kind != "system" and actor.org_id != org_id:
        raise PermissionDenied(message, code=code)
