"""Third-party service organisations (REG-21/22/44): directory, relations and groups, engagements, reports."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from pubdata.audit import Actor
from pubdata.identity.models import Organisation
from pubdata.identity.permissions import Permission
from pubdata.thirdparty import engagements as eng_svc
from pubdata.thirdparty import providers as prov_svc
from pubdata.thirdparty import relations as rel_svc
from pubdata.thirdparty.models import Engagement, OrganisationGroup, OrganisationRelation, Report, ThirdPartyProvider
from pubdata.web.api.schemas import PROBLEM_RESPONSES
from pubdata.web.deps import Db, requires

router = APIRouter(prefix="/api/v1", tags=["第三方专业服务机构"], responses=PROBLEM_RESPONSES)

ServiceKind = Literal["evidence", "assessment", "audit"]


class ProviderOut(BaseModel):
    organisation_id: int
    name: str
    uscc: str
    service_kinds: list[str]
    service_labels: list[str]
    qualifications: str
    contact_name: str
    contact_phone: str
    status: str
    version: int

    @classmethod
    def of(cls, p: ThirdPartyProvider, org: Organisation) -> ProviderOut:
        return cls(organisation_id=p.organisation_id, name=org.name, uscc=org.uscc, service_kinds=p.service_kinds,
                   service_labels=[prov_svc.SERVICE_KINDS.get(k, k) for k in p.service_kinds],
                   qualifications=p.qualifications, contact_name=p.contact_name, contact_phone=p.contact_phone,
                   status=p.status, version=p.version)


def _provider_out(db: Session, p: ThirdPartyProvider) -> ProviderOut:
    org = db.get(Organisation, p.organisation_id)
    assert org is not None
    return ProviderOut.of(p, org)


class ProviderIn(BaseModel):
    service_kinds: list[str] = Field(max_length=10, description="evidence 存证 / assessment 评估 / audit 审计")
    qualifications: str = Field(max_length=8000)
    contact_name: str = Field(default="", max_length=200)
    contact_phone: str = Field(default="", max_length=40)


class ProviderUpdateIn(ProviderIn):
    version: int | None = None


@router.post("/third-parties", response_model=ProviderOut, status_code=201,
             summary="登记为第三方专业服务机构（本单位）")
def register(body: ProviderIn, db: Db, actor: Actor = requires(Permission.THIRD_PARTY_SERVE)) -> ProviderOut:
    p = prov_svc.register_provider(db, actor=actor, **body.model_dump())
    db.commit()
    return _provider_out(db, p)


@router.put("/third-parties/{org_id}", response_model=ProviderOut, summary="更新服务类型与资质")
def update(org_id: int, body: ProviderUpdateIn, db: Db,
           actor: Actor = requires(Permission.THIRD_PARTY_SERVE)) -> ProviderOut:
    p = prov_svc.update_provider(db, actor=actor, org_id=org_id, **body.model_dump())
    db.commit()
    return _provider_out(db, p)


@router.get("/third-parties", response_model=list[ProviderOut], summary="第三方专业服务机构名录")
def directory(db: Db, kind: ServiceKind | None = None, include_suspended: bool = False,
              actor: Actor = requires(Permission.ACCOUNT_SELF)) -> list[ProviderOut]:
    rows = prov_svc.list_providers(db, actor=actor, kind=kind, include_suspended=include_suspended)
    return [ProviderOut.of(p, o) for p, o in rows]


@router.get("/third-parties/{org_id}", response_model=ProviderOut, summary="第三方专业服务机构详情")
def provider(org_id: int, db: Db, actor: Actor = requires(Permission.ACCOUNT_SELF)) -> ProviderOut:
    return _provider_out(db, prov_svc.get_provider(db, org_id=org_id))


class StatusIn(BaseModel):
    action: Literal["suspend", "reinstate"]
    reason: str = Field(max_length=2000)
    version: int | None = None


@router.post("/third-parties/{org_id}/status", response_model=ProviderOut, summary="暂停或恢复服务机构（数据主管部门）")
def set_status(org_id: int, body: StatusIn, db: Db, actor: Actor = requires(Permission.SUPERVISE)) -> ProviderOut:
    p = prov_svc.set_status(db, actor=actor, org_id=org_id, **body.model_dump())
    db.commit()
    return _provider_out(db, p)


# -- relations and groups ---------------------------------------------------------------------------


class RelationIn(BaseModel):
    org_id: int
    related_org_id: int
    kind: str = Field(
        description="parent / subsidiary / shared_legal_representative / other（org_id 对 related_org_id 而言）")
    note: str = Field(default="", max_length=4000)


class RelationOut(BaseModel):
    id: int
    org_id: int
    related_org_id: int
    kind: str
    kind_label: str
    note: str
    declared_by_org_id: int | None
    declared_at: dt.datetime
    status: str
    withdrawal_reason: str | None
    version: int

    @classmethod
    def of(cls, r: OrganisationRelation) -> RelationOut:
        return cls(id=r.id, org_id=r.org_id, related_org_id=r.related_org_id, kind=r.kind,
                   kind_label=rel_svc.RELATION_KINDS.get(r.kind, r.kind), note=r.note,
                   declared_by_org_id=r.declared_by_org_id, declared_at=r.declared_at, status=r.status,
                   withdrawal_reason=r.withdrawal_reason, version=r.version)


class WithdrawIn(BaseModel):
    reason: str = Field(max_length=2000)
    version: int | None = None


@router.post("/organisation-relations", response_model=RelationOut, status_code=201, summary="申报单位关联关系")
def declare_relation(body: RelationIn, db: Db, actor: Actor = requires(Permission.RELATION_DECLARE)) -> RelationOut:
    rel = rel_svc.declare_relation(db, actor=actor, **body.model_dump())
    db.commit()
    return RelationOut.of(rel)


@router.get("/organisation-relations", response_model=list[RelationOut], summary="单位关联关系")
def relations(db: Db, org_id: int | None = None, include_withdrawn: bool = False,
              actor: Actor = requires(Permission.ACCOUNT_SELF)) -> list[RelationOut]:
    rows = rel_svc.list_relations(db, actor=actor, org_id=org_id, include_withdrawn=include_withdrawn)
    return [RelationOut.of(r) for r in rows]


@router.post("/organisation-relations/{relation_id}/withdraw", response_model=RelationOut, summary="撤回关联关系申报")
def withdraw_relation(relation_id: int, body: WithdrawIn, db: Db,
                      actor: Actor = requires(Permission.RELATION_DECLARE)) -> RelationOut:
    rel = rel_svc.withdraw_relation(db, actor=actor, relation_id=relation_id, **body.model_dump())
    db.commit()
    return RelationOut.of(rel)


class GroupIn(BaseModel):
    name: str = Field(max_length=400)
    uscc_prefix: str = Field(max_length=40, description="统一社会信用代码前缀，12–17 位")
    note: str = Field(default="", max_length=4000)


class GroupOut(BaseModel):
    id: int
    name: str
    uscc_prefix: str
    note: str
    declared_by_org_id: int | None
    declared_at: dt.datetime
    status: str
    member_count: int
    version: int


def _group_out(db: Session, g: OrganisationGroup) -> GroupOut:
    return GroupOut(id=g.id, name=g.name, uscc_prefix=g.uscc_prefix, note=g.note,
                    declared_by_org_id=g.declared_by_org_id, declared_at=g.declared_at, status=g.status,
                    member_count=len(rel_svc.group_members(db, g.uscc_prefix)), version=g.version)


@router.post("/organisation-groups", response_model=GroupOut, status_code=201, summary="申报单位集团（信用代码前缀）")
def declare_group(body: GroupIn, db: Db, actor: Actor = requires(Permission.RELATION_DECLARE)) -> GroupOut:
    group = rel_svc.declare_group(db, actor=actor, **body.model_dump())
    db.commit()
    return _group_out(db, group)


@router.get("/organisation-groups", response_model=list[GroupOut], summary="单位集团")
def groups(db: Db, include_withdrawn: bool = False, actor: Actor = requires(Permission.ACCOUNT_SELF)) -> list[GroupOut]:
    return [_group_out(db, g) for g in rel_svc.list_groups(db, actor=actor, include_withdrawn=include_withdrawn)]


@router.post("/organisation-groups/{group_id}/withdraw", response_model=GroupOut, summary="撤回集团申报")
def withdraw_group(group_id: int, body: WithdrawIn, db: Db,
                   actor: Actor = requires(Permission.RELATION_DECLARE)) -> GroupOut:
    group = rel_svc.withdraw_group(db, actor=actor, group_id=group_id, **body.model_dump())
    db.commit()
    return _group_out(db, group)


# -- engagements and reports ------------------------------------------------------------------------


class ReportOut(BaseModel):
    id: int
    engagement_id: int
    registration_id: int
    provider_org_id: int
    kind: str
    title: str
    digest: str
    conclusion: str
    filed_at: dt.datetime

    @classmethod
    def of(cls, r: Report) -> ReportOut:
        return cls(id=r.id, engagement_id=r.engagement_id, registration_id=r.registration_id,
                   provider_org_id=r.provider_org_id, kind=r.kind, title=r.title, digest=r.digest,
                   conclusion=r.conclusion, filed_at=r.filed_at)


class EngagementOut(BaseModel):
    id: int
    registration_id: int
    application_id: int | None
    provider_org_id: int
    service_kind: str
    service_label: str
    scope: str
    engaged_by_org_id: int
    state: str
    state_label: str
    state_reason: str | None
    created_at: dt.datetime
    version: int
    allowed_actions: list[str]
    reports: list[ReportOut]


def _engagement_out(db: Session, e: Engagement) -> EngagementOut:
    return EngagementOut(
        id=e.id, registration_id=e.registration_id, application_id=e.application_id,
        provider_org_id=e.provider_org_id, service_kind=e.service_kind,
        service_label=prov_svc.SERVICE_KINDS.get(e.service_kind, e.service_kind), scope=e.scope,
        engaged_by_org_id=e.engaged_by_org_id, state=e.state, state_label=eng_svc.ENGAGEMENT.labels[e.state],
        state_reason=e.state_reason, created_at=e.created_at, version=e.version,
        allowed_actions=eng_svc.ENGAGEMENT.allowed_actions(e.state),
        reports=[ReportOut.of(r) for r in eng_svc.reports_of(db, e.id)])


class EngageIn(BaseModel):
    provider_org_id: int
    service_kind: str = Field(description="evidence 存证 / assessment 评估 / audit 审计")
    registration_id: int | None = None
    application_id: int | None = Field(default=None, description="也可按申请（含草稿）委托")
    scope: str = Field(default="", max_length=4000)


@router.post("/engagements", response_model=EngagementOut, status_code=201,
             summary="委托第三方专业服务机构（回避审查，REG-22/44）")
def engage(body: EngageIn, db: Db, actor: Actor = requires(Permission.THIRD_PARTY_ENGAGE)) -> EngagementOut:
    e = eng_svc.engage(db, actor=actor, **body.model_dump())
    db.commit()
    return _engagement_out(db, e)


class CheckOut(BaseModel):
    allowed: bool
    reasons: list[str]


@router.get("/engagements/conflict-check", response_model=CheckOut, summary="预查回避情形（不委托）")
def conflict_check(provider_org_id: int, registration_id: int, db: Db,
                   actor: Actor = requires(Permission.THIRD_PARTY_ENGAGE)) -> CheckOut:
    reasons = eng_svc.check(db, actor=actor, provider_org_id=provider_org_id, registration_id=registration_id)
    return CheckOut(allowed=not reasons, reasons=reasons)


@router.get("/engagements", response_model=list[EngagementOut], summary="本单位委托或受托的服务")
def engagements(db: Db, registration_id: int | None = None,
                actor: Actor = requires(Permission.ACCOUNT_SELF)) -> list[EngagementOut]:
    return [_engagement_out(db, e) for e in eng_svc.list_engagements(db, actor=actor, registration_id=registration_id)]


@router.get("/engagements/{engagement_id}", response_model=EngagementOut, summary="委托详情")
def engagement(engagement_id: int, db: Db, actor: Actor = requires(Permission.ACCOUNT_SELF)) -> EngagementOut:
    return _engagement_out(db, eng_svc.view_engagement(db, actor=actor, engagement_id=engagement_id))


class CloseIn(BaseModel):
    reason: str = Field(max_length=2000)
    version: int | None = None


@router.post("/engagements/{engagement_id}/decline", response_model=EngagementOut, summary="拒绝委托（服务机构）")
def decline(engagement_id: int, body: CloseIn, db: Db,
            actor: Actor = requires(Permission.THIRD_PARTY_SERVE)) -> EngagementOut:
    e = eng_svc.decline(db, actor=actor, engagement_id=engagement_id, **body.model_dump())
    db.commit()
    return _engagement_out(db, e)


@router.post("/engagements/{engagement_id}/end", response_model=EngagementOut, summary="终止委托（登记主体）")
def end(engagement_id: int, body: CloseIn, db: Db,
        actor: Actor = requires(Permission.THIRD_PARTY_ENGAGE)) -> EngagementOut:
    e = eng_svc.end(db, actor=actor, engagement_id=engagement_id, **body.model_dump())
    db.commit()
    return _engagement_out(db, e)


class ReportIn(BaseModel):
    title: str = Field(max_length=400)
    digest: str = Field(max_length=64, description="报告文件的 SM3 摘要（先经 /api/v1/files 上传）")
    conclusion: str = Field(max_length=8000)
    version: int | None = None


@router.post("/engagements/{engagement_id}/reports", response_model=ReportOut, status_code=201,
             summary="出具报告（服务机构），附于登记")
def file_report(engagement_id: int, body: ReportIn, db: Db,
                actor: Actor = requires(Permission.THIRD_PARTY_SERVE)) -> ReportOut:
    r = eng_svc.file_report(db, actor=actor, engagement_id=engagement_id, **body.model_dump())
    db.commit()
    return ReportOut.of(r)


@router.get("/registrations/{registration_id}/third-party-reports", response_model=list[ReportOut],
            summary="登记所附的第三方报告")
def registration_reports(registration_id: int, db: Db, actor: Actor = requires(Permission.ACCOUNT_SELF),
                         ) -> list[ReportOut]:
    return [ReportOut.of(r) for r in eng_svc.reports_for_registration(db, actor=actor, registration_id=registration_id)]

