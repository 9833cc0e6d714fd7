"""Registration API: applicant and institution steps (REG-23..30, REG-37), notices, obligations, public notices."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from pubdata import clock
from pubdata.audit import Actor
from pubdata.identity.permissions import Permission
from pubdata.registry import applications as svc
from pubdata.registry import obligations, queues, records, vocab
from pubdata.registry.deadlines import current_due, is_overdue
from pubdata.registry.form import COMMITMENT_TEXT, FIELDS
from pubdata.registry.models import Application, Notice, Obligation
from pubdata.registry.notices import render_text
from pubdata.registry.public_notices import in_notice
from pubdata.registry.requirements import DOCUMENT_LABELS
from pubdata.registry.workflow import KIND_LABELS, MACHINES, STATE_LABELS, Kind
from pubdata.web.api.schemas import PROBLEM_RESPONSES
from pubdata.web.deps import Db, public, requires

router = APIRouter(prefix="/api/v1", tags=["登记"], responses=PROBLEM_RESPONSES)


class NoticeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    number: str | None
    kind: str
    title: str
    body: str
    items: list[dict[str, Any]]
    issued_at: dt.datetime
    issued_by_label: str


class ApplicationOut(BaseModel):
    id: int
    number: str | None
    kind: str
    kind_label: str
    state: str
    state_label: str
    version: int
    registration_id: int
    registration_code: str | None
    subject_org_id: int
    filed_by_org_id: int
    joint_org_ids: list[int]
    content: dict[str, Any]
    documents: dict[str, Any]
    details: dict[str, Any]
    received_on: dt.date | None
    acceptance_due: dt.date | None
    accepted_on: dt.date | None
    review_due: dt.date | None
    notice_start: dt.date | None
    notice_end: dt.date | None
    provisional_dates: list[str]
    overdue: bool
    reasons: str | None
    refusal_ground: str | None
    flags: list[dict[str, Any]]
    allowed_actions: list[str]
    notices: list[NoticeOut]

    @classmethod
    def of(cls, app: Application) -> ApplicationOut:
        return cls(
            id=app.id, number=app.number, kind=app.kind, kind_label=KIND_LABELS[Kind(app.kind)], state=app.state,
            state_label=STATE_LABELS[app.state], version=app.version, registration_id=app.registration_id,
            registration_code=app.registration.code, subject_org_id=app.registration.subject_org_id,
            filed_by_org_id=app.filed_by_org_id, joint_org_ids=app.joint_org_ids, content=app.content,
            documents=app.documents, details=app.details, received_on=app.received_on,
            acceptance_due=app.acceptance_due, accepted_on=app.accepted_on, review_due=app.review_due,
            notice_start=app.notice_start, notice_end=app.notice_end, provisional_dates=app.provisional_dates,
            overdue=is_overdue(app, clock.today()), reasons=app.reasons, refusal_ground=app.refusal_ground,
            flags=app.flags, allowed_actions=MACHINES[Kind(app.kind)].allowed_actions(app.state),
            notices=[NoticeOut.model_validate(n) for n in app.notices],
        )


class CreateIn(BaseModel):
    kind: Literal["first", "change", "correction", "cancellation", "renewal"]
    registration_id: int | None = None
    subject_org_id: int | None = Field(default=None, description="代理机构代为申请时的登记主体（第八条）")
    content: dict[str, Any] | None = None
    documents: dict[str, Any] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)
    joint_org_ids: list[int] = Field(default_factory=list, max_length=50)


@router.post("/applications", response_model=ApplicationOut, status_code=201, summary="新建申请（草稿）")
def create(body: CreateIn, db: Db, actor: Actor = requires(Permission.DRAFT_WRITE)) -> ApplicationOut:
    app = svc.create_application(db, actor=actor, **body.model_dump())
    db.commit()
    return ApplicationOut.of(app)


@router.get("/applications", response_model=list[ApplicationOut], summary="本单位的申请")
def mine(db: Db, limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0),
         actor: Actor = requires(Permission.DRAFT_WRITE)) -> list[ApplicationOut]:
    return [ApplicationOut.of(a) for a in queues.own_applications(db, actor=actor, limit=limit, offset=offset)]


@router.get("/applications/{application_id}", response_model=ApplicationOut, summary="申请详情")
def detail(application_id: int, db: Db, actor: Actor = requires(Permission.ACCOUNT_SELF)) -> ApplicationOut:
    return ApplicationOut.of(svc.view_application(db, actor=actor, application_id=application_id))


class DraftIn(BaseModel):
    version: int | None = None
    content: dict[str, Any] | None = None
    documents: dict[str, Any] | None = None
    details: dict[str, Any] | None = None
    joint_org_ids: list[int] | None = Field(default=None, max_length=50)


@router.put("/applications/{application_id}", response_model=ApplicationOut, summary="保存草稿或补正内容")
def save(application_id: int, body: DraftIn, db: Db, actor: Actor = requires(Permission.DRAFT_WRITE)) -> ApplicationOut:
    app = svc.update_draft(db, actor=actor, application_id=application_id, **body.model_dump())
    db.commit()
    return ApplicationOut.of(app)


class VersionIn(BaseModel):
    version: int | None = Field(default=None, description="看到的申请版本号（乐观锁）")


class ReasonsIn(VersionIn):
    reasons: str = Field(default="", max_length=4000)


class RefuseIn(ReasonsIn):
    ground: str = Field(description="不予登记情形（第三十条）")


class SupplementItem(BaseModel):
    field: str = Field(default="", max_length=200)
    item: str = Field(max_length=500)
    reason: str = Field(default="", max_length=1000)


class SupplementIn(VersionIn):
    items: list[SupplementItem] = Field(max_length=200)


class WithdrawIn(VersionIn):
    reason: str = Field(default="", max_length=2000)


def _done(db: Db, app: Application) -> ApplicationOut:
    db.commit()
    return ApplicationOut.of(app)


@router.post("/applications/{application_id}/submit", response_model=ApplicationOut,
             summary="提交或补正后重新提交（须已实名核验）")
def submit(application_id: int, body: VersionIn, db: Db, actor: Actor = requires(Permission.SUBMIT)) -> ApplicationOut:
    return _done(db, svc.submit(db, actor=actor, application_id=application_id, version=body.version))


@router.post("/applications/{application_id}/withdraw", response_model=ApplicationOut, summary="撤回申请")
def withdraw(application_id: int, body: WithdrawIn, db: Db,
             actor: Actor = requires(Permission.DRAFT_WRITE)) -> ApplicationOut:
    return _done(db, svc.withdraw(db, actor=actor, application_id=application_id, version=body.version,
                                  reason=body.reason))


@router.post("/applications/{application_id}/accept", response_model=ApplicationOut, summary="受理（REG-26）")
def accept(application_id: int, body: VersionIn, db: Db, actor: Actor = requires(Permission.ORG_VERIFY)) -> ApplicationOut:
    return _done(db, svc.accept(db, actor=actor, application_id=application_id, version=body.version))


@router.post("/applications/{application_id}/request-supplement", response_model=ApplicationOut,
             summary="一次性告知补正（REG-26）")
def supplement(application_id: int, body: SupplementIn, db: Db,
               actor: Actor = requires(Permission.ORG_VERIFY)) -> ApplicationOut:
    return _done(db, svc.request_supplement(db, actor=actor, application_id=application_id, version=body.version,
                                            items=[i.model_dump() for i in body.items]))


@router.post("/applications/{application_id}/not-accept", response_model=ApplicationOut, summary="不予受理")
def not_accept(application_id: int, body: ReasonsIn, db: Db,
               actor: Actor = requires(Permission.ORG_VERIFY)) -> ApplicationOut:
    return _done(db, svc.not_accept(db, actor=actor, application_id=application_id, reasons=body.reasons,
                                    version=body.version))


@router.post("/applications/{application_id}/pass", response_model=ApplicationOut, summary="审查通过并公示（REG-27/28）")
def pass_review(application_id: int, body: VersionIn, db: Db,
                actor: Actor = requires(Permission.ORG_VERIFY)) -> ApplicationOut:
    return _done(db, svc.pass_review(db, actor=actor, application_id=application_id, version=body.version))


@router.post("/applications/{application_id}/fail", response_model=ApplicationOut, summary="审查不通过（REG-27）")
def fail(application_id: int, body: ReasonsIn, db: Db, actor: Actor = requires(Permission.ORG_VERIFY)) -> ApplicationOut:
    return _done(db, svc.fail_review(db, actor=actor, application_id=application_id, reasons=body.reasons,
                                     version=body.version))


@router.post("/applications/{application_id}/refuse", response_model=ApplicationOut, summary="不予登记（REG-30）")
def refuse(application_id: int, body: RefuseIn, db: Db, actor: Actor = requires(Permission.ORG_VERIFY)) -> ApplicationOut:
    return _done(db, svc.refuse(db, actor=actor, application_id=application_id, ground=body.ground,
                                reasons=body.reasons, version=body.version))


@router.post("/applications/{application_id}/complete-cancellation", response_model=ApplicationOut,
             summary="完成注销（REG-25(四)）")
def complete(application_id: int, body: VersionIn, db: Db,
             actor: Actor = requires(Permission.ORG_VERIFY)) -> ApplicationOut:
    return _done(db, svc.complete_cancellation(db, actor=actor, application_id=application_id, version=body.version))


class QueueItem(BaseModel):
    application: ApplicationOut
    due: dt.date | None
    overdue: bool


@router.get("/institution/queue", response_model=list[QueueItem], summary="登记机构待办（按期限排序）")
def queue(db: Db, state: Literal["submitted", "under_review", "in_notice"] | None = None, overdue: bool = False,
          actor: Actor = requires(Permission.ORG_VERIFY)) -> list[QueueItem]:
    rows = queues.institution_queue(db, actor=actor, state=state, overdue_only=overdue)
    return [QueueItem(application=ApplicationOut.of(a), due=current_due(a), overdue=o) for a, o in rows]


@router.get("/notices/{notice_id}/download", response_class=PlainTextResponse, summary="下载通知书（文本）")
def download_notice(notice_id: int, db: Db, actor: Actor = requires(Permission.ACCOUNT_SELF)) -> PlainTextResponse:
    notice = db.get(Notice, notice_id)
    if notice is None:
        from pubdata.errors import NotFound

        raise NotFound("通知书不存在。", code="notice_not_found")
    svc.view_application(db, actor=actor, application_id=notice.application_id)
    return PlainTextResponse(render_text(notice), headers={
        "Content-Disposition": f"attachment; filename=\"{notice.number}.txt\""})


class ObligationIn(BaseModel):
    event: str
    event_date: str
    registration_id: int | None = None
    description: str = Field(default="", max_length=2000)


class ObligationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    subject_org_id: int
    registration_id: int | None
    event: str
    event_date: dt.date
    required_kind: str
    due_date: dt.date
    provisional: bool
    status: str


@router.post("/obligations", response_model=ObligationOut, status_code=201, summary="申报登记义务事项（REG-25）")
def declare(body: ObligationIn, db: Db, actor: Actor = requires(Permission.DRAFT_WRITE)) -> Obligation:
    ob = obligations.declare_event(db, actor=actor, **body.model_dump())
    db.commit()
    return ob


@router.get("/obligations", response_model=list[ObligationOut], summary="待履行的登记义务")
def list_obligations(db: Db, overdue: bool = False, actor: Actor = requires(Permission.ACCOUNT_SELF)) -> list[Obligation]:
    return obligations.list_obligations(db, actor=actor, overdue_only=overdue)


class PublicNoticeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    registration_code: str | None = None
    under_objection: bool = False
    subject_name: str
    registration_type: str
    application_kind: str
    data_name: str
    summary: str
    start_date: dt.date
    end_date: dt.date


@router.get("/public/notices", response_model=list[PublicNoticeOut], summary="登记公示（REG-28，无需登录）",
            tags=["公开"], dependencies=[public()])
def public_notices(db: Db, limit: int = Query(50, ge=1, le=200),
                   offset: int = Query(0, ge=0)) -> list[PublicNoticeOut]:
    from pubdata.objections.service import unresolved
    from pubdata.registry.models import Registration

    out = []
    for pn in in_notice(db, limit=limit, offset=offset):
        item = PublicNoticeOut.model_validate(pn)
        reg = db.get(Registration, pn.registration_id)
        item.registration_code = reg.code if reg else None
        item.under_objection = unresolved(db, application_id=pn.application_id) is not None
        out.append(item)
    return out


class FormSpec(BaseModel):
    fields: list[dict[str, str]]
    vocabularies: dict[str, dict[str, str]]
    documents: dict[str, str]
    commitment: str


@router.get("/public/registration-form", response_model=FormSpec, tags=["公开"],
            summary="登记申请表的字段与取值表", dependencies=[public()])
def form_spec() -> FormSpec:
    return FormSpec(fields=[{"path": f.path, "label": f.label, "kind": f.kind} for f in FIELDS],
                    vocabularies={n: vocab.items(n) for n in vocab.names()}, documents=DOCUMENT_LABELS,
                    commitment=COMMITMENT_TEXT)


class CertificateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    number: str | None
    version_no: int
    issued_on: dt.date
    valid_from: dt.date
    valid_until: dt.date
    status: str


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    version_no: int
    content: dict[str, Any]
    application_id: int
    effective_at: dt.datetime


class RegistrationOut(BaseModel):
    id: int
    code: str | None
    national_code: str | None
    subject_org_id: int
    registration_type: str
    data_name: str
    status: str
    current_version: int
    version: int
    versions: list[VersionOut]
    certificates: list[CertificateOut]


def _registration_out(db: Db, reg: Any) -> RegistrationOut:
    return RegistrationOut(
        id=reg.id, code=reg.code, national_code=reg.national_code, subject_org_id=reg.subject_org_id,
        registration_type=reg.registration_type, data_name=reg.data_name, status=reg.status,
        current_version=reg.current_version, version=reg.version,
        versions=[VersionOut.model_validate(v) for v in reg.versions],
        certificates=[CertificateOut.model_validate(c) for c in records.certificates(db, registration_id=reg.id)])


@router.get("/registrations/{registration_id}", response_model=RegistrationOut, summary="登记记录、历史版本与凭证")
def registration(registration_id: int, db: Db, actor: Actor = requires(Permission.ACCOUNT_SELF)) -> RegistrationOut:
    return _registration_out(db, records.view_registration(db, actor=actor, registration_id=registration_id))


class NationalCodeIn(BaseModel):
    national_code: str = Field(max_length=64)


@router.put("/registrations/{registration_id}/national-code", response_model=RegistrationOut,
            summary="记录国家登记平台编码（REG-34）")
def national_code(registration_id: int, body: NationalCodeIn, db: Db,
                  actor: Actor = requires(Permission.ORG_VERIFY)) -> RegistrationOut:
    reg = records.set_national_code(db, actor=actor, registration_id=registration_id, code=body.national_code)
    db.commit()
    return _registration_out(db, reg)
