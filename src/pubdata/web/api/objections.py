"""Objections API (REG-31..33): raise, appraise, refer, decide, withdraw; the public list of 异议中 records."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from pubdata.audit import Actor
from pubdata.identity.permissions import Permission
from pubdata.objections import service as svc
from pubdata.objections.models import Objection
from pubdata.web.api.schemas import PROBLEM_RESPONSES
from pubdata.web.deps import Db, public, requires

router = APIRouter(prefix="/api/v1", tags=["异议"], responses=PROBLEM_RESPONSES)


class ObjectionIn(BaseModel):
    registration_id: int
    claim: Literal["ownership", "content", "other"]
    grounds: str = Field(max_length=4000)
    evidence: list[str] = Field(max_length=50)
    as_person: bool = Field(default=False, description="以自然人名义实名提出")
    person_name: str = Field(default="", max_length=50)
    person_id_number: str = Field(default="", max_length=18)


class NoticeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    addressee: str
    title: str
    body: str
    issued_at: dt.datetime


class ObjectionOut(BaseModel):
    id: int
    version: int
    registration_id: int
    application_id: int | None
    phase: str
    claim: str
    grounds: str
    evidence: list[str]
    state: str
    state_label: str
    objector: str
    appraisal: dict[str, Any]
    referral: dict[str, Any]
    outcome: dict[str, Any]
    decided_on: dt.date | None
    notices: list[NoticeOut]

    @classmethod
    def of(cls, db: Db, obj: Objection) -> ObjectionOut:
        who = f"自然人 {obj.person_name}（身份证号 {obj.person_id_number[:6]}********{obj.person_id_number[-4:]}）" \
            if obj.person_name and obj.person_id_number else f"单位 #{obj.objector_org_id}"
        return cls(id=obj.id, version=obj.version, registration_id=obj.registration_id,
                   application_id=obj.application_id, phase=obj.phase, claim=obj.claim, grounds=obj.grounds,
                   evidence=obj.evidence, state=obj.state, state_label=svc.MACHINE.labels[obj.state], objector=who,
                   appraisal=obj.appraisal, referral=obj.referral, outcome=obj.outcome, decided_on=obj.decided_on,
                   notices=[NoticeOut.model_validate(n) for n in svc.notices_of(db, obj.id)])


@router.post("/objections", response_model=ObjectionOut, status_code=201, summary="实名提出异议（REG-31）")
def raise_objection(body: ObjectionIn, db: Db, actor: Actor = requires(Permission.OBJECTION_RAISE)) -> ObjectionOut:
    obj = svc.raise_objection(db, actor=actor, **body.model_dump())
    db.commit()
    return ObjectionOut.of(db, obj)


@router.get("/objections/{objection_id}", response_model=ObjectionOut, summary="异议详情")
def detail(objection_id: int, db: Db, actor: Actor = requires(Permission.ACCOUNT_SELF)) -> ObjectionOut:
    return ObjectionOut.of(db, svc.view_objection(db, actor=actor, objection_id=objection_id))


@router.get("/institution/objections", response_model=list[ObjectionOut], summary="待处理的异议（登记机构）")
def open_objections(db: Db, actor: Actor = requires(Permission.ORG_VERIFY)) -> list[ObjectionOut]:
    rows = db.scalars(select(Objection).where(Objection.state.in_(svc.UNRESOLVED)).order_by(Objection.id))
    return [ObjectionOut.of(db, o) for o in rows]


class AppraisalIn(BaseModel):
    appraiser: str = Field(max_length=200)
    conclusion: str = Field(max_length=4000)
    report: str | None = Field(default=None, max_length=64)
    version: int | None = None


@router.post("/objections/{objection_id}/appraisal", response_model=ObjectionOut, summary="记录技术鉴定（REG-32）")
def appraisal(objection_id: int, body: AppraisalIn, db: Db,
              actor: Actor = requires(Permission.ORG_VERIFY)) -> ObjectionOut:
    obj = svc.record_appraisal(db, actor=actor, objection_id=objection_id, **body.model_dump())
    db.commit()
    return ObjectionOut.of(db, obj)


class ReferIn(BaseModel):
    venue: Literal["negotiation", "arbitration", "court"]
    note: str = Field(default="", max_length=2000)
    version: int | None = None


@router.post("/objections/{objection_id}/refer", response_model=ObjectionOut, summary="转协商、仲裁或诉讼")
def refer(objection_id: int, body: ReferIn, db: Db, actor: Actor = requires(Permission.ORG_VERIFY)) -> ObjectionOut:
    obj = svc.refer(db, actor=actor, objection_id=objection_id, **body.model_dump())
    db.commit()
    return ObjectionOut.of(db, obj)


class DecideIn(BaseModel):
    action: Literal["uphold", "dismiss"]
    reasons: str = Field(max_length=4000)
    outcome_document: str | None = Field(default=None, max_length=64, description="协议、裁决或判决（SM3 摘要）")
    version: int | None = None


@router.post("/objections/{objection_id}/decide", response_model=ObjectionOut, summary="作出异议处理决定")
def decide(objection_id: int, body: DecideIn, db: Db, actor: Actor = requires(Permission.ORG_VERIFY)) -> ObjectionOut:
    obj = svc.decide(db, actor=actor, objection_id=objection_id, **body.model_dump())
    db.commit()
    return ObjectionOut.of(db, obj)


class WithdrawIn(BaseModel):
    version: int | None = None


@router.post("/objections/{objection_id}/withdraw", response_model=ObjectionOut, summary="撤回异议")
def withdraw(objection_id: int, body: WithdrawIn, db: Db,
             actor: Actor = requires(Permission.OBJECTION_RAISE)) -> ObjectionOut:
    obj = svc.withdraw(db, actor=actor, objection_id=objection_id, version=body.version)
    db.commit()
    return ObjectionOut.of(db, obj)


class UnderObjectionOut(BaseModel):
    registration_code: str | None
    data_name: str
    subject_name: str
    since: dt.date


@router.get("/public/objections", response_model=list[UnderObjectionOut], tags=["公开"],
            summary="异议中的已登记记录（REG-33，无需登录）", dependencies=[public()])
def public_under_objection(db: Db) -> list[UnderObjectionOut]:
    return [UnderObjectionOut(registration_code=r.code, data_name=r.data_name, subject_name=g.name if g else "",
                              since=o.created_at.date()) for r, o, g in svc.under_objection(db)]


class RevokeIn(BaseModel):
    ground: Literal["concealment", "forged_materials", "certificate_tampering", "certificate_misuse"]
    reasons: str = Field(max_length=4000)


class RevokedOut(BaseModel):
    registration_id: int
    registration_code: str | None
    status: str


@router.post("/registrations/{registration_id}/revoke", response_model=RevokedOut, summary="撤销登记（REG-43）")
def revoke(registration_id: int, body: RevokeIn, db: Db, actor: Actor = requires(Permission.ORG_VERIFY)) -> RevokedOut:
    from pubdata.objections.revocations import revoke_registration

    reg = revoke_registration(db, actor=actor, registration_id=registration_id, ground=body.ground,
                              reasons=body.reasons)
    db.commit()
    return RevokedOut(registration_id=reg.id, registration_code=reg.code, status=reg.status)
