"""Selection (OPS-18), agreements (OPS-19/20), measures (OPS-21), evaluations (OPS-36), access, disclosure (OPS-32)."""

from __future__ import annotations

import datetime as dt

import pytest

from pubdata import clock
from pubdata.audit.service import history
from pubdata.errors import Conflict, PermissionDenied, ValidationFailed
from pubdata.identity.roles import Role
from pubdata.operation import access, agreements, disclosure, evaluations, measures, selection
from pubdata.workflow import IllegalTransition
from tests.factories import make_org
from tests.operation.support import QUALS, approved_plan, decided_selection, draft, resource, signed_agreement


def test_selection_needs_an_approved_plan_and_selects_only_verified_evaluated_candidates(db_session, c, tmp):
    from pubdata.operation import plans
    from tests.operation.support import plan_content

    rid = resource(db_session, c, tmp)
    unapproved = plans.create_plan(db_session, actor=c.agency, content=plan_content([rid]))
    with pytest.raises(Conflict) as exc:
        selection.open_selection(db_session, actor=c.agency, plan_id=unapproved.id, method="open_tender")
    assert exc.value.code == "plan_not_approved"
    plan, _ = approved_plan(db_session, c, tmp)
    with pytest.raises(ValidationFailed):
        selection.open_selection(db_session, actor=c.agency, plan_id=plan.id, method="lottery")
    sel = selection.open_selection(db_session, actor=c.agency, plan_id=plan.id, method="negotiation")
    unverified = make_org(db_session, Role.OPERATOR, verified=False)
    bad = selection.add_candidate(db_session, actor=c.agency, selection_id=sel.id, org_id=unverified.id,
                                  qualifications=QUALS)
    with pytest.raises(ValidationFailed) as missing:
        selection.add_candidate(db_session, actor=c.agency, selection_id=sel.id, org_id=c.operator.org_id,
                                qualifications={"funds": "1 亿元"})
    assert {e.field for e in missing.value.errors} == {"management", "technology", "service", "security", "credit"}
    good = selection.add_candidate(db_session, actor=c.agency, selection_id=sel.id, org_id=c.operator.org_id,
                                   qualifications=QUALS)
    with pytest.raises(Conflict) as dup:
        selection.add_candidate(db_session, actor=c.agency, selection_id=sel.id, org_id=c.operator.org_id,
                                qualifications=QUALS)
    assert dup.value.code == "duplicate_candidate"
    with pytest.raises(ValidationFailed) as not_evaluated:
        selection.decide(db_session, actor=c.agency, selection_id=sel.id, candidate_id=good.id, decision="第一")
    assert not_evaluated.value.errors[0].code == "not_evaluated"
    for cand in (bad, good):
        selection.evaluate_candidate(db_session, actor=c.agency, selection_id=sel.id, candidate_id=cand.id, score=95,
                                     evaluation="能力强")
    with pytest.raises(Conflict) as unv:
        selection.decide(db_session, actor=c.agency, selection_id=sel.id, candidate_id=bad.id, decision="第一")
    assert unv.value.code == "operator_unverified"
    selection.decide(db_session, actor=c.agency, selection_id=sel.id, candidate_id=good.id, decision="综合第一")
    assert sel.state == "decided" and selection.selected_org_id(sel) == c.operator.org_id
    with pytest.raises(IllegalTransition):
        selection.cancel(db_session, actor=c.agency, selection_id=sel.id, reason="x")
    tags = [e.tag for e in history(db_session, object_type="operation_selection", object_id=sel.id)]
    assert tags.count("operation:selection:candidate_added") == 2 and tags[-1] == "operation:selection:decided"


def test_agreement_is_signed_by_both_filed_and_disclosed(db_session, c, tmp):
    a = signed_agreement(db_session, c, tmp)
    assert a.state == "filed" and a.signed_on == clock.today() and a.agency_decision_ref
    assert a.number and a.number.startswith("SQXY-")
    assert access.active_agreement(db_session, c.operator.org_id) is a
    assert [r.data_name for r in access.agreement_scope(db_session, a)] == ["全省公路路网运行监测数据"]
    assert access.covers(db_session, a, a.content["resource_ids"][0])
    (auth,) = disclosure.authorizations(db_session, operator_org_id=c.operator.org_id)
    assert auth.status == "in_force" and auth.mode == "分领域授权" and auth.products[0]["name"] == "路网通行指数"
    report = disclosure.annual_report(db_session, year=clock.today().year)
    assert [r["agreement_id"] for r in report.agreements_signed] == [a.id]
    assert report.plans_approved and report.in_force_during_year
    assert disclosure.annual_report(db_session, year=clock.today().year - 1).agreements_signed == []
    tags = [e.tag for e in history(db_session, object_type="operation_agreement", object_id=a.id)]
    assert tags == ["operation:agreement:drafted", "operation:agreement:sign_agency",
                    "operation:agreement:sign_operator", "operation:agreement:filed"]


def test_agreement_refusals_term_scope_and_unsigned_filing(db_session, c, tmp):
    plan, ids = approved_plan(db_session, c, tmp)
    outside = resource(db_session, c, tmp, "不在方案内的数据")
    sel = decided_selection(db_session, c, plan.id)
    with pytest.raises(ValidationFailed) as scope:
        draft(db_session, c, sel.id, [ids[0], outside])
    assert [e.code for e in scope.value.errors] == ["scope_outside_plan"]
    assert "不在审定同意的实施方案" in scope.value.errors[0].message
    with pytest.raises(ValidationFailed) as term:
        draft(db_session, c, sel.id, ids, years=6)
    assert [e.code for e in term.value.errors] == ["term_exceeds_limit"]
    with pytest.raises(ValidationFailed) as half:
        draft(db_session, c, sel.id, ids, years=6, term_exception_reason="基础设施投资回收期长")
    assert {e.code for e in half.value.errors} == {"exception_incomplete", "term_exceeds_limit"}
    long = draft(db_session, c, sel.id, ids, years=6, term_exception_reason="基础设施投资回收期长",
                 term_exception_approver="省政府常务会议")
    assert long.term_exception_approver == "省政府常务会议"
    five = draft(db_session, c, sel.id, ids, years=5)  # exactly five years is allowed
    with pytest.raises(IllegalTransition):
        agreements.file_agreement(db_session, actor=c.authority, agreement_id=five.id, filing_ref="x")
    with pytest.raises(ValidationFailed) as no_ref:
        agreements.sign_agency(db_session, actor=c.agency, agreement_id=five.id, decision_ref="")
    assert no_ref.value.errors[0].field == "decision_ref"
    with pytest.raises(PermissionDenied):  # another organisation cannot sign for the operator
        other = make_org(db_session, Role.OPERATOR)
        from tests.factories import actor_of
        from pubdata.identity.users import create_user

        stranger = actor_of(create_user(db_session, actor=c.agency.__class__.system("t"), org_id=other.id,
                                        username=f"op{other.id}", full_name="x", password="Test-Passw0rd!"))
        agreements.sign_operator(db_session, actor=stranger, agreement_id=five.id)
    agreements.sign_operator(db_session, actor=c.operator, agreement_id=five.id)
    assert five.state == "operator_signed"
    with pytest.raises(Conflict) as locked:
        agreements.update_agreement(db_session, actor=c.agency, agreement_id=five.id, fields={})
    assert locked.value.code == "agreement_not_editable"


def test_incomplete_agreement_cannot_be_signed(db_session, c, tmp):
    plan, ids = approved_plan(db_session, c, tmp)
    sel = decided_selection(db_session, c, plan.id)
    start = clock.today()
    a = agreements.draft_agreement(db_session, actor=c.agency, selection_id=sel.id, title="协议",
                                   content={"resource_ids": ids}, start_date=start,
                                   end_date=start + dt.timedelta(days=365))
    with pytest.raises(ValidationFailed) as exc:
        agreements.sign_agency(db_session, actor=c.agency, agreement_id=a.id, decision_ref="决策 1 号")
    assert {"platform", "liability", "disputes", "products"} <= {e.field for e in exc.value.errors}
    assert a.state == "draft"


def test_rectification_suspension_lift_and_termination(db_session, c, tmp):
    a = signed_agreement(db_session, c, tmp)
    with pytest.raises(PermissionDenied):
        measures.suspend(db_session, actor=c.operator, agreement_id=a.id, facts="x")
    order = measures.order_rectification(db_session, actor=c.industry, agreement_id=a.id, facts="超范围使用数据",
                                         deadline=clock.today() + dt.timedelta(days=30))
    with pytest.raises(ValidationFailed) as past:
        measures.order_rectification(db_session, actor=c.agency, agreement_id=a.id, facts="x",
                                     deadline=clock.today() - dt.timedelta(days=1))
    assert past.value.errors[0].code == "in_past"
    stop = measures.suspend(db_session, actor=c.agency, agreement_id=a.id, facts="整改期间暂停")
    with pytest.raises(Conflict):
        measures.suspend(db_session, actor=c.agency, agreement_id=a.id, facts="再次暂停")
    assert access.is_suspended(db_session, c.operator.org_id)
    with pytest.raises(PermissionDenied) as blocked:
        access.require_not_suspended(db_session, c.operator.org_id)
    assert blocked.value.code == "operator_suspended"
    with pytest.raises(PermissionDenied):
        access.require_active_agreement(db_session, c.operator.org_id)
    (auth,) = disclosure.authorizations(db_session)
    assert auth.suspended and "暂停" in auth.status_label
    # The operator may still report its rectification: that is the way back.
    measures.report_rectification(db_session, actor=c.operator, measure_id=order.id, response="已删除超范围数据")
    with pytest.raises(IllegalTransition):
        measures.report_rectification(db_session, actor=c.operator, measure_id=order.id, response="再报")
    measures.decide_rectification(db_session, actor=c.industry, measure_id=order.id, accept=True, note="验收通过")
    assert order.state == "closed" and order.closed_on
    measures.lift(db_session, actor=c.agency, measure_id=stop.id, note="整改完成")
    assert not access.is_suspended(db_session, c.operator.org_id)
    with pytest.raises(IllegalTransition):
        measures.lift(db_session, actor=c.agency, measure_id=stop.id, note="again")
    with pytest.raises(PermissionDenied):  # only the implementing agency terminates
        measures.terminate(db_session, actor=c.industry, agreement_id=a.id, ground="security_incident", reason="x")
    with pytest.raises(ValidationFailed):
        measures.terminate(db_session, actor=c.agency, agreement_id=a.id, ground="dislike", reason="")
    measures.terminate(db_session, actor=c.agency, agreement_id=a.id, ground="security_incident",
                       reason="发生重大数据泄露")
    assert a.state == "terminated" and "重大数据安全事件" in a.termination_reason
    assert access.active_agreement(db_session, c.operator.org_id) is None
    with pytest.raises(IllegalTransition):
        measures.terminate(db_session, actor=c.agency, agreement_id=a.id, ground="other", reason="再终止")
    with pytest.raises(Conflict) as gone:
        measures.suspend(db_session, actor=c.agency, agreement_id=a.id, facts="x")
    assert gone.value.code == "agreement_not_effective"
    assert disclosure.authorizations(db_session)[0].status == "terminated"
    assert disclosure.annual_report(db_session, year=clock.today().year).measures == {
        "rectification": 1, "suspension": 1, "termination": 1}


def test_suspended_operator_cannot_sign_or_be_selected(db_session, c, tmp):
    a = signed_agreement(db_session, c, tmp)
    measures.suspend(db_session, actor=c.agency, agreement_id=a.id, facts="暂停")
    plan, ids = approved_plan(db_session, c, tmp)
    sel = selection.open_selection(db_session, actor=c.agency, plan_id=plan.id, method="open_tender")
    cand = selection.add_candidate(db_session, actor=c.agency, selection_id=sel.id, org_id=c.operator.org_id,
                                   qualifications=QUALS)
    selection.evaluate_candidate(db_session, actor=c.agency, selection_id=sel.id, candidate_id=cand.id, score=80,
                                 evaluation="一般")
    with pytest.raises(Conflict) as exc:
        selection.decide(db_session, actor=c.agency, selection_id=sel.id, candidate_id=cand.id, decision="x")
    assert exc.value.code == "operator_suspended"
    # An agreement drafted before the suspension cannot be signed by the suspended operator either.
    measures.lift(db_session, actor=c.agency, measure_id=access.active_suspension(db_session, c.operator.org_id).id,
                  note="恢复")
    sel2 = decided_selection(db_session, c, plan.id)
    b = draft(db_session, c, sel2.id, ids)
    measures.suspend(db_session, actor=c.agency, agreement_id=a.id, facts="再次暂停")
    with pytest.raises(PermissionDenied) as blocked:
        agreements.sign_operator(db_session, actor=c.operator, agreement_id=b.id)
    assert blocked.value.code == "operator_suspended"


def test_evaluations_are_kept_per_agreement_and_shown_for_reselection(db_session, c, tmp):
    start = clock.today() - dt.timedelta(days=400)
    with clock.frozen(start):
        a = signed_agreement(db_session, c, tmp)
    with pytest.raises(PermissionDenied):
        evaluations.record_evaluation(db_session, actor=c.agency, agreement_id=a.id, period_start=start,
                                      period_end=start, grade="good", comments="x")
    with pytest.raises(ValidationFailed) as bad:
        evaluations.record_evaluation(db_session, actor=c.authority, agreement_id=a.id, period_start=start,
                                      period_end=clock.today() + dt.timedelta(days=1), grade="A+", comments="",
                                      score=120)
    assert {e.code for e in bad.value.errors} == {"unknown_grade", "out_of_range", "required", "period_in_future"}
    ev = evaluations.record_evaluation(db_session, actor=c.authority, agreement_id=a.id, period_start=start,
                                       period_end=start + dt.timedelta(days=364), grade="good", score=85,
                                       comments="运营规范，产品丰富", evaluator="甘肃省数据局（委托第三方）")
    assert evaluations.for_operator(db_session, c.operator.org_id) == [ev]
