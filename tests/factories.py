"""Small builders for test data; they go through the service layer like every other code path."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from pubdata.audit import Actor
from pubdata.demo import make_uscc
from pubdata.identity import organisations as orgs
from pubdata.identity.access import actor_for
from pubdata.identity.models import Organisation, User
from pubdata.identity.roles import AuthorityLevel, Role
from pubdata.identity.users import create_user

PASSWORD = "Test-Passw0rd!"
_serial = itertools.count(50000)
SYSTEM = Actor.system("test")


def role_spec(role: Role) -> orgs.RoleSpec:
    if role is Role.DATA_AUTHORITY:
        return orgs.RoleSpec(role, AuthorityLevel.PROVINCE, "620000")
    if role is Role.INDUSTRY_DEPARTMENT:
        return orgs.RoleSpec(role, industry_codes=("84",))
    return orgs.RoleSpec(role)


def make_org(session: Session, *roles: Role, verified: bool = True, name: str | None = None) -> Organisation:
    serial = next(_serial)
    org = orgs.create_organisation(
        session, actor=SYSTEM, name=name or f"测试单位{serial}", uscc=make_uscc("91620100", serial),
        kind="企业", region_code="620100", roles=[role_spec(r) for r in roles],
    )
    if verified:
        orgs.request_verification(session, actor=SYSTEM, org_id=org.id, evidence={k: "测试" for k in orgs.EVIDENCE_FIELDS})
        orgs.decide_verification(session, actor=SYSTEM, org_id=org.id, action="approve", checked_evidence="测试")
    return org


def make_user(session: Session, *roles: Role, verified: bool = True, admin: bool = True,
              username: str | None = None) -> User:
    org = make_org(session, *roles, verified=verified)
    return create_user(session, actor=SYSTEM, org_id=org.id, username=username or f"user{org.id}",
                       full_name="测试用户", password=PASSWORD, is_org_admin=admin)


def actor_of(user: User) -> Actor:
    return actor_for(user)
