"""The public portal pages: live counts, public notices (REG-28), objections (REG-31), announcements, the business
rules (REG-19(三)), approved statistics (REG-40) and the ledger — and a Chinese 422 page for bad query strings."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from pubdata import clock, rules
from pubdata.audit import Actor
from pubdata.identity.roles import Role
from pubdata.registry import applications as apps
from pubdata.registry.models import Application
from pubdata.registry.requirements import DOCUMENT_LABELS
from tests.factories import PASSWORD, actor_of, make_user
from tests.registry.support import registered, submitted_first
from tests.web.conftest import csrf_from, web_login

PDF = b"%PDF-1.7\n% objection evidence\n%%EOF\n"


def in_notice(db: Session, subject: Actor, clerk: Actor, tmp: Path, name: str) -> Application:
    app = submitted_first(db, subject, tmp, basic={"name": name})
    apps.accept(db, actor=clerk, application_id=app.id)
    return apps.pass_review(db, actor=clerk, application_id=app.id)


@pytest.fixture
def parties(db_session: Session) -> tuple[Actor, Actor]:
    subject = actor_of(make_user(db_session, Role.REGISTRATION_SUBJECT))
    clerk = actor_of(make_user(db_session, Role.REGISTRATION_INSTITUTION))
    return subject, clerk


def counts(client: TestClient) -> dict[str, int]:
    html = client.get("/").text
    return {k: int(v) for k, v in re.findall(r'data-count="(\w+)">(\d+)<', html)}


def test_home_counts_come_from_the_records(client, db_session, parties, tmp_path):
    before = counts(client)
    assert set(before) == {"registered", "valid_certificates", "in_notice", "verified_organisations"}
    subject, clerk = parties
    registered(db_session, subject, clerk, tmp_path)
    in_notice(db_session, subject, clerk, tmp_path, "全省客运班线运行数据")
    make_user(db_session, Role.AGENT)
    make_user(db_session, Role.AGENT, verified=False)
    db_session.commit()
    after = counts(client)
    assert after["registered"] == before["registered"] + 1
    assert after["valid_certificates"] == before["valid_certificates"] + 1
    assert after["in_notice"] == before["in_notice"] + 1
    assert after["verified_organisations"] == before["verified_organisations"] + 1  # not the unverified one
    home = client.get("/").text
    for link in ("/notices", "/announcements", "/rules", "/statistics", "/ledger", "/public/certificates"):
        assert f'href="{link}"' in home
    assert "平台账本检查点" in home and "法定办理时限" in home


def test_notices_search_and_filters_survive_paging(client, db_session, parties, tmp_path):
    subject, clerk = parties
    for i in range(6):
        in_notice(db_session, subject, clerk, tmp_path, f"陇原航测影像数据第{'一二三四五六'[i]}批")
    in_notice(db_session, subject, clerk, tmp_path, "全省水文站监测数据")
    db_session.commit()
    r = client.get("/notices", params={"q": "陇原航测", "status": "open", "kind": "first", "size": 5})
    assert r.status_code == 200
    assert r.text.count('href="/notices/') == 5 and "水文站" not in r.text
    assert "第 1–5 条，共 6 条" in r.text
    next_link = re.search(r'href="([^"]+)" rel="next"', r.text).group(1).replace("&amp;", "&")
    query = parse_qs(urlsplit(next_link).query)
    assert query == {"q": ["陇原航测"], "status": ["open"], "kind": ["first"], "size": ["5"], "page": ["2"]}
    second = client.get(next_link)
    assert second.text.count('href="/notices/') == 1 and 'value="陇原航测"' in second.text
    assert '<option value="open" selected>' in second.text
    assert "没有符合条件的公示" in client.get("/notices", params={"status": "closed", "q": "陇原航测"}).text
    assert "水文站" in client.get("/notices", params={"q": "水文站"}).text
    assert client.get("/notices", params={"registration_type": "data_product", "q": "陇原"}).text.count(
        'href="/notices/') == 0


@pytest.mark.parametrize("url", [
    "/notices?status=bogus", "/notices?kind=renewal", "/notices?registration_type=x", "/notices?page=0",
    "/notices?page=abc", "/notices?size=1000", "/notices?q=" + "长" * 101, "/notices/abc",
    "/notices/99999999999999999999",
    "/announcements?kind=nonsense", "/statistics?page=-1", "/ledger?size=x",
])
def test_bad_query_strings_give_a_chinese_422_page(client, url):
    r = client.get(url)
    assert r.status_code == 422, url
    assert "text/html" in r.headers["content-type"] and "信息有误" in r.text and "<title>" in r.text


def test_notice_detail_shows_dates_workdays_left_and_a_login_link_for_anonymous_objectors(
        client, db_session, parties, tmp_path):
    subject, clerk = parties
    with clock.frozen(dt.date(2026, 9, 1)):
        app = in_notice(db_session, subject, clerk, tmp_path, "全省高速公路收费站流量数据")
    db_session.commit()
    notice_id = re.search(r'href="/notices/(\d+)"', client.get("/notices?q=收费站").text).group(1)
    with clock.frozen(dt.date(2026, 9, 1)):
        page = client.get(f"/notices/{notice_id}").text
    # Ten working days after Tuesday 1 September 2026, the start day not counted.
    assert app.notice_end == dt.date(2026, 9, 15) and "2026年9月1日" in page and "2026年9月15日" in page
    assert re.search(r"<strong>10</strong> 个工作日", page)
    assert "全省高速公路收费站流量数据" in page and app.registration.code in page
    with clock.frozen(dt.date(2026, 9, 14)):
        assert re.search(r"<strong>1</strong> 个工作日", client.get(f"/notices/{notice_id}").text)
    form_url = f"/objections/new?registration_id={app.registration_id}"
    login_url = f"/login?next={quote(form_url, safe='')}"
    assert f'href="{login_url.replace("&", "&amp;")}"' in page and "实名" in page
    # The login page keeps the target, and signing in lands on the objection form.
    make_user(db_session, Role.AGENT, username="objector_next")
    db_session.commit()
    login = client.get(login_url)
    assert f'name="next" value="{form_url}"' in login.text
    r = client.post("/login", data={"username": "objector_next", "password": PASSWORD,
                                    "csrf_token": csrf_from(login.text), "next": form_url})
    assert r.status_code == 303 and r.headers["location"] == form_url
    form = client.get(form_url)
    assert form.status_code == 200 and "实名提出异议" in form.text and "全省高速公路收费站流量数据" in form.text
    detail = client.get(f"/notices/{notice_id}").text
    assert f'href="{form_url}"' in detail and 'id="objection-login"' not in detail


def test_anonymous_objection_form_redirects_to_login_with_next(client, db_session, parties, tmp_path):
    subject, clerk = parties
    app = in_notice(db_session, subject, clerk, tmp_path, "全省农村公路养护数据")
    db_session.commit()
    r = client.get(f"/objections/new?registration_id={app.registration_id}")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=" + quote(f"/objections/new?registration_id={app.registration_id}")


def test_objection_through_the_form_appears_in_my_objections(client, db_session, parties, tmp_path):
    subject, clerk = parties
    app = in_notice(db_session, subject, clerk, tmp_path, "全省桥梁健康监测数据")
    make_user(db_session, Role.AGENT, username="form_objector")
    db_session.commit()
    csrf = web_login(client, "form_objector", PASSWORD)
    url = f"/objections/new?registration_id={app.registration_id}"
    assert client.get(url).status_code == 200
    base = {"csrf_token": csrf, "registration_id": str(app.registration_id), "claim": "ownership",
            "as_person": "org", "person_name": "", "person_id_number": ""}
    # No grounds: the form comes back with the message next to the field and the file already saved.
    r = client.post("/objections/new", data={**base, "grounds": ""},
                    files={"files": ("权属证明.pdf", PDF, "application/pdf")})
    assert r.status_code == 422
    assert re.search(r'id="e-grounds">请写明异议的事实与理由', r.text)
    kept = re.search(r'name="evidence" value="([0-9a-f]{64})" checked', r.text).group(1)
    assert "权属证明.pdf" in r.text and f"SM3 {kept}" in r.text
    assert '<option value="ownership" selected>' in r.text
    r = client.post("/objections/new", data={**base, "grounds": "该数据由我单位采集，权属有争议。", "evidence": kept})
    assert r.status_code == 303 and r.headers["location"].startswith("/my/objections?raised=")
    listing = client.get(r.headers["location"]).text
    assert "异议已提交" in listing and "全省桥梁健康监测数据" in listing and "待处理" in listing
    assert app.registration.code in listing
    obj_id = re.search(r'href="/my/objections/(\d+)"', listing).group(1)
    detail = client.get(f"/my/objections/{obj_id}").text
    assert "提出异议，登记机构已收到" in detail and kept in detail and "异议受理通知书" in detail
    notice_id = re.search(r'href="/notices/(\d+)"', client.get("/notices?q=桥梁").text).group(1)
    assert "有异议正在处理" in client.get(f"/notices/{notice_id}").text
    # Withdraw while allowed; afterwards the button is gone and the timeline says so.
    r = client.post(f"/my/objections/{obj_id}/withdraw", data={"csrf_token": csrf})
    assert r.status_code == 303
    after = client.get(r.headers["location"]).text
    assert "已撤回" in after and "异议人撤回异议" in after and "撤回异议</button>" not in after
    again = client.post(f"/my/objections/{obj_id}/withdraw", data={"csrf_token": csrf})
    assert again.status_code == 409 and "撤回异议" in again.text


def test_objection_form_errors_for_people_and_bad_files(client, db_session, parties, tmp_path):
    subject, clerk = parties
    app = in_notice(db_session, subject, clerk, tmp_path, "全省隧道机电监测数据")
    make_user(db_session, Role.AGENT, username="person_objector")
    db_session.commit()
    csrf = web_login(client, "person_objector", PASSWORD)
    r = client.post("/objections/new", data={
        "csrf_token": csrf, "registration_id": str(app.registration_id), "claim": "content", "grounds": "有误",
        "as_person": "person", "person_name": "", "person_id_number": "123"},
        files={"files": ("说明.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")})
    assert r.status_code == 422
    assert 'id="e-evidence"' in r.text and "说明.pdf" in r.text
    r = client.post("/objections/new", data={
        "csrf_token": csrf, "registration_id": str(app.registration_id), "claim": "content", "grounds": "有误",
        "as_person": "person", "person_name": "", "person_id_number": "123"},
        files={"files": ("说明.pdf", PDF, "application/pdf")})
    assert r.status_code == 422
    assert 'id="e-person_name"' in r.text and 'id="e-person_id_number"' in r.text and 'value="123"' in r.text
    assert "有误</textarea>" in r.text
    assert client.get("/objections/new?registration_id=999999").status_code == 404
    assert client.get("/objections/new?registration_id=abc").status_code == 422


def test_a_subject_is_told_it_cannot_object_to_its_own_registration(client, db_session, tmp_path):
    subject_user = make_user(db_session, Role.REGISTRATION_SUBJECT, username="own_subject")
    clerk = actor_of(make_user(db_session, Role.REGISTRATION_INSTITUTION))
    app = in_notice(db_session, actor_of(subject_user), clerk, tmp_path, "全省航道测绘数据")
    db_session.commit()
    web_login(client, "own_subject", PASSWORD)
    page = client.get(f"/objections/new?registration_id={app.registration_id}").text
    assert "不能对本单位的登记提出异议" in page and 'action="/objections/new"' not in page


def test_announcements_filter_by_kind_and_link_the_certificate(client, db_session, parties, tmp_path):
    from pubdata.objections.revocations import revoke_registration
    from pubdata.registry.records import certificates

    subject, clerk = parties
    app = registered(db_session, subject, clerk, tmp_path)
    revoke_registration(db_session, actor=clerk, registration_id=app.registration_id, ground="forged_materials",
                        reasons="安全评估报告系伪造")
    db_session.commit()
    number = certificates(db_session, registration_id=app.registration_id)[-1].number
    page = client.get("/announcements?kind=revocation").text
    assert "撤销登记公告" in page and f'href="/public/certificates/{number}"' in page and "伪造" in page
    assert '<option value="revocation" selected>' in page
    assert number not in client.get("/announcements?kind=expiry_cancellation").text
    assert number in client.get("/announcements").text


def test_statistics_show_only_releases_the_authority_approved(client, db_session):
    from pubdata.supervision import releases

    authority = actor_of(make_user(db_session, Role.DATA_AUTHORITY))
    institution = actor_of(make_user(db_session, Role.REGISTRATION_INSTITUTION))
    period = {"period_start": dt.date(2026, 1, 1), "period_end": dt.date(2026, 6, 30)}
    approved = releases.draft_release(db_session, actor=institution, title="2026年上半年登记统计", **period)
    releases.draft_release(db_session, actor=institution, title="未经同意的统计草稿", **period)
    releases.approve_release(db_session, actor=authority, release_id=approved.id)
    db_session.commit()
    page = client.get("/statistics").text
    assert "2026年上半年登记统计" in page and "未经同意的统计草稿" not in page
    assert "按登记类型" in page and "按行业门类" in page and "甘肃省" in page


def test_rules_page_is_generated_from_the_rules_in_code(client, monkeypatch):
    page = client.get("/rules").text
    for r in rules.ALL:
        assert r.text in page and r.article in page
    for label in (DOCUMENT_LABELS["identity_proof"], DOCUMENT_LABELS["ground_evidence"], "数据权属", "不收取费用",
                  "重复登记", "实名核验", "/public/certificates"):
        assert label in page
    revised = rules.Rule("public_notice", "REG-28", 7, rules.Unit.WORKING_DAYS, "审查通过后公示期")
    monkeypatch.setattr(rules, "ALL", tuple(revised if r.key == "public_notice" else r for r in rules.ALL))
    assert "7个工作日</td><td>REG-28" in client.get("/rules").text.replace("\n", "")


def test_ledger_page_shows_the_latest_checkpoint_history_and_how_to_verify(app, client, db_session):
    from pubdata.ledger.checkpoints import create, keyring

    make_user(db_session, Role.REGISTRATION_SUBJECT)
    made = [create(db_session, keys=keyring(app.state.settings)) for _ in range(6)]
    db_session.commit()
    page = client.get("/ledger?size=5").text
    assert made[-1].root_hash.hex() in page and made[-1].signature.hex() in page and "签名有效" in page
    assert 'rel="next"' in page and "/api/v1/public/ledger/proof/inclusion" in page
    assert "/api/v1/public/ledger/keys" in page and "RFC 9162" in page
    assert "第 1–5 条，共 6 条" in page and "第 6–6 条，共 6 条" in client.get("/ledger?size=5&page=2").text
