"""Third-party service organisations register with the service kinds they offer (REG-21, REG-22(一)).

An organisation holding the ``third_party_service`` role, once real-name verified, registers itself; the data
authority may suspend and reinstate it (REG-16(五): it supervises third parties too). A suspended provider
cannot be engaged and cannot file reports.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.audit import Actor, record
from pubdata.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from pubdata.identity.access import require
from pubdata.identity.models import Organisation
from pubdata.identity.permissions import Permission
from pubdata.identity.roles import Role
from pubdata.supervision.scope import authority_scope, require_covers
from pubdata.thirdparty.models import ThirdPartyProvider
from pubdata.workflow import StateMachine

SERVICE_KINDS = {"evidence": "存证", "assessment": "评估", "audit": "审计"}
PROVIDER = StateMachine(
    name="第三方专业服务机构",
    transitions={("active", "suspend"): "suspended", ("suspended", "reinstate"): "active"},
    labels={"active": "正常", "suspended": "已暂停", "suspend": "暂停", "reinstate": "恢复"},
)


def _fields(service_kinds: Sequence[str], qualifications: str, contact_name: str,
            contact_phone: str) -> tuple[list[str], list[FieldError]]:
    errors: list[FieldError] = []
    kinds = list(dict.fromkeys(service_kinds))
    if not kinds:
        errors.append(FieldError("service_kinds", "required", "请至少选择一种服务类型（存证、评估、审计）。"))
    for i, kind in enumerate(kinds):
        if kind not in SERVICE_KINDS:
            errors.append(FieldError(f"service_kinds.{i}", "unknown_kind",
                                     f"“{kind}”不是服务类型；应为存证、评估或审计。"))
    if not (qualifications or "").strip():
        errors.append(FieldError("qualifications", "required", "请说明管理和技术能力、资质（第二十二条第一项）。"))
    elif len(qualifications.strip()) > 4000:
        errors.append(FieldError("qualifications", "too_long", "资质说明不超过 4000 字。"))
    if len((contact_name or "").strip()) > 100:
        errors.append(FieldError("contact_name", "too_long", "联系人不超过 100 字。"))
    if len((contact_phone or "").strip()) > 20:
        errors.append(FieldError("contact_phone", "too_long", "联系电话不超过 20 位。"))
    return kinds, errors


def holds_role(org: Organisation) -> bool:
    return any(r.role == Role.THIRD_PARTY.value for r in org.active_roles)


def get_provider(session: Session, *, org_id: int) -> ThirdPartyProvider:
    provider = session.scalar(select(ThirdPartyProvider).where(ThirdPartyProvider.organisation_id == org_id))
    if provider is None:
        raise NotFound("该单位未登记为第三方专业服务机构。", code="provider_not_found")
    return provider


def register_provider(session: Session, *, actor: Actor, service_kinds: Sequence[str], qualifications: str,
                      contact_name: str = "", contact_phone: str = "") -> ThirdPartyProvider:
    """The actor's own organisation registers as provider of the given kinds."""
    require(actor, Permission.THIRD_PARTY_SERVE)
    org = session.get(Organisation, actor.org_id) if actor.org_id is not None else None
    if org is None or not holds_role(org):
        raise PermissionDenied("只有具有第三方专业服务机构角色的单位可以登记。", code="not_third_party")
    kinds, errors = _fields(service_kinds, qualifications, contact_name, contact_phone)
    if errors:
        raise ValidationFailed(errors)
    if session.scalar(select(ThirdPartyProvider.id).where(ThirdPartyProvider.organisation_id == org.id)) is not None:
        raise Conflict("本单位已登记为第三方专业服务机构，如需修改请更新登记信息。", code="duplicate_provider")
    provider = ThirdPartyProvider(organisation_id=org.id, service_kinds=kinds, qualifications=qualifications.strip(),
                                  contact_name=(contact_name or "").strip(),
                                  contact_phone=(contact_phone or "").strip(), status="active")
    session.add(provider)
    session.flush()
    record(session, actor=actor, tag="thirdparty:provider:registered", object_type="third_party_provider",
           object_id=provider.id, changes={"service_kinds": [None, kinds], "status": [None, "active"]},
           data={"organisation_id": org.id})
    return provider


def update_provider(session: Session, *, actor: Actor, org_id: int, service_kinds: Sequence[str],
                    qualifications: str, contact_name: str = "", contact_phone: str = "",
                    version: int | None = None) -> ThirdPartyProvider:
    require(actor, Permission.THIRD_PARTY_SERVE)
    if actor.kind != "system" and actor.org_id != org_id:
        raise PermissionDenied("只能修改本单位的登记信息。", code="other_organisation")
    provider = get_provider(session, org_id=org_id)
    if version is not None and version != provider.version:
        raise Conflict("登记信息已被他人修改，请刷新后重试。", code="stale_version")
    kinds, errors = _fields(service_kinds, qualifications, contact_name, contact_phone)
    if errors:
        raise ValidationFailed(errors)
    before = provider.service_kinds
    provider.service_kinds, provider.qualifications = kinds, qualifications.strip()
    provider.contact_name, provider.contact_phone = (contact_name or "").strip(), (contact_phone or "").strip()
    session.flush()
    record(session, actor=actor, tag="thirdparty:provider:updated", object_type="third_party_provider",
           object_id=provider.id, changes={"service_kinds": [before, kinds]} if before != kinds else {})
    return provider


def set_status(session: Session, *, actor: Actor, org_id: int, action: str, reason: str,
               version: int | None = None) -> ThirdPartyProvider:
    """The authority suspends or reinstates a provider in its region, with reasons."""
    require(actor, Permission.SUPERVISE)
    if action not in {"suspend", "reinstate"}:
        raise ValidationFailed.single("action", "unknown_action", "应为暂停或恢复。")
    provider = get_provider(session, org_id=org_id)
    org = session.get(Organisation, org_id)
    require_covers(authority_scope(session, actor), org.region_code if org else None, "该第三方专业服务机构")
    if version is not None and version != provider.version:
        raise Conflict("登记信息已被他人修改，请刷新后重试。", code="stale_version")
    if not (reason or "").strip():
        raise ValidationFailed.single("reason", "required", "暂停或恢复须说明理由。")
    before = provider.status
    provider.status = PROVIDER.next_state(before, action)
    provider.status_reason = reason.strip()
    session.flush()
    record(session, actor=actor, tag=f"thirdparty:provider:{'suspended' if action == 'suspend' else 'reinstated'}",
           object_type="third_party_provider", object_id=provider.id, changes={"status": [before, provider.status]},
           data={"reason": reason.strip()})
    return provider


def list_providers(session: Session, *, actor: Actor, kind: str | None = None,
                   include_suspended: bool = False) -> list[tuple[ThirdPartyProvider, Organisation]]:
    """The directory subjects choose from: active providers (of a kind), with their organisations."""
    require(actor, Permission.ACCOUNT_SELF)
    stmt = select(ThirdPartyProvider, Organisation).join(
        Organisation, Organisation.id == ThirdPartyProvider.organisation_id).order_by(ThirdPartyProvider.id)
    if not include_suspended:
        stmt = stmt.where(ThirdPartyProvider.status == "active")
    rows = [(p, o) for p, o in session.execute(stmt).tuples()]
    return [(p, o) for p, o in rows if kind is None or kind in p.service_kinds]
