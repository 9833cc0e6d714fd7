"""REG-30 refusal cases: exact duplicates cannot be submitted, near ones are flagged, an ownership dispute
blocks certification, fraud is the reviewer's decision with reasons (see test_procedure)."""

from __future__ import annotations

import datetime as dt

import pytest

from pubdata import clock
from pubdata.errors import ValidationFailed
from pubdata.registry import applications as svc
from pubdata.registry import public_notices
from pubdata.registry.sweep import run
from tests.registry.support import documents, registered, resource_content, submitted_first


def _new_first(db, subject, tmp, name, **storage):  # type: ignore[no-untyped-def]
    content = resource_content(db, subject, tmp, name=name)
    content["storage"].update(storage)
    return svc.create_application(db, actor=subject, kind="first", content=content,
                                  documents=documents(db, subject, tmp))


def test_same_subject_and_same_normalised_name_cannot_be_submitted(db_session, subject, clerk, tmp):
    registered(db_session, subject, clerk, tmp)
    dup = _new_first(db_session, subject, tmp, "全省公路 路网（运行）监测数据")
    with pytest.raises(ValidationFailed) as exc:
        svc.submit(db_session, actor=subject, application_id=dup.id)
    assert [(e.field, e.code) for e in exc.value.errors] == [("basic.name", "duplicate_registration")]
    assert dup.state == "draft"


def test_an_application_still_in_procedure_also_counts(db_session, subject, tmp):
    submitted_first(db_session, subject, tmp)
    dup = _new_first(db_session, subject, tmp, "全省公路路网运行监测数据")
    with pytest.raises(ValidationFailed):
        svc.submit(db_session, actor=subject, application_id=dup.id)


def test_same_evidence_digest_cannot_be_submitted_even_under_another_name(db_session, subject, clerk, tmp):
    first = registered(db_session, subject, clerk, tmp)
    dup = _new_first(db_session, subject, tmp, "换个名字的同一数据",
                     evidence_proof=first.content["storage"]["evidence_proof"])
    with pytest.raises(ValidationFailed) as exc:
        svc.submit(db_session, actor=subject, application_id=dup.id)
    assert exc.value.errors[0].field == "storage.evidence_proof"


def test_near_duplicates_are_flagged_to_the_reviewer(db_session, subject, clerk, tmp):
    first = registered(db_session, subject, clerk, tmp)
    similar = _new_first(db_session, subject, tmp, "全省公路路网运行监测数据集")
    svc.submit(db_session, actor=subject, application_id=similar.id)
    [flag] = similar.flags
    assert flag["registration_code"] == first.registration.code and flag["similarity"] >= 0.8
    different = _new_first(db_session, subject, tmp, "兰州市中心医院门诊量统计")
    svc.submit(db_session, actor=subject, application_id=different.id)
    assert different.flags == []


def test_an_ownership_objection_blocks_certification(db_session, subject, clerk, tmp, engine):
    app = submitted_first(db_session, subject, tmp)
    svc.accept(db_session, actor=clerk, application_id=app.id)
    svc.pass_review(db_session, actor=clerk, application_id=app.id)

    def ownership_dispute(session, application):  # type: ignore[no-untyped-def]
        return "存在未决的数据权属异议（第三十二条）" if application.id == app.id else None

    public_notices.BLOCKERS.append(ownership_dispute)
    try:
        db_session.commit()
        with clock.frozen(app.notice_end + dt.timedelta(days=1)):
            result = run(db_session.get_bind())
    finally:
        public_notices.BLOCKERS.remove(ownership_dispute)
    assert app.number in result.blocked and result.certified == []
    db_session.refresh(app)
    assert app.state == "in_notice"
