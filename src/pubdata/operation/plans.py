"""Implementation plans (OPS-13..17): drafting, the ordered reviews, approval, filing, versions, OPS-12 consent.

A plan is a sequence of versions. The first version and every change go through the same ordered reviews
(OPS-17 “按原流程重新报请审议同意”): feasibility argument → legality review → fair-competition review →
deliberation by the people's government → filing upward. An approved version stays in force until a later
version is approved; it is then superseded. Every transition touches the plan row, so its optimistic-lock
version guards the whole aggregate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from pubdata import clock
from pubdata.audit import Actor, record
from pubdata.audit.service import diff
from pubdata.db.base import utcnow
from pubdata.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from pubdata.identity.access import require, require_same_org
from pubdata.identity.models import Organisation
from pubdata.identity.permissions import Permission
from pubdata.operation import notices
from pubdata.operation.common import attachments as clean_attachments
from pubdata.operation.common import check_version, get, number, text
from pubdata.operation.content import clean_plan
from pubdata.operation.models import (
    OperationPlan,
    PlanDemandLink,
    PlanReview,
    PlanVersion,
    ScenarioDemand,
    SharingConsent,
)
from pubdata.operation.regions import require_plan_region, scoped_plans
from pubdata.operation.workflow import (
    CONSENT,
    DEMAND,
    IN_FORCE_STATES,
    PASS_ACTION,
    PLAN,
    STAGE_LABELS,
    STAGE_PERMISSION,
    UNDER_REVIEW,
)
from pubdata.registry.models import Registration

OBJECT = "operation_plan"


def get_plan(session: Session, plan_id: int, actor: Actor | None = None) -> OperationPlan:
    """The plan; with ``actor``, only within a data authority's own region (``operation.regions``)."""
    plan = get(session, OperationPlan, plan_id, "实施方案")
    if actor is not None:
        require_plan_region(session, actor, plan)
    return plan


def plans_query(session: Session, actor: Actor) -> Select[tuple[OperationPlan]]:
    """The plans the actor may list, newest first (a data authority: its own region's)."""
    return scoped_plans(session, actor, select(OperationPlan).order_by(OperationPlan.id.desc()))


def latest(plan: OperationPlan) -> PlanVersion:
    return plan.versions[-1]


def in_force(plan: OperationPlan) -> PlanVersion | None:
    """The approved version now in force (OPS-17), if any."""
    for v in plan.versions:
        if v.version_no == plan.in_force_version_no:
            return v
    return None


def _touch(plan: OperationPlan) -> None:
    flag_modified(plan, "latest_version_no")  # bumps the plan's lock version with any change of a version


def _owned(session: Session, actor: Actor, plan_id: int, version: int | None) -> OperationPlan:
    require(actor, Permission.OPERATION_PLAN)
    plan = get_plan(session, plan_id, actor)
    require_same_org(actor, plan.owner_org_id)
    check_version(plan, version)
    return plan


def _move(session: Session, actor: Actor, plan: OperationPlan, v: PlanVersion, action: str,
          data: Mapping[str, Any] | None = None) -> None:
    before = v.state
    v.state = PLAN.next_state(v.state, action)
    _touch(plan)
    session.flush()
    record(session, actor=actor, tag=f"operation:plan:{action}", object_type=OBJECT, object_id=plan.id,
           changes={"state": [before, v.state]}, data={"version_no": v.version_no, **(data or {})})


def create_plan(session: Session, *, actor: Actor, content: Mapping[str, Any]) -> OperationPlan:
    """A draft plan by a data authority or implementing agency (OPS-13); incomplete drafts are fine."""
    require(actor, Permission.OPERATION_PLAN)
    clean, errors = clean_plan(session, content, complete=False)
    if errors:
        raise ValidationFailed(errors)
    org = session.get(Organisation, actor.org_id) if actor.org_id else None
    plan = OperationPlan(title=clean["name"], owner_org_id=actor.org_id, region_code=org.region_code if org else "620000",
                         latest_version_no=1)
    session.add(plan)
    session.flush()
    plan.number = number("SSFA", clock.today().year, plan.id)
    session.add(PlanVersion(plan_id=plan.id, version_no=1, content=clean))
    session.flush()
    session.refresh(plan)
    record(session, actor=actor, tag="operation:plan:created", object_type=OBJECT, object_id=plan.id,
           data={"number": plan.number, "version_no": 1, "content": clean})
    return plan


def update_plan(session: Session, *, actor: Actor, plan_id: int, content: Mapping[str, Any],
                version: int | None = None) -> PlanVersion:
    """Edit the latest version while it is a draft or was returned for revision."""
    plan = _owned(session, actor, plan_id, version)
    v = latest(plan)
    if v.state not in ("draft", "returned"):
        raise Conflict(f"实施方案第 {v.version_no} 版当前为“{PLAN.labels[v.state]}”，不能修改。", code="plan_not_editable")
    clean, errors = clean_plan(session, content, complete=False)
    if errors:
        raise ValidationFailed(errors)
    if v.state == "returned":
        _move(session, actor, plan, v, "revise")
    changes = diff(v.content, clean)
    v.content = clean
    if v.version_no == 1 or plan.in_force_version_no is None:
        plan.title = clean["name"]
    _touch(plan)
    session.flush()
    record(session, actor=actor, tag="operation:plan:edited", object_type=OBJECT, object_id=plan.id,
           changes=changes, data={"version_no": v.version_no})
    return v


def current_consent(session: Session, plan_id: int, registration_id: int,
                    provider_org_id: int) -> SharingConsent | None:
    """The provider's latest consent record for this resource in this plan (granted or withdrawn), if any."""
    return session.scalars(select(SharingConsent).where(
        SharingConsent.plan_id == plan_id, SharingConsent.registration_id == registration_id,
        SharingConsent.provider_org_id == provider_org_id).order_by(SharingConsent.id.desc()).limit(1)).first()


def consent_states(session: Session, plan: OperationPlan, content: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each shared resource of a version (OPS-12) with its consent: state ``granted`` / ``withdrawn`` / ``missing``."""
    out = []
    for i, r in enumerate(content.get("resources", [])):
        provider = r.get("shared_from_org_id")
        if provider is None:
            continue
        consent = current_consent(session, plan.id, r["registration_id"], provider)
        out.append({"index": i, "registration_id": r["registration_id"], "provider_org_id": provider,
                    "consent": consent, "state": consent.state if consent is not None else "missing"})
    return out


def _consent_error(session: Session, item: Mapping[str, Any]) -> FieldError:
    org = session.get(Organisation, item["provider_org_id"])
    name = org.name if org else item["provider_org_id"]
    if item["state"] == "withdrawn":
        c = item["consent"]
        return FieldError(
            f"resources.{item['index']}", "sharing_consent_withdrawn",
            f"共享数据提供单位“{name}”已撤回对该数据资源用于本方案的同意（理由：{c.withdrawal_reason}），"
            "须重新征得其同意或将该数据资源移出方案（第十二条）。")
    return FieldError(
        f"resources.{item['index']}", "sharing_consent_missing",
        f"该数据资源以政务数据共享方式取得，须先由共享数据提供单位“{name}”在平台上记录同意（第十二条）。")


def _check_consents(session: Session, plan: OperationPlan, content: Mapping[str, Any],
                    errors: list[FieldError]) -> None:
    """OPS-12: data obtained through government data sharing needs the providing unit's consent on record."""
    for item in consent_states(session, plan, content):
        if item["state"] != "granted":
            errors.append(_consent_error(session, item))


def withdrawn_resources(session: Session, plan: OperationPlan, v: PlanVersion | None) -> list[int]:
    """Registration ids of a version's shared resources whose consent is not (or no longer) on record."""
    if v is None:
        return []
    return [x["registration_id"] for x in consent_states(session, plan, v.content) if x["state"] != "granted"]


def _check_demands(session: Session, ids: Sequence[int], errors: list[FieldError]) -> None:
    found = set(session.scalars(select(ScenarioDemand.id).where(ScenarioDemand.id.in_(list(ids))))) if ids else set()
    for i, d in enumerate(ids):
        if d not in found:
            errors.append(FieldError(f"demand_ids.{i}", "demand_not_found", f"场景需求 {d} 不存在。"))


def submit_plan(session: Session, *, actor: Actor, plan_id: int, version: int | None = None) -> PlanVersion:
    """Send the latest version into the ordered reviews; every OPS-14 item must be filled in."""
    plan = _owned(session, actor, plan_id, version)
    v = latest(plan)
    PLAN.next_state(v.state, "submit")  # illegal moves first, before checking content
    clean, errors = clean_plan(session, v.content, complete=True)
    _check_consents(session, plan, clean, errors)
    _check_demands(session, clean["demand_ids"], errors)
    if errors:
        raise ValidationFailed(errors, detail="实施方案内容不完整或不符合要求，请按提示修改后再提交。")
    v.content = clean
    v.submitted_at = utcnow()
    _move(session, actor, plan, v, "submit")
    return v


def _review_details(stage: str, details: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    if stage == "feasibility":
        experts = [
            {"name": str(e.get("name") or "").strip()[:50], "unit": str(e.get("unit") or "").strip()[:200],
             "opinion": str(e.get("opinion") or "").strip()[:4000]}
            for e in details.get("experts") or [] if str(e.get("name") or "").strip()
        ]
        if not experts:
            errors.append(FieldError("experts", "required", "请记录参加可行性论证的专家及其意见（第十六条）。"))
        for i, e in enumerate(experts):
            if not e["opinion"]:
                errors.append(FieldError(f"experts.{i}", "required", f"请填写专家“{e['name']}”的论证意见。"))
        return {"experts": experts}
    if stage == "deliberation":
        ref = text(details.get("decision_ref"), "decision_ref", "“三重一大”决策记录号（会议纪要号）", errors, limit=100)
        meeting = text(details.get("meeting"), "meeting", "审议会议", errors, required=False, limit=200)
        return {"decision_ref": ref, "meeting": meeting}
    return {}


def review_plan(session: Session, *, actor: Actor, plan_id: int, stage: str, outcome: str, opinion: str,
                details: Mapping[str, Any] | None = None, attachments: Sequence[str] = (),
                version: int | None = None) -> PlanReview:
    """One review step, by its own body, in order (OPS-10, OPS-16, OPS-17): pass moves on, return sends back."""
    if stage not in STAGE_PERMISSION:
        raise ValidationFailed.single("stage", "unknown_stage", "评审环节应为可行性论证、合法性审查、公平竞争审查或审议。")
    require(actor, STAGE_PERMISSION[stage])
    plan = get_plan(session, plan_id, actor)
    check_version(plan, version)
    v = latest(plan)
    if v.state in UNDER_REVIEW and v.state != stage:
        raise Conflict(
            f"实施方案当前应进行“{STAGE_LABELS[v.state]}”，不能进行“{STAGE_LABELS[stage]}”：可行性论证、合法性审查、"
            "公平竞争审查、本级人民政府审议须依次进行。", code="review_out_of_order")
    action = PASS_ACTION[stage] if outcome == "pass" else "return"
    PLAN.next_state(v.state, action)
    if outcome == "pass":  # a version relying on a withdrawn consent cannot move on; returning it is the remedy
        blocked = [_consent_error(session, x) for x in consent_states(session, plan, v.content)
                   if x["state"] != "granted"]
        if blocked:
            raise Conflict("；".join(e.message for e in blocked) + " 在此之前不能通过评审，可退回修改。",
                           code=blocked[0].code)
    errors: list[FieldError] = []
    if outcome not in ("pass", "return"):
        errors.append(FieldError("outcome", "unknown_outcome", "评审结果应为通过或退回修改。"))
    opinion_text = text(opinion, "opinion", "意见或结论", errors)
    clean_details = _review_details(stage, details or {}, errors) if outcome == "pass" else {}
    files = clean_attachments(session, actor, attachments, errors)
    if errors:
        raise ValidationFailed(errors)
    review = PlanReview(plan_id=plan.id, plan_version_id=v.id, stage=stage, outcome=outcome, opinion=opinion_text,
                        details=clean_details, attachments=files, reviewer_org_id=actor.org_id,
                        reviewer_user_id=actor.user_id)
    v.reviews.append(review)
    session.flush()
    data = {"review_id": review.id, "stage": stage, "outcome": outcome, "opinion": opinion_text, **clean_details}
    if action == "approve":
        _approve(session, actor, plan, v, data)
    else:
        _move(session, actor, plan, v, action, data)
    _notify(session, actor, plan, v, stage, action, opinion_text)
    return review


def _notify(session: Session, actor: Actor, plan: OperationPlan, v: PlanVersion, stage: str, action: str,
            opinion: str) -> None:
    """A written notice to the drafting body when its plan is returned for revision or approved."""
    if action not in ("return", "approve"):
        return
    head = f"你单位编制的实施方案“{plan.title}”（{plan.number or plan.id}）第 {v.version_no} 版"
    if action == "return":
        body = f"{head}经{STAGE_LABELS[stage]}，退回修改。请按以下意见修改后重新提交。"
    else:
        day = (v.approved_on or clock.today()).isoformat()
        body = f"{head}已经本级人民政府审议通过，自 {day} 起施行。请按规定报上级数据主管部门备案。"
    notices.issue(session, actor=actor, object_type=OBJECT, object_id=plan.id, addressee_org_id=plan.owner_org_id,
                  kind="plan_returned" if action == "return" else "plan_approved", body=body,
                  items=[{"stage": STAGE_LABELS[stage], "opinion": opinion}])


def _approve(session: Session, actor: Actor, plan: OperationPlan, v: PlanVersion, data: dict[str, Any]) -> None:
    """Deliberation passed: this version is in force; the one before is superseded (OPS-17)."""
    old = in_force(plan)
    v.approved_on = clock.today()
    _move(session, actor, plan, v, "approve", data)
    if old is not None and old.state in IN_FORCE_STATES:
        _move(session, actor, plan, old, "supersede", {"superseded_by": v.version_no})
    plan.in_force_version_no = v.version_no
    plan.title = v.content.get("name") or plan.title
    for demand_id in v.content.get("demand_ids", []):
        session.add(PlanDemandLink(plan_version_id=v.id, demand_id=demand_id, plan_id=plan.id))
        demand = session.get(ScenarioDemand, demand_id)
        if demand is not None and demand.state == "open":
            demand.state = DEMAND.next_state(demand.state, "adopt")
            session.flush()
            record(session, actor=actor, tag="operation:demand:adopted", object_type="operation_demand",
                   object_id=demand.id, changes={"state": ["open", "adopted"]}, data={"plan_id": plan.id})
    session.flush()


def file_plan(session: Session, *, actor: Actor, plan_id: int, filed_with: str, filing_ref: str,
              attachments: Sequence[str] = (), version: int | None = None) -> PlanReview:
    """Filing of the approved plan (or change) with the upper-level data authority (OPS-17)."""
    require(actor, Permission.OPERATION_FILE)
    plan = get_plan(session, plan_id, actor)
    check_version(plan, version)
    v = latest(plan)
    PLAN.next_state(v.state, "file")
    errors: list[FieldError] = []
    authority = text(filed_with, "filed_with", "备案机关（上级数据主管部门）", errors, limit=200)
    ref = text(filing_ref, "filing_ref", "备案号", errors, limit=100)
    files = clean_attachments(session, actor, attachments, errors)
    if errors:
        raise ValidationFailed(errors)
    review = PlanReview(plan_id=plan.id, plan_version_id=v.id, stage="filing", outcome="pass",
                        opinion=f"已报{authority}备案", details={"filed_with": authority, "filing_ref": ref},
                        attachments=files, reviewer_org_id=actor.org_id, reviewer_user_id=actor.user_id)
    v.reviews.append(review)
    v.filed_on = clock.today()
    session.flush()
    _move(session, actor, plan, v, "file", {"review_id": review.id, "filed_with": authority, "filing_ref": ref})
    return review


def propose_change(session: Session, *, actor: Actor, plan_id: int, content: Mapping[str, Any], reason: str,
                   version: int | None = None) -> PlanVersion:
    """A change of an approved plan: a new draft version; the approved one stays in force meanwhile (OPS-17)."""
    plan = _owned(session, actor, plan_id, version)
    current = latest(plan)
    if plan.in_force_version_no is None or current.state not in IN_FORCE_STATES:
        raise Conflict("只有审议通过、且没有正在办理的变更的实施方案才能提出变更。", code="plan_change_not_allowed")
    errors: list[FieldError] = []
    why = text(reason, "change_reason", "变更理由", errors)
    clean, content_errors = clean_plan(session, content, complete=False)
    errors += content_errors
    if errors:
        raise ValidationFailed(errors)
    v = PlanVersion(plan_id=plan.id, version_no=current.version_no + 1, content=clean, change_reason=why)
    session.add(v)
    plan.latest_version_no = v.version_no
    session.flush()
    session.refresh(plan)
    record(session, actor=actor, tag="operation:plan:change_proposed", object_type=OBJECT, object_id=plan.id,
           data={"version_no": v.version_no, "reason": why, "changes": diff(current.content, clean)})
    return v


def withdraw_plan(session: Session, *, actor: Actor, plan_id: int, reason: str, version: int | None = None) -> None:
    plan = _owned(session, actor, plan_id, version)
    errors: list[FieldError] = []
    why = text(reason, "reason", "撤回理由", errors)
    v = latest(plan)
    PLAN.next_state(v.state, "withdraw")
    if errors:
        raise ValidationFailed(errors)
    _move(session, actor, plan, v, "withdraw", {"reason": why})


def grant_consent(session: Session, *, actor: Actor, plan_id: int, registration_id: int, conditions: str = "",
                  attachments: Sequence[str] = ()) -> SharingConsent:
    """The providing unit of shared data consents to its use in this plan (OPS-12)."""
    require(actor, Permission.ACCOUNT_SELF)
    if not actor.org_verified:
        raise PermissionDenied("本单位尚未通过实名核验，不能作出同意。", code="organisation_unverified")
    plan = get_plan(session, plan_id)
    listed = any(r["registration_id"] == registration_id and r.get("shared_from_org_id") == actor.org_id
                 for v in plan.versions for r in v.content.get("resources", []))
    if not listed:
        raise NotFound("该实施方案没有将此数据资源列为由本单位共享提供的数据。", code="consent_not_requested")
    existing = current_consent(session, plan.id, registration_id, actor.org_id or 0)
    if existing is not None and existing.state == "granted":
        raise Conflict("本单位已同意该数据资源用于本方案，无需重复同意。", code="consent_already_granted")
    errors: list[FieldError] = []
    cond = text(conditions, "conditions", "同意的条件与范围", errors, required=False)
    files = clean_attachments(session, actor, attachments, errors)
    if errors:
        raise ValidationFailed(errors)
    consent = SharingConsent(registration_id=registration_id, provider_org_id=actor.org_id, plan_id=plan.id,
                             conditions=cond, attachments=files, granted_by_user_id=actor.user_id)
    session.add(consent)
    session.flush()
    record(session, actor=actor, tag="operation:consent:granted", object_type="operation_sharing_consent",
           object_id=consent.id, data={"plan_id": plan.id, "registration_id": registration_id, "conditions": cond})
    return consent


def withdraw_consent(session: Session, *, actor: Actor, consent_id: int, reason: str) -> SharingConsent:
    """The providing unit withdraws its consent (OPS-12), with a reason. Nothing is deleted or silently changed:
    a version not yet approved that relies on it cannot be submitted or pass a review until consent is given again
    or the resource is taken out; an approved version stays in force as approved and is flagged for its drafting
    body (written notice), and no new agreement may put the resource in scope."""
    require(actor, Permission.ACCOUNT_SELF)
    if not actor.org_verified:
        raise PermissionDenied("本单位尚未通过实名核验，不能撤回同意。", code="organisation_unverified")
    consent = get(session, SharingConsent, consent_id, "共享数据使用同意")
    if consent.provider_org_id != actor.org_id:
        raise PermissionDenied("只有作出同意的共享数据提供单位可以撤回同意。", code="not_provider")
    new = CONSENT.next_state(consent.state, "withdraw")
    errors: list[FieldError] = []
    why = text(reason, "withdrawal_reason", "撤回同意的理由", errors)
    if errors:
        raise ValidationFailed(errors)
    before = consent.state
    consent.state, consent.withdrawal_reason = new, why
    consent.withdrawn_at, consent.withdrawn_by_user_id = utcnow(), actor.user_id
    session.flush()
    record(session, actor=actor, tag="operation:consent:withdrawn", object_type="operation_sharing_consent",
           object_id=consent.id, changes={"state": [before, new]},
           data={"plan_id": consent.plan_id, "registration_id": consent.registration_id, "reason": why})
    plan = get_plan(session, consent.plan_id)
    current = in_force(plan)
    affects_in_force = current is not None and consent.registration_id in [
        r["registration_id"] for r in current.content.get("resources", [])]
    record(session, actor=actor, tag="operation:plan:consent_withdrawn", object_type=OBJECT, object_id=plan.id,
           data={"consent_id": consent.id, "registration_id": consent.registration_id, "reason": why,
                 "in_force_version_no": current.version_no if affects_in_force and current else None})
    reg = session.get(Registration, consent.registration_id)
    what = f"数据资源“{reg.data_name if reg else consent.registration_id}”"
    body = (f"本单位撤回对{what}用于实施方案“{plan.title}”（{plan.number or plan.id}）的同意（第十二条）。"
            + ("现行有效的方案不因此自动变更；请提出方案变更（移出该数据资源）或重新征得同意，"
               "在此之前不得将该数据资源纳入新的授权运营协议。" if affects_in_force else
               "尚未审议通过的方案版本在重新征得同意或移出该数据资源之前不能提交或通过评审。"))
    notices.issue(session, actor=actor, object_type=OBJECT, object_id=plan.id, addressee_org_id=plan.owner_org_id,
                  kind="consent_withdrawn", body=body, items=[{"reason": why}])
    return consent


def consent_items(session: Session, *, actor: Actor) -> list[dict[str, Any]]:
    """Shared resources the actor's organisation provides in plans (latest version or the one in force), with
    the current consent record: what the providing unit is asked to consent to, or may withdraw."""
    require(actor, Permission.ACCOUNT_SELF)
    out = []
    for plan in session.scalars(select(OperationPlan).order_by(OperationPlan.id.desc())):
        seen: set[int] = set()
        for v in (latest(plan), in_force(plan)):
            for r in (v.content.get("resources", []) if v is not None else []):
                if r.get("shared_from_org_id") == actor.org_id and r["registration_id"] not in seen:
                    seen.add(r["registration_id"])
                    out.append({"plan": plan, "resource": r, "registration": session.get(
                        Registration, r["registration_id"]), "consent": current_consent(
                        session, plan.id, r["registration_id"], actor.org_id or 0)})
    return out


def consent_requests(session: Session, *, actor: Actor) -> list[tuple[OperationPlan, dict[str, Any], bool]]:
    """Plans listing the actor's organisation as the provider of shared data, with whether it consented."""
    return [(x["plan"], x["resource"], x["consent"] is not None and x["consent"].state == "granted")
            for x in consent_items(session, actor=actor)]


def consents_of(session: Session, plan_id: int) -> list[SharingConsent]:
    """Every consent record of a plan, granted or withdrawn (nothing is deleted)."""
    return list(session.scalars(select(SharingConsent).where(SharingConsent.plan_id == plan_id)
                                .order_by(SharingConsent.id)))


def waiting_for(session: Session, *, actor: Actor) -> list[OperationPlan]:
    """Plans whose latest version waits for a step the actor may take (its review queue)."""
    require(actor, Permission.OPERATION_READ)
    states = {s for s, p in STAGE_PERMISSION.items() if actor.can(p.value)}
    if actor.can(Permission.OPERATION_FILE.value):
        states.add("approved")
    plans = session.scalars(scoped_plans(session, actor, select(OperationPlan).order_by(OperationPlan.id)))
    return [p for p in plans if latest(p).state in states]
