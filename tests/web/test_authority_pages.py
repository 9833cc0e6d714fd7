"""The data authority's dashboard pages: figures from the records (REG-40 statistics, REG-26..29 compliance,
REG-25 obligations), region scoping for a city authority (REG-41), filters kept in URLs, bad filters as Chinese
422s, and the REG-40 release approval forms."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import pytest

from pubdata import clock
from pubdata.audit import AuditEvent
from pubdata.identity.roles import Role
from pubdata.registry import applications as svc
from pubdata.registry.certificates import certify
from pubdata.registry.obligations import declare_event
from pubdata.supervision import dashboard, releases
from pubdata.supervision.models import StatisticRelease
from tests.factories import SYSTEM, make_user
from tests.registry.support import submitted_first
from tests.supervision.support import PASSWORD, authority, institution, subject_in
from tests.web.conftest import csrf_from, web_login

DAY = dt.date(2026, 9, 22)
TODAY = dt.date(2026, 10, 30)
PERIOD = "start=2026-09-01&end=2026-10-30"


def _in_notice(db, subject, clerk, tmp, name):  # type: ignore[no-untyped-def]
    app = submitted_first(db, subject, tmp, basic={"name": name})
    svc.accept(db, actor=clerk, application_id=app.id)
    svc.pass_review(db, actor=clerk, application_id=app.id)
    return app


@pytest.fixture
def world(db_session, tmp_path):  # type: ignore[no-untyped-def]
    """Lanzhou: two fresh applications (one accepted late), three through review on the first day — certified
    on time, certified late, and still in notice past its due date; Jiayuguan: one application nobody touched."""
    db = db_session
    lz_clerk = institution(db, "620100", username="lzclerk")
    jyg_clerk = institution(db, "620200", username="jygclerk")
    lz, jyg = subject_in(db, "620102", username="lzsubject"), subject_in(db, "620200", username="jygsubject")
    with clock.frozen(DAY):
        a1 = submitted_first(db, lz, tmp_path, basic={"name": "兰州公交客流数据"})
        a2 = submitted_first(db, lz, tmp_path, basic={"name": "兰州出租车运行数据"})
        a3 = submitted_first(db, jyg, tmp_path, basic={"name": "嘉峪关路网数据"})
        on_time = _in_notice(db, lz, lz_clerk, tmp_path, "兰州路灯数据")
        late = _in_notice(db, lz, lz_clerk, tmp_path, "兰州停车数据")
        stuck = _in_notice(db, lz, lz_clerk, tmp_path, "兰州公园数据")
    with clock.frozen(a1.acceptance_due):  # type: ignore[arg-type]
        svc.accept(db, actor=lz_clerk, application_id=a1.id)
    with clock.frozen(a2.acceptance_due + dt.timedelta(days=1)):  # type: ignore[operator]
        svc.accept(db, actor=lz_clerk, application_id=a2.id)
    with clock.frozen(on_time.notice_end + dt.timedelta(days=1)):  # type: ignore[operator]
        certify(db, actor=SYSTEM, application=on_time)
    with clock.frozen(late.notice_end + dt.timedelta(days=10)):  # type: ignore[operator]
        certify(db, actor=SYSTEM, application=late)
    with clock.frozen(dt.date(2026, 9, 1)):
        obligation = declare_event(db, actor=lz, event="operation_started", event_date="2026-09-01")
        declare_event(db, actor=jyg, event="operation_started", event_date="2026-09-01")
    province = authority(db, "620000", username="provauth")
    city = authority(db, "620100", username="cityauth")
    make_user(db, Role.REGULATOR, username="watcher")
    db.commit()
    return SimpleNamespace(lz_clerk=lz_clerk, jyg_clerk=jyg_clerk, lz=lz, jyg=jyg, a1=a1, a2=a2, a3=a3,
                           on_time=on_time, late=late, stuck=stuck, province=province, city=city,
                           obligation=obligation)


@pytest.fixture
def provauth(db_session):  # type: ignore[no-untyped-def]
    """Only a province authority, for tests that need no records."""
    actor = authority(db_session, "620000", username="provauth")
    db_session.commit()
    return actor


def login(client, username: str) -> str:  # type: ignore[no-untyped-def]
    return web_login(client, username, PASSWORD)


def row_of(html: str, table_id: str, key: str) -> str:
    """The <tr> of table ``table_id`` whose first cell or data-institution is ``key``."""
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S)
    assert table, f"no table {table_id}"
    for tr in re.findall(r"<tr.*?</tr>", table.group(0), re.S):
        if f'data-institution="{key}"' in tr or re.search(rf"<th scope=\"row\">{re.escape(key)}</th>", tr):
            return tr
    raise AssertionError(f"no row {key} in {table_id}")


def step(row: str, name: str) -> int:
    match = re.search(rf'data-step="{name}">(\d+)<', row)
    assert match, name
    return int(match.group(1))


def figure(html: str, name: str) -> str:
    match = re.search(rf'data-figure="{name}">(.*?)</span>', html, re.S)
    assert match, name
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def panel_rows(html: str, key: str) -> dict[str, list[str]]:
    section = re.search(rf'<section[^>]*aria-labelledby="h-{key}".*?</section>', html, re.S)
    assert section, key
    rows = re.findall(r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', section.group(0), re.S)
    return {label: re.findall(r'<td class="num">(.*?)</td>', cells) for label, cells in rows}


# -- the dashboard's figures ----------------------------------------------------------------------------------


def test_province_dashboard_counts_match_the_records(client, world):
    login(client, "provauth")
    with clock.frozen(TODAY):
        r = client.get(f"/authority?{PERIOD}")
    assert r.status_code == 200, r.text
    html = r.text
    assert (figure(html, "total"), figure(html, "registered"), figure(html, "pending")) == ("6", "2", "4")
    assert panel_rows(html, "by_region") == {"兰州市": ["5"], "嘉峪关市": ["1"]}
    assert panel_rows(html, "by_status") == {"办理中": ["4"], "已登记": ["2"]}
    assert panel_rows(html, "by_type") == {"数据资源": ["6"]}
    months = dict(re.findall(r'data-cell="([^"]+)">(\d+)<', html))
    assert len(months) == 24 and "2025年11月|提交申请" in months and "2025年10月|提交申请" not in months
    assert (months["2026年9月|提交申请"], months["2026年9月|完成首次登记"]) == ("6", "0")
    completed = {f"{a.decided_on.year}年{a.decided_on.month}月" for a in (world.on_time, world.late)}
    assert sum(int(months[f"{m}|完成首次登记"]) for m in completed) == 2
    # Every chart is an accessible SVG with its table.
    assert html.count('role="img"') == 5 and html.count("<table") == 6

    lz = row_of(html, "compliance", str(world.lz_clerk.org_id))
    assert (step(lz, "acceptance-on-time"), step(lz, "acceptance-late")) == (4, 1)
    assert (step(lz, "review-on-time"), step(lz, "review-late")) == (3, 0)
    assert (step(lz, "notice-on-time"), step(lz, "notice-late")) == (1, 1)
    jyg = row_of(html, "compliance", str(world.jyg_clerk.org_id))
    assert step(jyg, "acceptance-late") == 0
    assert figure(html, "overdue") == "2" and figure(html, "obligations") == "2"
    assert figure(html, "rate") == "80.0%"


def test_notice_step_is_late_after_the_first_working_day_and_overdue_while_stuck(db_session, world):
    with clock.frozen(TODAY):
        filters = dashboard.resolve_filters(db_session, actor=world.province, start="2026-09-01", end="2026-10-30")
        steps = dashboard.overdue_steps(db_session, actor=world.province, filters=filters)
    assert {(s.item.application_id, s.item.step) for s in steps} == {(world.stuck.id, "notice"),
                                                                      (world.a3.id, "acceptance")}
    assert steps[0].item.days_overdue >= steps[1].item.days_overdue
    assert dashboard.last_months(dt.date(2026, 2, 10), 3) == [(2025, 12), (2026, 1), (2026, 2)]


def test_city_authority_sees_only_its_region(client, world):
    login(client, "cityauth")
    with clock.frozen(TODAY):
        html = client.get(f"/authority?{PERIOD}").text
        assert figure(html, "total") == "5"
        assert set(panel_rows(html, "by_region")) == {"城关区"}  # one level below the city
        assert f'data-institution="{world.lz_clerk.org_id}"' in html
        assert f'data-institution="{world.jyg_clerk.org_id}"' not in html
        assert figure(html, "overdue") == "1" and figure(html, "obligations") == "1"
        for region in ("620000", "620200"):
            r = client.get(f"/authority?region={region}")
            assert r.status_code == 403 and "不在本单位监管的地区" in r.text
        overdue = client.get("/authority/overdue").text
        assert world.stuck.number in overdue and world.a3.number not in overdue
        assert client.get("/authority/overdue?region=620200").status_code == 403


def test_regulator_reads_compliance_but_not_statistics_or_releases(client, world):
    login(client, "watcher")
    with clock.frozen(TODAY):
        r = client.get(f"/authority?{PERIOD}")
        assert r.status_code == 200
        assert 'data-figure="total"' not in r.text and "第四十条" in r.text
        assert f'data-institution="{world.jyg_clerk.org_id}"' in r.text
        assert client.get("/authority/releases").status_code == 403


def test_filters_are_kept_in_urls_and_paging(client, world, db_session):
    with clock.frozen(dt.date(2026, 9, 2)):
        for _ in range(5):
            declare_event(db_session, actor=world.lz, event="operation_started", event_date="2026-09-02")
    db_session.commit()
    login(client, "provauth")
    with clock.frozen(TODAY):
        html = client.get(f"/authority?{PERIOD}&region=620100").text
        assert 'href="/authority/overdue?region=620100"' in html
        assert 'href="/authority/obligations?region=620100"' in html
        assert '<option value="620100" selected>' in html and 'value="2026-09-01"' in html
        page1 = client.get("/authority/obligations?region=620100&size=5").text
        assert "共 6 条" in page1
        assert re.search(r'href="/authority/obligations\?region=620100&amp;size=5&amp;page=2"', page1)
        page2 = client.get("/authority/obligations?region=620100&size=5&page=2").text
        assert "第 6–6 条" in page2 and "返回监管看板" in page2


@pytest.mark.parametrize(("query", "field", "message"), [
    ("start=2026-13-01", "start", "日期格式应为"),
    ("end=yesterday", "end", "日期格式应为"),
    ("start=2026-05-01&end=2026-04-01", "end", "统计期止不能早于统计期起"),
    ("start=1900-01-01", "start", "2000 年至 2099 年"),
    ("region=999999", "region", "请选择甘肃省内的地区"),
    ("region=110000", "region", "请选择甘肃省内的地区"),
])
def test_bad_filters_are_chinese_422s_at_their_field(client, provauth, query, field, message):
    login(client, "provauth")
    r = client.get(f"/authority?{query}")
    assert r.status_code == 422
    assert re.search(rf'id="e-{field}">[^<]*{message}', r.text)
    assert "查询" in r.text  # the form is still there to correct


@pytest.mark.parametrize("url", ["/authority/overdue?region=abc", "/authority/obligations?region=12",
                                 "/authority/releases?state=bogus", "/authority?start=" + "9" * 50,
                                 "/authority/overdue?page=0"])
def test_other_bad_parameters_are_422_not_500(client, provauth, url):
    login(client, "provauth")
    r = client.get(url)
    assert r.status_code == 422 and ("有误" in r.text or "请选择" in r.text)


# -- statistic releases (REG-40) ------------------------------------------------------------------------------


@pytest.fixture
def people(db_session):  # type: ignore[no-untyped-def]
    """Drafters and approvers, without records: a province institution, two authorities, a city authority."""
    db = db_session
    ns = SimpleNamespace(clerk=institution(db, username="provclerk"), province=authority(db, "620000", "provauth"),
                         city=authority(db, "620100", "cityauth"))
    db.commit()
    return ns


def _draft(db, actor, title="2026年9月登记统计") -> StatisticRelease:  # type: ignore[no-untyped-def]
    with clock.frozen(TODAY):
        rel = releases.draft_release(db, actor=actor, title=title, period_start=dt.date(2026, 9, 1),
                                     period_end=dt.date(2026, 9, 30))
    db.commit()
    return rel


def test_approve_a_release_through_the_pages(client, people, db_session):
    rel = _draft(db_session, people.clerk)
    login(client, "provauth")
    listing = client.get("/authority/releases").text
    assert "2026年9月登记统计" in listing and f'href="/authority/releases/{rel.id}"' in listing
    detail = client.get(f"/authority/releases/{rel.id}")
    assert detail.status_code == 200 and 'id="approve"' in detail.text and 'role="img"' in detail.text
    token = csrf_from(detail.text)
    r = client.post(f"/authority/releases/{rel.id}", data={"csrf_token": token, "action": "approve",
                                                           "version": str(rel.version)})
    assert r.status_code == 303 and r.headers["location"] == f"/authority/releases/{rel.id}?done=approve"
    db_session.refresh(rel)
    assert rel.state == "approved" and [p.id for p in releases.public_releases(db_session)] == [rel.id]
    assert db_session.query(AuditEvent).filter_by(tag="supervision:statistic_release:approved",
                                                  object_id=str(rel.id)).count() == 1
    shown = client.get(r.headers["location"]).text
    assert "已同意公开，该统计信息已列入公开统计" in shown and 'id="withdraw"' in shown
    # The page seen before approving, submitted again: the version moved on — a Chinese 409, nothing changed.
    again = client.post(f"/authority/releases/{rel.id}", data={"csrf_token": token, "action": "approve",
                                                               "version": str(rel.version - 1)})
    assert again.status_code == 409 and "已被他人处理" in again.text
    # Current version, but an approved release cannot be approved: the state machine refuses (409, Chinese).
    illegal = client.post(f"/authority/releases/{rel.id}", data={"csrf_token": token, "action": "approve",
                                                                 "version": str(rel.version)})
    assert illegal.status_code == 409 and 'data-code="illegal_transition"' in illegal.text
    assert re.search(r"[\u4e00-\u9fff]", illegal.text.split('data-code="illegal_transition">')[1][:200])


def test_reject_needs_a_reason_next_to_the_field_and_keeps_the_form(client, people, db_session):
    rel = _draft(db_session, people.clerk)
    token = login(client, "provauth")
    r = client.post(f"/authority/releases/{rel.id}", data={"csrf_token": token, "action": "reject", "reason": " ",
                                                           "version": str(rel.version)})
    assert r.status_code == 422 and re.search(r'id="e-reason">不同意公开或撤回时须说明理由', r.text)
    r = client.post(f"/authority/releases/{rel.id}", data={"csrf_token": token, "action": "reject",
                                                           "reason": "统计期不完整", "version": str(rel.version)})
    assert r.status_code == 303
    db_session.refresh(rel)
    assert rel.state == "rejected" and rel.reason == "统计期不完整"
    assert "不同意公开" in client.get(f"/authority/releases/{rel.id}").text
    assert releases.public_releases(db_session) == []


def test_refusals(client, people, db_session):
    own = _draft(db_session, people.province, title="本人拟定")
    rel = _draft(db_session, people.clerk)
    token = login(client, "provauth")
    r = client.post(f"/authority/releases/{own.id}", data={"csrf_token": token, "action": "approve",
                                                           "version": str(own.version)})
    assert r.status_code == 403 and "拟定人不能同意自己拟定" in r.text
    for data in ({"action": "publish", "version": "1"}, {"action": "approve", "version": "x"}):
        bad = client.post(f"/authority/releases/{rel.id}", data={"csrf_token": token, **data})
        assert bad.status_code == 422 and "请" in bad.text
    assert client.post(f"/authority/releases/{rel.id}", data={"action": "approve", "version": "1"}).status_code == 403
    assert client.get("/authority/releases/999999").status_code == 404
    client.post("/logout", data={"csrf_token": token})
    # A city authority does not consent for the province (REG-41); the institution may not consent at all.
    token = login(client, "cityauth")
    r = client.post(f"/authority/releases/{rel.id}", data={"csrf_token": token, "action": "approve",
                                                           "version": str(rel.version)})
    assert r.status_code == 403 and "不在本单位监管的地区" in r.text
    assert client.get(f"/authority/releases/{rel.id}").status_code == 403
    client.post("/logout", data={"csrf_token": token})
    token = login(client, "provclerk")
    assert client.get("/authority").status_code == 403
    r = client.post(f"/authority/releases/{rel.id}", data={"csrf_token": token, "action": "approve",
                                                           "version": str(rel.version)})
    assert r.status_code == 403
    db_session.refresh(rel)
    assert rel.state == "draft"
