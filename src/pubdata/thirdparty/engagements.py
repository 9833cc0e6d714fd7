"""Engaging a third party for a registration (or its draft application) and the reports it files.

engaged → reported (first report; further reports stay reported) → ended; engaged → declined (by the provider);
engaged → ended (by the applicant side). The 回避 check (``conflicts.find``) runs on engagement and again when a
report is filed, since a relation may have been declared in between. Reports refer to files the provider
uploaded, by SM3 digest, and attach to the registration: its audit history records each one.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.audit import Actor, record
from pubdata.db.base import utcnow
from pubdata.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from pubdata.files.service import exists as file_exists
from pubdata.identity.access import require
from pubdata.identity.models import Organisation
from pubdata.identity.permissions import Permission
from pubdata.registry.models import Application, Registration
from pubdata.registry.records import view_registration
from pubdata.thirdparty import conflicts
from pubdata.thirdparty.models import Engagement, Report
from pubdata.thirdparty.providers import SERVICE_KINDS, get_provider, holds_role
from pubdata.workflow import StateMachine

ENGAGEMENT = StateMachine(
    name="第三方服务委托",
    transitions={
        ("engaged", "report"): "reported",
        ("reported", "report"): "reported",
        ("engaged", "decline"): "declined",
        ("engaged", "end"): "ended",
        ("reported", "end"): "ended",
    },
    labels={"engaged": "已委托", "reported": "已出具报告", "declined": "服务机构已拒绝", "ended": "已终止",
            "report": "出具报告", "decline": "拒绝委托", "end": "终止委托"},
)
OPEN = ("engaged", "reported")
#: A registration that has ended (not registered, cancelled, revoked) takes no new engagements.
ENGAGEABLE = ("pending", "registered")


def applicant_side(session: Session, registration: Registration) -> set[int]:
    """The subject, joint applicants and every organisation that filed for it (its agents)."""
    subjects, _ = conflicts.parties(session, registration)
    filers = set(session.scalars(select(Application.filed_by_org_id)
                                 .where(Application.registration_id == registration.id)))
    return subjects | filers


def _target(session: Session, registration_id: int | None,
            application_id: int | None) -> tuple[Registration, Application | None]:
    if application_id is not None:
        app = session.get(Application, application_id)
        if app is None:
            raise NotFound("申请不存在。", code="application_not_found")
        if registration_id is not None and registration_id != app.registration_id:
            raise ValidationFailed.single("application_id", "not_of_registration", "该申请不属于所指的登记。")
        return app.registration, app
    if registration_id is None:
        raise ValidationFailed.single("registration_id", "required", "请指明委托服务所涉的登记或申请。")
    reg = session.get(Registration, registration_id)
    if reg is None:
        raise NotFound("登记记录不存在。", code="registration_not_found")
    return reg, None


def refuse_conflicts(session: Session, *, provider_org_id: int, registration: Registration) -> None:
    """Raise 409 ``conflict_of_interest`` with one field error per conflicted party (REG-22(五), REG-44)."""
    findings = conflicts.find(session, provider_org_id=provider_org_id, registration=registration)
    if not findings:
        return
    names = conflicts.names_of(session, findings)
    errors = [FieldError("provider_org_id", "same_organisation" if f.same_organisation else f"related_to_{f.party}",
                         f.describe(names)) for f in findings]
    raise Conflict("按回避原则，该第三方专业服务机构不能为此登记提供服务（第二十二条第五项、第四十四条）："
                   + "；".join(e.message for e in errors), code="conflict_of_interest", errors=errors)


def engage(session: Session, *, actor: Actor, provider_org_id: int, service_kind: str,
           registration_id: int | None = None, application_id: int | None = None, scope: str = "") -> Engagement:
    require(actor, Permission.THIRD_PARTY_ENGAGE)
    reg, app = _target(session, registration_id, application_id)
    if actor.kind != "system" and actor.org_id not in applicant_side(session, reg):
        raise PermissionDenied("只有登记主体或其委托代理机构可以委托第三方专业服务机构。", code="not_applicant")
    errors: list[FieldError] = []
    if service_kind not in SERVICE_KINDS:
        errors.append(FieldError("service_kind", "unknown_kind", "服务类型应为存证、评估或审计。"))
    text = (scope or "").strip()
    if len(text) > 2000:
        errors.append(FieldError("scope", "too_long", "委托事项不超过 2000 字。"))
    provider = None
    try:
        provider = get_provider(session, org_id=provider_org_id)
    except NotFound:
        errors.append(FieldError("provider_org_id", "provider_not_found", "该单位未登记为第三方专业服务机构。"))
    if provider is not None and service_kind in SERVICE_KINDS and service_kind not in provider.service_kinds:
        offered = "、".join(SERVICE_KINDS[k] for k in provider.service_kinds)
        errors.append(FieldError("service_kind", "kind_not_offered",
                                 f"该机构不提供{SERVICE_KINDS[service_kind]}服务（提供：{offered}）。"))
    if errors:
        raise ValidationFailed(errors)
    assert provider is not None
    org = session.get(Organisation, provider_org_id)
    if provider.status != "active":
        raise Conflict("该第三方专业服务机构已被暂停，不能接受委托。", code="provider_suspended")
    if org is None or not holds_role(org) or not org.is_verified:
        raise Conflict("该单位目前不具备第三方专业服务机构资格（角色已撤销或未通过实名核验）。",
                       code="provider_not_eligible")
    if reg.status not in ENGAGEABLE:
        raise Conflict("该登记已结束（未予登记、已注销或已撤销），不能再委托服务。", code="registration_closed")
    duplicate = session.scalar(select(Engagement.id).where(
        Engagement.registration_id == reg.id, Engagement.provider_org_id == provider_org_id,
        Engagement.service_kind == service_kind, Engagement.state.in_(OPEN)))
    if duplicate is not None:
        raise Conflict("已就该登记委托该机构提供同一服务。", code="duplicate_engagement")
    refuse_conflicts(session, provider_org_id=provider_org_id, registration=reg)
    eng = Engagement(registration_id=reg.id, application_id=app.id if app else None, provider_org_id=provider_org_id,
                     service_kind=service_kind, scope=text, engaged_by_org_id=actor.org_id or reg.subject_org_id,
                     engaged_by_user_id=actor.user_id, state="engaged")
    session.add(eng)
    session.flush()
    data = {"registration_id": reg.id, "application_id": eng.application_id, "provider_org_id": provider_org_id,
            "service_kind": service_kind, "scope": text}
    record(session, actor=actor, tag="thirdparty:engagement:engaged", object_type="third_party_engagement",
           object_id=eng.id, changes={"state": [None, "engaged"]}, data=data)
    record(session, actor=actor, tag="thirdparty:registration:engaged", object_type="registration", object_id=reg.id,
           data={"engagement_id": eng.id, **data})
    return eng


def get_engagement(session: Session, *, engagement_id: int) -> Engagement:
    eng = session.get(Engagement, engagement_id)
    if eng is None:
        raise NotFound("委托不存在。", code="engagement_not_found")
    return eng


def _check_version(eng: Engagement, version: int | None) -> None:
    if version is not None and version != eng.version:
        raise Conflict("该委托已被他人处理，请刷新后重试。", code="stale_version")


def _close(session: Session, actor: Actor, eng: Engagement, action: str, reason: str) -> Engagement:
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed.single("reason", "required", "须说明理由。")
    before = eng.state
    eng.state = ENGAGEMENT.next_state(before, action)
    eng.state_reason, eng.closed_at = text, utcnow()
    session.flush()
    tag = "declined" if action == "decline" else "ended"
    record(session, actor=actor, tag=f"thirdparty:engagement:{tag}", object_type="third_party_engagement",
           object_id=eng.id, changes={"state": [before, eng.state]}, data={"reason": text})
    return eng


def decline(session: Session, *, actor: Actor, engagement_id: int, reason: str,
            version: int | None = None) -> Engagement:
    """The provider refuses the engagement (e.g. it sees a conflict the declarations do not show)."""
    require(actor, Permission.THIRD_PARTY_SERVE)
    eng = get_engagement(session, engagement_id=engagement_id)
    if actor.kind != "system" and actor.org_id != eng.provider_org_id:
        raise PermissionDenied("只有受托的服务机构可以拒绝委托。", code="not_provider")
    _check_version(eng, version)
    return _close(session, actor, eng, "decline", reason)


def end(session: Session, *, actor: Actor, engagement_id: int, reason: str, version: int | None = None) -> Engagement:
    """The applicant side ends the engagement; reports already filed stay attached."""
    require(actor, Permission.THIRD_PARTY_ENGAGE)
    eng = get_engagement(session, engagement_id=engagement_id)
    reg = session.get(Registration, eng.registration_id)
    assert reg is not None
    if actor.kind != "system" and actor.org_id not in applicant_side(session, reg):
        raise PermissionDenied("只有登记主体或其委托代理机构可以终止委托。", code="not_applicant")
    _check_version(eng, version)
    return _close(session, actor, eng, "end", reason)


def file_report(session: Session, *, actor: Actor, engagement_id: int, title: str, digest: str, conclusion: str,
                version: int | None = None) -> Report:
    """The provider files its report (REG-22(三)); it attaches to the registration."""
    require(actor, Permission.THIRD_PARTY_SERVE)
    eng = get_engagement(session, engagement_id=engagement_id)
    if actor.kind != "system" and actor.org_id != eng.provider_org_id:
        raise PermissionDenied("只有受托的服务机构可以出具报告。", code="not_provider")
    _check_version(eng, version)
    ENGAGEMENT.next_state(eng.state, "report")  # refuse on a closed engagement before validating
    errors: list[FieldError] = []
    text_title, text_conclusion = (title or "").strip(), (conclusion or "").strip()
    if not text_title:
        errors.append(FieldError("title", "required", "请填写报告名称。"))
    elif len(text_title) > 200:
        errors.append(FieldError("title", "too_long", "报告名称不超过 200 字。"))
    if not text_conclusion:
        errors.append(FieldError("conclusion", "required", "请填写报告结论摘要。"))
    elif len(text_conclusion) > 4000:
        errors.append(FieldError("conclusion", "too_long", "结论摘要不超过 4000 字。"))
    hexd = (digest or "").strip().lower()
    if not file_exists(session, hexd, organisation_id=eng.provider_org_id):
        errors.append(FieldError("digest", "file_not_found", "报告文件未上传：请先由本机构上传，再按 SM3 摘要引用。"))
    if errors:
        raise ValidationFailed(errors)
    provider = get_provider(session, org_id=eng.provider_org_id)
    if provider.status != "active":
        raise Conflict("该第三方专业服务机构已被暂停，不能出具报告。", code="provider_suspended")
    reg = session.get(Registration, eng.registration_id)
    assert reg is not None
    refuse_conflicts(session, provider_org_id=eng.provider_org_id, registration=reg)
    before = eng.state
    eng.state = ENGAGEMENT.next_state(before, "report")
    report = Report(engagement_id=eng.id, registration_id=reg.id, provider_org_id=eng.provider_org_id,
                    kind=eng.service_kind, title=text_title, digest=hexd, conclusion=text_conclusion,
                    filed_by_user_id=actor.user_id)
    session.add(report)
    session.flush()
    data = {"report_id": report.id, "kind": report.kind, "title": text_title, "digest": hexd}
    record(session, actor=actor, tag="thirdparty:engagement:reported", object_type="third_party_engagement",
           object_id=eng.id, changes={"state": [before, eng.state]} if before != eng.state else {}, data=data)
    record(session, actor=actor, tag="thirdparty:registration:report_attached", object_type="registration",
           object_id=reg.id, data={"engagement_id": eng.id, **data})
    return report


def _reads_all(actor: Actor) -> bool:
    return actor.kind == "system" or any(actor.can(p.value) for p in (
        Permission.ORG_VERIFY, Permission.AUDIT_READ, Permission.SUPERVISE_READ))


def view_engagement(session: Session, *, actor: Actor, engagement_id: int) -> Engagement:
    require(actor, Permission.ACCOUNT_SELF)
    eng = get_engagement(session, engagement_id=engagement_id)
    if _reads_all(actor) or actor.org_id == eng.provider_org_id:
        return eng
    reg = session.get(Registration, eng.registration_id)
    if reg is not None and actor.org_id in applicant_side(session, reg):
        return eng
    raise PermissionDenied("只能查看本单位委托或受托的服务。", code="other_organisation")


def list_engagements(session: Session, *, actor: Actor, registration_id: int | None = None) -> list[Engagement]:
    """As provider or applicant side; readers of everything see all (optionally for one registration)."""
    require(actor, Permission.ACCOUNT_SELF)
    stmt = select(Engagement).order_by(Engagement.id.desc())
    if registration_id is not None:
        stmt = stmt.where(Engagement.registration_id == registration_id)
    rows = list(session.scalars(stmt))
    if _reads_all(actor):
        return rows
    out = []
    for eng in rows:
        if actor.org_id in {eng.provider_org_id, eng.engaged_by_org_id}:
            out.append(eng)
            continue
        reg = session.get(Registration, eng.registration_id)
        if reg is not None and actor.org_id in applicant_side(session, reg):
            out.append(eng)
    return out


def reports_for_registration(session: Session, *, actor: Actor, registration_id: int) -> list[Report]:
    """The reports attached to a registration: its applicant side, the institution and overseers (REG-22(四):
    reports are confidential, not public); a provider sees the ones it filed."""
    require(actor, Permission.ACCOUNT_SELF)
    stmt = select(Report).where(Report.registration_id == registration_id).order_by(Report.id)
    try:
        view_registration(session, actor=actor, registration_id=registration_id)
    except PermissionDenied:
        if actor.can(Permission.SUPERVISE_READ.value):
            return list(session.scalars(stmt))
        mine = list(session.scalars(stmt.where(Report.provider_org_id == actor.org_id)))
        if mine:
            return mine
        raise
    return list(session.scalars(stmt))


def reports_of(session: Session, engagement_id: int) -> list[Report]:
    return list(session.scalars(select(Report).where(Report.engagement_id == engagement_id).order_by(Report.id)))


def check(session: Session, *, actor: Actor, provider_org_id: int, registration_id: int) -> list[str]:
    """Dry run of the 回避 check for the applicant side: the reasons a provider could not be engaged."""
    require(actor, Permission.THIRD_PARTY_ENGAGE)
    reg, _ = _target(session, registration_id, None)
    if actor.kind != "system" and actor.org_id not in applicant_side(session, reg):
        raise PermissionDenied("只有登记主体或其委托代理机构可以查询。", code="not_applicant")
    findings = conflicts.find(session, provider_org_id=provider_org_id, registration=reg)
    names = conflicts.names_of(session, findings)
    return [f.describe(names) for f in findings]
