"""Measures against institutions (REG-42) and evaluations of their service (REG-39), by the authority of the
institution's region only; 取消资格 revokes the institution role at once."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from pubdata import clock
from pubdata.audit.service import history
from pubdata.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from pubdata.identity.access import actor_for
from pubdata.identity.models import User
from pubdata.registry import applications as svc
from pubdata.supervision import measures
from pubdata.supervision.models import Measure
from tests.registry.support import submitted_first
from tests.supervision.support import authority, institution, subject_in, token


def test_interview_is_recorded_and_audited(db_session):
    clerk = institution(db_session, "620100")
    province = authority(db_session, "620000")
    with clock.frozen(dt.date(2026, 11, 2)):
        m = measures.record_measure(db_session, actor=province, institution_org_id=clerk.org_id, kind="interview",
                                    grounds=["improper_performance"], facts="多件申请逾期受理",
                                    rectification_due=dt.date(2026, 12, 1))
    assert (m.kind, m.measure_date, m.role_revoked) == ("interview", dt.date(2026, 11, 2), False)
    [event] = history(db_session, object_type="supervision_measure", object_id=m.id)
    assert event.tag == "supervision:measure:recorded" and event.data["facts"] == "多件申请逾期受理"
    assert "supervision:institution:measure_taken" in [
        e.tag for e in history(db_session, object_type="organisation", object_id=clerk.org_id)]
    assert [x.id for x in measures.list_measures(db_session, actor=province)] == [m.id]


def test_bad_measure_input_is_reported_per_field(db_session):
    clerk = institution(db_session, "620100")
    province = authority(db_session, "620000")
    with pytest.raises(ValidationFailed) as exc, clock.frozen(dt.date(2026, 11, 2)):
        measures.record_measure(db_session, actor=province, institution_org_id=clerk.org_id, kind="fine",
                                grounds=["speeding"], facts=" ", rectification_due=dt.date(2026, 1, 1),
                                attachments=["ab" * 32])
    got = {(e.field, e.code) for e in exc.value.errors}
    assert got == {("kind", "unknown_kind"), ("grounds.0", "unknown_ground"), ("facts", "required"),
                   ("rectification_due", "before_measure"), ("attachments.0", "file_not_found")}
    assert all(e.message for e in exc.value.errors)


def test_only_the_authority_of_the_region_takes_measures(db_session):
    lanzhou = institution(db_session, "620100")
    city_of_jiayuguan = authority(db_session, "620200")
    with pytest.raises(PermissionDenied) as exc:
        measures.record_measure(db_session, actor=city_of_jiayuguan, institution_org_id=lanzhou.org_id,
                                kind="interview", grounds=["other"], facts="x")
    assert exc.value.code == "out_of_region"
    other_clerk = institution(db_session, "620100")
    with pytest.raises(PermissionDenied):
        measures.record_measure(db_session, actor=other_clerk, institution_org_id=lanzhou.org_id,
                                kind="interview", grounds=["other"], facts="x")
    subject = subject_in(db_session)
    with pytest.raises(NotFound) as not_inst:
        measures.record_measure(db_session, actor=authority(db_session), institution_org_id=subject.org_id,
                                kind="interview", grounds=["other"], facts="x")
    assert not_inst.value.code == "institution_not_found"


def test_disqualification_revokes_the_institution_role(db_session, tmp_path):
    clerk = institution(db_session, "620100")
    city = authority(db_session, "620100")
    app = submitted_first(db_session, subject_in(db_session), tmp_path)
    m = measures.record_measure(db_session, actor=city, institution_org_id=clerk.org_id, kind="disqualification",
                                grounds=["false_registration", "tampering"], facts="伪造登记材料并篡改凭证")
    assert m.role_revoked
    tags = [e.tag for e in history(db_session, object_type="organisation", object_id=clerk.org_id)]
    assert "identity:organisation:role_revoked" in tags
    user = db_session.scalars(select(User).where(User.id == clerk.user_id)).one()
    db_session.refresh(user.organisation, ["roles"])
    after = actor_for(user)
    assert not after.can("org.verify")
    with pytest.raises(PermissionDenied):
        svc.accept(db_session, actor=after, application_id=app.id)
    with pytest.raises(Conflict) as again:
        measures.record_measure(db_session, actor=city, institution_org_id=clerk.org_id, kind="disqualification",
                                grounds=["other"], facts="再次")
    assert again.value.code == "already_disqualified"
    # The past measure stays visible, and an interview about the past is still possible.
    measures.record_measure(db_session, actor=city, institution_org_id=clerk.org_id, kind="interview",
                            grounds=["other"], facts="约谈原负责人")
    assert len(db_session.scalars(select(Measure).where(Measure.institution_org_id == clerk.org_id)).all()) == 2


def test_evaluation_keeps_the_platform_figures(db_session, tmp_path):
    clerk = institution(db_session, "620100")
    province = authority(db_session, "620000")
    with clock.frozen(dt.date(2026, 9, 22)):
        app = submitted_first(db_session, subject_in(db_session), tmp_path)
    with clock.frozen(dt.date(2026, 9, 30)):
        svc.accept(db_session, actor=clerk, application_id=app.id)
    with clock.frozen(dt.date(2026, 12, 31)):
        ev = measures.record_evaluation(db_session, actor=province, institution_org_id=clerk.org_id,
                                        period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 12, 31),
                                        grade="pass", score=72, comments="受理有逾期，需改进")
        with pytest.raises(ValidationFailed) as exc:
            measures.record_evaluation(db_session, actor=province, institution_org_id=clerk.org_id,
                                       period_start=dt.date(2027, 1, 1), period_end=dt.date(2027, 3, 31),
                                       grade="superb", score=101, comments="")
    assert ev.metrics["decided"] == 1 and ev.metrics["late"] == 1 and ev.metrics["received"] == 1
    assert {(e.field, e.code) for e in exc.value.errors} == {
        ("grade", "unknown_grade"), ("score", "out_of_range"), ("comments", "required"),
        ("period_end", "period_in_future")}
    assert [e.id for e in measures.list_evaluations(db_session, actor=province)] == [ev.id]


def test_measures_over_the_api(client, db_session):
    clerk = institution(db_session, "620100", username="apiclerk")
    authority(db_session, "620000", username="provauth")
    db_session.commit()
    url = f"/api/v1/supervision/institutions/{clerk.org_id}/measures"
    body = {"kind": "onsite_guidance", "grounds": ["improper_performance"], "facts": "现场指导受理流程"}
    assert client.post(url, json=body, headers=token(client, "apiclerk")).status_code == 403
    r = client.post(url, json=body, headers=token(client, "provauth"))
    assert r.status_code == 201, r.text
    assert r.json()["kind_label"] == "现场指导"
    r = client.post(url, json={**body, "kind": "", "grounds": []}, headers=token(client, "provauth"))
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"kind", "grounds"}
