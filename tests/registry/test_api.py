"""The registration API end to end: applicant and institution steps, notices, public notice list."""

from __future__ import annotations

import datetime as dt

from pubdata import clock
from pubdata.identity.roles import Role
from tests.factories import PASSWORD, actor_of, make_user
from tests.registry.support import documents, resource_content


def token(client, username):  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/auth/tokens", json={"username": username, "password": PASSWORD, "name": "t"})
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_first_registration_over_the_api(client, db_session, tmp_path):
    subject_user = make_user(db_session, Role.REGISTRATION_SUBJECT, username="apisubject")
    make_user(db_session, Role.REGISTRATION_INSTITUTION, username="apiclerk")
    subject = actor_of(subject_user)
    content = resource_content(db_session, subject, tmp_path)
    docs = documents(db_session, subject, tmp_path)
    db_session.commit()
    s, c = token(client, "apisubject"), token(client, "apiclerk")

    r = client.post("/api/v1/applications", headers=s, json={"kind": "first", "content": {"basic": {"name": "草稿"}}})
    assert r.status_code == 201, r.text
    app = r.json()
    assert app["state"] == "draft" and app["allowed_actions"] == ["submit", "withdraw"]
    r = client.post(f"/api/v1/applications/{app['id']}/submit", headers=s, json={})
    assert r.status_code == 422
    problem = r.json()
    assert problem["code"] == "validation_failed" and len(problem["errors"]) > 20  # every problem at once
    assert all(e["message"] for e in problem["errors"])
    r = client.put(f"/api/v1/applications/{app['id']}", headers=s,
                   json={"content": content, "documents": docs, "version": app["version"]})
    assert r.status_code == 200, r.text
    with clock.frozen(dt.date(2026, 9, 22)):
        r = client.post(f"/api/v1/applications/{app['id']}/submit", headers=s, json={})
    assert r.status_code == 200 and r.json()["acceptance_due"] == "2026-09-28"
    queue = client.get("/api/v1/institution/queue", headers=c).json()
    assert [q["application"]["id"] for q in queue] == [app["id"]]
    assert client.get("/api/v1/institution/queue", headers=s).status_code == 403
    with clock.frozen(dt.date(2026, 9, 25)):
        r = client.post(f"/api/v1/applications/{app['id']}/accept", headers=c, json={})
        assert r.json()["review_due"] == "2026-10-29"
        r = client.post(f"/api/v1/applications/{app['id']}/accept", headers=c, json={})
        assert r.status_code == 409 and r.json()["code"] == "illegal_transition"
        r = client.post(f"/api/v1/applications/{app['id']}/pass", headers=c, json={})
        assert r.json()["state"] == "in_notice"
        notices = client.get("/api/v1/public/notices").json()
    assert [n["data_name"] for n in notices] == ["全省公路路网运行监测数据"]
    assert set(notices[0]) == {"subject_name", "registration_type", "application_kind", "data_name", "summary",
                               "start_date", "end_date", "registration_code", "under_objection"}
    assert notices[0]["under_objection"] is False
    assert notices[0]["end_date"] == "2026-10-15"
    notice_id = r.json()["notices"][0]["id"]
    text = client.get(f"/api/v1/notices/{notice_id}/download", headers=s)
    assert text.status_code == 200 and "受理通知书" in text.text


def test_other_organisations_cannot_see_an_application(client, db_session):
    make_user(db_session, Role.REGISTRATION_SUBJECT, username="owner1")
    make_user(db_session, Role.REGISTRATION_SUBJECT, username="stranger1")
    db_session.commit()
    r = client.post("/api/v1/applications", headers=token(client, "owner1"), json={"kind": "first"})
    app_id = r.json()["id"]
    r = client.get(f"/api/v1/applications/{app_id}", headers=token(client, "stranger1"))
    assert r.status_code == 403


def test_form_specification_is_public(client):
    spec = client.get("/api/v1/public/registration-form").json()
    assert spec["vocabularies"]["data_grade"] == {"core": "核心数据", "important": "重要数据", "general": "一般数据"}
    assert any(f["path"] == "co_ownership.co_owned" for f in spec["fields"])


def test_registration_record_with_versions_certificates_and_national_code(client, db_session, tmp_path):
    from pubdata.registry.models import Registration
    from tests.registry.support import registered

    subject = actor_of(make_user(db_session, Role.REGISTRATION_SUBJECT, username="recowner"))
    clerk = actor_of(make_user(db_session, Role.REGISTRATION_INSTITUTION, username="recclerk"))
    make_user(db_session, Role.REGISTRATION_SUBJECT, username="recstranger")
    reg_id = registered(db_session, subject, clerk, tmp_path).registration_id
    db_session.commit()
    r = client.get(f"/api/v1/registrations/{reg_id}", headers=token(client, "recowner"))
    body = r.json()
    assert body["status"] == "registered" and [v["version_no"] for v in body["versions"]] == [1]
    assert body["certificates"][0]["status"] == "valid"
    assert client.get(f"/api/v1/registrations/{reg_id}", headers=token(client, "recstranger")).status_code == 403
    bad = client.put(f"/api/v1/registrations/{reg_id}/national-code", headers=token(client, "recclerk"),
                     json={"national_code": "有 空格"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "national_code"
    ok = client.put(f"/api/v1/registrations/{reg_id}/national-code", headers=token(client, "recclerk"),
                    json={"national_code": "CN-DJ-2026-000001"})
    assert ok.json()["national_code"] == "CN-DJ-2026-000001"
    assert db_session.get(Registration, reg_id) is not None
