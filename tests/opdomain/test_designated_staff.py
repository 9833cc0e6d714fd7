"""Designated staff (OPS-25) through the API and the pages: the operator nominates its users, the agreement's
implementing agency approves, either withdraws; only approved staff may query; every step is one audit event
committed with it; illegal steps are refused with a code and change nothing; other organisations see nothing."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pubdata.audit import Actor
from pubdata.audit.models import AuditEvent
from pubdata.certificates.signing import SETTINGS_INFO
from pubdata.config import Settings
from pubdata.identity.access import actor_for
from pubdata.identity.roles import Role
from pubdata.identity.users import create_user
from pubdata.opdomain.models import DataGrant, DesignatedStaff
from pubdata.web.app import create_app
from tests.factories import PASSWORD, SYSTEM, actor_of, make_user
from tests.opdomain.platform_support import granted, world
from tests.web.conftest import csrf_from, web_login
from tests.web.test_api import PROBLEM, token_for

BY_COUNTY = "SELECT county_code, count(*) AS n FROM population GROUP BY county_code"
#: Rate limits out of the way and no answer pacing: these tests are about who may query, not how often.
FAST: dict[str, Any] = {"opdomain_answer_quantum_ms": 0, "opdomain_query_rate_per_minute": 6000,
                        "opdomain_query_burst": 1000, "opdomain_grant_rate_per_minute": 6000,
                        "opdomain_grant_burst": 1000}


@pytest.fixture
def app(session_maker: sessionmaker[Session], tmp_path: Path) -> FastAPI:
    return create_app(Settings(var_dir=tmp_path, secret_key="test-secret", **FAST), session_maker=session_maker)


def configure(db_session: Session, **settings: Any) -> None:
    """The settings the services read in the test's own session (brakes: rate limits, thresholds)."""
    db_session.info[SETTINGS_INFO] = dataclasses.replace(Settings(secret_key="test-secret"), **FAST, **settings)


def colleague_of(db_session: Session, actor: Actor, name: str = "王同事") -> Actor:
    """Another active user of the same organisation."""
    user = create_user(db_session, actor=SYSTEM, org_id=actor.org_id, username=f"colleague{actor.user_id}",
                       full_name=name, password=PASSWORD, is_org_admin=False)
    return actor_for(user)


def staff_events(db_session: Session, staff_id: int) -> list[str]:
    db_session.expire_all()
    return list(db_session.scalars(select(AuditEvent.tag).where(
        AuditEvent.object_type == "opdomain_designated_staff", AuditEvent.object_id == str(staff_id))
        .order_by(AuditEvent.id)))


def setup(db_session: Session, c: Any, tmp: Path) -> tuple[DataGrant, Actor]:
    configure(db_session)
    grant = granted(db_session, c, world(db_session, c, tmp))
    colleague = colleague_of(db_session, c.operator)
    db_session.commit()
    return grant, colleague


def ask(client: Any, headers: dict[str, str], grant_id: int, sql: str = BY_COUNTY) -> Any:
    return client.post(f"/api/v1/opdomain/grants/{grant_id}/queries", json={"sql": sql}, headers=headers)


def problem_of(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["code"] == code and body["detail"] and re.search(r"[\u4e00-\u9fff]", body["detail"]), body
    return body


def test_only_approved_staff_may_query(client, db_session, c, tmp: Path) -> None:  # type: ignore[no-untyped-def]
    grant, colleague = setup(db_session, c, tmp)
    operator, agency = token_for(client, c.operator.label), token_for(client, c.agency.label)
    other = token_for(client, colleague.label)

    problem_of(ask(client, other, grant.id), 403, "not_designated_staff")  # not even nominated
    r = client.post("/api/v1/opdomain/staff", json={"user_id": colleague.user_id, "duty": "数据分析"}, headers=operator)
    assert r.status_code == 201, r.text
    row = r.json()
    assert row["state"] == "nominated" and row["state_label"] == "已提名（待实施机构批准）"
    assert row["username"] == colleague.label and row["agency_org_id"] == c.agency.org_id
    problem_of(ask(client, other, grant.id), 403, "not_designated_staff")  # nominated is not approved

    r = client.post(f"/api/v1/opdomain/staff/{row['id']}/decision",
                    json={"action": "approve", "note": "同意", "version": row["version"]}, headers=agency)
    assert r.status_code == 200 and r.json()["state"] == "approved", r.text
    r = ask(client, other, grant.id)
    assert r.status_code == 200 and r.json()["rows"], r.text
    assert staff_events(db_session, row["id"]) == ["opdomain:staff:nominate", "opdomain:staff:approve"]
    listed = client.get("/api/v1/opdomain/staff?state=approved", headers=agency).json()
    assert row["id"] in [s["id"] for s in listed] and all(s["state"] == "approved" for s in listed)


def test_withdrawn_staff_can_no_longer_query(client, db_session, c, tmp: Path) -> None:  # type: ignore[no-untyped-def]
    grant, colleague = setup(db_session, c, tmp)
    operator, agency = token_for(client, c.operator.label), token_for(client, c.agency.label)
    other, own = token_for(client, colleague.label), c.operator
    nominated = client.post("/api/v1/opdomain/staff", json={"user_id": colleague.user_id, "duty": "统计"},
                            headers=operator).json()
    client.post(f"/api/v1/opdomain/staff/{nominated['id']}/decision", json={"action": "approve"}, headers=agency)
    assert ask(client, other, grant.id).status_code == 200

    # The operator withdraws its colleague, the agency withdraws the operator's own user: both stop at once.
    r = client.post(f"/api/v1/opdomain/staff/{nominated['id']}/decision",
                    json={"action": "withdraw", "note": "已调岗"}, headers=operator)
    assert r.status_code == 200 and r.json()["state"] == "withdrawn" and r.json()["decision_note"] == "已调岗"
    problem_of(ask(client, other, grant.id), 403, "not_designated_staff")
    mine = db_session.scalar(select(DesignatedStaff).where(DesignatedStaff.user_id == own.user_id))
    assert mine is not None and ask(client, operator, grant.id).status_code == 200
    r = client.post(f"/api/v1/opdomain/staff/{mine.id}/decision", json={"action": "withdraw", "note": "违规查询"},
                    headers=agency)
    assert r.status_code == 200 and r.json()["state"] == "withdrawn"
    problem_of(ask(client, operator, grant.id), 403, "not_designated_staff")
    assert staff_events(db_session, nominated["id"])[-1] == "opdomain:staff:withdraw"

    # Nominated again, it is a new record that needs a new approval.
    again = client.post("/api/v1/opdomain/staff", json={"user_id": colleague.user_id, "duty": "统计"}, headers=operator)
    assert again.status_code == 201 and again.json()["id"] != nominated["id"]
    problem_of(ask(client, other, grant.id), 403, "not_designated_staff")


def test_illegal_staff_steps_are_refused_with_a_code_and_change_nothing(  # type: ignore[no-untyped-def]
        client, db_session, c, tmp: Path) -> None:
    _, colleague = setup(db_session, c, tmp)
    operator, agency = token_for(client, c.operator.label), token_for(client, c.agency.label)
    row = client.post("/api/v1/opdomain/staff", json={"user_id": colleague.user_id, "duty": "分析"},
                      headers=operator).json()
    url = f"/api/v1/opdomain/staff/{row['id']}/decision"

    problem_of(client.post(url, json={"action": "approve"}, headers=operator), 403, "agency_only")
    body = problem_of(client.post("/api/v1/opdomain/staff", json={"user_id": colleague.user_id, "duty": "分析"},
                                  headers=operator), 422, "validation_failed")
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("user_id", "already_designated")]
    stranger = actor_of(make_user(db_session, Role.OPERATOR))
    db_session.commit()
    body = problem_of(client.post("/api/v1/opdomain/staff", json={"user_id": stranger.user_id, "duty": " "},
                                  headers=operator), 422, "validation_failed")
    assert {(e["field"], e["code"]) for e in body["errors"]} == {("user_id", "unknown_user"), ("duty", "required")}
    problem_of(client.post("/api/v1/opdomain/staff", json={"user_id": colleague.user_id, "duty": "分析"},
                           headers=agency), 403, "permission_denied")  # only an operator nominates
    problem_of(client.post(url, json={"action": "approve", "version": row["version"] + 1}, headers=agency),
               409, "stale_version")
    body = problem_of(client.post(url, json={"action": "dismiss"}, headers=agency), 422, "validation_failed")
    assert body["errors"][0]["field"].endswith("action")
    assert staff_events(db_session, row["id"]) == ["opdomain:staff:nominate"]  # nothing refused left a trace

    assert client.post(url, json={"action": "approve"}, headers=agency).status_code == 200
    problem_of(client.post(url, json={"action": "approve"}, headers=agency), 409, "illegal_transition")
    body = problem_of(client.post(url, json={"action": "withdraw", "note": ""}, headers=agency), 422,
                      "validation_failed")
    assert body["errors"][0]["field"] == "note" and body["errors"][0]["code"] == "required"
    assert client.post(url, json={"action": "withdraw", "note": "不再需要"}, headers=agency).status_code == 200
    problem_of(client.post(url, json={"action": "withdraw", "note": "再撤一次"}, headers=operator), 409,
               "illegal_transition")
    problem_of(client.post(url, json={"action": "approve"}, headers=agency), 409, "illegal_transition")
    assert staff_events(db_session, row["id"]) == ["opdomain:staff:nominate", "opdomain:staff:approve",
                                                   "opdomain:staff:withdraw"]


def test_another_agency_sees_no_such_staff_or_grant(client, db_session, c, tmp: Path) -> None:  # type: ignore[no-untyped-def]
    grant, colleague = setup(db_session, c, tmp)
    operator = token_for(client, c.operator.label)
    row = client.post("/api/v1/opdomain/staff", json={"user_id": colleague.user_id, "duty": "分析"},
                      headers=operator).json()
    other_agency = actor_of(make_user(db_session, Role.IMPLEMENTING_AGENCY))
    other_operator = actor_of(make_user(db_session, Role.OPERATOR))
    db_session.commit()
    for who in (other_agency, other_operator):
        h = token_for(client, who.label)
        problem_of(client.get(f"/api/v1/opdomain/staff/{row['id']}", headers=h), 404, "staff_not_found")
        problem_of(client.post(f"/api/v1/opdomain/staff/{row['id']}/decision",
                               json={"action": "withdraw", "note": "x"}, headers=h), 404, "staff_not_found")
        assert client.get("/api/v1/opdomain/staff", headers=h).json() == []
    h = token_for(client, other_agency.label)
    missing = problem_of(client.get("/api/v1/opdomain/audit/grants/999999", headers=h), 404, "grant_not_found")
    hidden = problem_of(client.get(f"/api/v1/opdomain/audit/grants/{grant.id}", headers=h), 404, "grant_not_found")
    assert missing["detail"] == hidden["detail"]  # another agency's grant looks like none at all
    problem_of(client.get(f"/api/v1/opdomain/audit/queries?grant_id={grant.id}", headers=h), 404, "grant_not_found")
    problem_of(client.post(f"/api/v1/opdomain/audit/grants/{grant.id}/resume", json={"reason": "x"}, headers=h),
               404, "grant_not_found")
    assert client.get("/api/v1/opdomain/audit/grants", headers=h).json()["items"] == []
    assert client.get("/api/v1/opdomain/audit/queries", headers=h).json()["total"] == 0
    assert client.get(f"/opdomain/audit/grants/{grant.id}", headers=h).status_code == 404
    assert staff_events(db_session, row["id"]) == ["opdomain:staff:nominate"]


# -- pages ------------------------------------------------------------------------------------------------------


def as_(client: Any, actor: Actor) -> str:
    client.cookies.clear()
    return web_login(client, actor.label, PASSWORD)


def test_operator_nominates_on_the_staff_page_and_the_agency_approves_there(  # type: ignore[no-untyped-def]
        client, db_session, c, tmp: Path) -> None:
    _, colleague = setup(db_session, c, tmp)
    token = as_(client, c.operator)
    index = client.get("/opdomain")
    assert 'href="/opdomain/staff"' in index.text and 'href="/opdomain/audit"' not in index.text
    page = client.get("/opdomain/staff")
    assert page.status_code == 200 and "提名指定人员" in page.text and f"（{colleague.label}）" in page.text
    assert "已批准" in page.text  # the operator's own user, approved by world()
    bad = client.post("/opdomain/staff", data={"csrf_token": token, "user_id": str(colleague.user_id), "duty": " "})
    assert bad.status_code == 422 and "请填写岗位与职责" in bad.text and "required" not in bad.text
    assert client.post("/opdomain/staff", data={"user_id": str(colleague.user_id), "duty": "分析"}).status_code == 403
    ok = client.post("/opdomain/staff", data={"csrf_token": token, "user_id": str(colleague.user_id),
                                              "duty": "县区收入统计"})
    assert ok.status_code == 303 and ok.headers["location"] == "/opdomain/staff?done=nominate"
    shown = client.get(ok.headers["location"]).text
    assert "已提名，待实施机构批准" in shown and "县区收入统计" in shown and "已提名（待实施机构批准）" in shown
    row = db_session.scalar(select(DesignatedStaff).where(DesignatedStaff.user_id == colleague.user_id))
    assert row is not None and row.state == "nominated"

    token = as_(client, c.agency)
    index = client.get("/opdomain")
    assert 'href="/opdomain/staff"' in index.text and 'href="/opdomain/audit"' in index.text
    page = client.get("/opdomain/staff")
    assert "待我批准的提名" in page.text and "县区收入统计" in page.text
    refused = client.post(f"/opdomain/staff/{row.id}", data={"csrf_token": token, "action": "withdraw", "note": ""})
    assert refused.status_code == 422 and "撤回须说明理由" in refused.text
    done = client.post(f"/opdomain/staff/{row.id}", data={"csrf_token": token, "action": "approve",
                                                          "version": str(row.version)})
    assert done.status_code == 303 and done.headers["location"] == "/opdomain/staff?done=approve"
    again = client.post(f"/opdomain/staff/{row.id}", data={"csrf_token": token, "action": "approve"})
    assert again.status_code == 409 and "当前状态“已批准”下不能执行“批准”" in again.text
    assert "illegal_transition" not in again.text
    db_session.expire_all()
    assert db_session.get(DesignatedStaff, row.id).state == "approved"  # type: ignore[union-attr]
    assert staff_events(db_session, row.id) == ["opdomain:staff:nominate", "opdomain:staff:approve"]
    assert client.get("/opdomain/staff").status_code == 200 and csrf_from(client.get("/opdomain/staff").text)
