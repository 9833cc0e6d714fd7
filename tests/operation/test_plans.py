"""Implementation plans: drafting, the ordered reviews, approval, filing, changes, consent (OPS-12..17)."""

from __future__ import annotations

import pytest

from pubdata.audit.service import history
from pubdata.errors import Conflict, PermissionDenied, ValidationFailed
from pubdata.operation import demands, plans
from pubdata.workflow import IllegalTransition
from tests.operation.support import PASS_DETAILS, approved_plan, plan_content, resource, review_all, reviewer
from tests.registry.support import submitted_first


def codes(exc: pytest.ExceptionInfo[ValidationFailed]) -> set[str]:
    return {e.code for e in exc.value.errors}


def test_plan_walks_draft_reviews_approval_and_filing_with_events(db_session, c, tmp):
    rid = resource(db_session, c, tmp)
    plan = plans.create_plan(db_session, actor=c.agency, content={"name": "草稿方案", "resources": [
        {"registration_id": rid}]})
    assert plan.number and plan.number.startswith("SSFA-")
    plans.update_plan(db_session, actor=c.agency, plan_id=plan.id, content=plan_content([rid]))
    plans.submit_plan(db_session, actor=c.agency, plan_id=plan.id)
    assert plans.latest(plan).state == "feasibility"
    review_all(db_session, c, plan.id)
    v = plans.latest(plan)
    assert v.state == "approved" and plan.in_force_version_no == 1 and v.approved_on is not None
    plans.file_plan(db_session, actor=c.authority, plan_id=plan.id, filed_with="国家数据局", filing_ref="备-1")
    assert v.state == "filed" and v.filed_on is not None
    assert [r.stage for r in v.reviews] == ["feasibility", "legality", "fair_competition", "deliberation", "filing"]
    assert v.reviews[0].details["experts"][0]["name"] == "李教授"
    assert v.reviews[3].details["decision_ref"].startswith("省政府")
    tags = [e.tag for e in history(db_session, object_type="operation_plan", object_id=plan.id)]
    assert tags == ["operation:plan:created", "operation:plan:edited", "operation:plan:submit",
                    "operation:plan:pass_feasibility", "operation:plan:pass_legality",
                    "operation:plan:pass_fair_competition", "operation:plan:approve", "operation:plan:file"]


def test_unregistered_resource_cannot_be_in_scope(db_session, c, tmp):
    pending = submitted_first(db_session, c.subject, tmp).registration_id  # submitted, not yet registered
    with pytest.raises(ValidationFailed) as exc:
        plans.create_plan(db_session, actor=c.agency, content=plan_content([pending]))
    assert "resource_not_registered" in codes(exc)
    assert "先登记后运营" in exc.value.errors[0].message


def test_submit_requires_every_ops14_item(db_session, c, tmp):
    rid = resource(db_session, c, tmp)
    plan = plans.create_plan(db_session, actor=c.agency, content={"name": "只有名称", "resources": [
        {"registration_id": rid}], "products": [{"name": "指数", "category": "governance", "form": "report"}]})
    with pytest.raises(ValidationFailed) as exc:
        plans.submit_plan(db_session, actor=c.agency, plan_id=plan.id)
    fields = {e.field for e in exc.value.errors}
    assert {"necessity", "criteria_security", "mode", "period_years", "accounting", "resources.0"} <= fields
    assert "both_classes_required" in codes(exc)
    assert plans.latest(plan).state == "draft"


def test_domain_mode_needs_its_domain_and_bad_values_are_named(db_session, c, tmp):
    rid = resource(db_session, c, tmp)
    with pytest.raises(ValidationFailed) as exc:
        plans.create_plan(db_session, actor=c.agency, content=plan_content([rid], mode="everything", period_years="x",
                                                                            products=[{"name": "p", "category": "?", "form": "?"}]))
    assert {"unknown_mode", "invalid", "unknown_category", "unknown_form"} <= codes(exc)
    plan = plans.create_plan(db_session, actor=c.agency, content=plan_content([rid], mode_detail=""))
    with pytest.raises(ValidationFailed) as exc2:
        plans.submit_plan(db_session, actor=c.agency, plan_id=plan.id)
    assert [e.field for e in exc2.value.errors] == ["mode_detail"]


def test_shared_data_needs_the_providers_consent(db_session, c, tmp):
    rid = resource(db_session, c, tmp)
    provider = c.industry
    content = plan_content([rid])
    content["resources"][0]["shared_from_org_id"] = provider.org_id
    plan = plans.create_plan(db_session, actor=c.agency, content=content)
    with pytest.raises(ValidationFailed) as exc:
        plans.submit_plan(db_session, actor=c.agency, plan_id=plan.id)
    assert codes(exc) == {"sharing_consent_missing"}
    with pytest.raises(Exception) as wrong:  # another unit cannot consent in the provider's place
        plans.grant_consent(db_session, actor=c.operator, plan_id=plan.id, registration_id=rid)
    assert getattr(wrong.value, "code", "") == "consent_not_requested"
    assert [(p.id, given) for p, _, given in plans.consent_requests(db_session, actor=provider)] == [(plan.id, False)]
    plans.grant_consent(db_session, actor=provider, plan_id=plan.id, registration_id=rid, conditions="仅用于本方案")
    plans.submit_plan(db_session, actor=c.agency, plan_id=plan.id)
    assert plans.latest(plan).state == "feasibility"


def test_reviews_out_of_order_are_refused(db_session, c, tmp):
    rid = resource(db_session, c, tmp)
    plan = plans.create_plan(db_session, actor=c.agency, content=plan_content([rid]))
    with pytest.raises(IllegalTransition):  # not yet submitted
        plans.review_plan(db_session, actor=c.authority, plan_id=plan.id, stage="feasibility", outcome="pass",
                          opinion="可行", details=PASS_DETAILS["feasibility"])
    plans.submit_plan(db_session, actor=c.agency, plan_id=plan.id)
    with pytest.raises(Conflict) as exc:
        plans.review_plan(db_session, actor=c.government, plan_id=plan.id, stage="deliberation", outcome="pass",
                          opinion="同意", details=PASS_DETAILS["deliberation"])
    assert exc.value.code == "review_out_of_order" and "可行性论证" in exc.value.detail
    with pytest.raises(PermissionDenied):  # each review by its own body
        plans.review_plan(db_session, actor=c.agency, plan_id=plan.id, stage="legality", outcome="pass", opinion="合法")


def test_feasibility_needs_experts_and_deliberation_its_decision_record(db_session, c, tmp):
    rid = resource(db_session, c, tmp)
    plan = plans.create_plan(db_session, actor=c.agency, content=plan_content([rid]))
    plans.submit_plan(db_session, actor=c.agency, plan_id=plan.id)
    with pytest.raises(ValidationFailed) as exc:
        plans.review_plan(db_session, actor=c.authority, plan_id=plan.id, stage="feasibility", outcome="pass",
                          opinion="", details={})
    assert {e.field for e in exc.value.errors} == {"opinion", "experts"}
    for stage in ("feasibility", "legality", "fair_competition"):
        plans.review_plan(db_session, actor=reviewer(c, stage), plan_id=plan.id, stage=stage, outcome="pass",
                          opinion="通过", details=PASS_DETAILS[stage])
    with pytest.raises(ValidationFailed) as exc2:
        plans.review_plan(db_session, actor=c.government, plan_id=plan.id, stage="deliberation", outcome="pass",
                          opinion="同意", details={})
    assert [e.field for e in exc2.value.errors] == ["decision_ref"]


def test_returned_plan_is_revised_and_reviewed_again_from_the_start(db_session, c, tmp):
    rid = resource(db_session, c, tmp)
    plan = plans.create_plan(db_session, actor=c.agency, content=plan_content([rid]))
    plans.submit_plan(db_session, actor=c.agency, plan_id=plan.id)
    plans.review_plan(db_session, actor=c.authority, plan_id=plan.id, stage="feasibility", outcome="pass",
                      opinion="可行", details=PASS_DETAILS["feasibility"])
    plans.review_plan(db_session, actor=c.justice, plan_id=plan.id, stage="legality", outcome="return",
                      opinion="第九项个人信息保护措施不足")
    assert plans.latest(plan).state == "returned"
    with pytest.raises(IllegalTransition):
        plans.file_plan(db_session, actor=c.authority, plan_id=plan.id, filed_with="国家数据局", filing_ref="x")
    plans.update_plan(db_session, actor=c.agency, plan_id=plan.id, content=plan_content([rid], security="补充后的措施"))
    assert plans.latest(plan).state == "draft"
    plans.submit_plan(db_session, actor=c.agency, plan_id=plan.id)
    assert plans.latest(plan).state == "feasibility"


def test_change_creates_a_version_and_the_approved_one_stays_in_force(db_session, c, tmp):
    plan, ids = approved_plan(db_session, c, tmp)
    extra = resource(db_session, c, tmp, "高速公路收费站流量数据")
    v2 = plans.propose_change(db_session, actor=c.agency, plan_id=plan.id, content=plan_content([*ids, extra]),
                              reason="新增收费站流量数据")
    assert v2.version_no == 2 and plan.in_force_version_no == 1
    with pytest.raises(Conflict) as twice:
        plans.propose_change(db_session, actor=c.agency, plan_id=plan.id, content=plan_content(ids), reason="再改")
    assert twice.value.code == "plan_change_not_allowed"
    plans.submit_plan(db_session, actor=c.agency, plan_id=plan.id)
    for stage in ("feasibility", "legality", "fair_competition"):
        plans.review_plan(db_session, actor=reviewer(c, stage), plan_id=plan.id, stage=stage, outcome="pass",
                          opinion="通过", details=PASS_DETAILS[stage])
    assert plans.in_force(plan).version_no == 1  # still in force during the deliberation of the change
    plans.review_plan(db_session, actor=c.government, plan_id=plan.id, stage="deliberation", outcome="pass",
                      opinion="同意变更", details=PASS_DETAILS["deliberation"])
    assert plan.in_force_version_no == 2
    assert [v.state for v in plan.versions] == ["superseded", "approved"]


def test_only_the_drafting_unit_edits_and_stale_versions_lose(db_session, c, tmp):
    rid = resource(db_session, c, tmp)
    plan = plans.create_plan(db_session, actor=c.agency, content=plan_content([rid]))
    stale = plan.version
    plans.update_plan(db_session, actor=c.agency, plan_id=plan.id, content=plan_content([rid], other="补充"))
    with pytest.raises(Conflict) as exc:
        plans.submit_plan(db_session, actor=c.agency, plan_id=plan.id, version=stale)
    assert exc.value.code == "stale_version"
    with pytest.raises(PermissionDenied):
        plans.update_plan(db_session, actor=c.authority, plan_id=plan.id, content=plan_content([rid]))
    with pytest.raises(PermissionDenied):
        plans.create_plan(db_session, actor=c.operator, content=plan_content([rid]))


def test_withdrawn_plan_cannot_move_again(db_session, c, tmp):
    rid = resource(db_session, c, tmp)
    plan = plans.create_plan(db_session, actor=c.agency, content=plan_content([rid]))
    plans.withdraw_plan(db_session, actor=c.agency, plan_id=plan.id, reason="合并到其他方案")
    with pytest.raises(IllegalTransition):
        plans.submit_plan(db_session, actor=c.agency, plan_id=plan.id)


def test_demands_from_public_and_organisations_are_adopted_with_the_plan(db_session, c, tmp):
    from pubdata.audit import Actor

    public = demands.submit_demand(db_session, actor=Actor.anonymous(), title="公交到站预测", scenario="市民出行",
                                   data_needed="公交定位", contact_name="王先生", contact="13900000000")
    with pytest.raises(ValidationFailed) as exc:
        demands.submit_demand(db_session, actor=Actor.anonymous(), title="", scenario="", data_needed="")
    assert {"title", "scenario", "data_needed", "contact_name", "contact"} == {e.field for e in exc.value.errors}
    rid = resource(db_session, c, tmp)
    plan = plans.create_plan(db_session, actor=c.agency, content=plan_content([rid], demand_ids=[public.id]))
    plans.submit_plan(db_session, actor=c.agency, plan_id=plan.id)
    assert public.state == "open"
    review_all(db_session, c, plan.id)
    assert public.state == "adopted"
    assert demands.plans_answering(db_session, public.id) == [plan.id]
    with pytest.raises(IllegalTransition):
        demands.close_demand(db_session, actor=c.agency, demand_id=public.id, reason="不采纳")
    events = history(db_session, object_type="operation_demand", object_id=public.id)
    assert "13900000000" not in str([e.data for e in events])
