"""Organisations with chosen regions, codes and roles, made through the real services (the shared factories
put every organisation in Lanzhou with one code prefix; supervision and 回避 tests need to vary both)."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from pubdata.audit import Actor
from pubdata.identity import organisations as orgs
from pubdata.identity.access import actor_for
from pubdata.identity.models import Organisation, User
from pubdata.identity.roles import AuthorityLevel, Role
from pubdata.identity.users import create_user
from pubdata.identity.validation import make_uscc
from tests.factories import PASSWORD, SYSTEM

_serial = itertools.count(800000)
R = orgs.RoleSpec
__all__ = ["PASSWORD", "R", "actor_in", "authority", "institution", "make_org", "person", "subject_in", "token"]


def make_org(session: Session, *specs: orgs.RoleSpec, region: str = "620100", prefix8: str | None = None,
             serial: int | None = None, verified: bool = True, name: str | None = None) -> Organisation:
    n = serial if serial is not None else next(_serial)
    org = orgs.create_organisation(session, actor=SYSTEM, name=name or f"单位{n}",
                                   uscc=make_uscc(prefix8 or f"91{region}", n), kind="企业", region_code=region,
                                   roles=list(specs))
    if verified:
        orgs.request_verification(session, actor=SYSTEM, org_id=org.id,
                                  evidence={k: "测试" for k in orgs.EVIDENCE_FIELDS})
        orgs.decide_verification(session, actor=SYSTEM, org_id=org.id, action="approve", checked_evidence="测试")
    return org


def person(session: Session, org: Organisation, username: str | None = None) -> User:
    return create_user(session, actor=SYSTEM, org_id=org.id, username=username or f"u{org.id}x{next(_serial)}",
                       full_name="经办人", password=PASSWORD, is_org_admin=True)


def actor_in(session: Session, org: Organisation, username: str | None = None) -> Actor:
    session.refresh(org, ["roles"])
    return actor_for(person(session, org, username))


def authority(session: Session, region: str = "620000", username: str | None = None) -> Actor:
    level = AuthorityLevel.PROVINCE if region.endswith("0000") else AuthorityLevel.CITY
    org = make_org(session, R(Role.DATA_AUTHORITY, level, region), region=region)
    return actor_in(session, org, username)


def institution(session: Session, region: str | None = None, username: str | None = None) -> Actor:
    org = make_org(session, R(Role.REGISTRATION_INSTITUTION, region_code=region), region=region or "620000")
    return actor_in(session, org, username)


def subject_in(session: Session, region: str = "620100", username: str | None = None, **kw: object) -> Actor:
    org = make_org(session, R(Role.REGISTRATION_SUBJECT), region=region, **kw)  # type: ignore[arg-type]
    return actor_in(session, org, username)


def token(client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Bearer header for a user of the API (no CSRF needed for token clients)."""
    r = client.post("/api/v1/auth/tokens", json={"username": username, "password": PASSWORD, "name": "t"})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}
