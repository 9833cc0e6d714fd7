"""The implementing agency's query audit (OPS-25, OPS-33) through the API and the pages: every query under its
agreements' grants with counters, alerts and suspension; refused queries shown only with their literals masked;
near-identical queries, small groups and repeated errors flagged; a suspended grant resumed by its agency with a
reason (one audit event); regulators read province-wide without acting; pages in Chinese, never machine codes."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pubdata.audit.models import AuditEvent
from pubdata.config import Settings
from pubdata.errors import DomainError
from pubdata.identity.roles import Role
from pubdata.opdomain import queries, query_audit
from pubdata.opdomain.models import DataGrant, GrantSuspension
from pubdata.web.app import create_app
from tests.factories import actor_of, make_user
from tests.opdomain.platform_support import granted, world
from tests.opdomain.test_designated_staff import FAST, as_, configure, problem_of
from tests.web.conftest import csrf_from
from tests.web.test_api import token_for

BY_COUNTY = "SELECT county_code, count(*) AS n FROM population GROUP BY county_code"
REFUSED = "SELECT id_number FROM population"
#: Literals that must never reach the audit of a refused query.
SECRET_SQL = ("SELECT county_code, count(*) AS n FROM population WHERE name = '张三丰' AND annual_income > 987654 "
              "GROUP BY county_code")
FAILING = "SELECT county_code, count(*) AS n FROM population WHERE age % 0 = {} GROUP BY county_code"
#: Machine codes that must not be shown on a page (as text; attributes may carry them).
CODES = re.compile(r"\b(allowed|refused|failed|throttled|nominated|approved|withdrawn|in_force|lifted|near_identical|"
                   r"small_group|repeated_errors|repeated_refusals|column_not_granted|row_level_output|query_failed|"
                   r"identifier_in_filter|grant_suspended|not_designated_staff|permission_denied)\b")


@pytest.fixture
def app(session_maker: sessionmaker[Session], tmp_path: Path) -> FastAPI:
    return create_app(Settings(var_dir=tmp_path, secret_key="test-secret", **FAST), session_maker=session_maker)


def run(db_session: Session, c: Any, grant: DataGrant, sql: str) -> DomainError | None:
    try:
        queries.run_query(db_session, actor=c.operator, grant_id=grant.id, sql=sql)
    except DomainError as e:
        return e
    return None


def setup(db_session: Session, c: Any, tmp: Path, **settings: Any) -> DataGrant:
    configure(db_session, **settings)
    grant = granted(db_session, c, world(db_session, c, tmp))
    db_session.commit()
    return grant


def visible(page: str) -> str:
    """A page's text as a reader sees it (no tags, no attributes)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)))


def test_agency_sees_each_grant_with_its_counters_and_latest_queries(  # type: ignore[no-untyped-def]
        client, db_session, c, tmp: Path) -> None:
    grant = setup(db_session, c, tmp)
    assert run(db_session, c, grant, BY_COUNTY) is None
    assert run(db_session, c, grant, BY_COUNTY.replace("count(*)", "avg(age)")) is None
    assert run(db_session, c, grant, REFUSED).code == "column_not_granted"  # type: ignore[union-attr]
    db_session.commit()
    agency = token_for(client, c.agency.label)

    listed = client.get("/api/v1/opdomain/audit/grants", headers=agency).json()
    [item] = [g for g in listed["items"] if g["grant_id"] == grant.id]
    assert item["counters"] == {"allowed": 2, "refused": 1, "failed": 0, "throttled": 0}
    assert item["suspended"] is False and item["alerts"] == 0 and listed["can_act"] is True
    page = client.get("/api/v1/opdomain/audit/queries?size=5", headers=agency).json()
    assert page["total"] == 3 and [q["outcome"] for q in page["items"]] == ["refused", "allowed", "allowed"]
    assert page["items"][0]["reason_label"] == "访问未授权的列" and page["items"][0]["outcome_label"] == "拒绝"
    only = client.get(f"/api/v1/opdomain/audit/queries?outcome=allowed&grant_id={grant.id}"
                      f"&operator_org_id={c.operator.org_id}", headers=agency).json()
    assert only["total"] == 2 and all(q["outcome"] == "allowed" and q["cells"] for q in only["items"])
    assert client.get(f"/api/v1/opdomain/audit/queries?operator_org_id={c.agency.org_id}",
                      headers=agency).json()["total"] == 0
    assert client.get("/api/v1/opdomain/audit/queries?outcome=bogus", headers=agency).status_code == 422
    detail = client.get(f"/api/v1/opdomain/audit/grants/{grant.id}", headers=agency).json()
    assert len(detail["queries"]) == 3 and detail["queries"][1]["sql"].startswith("SELECT")
    assert detail["suspensions"] == [] and detail["alert_list"] == []

    as_(client, c.agency)
    shown = client.get("/opdomain/audit")
    assert shown.status_code == 200
    text = visible(shown.text)
    for words in ("查询审计", "允许", "拒绝", "出错", "限流", "告警", "人口（合成）", "受检语句",
                  "提交的语句（取值已遮盖）", "访问未授权的列", "单元格", f"授权 #{grant.id}", "有效"):
        assert words in text, words
    assert not CODES.search(text), CODES.search(text)
    assert '<pre class="od-audit-sql"><code>' in shown.text
    filtered = visible(client.get(f"/opdomain/audit?outcome=refused&grant_id={grant.id}").text)
    assert "访问未授权的列" in filtered and "受检语句（" not in filtered
    detail_page = client.get(f"/opdomain/audit/grants/{grant.id}")
    assert detail_page.status_code == 200 and "恢复该数据授权" not in detail_page.text  # nothing to resume
    assert not CODES.search(visible(detail_page.text))


def test_audit_shows_masked_sql_of_refused_queries_never_raw_literals(  # type: ignore[no-untyped-def]
        client, db_session, c, tmp: Path) -> None:
    grant = setup(db_session, c, tmp)
    err = run(db_session, c, grant, SECRET_SQL)
    assert err is not None and err.status == 422
    db_session.commit()
    agency = token_for(client, c.agency.label)
    [q] = client.get(f"/api/v1/opdomain/audit/queries?grant_id={grant.id}", headers=agency).json()["items"]
    assert q["outcome"] == "refused" and "?" in q["sql"] and "population" in q["sql"]
    detail = client.get(f"/api/v1/opdomain/audit/grants/{grant.id}", headers=agency).text
    for raw in ("张三丰", "987654"):
        assert raw not in q["sql"] and raw not in detail
    as_(client, c.agency)
    for url in ("/opdomain/audit", f"/opdomain/audit/grants/{grant.id}"):
        page = client.get(url).text
        assert "张三丰" not in page and "987654" not in page
        assert "name = ?" in html.unescape(page) and "提交的语句（取值已遮盖）" in page


def test_near_identical_queries_are_flagged(client, db_session, c, tmp: Path) -> None:  # type: ignore[no-untyped-def]
    grant = setup(db_session, c, tmp)
    base = "SELECT county_code, count(*) AS n FROM population WHERE age > {} GROUP BY county_code"
    for age in (30, 31, 32):
        assert run(db_session, c, grant, base.format(age)) is None
    assert run(db_session, c, grant, "SELECT count(*) AS n FROM population") is None  # unrelated: not flagged
    db_session.commit()
    agency = token_for(client, c.agency.label)
    detail = client.get(f"/api/v1/opdomain/audit/grants/{grant.id}", headers=agency).json()
    [near] = [p for p in detail["patterns"] if p["code"] == "near_identical"]
    ids = {q["event_id"] for q in detail["queries"] if "age" in q["sql"]}
    assert set(near["event_ids"]) == ids and len(ids) == 3 and near["label"] == "近似查询（仅一个条件不同）"
    as_(client, c.agency)
    page = visible(client.get(f"/opdomain/audit/grants/{grant.id}").text)
    assert "近似查询（仅一个条件不同）" in page and page.count("⚑ 近似查询") == 3
    assert "近似查询（仅一个条件不同）" in visible(client.get("/opdomain/audit").text)
    # The same query repeated, or queries of different shapes, are no difference attack.
    same = [{"event_id": i, "sql": base.format(30), "outcome": "allowed", "code": None, "suppressed_reasons": {}}
            for i in range(3)]
    assert query_audit.find_patterns(same) == []


def test_repeated_errors_are_flagged(client, db_session, c, tmp: Path) -> None:  # type: ignore[no-untyped-def]
    grant = setup(db_session, c, tmp)
    for n in (1, 2, 3):
        err = run(db_session, c, grant, FAILING.format(n))
        assert err is not None and err.code == "query_failed"
    db_session.commit()
    agency = token_for(client, c.agency.label)
    detail = client.get(f"/api/v1/opdomain/audit/grants/{grant.id}", headers=agency).json()
    assert detail["counters"]["failed"] == 3
    [errors] = [p for p in detail["patterns"] if p["code"] == "repeated_errors"]
    assert len(errors["event_ids"]) == 3 and "query_failed" not in errors["detail"]
    assert not [p for p in detail["patterns"] if p["code"] == "near_identical"]  # masked alike: one shape
    as_(client, c.agency)
    page = visible(client.get(f"/opdomain/audit/grants/{grant.id}").text)
    assert "反复执行出错" in page and "查询未能完成" in page and "出错" in page
    assert not CODES.search(page)


def test_suspended_grant_is_resumed_by_its_agency_with_a_reason(  # type: ignore[no-untyped-def]
        client, db_session, c, tmp: Path) -> None:
    grant = setup(db_session, c, tmp, opdomain_alert_threshold=2, opdomain_suspend_threshold=3)
    for _ in range(3):
        run(db_session, c, grant, REFUSED)
    assert run(db_session, c, grant, BY_COUNTY).code == "grant_suspended"  # type: ignore[union-attr]
    db_session.commit()
    agency, operator = token_for(client, c.agency.label), token_for(client, c.operator.label)
    [item] = [g for g in client.get("/api/v1/opdomain/audit/grants", headers=agency).json()["items"]
              if g["grant_id"] == grant.id]
    assert item["suspended"] is True and item["alerts"] == 2 and item["suspension"]["state"] == "in_force"
    version = item["suspension"]["version"]

    url = f"/api/v1/opdomain/audit/grants/{grant.id}/resume"
    problem_of(client.post(url, json={"reason": "我们自己查过了"}, headers=operator), 403, "permission_denied")
    body = problem_of(client.post(url, json={"reason": "  "}, headers=agency), 422, "validation_failed")
    assert body["errors"][0]["field"] == "reason"
    problem_of(client.post(url, json={"reason": "核查完毕", "version": version + 1}, headers=agency), 409,
               "stale_version")
    before = db_session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))

    # The agency reviews it on the page and resumes it there.
    token = as_(client, c.agency)
    page = client.get(f"/opdomain/audit/grants/{grant.id}")
    assert "授权已暂停，待实施机构审查" in page.text and "恢复该数据授权" in page.text and "告警" in page.text
    assert "暂停授权" in page.text  # the second alert's level, in Chinese
    form = {"csrf_token": csrf_from(page.text), "version": str(version)}
    empty = client.post(f"/opdomain/audit/grants/{grant.id}/resume", data=form | {"reason": ""})
    assert empty.status_code == 422 and "恢复授权须说明审查结论与理由" in empty.text
    assert client.post(f"/opdomain/audit/grants/{grant.id}/resume", data={"reason": "x"}).status_code == 403
    done = client.post(f"/opdomain/audit/grants/{grant.id}/resume",
                       data=form | {"csrf_token": token, "reason": "经核查为调试 SQL 所致，已约谈运营机构。"})
    assert done.status_code == 303 and done.headers["location"].endswith("?done=resume")
    after = client.get(done.headers["location"]).text
    assert "已恢复该数据授权" in after and "经核查为调试 SQL 所致" in after and "已恢复" in after
    assert "恢复该数据授权</button>" not in after

    db_session.expire_all()
    new = list(db_session.scalars(select(AuditEvent).where(AuditEvent.id > before)))
    resumed = [e for e in new if e.object_type == "opdomain_grant"]
    assert [e.tag for e in resumed] == ["opdomain:grant:resume"]  # one event, with the reason
    assert resumed[0].data["reason"].startswith("经核查") and resumed[0].actor_user_id == c.agency.user_id
    held = db_session.scalar(select(GrantSuspension).where(GrantSuspension.grant_id == grant.id))
    assert held is not None and held.state == "lifted"
    problem_of(client.post(url, json={"reason": "再次恢复"}, headers=agency), 409, "grant_not_suspended")
    assert client.post(f"/api/v1/opdomain/grants/{grant.id}/queries", json={"sql": BY_COUNTY},
                       headers=operator).status_code == 200


def test_regulator_reads_the_audit_but_cannot_resume(client, db_session, c, tmp: Path) -> None:  # type: ignore[no-untyped-def]
    grant = setup(db_session, c, tmp, opdomain_alert_threshold=1, opdomain_suspend_threshold=2)
    for _ in range(2):
        run(db_session, c, grant, REFUSED)
    regulator = actor_of(make_user(db_session, Role.REGULATOR))
    clerk = c.clerk  # a registration institution reads audit records, but not the query audit
    db_session.commit()
    for reader in (regulator, c.authority):
        h = token_for(client, reader.label)
        listed = client.get("/api/v1/opdomain/audit/grants", headers=h).json()
        assert listed["can_act"] is False and grant.id in [g["grant_id"] for g in listed["items"]]
        detail = client.get(f"/api/v1/opdomain/audit/grants/{grant.id}", headers=h).json()
        assert detail["can_act"] is False and detail["suspended"] is True
        assert client.get("/api/v1/opdomain/audit/queries", headers=h).json()["total"] == 2
        problem_of(client.post(f"/api/v1/opdomain/audit/grants/{grant.id}/resume", json={"reason": "恢复"},
                               headers=h), 403, "permission_denied")
    for outsider in (clerk, c.operator):
        problem_of(client.get("/api/v1/opdomain/audit/grants", headers=token_for(client, outsider.label)), 403,
                   "permission_denied")

    token = as_(client, regulator)
    overview = client.get("/opdomain/audit")
    assert overview.status_code == 200 and "只读查看查询审计" in overview.text
    assert 'href="/opdomain/console"' not in overview.text  # no tabs into pages a regulator cannot open
    page = client.get(f"/opdomain/audit/grants/{grant.id}")
    assert page.status_code == 200 and "授权已暂停" in page.text
    assert 'method="post" action="/opdomain/audit' not in page.text
    assert "只有该协议的实施机构可以恢复" in page.text
    refused = client.post(f"/opdomain/audit/grants/{grant.id}/resume", data={"csrf_token": token, "reason": "恢复"})
    assert refused.status_code == 403
    db_session.expire_all()
    assert db_session.scalar(select(GrantSuspension.state).where(GrantSuspension.grant_id == grant.id)) == "in_force"
