"""OPS-12 consent withdrawal, region scoping of data authorities (OPS-6), and attachments on filing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from pubdata.audit.service import history
from pubdata.errors import Conflict, PermissionDenied, ValidationFailed
from pubdata.identity.roles import Role
from pubdata.operation import agreements, evaluations, notices, plans, selection
from pubdata.operation.models import SharingConsent
from pubdata.workflow import IllegalTransition
from tests.operation.support import (
    PASS_DETAILS,
    agreement_content,
    approved_plan,
    decided_selection,
    draft,
    plan_content,
    resource,
    review_all,
    reviewer,
    signed_agreement,
)
from tests.registry.support import upload
from tests.supervision.support import authority


def codes(exc: pytest.ExceptionInfo[ValidationFailed]) -> set[str]:
    return {e.code for e in exc.value.errors}


def shared_plan(db_session, c, tmp):  # type: ignore[no-untyped-def]
    rid = resource(db_session, c, tmp)
    content = plan_content([rid])
    content["resources"][0]["shared_from_org_id"] = c.industry.org_id
    plan = plans.create_plan(db_session, actor=c.agency, content=content)
    consent = plans.grant_consent(db_session, actor=c.industry, plan_id=plan.id, registration_id=rid,
                                  conditions="仅用于本方案")
    return plan, rid, consent


def test_withdrawn_consent_stops_a_version_under_review_and_is_audited(db_session, c, tmp):
    plan, rid, consent = shared_plan(db_session, c, tmp)
    plans.submit_plan(db_session, actor=c.agency, plan_id=plan.id)
    with pytest.raises(ValidationFailed) as no_reason:
        plans.withdraw_consent(db_session, actor=c.industry, consent_id=consent.id, reason=" ")
    assert codes(no_reason) == {"required"} and no_reason.value.errors[0].field == "withdrawal_reason"
    with pytest.raises(PermissionDenied) as other:  # only the providing unit withdraws its consent
        plans.withdraw_consent(db_session, actor=c.agency, consent_id=consent.id, reason="不再同意")
    assert other.value.code == "not_provider"
    plans.withdraw_consent(db_session, actor=c.industry, consent_id=consent.id, reason="数据共享协议已到期")
    assert consent.state == "withdrawn" and consent.withdrawal_reason == "数据共享协议已到期"
    assert consent.withdrawn_at is not None and consent.withdrawn_by_user_id == c.industry.user_id
    with pytest.raises(IllegalTransition):
        plans.withdraw_consent(db_session, actor=c.industry, consent_id=consent.id, reason="再次撤回")
    with pytest.raises(Conflict) as stuck:
        plans.review_plan(db_session, actor=c.authority, plan_id=plan.id, stage="feasibility", outcome="pass",
                          opinion="可行", details=PASS_DETAILS["feasibility"])
    assert stuck.value.code == "sharing_consent_withdrawn" and "数据共享协议已到期" in stuck.value.detail
    assert plans.latest(plan).state == "feasibility"
    # Returning the version for revision is still possible: that is how the drafting body fixes it.
    plans.review_plan(db_session, actor=c.authority, plan_id=plan.id, stage="feasibility", outcome="return",
                      opinion="共享数据提供单位已撤回同意，请修改")
    plans.update_plan(db_session, actor=c.agency, plan_id=plan.id, content=plans.latest(plan).content)
    with pytest.raises(ValidationFailed) as refused:
        plans.submit_plan(db_session, actor=c.agency, plan_id=plan.id)
    assert codes(refused) == {"sharing_consent_withdrawn"}
    # Consent given again (a new record; the withdrawn one is kept) lets the plan go on.
    plans.grant_consent(db_session, actor=c.industry, plan_id=plan.id, registration_id=rid, conditions="重新同意")
    plans.submit_plan(db_session, actor=c.agency, plan_id=plan.id)
    rows = db_session.scalars(select(SharingConsent).where(SharingConsent.plan_id == plan.id)
                              .order_by(SharingConsent.id)).all()
    assert [r.state for r in rows] == ["withdrawn", "granted"]
    assert [e.tag for e in history(db_session, object_type="operation_sharing_consent", object_id=consent.id)] == [
        "operation:consent:granted", "operation:consent:withdrawn"]
    assert "operation:plan:consent_withdrawn" in [e.tag for e in history(db_session, object_type="operation_plan",
                                                                           object_id=plan.id)]
    sent = [n for n in notices.for_org(db_session, actor=c.agency) if n.kind == "consent_withdrawn"]
    assert len(sent) == 1 and "数据共享协议已到期" in notices.render_text(db_session, sent[0])


def test_consent_cannot_be_given_twice(db_session, c, tmp):
    plan, rid, _ = shared_plan(db_session, c, tmp)
    with pytest.raises(Conflict) as twice:
        plans.grant_consent(db_session, actor=c.industry, plan_id=plan.id, registration_id=rid)
    assert twice.value.code == "consent_already_granted"


def test_withdrawal_after_approval_flags_the_plan_and_keeps_the_resource_out_of_new_agreements(db_session, c, tmp):
    plan, rid, consent = shared_plan(db_session, c, tmp)
    plans.submit_plan(db_session, actor=c.agency, plan_id=plan.id)
    review_all(db_session, c, plan.id)
    assert plans.latest(plan).state == "approved"
    plans.withdraw_consent(db_session, actor=c.industry, consent_id=consent.id, reason="提供单位调整共享范围")
    # The approved version is not silently changed: still in force, still approved; it is flagged.
    assert plan.in_force_version_no == 1 and plans.latest(plan).state == "approved"
    assert plans.withdrawn_resources(db_session, plan, plans.in_force(plan)) == [rid]
    events = history(db_session, object_type="operation_plan", object_id=plan.id)
    assert events[-1].tag == "operation:plan:consent_withdrawn" and events[-1].data["in_force_version_no"] == 1
    sel = decided_selection(db_session, c, plan.id)
    with pytest.raises(ValidationFailed) as refused:
        agreements.draft_agreement(db_session, actor=c.agency, selection_id=sel.id, title="协议",
                                   content=agreement_content([rid]), start_date=None, end_date=None)
    assert "sharing_consent_withdrawn" in codes(refused)
    assert any(e.field == "resource_ids.0" for e in refused.value.errors)


def test_city_authority_sees_and_acts_only_on_its_own_citys_plans(db_session, c, tmp):
    plan, ids = approved_plan(db_session, c, tmp, filed=False)  # drafted by an agency in Lanzhou (620100)
    lanzhou, jiayuguan = authority(db_session, "620100"), authority(db_session, "620200")
    assert plans.get_plan(db_session, plan.id, lanzhou) is plan
    assert plan.id in [p.id for p in db_session.scalars(plans.plans_query(db_session, lanzhou))]
    assert plan.id in [p.id for p in db_session.scalars(plans.plans_query(db_session, c.authority))]  # province
    assert plan.id not in [p.id for p in db_session.scalars(plans.plans_query(db_session, jiayuguan))]
    with pytest.raises(PermissionDenied) as unseen:
        plans.get_plan(db_session, plan.id, jiayuguan)
    assert unseen.value.code == "out_of_region" and "嘉峪关" in unseen.value.detail
    with pytest.raises(PermissionDenied) as no_filing:
        plans.file_plan(db_session, actor=jiayuguan, plan_id=plan.id, filed_with="国家数据局", filing_ref="X")
    assert no_filing.value.code == "out_of_region"
    plans.file_plan(db_session, actor=lanzhou, plan_id=plan.id, filed_with="国家数据局", filing_ref="兰备 1 号")
    assert plans.latest(plan).state == "filed"

    second = plans.create_plan(db_session, actor=c.agency, content=plan_content(ids))
    plans.submit_plan(db_session, actor=c.agency, plan_id=second.id)
    with pytest.raises(PermissionDenied):
        plans.review_plan(db_session, actor=jiayuguan, plan_id=second.id, stage="feasibility", outcome="pass",
                          opinion="可行", details=PASS_DETAILS["feasibility"])
    assert second.id not in [p.id for p in plans.waiting_for(db_session, actor=jiayuguan)]
    assert second.id in [p.id for p in plans.waiting_for(db_session, actor=lanzhou)]


def test_city_authority_cannot_file_or_evaluate_another_citys_agreement(db_session, c, tmp):
    a = signed_agreement(db_session, c, tmp, filed=False)
    jiayuguan = authority(db_session, "620200")
    with pytest.raises(PermissionDenied) as refused:
        agreements.file_agreement(db_session, actor=jiayuguan, agreement_id=a.id, filing_ref="嘉备 1 号")
    assert refused.value.code == "out_of_region"
    with pytest.raises(PermissionDenied):
        evaluations.record_evaluation(db_session, actor=jiayuguan, agreement_id=a.id, period_start=a.start_date,
                                      period_end=a.start_date, grade="good", score=80, comments="好")
    stmt = agreements.agreements_query()
    from pubdata.operation.regions import scoped_agreements

    assert a.id not in [x.id for x in db_session.scalars(scoped_agreements(db_session, jiayuguan, stmt))]
    assert a.id in [x.id for x in db_session.scalars(scoped_agreements(db_session, c.authority, stmt))]


def test_reviews_filing_and_candidates_keep_their_attachments(db_session, c, tmp):
    rid = resource(db_session, c, tmp)
    plan = plans.create_plan(db_session, actor=c.agency, content=plan_content([rid]))
    plans.submit_plan(db_session, actor=c.agency, plan_id=plan.id)
    for stage in ("feasibility", "legality", "fair_competition", "deliberation"):
        who = reviewer(c, stage)
        digest = upload(db_session, who, tmp, f"{stage}意见")
        plans.review_plan(db_session, actor=who, plan_id=plan.id, stage=stage, outcome="pass", opinion="通过",
                          details=PASS_DETAILS[stage], attachments=[digest])
        assert plans.latest(plan).reviews[-1].attachments == [digest]
    foreign = upload(db_session, c.justice, tmp, "他单位文件")
    with pytest.raises(ValidationFailed) as not_ours:  # a file another organisation uploaded is refused
        plans.file_plan(db_session, actor=c.authority, plan_id=plan.id, filed_with="国家数据局", filing_ref="备",
                        attachments=[foreign])
    assert codes(not_ours) == {"file_not_found"}
    receipt = upload(db_session, c.authority, tmp, "备案回执")
    plans.file_plan(db_session, actor=c.authority, plan_id=plan.id, filed_with="国家数据局", filing_ref="备",
                    attachments=[receipt])
    assert plans.latest(plan).reviews[-1].attachments == [receipt]
    sel = decided_selection(db_session, c, plan.id)
    assert sel.candidates[0].qualifications["attachments"] == []
    assert draft(db_session, c, sel.id, [rid]).filing_attachments == []
    other = selection.open_selection(db_session, actor=c.agency, plan_id=plan.id, method="negotiation")
    proof = upload(db_session, c.agency, tmp, "资信证明")
    cand = selection.add_candidate(db_session, actor=c.agency, selection_id=other.id, org_id=c.operator.org_id,
                                   qualifications={k: "符合" for k in ("funds", "management", "technology", "service",
                                                                       "security", "credit")}, attachments=[proof])
    assert cand.qualifications["attachments"] == [proof]


def test_agreement_filing_keeps_its_materials(db_session, c, tmp):
    a = signed_agreement(db_session, c, tmp, filed=False)
    receipt = upload(db_session, c.authority, tmp, "协议备案回执")
    agreements.file_agreement(db_session, actor=c.authority, agreement_id=a.id, filing_ref="甘数备 2 号",
                              attachments=[receipt])
    assert a.state == "filed" and a.filing_attachments == [receipt]
    assert Role.DATA_AUTHORITY.value in c.authority.roles


def test_an_unknown_providing_unit_is_refused(db_session, c, tmp):
    content = plan_content([resource(db_session, c, tmp)])
    content["resources"][0]["shared_from_org_id"] = 999_999
    with pytest.raises(ValidationFailed) as refused:
        plans.create_plan(db_session, actor=c.agency, content=content)
    assert codes(refused) == {"provider_not_found"} and refused.value.errors[0].field == "resources.0"
