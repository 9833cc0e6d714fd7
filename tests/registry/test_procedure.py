"""The registration procedure, every application type through its whole lifecycle (REG-23..30, REG-37)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from pubdata import clock
from pubdata.audit import Actor
from pubdata.audit.service import history
from pubdata.errors import Conflict, PermissionDenied, ValidationFailed
from pubdata.identity.roles import Role
from pubdata.registry import applications as svc
from pubdata.registry import codes
from pubdata.registry.certificates import certify, current_certificate
from pubdata.registry.models import Certificate, PublicNotice, RegistrationVersion
from pubdata.registry.public_notices import in_notice
from tests.factories import actor_of, make_user
from tests.registry.support import documents, registered, resource_content, submitted_first, upload


def test_first_registration_from_draft_to_certificate(db_session, subject, clerk, tmp):
    with clock.frozen(dt.date(2026, 9, 22)):
        app = submitted_first(db_session, subject, tmp)
        assert app.state == "submitted" and codes.is_valid(app.registration.code)
        assert app.acceptance_due == dt.date(2026, 9, 28)  # 3 WD, start day not counted, 09-25 is 中秋
    with clock.frozen(dt.date(2026, 9, 25)):
        svc.accept(db_session, actor=clerk, application_id=app.id)
        assert (app.state, app.review_due) == ("under_review", dt.date(2026, 10, 29))  # REG-27, across 国庆
    with clock.frozen(dt.date(2026, 10, 30)):
        svc.pass_review(db_session, actor=clerk, application_id=app.id)
        assert app.state == "in_notice" and app.notice_start == dt.date(2026, 10, 30)
        assert app.notice_end == dt.date(2026, 11, 13)  # 10 WD (REG-28)
        [pn] = in_notice(db_session)
        assert (pn.data_name, pn.subject_name, pn.end_date) == ("全省公路路网运行监测数据",
                                                                app.registration and pn.subject_name, app.notice_end)
    with clock.frozen(dt.date(2026, 11, 16)):
        cert = certify(db_session, actor=Actor.system("test"), application=app)
    assert app.state == "certified" and app.registration.status == "registered"
    assert cert.valid_from == dt.date(2026, 11, 16) and cert.valid_until == dt.date(2029, 11, 15)  # REG-37
    assert codes.is_valid(cert.number)
    kinds = [n.kind for n in app.notices]
    assert kinds == ["accepted", "in_notice", "certified"]
    assert all(n.number and codes.is_valid(n.number) for n in app.notices)
    tags = [e.tag for e in history(db_session, object_type="application", object_id=app.id)]
    assert tags == ["registry:application:created", "registry:application:submit", "registry:application:accept",
                    "registry:application:pass", "registry:application:certify"]


def test_reg26_supplement_notice_lists_every_item_and_restarts_the_clock(db_session, subject, clerk, tmp):
    with clock.frozen(dt.date(2026, 2, 11)):
        app = submitted_first(db_session, subject, tmp)
        assert app.acceptance_due == dt.date(2026, 2, 14)  # 2026-02-14 is a 调休 Saturday working day
    with clock.frozen(dt.date(2026, 2, 13)):
        svc.request_supplement(db_session, actor=clerk, application_id=app.id, items=[
            {"field": "documents.identity_proof", "item": "登记主体身份证明材料", "reason": "证书已过期"},
            {"field": "resource.security_assessment", "item": "数据安全评估报告", "reason": "缺少签章页"},
        ])
    assert app.state == "supplement_requested" and app.acceptance_due is None
    [notice] = [n for n in app.notices if n.kind == "supplement"]
    assert [i["item"] for i in notice.items] == ["登记主体身份证明材料", "数据安全评估报告"]
    svc.update_draft(db_session, actor=subject, application_id=app.id,
                     documents=documents(db_session, subject, tmp))
    with clock.frozen(dt.date(2026, 2, 24)):
        svc.submit(db_session, actor=subject, application_id=app.id)
    assert app.state == "submitted" and app.received_on == dt.date(2026, 2, 24)
    assert app.acceptance_due == dt.date(2026, 2, 27)


def test_supplement_request_needs_at_least_one_item(db_session, subject, clerk, tmp):
    app = submitted_first(db_session, subject, tmp)
    with pytest.raises(ValidationFailed):
        svc.request_supplement(db_session, actor=clerk, application_id=app.id, items=[])
    with pytest.raises(ValidationFailed) as exc:
        svc.request_supplement(db_session, actor=clerk, application_id=app.id, items=[{"item": " "}])
    assert exc.value.errors[0].field == "items.0.item"
    assert app.state == "submitted"


@pytest.mark.parametrize("decision", ["not_accept", "fail_review"])
def test_refusals_state_reasons_in_a_written_notice(db_session, subject, clerk, tmp, decision):
    app = submitted_first(db_session, subject, tmp)
    if decision == "fail_review":
        svc.accept(db_session, actor=clerk, application_id=app.id)
    with pytest.raises(ValidationFailed):
        getattr(svc, decision)(db_session, actor=clerk, application_id=app.id, reasons="")
    getattr(svc, decision)(db_session, actor=clerk, application_id=app.id, reasons="材料与实际数据不符")
    assert app.reasons == "材料与实际数据不符" and "材料与实际数据不符" in app.notices[-1].body
    assert app.registration.status == "not_registered"


def test_reg30_refusal_records_ground_and_reasons(db_session, subject, clerk, tmp):
    app = submitted_first(db_session, subject, tmp)
    svc.accept(db_session, actor=clerk, application_id=app.id)
    with pytest.raises(ValidationFailed) as exc:
        svc.refuse(db_session, actor=clerk, application_id=app.id, ground="whim", reasons="")
    assert {e.field for e in exc.value.errors} == {"ground", "reasons"}
    svc.refuse(db_session, actor=clerk, application_id=app.id, ground="fraud", reasons="存证摘要与数据不一致")
    assert (app.state, app.refusal_ground) == ("refused", "fraud")
    assert app.notices[-1].kind == "refused" and "弄虚作假" in app.notices[-1].body


def test_refusal_during_notice_closes_the_public_notice(db_session, subject, clerk, tmp):
    app = submitted_first(db_session, subject, tmp)
    svc.accept(db_session, actor=clerk, application_id=app.id)
    svc.pass_review(db_session, actor=clerk, application_id=app.id)
    svc.refuse(db_session, actor=clerk, application_id=app.id, ground="ownership_dispute", reasons="权属异议成立")
    pn = db_session.scalar(select(PublicNotice).where(PublicNotice.application_id == app.id))
    assert pn.status == "closed" and in_notice(db_session) == []


def test_withdrawal_before_decision(db_session, subject, clerk, tmp):
    app = submitted_first(db_session, subject, tmp)
    svc.accept(db_session, actor=clerk, application_id=app.id)
    with pytest.raises(PermissionDenied):
        svc.withdraw(db_session, actor=clerk, application_id=app.id)
    svc.withdraw(db_session, actor=subject, application_id=app.id, reason="数据范围调整后重新申请")
    assert app.state == "withdrawn" and app.notices[-1].kind == "withdrawn"


def test_change_creates_a_new_version_and_keeps_history(db_session, subject, clerk, tmp):
    first = registered(db_session, subject, clerk, tmp)
    reg = first.registration
    old_cert = current_certificate(db_session, reg.id)
    change = svc.create_application(db_session, actor=subject, kind="change", registration_id=reg.id,
                                    details={"change_reason": "新增 2026 年下半年数据"})
    assert change.content == reg.versions[-1].content  # starts from the registered content
    content = dict(change.content)
    content["basic"] = {**content["basic"], "summary": "新增服务区客流数据。"}
    svc.update_draft(db_session, actor=subject, application_id=change.id, content=content,
                     documents=documents(db_session, subject, tmp, "change_evidence"))
    svc.submit(db_session, actor=subject, application_id=change.id)
    svc.accept(db_session, actor=clerk, application_id=change.id)
    svc.pass_review(db_session, actor=clerk, application_id=change.id)
    new_cert = certify(db_session, actor=Actor.system("test"), application=change)
    versions = db_session.scalars(select(RegistrationVersion).where(RegistrationVersion.registration_id == reg.id)
                                  .order_by(RegistrationVersion.version_no)).all()
    assert [v.version_no for v in versions] == [1, 2]
    assert versions[0].content["basic"]["summary"] != versions[1].content["basic"]["summary"]
    assert reg.current_version == 2 and old_cert.status == "superseded"
    assert new_cert.valid_until == old_cert.valid_until and new_cert.version_no == 2
    notices = db_session.scalars(select(PublicNotice).where(PublicNotice.registration_id == reg.id)
                                 .order_by(PublicNotice.id)).all()
    assert [n.summary for n in notices] == [versions[0].content["basic"]["summary"], "新增服务区客流数据。"]


def test_only_one_open_application_per_registration(db_session, subject, clerk, tmp):
    reg = registered(db_session, subject, clerk, tmp).registration
    svc.create_application(db_session, actor=subject, kind="change", registration_id=reg.id)
    with pytest.raises(Conflict) as exc:
        svc.create_application(db_session, actor=subject, kind="correction", registration_id=reg.id)
    assert exc.value.code == "application_in_progress"


def test_correction_needs_consent_or_proof_of_error(db_session, subject, clerk, tmp):
    reg = registered(db_session, subject, clerk, tmp).registration
    app = svc.create_application(db_session, actor=subject, kind="correction", registration_id=reg.id,
                                 documents=documents(db_session, subject, tmp))
    with pytest.raises(ValidationFailed) as exc:
        svc.submit(db_session, actor=subject, application_id=app.id)
    assert {"documents.error_proof", "details.correction_items"} <= {e.field for e in exc.value.errors}
    svc.update_draft(db_session, actor=subject, application_id=app.id,
                     documents=documents(db_session, subject, tmp, "error_proof"),
                     details={"correction_items": "数据覆盖时间起始日应为 2019-01-01"})
    svc.submit(db_session, actor=subject, application_id=app.id)
    assert app.state == "submitted"


def test_cancellation_ends_the_registration_within_10_working_days(db_session, subject, clerk, tmp):
    reg = registered(db_session, subject, clerk, tmp).registration
    cert = current_certificate(db_session, reg.id)
    app = svc.create_application(db_session, actor=subject, kind="cancellation", registration_id=reg.id,
                                 details={"ground": "lost", "certificate_number": "GSPZ-2026-00000001-0"},
                                 documents=documents(db_session, subject, tmp, "ground_evidence"))
    with pytest.raises(ValidationFailed) as exc:
        svc.submit(db_session, actor=subject, application_id=app.id)
    assert [e.field for e in exc.value.errors] == ["details.certificate_number"]
    svc.update_draft(db_session, actor=subject, application_id=app.id,
                     details={"ground": "lost", "certificate_number": cert.number})
    svc.submit(db_session, actor=subject, application_id=app.id)
    with clock.frozen(dt.date(2026, 9, 30)):
        svc.accept(db_session, actor=clerk, application_id=app.id)
    assert app.review_due == dt.date(2026, 10, 20)  # REG-25(四): 10 WD, across 国庆
    with pytest.raises(Conflict):
        svc.pass_review(db_session, actor=clerk, application_id=app.id)
    svc.complete_cancellation(db_session, actor=clerk, application_id=app.id)
    assert (app.state, reg.status, cert.status) == ("cancelled", "cancelled", "cancelled")
    assert app.notices[-1].kind == "cancelled"


def test_reg37_renewal_within_60_days_counts_from_the_day_after_expiry(db_session, subject, clerk, tmp):
    with clock.frozen(dt.date(2026, 3, 2)):
        reg = registered(db_session, subject, clerk, tmp).registration
    cert = current_certificate(db_session, reg.id)
    assert cert.valid_until == dt.date(2029, 3, 1)
    app = svc.create_application(db_session, actor=subject, kind="renewal", registration_id=reg.id,
                                 documents=documents(db_session, subject, tmp))
    with clock.frozen(dt.date(2028, 12, 30)), pytest.raises(Conflict) as exc:  # 61 days before expiry
        svc.submit(db_session, actor=subject, application_id=app.id)
    assert exc.value.code == "outside_renewal_window"
    with clock.frozen(dt.date(2029, 1, 5)):
        svc.submit(db_session, actor=subject, application_id=app.id)
        svc.accept(db_session, actor=clerk, application_id=app.id)
        svc.pass_review(db_session, actor=clerk, application_id=app.id)
    assert app.state == "certified"
    certs = db_session.scalars(select(Certificate).where(Certificate.registration_id == reg.id)
                               .order_by(Certificate.id)).all()
    assert certs[-1].valid_from == dt.date(2029, 3, 2)
    assert certs[-1].valid_until == dt.date(2030, 12, 31)  # capped by the authorization period (REG-37)


def test_product_certificate_is_valid_for_the_operation_period_if_shorter(db_session, subject, clerk, tmp):
    content = resource_content(db_session, subject, tmp, name="路况预测模型")
    content["basic"]["registration_type"] = "data_product"
    content.pop("resource")
    content["product"] = {"product_type": "model", "source_registration_name": "全省公路路网运行监测数据",
                          "source_registration_code": "GSDJ-2026-00000001-0", "authorization_start": "2026-01-01",
                          "authorization_end": "2027-06-30", "purpose": "拥堵预测"}
    app = svc.create_application(db_session, actor=subject, kind="first", content=content,
                                 documents=documents(db_session, subject, tmp))
    svc.submit(db_session, actor=subject, application_id=app.id)
    svc.accept(db_session, actor=clerk, application_id=app.id)
    svc.pass_review(db_session, actor=clerk, application_id=app.id)
    cert = certify(db_session, actor=Actor.system("test"), application=app)
    assert cert.valid_until == dt.date(2027, 6, 30)


def test_agent_files_for_a_subject_with_power_of_attorney(db_session, clerk, tmp):
    principal = make_user(db_session, Role.REGISTRATION_SUBJECT)
    agent = actor_of(make_user(db_session, Role.AGENT))
    content = resource_content(db_session, agent, tmp)
    content["agency"] = {"is_agent": True, "principal_name": principal.organisation.name,
                         "principal_uscc": principal.organisation.uscc, "start": "2026-01-01", "end": "2026-12-31",
                         "agreement": upload(db_session, agent, tmp, "委托代理协议")}
    app = svc.create_application(db_session, actor=agent, kind="first", subject_org_id=principal.organisation_id,
                                 content=content, documents=documents(db_session, agent, tmp))
    with pytest.raises(ValidationFailed) as exc:
        svc.submit(db_session, actor=agent, application_id=app.id)
    assert [e.field for e in exc.value.errors] == ["documents.power_of_attorney"]
    svc.update_draft(db_session, actor=agent, application_id=app.id,
                     documents=documents(db_session, agent, tmp, "power_of_attorney"))
    svc.submit(db_session, actor=agent, application_id=app.id)
    assert app.registration.subject_org_id == principal.organisation_id and app.filed_by_org_id == agent.org_id


def test_a_subject_cannot_file_for_another_without_being_an_agent(db_session, subject, tmp):
    other = make_user(db_session, Role.REGISTRATION_SUBJECT)
    with pytest.raises(PermissionDenied):
        svc.create_application(db_session, actor=subject, kind="first", subject_org_id=other.organisation_id)


def test_joint_filing_names_every_co_applicant(db_session, subject, clerk, tmp):
    partner = make_user(db_session, Role.REGISTRATION_SUBJECT)
    app = submitted_first(db_session, subject, tmp)
    svc.withdraw(db_session, actor=subject, application_id=app.id)
    content = resource_content(db_session, subject, tmp, name="联合共建的交通气象数据")
    joint = svc.create_application(db_session, actor=subject, kind="first", content=content,
                                   documents=documents(db_session, subject, tmp),
                                   joint_org_ids=[partner.organisation_id])
    svc.submit(db_session, actor=subject, application_id=joint.id)
    assert svc.view_application(db_session, actor=actor_of(partner), application_id=joint.id) is joint


def test_reg36_unverified_subject_can_draft_but_not_submit(db_session, tmp):
    fresh = actor_of(make_user(db_session, Role.REGISTRATION_SUBJECT, verified=False))
    app = svc.create_application(db_session, actor=fresh, kind="first", content={"basic": {"name": "草稿"}})
    with pytest.raises(PermissionDenied) as exc:
        svc.submit(db_session, actor=fresh, application_id=app.id)
    assert exc.value.code == "organisation_unverified" and app.state == "draft"


def test_institution_cannot_handle_its_own_application(db_session, tmp):
    both = actor_of(make_user(db_session, Role.REGISTRATION_INSTITUTION, Role.REGISTRATION_SUBJECT))
    app = submitted_first(db_session, both, tmp)
    with pytest.raises(PermissionDenied) as exc:
        svc.accept(db_session, actor=both, application_id=app.id)
    assert exc.value.code == "conflict_of_interest"


def test_stale_version_is_refused(db_session, subject, clerk, tmp):
    app = submitted_first(db_session, subject, tmp)
    seen = app.version
    svc.accept(db_session, actor=clerk, application_id=app.id, version=seen)
    with pytest.raises(Conflict) as exc:
        svc.fail_review(db_session, actor=clerk, application_id=app.id, reasons="x", version=seen)
    assert exc.value.code == "stale_version"


def test_an_application_cannot_cite_another_organisations_files(db_session, subject, tmp):
    stranger = actor_of(make_user(db_session, Role.REGISTRATION_SUBJECT))
    content = resource_content(db_session, subject, tmp)
    content["legality"]["source_proofs"] = [upload(db_session, stranger, tmp, "别人的文件")]
    app = svc.create_application(db_session, actor=subject, kind="first", content=content,
                                 documents=documents(db_session, subject, tmp))
    with pytest.raises(ValidationFailed) as exc:
        svc.submit(db_session, actor=subject, application_id=app.id)
    assert [(e.field, e.code) for e in exc.value.errors] == [("legality.source_proofs.0", "attachment_missing")]
