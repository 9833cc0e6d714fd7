"""Objections during public notice (REG-31/32) and after registration (REG-33), and revocation."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest

from pubdata import clock
from pubdata.audit import Actor
from pubdata.db.session import session_factory
from pubdata.db.testing import scratch_engine
from pubdata.errors import Conflict, NotAuthenticated, PermissionDenied, ValidationFailed
from pubdata.identity.roles import Role
from pubdata.objections import service as svc
from pubdata.registry import applications as apps
from pubdata.registry.public_notices import blocking_reason
from pubdata.workflow import IllegalTransition
from tests.concurrency import race
from tests.factories import actor_of, make_user
from tests.registry.support import registered, submitted_first, upload

ID_NUMBER = "11010519491231002X"  # GB 11643 sample with a valid check digit


@pytest.fixture
def objector(db_session):  # type: ignore[no-untyped-def]
    return actor_of(make_user(db_session, Role.REGISTRATION_SUBJECT))


def in_notice(db, subject, clerk, tmp):  # type: ignore[no-untyped-def]
    app = submitted_first(db, subject, tmp)
    apps.accept(db, actor=clerk, application_id=app.id)
    apps.pass_review(db, actor=clerk, application_id=app.id)
    return app


def objection(db, objector, tmp, registration_id, **kw):  # type: ignore[no-untyped-def]
    args = {"claim": "ownership", "grounds": "该数据由我单位采集并持有。", "evidence": [upload(db, objector, tmp, "权属证明")]}
    args.update(kw)
    return svc.raise_objection(db, actor=objector, registration_id=registration_id, **args)


def test_reg32_objection_in_notice_blocks_certification_and_upheld_refuses(db_session, subject, clerk, objector, tmp):
    app = in_notice(db_session, subject, clerk, tmp)
    obj = objection(db_session, objector, tmp, app.registration_id)
    assert obj.phase == "notice" and obj.application_id == app.id
    assert "异议" in blocking_reason(db_session, app)
    svc.record_appraisal(db_session, actor=clerk, objection_id=obj.id, appraiser="甘肃可信存证技术服务有限公司",
                         conclusion="存证摘要显示数据最早由异议人采集。")
    svc.decide(db_session, actor=clerk, objection_id=obj.id, action="uphold", reasons="权属争议成立")
    assert (obj.state, app.state, app.refusal_ground) == ("upheld", "refused", "ownership_dispute")
    notices = svc.notices_of(db_session, obj.id)
    assert {n.addressee for n in notices} == {"objector", "subject"}
    assert [n.title for n in notices if n.addressee == "subject"][-1] == "异议处理决定书"


def test_dismissed_objection_lets_certification_proceed(db_session, subject, clerk, objector, tmp):
    app = in_notice(db_session, subject, clerk, tmp)
    obj = objection(db_session, objector, tmp, app.registration_id, claim="content")
    svc.decide(db_session, actor=clerk, objection_id=obj.id, action="dismiss", reasons="异议所述与登记内容无关")
    assert obj.state == "dismissed" and blocking_reason(db_session, app) is None and app.state == "in_notice"


def test_referral_keeps_blocking_until_the_outcome_is_recorded(db_session, subject, clerk, objector, tmp):
    app = in_notice(db_session, subject, clerk, tmp)
    obj = objection(db_session, objector, tmp, app.registration_id)
    svc.refer(db_session, actor=clerk, objection_id=obj.id, venue="arbitration", note="双方同意提交仲裁")
    assert obj.state == "referred" and blocking_reason(db_session, app) is not None
    with pytest.raises(ValidationFailed) as exc:
        svc.decide(db_session, actor=clerk, objection_id=obj.id, action="dismiss", reasons="仲裁驳回")
    assert exc.value.errors[0].field == "outcome_document"
    award = upload(db_session, clerk, tmp, "仲裁裁决书")
    svc.decide(db_session, actor=clerk, objection_id=obj.id, action="dismiss", reasons="仲裁裁决驳回异议",
               outcome_document=award)
    assert obj.outcome["venue"] == "arbitration" and blocking_reason(db_session, app) is None


def test_reg33_objection_after_registration_marks_and_upheld_revokes(db_session, subject, clerk, objector, tmp):
    from pubdata.registry.certificates import current_certificate

    reg = registered(db_session, subject, clerk, tmp).registration
    cert = current_certificate(db_session, reg.id)
    obj = objection(db_session, objector, tmp, reg.id, as_person=True, person_name="张三", person_id_number=ID_NUMBER)
    assert obj.phase == "registered"
    assert [r.id for r, _o, _g in svc.under_objection(db_session)] == [reg.id]
    svc.decide(db_session, actor=clerk, objection_id=obj.id, action="uphold", reasons="登记主体隐瞒数据来源")
    assert reg.status == "revoked" and cert.status == "revoked"
    assert svc.under_objection(db_session) == []


def test_objections_are_refused_when_anonymous_unevidenced_or_not_objectionable(db_session, subject, clerk, tmp):
    app = submitted_first(db_session, subject, tmp)  # submitted: neither in notice nor registered
    objector = actor_of(make_user(db_session, Role.REGISTRATION_SUBJECT))
    with pytest.raises(NotAuthenticated):
        svc.raise_objection(db_session, actor=Actor.anonymous(), registration_id=app.registration_id,
                            claim="other", grounds="x", evidence=[])
    with pytest.raises(ValidationFailed) as exc:
        svc.raise_objection(db_session, actor=objector, registration_id=app.registration_id, claim="other",
                            grounds="", evidence=[])
    assert {e.field for e in exc.value.errors} == {"grounds", "evidence"}
    with pytest.raises(Conflict) as exc:
        objection(db_session, objector, tmp, app.registration_id)
    assert exc.value.code == "not_objectionable"


def test_real_name_rules(db_session, subject, clerk, tmp):
    app = in_notice(db_session, subject, clerk, tmp)
    unverified = actor_of(make_user(db_session, Role.REGISTRATION_SUBJECT, verified=False))
    with pytest.raises(ValidationFailed) as exc:
        objection(db_session, unverified, tmp, app.registration_id)
    assert exc.value.errors[0].code == "organisation_unverified"
    with pytest.raises(ValidationFailed) as exc:
        objection(db_session, unverified, tmp, app.registration_id, as_person=True, person_name="李四",
                  person_id_number="110105194912310021")
    assert exc.value.errors[0].field == "person_id_number"
    obj = objection(db_session, unverified, tmp, app.registration_id, as_person=True, person_name="李四",
                    person_id_number=ID_NUMBER)
    assert obj.person_name == "李四" and obj.objector_org_id is None


def test_only_the_institution_decides_and_the_subject_cannot_object_to_itself(db_session, subject, clerk, objector,
                                                                              tmp):
    app = in_notice(db_session, subject, clerk, tmp)
    with pytest.raises(PermissionDenied):
        objection(db_session, subject, tmp, app.registration_id)
    obj = objection(db_session, objector, tmp, app.registration_id)
    for actor in (objector, subject):
        with pytest.raises(PermissionDenied):
            svc.decide(db_session, actor=actor, objection_id=obj.id, action="uphold", reasons="x")
    svc.withdraw(db_session, actor=objector, objection_id=obj.id)
    with pytest.raises(IllegalTransition):
        svc.decide(db_session, actor=clerk, objection_id=obj.id, action="uphold", reasons="x")


def test_two_decisions_at_once_one_wins_the_other_gets_409():
    with scratch_engine() as engine, tempfile.TemporaryDirectory() as tmp:
        maker = session_factory(engine)
        with maker() as s, s.begin(), clock.frozen(dt.date(2026, 11, 2)):
            subject = actor_of(make_user(s, Role.REGISTRATION_SUBJECT))
            clerks = [actor_of(make_user(s, Role.REGISTRATION_INSTITUTION)) for _ in range(2)]
            objector = actor_of(make_user(s, Role.REGISTRATION_SUBJECT))
            app = in_notice(s, subject, clerks[0], Path(tmp))
            obj = objection(s, objector, Path(tmp), app.registration_id)
            obj_id, seen = obj.id, obj.version
        outcomes = race(maker, lambda s: svc.get_objection(s, objection_id=obj_id),
                        lambda s, i: svc.decide(s, actor=clerks[i], objection_id=obj_id,
                                                action=("uphold", "dismiss")[i], reasons="决定", version=seen))
        assert outcomes == ["409", "ok"]
