"""Organisations: creation, platform roles (REG-16), real-name verification (REG-36)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pubdata.audit import Actor, record
from pubdata.db.base import utcnow
from pubdata.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from pubdata.identity.access import require, require_same_org
from pubdata.identity.models import Organisation, OrganisationRole, OrganisationVerification
from pubdata.identity.permissions import Permission
from pubdata.identity.roles import AuthorityLevel, OrgKind, Role, VerificationStatus
from pubdata.identity.validation import normalise_uscc, uscc_error
from pubdata.reference.industries import get_industry
from pubdata.reference.regions import get_region
from pubdata.workflow import StateMachine

VERIFICATION = StateMachine(
    name="单位实名核验",
    transitions={
        ("unverified", "request"): "pending",
        ("rejected", "request"): "pending",
        ("pending", "approve"): "verified",
        ("pending", "reject"): "rejected",
        ("verified", "suspend"): "suspended",
        ("suspended", "reinstate"): "verified",
    },
    labels={
        **{s.value: s.label for s in VerificationStatus},
        "request": "申请核验",
        "approve": "核验通过",
        "reject": "核验不通过",
        "suspend": "暂停",
        "reinstate": "恢复",
    },
)

#: Roles an organisation may take by itself when it signs up; the others are granted (REG-16).
SELF_SERVICE_ROLES = frozenset({Role.REGISTRATION_SUBJECT, Role.AGENT, Role.THIRD_PARTY, Role.OPERATOR})


@dataclass(frozen=True)
class RoleSpec:
    role: Role
    authority_level: AuthorityLevel | None = None
    region_code: str | None = None
    industry_codes: Sequence[str] = field(default_factory=tuple)


def _role_errors(spec: RoleSpec, prefix: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if spec.role is Role.DATA_AUTHORITY:
        if spec.authority_level is None:
            errors.append(FieldError(f"{prefix}.authority_level", "required", "数据主管部门须注明层级（省级/市州级）。"))
        if not spec.region_code:
            errors.append(FieldError(f"{prefix}.region_code", "required", "数据主管部门须注明管辖地区。"))
    if spec.region_code and get_region(spec.region_code) is None:
        errors.append(
            FieldError(f"{prefix}.region_code", "unknown_region", f"行政区划代码 {spec.region_code} 不存在（GB/T 2260）。")
        )
    if spec.role is Role.INDUSTRY_DEPARTMENT and not spec.industry_codes:
        errors.append(FieldError(f"{prefix}.industry_codes", "required", "行业主管部门须注明所管行业（GB/T 4754）。"))
    for i, code in enumerate(spec.industry_codes):
        if get_industry(code) is None:
            errors.append(
                FieldError(f"{prefix}.industry_codes.{i}", "unknown_industry", f"行业代码 {code} 不存在（GB/T 4754-2017）。")
            )
    return errors


def snapshot(org: Organisation) -> dict[str, Any]:
    return {
        "name": org.name,
        "uscc": org.uscc,
        "kind": org.kind,
        "region_code": org.region_code,
        "verification_status": org.verification_status,
    }


def create_organisation(
    session: Session,
    *,
    actor: Actor,
    name: str,
    uscc: str,
    kind: str,
    region_code: str,
    roles: Sequence[RoleSpec] = (),
) -> Organisation:
    """Create an unverified organisation. Anyone may sign up with self-service roles; other roles
    need the data authority's ROLE_GRANT (or the platform operator's CLI)."""
    granted = [r for r in roles if r.role not in SELF_SERVICE_ROLES]
    if granted:
        require(actor, Permission.ROLE_GRANT)
    name = (name or "").strip()
    code = normalise_uscc(uscc)
    errors: list[FieldError] = []
    if not name:
        errors.append(FieldError("name", "required", "请填写单位名称。"))
    elif len(name) > 200:
        errors.append(FieldError("name", "too_long", "单位名称不超过 200 字。"))
    if (err := uscc_error(code)) is not None:
        errors.append(err)
    if kind not in {k.value for k in OrgKind}:
        errors.append(FieldError("kind", "unknown_kind", "单位性质应为：党政机关、事业单位、企业、社会组织或其他。"))
    if get_region(region_code or "") is None:
        errors.append(FieldError("region_code", "unknown_region", f"行政区划代码 {region_code} 不存在（GB/T 2260）。"))
    for i, spec in enumerate(roles):
        errors.extend(_role_errors(spec, f"roles.{i}"))
    if errors:
        raise ValidationFailed(errors)
    if session.scalar(select(Organisation.id).where(Organisation.uscc == code)) is not None:
        raise Conflict(f"统一社会信用代码 {code} 已注册，请勿重复注册。", code="duplicate_organisation",
                       errors=[FieldError("uscc", "duplicate", "该统一社会信用代码已注册。")])
    org = Organisation(name=name, uscc=code, kind=kind, region_code=region_code, verification_status="unverified")
    session.add(org)
    session.flush()
    for spec in roles:
        session.add(_role_row(org, spec))
    session.flush()
    record(
        session, actor=actor, tag="identity:organisation:created", object_type="organisation", object_id=org.id,
        changes={k: [None, v] for k, v in snapshot(org).items()},
        data={"roles": [_role_dict(spec) for spec in roles]},
    )
    return org


def _role_row(org: Organisation, spec: RoleSpec) -> OrganisationRole:
    return OrganisationRole(
        organisation_id=org.id,
        role=spec.role.value,
        authority_level=spec.authority_level.value if spec.authority_level else None,
        region_code=spec.region_code,
        industry_codes=list(spec.industry_codes),
    )


def _role_dict(spec: RoleSpec) -> dict[str, Any]:
    return {
        "role": spec.role.value,
        "authority_level": spec.authority_level.value if spec.authority_level else None,
        "region_code": spec.region_code,
        "industry_codes": list(spec.industry_codes),
    }


def get_organisation(session: Session, *, org_id: int) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound("单位不存在。", code="organisation_not_found")
    return org


def view_organisation(session: Session, *, actor: Actor, org_id: int) -> Organisation:
    """Object-level read: one's own organisation, or any with ORG_READ_ALL."""
    org = get_organisation(session, org_id=org_id)
    if not actor.can(Permission.ORG_READ_ALL.value):
        require_same_org(actor, org_id)
    return org


def list_organisations(
    session: Session, *, actor: Actor, status: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[Organisation], int]:
    require(actor, Permission.ORG_READ_ALL)
    stmt = select(Organisation)
    if status:
        stmt = stmt.where(Organisation.verification_status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Organisation.id).limit(limit).offset(offset))
    return list(rows), total


def grant_role(session: Session, *, actor: Actor, org_id: int, spec: RoleSpec) -> OrganisationRole:
    require(actor, Permission.ROLE_GRANT)
    org = get_organisation(session, org_id=org_id)
    if errors := _role_errors(spec, "role"):
        raise ValidationFailed(errors)
    if any(r.role == spec.role.value for r in org.active_roles):
        raise Conflict(f"该单位已具有“{spec.role.label}”角色。", code="duplicate_role")
    row = _role_row(org, spec)
    session.add(row)
    session.flush()
    session.refresh(org, ["roles"])
    record(session, actor=actor, tag="identity:organisation:role_granted", object_type="organisation",
           object_id=org.id, data=_role_dict(spec))
    return row


def revoke_role(session: Session, *, actor: Actor, org_id: int, role: Role, reason: str) -> None:
    require(actor, Permission.ROLE_GRANT)
    org = get_organisation(session, org_id=org_id)
    row = next((r for r in org.active_roles if r.role == role.value), None)
    if row is None:
        raise Conflict(f"该单位没有“{role.label}”角色。", code="role_not_held")
    if not reason.strip():
        raise ValidationFailed.single("reason", "required", "撤销角色须说明理由。")
    row.revoked_at = utcnow()
    record(session, actor=actor, tag="identity:organisation:role_revoked", object_type="organisation",
           object_id=org.id, data={"role": role.value, "reason": reason.strip()})


def request_verification(
    session: Session, *, actor: Actor, org_id: int, evidence: dict[str, Any], version: int | None = None
) -> OrganisationVerification:
    """An organisation asks the registration institution to verify it, with its evidence (REG-36)."""
    require(actor, Permission.ORG_REQUEST_VERIFICATION)
    require_same_org(actor, org_id)
    org = get_organisation(session, org_id=org_id)
    _check_version(org, version)
    errors = [
        FieldError(f"evidence.{key}", "required", f"请填写{label}。")
        for key, label in EVIDENCE_FIELDS.items()
        if not str(evidence.get(key) or "").strip()
    ]
    if errors:
        raise ValidationFailed(errors)
    before = org.verification_status
    org.verification_status = VERIFICATION.next_state(before, "request")
    req = OrganisationVerification(
        organisation_id=org.id,
        requested_by_id=actor.user_id,
        evidence={k: str(v).strip() for k, v in evidence.items() if k in EVIDENCE_FIELDS},
    )
    session.add(req)
    session.flush()
    record(session, actor=actor, tag="identity:organisation:verification_requested", object_type="organisation",
           object_id=org.id, changes={"verification_status": [before, org.verification_status]},
           data={"verification_id": req.id, "evidence": req.evidence})
    return req


#: What an organisation states for real-name verification.
EVIDENCE_FIELDS: dict[str, str] = {
    "certificate_kind": "证照类型（营业执照、事业单位法人证书、统一社会信用代码证书等）",
    "legal_representative": "法定代表人（负责人）姓名",
    "contact_name": "经办人姓名",
    "contact_phone": "经办人联系电话",
    "authorisation": "经办人授权情况（授权书编号或说明）",
}


def pending_verifications(session: Session, *, actor: Actor) -> list[OrganisationVerification]:
    require(actor, Permission.ORG_VERIFY)
    stmt = (
        select(OrganisationVerification)
        .join(Organisation, Organisation.id == OrganisationVerification.organisation_id)
        .where(OrganisationVerification.decision.is_(None), Organisation.verification_status == "pending")
        .order_by(OrganisationVerification.requested_at)
    )
    return list(session.scalars(stmt))


def latest_verification(session: Session, *, org_id: int) -> OrganisationVerification | None:
    stmt = (
        select(OrganisationVerification)
        .where(OrganisationVerification.organisation_id == org_id)
        .order_by(OrganisationVerification.id.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def decide_verification(
    session: Session,
    *,
    actor: Actor,
    org_id: int,
    action: str,
    reason: str = "",
    checked_evidence: str = "",
    version: int | None = None,
) -> Organisation:
    """The registration institution approves, rejects, suspends or reinstates (REG-36).

    The decision, reviewer and the evidence the reviewer checked are recorded with the request and in
    the audit trail. An institution never verifies its own organisation (REG-21/22 spirit of 回避).
    """
    require(actor, Permission.ORG_VERIFY)
    if action not in {"approve", "reject", "suspend", "reinstate"}:
        raise ValidationFailed.single("action", "unknown_action", "核验决定应为通过、不通过、暂停或恢复。")
    org = get_organisation(session, org_id=org_id)
    _check_version(org, version)
    if actor.kind == "user" and actor.org_id == org.id:
        raise PermissionDenied("登记机构不能核验本单位。", code="self_verification")
    if action in {"reject", "suspend"} and not reason.strip():
        raise ValidationFailed.single("reason", "required", "不通过或暂停时须说明理由。")
    if action == "approve" and not checked_evidence.strip():
        raise ValidationFailed.single("checked_evidence", "required", "请记录核对了哪些材料（如营业执照原件、授权书）。")
    before = org.verification_status
    org.verification_status = VERIFICATION.next_state(before, action)
    now = utcnow()
    if org.verification_status == "verified":
        org.verified_at = now
    req = latest_verification(session, org_id=org.id)
    if action in {"approve", "reject"} and req is not None and req.decision is None:
        req.decision = org.verification_status
        req.reason = reason.strip() or None
        req.reviewer_id = actor.user_id
        req.reviewer_org_id = actor.org_id
        req.decided_at = now
        req.evidence = {**req.evidence, "checked_by_reviewer": checked_evidence.strip()}
    session.flush()
    record(
        session, actor=actor, tag=f"identity:organisation:verification_{VERIFICATION_TAGS[action]}",
        object_type="organisation", object_id=org.id,
        changes={"verification_status": [before, org.verification_status]},
        data={"reason": reason.strip(), "checked_evidence": checked_evidence.strip(),
              "verification_id": req.id if req else None},
    )
    return org


VERIFICATION_TAGS = {"approve": "approved", "reject": "rejected", "suspend": "suspended", "reinstate": "reinstated"}


def _check_version(org: Organisation, version: int | None) -> None:
    """Optimistic locking for forms: the version the user saw must still be current."""
    if version is not None and version != org.version:
        raise Conflict("该单位信息已被他人修改，请刷新后重试。", code="stale_version")
