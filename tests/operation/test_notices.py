"""Written notices (通知书) of the operation lifecycles: who gets which, numbered and kept; who may read them."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from pubdata import clock
from pubdata.errors import NotFound, PermissionDenied
from pubdata.identity.roles import Role
from pubdata.operation import measures, notices, plans, selection
from pubdata.operation.models import OperationNotice
from pubdata.registry import codes
from tests.factories import PASSWORD, actor_of, make_user
from tests.operation.support import (
    PASS_DETAILS,
    QUALS,
    approved_plan,
    plan_content,
    resource,
    reviewer,
    signed_agreement,
)
from tests.web.conftest import web_login


def _sent(session, kind: str) -> list[OperationNotice]:  # type: ignore[no-untyped-def]
    return list(session.scalars(select(OperationNotice).where(OperationNotice.kind == kind)
                                .order_by(OperationNotice.id)))


def _check_number(n: OperationNotice) -> None:
    prefix, year, serial, _check = n.number.split("-")
    assert prefix == "GSYT" and int(serial) == n.id
    assert n.number == codes.make("GSYT", int(year), n.id)


def test_plan_returned_and_approved_notices_go_to_the_drafting_body(db_session, c, tmp):
    ids = [resource(db_session, c, tmp)]
    plan = plans.create_plan(db_session, actor=c.agency, content=plan_content(ids))
    plans.submit_plan(db_session, actor=c.agency, plan_id=plan.id)
    assert _sent(db_session, "plan_returned") == []  # submission needs no notice
    plans.review_plan(db_session, actor=c.authority, plan_id=plan.id, stage="feasibility", outcome="return",
                      opinion="需补充安全风险评估")
    (back,) = _sent(db_session, "plan_returned")
    assert back.addressee_org_id == c.agency.org_id and back.issued_by_org_id == c.authority.org_id
    assert back.title == "实施方案退回修改通知书" and "可行性论证" in back.body and "退回修改" in back.body
    assert back.items == [{"stage": "可行性论证", "opinion": "需补充安全风险评估"}]
    assert (back.object_type, back.object_id) == ("operation_plan", plan.id)
    _check_number(back)
    plans.update_plan(db_session, actor=c.agency, plan_id=plan.id, content=plan_content(ids))
    plans.submit_plan(db_session, actor=c.agency, plan_id=plan.id)
    for stage in ("feasibility", "legality", "fair_competition"):
        plans.review_plan(db_session, actor=reviewer(c, stage), plan_id=plan.id, stage=stage, outcome="pass",
                          opinion="通过", details=PASS_DETAILS[stage])
    assert _sent(db_session, "plan_approved") == []  # passing a stage short of deliberation sends nothing
    plans.review_plan(db_session, actor=c.government, plan_id=plan.id, stage="deliberation", outcome="pass",
                      opinion="同意实施", details=PASS_DETAILS["deliberation"])
    (ok,) = _sent(db_session, "plan_approved")
    assert ok.addressee_org_id == c.agency.org_id and ok.issued_by_org_id == c.government.org_id
    assert "审议通过" in ok.body and clock.today().isoformat() in ok.body
    db_session.commit()  # the notices satisfy the audit guard: each rides on its transition's event
    text = notices.render_text(db_session, ok)
    assert text.startswith("实施方案审议通过通知书\n编号：GSYT-") and "同意实施" in text


def test_selection_decision_notifies_the_selected_and_every_other_candidate(db_session, c, tmp):
    plan, _ = approved_plan(db_session, c, tmp)
    rival = actor_of(make_user(db_session, Role.OPERATOR))
    sel = selection.open_selection(db_session, actor=c.agency, plan_id=plan.id, method="negotiation")
    cands = [selection.add_candidate(db_session, actor=c.agency, selection_id=sel.id, org_id=o, qualifications=QUALS)
             for o in (c.operator.org_id, rival.org_id)]
    for cand, score in zip(cands, (90, 70), strict=True):
        selection.evaluate_candidate(db_session, actor=c.agency, selection_id=sel.id, candidate_id=cand.id,
                                     score=score, evaluation="评审意见")
    selection.decide(db_session, actor=c.agency, selection_id=sel.id, candidate_id=cands[0].id, decision="得分第一")
    (won,) = _sent(db_session, "selected")
    (lost,) = _sent(db_session, "not_selected")
    assert won.addressee_org_id == c.operator.org_id and "被选定为运营机构" in won.body
    assert lost.addressee_org_id == rival.org_id and "未被选定" in lost.body
    assert {"label": "评审得分", "value": 70} in lost.items
    assert won.object_id == lost.object_id == sel.id
    db_session.commit()


def test_measure_notices_go_to_the_operator_with_a_copy_to_the_agency_when_an_industry_department_acts(
        db_session, c, tmp):
    a = signed_agreement(db_session, c, tmp)
    deadline = clock.today() + dt.timedelta(days=30)
    order = measures.order_rectification(db_session, actor=c.industry, agreement_id=a.id, facts="超范围使用数据",
                                         deadline=deadline)
    to_operator, copy = _sent(db_session, "rectification")
    assert to_operator.addressee_org_id == c.operator.org_id and copy.addressee_org_id == c.agency.org_id
    assert deadline.isoformat() in to_operator.body and "（抄送）" in copy.body
    assert {"label": "整改期限", "value": deadline.isoformat()} in to_operator.items
    assert to_operator.object_id == order.id and to_operator.object_type == "operation_measure"
    stop = measures.suspend(db_session, actor=c.agency, agreement_id=a.id, facts="整改期间暂停")
    (suspended,) = _sent(db_session, "suspension")  # the agency acts itself: no copy
    assert suspended.addressee_org_id == c.operator.org_id and "暂停" in suspended.body
    measures.lift(db_session, actor=c.industry, measure_id=stop.id, note="整改完成")
    lifted = _sent(db_session, "lift")
    assert [n.addressee_org_id for n in lifted] == [c.operator.org_id, c.agency.org_id]
    assert "恢复" in lifted[0].body
    measures.terminate(db_session, actor=c.agency, agreement_id=a.id, ground="security_incident", reason="数据泄露")
    (ended,) = _sent(db_session, "termination")
    assert ended.addressee_org_id == c.operator.org_id and "出现重大数据安全事件" in ended.body
    assert {"label": "终止理由", "value": "数据泄露"} in ended.items
    db_session.commit()
    kept = db_session.scalars(select(OperationNotice).where(OperationNotice.object_type == "operation_measure"))
    assert len({n.number for n in kept}) == 6


def test_only_the_addressee_and_the_issuing_side_may_read_a_notice(db_session, c, tmp):
    a = signed_agreement(db_session, c, tmp)
    measures.suspend(db_session, actor=c.agency, agreement_id=a.id, facts="暂停")
    (n,) = _sent(db_session, "suspension")
    assert notices.get_notice(db_session, actor=c.operator, notice_id=n.id) is n
    assert notices.get_notice(db_session, actor=c.agency, notice_id=n.id) is n
    with pytest.raises(PermissionDenied):
        notices.get_notice(db_session, actor=c.industry, notice_id=n.id)
    with pytest.raises(NotFound):
        notices.get_notice(db_session, actor=c.agency, notice_id=n.id + 999)
    assert n in notices.for_org(db_session, actor=c.operator)
    assert notices.for_org(db_session, actor=c.industry) == []


def test_notice_api_lists_and_downloads_only_for_the_parties(client, db_session, c, tmp):
    a = signed_agreement(db_session, c, tmp)
    measures.suspend(db_session, actor=c.agency, agreement_id=a.id, facts="暂停平台权限")
    db_session.commit()
    (n,) = _sent(db_session, "suspension")
    web_login(client, f"user{c.operator.org_id}", PASSWORD)
    listed = client.get("/api/v1/operation/notices").json()
    assert [x["number"] for x in listed if x["kind"] == "suspension"] == [n.number]
    assert "issued_by_user_id" not in listed[0]
    got = client.get(f"/api/v1/operation/notices/{n.id}/download")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/plain")
    assert f'filename="{n.number}.txt"' in got.headers["content-disposition"]
    assert "暂停授权运营平台使用权限通知书" in got.text and "暂停平台权限" in got.text
    client.cookies.clear()
    web_login(client, f"user{c.industry.org_id}", PASSWORD)
    assert client.get("/api/v1/operation/notices").json() == []
    refused = client.get(f"/api/v1/operation/notices/{n.id}/download")
    assert refused.status_code == 403 and refused.json()["code"] == "other_organisation"
    client.cookies.clear()
    assert client.get(f"/api/v1/operation/notices/{n.id}/download").status_code == 401


def test_operation_pages_list_the_notices_of_the_callers_organisation(client, db_session, c, tmp):
    a = signed_agreement(db_session, c, tmp)
    measures.suspend(db_session, actor=c.agency, agreement_id=a.id, facts="暂停平台权限")
    db_session.commit()
    (n,) = _sent(db_session, "suspension")
    (won,) = _sent(db_session, "selected")
    web_login(client, f"user{c.operator.org_id}", PASSWORD)
    home = client.get("/operation")
    assert home.status_code == 200 and "本单位的通知书" in home.text
    assert n.number in home.text and won.number in home.text
    page = client.get(f"/operation/agreements/{a.id}")
    assert page.status_code == 200 and n.number in page.text
    assert f"/api/v1/operation/notices/{n.id}/download" in page.text
    client.cookies.clear()
    web_login(client, f"user{c.agency.org_id}", PASSWORD)
    plan_page = client.get(f"/operation/plans/{a.plan_id}")
    (approved,) = _sent(db_session, "plan_approved")
    assert plan_page.status_code == 200 and approved.number in plan_page.text
    sel_page = client.get(f"/operation/selections/{a.selection_id}")
    assert sel_page.status_code == 200 and won.number in sel_page.text
    client.cookies.clear()
    web_login(client, f"user{c.industry.org_id}", PASSWORD)  # neither addressee nor issuer of these notices
    other = client.get(f"/operation/agreements/{a.id}")
    assert other.status_code == 200 and n.number not in other.text
