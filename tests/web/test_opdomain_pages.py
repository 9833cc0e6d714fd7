"""Operation-domain pages through the real app: datasets, applications and decisions, grants, the SQL console,
reclassify/withdraw and data-quality reports; bad input is re-shown with its message and code, never a 500."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from pubdata.audit.models import AuditEvent
from pubdata.opdomain.models import DataGrant, OpDataset, QualityReport
from pubdata.registry.models import Registration
from tests.factories import PASSWORD
from tests.opdomain.platform_support import demo_file, granted, stage, world
from tests.operation.support import cast
from tests.web.conftest import csrf_from, web_login

# Grouped rows under k are left out of the answer whole; a small population inside a shown row is marked.
BY_COUNTY_AGE = ("SELECT county_code, count(*) AS n, count(*) FILTER (WHERE age BETWEEN 95 AND 130) AS oldest "
                 "FROM population GROUP BY county_code")


def as_(client, actor) -> str:  # type: ignore[no-untyped-def]
    client.cookies.clear()
    return web_login(client, actor.label, PASSWORD)


def setup(db_session, tmp_path: Path, grant: bool = True):  # type: ignore[no-untyped-def]
    c = cast(db_session)
    w = world(db_session, c, tmp_path)
    g = granted(db_session, c, w) if grant else None
    db_session.commit()
    return c, w, g


def test_operator_browses_datasets_and_applies_with_flags(client, db_session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    c, w, _ = setup(db_session, tmp_path, grant=False)
    as_(client, c.operator)
    index = client.get("/opdomain")
    assert index.status_code == 200 and w.dataset.label in index.text and "没有有效的数据授权" in index.text
    detail = client.get(f"/opdomain/datasets/{w.dataset.id}")
    assert detail.status_code == 200 and "直接标识符" in detail.text and "核心" in detail.text
    assert "2,000 行" in detail.text and "最小单元格阈值 k" in detail.text and "重新分类" not in detail.text
    form = client.get(f"/opdomain/applications/new?dataset_id={w.dataset.id}")
    assert form.status_code == 200 and "提示：直接标识符" in form.text and "不可申请" in form.text
    token = csrf_from(form.text)
    base = {"csrf_token": token, "dataset_id": str(w.dataset.id), "purpose": "县区人口结构", "scenario": "乡村振兴",
            "product": "路网通行指数", "period_start": "2020-01-01", "period_end": "2099-01-01"}
    bad = client.post("/opdomain/applications/new", data=base | {"purpose": "保留的用途"})
    assert bad.status_code == 422 and "请选择申请的表和列" in bad.text and "保留的用途" in bad.text
    bad_date = client.post("/opdomain/applications/new", data=base | {"period_end": "明天", "col": "population.age"})
    assert bad_date.status_code == 422 and "请填写有效的日期" in bad_date.text
    data = [*base.items(), ("col", "population.age"), ("col", "population.name"),
            ("use_population.age", "年龄段"), ("period_end", "2026-12-31")]
    ok = client.post("/opdomain/applications/new", data=dict(data) | {"col": ["population.age", "population.name"]})
    assert ok.status_code == 303, ok.text
    shown = client.get(ok.headers["location"])
    assert "申请了直接标识符" in shown.text and "no_stated_need" in shown.text and "待审核" in shown.text


def test_provider_decides_and_revokes_with_messages(client, db_session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    c, w, _ = setup(db_session, tmp_path, grant=False)
    from tests.opdomain.platform_support import apply

    app = apply(db_session, c, w)
    db_session.commit()
    as_(client, c.industry)
    assert f"/opdomain/applications/{app.id}" in client.get("/opdomain").text  # waiting for my review
    page = client.get(f"/opdomain/applications/{app.id}")
    assert page.status_code == 200 and "提交审核结论" in page.text
    token = csrf_from(page.text)
    refused = client.post(f"/opdomain/applications/{app.id}", data={"csrf_token": token, "decision": "refuse"})
    assert refused.status_code == 422 and "不予批准须说明理由" in refused.text
    part = client.post(f"/opdomain/applications/{app.id}", data={"csrf_token": token, "decision": "approve_part",
                                                                  "grant_col": ["population.age", "region.code"]})
    assert part.status_code == 303
    grant = db_session.scalar(select(DataGrant).where(DataGrant.application_id == app.id))
    assert grant is not None and grant.columns == {"population": ["age"], "region": ["code"]}
    grants_page = client.get("/opdomain/grants")
    assert grants_page.status_code == 200 and "有效" in grants_page.text and "撤销" in grants_page.text
    empty = client.post(f"/opdomain/grants/{grant.id}/revoke", data={"csrf_token": token, "reason": " "})
    assert empty.status_code == 422 and "撤销须说明理由" in empty.text
    ok = client.post(f"/opdomain/grants/{grant.id}/revoke", data={"csrf_token": token, "reason": "场景已结束"})
    assert ok.status_code == 303 and "场景已结束" in client.get("/opdomain/grants").text


def test_console_shows_suppressed_cells_marked_and_refusals_with_code(client, db_session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    c, _, g = setup(db_session, tmp_path)
    token = as_(client, c.operator)
    page = client.get("/opdomain/console")
    assert page.status_code == 200 and f'value="{g.id}"' in page.text and "annual_income" in page.text
    assert "id_number" not in page.text  # not granted, not shown
    r = client.post("/opdomain/console", data={"csrf_token": token, "grant_id": str(g.id), "sql": BY_COUNTY_AGE})
    assert r.status_code == 200, r.text
    assert re.search(r'class="od-suppressed" data-reason="min_count"', r.text)
    assert "单元格涉及的个体少于 10 个" in r.text
    assert "已隐藏" in r.text and BY_COUNTY_AGE in r.text  # the SQL is kept in the textarea
    assert re.search(r'href="/opdomain/exports/new\?query_run_id=\d+"', r.text)  # the stored result can go to review
    bad = client.post("/opdomain/console", data={"csrf_token": token, "grant_id": str(g.id),
                                                 "sql": "SELECT name FROM population"})
    assert bad.status_code == 422 and "查询被拒绝" in bad.text and "column_not_granted" in bad.text
    assert "SELECT name FROM population" in bad.text
    refused = db_session.scalars(select(AuditEvent).where(AuditEvent.tag == "opdomain:query:refused")).all()
    assert [e.data["code"] for e in refused] == ["column_not_granted"]  # committed although refused
    history = client.get("/opdomain/console")
    assert "已拒绝" in history.text and "已执行" in history.text
    empty = client.post("/opdomain/console", data={"csrf_token": token, "grant_id": str(g.id), "sql": "  "})
    assert empty.status_code == 422 and "请选择数据授权并输入 SQL" in empty.text
    foreign = client.get("/opdomain/console?grant_id=999999")
    assert foreign.status_code == 200 and "不属于本单位" in foreign.text
    assert client.post("/opdomain/console", data={"csrf_token": token, "grant_id": "999999",
                                                  "sql": "SELECT 1"}).status_code == 404


def test_provider_reclassifies_and_withdraws_through_the_page(client, db_session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    c, w, g = setup(db_session, tmp_path)
    token = as_(client, c.industry)
    url = f"/opdomain/datasets/{w.dataset.id}"
    assert "重新分类" in client.get(url).text
    same = client.post(url, data={"csrf_token": token, "action": "reclassify", "column": "population.age",
                                  "role": "quasi_identifier", "grade": "general", "reason": "复核"})
    assert same.status_code == 422 and "没有变化" in same.text
    ok = client.post(url, data={"csrf_token": token, "action": "reclassify", "column": "population.age",
                                "role": "sensitive", "grade": "important", "reason": "复核"})
    assert ok.status_code == 303 and "reclassify" in client.get(url).text
    no_reason = client.post(url, data={"csrf_token": token, "action": "withdraw", "withdraw_reason": ""})
    assert no_reason.status_code == 422 and "撤下数据集须说明理由" in no_reason.text
    done = client.post(url, data={"csrf_token": token, "action": "withdraw", "withdraw_reason": "口径调整"})
    assert done.status_code == 303 and "已撤下" in client.get(url).text
    db_session.expire_all()
    assert db_session.get(DataGrant, g.id).revoked_at is not None  # type: ignore[union-attr]
    again = client.post(url, data={"csrf_token": token, "action": "withdraw", "withdraw_reason": "再次"})
    assert again.status_code == 409 and "不能执行" in again.text
    as_(client, c.operator)
    assert client.get(url).status_code == 404  # withdrawn datasets are no longer on offer


def test_provider_loads_a_staged_file_through_the_form(client, db_session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    c, w, _ = setup(db_session, tmp_path, grant=False)
    name = stage(demo_file(tmp_path), "region", "csv")
    token = as_(client, c.industry)
    step1 = client.get("/opdomain/datasets/new")
    assert step1.status_code == 200 and name in step1.text
    step2 = client.get(f"/opdomain/datasets/new?sources={name}")
    assert step2.status_code == 200 and "t0_c0_role" in step2.text and "parent_code" in step2.text
    outside = client.get("/opdomain/datasets/new?sources=../../etc/passwd")
    assert outside.status_code == 200 and "暂存区" in outside.text
    cols = ["code", "name", "level", "parent_code"]
    data = {"csrf_token": token, "registration_id": str(w.dataset.registration_id), "code": "region-page",
            "label": "区划", "table_count": "1", "t0_source": name, "t0_name": "region", "t0_kind": "lookup",
            "t0_key": "code", "t0_column_count": str(len(cols))}
    for j, col in enumerate(cols):
        data |= {f"t0_c{j}_name": col, f"t0_c{j}_role": "public", f"t0_c{j}_grade": "general"}
    bad = client.post("/opdomain/datasets/new", data=data | {"t0_c3_role": ""})
    assert bad.status_code == 422 and "角色或分级无效" in bad.text
    ok = client.post("/opdomain/datasets/new", data=data)
    assert ok.status_code == 303, ok.text
    row = db_session.scalar(select(OpDataset).where(OpDataset.code == "region-page"))
    assert row is not None and row.row_counts["region"] > 80


def test_quality_report_answer_confirm_and_the_agency_view(client, db_session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    c, w, g = setup(db_session, tmp_path)
    token = as_(client, c.operator)
    form = client.get("/opdomain/quality/new")
    assert form.status_code == 200 and "问题类型" in form.text
    bad = client.post("/opdomain/quality/new", data={"csrf_token": token, "grant_id": str(g.id),
                                                     "table": "population", "kind": "", "description": "保留"})
    assert bad.status_code == 422 and "请选择问题类型" in bad.text and "保留" in bad.text
    ok = client.post("/opdomain/quality/new", data={"csrf_token": token, "grant_id": str(g.id), "table": "population",
                                                    "columns": ["population.age", "region.name"], "kind": "wrong",
                                                    "description": "年龄与出生日期不一致"})
    assert ok.status_code == 303, ok.text
    report = db_session.scalar(select(QualityReport).where(QualityReport.grant_id == g.id))
    assert report is not None and report.columns == ["age"]
    url = f"/opdomain/quality/{report.id}"
    early = client.post(url, data={"csrf_token": token, "action": "confirm"})
    assert early.status_code == 409 and "不能执行" in early.text
    token = as_(client, c.industry)
    assert "答复" in client.get(url).text
    answered = client.post(url, data={"csrf_token": token, "action": "answer", "note": "已核实"})
    assert answered.status_code == 303
    fixed = client.post(url, data={"csrf_token": token, "action": "fix", "note": "已修正"})
    assert fixed.status_code == 303
    token = as_(client, c.operator)
    assert client.post(url, data={"csrf_token": token, "action": "confirm"}).status_code == 303
    assert "已关闭" in client.get(url).text
    assert client.get("/opdomain/quality/response-times").status_code == 403
    as_(client, c.agency)
    times = client.get("/opdomain/quality/response-times")
    assert times.status_code == 200 and w.dataset.label in times.text
    assert client.get("/opdomain/quality").status_code == 200 and client.get(url).status_code == 200


def test_the_demo_operator_can_query_at_once(db_session) -> None:  # type: ignore[no-untyped-def]
    from pubdata.demo import load_demo
    from pubdata.identity.access import actor_for
    from pubdata.identity.users import user_by_username
    from pubdata.opdomain import demo, grants, queries
    from pubdata.operation.access import active_agreement, covers

    created = load_demo(db_session, opdomain_persons=5_000)
    assert any("5,000 人" in x for x in created)
    operator = actor_for(user_by_username(db_session, "operator"))  # type: ignore[arg-type]
    [grant] = grants.list_grants(db_session, actor=operator)
    pop = db_session.get(OpDataset, grant.dataset_id)
    assert pop is not None and pop.code == demo.POPULATION_CODE and pop.row_counts["population"] == 5_000
    agreement = active_agreement(db_session, operator.org_id)  # type: ignore[arg-type]
    assert agreement is not None and covers(db_session, agreement, pop.registration_id)
    assert db_session.get(Registration, pop.registration_id).data_name == demo.RESOURCES[0][0]  # type: ignore[union-attr]
    out = queries.run_query(db_session, actor=operator, grant_id=grant.id,
                            sql="SELECT city_code, count(*) AS n FROM population GROUP BY city_code")
    assert sum(c[1].value for c in out.result.result.rows if not c[1].suppressed) > 4_000
    assert load_demo(db_session, opdomain_persons=5_000) == []  # idempotent
