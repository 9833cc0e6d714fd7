"""The JSON API: problem+json errors, sign-up, tokens, verification, OpenAPI."""

from __future__ import annotations

from pubdata.demo import make_uscc
from pubdata.identity.roles import Role
from tests.factories import PASSWORD, make_user

PROBLEM = "application/problem+json"


def token_for(client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/auth/tokens", json={"username": username, "password": PASSWORD, "name": "测试"})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def signup_body(**kw):  # type: ignore[no-untyped-def]
    body = {"org_name": "张掖市测试局", "uscc": make_uscc("11620700", 424242), "kind": "党政机关",
            "region_code": "620700", "role": "registration_subject", "username": "zhangye",
            "full_name": "测试员", "password": PASSWORD}
    body.update(kw)
    return body


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_openapi_is_complete(client):
    spec = client.get("/openapi.json").json()
    assert "/api/v1/organisations/{org_id}/verification-decisions" in spec["paths"]
    assert "Problem" in spec["components"]["schemas"]
    assert all(not p.startswith(("/login", "/workbench")) for p in spec["paths"])


def test_signup_creates_unverified_organisation_with_admin(client):
    r = client.post("/api/v1/public/signup", json=signup_body())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["organisation"]["verification_status"] == "unverified"
    assert body["user"]["is_org_admin"] is True


def test_signup_reports_every_bad_field_in_chinese(client):
    r = client.post("/api/v1/public/signup", json=signup_body(uscc="91620100MA000000X1", region_code="123456",
                                                              username="X", password="short"))
    assert r.status_code == 422
    assert r.headers["content-type"].startswith(PROBLEM)
    problem = r.json()
    assert problem["code"] == "validation_failed"
    fields = {e["field"]: e for e in problem["errors"]}
    assert {"uscc", "region_code", "username", "password"} <= set(fields)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in e["message"]) for e in problem["errors"])


def test_duplicate_signup_is_refused_without_half_writing(client):
    assert client.post("/api/v1/public/signup", json=signup_body()).status_code == 201
    r = client.post("/api/v1/public/signup", json=signup_body(username="another"))
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["uscc"]
    # the user of the refused sign-up was not created
    r = client.post("/api/v1/auth/tokens", json={"username": "another", "password": PASSWORD, "name": "x"})
    assert r.status_code == 401


def test_malformed_json_and_wrong_types_are_field_errors(client):
    r = client.post("/api/v1/public/signup", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["code"] == "validation_failed"
    r = client.get("/api/v1/public/calendar/add-workdays", params={"start": "2026-13-40", "n": "x"})
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"start", "n"}


def test_bearer_token_authenticates_and_bad_tokens_are_401(client, db_session):
    make_user(db_session, Role.REGISTRATION_SUBJECT, username="tokenuser")
    db_session.commit()
    headers = token_for(client, "tokenuser")
    me = client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200 and me.json()["user"]["username"] == "tokenuser"
    for bad in ("Bearer pd_nope", "Basic abc", "Bearer "):
        r = client.get("/api/v1/me", headers={"Authorization": bad})
        assert r.status_code == 401 and r.json()["code"] == "invalid_token"


def test_token_request_with_wrong_password_is_401_in_chinese(client, db_session):
    make_user(db_session, Role.REGISTRATION_SUBJECT, username="wrongpw")
    db_session.commit()
    r = client.post("/api/v1/auth/tokens", json={"username": "wrongpw", "password": "nope", "name": "x"})
    assert r.status_code == 401 and r.json()["detail"] == "用户名或口令不正确。"


def test_verification_over_the_api(client, db_session):
    make_user(db_session, Role.REGISTRATION_INSTITUTION, username="clerk")
    applicant = make_user(db_session, Role.REGISTRATION_SUBJECT, verified=False, username="applicant")
    db_session.commit()
    clerk, subject = token_for(client, "clerk"), token_for(client, "applicant")
    org_id = applicant.organisation_id
    r = client.post(f"/api/v1/organisations/{org_id}/verification-requests", headers=subject,
                    json={"certificate_kind": "营业执照", "legal_representative": "甲", "contact_name": "乙",
                          "contact_phone": "13900000000", "authorisation": "授权书 2026-01"})
    assert r.status_code == 201, r.text
    assert [v["organisation_id"] for v in client.get("/api/v1/verification-queue", headers=clerk).json()] == [org_id]
    # the applicant cannot decide its own verification
    r = client.post(f"/api/v1/organisations/{org_id}/verification-decisions", headers=subject,
                    json={"action": "approve", "checked_evidence": "x"})
    assert r.status_code == 403
    r = client.post(f"/api/v1/organisations/{org_id}/verification-decisions", headers=clerk,
                    json={"action": "approve", "checked_evidence": "营业执照原件"})
    assert r.status_code == 200 and r.json()["verification_status"] == "verified"
    r = client.post(f"/api/v1/organisations/{org_id}/verification-decisions", headers=clerk,
                    json={"action": "approve", "checked_evidence": "again"})
    assert r.status_code == 409 and r.json()["code"] == "illegal_transition"
    events = client.get("/api/v1/audit/events", headers=clerk,
                        params={"object_type": "organisation", "object_id": str(org_id)}).json()
    assert events[-1]["tag"] == "identity:organisation:verification_approved"
    assert events[-1]["request_id"]


def test_subject_cannot_read_another_organisation(client, db_session):
    make_user(db_session, Role.REGISTRATION_SUBJECT, username="nosy")
    other = make_user(db_session, Role.REGISTRATION_SUBJECT, username="private")
    db_session.commit()
    r = client.get(f"/api/v1/organisations/{other.organisation_id}", headers=token_for(client, "nosy"))
    assert r.status_code == 403 and r.json()["code"] == "other_organisation"


def test_cookie_authenticated_api_write_needs_csrf_header(client, db_session):
    from tests.web.conftest import web_login

    make_user(db_session, Role.REGISTRATION_SUBJECT, username="cookieuser")
    db_session.commit()
    csrf = web_login(client, "cookieuser", PASSWORD)
    r = client.post("/api/v1/auth/tokens/1/revoke")
    assert r.status_code == 403 and r.json()["code"] == "csrf_failed"
    r = client.post("/api/v1/auth/tokens/999/revoke", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 404


def test_unknown_route_is_problem_json(client):
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
