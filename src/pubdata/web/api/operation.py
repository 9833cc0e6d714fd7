"""授权运营 JSON API (OPS-10..21, OPS-36) and the public disclosure (OPS-32) — thin: parse, call one service."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor
from pubdata.errors import PermissionDenied
from pubdata.identity.permissions import Permission
from pubdata.operation import agreements, common, demands, disclosure, evaluations, measures, notices, plans, selection
from pubdata.operation.evaluations import for_operator
from pubdata.operation.models import (
    Agreement,
    OperationMeasure,
    OperationNotice,
    OperationPlan,
    OperatorSelection,
    PlanVersion,
    SharingConsent,
)
from pubdata.operation.regions import scoped_agreements
from pubdata.operation.workflow import AGREEMENT, CONSENT, PLAN
from pubdata.web.api.schemas import PROBLEM_RESPONSES
from pubdata.web.deps import Db, public, requires, requires_any

router = APIRouter(prefix="/api/v1", tags=["授权运营"], responses=PROBLEM_RESPONSES)
Json = dict[str, Any]


def _version(v: PlanVersion) -> Json:
    return {"version_no": v.version_no, "state": v.state, "state_label": PLAN.labels[v.state], "content": v.content,
            "change_reason": v.change_reason, "approved_on": v.approved_on, "filed_on": v.filed_on,
            "reviews": [{"id": r.id, "stage": r.stage, "outcome": r.outcome, "opinion": r.opinion,
                         "details": r.details, "attachments": r.attachments, "reviewer_org_id": r.reviewer_org_id,
                         "reviewed_at": r.reviewed_at} for r in v.reviews]}


def _consent(c: SharingConsent) -> Json:
    return {"id": c.id, "plan_id": c.plan_id, "registration_id": c.registration_id,
            "provider_org_id": c.provider_org_id, "state": c.state, "state_label": CONSENT.labels[c.state],
            "conditions": c.conditions,
            "attachments": c.attachments, "granted_at": c.granted_at, "withdrawn_at": c.withdrawn_at,
            "withdrawal_reason": c.withdrawal_reason}


def _plan(p: OperationPlan, db: Session) -> Json:
    return jsonable_encoder({"id": p.id, "number": p.number, "title": p.title, "owner_org_id": p.owner_org_id,
                             "region_code": p.region_code, "in_force_version_no": p.in_force_version_no,
                             "version": p.version, "versions": [_version(v) for v in p.versions],
                             "consents": [_consent(c) for c in plans.consents_of(db, p.id)]})


def _selection(s: OperatorSelection, db: Session) -> Json:
    return jsonable_encoder({
        "id": s.id, "plan_id": s.plan_id, "plan_version_no": s.plan_version_no, "method": s.method,
        "method_label": selection.METHODS[s.method], "state": s.state, "decision": s.decision,
        "selected_candidate_id": s.selected_candidate_id, "decided_on": s.decided_on, "version": s.version,
        "candidates": [{"id": c.id, "org_id": c.org_id, "qualifications": c.qualifications, "score": c.score,
                        "evaluation": c.evaluation,
                        "past_evaluations": [{"agreement_id": e.agreement_id, "grade": e.grade, "score": e.score,
                                              "period_end": e.period_end, "comments": e.comments}
                                             for e in for_operator(db, c.org_id)]} for c in s.candidates]})


def _agreement(a: Agreement) -> Json:
    cols = {c.key: getattr(a, c.key) for c in Agreement.__table__.columns
            if c.key not in ("agency_signer_user_id", "operator_signer_user_id")}
    return jsonable_encoder({**cols, "state_label": AGREEMENT.labels[a.state]})


def _measure(m: OperationMeasure) -> Json:
    return jsonable_encoder({c.key: getattr(m, c.key) for c in OperationMeasure.__table__.columns
                             if c.key != "ordered_by_user_id"})


# -- plans ---------------------------------------------------------------------------------------------------


class PlanIn(BaseModel):
    content: Json = Field(description="第十四条各项：name, necessity, feasibility, criteria_*, mode, mode_detail, "
                                      "resources[], period_years, construction…, products[], demand_ids[]")
    version: int | None = None


class ReviewIn(BaseModel):
    stage: Literal["feasibility", "legality", "fair_competition", "deliberation"]
    outcome: Literal["pass", "return"]
    opinion: str
    details: Json = Field(default_factory=dict, description="可行性论证：experts[]；审议：decision_ref, meeting")
    attachments: list[str] = Field(default_factory=list)
    version: int | None = None


class FilingIn(BaseModel):
    filed_with: str = ""
    filing_ref: str
    attachments: list[str] = Field(default_factory=list)
    version: int | None = None


class ChangeIn(PlanIn):
    reason: str


class ConsentIn(BaseModel):
    registration_id: int
    conditions: str = ""
    attachments: list[str] = Field(default_factory=list)


class VersionIn(BaseModel):
    version: int | None = None


@router.get("/operation/plans", summary="实施方案列表")
def list_plans(db: Db, actor: Actor = requires(Permission.OPERATION_READ)) -> list[Json]:
    return [_plan(p, db) for p in db.scalars(plans.plans_query(db, actor).limit(200))]


@router.post("/operation/plans", status_code=201, summary="编制实施方案（草稿）")
def create_plan(body: PlanIn, db: Db, actor: Actor = requires(Permission.OPERATION_PLAN)) -> Json:
    plan = plans.create_plan(db, actor=actor, content=body.content)
    db.commit()
    return _plan(plan, db)


@router.get("/operation/plans/{plan_id}", summary="实施方案及其版本、评审记录")
def get_plan(plan_id: int, db: Db, actor: Actor = requires(Permission.OPERATION_READ)) -> Json:
    return _plan(plans.get_plan(db, plan_id, actor), db)


@router.put("/operation/plans/{plan_id}", summary="修改草稿或退回修改的版本")
def update_plan(plan_id: int, body: PlanIn, db: Db, actor: Actor = requires(Permission.OPERATION_PLAN)) -> Json:
    plans.update_plan(db, actor=actor, plan_id=plan_id, content=body.content, version=body.version)
    db.commit()
    return _plan(plans.get_plan(db, plan_id, actor), db)


@router.post("/operation/plans/{plan_id}/submit", summary="提交评审")
def submit_plan(plan_id: int, body: VersionIn, db: Db, actor: Actor = requires(Permission.OPERATION_PLAN)) -> Json:
    plans.submit_plan(db, actor=actor, plan_id=plan_id, version=body.version)
    db.commit()
    return _plan(plans.get_plan(db, plan_id, actor), db)


@router.post("/operation/plans/{plan_id}/reviews", status_code=201,
             summary="论证、合法性审查、公平竞争审查、审议（各由其部门，依次进行）")
def review_plan(plan_id: int, body: ReviewIn, db: Db,
                actor: Actor = requires_any(*common.REVIEWERS)) -> Json:
    plans.review_plan(db, actor=actor, plan_id=plan_id, stage=body.stage, outcome=body.outcome, opinion=body.opinion,
                      details=body.details, attachments=body.attachments, version=body.version)
    db.commit()
    return _plan(plans.get_plan(db, plan_id, actor), db)


@router.post("/operation/plans/{plan_id}/filing", summary="报上级数据主管部门备案")
def file_plan(plan_id: int, body: FilingIn, db: Db, actor: Actor = requires(Permission.OPERATION_FILE)) -> Json:
    plans.file_plan(db, actor=actor, plan_id=plan_id, filed_with=body.filed_with, filing_ref=body.filing_ref,
                    attachments=body.attachments, version=body.version)
    db.commit()
    return _plan(plans.get_plan(db, plan_id, actor), db)


@router.post("/operation/plans/{plan_id}/changes", status_code=201, summary="变更已审定的实施方案（新版本）")
def change_plan(plan_id: int, body: ChangeIn, db: Db, actor: Actor = requires(Permission.OPERATION_PLAN)) -> Json:
    plans.propose_change(db, actor=actor, plan_id=plan_id, content=body.content, reason=body.reason,
                         version=body.version)
    db.commit()
    return _plan(plans.get_plan(db, plan_id, actor), db)


@router.post("/operation/plans/{plan_id}/consents", status_code=201, summary="共享数据提供单位同意（第十二条）")
def consent(plan_id: int, body: ConsentIn, db: Db,
            actor: Actor = requires_any(*common.PROVIDERS)) -> Json:
    c = plans.grant_consent(db, actor=actor, plan_id=plan_id, registration_id=body.registration_id,
                            conditions=body.conditions, attachments=body.attachments)
    db.commit()
    return jsonable_encoder(_consent(c))


class WithdrawalIn(BaseModel):
    reason: str


@router.post("/operation/consents/{consent_id}/withdrawal", summary="共享数据提供单位撤回同意（第十二条）")
def withdraw_consent(consent_id: int, body: WithdrawalIn, db: Db,
                     actor: Actor = requires_any(*common.PROVIDERS)) -> Json:
    c = plans.withdraw_consent(db, actor=actor, consent_id=consent_id, reason=body.reason)
    db.commit()
    return jsonable_encoder(_consent(c))


# -- demands -------------------------------------------------------------------------------------------------


class DemandIn(BaseModel):
    title: str
    scenario: str
    data_needed: str
    expected_product: str = ""
    contact_name: str = ""
    contact: str = ""


@router.post("/operation/demands", status_code=201, summary="提出应用场景需求（无需登录）")
def submit_demand(body: DemandIn, db: Db, actor: Actor = public()) -> Json:
    d = demands.submit_demand(db, actor=actor, **body.model_dump())
    db.commit()
    return {"id": d.id, "title": d.title, "state": d.state}


@router.get("/operation/demands", summary="场景需求列表")
def list_demands(db: Db, state: str | None = None, actor: Actor = requires(Permission.OPERATION_READ)) -> list[Json]:
    return [jsonable_encoder({"id": d.id, "title": d.title, "scenario": d.scenario, "data_needed": d.data_needed,
                              "expected_product": d.expected_product, "state": d.state, "created_at": d.created_at,
                              "plan_ids": demands.plans_answering(db, d.id)})
            for d in db.scalars(demands.demands_query(state).limit(200))]


# -- selection -----------------------------------------------------------------------------------------------


class SelectionIn(BaseModel):
    plan_id: int
    method: Literal["open_tender", "invited_tender", "negotiation"]
    announcement: str = ""


class CandidateIn(BaseModel):
    org_id: int
    qualifications: dict[str, str]
    attachments: list[str] = Field(default_factory=list)


class EvaluationIn(BaseModel):
    score: int | None = None
    evaluation: str


class DecisionIn(BaseModel):
    candidate_id: int
    decision: str
    version: int | None = None


@router.post("/operation/selections", status_code=201, summary="开始选择运营机构（第十八条）")
def open_selection(body: SelectionIn, db: Db, actor: Actor = requires(Permission.OPERATION_SELECT)) -> Json:
    s = selection.open_selection(db, actor=actor, plan_id=body.plan_id, method=body.method,
                                 announcement=body.announcement)
    db.commit()
    return _selection(s, db)


@router.get("/operation/selections/{selection_id}", summary="运营机构选择（含候选单位以往评价）")
def get_selection(selection_id: int, db: Db, actor: Actor = requires(Permission.OPERATION_READ)) -> Json:
    sel = selection.get_selection(db, selection_id)
    plans.get_plan(db, sel.plan_id, actor)  # a data authority: only its own region's
    return _selection(sel, db)


@router.post("/operation/selections/{selection_id}/candidates", status_code=201, summary="登记候选单位及资格材料")
def add_candidate(selection_id: int, body: CandidateIn, db: Db,
                  actor: Actor = requires(Permission.OPERATION_SELECT)) -> Json:
    selection.add_candidate(db, actor=actor, selection_id=selection_id, org_id=body.org_id,
                            qualifications=body.qualifications, attachments=body.attachments)
    db.commit()
    return _selection(selection.get_selection(db, selection_id), db)


@router.post("/operation/selections/{selection_id}/candidates/{candidate_id}/evaluation", summary="评审候选单位")
def evaluate(selection_id: int, candidate_id: int, body: EvaluationIn, db: Db,
             actor: Actor = requires(Permission.OPERATION_SELECT)) -> Json:
    selection.evaluate_candidate(db, actor=actor, selection_id=selection_id, candidate_id=candidate_id,
                                 score=body.score, evaluation=body.evaluation)
    db.commit()
    return _selection(selection.get_selection(db, selection_id), db)


@router.post("/operation/selections/{selection_id}/decision", summary="作出选择决定")
def decide(selection_id: int, body: DecisionIn, db: Db, actor: Actor = requires(Permission.OPERATION_SELECT)) -> Json:
    s = selection.decide(db, actor=actor, selection_id=selection_id, candidate_id=body.candidate_id,
                         decision=body.decision, version=body.version)
    db.commit()
    return _selection(s, db)


# -- agreements ----------------------------------------------------------------------------------------------


class AgreementIn(BaseModel):
    title: str
    content: Json = Field(description="第二十条各项：resource_ids[], products[], catalog, platform, liability…")
    start_date: dt.date
    end_date: dt.date
    term_exception_reason: str = ""
    term_exception_approver: str = ""


class NewAgreementIn(AgreementIn):
    selection_id: int


class SignIn(BaseModel):
    party: Literal["agency", "operator"]
    decision_ref: str = Field("", description="实施机构签署时必填：三重一大决策记录号")
    version: int | None = None


class TerminationIn(BaseModel):
    ground: Literal["security_incident", "major_change", "failure_to_rectify", "other"]
    reason: str
    version: int | None = None


class MeasureIn(BaseModel):
    kind: Literal["rectification", "suspension"]
    facts: str
    deadline: dt.date | None = None
    attachments: list[str] = Field(default_factory=list)


class MeasureActIn(BaseModel):
    action: Literal["report", "accept", "reject", "lift"]
    note: str
    version: int | None = None


class AgreementEvaluationIn(BaseModel):
    period_start: dt.date
    period_end: dt.date
    grade: Literal["excellent", "good", "pass", "fail"]
    score: int | None = None
    comments: str
    evaluator: str = ""


def _visible_agreement(db: Session, actor: Actor, agreement_id: int) -> Agreement:
    a = agreements.get_agreement(db, agreement_id, actor)
    if not actor.can(Permission.OPERATION_READ.value) and actor.org_id != a.operator_org_id:
        raise PermissionDenied("只能查看本单位作为运营机构的协议。", code="other_organisation")
    return a


@router.post("/operation/agreements", status_code=201, summary="拟定授权运营协议")
def draft_agreement(body: NewAgreementIn, db: Db, actor: Actor = requires(Permission.OPERATION_SELECT)) -> Json:
    a = agreements.draft_agreement(db, actor=actor, **body.model_dump())
    db.commit()
    return _agreement(a)


@router.get("/operation/agreements", summary="协议列表（运营机构只见本单位的协议）")
def list_agreements(db: Db, actor: Actor = requires(Permission.ACCOUNT_SELF)) -> list[Json]:
    mine = None if actor.can(Permission.OPERATION_READ.value) else (actor.org_id or 0)
    stmt = scoped_agreements(db, actor, agreements.agreements_query(operator_org_id=mine))
    return [_agreement(a) for a in db.scalars(stmt.limit(200))]


@router.get("/operation/agreements/{agreement_id}", summary="协议详情、措施与评价")
def get_agreement(agreement_id: int, db: Db, actor: Actor = requires(Permission.ACCOUNT_SELF)) -> Json:
    a = _visible_agreement(db, actor, agreement_id)
    return {**_agreement(a), "measures": [_measure(m) for m in measures.measures_for(db, agreement_id=a.id)],
            "evaluations": jsonable_encoder([{"grade": e.grade, "score": e.score, "comments": e.comments,
                                              "period_start": e.period_start, "period_end": e.period_end,
                                              "evaluator": e.evaluator} for e in evaluations.for_agreement(db, a.id)])}


@router.put("/operation/agreements/{agreement_id}", summary="修改协议草稿")
def update_agreement(agreement_id: int, body: AgreementIn, db: Db, version: int | None = None,
                     actor: Actor = requires(Permission.OPERATION_SELECT)) -> Json:
    a = agreements.update_agreement(db, actor=actor, agreement_id=agreement_id, fields=body.model_dump(),
                                    version=version)
    db.commit()
    return _agreement(a)


@router.post("/operation/agreements/{agreement_id}/signatures", summary="签署（实施机构或运营机构）")
def sign(agreement_id: int, body: SignIn, db: Db,
         actor: Actor = requires_any(*common.SIGNERS)) -> Json:
    if body.party == "agency":
        a = agreements.sign_agency(db, actor=actor, agreement_id=agreement_id, decision_ref=body.decision_ref,
                                   version=body.version)
    else:
        a = agreements.sign_operator(db, actor=actor, agreement_id=agreement_id, version=body.version)
    db.commit()
    return _agreement(a)


@router.post("/operation/agreements/{agreement_id}/filing", summary="协议报数据主管部门备案")
def file_agreement(agreement_id: int, body: FilingIn, db: Db, actor: Actor = requires(Permission.OPERATION_FILE)) -> Json:
    a = agreements.file_agreement(db, actor=actor, agreement_id=agreement_id, filing_ref=body.filing_ref,
                                  attachments=body.attachments, version=body.version)
    db.commit()
    return _agreement(a)


@router.post("/operation/agreements/{agreement_id}/termination", summary="终止协议（实施机构，第二十一条）")
def terminate(agreement_id: int, body: TerminationIn, db: Db,
              actor: Actor = requires(Permission.OPERATION_TERMINATE)) -> Json:
    m = measures.terminate(db, actor=actor, agreement_id=agreement_id, ground=body.ground, reason=body.reason,
                           version=body.version)
    db.commit()
    return _measure(m)


@router.post("/operation/agreements/{agreement_id}/measures", status_code=201, summary="督促整改或暂停平台使用权限")
def order_measure(agreement_id: int, body: MeasureIn, db: Db,
                  actor: Actor = requires(Permission.OPERATION_SUPERVISE)) -> Json:
    if body.kind == "rectification":
        m = measures.order_rectification(db, actor=actor, agreement_id=agreement_id, facts=body.facts,
                                         deadline=body.deadline, attachments=body.attachments)
    else:
        m = measures.suspend(db, actor=actor, agreement_id=agreement_id, facts=body.facts, attachments=body.attachments)
    db.commit()
    return _measure(m)


@router.post("/operation/measures/{measure_id}", summary="报告整改、验收、退回或恢复权限")
def act_on_measure(measure_id: int, body: MeasureActIn, db: Db,
                   actor: Actor = requires_any(*common.MEASURE_ACTORS)) -> Json:
    if body.action == "report":
        m = measures.report_rectification(db, actor=actor, measure_id=measure_id, response=body.note,
                                          version=body.version)
    elif body.action == "lift":
        m = measures.lift(db, actor=actor, measure_id=measure_id, note=body.note, version=body.version)
    else:
        m = measures.decide_rectification(db, actor=actor, measure_id=measure_id, accept=body.action == "accept",
                                          note=body.note, version=body.version)
    db.commit()
    return _measure(m)


@router.post("/operation/agreements/{agreement_id}/evaluations", status_code=201, summary="授权运营工作评价")
def evaluate_agreement(agreement_id: int, body: AgreementEvaluationIn, db: Db,
                       actor: Actor = requires(Permission.OPERATION_EVALUATE)) -> Json:
    ev = evaluations.record_evaluation(db, actor=actor, agreement_id=agreement_id, **body.model_dump())
    db.commit()
    return jsonable_encoder({"id": ev.id, "agreement_id": ev.agreement_id, "grade": ev.grade, "score": ev.score})


# -- public disclosure (OPS-32) ------------------------------------------------------------------------------


def _notice(n: OperationNotice) -> Json:
    return jsonable_encoder({c.key: getattr(n, c.key) for c in OperationNotice.__table__.columns
                             if c.key != "issued_by_user_id"})


@router.get("/operation/notices", summary="本单位收到或发出的授权运营通知书")
def list_notices(db: Db, actor: Actor = requires(Permission.ACCOUNT_SELF)) -> list[Json]:
    return [_notice(n) for n in notices.for_org(db, actor=actor)]


@router.get("/operation/notices/{notice_id}", summary="授权运营通知书（收件单位或发文单位）")
def get_notice(notice_id: int, db: Db, actor: Actor = requires(Permission.ACCOUNT_SELF)) -> Json:
    return _notice(notices.get_notice(db, actor=actor, notice_id=notice_id))


@router.get("/operation/notices/{notice_id}/download", response_class=PlainTextResponse, summary="下载通知书（文本）")
def download_notice(notice_id: int, db: Db, actor: Actor = requires(Permission.ACCOUNT_SELF)) -> PlainTextResponse:
    notice = notices.get_notice(db, actor=actor, notice_id=notice_id)
    return PlainTextResponse(notices.render_text(db, notice), headers={
        "Content-Disposition": f"attachment; filename=\"{notice.number}.txt\""})


@router.get("/public/authorizations", tags=["公开"], summary="授权运营公开披露：每一项授权")
def public_authorizations(db: Db, operator_org_id: int | None = None, actor: Actor = public()) -> list[Json]:
    return jsonable_encoder([dataclasses.asdict(a) for a in disclosure.authorizations(db, operator_org_id=operator_org_id)])


@router.get("/public/authorizations/annual-report", tags=["公开"], summary="授权运营年度披露报告（按平台数据生成）")
def public_annual_report(db: Db, year: int = Query(default_factory=lambda: clock.today().year - 1, ge=2020, le=2100),
                         actor: Actor = public()) -> Json:
    return jsonable_encoder(dataclasses.asdict(disclosure.annual_report(db, year=year)))
