"""The Chinese web pages: log in, log out, sign up, workbench, verification queue."""

from __future__ import annotations

from pubdata.demo import make_uscc
from pubdata.identity.roles import Role
from tests.factories import PASSWORD, make_user
from tests.web.conftest import csrf_from, web_login


def test_login_page_is_chinese_and_has_no_external_assets(client):
    r = client.get("/login")
    assert r.status_code == 200
    assert '<html lang="zh-CN">' in r.text and "登录" in r.text
    assert "http://" not in r.text.replace("http://testserver", "") and "https://" not in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]


def test_login_form_without_csrf_is_refused(client):
    r = client.post("/login", data={"username": "x", "password": "y"})
    assert r.status_code == 403 and "页面已过期" in r.text


def test_wrong_password_shows_chinese_error_on_the_form(client, db_session):
    make_user(db_session, Role.REGISTRATION_SUBJECT, username="pageuser")
    db_session.commit()
    token = csrf_from(client.get("/login").text)
    r = client.post("/login", data={"username": "pageuser", "password": "nope", "csrf_token": token})
    assert r.status_code == 401 and "用户名或口令不正确" in r.text and 'value="pageuser"' in r.text


def test_login_workbench_logout(client, db_session):
    make_user(db_session, Role.REGISTRATION_SUBJECT, username="worker")
    db_session.commit()
    csrf = web_login(client, "worker", PASSWORD)
    page = client.get("/workbench")
    assert page.status_code == 200 and "登记主体" in page.text
    r = client.post("/logout", data={"csrf_token": csrf})
    assert r.status_code == 303
    assert client.get("/workbench").status_code == 303


def test_login_refuses_open_redirects(client, db_session):
    make_user(db_session, Role.REGISTRATION_SUBJECT, username="redirected")
    db_session.commit()
    token = csrf_from(client.get("/login").text)
    r = client.post("/login", data={"username": "redirected", "password": PASSWORD, "csrf_token": token,
                                    "next": "https://evil.example/"})
    assert r.headers["location"] == "/workbench"


def test_unverified_organisation_sees_the_warning_and_can_request_verification(client, db_session):
    make_user(db_session, Role.REGISTRATION_SUBJECT, username="fresh", verified=False)
    db_session.commit()
    csrf = web_login(client, "fresh", PASSWORD)
    assert "不能提交申请" in client.get("/workbench").text
    r = client.post("/org/verification", data={"csrf_token": csrf, "certificate_kind": ""})
    assert r.status_code == 422 and r.text.count("error-text") == 5
    r = client.post("/org/verification", data={
        "csrf_token": csrf, "certificate_kind": "营业执照", "legal_representative": "甲", "contact_name": "乙",
        "contact_phone": "13900000000", "authorisation": "授权书"})
    assert r.status_code == 303
    assert "待核验" in client.get("/org/verification?sent=1").text


def test_institution_queue_and_decision_page(client, db_session):
    make_user(db_session, Role.REGISTRATION_INSTITUTION, username="queueclerk")
    applicant = make_user(db_session, Role.REGISTRATION_SUBJECT, username="queued", verified=False)
    from pubdata.identity import organisations as orgs
    from tests.factories import actor_of

    orgs.request_verification(db_session, actor=actor_of(applicant), org_id=applicant.organisation_id,
                              evidence={k: "材料" for k in orgs.EVIDENCE_FIELDS})
    db_session.commit()
    csrf = web_login(client, "queueclerk", PASSWORD)
    queue = client.get("/institution/verifications")
    assert queue.status_code == 200 and applicant.organisation.name in queue.text
    url = f"/institution/verifications/{applicant.organisation_id}"
    detail = client.get(url)
    assert "核验通过" in detail.text
    r = client.post(url, data={"csrf_token": csrf, "action": "reject", "reason": ""})
    assert r.status_code == 422 and "须说明理由" in r.text
    r = client.post(url, data={"csrf_token": csrf, "action": "approve", "checked_evidence": "营业执照原件"})
    assert r.status_code == 303
    assert applicant.organisation.name not in client.get("/institution/verifications").text


def test_subject_cannot_open_the_institution_queue(client, db_session):
    make_user(db_session, Role.REGISTRATION_SUBJECT, username="notclerk")
    db_session.commit()
    web_login(client, "notclerk", PASSWORD)
    r = client.get("/institution/verifications")
    assert r.status_code == 403 and "权限" in r.text


def test_signup_page_keeps_values_and_shows_field_errors(client):
    token = csrf_from(client.get("/signup").text)
    r = client.post("/signup", data={"csrf_token": token, "org_name": "测试单位", "uscc": "123", "kind": "企业",
                                     "region_code": "620100", "role": "registration_subject", "username": "ok_name",
                                     "full_name": "某某", "password": "weak"})
    assert r.status_code == 422
    assert "统一社会信用代码应为 18 位" in r.text and 'value="测试单位"' in r.text and "口令至少" in r.text
    r = client.post("/signup", data={"csrf_token": token, "org_name": "测试单位", "uscc": make_uscc("91620100", 8),
                                     "kind": "企业", "region_code": "620100", "role": "registration_subject",
                                     "username": "ok_name", "full_name": "某某", "password": PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/login?signed_up=1"


def test_portal_shows_the_latest_signed_checkpoint(client, db_session):
    from pubdata.ledger.checkpoints import create

    make_user(db_session, Role.REGISTRATION_SUBJECT)
    cp = create(db_session)
    db_session.commit()
    page = client.get("/").text
    assert "平台账本检查点" in page and cp.root_hash.hex() in page and f"<dd>{cp.tree_size}</dd>" in page
    assert "<title>首页 · " in page and page.count("平台账本检查点") == 1
