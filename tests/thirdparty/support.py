"""Third-party providers made through the real services."""

from __future__ import annotations

from sqlalchemy.orm import Session

from pubdata.audit import Actor
from pubdata.identity.roles import Role
from pubdata.thirdparty import providers
from tests.supervision.support import R, actor_in, make_org


def provider(session: Session, *kinds: str, username: str | None = None, **org_kw: object) -> Actor:
    """A verified third-party organisation registered for ``kinds`` (default all three); its actor."""
    org = make_org(session, R(Role.THIRD_PARTY), **org_kw)  # type: ignore[arg-type]
    actor = actor_in(session, org, username)
    providers.register_provider(session, actor=actor, service_kinds=list(kinds or ("evidence", "assessment", "audit")),
                                qualifications="具备数据存证与评估资质", contact_name="联系人",
                                contact_phone="0931-1234567")
    return actor
