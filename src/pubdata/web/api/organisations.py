"""Organisations: sign-up, roles, real-name verification (REG-36), users."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from pubdata.audit import Actor
from pubdata.identity import organisations as orgs
from pubdata.identity.models import OrganisationVerification
from pubdata.identity.permissions import Permission
from pubdata.identity.roles import AuthorityLevel, Role
from pubdata.identity.signup import SignUp, sign_up
from pubdata.identity.users import create_user
from pubdata.web.api.schemas import PROBLEM_RESPONSES, OrganisationOut, UserOut
from pubdata.web.deps import Db, public, requires

router = APIRouter(prefix="/api/v1", tags=["单位与实名核验"], responses=PROBLEM_RESPONSES)


class SignUpIn(BaseModel):
    org_name: str = Field(max_length=200, description="单位名称")
    uscc: str = Field(max_length=32, description="统一社会信用代码")
    kind: str = Field(description="党政机关/事业单位/企业/社会组织/其他")
    region_code: str = Field(max_length=6, description="GB/T 2260 行政区划代码")
    role: Literal["registration_subject", "agent", "third_party_service", "operator"]
    username: str = Field(max_length=64)
    full_name: str = Field(max_length=100)
    password: str = Field(max_length=256)
    phone: str | None = Field(default=None, max_length=20)


class SignUpOut(BaseModel):
    organisation: OrganisationOut
    user: UserOut


@router.post("/public/signup", response_model=SignUpOut, status_code=201, summary="单位注册（待实名核验）")
def signup(body: SignUpIn, db: Db, actor: Actor = public()) -> SignUpOut:
    org, user = sign_up(db, actor=actor, form=SignUp(**body.model_dump()))
    db.commit()
    return SignUpOut(organisation=OrganisationOut.model_validate(org), user=UserOut.model_validate(user))


class OrganisationPage(BaseModel):
    items: list[OrganisationOut]
    total: int


@router.get("/organisations", response_model=OrganisationPage, summary="单位列表")
def list_organisations(
    db: Db,
    status: Literal["unverified", "pending", "verified", "rejected", "suspended"] | None = None,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0),
    actor: Actor = requires(Permission.ORG_READ_ALL),
) -> OrganisationPage:
    rows, total = orgs.list_organisations(db, actor=actor, status=status, limit=limit, offset=offset)
    return OrganisationPage(items=[OrganisationOut.model_validate(o) for o in rows], total=total)


@router.get("/organisations/{org_id}", response_model=OrganisationOut, summary="单位详情")
def get_organisation(org_id: int, db: Db, actor: Actor = requires(Permission.ACCOUNT_SELF)) -> OrganisationOut:
    return OrganisationOut.model_validate(orgs.view_organisation(db, actor=actor, org_id=org_id))


class VerificationRequestIn(BaseModel):
    certificate_kind: str = Field(max_length=100)
    legal_representative: str = Field(max_length=100)
    contact_name: str = Field(max_length=100)
    contact_phone: str = Field(max_length=20)
    authorisation: str = Field(max_length=500)
    version: int | None = Field(default=None, description="看到的单位版本号（乐观锁）")


class VerificationOut(BaseModel):
    id: int
    organisation_id: int
    evidence: dict[str, str]
    decision: str | None
    reason: str | None
    reviewer_id: int | None

    @classmethod
    def of(cls, v: OrganisationVerification) -> VerificationOut:
        return cls(id=v.id, organisation_id=v.organisation_id, evidence=v.evidence, decision=v.decision,
                   reason=v.reason, reviewer_id=v.reviewer_id)


@router.post("/organisations/{org_id}/verification-requests", response_model=VerificationOut, status_code=201,
             summary="申请实名核验（REG-36）")
def request_verification(org_id: int, body: VerificationRequestIn, db: Db,
                         actor: Actor = requires(Permission.ORG_REQUEST_VERIFICATION)) -> VerificationOut:
    evidence = body.model_dump(exclude={"version"})
    req = orgs.request_verification(db, actor=actor, org_id=org_id, evidence=evidence, version=body.version)
    db.commit()
    return VerificationOut.of(req)


@router.get("/verification-queue", response_model=list[VerificationOut], summary="待核验单位（登记机构）")
def verification_queue(db: Db, actor: Actor = requires(Permission.ORG_VERIFY)) -> list[VerificationOut]:
    return [VerificationOut.of(v) for v in orgs.pending_verifications(db, actor=actor)]


class DecisionIn(BaseModel):
    action: Literal["approve", "reject", "suspend", "reinstate"]
    reason: str = Field(default="", max_length=2000)
    checked_evidence: str = Field(default="", max_length=2000, description="核对了哪些材料")
    version: int | None = None


@router.post("/organisations/{org_id}/verification-decisions", response_model=OrganisationOut,
             summary="作出实名核验决定（REG-36）")
def decide(org_id: int, body: DecisionIn, db: Db, actor: Actor = requires(Permission.ORG_VERIFY)) -> OrganisationOut:
    org = orgs.decide_verification(db, actor=actor, org_id=org_id, action=body.action, reason=body.reason,
                                   checked_evidence=body.checked_evidence, version=body.version)
    db.commit()
    return OrganisationOut.model_validate(org)


class RoleIn(BaseModel):
    role: Role
    authority_level: AuthorityLevel | None = None
    region_code: str | None = Field(default=None, max_length=6)
    industry_codes: list[str] = Field(default_factory=list, max_length=100)


@router.post("/organisations/{org_id}/roles", response_model=OrganisationOut, status_code=201,
             summary="授予平台角色（数据主管部门，REG-16）")
def grant_role(org_id: int, body: RoleIn, db: Db, actor: Actor = requires(Permission.ROLE_GRANT)) -> OrganisationOut:
    spec = orgs.RoleSpec(body.role, body.authority_level, body.region_code, tuple(body.industry_codes))
    orgs.grant_role(db, actor=actor, org_id=org_id, spec=spec)
    db.commit()
    return OrganisationOut.model_validate(orgs.get_organisation(db, org_id=org_id))


class UserIn(BaseModel):
    username: str = Field(max_length=64)
    full_name: str = Field(max_length=100)
    password: str = Field(max_length=256)
    phone: str | None = Field(default=None, max_length=20)
    is_org_admin: bool = False


@router.post("/organisations/{org_id}/users", response_model=UserOut, status_code=201, summary="新增本单位用户")
def add_user(org_id: int, body: UserIn, db: Db, actor: Actor = requires(Permission.ORG_USERS_MANAGE)) -> UserOut:
    user = create_user(db, actor=actor, org_id=org_id, **body.model_dump())
    db.commit()
    return UserOut.model_validate(user)
