"""Checked queries on the platform: grants, agreements and suspension enforced on every query; every query,
allowed or refused, an audit event without raw values."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from pubdata.db.base import utcnow
from pubdata.errors import DomainError, NotFound
from pubdata.identity.roles import Role
from pubdata.opdomain import grants, queries
from pubdata.operation import measures
from tests.factories import actor_of, make_user
from tests.opdomain.platform_support import events, granted, world

BY_COUNTY = "SELECT county_code, count(*) AS n, avg(annual_income) AS income FROM population GROUP BY county_code"


def refused(db_session, c, grant_id: int, sql: str) -> DomainError:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as e:
        queries.run_query(db_session, actor=c.operator, grant_id=grant_id, sql=sql)
    [event] = [ev for ev in events(db_session, "opdomain:query:refused") if ev.data["sql_sha256"]
               == queries.hashlib.sha256(sql.encode()).hexdigest()][-1:]
    assert event.data["code"] == e.value.code and event.object_id == str(grant_id)
    return e.value


def test_an_aggregate_runs_with_small_cells_marked(db_session, c, tmp: Path) -> None:
    grant = granted(db_session, c, world(db_session, c, tmp))
    out = queries.run_query(db_session, actor=c.operator, grant_id=grant.id, sql=BY_COUNTY)
    body = out.as_json()
    assert body["columns"] == ["county_code", "n", "income"]
    cells = [cell for row in body["rows"] for cell in row]
    hidden = [cell for cell in cells if cell["suppressed"]]
    assert hidden and all(cell["value"] is None and cell["reason_label"] for cell in hidden)
    assert any(not cell["suppressed"] for cell in cells)
    [event] = [e for e in events(db_session, "opdomain:query:run") if e.id == out.audit_event_id]
    assert event.data["outcome"] == "allowed" and event.data["suppressed_cells"] == len(hidden)
    assert event.data["cells"] == len(cells) and '"population"' in event.data["sql"]
    assert not any(isinstance(cell["value"], float) and str(cell["value"]) in json.dumps(event.data) for cell in cells)


def test_policy_refusals_are_audited_with_literals_masked(db_session, c, tmp: Path) -> None:
    grant = granted(db_session, c, world(db_session, c, tmp))
    assert refused(db_session, c, grant.id, "SELECT id_number FROM population").code == "column_not_granted"
    sql = "SELECT count(*) FROM population WHERE county_code = '620102' AND age = 37"
    assert refused(db_session, c, grant.id, sql.replace("count(*)", "age")).code == "row_level_output"
    event = events(db_session, "opdomain:query:refused")[-1]
    assert "620102" not in event.data["sql_masked"] and "37" not in event.data["sql_masked"]
    assert refused(db_session, c, grant.id, "SELECT 1; SELECT 2").code == "multiple_statements"


def test_revoked_and_expired_grants_stop_at_once(db_session, c, tmp: Path) -> None:
    w = world(db_session, c, tmp)
    grant = granted(db_session, c, w)
    queries.run_query(db_session, actor=c.operator, grant_id=grant.id, sql=BY_COUNTY)
    grants.revoke(db_session, actor=c.industry, grant_id=grant.id, reason="违反约定")
    assert refused(db_session, c, grant.id, BY_COUNTY).code == "grant_inactive"
    other = granted(db_session, c, w)
    other.expires_at = utcnow() - dt.timedelta(seconds=1)
    db_session.flush()
    assert refused(db_session, c, other.id, BY_COUNTY).code == "grant_inactive"


def test_a_suspended_operator_cannot_query(db_session, c, tmp: Path) -> None:
    w = world(db_session, c, tmp)
    grant = granted(db_session, c, w)
    measures.suspend(db_session, actor=c.agency, agreement_id=w.agreement.id, facts="未按要求整改数据安全问题")
    assert refused(db_session, c, grant.id, BY_COUNTY).code == "operator_suspended"


def test_an_ended_agreement_stops_queries(db_session, c, tmp: Path) -> None:
    w = world(db_session, c, tmp)
    grant = granted(db_session, c, w)
    w.agreement.state = "terminated"
    db_session.flush()
    assert refused(db_session, c, grant.id, BY_COUNTY).code == "no_active_agreement"


def test_only_the_grantee_queries(db_session, c, tmp: Path) -> None:
    grant = granted(db_session, c, world(db_session, c, tmp))
    stranger = actor_of(make_user(db_session, Role.OPERATOR))
    with pytest.raises(NotFound):  # another organisation's grant looks like none at all
        queries.run_query(db_session, actor=stranger, grant_id=grant.id, sql=BY_COUNTY)
    assert events(db_session, "opdomain:query:refused")[-1].actor_org_id == stranger.org_id
