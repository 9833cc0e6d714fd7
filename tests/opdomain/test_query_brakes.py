"""Brakes on the SQL console (OPS-25, OPS-33): rate limits per user and per grant, counters of every outcome,
an alert to the implementing agency and, past a second threshold, the grant's suspension until the agency
resumes it; failures that say nothing; answers that carry no timing."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from pubdata.certificates.signing import SETTINGS_INFO
from pubdata.config import Settings
from pubdata.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from pubdata.identity.access import actor_for
from pubdata.identity.roles import Role
from pubdata.identity.users import create_user
from pubdata.opdomain import brakes, grants, pacing, queries
from pubdata.opdomain.engine import DomainEngine, QueryFailed
from pubdata.opdomain.models import GrantSuspension, QueryAlert
from tests.factories import PASSWORD, SYSTEM, actor_of, make_user
from tests.opdomain.platform_support import designate, events, granted, world
from tests.web.test_api import PROBLEM, token_for

OK = "SELECT county_code, count(*) AS n FROM population GROUP BY county_code"
REFUSED = "SELECT id_number FROM population"


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    at = Clock()
    monkeypatch.setattr(brakes, "now", at)
    return at


def configure(db_session, **limits: int) -> None:  # type: ignore[no-untyped-def]
    base = Settings(secret_key="test-secret")
    db_session.info[SETTINGS_INFO] = dataclasses.replace(base, **limits)


def query(db_session, actor, grant_id: int, sql: str = OK) -> DomainError | None:  # type: ignore[no-untyped-def]
    try:
        queries.run_query(db_session, actor=actor, grant_id=grant_id, sql=sql)
    except DomainError as e:
        return e
    return None


def colleague_of(db_session, actor):  # type: ignore[no-untyped-def]
    """Another user of the same organisation."""
    user = create_user(db_session, actor=SYSTEM, org_id=actor.org_id, username=f"colleague{actor.user_id}",
                       full_name="同事", password=PASSWORD, is_org_admin=False)
    return actor_for(user)


def counts(db_session, grant_id: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return brakes.counters(db_session, [grant_id])[grant_id]


def test_a_user_past_the_rate_limit_is_answered_429_and_nothing_runs(db_session, c, tmp: Path, clock: Clock) -> None:
    configure(db_session, opdomain_query_rate_per_minute=60, opdomain_query_burst=2)
    grant = granted(db_session, c, world(db_session, c, tmp))
    assert query(db_session, c.operator, grant.id) is None
    assert query(db_session, c.operator, grant.id) is None
    runs = len(events(db_session, "opdomain:query:run"))
    err = query(db_session, c.operator, grant.id)
    assert isinstance(err, brakes.RateLimited) and err.status == 429 and err.code == "query_rate_limited"
    assert err.retry_after >= 1 and "秒后再试" in err.detail
    assert len(events(db_session, "opdomain:query:run")) == runs  # nothing ran, nothing stored
    assert events(db_session, "opdomain:query:refused")[-1].data["outcome"] == "throttled"
    clock.t += 1.01  # one interval later one more query is allowed
    assert query(db_session, c.operator, grant.id) is None
    assert counts(db_session, grant.id) | {"window_bad": 0} == {
        "allowed": 3, "refused": 0, "failed": 0, "throttled": 1, "window_bad": 0}


def test_the_grant_limit_holds_for_all_the_operators_staff_together(db_session, c, tmp: Path, clock: Clock) -> None:
    configure(db_session, opdomain_query_burst=10, opdomain_grant_rate_per_minute=60, opdomain_grant_burst=3)
    grant = granted(db_session, c, world(db_session, c, tmp))
    colleague = colleague_of(db_session, c.operator)
    designate(db_session, colleague, c.agency)
    assert query(db_session, c.operator, grant.id) is None
    assert query(db_session, c.operator, grant.id) is None
    assert query(db_session, colleague, grant.id) is None
    assert isinstance(query(db_session, colleague, grant.id), brakes.RateLimited)
    assert isinstance(query(db_session, c.operator, grant.id), brakes.RateLimited)


def test_concurrent_queries_admitted_together_are_held_to_the_limit_when_they_settle(
        db_session, c, tmp: Path, clock: Clock) -> None:
    grant = granted(db_session, c, world(db_session, c, tmp))
    limits = brakes.Limits(user_interval=60, user_tolerance=0, grant_interval=1, grant_tolerance=100, window=3600,
                           alert_threshold=0, suspend_threshold=0)
    first, second = (brakes.Brake(db_session, grant, c.operator, limits) for _ in range(2))
    first.admit()
    second.admit()  # both read the same state before either ran
    first.settle("allowed")
    with pytest.raises(brakes.RateLimited):
        second.settle("allowed")  # its result is withheld
    assert second.settled == "throttled" and counts(db_session, grant.id)["throttled"] == 1


def test_bad_queries_past_the_first_threshold_alert_the_agency_once(db_session, c, tmp: Path, clock: Clock) -> None:
    configure(db_session, opdomain_alert_threshold=3, opdomain_suspend_threshold=6)
    grant = granted(db_session, c, world(db_session, c, tmp))
    for _ in range(2):
        assert query(db_session, c.operator, grant.id, REFUSED).code == "column_not_granted"  # type: ignore[union-attr]
    assert not db_session.scalars(select(QueryAlert)).all()
    for _ in range(2):
        query(db_session, c.operator, grant.id, REFUSED)
    [alert] = db_session.scalars(select(QueryAlert)).all()
    assert alert.level == "alert" and alert.window_bad == 3 and alert.agency_org_id == c.agency.org_id
    [event] = events(db_session, "opdomain:grant:alert")
    assert event.object_id == str(grant.id) and event.data["level"] == "alert"
    assert grants.active_suspension(db_session, grant.id) is None
    assert query(db_session, c.operator, grant.id) is None  # an alert does not stop the operator


def test_past_the_second_threshold_the_grant_is_held_until_its_agency_resumes_it(
        db_session, c, tmp: Path, clock: Clock) -> None:
    configure(db_session, opdomain_alert_threshold=2, opdomain_suspend_threshold=4)
    grant = granted(db_session, c, world(db_session, c, tmp))
    for _ in range(4):
        query(db_session, c.operator, grant.id, REFUSED)
    held = grants.active_suspension(db_session, grant.id)
    assert held is not None and "暂停" in held.facts
    assert [a.level for a in db_session.scalars(select(QueryAlert).order_by(QueryAlert.id))] == ["alert", "suspension"]
    assert [e.data["suspension_id"] for e in events(db_session, "opdomain:grant:suspend")] == [held.id]
    err = query(db_session, c.operator, grant.id)
    assert isinstance(err, PermissionDenied) and err.code == "grant_suspended"
    with pytest.raises(ValidationFailed) as blank:
        grants.resume(db_session, actor=c.agency, grant_id=grant.id, reason="  ")
    assert blank.value.errors[0].field == "reason"
    with pytest.raises(PermissionDenied):
        grants.resume(db_session, actor=c.operator, grant_id=grant.id, reason="我们自己审查过了")
    other_agency = actor_of(make_user(db_session, Role.IMPLEMENTING_AGENCY))
    with pytest.raises(NotFound):
        grants.resume(db_session, actor=other_agency, grant_id=grant.id, reason="不是我的授权")
    grants.resume(db_session, actor=c.agency, grant_id=grant.id, reason="经核查为调试 SQL 所致，已约谈运营机构。")
    assert db_session.get(GrantSuspension, held.id).state == "lifted"  # type: ignore[union-attr]
    assert events(db_session, "opdomain:grant:resume")[-1].data["reason"].startswith("经核查")
    assert query(db_session, c.operator, grant.id) is None
    query(db_session, c.operator, grant.id, REFUSED)
    assert grants.active_suspension(db_session, grant.id) is None  # the window started again at the resumption
    with pytest.raises(DomainError) as again:
        grants.resume(db_session, actor=c.agency, grant_id=grant.id, reason="再次恢复")
    assert again.value.code == "grant_not_suspended"


def test_the_threshold_window_starts_again_when_it_has_passed(db_session, c, tmp: Path, clock: Clock) -> None:
    configure(db_session, opdomain_alert_threshold=3, opdomain_brake_window_seconds=60)
    grant = granted(db_session, c, world(db_session, c, tmp))
    for _ in range(2):
        query(db_session, c.operator, grant.id, REFUSED)
    clock.t += 61
    for _ in range(2):
        query(db_session, c.operator, grant.id, REFUSED)
    assert not db_session.scalars(select(QueryAlert)).all()
    assert counts(db_session, grant.id)["refused"] == 4 and counts(db_session, grant.id)["window_bad"] == 2


@pytest.mark.parametrize("cause", ["query_timeout", "query_memory", "too_many_groups", "query_error", "defect"])
def test_every_failure_reaches_the_operator_as_one_indistinguishable_refusal(
        db_session, c, tmp: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch, cause: str) -> None:
    grant = granted(db_session, c, world(db_session, c, tmp))

    def fail(self, sql, grant, *, now):  # type: ignore[no-untyped-def]
        if cause == "defect":
            raise RuntimeError("Conversion Error: could not convert '李四' to INT32")
        raise QueryFailed("查询超过 30 秒时限，已中止。", code=cause, cause=cause)

    monkeypatch.setattr(DomainEngine, "run", fail)
    err = query(db_session, c.operator, grant.id)
    assert isinstance(err, QueryFailed) and err.status == 422
    assert (err.code, err.detail) == ("query_failed", queries.FAILED_DETAIL)
    event = events(db_session, "opdomain:query:refused")[-1]
    assert event.data["outcome"] == "failed" and event.data["code"] == "query_failed"
    assert event.data["cause"] == ("internal_error" if cause == "defect" else cause)
    assert "李四" not in str(event.data)
    assert counts(db_session, grant.id)["failed"] == 1


def test_the_answer_carries_no_timing(db_session, c, tmp: Path, clock: Clock) -> None:
    grant = granted(db_session, c, world(db_session, c, tmp))
    out = queries.run_query(db_session, actor=c.operator, grant_id=grant.id, sql=OK)
    body = out.as_json()
    assert not any("elapsed" in key or "ms" in key.split("_") for key in body)
    assert "elapsed_ms" in events(db_session, "opdomain:query:run")[-1].data  # the agency's, in the audit


@given(elapsed=st.floats(min_value=0, max_value=120, allow_nan=False), quantum=st.sampled_from([0.05, 0.25, 1.0]))
def test_a_paced_answer_leaves_on_a_multiple_of_the_quantum_and_never_before_one(
        elapsed: float, quantum: float) -> None:
    wait = pacing.delay(elapsed, quantum)
    total = elapsed + wait
    assert wait >= -1e-9 and total >= quantum - 1e-9
    assert abs(total / quantum - round(total / quantum)) < 1e-6
    assert wait < quantum + 1e-9  # never more than one quantum of padding beyond the work


def test_pacing_off_adds_nothing() -> None:
    assert pacing.delay(0.3, 0) == 0.0


def test_an_undesignated_user_of_the_operator_is_refused_and_counted(db_session, c, tmp: Path, clock: Clock) -> None:
    grant = granted(db_session, c, world(db_session, c, tmp))
    colleague = colleague_of(db_session, c.operator)
    err = query(db_session, colleague, grant.id)
    assert isinstance(err, PermissionDenied) and err.code == "not_designated_staff"
    assert counts(db_session, grant.id)["refused"] == 1


def test_another_organisations_attempts_touch_no_counter_of_the_grant(db_session, c, tmp: Path, clock: Clock) -> None:
    grant = granted(db_session, c, world(db_session, c, tmp))
    stranger = actor_of(make_user(db_session, Role.OPERATOR))
    for _ in range(3):
        err = query(db_session, stranger, grant.id)
        assert isinstance(err, NotFound)
    assert brakes.counters(db_session, [grant.id]) == {}


def _api_grant(client, db_session, c, tmp: Path) -> tuple[int, dict[str, str]]:  # type: ignore[no-untyped-def]
    grant = granted(db_session, c, world(db_session, c, tmp))
    db_session.commit()
    return grant.id, token_for(client, c.operator.label)


def test_3000_nested_parentheses_are_a_refusal_not_a_500(client, db_session, c, tmp: Path) -> None:
    grant_id, operator = _api_grant(client, db_session, c, tmp)
    deep = "SELECT count(*) FROM population WHERE " + "(" * 3000 + "age > 1" + ")" * 3000
    r = client.post(f"/api/v1/opdomain/grants/{grant_id}/queries", json={"sql": deep}, headers=operator)
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert r.json()["code"] in {"too_deep", "too_complex"} and r.json()["detail"]
    assert events(db_session, "opdomain:query:refused")[-1].data["code"] == r.json()["code"]


def test_a_failure_over_the_api_is_one_problem_without_duckdbs_text(
        client, db_session, c, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    grant_id, operator = _api_grant(client, db_session, c, tmp)

    def fail(self, sql, grant, *, now):  # type: ignore[no-untyped-def]
        raise QueryFailed("查询执行出错。", code="query_error",
                          internal="Conversion Error: Could not convert string '张三' to INT32")

    monkeypatch.setattr(DomainEngine, "run", fail)
    r = client.post(f"/api/v1/opdomain/grants/{grant_id}/queries", json={"sql": OK}, headers=operator)
    assert r.status_code == 422 and r.json()["code"] == "query_failed"
    assert r.json()["detail"] == queries.FAILED_DETAIL and "张三" not in r.text and "Conversion" not in r.text


def test_a_throttled_answer_says_when_to_come_back(client, db_session, c, tmp: Path, clock: Clock) -> None:
    grant_id, operator = _api_grant(client, db_session, c, tmp)
    client.app.state.settings = dataclasses.replace(client.app.state.settings, opdomain_query_burst=1,
                                                    opdomain_query_rate_per_minute=6)
    r = client.post(f"/api/v1/opdomain/grants/{grant_id}/queries", json={"sql": OK}, headers=operator)
    assert r.status_code == 200 and "elapsed_ms" not in r.json()
    r = client.post(f"/api/v1/opdomain/grants/{grant_id}/queries", json={"sql": OK}, headers=operator)
    assert r.status_code == 429 and r.json()["code"] == "query_rate_limited"
    assert int(r.headers["Retry-After"]) == 10


def test_every_answer_is_paced_to_the_quantum(client, db_session, c, tmp: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    grant_id, operator = _api_grant(client, db_session, c, tmp)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(pacing.asyncio, "sleep", sleep)
    for sql in (OK, REFUSED):
        client.post(f"/api/v1/opdomain/grants/{grant_id}/queries", json={"sql": sql}, headers=operator)
    assert len(waits) == 2 and all(0 < w <= 0.25 for w in waits)  # allowed and refused alike
