"""Reclassifying a column and withdrawing a dataset (OPS-33, OPS-23): by the provider only, audited with before
and after; withdrawal stops every grant at once and refuses pending applications; nothing is deleted."""

from __future__ import annotations

from pathlib import Path

import pytest

from pubdata.errors import Conflict, DomainError, PermissionDenied, ValidationFailed
from pubdata.identity.roles import Role
from pubdata.opdomain import applications, datasets, queries
from pubdata.opdomain.models import DataApplication, DataGrant, OpDataset
from pubdata.opdomain.schema import Grade
from pubdata.opdomain.schema import Role as ColumnRole
from pubdata.workflow import IllegalTransition
from tests.factories import actor_of, make_user
from tests.opdomain.platform_support import apply, events, granted, world

BY_AGE = "SELECT age, count(*) AS n FROM population GROUP BY age"


def reclassify(db_session, c, ds_id: int, **kw):  # type: ignore[no-untyped-def]
    args = {"table": "population", "column": "age", "role": "sensitive", "grade": "important", "reason": "复核后调整"}
    return datasets.reclassify_column(db_session, actor=c.industry, dataset_id=ds_id, **(args | kw))


def test_reclassify_changes_the_role_and_is_audited_with_before_and_after(db_session, c, tmp: Path) -> None:
    w = world(db_session, c, tmp)
    reclassify(db_session, c, w.dataset.id)
    col = datasets.dataset_of(w.dataset).table("population").column("age")  # type: ignore[union-attr]
    assert (col.role, col.grade) == (ColumnRole.SENSITIVE, Grade.IMPORTANT)  # type: ignore[union-attr]
    [ev] = events(db_session, "opdomain:dataset:reclassify")
    assert ev.changes == {"population.age": [["quasi_identifier", "general"], ["sensitive", "important"]]}
    assert ev.data["reason"] == "复核后调整" and ev.object_id == str(w.dataset.id)


def test_the_next_query_is_checked_under_the_new_classification(db_session, c, tmp: Path) -> None:
    w = world(db_session, c, tmp)
    grant = granted(db_session, c, w)
    queries.run_query(db_session, actor=c.operator, grant_id=grant.id, sql=BY_AGE)
    reclassify(db_session, c, w.dataset.id, role="direct_identifier")  # age may no longer be a group key
    with pytest.raises(DomainError) as e:
        queries.run_query(db_session, actor=c.operator, grant_id=grant.id, sql=BY_AGE)
    assert e.value.code == "identifier_in_group_by"


def test_grading_a_granted_column_core_removes_it_from_every_grant(db_session, c, tmp: Path) -> None:
    w = world(db_session, c, tmp)
    grant = granted(db_session, c, w)
    assert "annual_income" in grant.columns["population"]
    reclassify(db_session, c, w.dataset.id, column="annual_income", role="sensitive", grade="core")
    db_session.refresh(grant)
    assert "annual_income" not in grant.columns["population"] and "age" in grant.columns["population"]
    [ev] = events(db_session, "opdomain:grant:narrow")
    assert ev.object_id == str(grant.id) and "annual_income" in ev.changes["columns"][0]["population"]
    with pytest.raises(DomainError) as e:
        queries.run_query(db_session, actor=c.operator, grant_id=grant.id,
                          sql="SELECT county_code, sum(annual_income) AS s FROM population GROUP BY county_code")
    assert e.value.code == "column_not_granted"
    queries.run_query(db_session, actor=c.operator, grant_id=grant.id, sql=BY_AGE)  # the rest still works


def test_a_column_graded_core_after_the_application_cannot_be_approved_but_the_rest_can(db_session, c,
                                                                                      tmp: Path) -> None:
    w = world(db_session, c, tmp)
    app = apply(db_session, c, w)
    reclassify(db_session, c, w.dataset.id, column="annual_income", role="sensitive", grade="core")
    with pytest.raises(ValidationFailed) as e:
        applications.decide(db_session, actor=c.industry, application_id=app.id, decision="approve")
    assert [(x.field, x.code) for x in e.value.errors] == [("population.annual_income", "core_data")]
    assert db_session.get(DataApplication, app.id).state == "submitted"  # type: ignore[union-attr]
    rest = {t: [col for col in cols if col != "annual_income"] for t, cols in app.requested.items()}
    grant = applications.decide(db_session, actor=c.industry, application_id=app.id, decision="approve_part",
                                columns=rest)
    assert grant is not None and "annual_income" not in grant.columns["population"]


@pytest.mark.parametrize(("change", "field", "code"), [
    ({"table": "nosuch"}, "table", "unknown_table"),
    ({"column": "nosuch"}, "column", "unknown_column"),
    ({"role": "secret"}, "role", "bad_role"),
    ({"grade": "top"}, "grade", "bad_grade"),
    ({"reason": "  "}, "reason", "required"),
    ({"role": "quasi_identifier", "grade": "general"}, "role", "no_change"),
    ({"table": "region", "column": "name", "role": "sensitive", "grade": "general"}, "role", "bad_classification"),
])
def test_bad_reclassification_is_refused_at_the_field_and_changes_nothing(
    db_session, c, tmp: Path, change: dict, field: str, code: str
) -> None:
    w = world(db_session, c, tmp)
    before = [dict(t) for t in w.dataset.tables]
    with pytest.raises(ValidationFailed) as e:
        reclassify(db_session, c, w.dataset.id, **change)
    assert (e.value.errors[0].field, e.value.errors[0].code) == (field, code)
    assert w.dataset.tables == before and not events(db_session, "opdomain:dataset:reclassify")


def test_only_the_providing_department_reclassifies_or_withdraws(db_session, c, tmp: Path) -> None:
    w = world(db_session, c, tmp)
    other = actor_of(make_user(db_session, Role.INDUSTRY_DEPARTMENT))
    for who in (c.operator, c.agency, other):
        with pytest.raises(PermissionDenied):
            datasets.reclassify_column(db_session, actor=who, dataset_id=w.dataset.id, table="population",
                                       column="age", role="sensitive", grade="general", reason="x")
        with pytest.raises(PermissionDenied):
            datasets.withdraw_dataset(db_session, actor=who, dataset_id=w.dataset.id, reason="x")
    assert w.dataset.state == "active"


def test_withdrawal_stops_every_grant_at_once_and_keeps_the_records(db_session, c, tmp: Path) -> None:
    w = world(db_session, c, tmp)
    first = granted(db_session, c, w)
    second = granted(db_session, c, w)
    pending = apply(db_session, c, w)
    datasets.withdraw_dataset(db_session, actor=c.industry, dataset_id=w.dataset.id, reason="源数据口径调整")
    db_session.flush()
    assert w.dataset.state == "withdrawn" and db_session.get(OpDataset, w.dataset.id) is not None
    assert (datasets.domain_dir() / w.dataset.file_name).is_file()
    for g in (first, second):
        assert db_session.get(DataGrant, g.id).revoked_at is not None  # type: ignore[union-attr]
        with pytest.raises(DomainError) as e:
            queries.run_query(db_session, actor=c.operator, grant_id=g.id, sql=BY_AGE)
        assert e.value.code in {"dataset_withdrawn", "grant_inactive"}
    assert db_session.get(DataApplication, pending.id).state == "refused"  # type: ignore[union-attr]
    [ev] = events(db_session, "opdomain:dataset:withdraw")
    assert ev.data["revoked_grants"] == [first.id, second.id] and ev.data["refused_applications"] == [pending.id]
    assert ev.changes == {"state": ["active", "withdrawn"]} and ev.data["reason"] == "源数据口径调整"
    assert {e.object_id for e in events(db_session, "opdomain:grant:revoke")} >= {str(first.id), str(second.id)}
    assert w.dataset.id not in [d.id for d in datasets.list_datasets(db_session)]


def test_a_withdrawn_dataset_cannot_be_withdrawn_again_reclassified_or_applied_for(db_session, c, tmp: Path) -> None:
    w = world(db_session, c, tmp)
    with pytest.raises(ValidationFailed) as e:
        datasets.withdraw_dataset(db_session, actor=c.industry, dataset_id=w.dataset.id, reason=" ")
    assert e.value.errors[0].code == "required" and w.dataset.state == "active"
    datasets.withdraw_dataset(db_session, actor=c.industry, dataset_id=w.dataset.id, reason="停止提供")
    with pytest.raises(IllegalTransition):
        datasets.withdraw_dataset(db_session, actor=c.industry, dataset_id=w.dataset.id, reason="再次")
    with pytest.raises(Conflict) as e2:
        reclassify(db_session, c, w.dataset.id)
    assert e2.value.code == "dataset_withdrawn"
    with pytest.raises(Conflict) as e3:
        apply(db_session, c, w)
    assert e3.value.code == "dataset_withdrawn"


def test_reclassify_and_withdraw_through_the_api(client, db_session, c, tmp: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.web.test_api import PROBLEM, token_for

    w = world(db_session, c, tmp)
    g = granted(db_session, c, w)
    db_session.commit()
    industry, operator = token_for(client, c.industry.label), token_for(client, c.operator.label)
    url = f"/api/v1/opdomain/datasets/{w.dataset.id}"
    body = {"table": "population", "column": "age", "role": "bogus", "grade": "general", "reason": "复核"}
    r = client.post(f"{url}/reclassify", json=body, headers=industry)
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM and r.json()["errors"][0]["code"] == "bad_role"
    assert client.post(f"{url}/reclassify", json=body | {"role": "sensitive"}, headers=operator).status_code == 403
    r = client.post(f"{url}/reclassify", json=body | {"role": "sensitive"}, headers=industry)
    assert r.status_code == 200 and r.json()["tables"][0]["columns"][5]["role"] == "sensitive"
    r = client.post(f"{url}/withdraw", json={"reason": "停止提供"}, headers=industry)
    assert r.status_code == 200 and r.json()["state"] == "withdrawn"
    r = client.post(f"{url}/withdraw", json={"reason": "再次"}, headers=industry)
    assert r.status_code == 409 and r.json()["code"] == "illegal_transition"
    r = client.post(f"/api/v1/opdomain/grants/{g.id}/queries", json={"sql": BY_AGE}, headers=operator)
    assert r.status_code in (403, 409) and r.json()["code"] in {"dataset_withdrawn", "grant_inactive"}
