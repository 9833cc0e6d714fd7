"""Data quality reports (OPS-24): operator reports, provider answers and fixes or explains, operator confirms or
reopens; every step audited; response times in working days on the official calendar, per dataset and provider."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pubdata import clock
from pubdata.errors import DomainError, PermissionDenied, ValidationFailed
from pubdata.identity.roles import Role
from pubdata.opdomain import grants, quality
from pubdata.opdomain.models import QualityReport
from pubdata.workflow import IllegalTransition
from tests.factories import actor_of, make_user
from tests.opdomain.platform_support import events, granted, world
from tests.web.test_api import PROBLEM, token_for

REPORTED = dt.date(2025, 9, 30)  # a Tuesday before the National Day holiday (1–8 October 2025)
ANSWERED = dt.date(2025, 10, 9)  # 1 working day later on the official calendar (7 on a plain weekday count)
FIXED = dt.date(2025, 10, 13)  # 4 working days: 9, 10, 11 (a make-up Saturday) and 13 October


def new_report(db_session, c, grant_id: int, **kw) -> QualityReport:  # type: ignore[no-untyped-def]
    args = {"table": "population", "columns": ["annual_income"], "kind": "missing",
            "description": "部分县区 60 岁以上人员年收入为空。"}
    with clock.frozen(REPORTED):
        return quality.report(db_session, actor=c.operator, grant_id=grant_id, **(args | kw))


def step(db_session, actor, row: QualityReport, action: str, on: dt.date = ANSWERED,  # type: ignore[no-untyped-def]
         note: str = "说明") -> QualityReport:
    with clock.frozen(on):
        return quality.act(db_session, actor=actor, report_id=row.id, action=action, note=note)


@pytest.fixture
def setup(db_session, c, tmp: Path):  # type: ignore[no-untyped-def]
    w = world(db_session, c, tmp)
    return w, granted(db_session, c, w)


def test_report_answer_fix_confirm_with_working_day_response_times(db_session, c, setup) -> None:  # type: ignore[no-untyped-def]
    w, grant = setup
    row = new_report(db_session, c, grant.id)
    assert (row.state, row.provider_org_id, row.reported_on) == ("open", w.dataset.provider_org_id, REPORTED)
    step(db_session, c.industry, row, "answer", ANSWERED, "已核实，正在补录。")
    assert row.state == "answered" and row.response_workdays == 1
    step(db_session, c.industry, row, "fix", FIXED, "已补录并重新载入。")
    assert row.state == "fixed" and row.resolution_workdays == 4
    step(db_session, c.operator, row, "confirm", FIXED, "")
    assert row.state == "closed" and row.closed_at is not None
    tags = [e.tag for e in events(db_session, "opdomain:quality:report")] + [
        e.tag for t in ("answer", "fix", "confirm") for e in events(db_session, f"opdomain:quality:{t}")]
    assert tags == ["opdomain:quality:report", "opdomain:quality:answer", "opdomain:quality:fix",
                    "opdomain:quality:confirm"]
    [fix] = events(db_session, "opdomain:quality:fix")
    assert fix.changes == {"state": ["answered", "fixed"]} and fix.data["resolution_workdays"] == 4


def test_decline_then_reopen_keeps_the_first_response_time(db_session, c, setup) -> None:  # type: ignore[no-untyped-def]
    _, grant = setup
    row = new_report(db_session, c, grant.id, kind="wrong", columns=["age"])
    step(db_session, c.industry, row, "answer")
    step(db_session, c.industry, row, "decline", FIXED, "源系统口径如此，不属于错误。")
    assert row.state == "not_fixed" and row.resolution == "源系统口径如此，不属于错误。"
    step(db_session, c.operator, row, "reopen", FIXED, "与统计年鉴不一致，请再核。")
    assert (row.state, row.reopened) == ("open", 1)
    step(db_session, c.industry, row, "answer", dt.date(2025, 10, 20), "再次核实中。")
    assert row.response_workdays == 1  # the first answer's, not the second


# Every (state, action) pair outside the table is refused with 409 illegal_transition and changes nothing.
ALL_ACTIONS = ("answer", "fix", "decline", "confirm", "reopen")
PATHS = {"open": [], "answered": ["answer"], "fixed": ["answer", "fix"], "not_fixed": ["answer", "decline"],
         "closed": ["answer", "fix", "confirm"]}
ILLEGAL = [(s, a) for s in PATHS for a in ALL_ACTIONS if (s, a) not in quality.QUALITY.transitions]


@pytest.mark.parametrize(("state", "action"), ILLEGAL, ids=[f"{s}-{a}" for s, a in ILLEGAL])
def test_every_illegal_transition_is_a_409(db_session, c, setup, state: str, action: str) -> None:  # type: ignore[no-untyped-def]
    _, grant = setup
    row = new_report(db_session, c, grant.id)
    for a in PATHS[state]:
        step(db_session, c.operator if a in quality.OPERATOR_ACTIONS else c.industry, row, a)
    assert row.state == state
    actor = c.operator if action in quality.OPERATOR_ACTIONS else c.industry
    before = (row.version, len(events(db_session, f"opdomain:quality:{action}")))
    with pytest.raises(IllegalTransition) as e:
        step(db_session, actor, row, action)
    assert (e.value.status, e.value.code) == (409, "illegal_transition")
    assert row.state == state and (row.version, len(events(db_session, f"opdomain:quality:{action}"))) == before


def test_illegal_transitions_cover_every_state() -> None:
    assert len(ILLEGAL) == len(PATHS) * len(ALL_ACTIONS) - len(quality.QUALITY.transitions)
    assert {s for s, _ in quality.QUALITY.transitions} | {"closed"} == set(PATHS)


def test_each_side_takes_only_its_own_steps(db_session, c, setup) -> None:  # type: ignore[no-untyped-def]
    _, grant = setup
    row = new_report(db_session, c, grant.id)
    other_provider = actor_of(make_user(db_session, Role.INDUSTRY_DEPARTMENT))
    for who, action in ((c.operator, "answer"), (other_provider, "answer"), (c.agency, "answer")):
        with pytest.raises(PermissionDenied):
            step(db_session, who, row, action)
    step(db_session, c.industry, row, "answer")
    step(db_session, c.industry, row, "fix")
    other_operator = actor_of(make_user(db_session, Role.OPERATOR))
    for who in (c.industry, other_operator):
        with pytest.raises(PermissionDenied):
            step(db_session, who, row, "confirm")
    assert row.state == "fixed"


@pytest.mark.parametrize(("change", "field", "code"), [
    ({"table": "nosuch"}, "table", "unknown_table"),
    ({"columns": ["nosuch"]}, "columns", "unknown_column"),
    ({"kind": "bad"}, "kind", "bad_kind"),
    ({"description": "  "}, "description", "required"),
    ({"description": "长" * 4001}, "description", "too_long"),
])
def test_bad_reports_are_refused_at_the_field(db_session, c, setup, change: dict, field: str, code: str) -> None:  # type: ignore[no-untyped-def]
    _, grant = setup
    with pytest.raises(ValidationFailed) as e:
        new_report(db_session, c, grant.id, **change)
    assert [(x.field, x.code) for x in e.value.errors] == [(field, code)]
    assert not events(db_session, "opdomain:quality:report")


def test_answer_and_decline_need_a_note(db_session, c, setup) -> None:  # type: ignore[no-untyped-def]
    _, grant = setup
    row = new_report(db_session, c, grant.id)
    with pytest.raises(ValidationFailed) as e:
        step(db_session, c.industry, row, "answer", note=" ")
    assert e.value.errors[0].field == "note" and row.state == "open"


def test_only_a_live_grant_of_ones_own_allows_a_report(db_session, c, setup) -> None:  # type: ignore[no-untyped-def]
    _, grant = setup
    other_operator = actor_of(make_user(db_session, Role.OPERATOR))
    with pytest.raises(PermissionDenied):
        quality.report(db_session, actor=other_operator, grant_id=grant.id, table="population", columns=[],
                       kind="other", description="x")
    grants.revoke(db_session, actor=c.industry, grant_id=grant.id, reason="到期前收回")
    with pytest.raises(DomainError) as e:
        new_report(db_session, c, grant.id)
    assert e.value.code == "grant_inactive"


def test_response_times_per_dataset_and_provider_for_the_agency(db_session, c, setup) -> None:  # type: ignore[no-untyped-def]
    w, grant = setup
    a = new_report(db_session, c, grant.id)
    new_report(db_session, c, grant.id, kind="stale")  # never answered
    step(db_session, c.industry, a, "answer", FIXED)
    with clock.frozen(dt.date(2025, 10, 14)):
        stats = quality.response_times(db_session, actor=c.agency)
    [ds] = [s for s in stats["datasets"] if s.key == w.dataset.id]
    assert (ds.reports, ds.unanswered, ds.mean_response, ds.max_response, ds.oldest_waiting) == (2, 1, 4.0, 4, 5)
    [prov] = [s for s in stats["providers"] if s.key == w.dataset.provider_org_id]
    assert prov.reports == 2 and prov.unresolved == 2
    with pytest.raises(PermissionDenied):
        quality.response_times(db_session, actor=c.operator)


def test_quality_api_end_to_end_with_problem_codes(client, db_session, c, tmp: Path) -> None:  # type: ignore[no-untyped-def]
    w = world(db_session, c, tmp)
    grant = granted(db_session, c, w)
    db_session.commit()
    operator, industry, agency = (token_for(client, a.label) for a in (c.operator, c.industry, c.agency))
    body = {"grant_id": grant.id, "table": "population", "columns": ["age"], "kind": "wrong", "description": "年龄为负"}
    r = client.post("/api/v1/opdomain/quality", json=body | {"kind": "bad"}, headers=operator)
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert r.json()["errors"][0]["field"] == "kind"
    r = client.post("/api/v1/opdomain/quality", json=body, headers=operator)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    r = client.post(f"/api/v1/opdomain/quality/{rid}/confirm", json={"note": ""}, headers=operator)
    assert r.status_code == 409 and r.json()["code"] == "illegal_transition"
    r = client.post(f"/api/v1/opdomain/quality/{rid}/answer", json={"note": "已核实"}, headers=operator)
    assert r.status_code == 403
    r = client.post(f"/api/v1/opdomain/quality/{rid}/answer", json={"note": "已核实"}, headers=industry)
    assert r.status_code == 200 and r.json()["state"] == "answered" and r.json()["response_workdays"] == 0
    r = client.post(f"/api/v1/opdomain/quality/{rid}/nonsense", json={"note": "x"}, headers=industry)
    assert r.status_code == 422
    assert [x["id"] for x in client.get("/api/v1/opdomain/quality", headers=operator).json()] == [rid]
    r = client.get("/api/v1/opdomain/quality/response-times", headers=agency)
    assert r.status_code == 200 and r.json()["datasets"][0]["reports"] >= 1
    assert client.get("/api/v1/opdomain/quality/response-times", headers=operator).status_code == 403
