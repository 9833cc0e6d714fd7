"""Objections over the API: real-name filing, the institution's queue, the public 异议中 list."""

from __future__ import annotations

from pubdata.identity.roles import Role
from tests.factories import PASSWORD, actor_of, make_user
from tests.registry.support import registered, upload


def token(client, username):  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/auth/tokens", json={"username": username, "password": PASSWORD, "name": "t"})
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_objection_after_registration_over_the_api(client, db_session, tmp_path):
    subject = actor_of(make_user(db_session, Role.REGISTRATION_SUBJECT))
    clerk = actor_of(make_user(db_session, Role.REGISTRATION_INSTITUTION, username="objclerk"))
    objector = actor_of(make_user(db_session, Role.REGISTRATION_SUBJECT, username="objector1"))
    reg = registered(db_session, subject, clerk, tmp_path).registration
    evidence = upload(db_session, objector, tmp_path, "权属证明")
    db_session.commit()
    body = {"registration_id": reg.id, "claim": "ownership", "grounds": "数据为我单位所有", "evidence": [evidence]}
    assert client.post("/api/v1/objections", json=body).status_code == 401
    r = client.post("/api/v1/objections", headers=token(client, "objector1"), json=body)
    assert r.status_code == 201, r.text
    obj = r.json()
    assert obj["phase"] == "registered" and obj["state_label"] == "待处理" and len(obj["notices"]) == 2
    listed = client.get("/api/v1/public/objections").json()
    assert [x["registration_code"] for x in listed] == [reg.code]
    clerk_h = token(client, "objclerk")
    assert [o["id"] for o in client.get("/api/v1/institution/objections", headers=clerk_h).json()] == [obj["id"]]
    r = client.post(f"/api/v1/objections/{obj['id']}/decide", headers=token(client, "objector1"),
                    json={"action": "uphold", "reasons": "x"})
    assert r.status_code == 403
    r = client.post(f"/api/v1/objections/{obj['id']}/decide", headers=clerk_h,
                    json={"action": "dismiss", "reasons": "证据不足", "version": obj["version"]})
    assert r.status_code == 200 and r.json()["state"] == "dismissed"
    assert client.get("/api/v1/public/objections").json() == []


def test_reg43_revocation_is_announced_and_the_certificate_verifies_as_revoked(client, db_session, tmp_path):
    subject = actor_of(make_user(db_session, Role.REGISTRATION_SUBJECT))
    clerk = actor_of(make_user(db_session, Role.REGISTRATION_INSTITUTION, username="revclerk"))
    app = registered(db_session, subject, clerk, tmp_path)
    db_session.commit()
    h = token(client, "revclerk")
    r = client.post(f"/api/v1/registrations/{app.registration_id}/revoke", headers=h,
                    json={"ground": "forged_materials", "reasons": ""})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reasons"
    r = client.post(f"/api/v1/registrations/{app.registration_id}/revoke", headers=h,
                    json={"ground": "forged_materials", "reasons": "安全评估报告系伪造"})
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    again = client.post(f"/api/v1/registrations/{app.registration_id}/revoke", headers=h,
                        json={"ground": "forged_materials", "reasons": "再次"})
    assert again.status_code == 409
    announcements = client.get("/api/v1/public/announcements").json()
    assert any("伪造登记材料" in a["body"] for a in (announcements["items"] if isinstance(announcements, dict)
                                                 else announcements))
    from pubdata.registry.records import certificates

    number = certificates(db_session, registration_id=app.registration_id)[-1].number
    status = client.get(f"/api/v1/public/certificates/{number}").json()
    assert status["status"] == "已撤销"


def test_notice_list_shows_an_objection_during_notice(client, db_session, tmp_path):
    from pubdata.objections import service as svc
    from pubdata.registry import applications as apps
    from tests.registry.support import submitted_first

    subject = actor_of(make_user(db_session, Role.REGISTRATION_SUBJECT))
    clerk = actor_of(make_user(db_session, Role.REGISTRATION_INSTITUTION))
    objector = actor_of(make_user(db_session, Role.REGISTRATION_SUBJECT))
    app = submitted_first(db_session, subject, tmp_path)
    apps.accept(db_session, actor=clerk, application_id=app.id)
    apps.pass_review(db_session, actor=clerk, application_id=app.id)
    svc.raise_objection(db_session, actor=objector, registration_id=app.registration_id, claim="ownership",
                        grounds="权属争议", evidence=[upload(db_session, objector, tmp_path, "证明")])
    db_session.commit()
    [item] = client.get("/api/v1/public/notices").json()
    assert item["under_objection"] is True and item["registration_code"] == app.registration.code


def test_certificate_verifies_as_under_objection_while_an_objection_is_open(client, db_session, tmp_path):
    from pubdata.objections import service as svc
    from pubdata.registry.records import certificates

    subject = actor_of(make_user(db_session, Role.REGISTRATION_SUBJECT))
    clerk = actor_of(make_user(db_session, Role.REGISTRATION_INSTITUTION))
    objector = actor_of(make_user(db_session, Role.REGISTRATION_SUBJECT))
    reg_id = registered(db_session, subject, clerk, tmp_path).registration_id
    number = certificates(db_session, registration_id=reg_id)[-1].number
    assert client.get(f"/api/v1/public/certificates/{number}").json()["status"] == "有效"
    svc.raise_objection(db_session, actor=objector, registration_id=reg_id, claim="content", grounds="数据覆盖时间有误",
                        evidence=[upload(db_session, objector, tmp_path, "证明")])
    db_session.commit()
    assert client.get(f"/api/v1/public/certificates/{number}").json()["status"] == "异议中"
