"""Supervision (REG-16..19, REG-39..42), industry oversight (REG-18) and statistics disclosure (REG-40)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field

from pubdata.audit import Actor
from pubdata.identity.permissions import Permission
from pubdata.registry.models import Registration
from pubdata.supervision import industry, measures, releases, reports, stats, workload
from pubdata.supervision.models import Evaluation, Measure, StatisticRelease
from pubdata.web.api.schemas import PROBLEM_RESPONSES
from pubdata.web.deps import Db, public, requires

router = APIRouter(prefix="/api/v1", tags=["监督管理"], responses=PROBLEM_RESPONSES)


# -- workload, compliance, overdue ------------------------------------------------------------------


class DecisionOut(BaseModel):
    application_id: int
    number: str | None
    step: str
    decided_on: dt.date
    due: dt.date
    on_time: bool
    days_late: int


class OverdueOut(BaseModel):
    application_id: int
    number: str | None
    kind: str
    state: str
    step: str
    due: dt.date
    days_overdue: int
    subject_org_id: int


class WorkloadOut(BaseModel):
    institution_org_id: int | None
    name: str
    region_code: str | None
    active: bool
    open_by_state: dict[str, int]
    waiting_for_applicant: int
    received: int
    decided: int
    on_time: int
    late: int
    on_time_rate: float | None
    late_decisions: list[DecisionOut]
    overdue: list[OverdueOut]

    @classmethod
    def of(cls, w: workload.Workload) -> WorkloadOut:
        return cls(institution_org_id=w.institution_org_id, name=w.name, region_code=w.region_code, active=w.active,
                   open_by_state=w.open_by_state, waiting_for_applicant=w.waiting_for_applicant, received=w.received,
                   decided=w.decided, on_time=w.on_time, late=w.late, on_time_rate=w.on_time_rate,
                   late_decisions=[DecisionOut(application_id=d.application_id, number=d.number, step=d.step,
                                               decided_on=d.decided_on, due=d.due, on_time=d.on_time,
                                               days_late=d.days_late) for d in w.decisions if not d.on_time],
                   overdue=[OverdueOut(**o.__dict__) for o in w.overdue])


class WorkloadPage(BaseModel):
    start: dt.date
    end: dt.date
    institutions: list[WorkloadOut]


@router.get("/supervision/institutions", response_model=WorkloadPage,
            summary="各登记机构的工作量、办理时限与逾期情况（数据主管部门、监管部门）")
def institutions(db: Db, start: dt.date | None = None, end: dt.date | None = None,
                 actor: Actor = requires(Permission.SUPERVISE_READ)) -> WorkloadPage:
    s, e, loads = workload.workload(db, actor=actor, start=start, end=end)
    return WorkloadPage(start=s, end=e, institutions=[WorkloadOut.of(w) for w in loads])


@router.get("/supervision/overdue", response_model=list[OverdueOut], summary="逾期未办事项（最逾期者在前）")
def overdue(db: Db, actor: Actor = requires(Permission.SUPERVISE_READ)) -> list[OverdueOut]:
    return [OverdueOut(**o.__dict__) for _, o in workload.overdue_work(db, actor=actor)]


# -- measures and evaluations -----------------------------------------------------------------------


class MeasureIn(BaseModel):
    kind: str = Field(description="interview 约谈 / onsite_guidance 现场指导 / disqualification 取消资格")
    grounds: list[str] = Field(max_length=10, description="第四十二条情形")
    facts: str = Field(max_length=8000)
    measure_date: dt.date | None = None
    rectification_due: dt.date | None = None
    attachments: list[str] = Field(default_factory=list, max_length=50)


class MeasureOut(BaseModel):
    id: int
    institution_org_id: int
    kind: str
    kind_label: str
    grounds: list[str]
    facts: str
    measure_date: dt.date
    rectification_due: dt.date | None
    attachments: list[str]
    role_revoked: bool
    authority_org_id: int | None
    created_at: dt.datetime

    @classmethod
    def of(cls, m: Measure) -> MeasureOut:
        return cls(id=m.id, institution_org_id=m.institution_org_id, kind=m.kind,
                   kind_label=measures.MEASURE_KINDS.get(m.kind, m.kind), grounds=m.grounds, facts=m.facts,
                   measure_date=m.measure_date, rectification_due=m.rectification_due, attachments=m.attachments,
                   role_revoked=m.role_revoked, authority_org_id=m.authority_org_id, created_at=m.created_at)


@router.post("/supervision/institutions/{org_id}/measures", response_model=MeasureOut, status_code=201,
             summary="对登记机构采取管理措施（约谈/现场指导/取消资格，REG-42）")
def record_measure(org_id: int, body: MeasureIn, db: Db, actor: Actor = requires(Permission.SUPERVISE)) -> MeasureOut:
    m = measures.record_measure(db, actor=actor, institution_org_id=org_id, **body.model_dump())
    db.commit()
    return MeasureOut.of(m)


@router.get("/supervision/measures", response_model=list[MeasureOut], summary="管理措施记录")
def list_measures(db: Db, institution_org_id: int | None = None,
                  actor: Actor = requires(Permission.SUPERVISE_READ)) -> list[MeasureOut]:
    return [MeasureOut.of(m) for m in measures.list_measures(db, actor=actor, institution_org_id=institution_org_id)]


class EvaluationIn(BaseModel):
    period_start: dt.date
    period_end: dt.date
    grade: str = Field(description="excellent 优秀 / good 良好 / pass 合格 / fail 不合格")
    score: int | None = None
    comments: str = Field(max_length=8000)


class EvaluationOut(BaseModel):
    id: int
    institution_org_id: int
    period_start: dt.date
    period_end: dt.date
    grade: str
    grade_label: str
    score: int | None
    comments: str
    metrics: dict[str, Any]
    authority_org_id: int | None
    created_at: dt.datetime

    @classmethod
    def of(cls, e: Evaluation) -> EvaluationOut:
        return cls(id=e.id, institution_org_id=e.institution_org_id, period_start=e.period_start,
                   period_end=e.period_end, grade=e.grade, grade_label=measures.GRADES.get(e.grade, e.grade),
                   score=e.score, comments=e.comments, metrics=e.metrics, authority_org_id=e.authority_org_id,
                   created_at=e.created_at)


@router.post("/supervision/institutions/{org_id}/evaluations", response_model=EvaluationOut, status_code=201,
             summary="评价登记机构服务水平（REG-39）")
def record_evaluation(org_id: int, body: EvaluationIn, db: Db,
                      actor: Actor = requires(Permission.SUPERVISE)) -> EvaluationOut:
    e = measures.record_evaluation(db, actor=actor, institution_org_id=org_id, **body.model_dump())
    db.commit()
    return EvaluationOut.of(e)


@router.get("/supervision/evaluations", response_model=list[EvaluationOut], summary="服务水平评价记录")
def list_evaluations(db: Db, institution_org_id: int | None = None,
                     actor: Actor = requires(Permission.SUPERVISE_READ)) -> list[EvaluationOut]:
    rows = measures.list_evaluations(db, actor=actor, institution_org_id=institution_org_id)
    return [EvaluationOut.of(e) for e in rows]


# -- the institution's periodic report --------------------------------------------------------------


@router.get("/supervision/institutions/{org_id}/report", response_model=dict[str, Any],
            summary="登记机构定期工作报告（REG-19(七)，由平台数据生成）")
def report(org_id: int, db: Db, start: dt.date | None = None, end: dt.date | None = None,
           actor: Actor = requires(Permission.INSTITUTION_REPORT)) -> dict[str, Any]:
    data: dict[str, Any] = jsonable_encoder(
        reports.periodic_report(db, actor=actor, institution_org_id=org_id, start=start, end=end))
    return data


@router.get("/supervision/institutions/{org_id}/report/download", response_class=PlainTextResponse,
            summary="下载定期工作报告（纯文本或 CSV）")
def report_download(org_id: int, db: Db, start: dt.date | None = None, end: dt.date | None = None,
                    format: Literal["text", "csv"] = "text",
                    actor: Actor = requires(Permission.INSTITUTION_REPORT)) -> Response:
    data = reports.periodic_report(db, actor=actor, institution_org_id=org_id, start=start, end=end)
    period = data["period"]
    stem = f"report-{org_id}-{period['start']:%Y%m%d}-{period['end']:%Y%m%d}"
    if format == "csv":
        return Response(reports.render_csv(data), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'})
    return PlainTextResponse(reports.render_text(data),
                             headers={"Content-Disposition": f'attachment; filename="{stem}.txt"'})


# -- industry departments (REG-18) ------------------------------------------------------------------


class IndustryRegistrationOut(BaseModel):
    id: int
    code: str | None
    subject_org_id: int
    registration_type: str
    data_name: str
    status: str
    matched_industries: list[str]
    content: dict[str, Any]

    @classmethod
    def of(cls, item: industry.IndustryRegistration) -> IndustryRegistrationOut:
        reg: Registration = item.registration
        return cls(id=reg.id, code=reg.code, subject_org_id=reg.subject_org_id,
                   registration_type=reg.registration_type, data_name=reg.data_name, status=reg.status,
                   matched_industries=item.matched, content=dict(item.content))


@router.get("/industry/registrations", response_model=list[IndustryRegistrationOut],
            summary="本行业的登记（行业主管部门，REG-18）")
def industry_registrations(
    db: Db,
    status: Literal["pending", "registered", "not_registered", "cancelled", "revoked"] | None = None,
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0),
    actor: Actor = requires(Permission.REGISTRY_READ_INDUSTRY),
) -> list[IndustryRegistrationOut]:
    rows = industry.industry_registrations(db, actor=actor, status=status, limit=limit, offset=offset)
    return [IndustryRegistrationOut.of(r) for r in rows]


@router.get("/industry/registrations/{registration_id}", response_model=IndustryRegistrationOut,
            summary="本行业登记详情")
def industry_registration(registration_id: int, db: Db,
                          actor: Actor = requires(Permission.REGISTRY_READ_INDUSTRY)) -> IndustryRegistrationOut:
    return IndustryRegistrationOut.of(
        industry.view_industry_registration(db, actor=actor, registration_id=registration_id))


# -- statistics (REG-40) ----------------------------------------------------------------------------


@router.get("/statistics", response_model=dict[str, Any], summary="登记统计（未经同意不得披露，REG-40）")
def statistics(db: Db, start: dt.date | None = None, end: dt.date | None = None,
               region_code: str | None = Query(None, max_length=6),
               actor: Actor = requires(Permission.STATISTICS_READ)) -> dict[str, Any]:
    return stats.statistics(db, actor=actor, start=start, end=end, region_code=region_code)


class ReleaseIn(BaseModel):
    title: str = Field(max_length=400)
    period_start: dt.date
    period_end: dt.date
    region_code: str | None = Field(default=None, max_length=6)


class ReleaseOut(BaseModel):
    id: int
    title: str
    period_start: dt.date
    period_end: dt.date
    region_code: str
    state: str
    state_label: str
    snapshot: dict[str, Any]
    created_at: dt.datetime
    decided_at: dt.datetime | None
    reason: str | None
    version: int
    allowed_actions: list[str]

    @classmethod
    def of(cls, r: StatisticRelease) -> ReleaseOut:
        return cls(id=r.id, title=r.title, period_start=r.period_start, period_end=r.period_end,
                   region_code=r.region_code, state=r.state, state_label=releases.RELEASE.labels[r.state],
                   snapshot=r.snapshot, created_at=r.created_at, decided_at=r.decided_at, reason=r.reason,
                   version=r.version, allowed_actions=releases.RELEASE.allowed_actions(r.state))


@router.post("/statistics/releases", response_model=ReleaseOut, status_code=201, summary="拟定统计信息发布（快照）")
def draft_release(body: ReleaseIn, db: Db, actor: Actor = requires(Permission.STATISTICS_DRAFT)) -> ReleaseOut:
    r = releases.draft_release(db, actor=actor, **body.model_dump())
    db.commit()
    return ReleaseOut.of(r)


@router.get("/statistics/releases", response_model=list[ReleaseOut], summary="统计信息发布（全部状态）")
def list_releases(db: Db, state: Literal["draft", "approved", "rejected", "withdrawn"] | None = None,
                  actor: Actor = requires(Permission.STATISTICS_READ)) -> list[ReleaseOut]:
    return [ReleaseOut.of(r) for r in releases.list_releases(db, actor=actor, state=state)]


@router.get("/statistics/releases/{release_id}", response_model=ReleaseOut, summary="统计信息发布详情")
def view_release(release_id: int, db: Db, actor: Actor = requires(Permission.STATISTICS_READ)) -> ReleaseOut:
    return ReleaseOut.of(releases.view_release(db, actor=actor, release_id=release_id))


class ApproveIn(BaseModel):
    version: int | None = Field(default=None, description="看到的版本号（乐观锁）")


class ReasonIn(ApproveIn):
    reason: str = Field(default="", max_length=2000)


@router.post("/statistics/releases/{release_id}/approve", response_model=ReleaseOut,
             summary="同意公开（数据主管部门，REG-40）")
def approve_release(release_id: int, body: ApproveIn, db: Db,
                    actor: Actor = requires(Permission.STATISTICS_APPROVE)) -> ReleaseOut:
    r = releases.approve_release(db, actor=actor, release_id=release_id, version=body.version)
    db.commit()
    return ReleaseOut.of(r)


@router.post("/statistics/releases/{release_id}/reject", response_model=ReleaseOut, summary="不同意公开")
def reject_release(release_id: int, body: ReasonIn, db: Db,
                   actor: Actor = requires(Permission.STATISTICS_APPROVE)) -> ReleaseOut:
    r = releases.reject_release(db, actor=actor, release_id=release_id, reason=body.reason, version=body.version)
    db.commit()
    return ReleaseOut.of(r)


@router.post("/statistics/releases/{release_id}/withdraw", response_model=ReleaseOut, summary="撤回已公开的统计信息")
def withdraw_release(release_id: int, body: ReasonIn, db: Db,
                     actor: Actor = requires(Permission.STATISTICS_APPROVE)) -> ReleaseOut:
    r = releases.withdraw_release(db, actor=actor, release_id=release_id, reason=body.reason, version=body.version)
    db.commit()
    return ReleaseOut.of(r)


class PublicReleaseOut(BaseModel):
    id: int
    title: str
    period_start: dt.date
    period_end: dt.date
    region_code: str
    approved_at: dt.datetime | None
    statistics: dict[str, Any]


@router.get("/public/statistics", response_model=list[PublicReleaseOut], tags=["公开"],
            summary="经数据主管部门同意公开的登记统计（无需登录）", dependencies=[public()])
def public_statistics(db: Db, limit: int = Query(50, ge=1, le=200),
                      offset: int = Query(0, ge=0)) -> list[PublicReleaseOut]:
    return [PublicReleaseOut(id=r.id, title=r.title, period_start=r.period_start, period_end=r.period_end,
                             region_code=r.region_code, approved_at=r.decided_at, statistics=r.snapshot)
            for r in releases.public_releases(db, limit=limit, offset=offset)]
