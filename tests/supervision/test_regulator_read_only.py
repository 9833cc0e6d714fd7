"""Regulators (网信、公安、国家安全, REG-17) oversee read-only: every write route of the app refuses them.

The routes are enumerated from the app itself, so a write route added later is covered without editing this
test. Left out, each for a stated reason: public routes (the same for everyone, signed in or not) and the
caller's own session plumbing, which changes nothing on the platform's records.
"""

from __future__ import annotations

import re

from pubdata.identity.access import actor_for
from pubdata.identity.permissions import EVERY_USER, Permission, permissions_for
from pubdata.identity.roles import Role
from pubdata.web.app import api_routes, route_access
from pubdata.web.deps import UNSAFE
from tests.factories import make_user
from tests.supervision.support import token
from tests.web.conftest import web_login
from tests.web.test_route_permissions import PUBLIC

#: Write routes a regulator may use, and why.
NOT_A_WRITE_TO_THE_RECORDS = {
    ("POST", "/logout"): "ends the caller's own web session",
    ("POST", "/api/v1/auth/tokens/{token_id}/revoke"): "revokes one of the caller's own API tokens",
    # A checkpoint signs the ledger's current head: it seals the trail the regulator is inspecting and changes
    # no record (REG-42 asks that alteration be detectable; an auditor may demand a fresh seal).
    ("POST", "/api/v1/ledger/checkpoints"): "seals the current audit trail, changes no record",
}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_regulator_holds_no_write_permission():
    granted = permissions_for([Role.REGULATOR], org_admin=True)
    assert granted == {Permission.ACCOUNT_SELF.value, Permission.ORG_READ_ALL.value, Permission.AUDIT_READ.value,
                       Permission.SUPERVISE_READ.value, Permission.INSTITUTION_REPORT.value,
                       Permission.OPERATION_READ.value}  # they oversee authorized operation too (read only)
    assert not (granted & ({p.value for p in EVERY_USER} - {Permission.ACCOUNT_SELF.value}))
    # A security bureau that also holds public data keeps a subject's rights in that capacity.
    both = permissions_for([Role.REGULATOR, Role.REGISTRATION_SUBJECT])
    assert Permission.SUBMIT.value in both and Permission.FILE_UPLOAD.value in both


def test_every_write_route_refuses_a_regulator(app, client, db_session):
    user = make_user(db_session, Role.REGULATOR, username="regulator1")
    assert actor_for(user).org_verified
    db_session.commit()
    api_headers = token(client, "regulator1")
    csrf = web_login(client, "regulator1", "Test-Passw0rd!")
    checked: list[tuple[str, str]] = []
    for route in api_routes(app):
        for method in sorted(route.methods & UNSAFE):
            key = (method, route.path)
            if key in PUBLIC or key in NOT_A_WRITE_TO_THE_RECORDS:
                continue
            assert route_access(route) != "public", key
            if route.path.startswith("/api/"):
                r = client.request(method, _concrete(route.path), json={}, headers=api_headers)
                assert r.status_code == 403, (key, r.status_code, r.text)
                assert r.json()["code"] == "permission_denied", (key, r.json())
            else:  # page forms: signed in through the form, with a valid CSRF token, so only permission refuses
                r = client.request(method, _concrete(route.path), data={"csrf_token": csrf})
                assert r.status_code == 403, (key, r.status_code)
                assert "permission_denied" in r.text, key
            checked.append(key)
    # The sample must be the real thing: the app's registry, third-party and supervision writes among others.
    paths = {p for _, p in checked}
    assert {"/api/v1/applications", "/api/v1/engagements", "/api/v1/statistics/releases/{release_id}/approve",
            "/api/v1/supervision/institutions/{org_id}/measures", "/api/v1/files"} <= paths
    assert len(checked) >= 30


def test_regulator_reads_supervision_views(client, db_session):
    make_user(db_session, Role.REGULATOR, username="regulator2")
    db_session.commit()
    h = token(client, "regulator2")
    for path in ("/api/v1/supervision/institutions", "/api/v1/supervision/overdue", "/api/v1/supervision/measures",
                 "/api/v1/supervision/evaluations", "/api/v1/organisation-relations", "/api/v1/third-parties"):
        assert client.get(path, headers=h).status_code == 200, path
