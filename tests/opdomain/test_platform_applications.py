"""Data applications (OPS-23): active agreement, least-necessary flags, approve / partly approve / refuse, grants."""

from __future__ import annotations

from pathlib import Path

import pytest

from pubdata.errors import Conflict, PermissionDenied, ValidationFailed
from pubdata.identity.roles import Role
from pubdata.opdomain import applications, grants
from pubdata.workflow import IllegalTransition
from tests.factories import actor_of, make_user
from tests.opdomain.platform_support import apply, events, load, world
from tests.operation.support import resource


def test_flags_what_is_not_least_necessary(db_session, c, tmp: Path) -> None:
    w = world(db_session, c, tmp)
    app = apply(db_session, c, w, columns={"population": ["id_number", "county_code", "household_size"]},
                product="未约定的产品")
    flags = {(f["code"], f["target"]) for f in app.flags}
    assert flags == {
        ("direct_identifier", "population.id_number"), ("important_data", "population.id_number"),
        ("no_stated_need", "population.id_number"), ("no_stated_need", "population.household_size"),
        ("product_not_in_agreement", "未约定的产品"),
    }
    assert app.state == "submitted"
    assert events(db_session, "opdomain:application:submit")[-1].data["flags"]


def test_a_justified_application_flags_only_important_data(db_session, c, tmp: Path) -> None:
    app = apply(db_session, c, world(db_session, c, tmp))
    assert app.flags == [{"code": "important_data", "target": "population.annual_income",
                          "message": applications.FLAG_LABELS["important_data"]}]


def test_core_data_and_bad_periods_are_refused(db_session, c, tmp: Path) -> None:
    w = world(db_session, c, tmp)
    with pytest.raises(ValidationFailed) as e:
        apply(db_session, c, w, columns={"population": ["classified_flag"]},
              period_end=w.agreement.end_date.replace(year=w.agreement.end_date.year + 1), purpose=" ")
    assert {err.code for err in e.value.errors} == {"core_data", "beyond_agreement", "required"}


def test_needs_an_active_agreement(db_session, c, tmp: Path) -> None:
    w = world(db_session, c, tmp)
    stranger = actor_of(make_user(db_session, Role.OPERATOR))
    with pytest.raises(PermissionDenied) as e:
        apply(db_session, type(c)(**{**c.__dict__, "operator": stranger}), w)
    assert e.value.code == "no_active_agreement"


def test_partial_approval_grants_a_subset_until_the_period_ends(db_session, c, tmp: Path) -> None:
    w = world(db_session, c, tmp)
    app = apply(db_session, c, w)
    with pytest.raises(ValidationFailed) as e:
        applications.decide(db_session, actor=c.industry, application_id=app.id, decision="approve_part",
                            columns={"population": ["county_code", "mobile"]})
    assert e.value.errors[0].code == "not_subset"
    grant = applications.decide(db_session, actor=c.industry, application_id=app.id, decision="approve_part",
                                columns={"population": ["county_code", "age"]}, note="收入数据不予提供")
    assert grant is not None and grant.columns == {"population": ["age", "county_code"]}
    assert app.state == "partly_approved"
    assert grant.expires_at.date() == app.period_end  # midnight Asia/Shanghai is 16:00 UTC the same day
    assert grants.engine_grant(db_session, grant).permitted("population").keys() == {"age", "county_code"}
    with pytest.raises(IllegalTransition):
        applications.decide(db_session, actor=c.industry, application_id=app.id, decision="approve")
    assert events(db_session, "opdomain:application:approve_part")[-1].data["grant_id"] == grant.id


def test_refusal_needs_reasons_and_gives_no_grant(db_session, c, tmp: Path) -> None:
    app = apply(db_session, c, world(db_session, c, tmp))
    with pytest.raises(ValidationFailed):
        applications.decide(db_session, actor=c.industry, application_id=app.id, decision="refuse")
    assert applications.decide(db_session, actor=c.industry, application_id=app.id, decision="refuse",
                               note="用途不明确") is None
    assert app.state == "refused"


def test_outside_the_agreement_scope_cannot_be_approved(db_session, c, tmp: Path) -> None:
    w = world(db_session, c, tmp)
    other = load(db_session, c, resource(db_session, c, tmp, "不在协议范围的数据"), tmp)
    app = apply(db_session, c, type(w)(w.agreement, other))
    assert "outside_scope" in {f["code"] for f in app.flags}
    with pytest.raises(Conflict) as e:
        applications.decide(db_session, actor=c.industry, application_id=app.id, decision="approve")
    assert e.value.code == "outside_agreement_scope"


def test_only_the_providing_department_decides(db_session, c, tmp: Path) -> None:
    app = apply(db_session, c, world(db_session, c, tmp))
    other = actor_of(make_user(db_session, Role.INDUSTRY_DEPARTMENT))
    with pytest.raises(PermissionDenied):
        applications.decide(db_session, actor=other, application_id=app.id, decision="approve")
    with pytest.raises(PermissionDenied):
        applications.decide(db_session, actor=c.operator, application_id=app.id, decision="approve")


def test_revoke_is_recorded_once(db_session, c, tmp: Path) -> None:
    app = apply(db_session, c, world(db_session, c, tmp))
    grant = applications.decide(db_session, actor=c.industry, application_id=app.id, decision="approve")
    assert grant is not None
    db_session.flush()
    with pytest.raises(ValidationFailed):
        grants.revoke(db_session, actor=c.industry, grant_id=grant.id, reason="")
    grants.revoke(db_session, actor=c.industry, grant_id=grant.id, reason="运营机构违反约定")
    with pytest.raises(Conflict):
        grants.revoke(db_session, actor=c.industry, grant_id=grant.id, reason="再次")
    assert events(db_session, "opdomain:grant:revoke")[-1].object_id == str(grant.id)
