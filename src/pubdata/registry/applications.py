"""The registration procedure's service functions (REG-23..30, REG-37): one per action of the state machine.

Every function: checks the actor's permission and side (applicant or institution), checks the version the
caller saw (optimistic locking), moves the state through ``workflow.MACHINES``, sets or clears deadlines,
writes the written notice the rules require, and appends an audit event — all in the caller's transaction.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor, record
from pubdata.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from pubdata.identity.access import require
from pubdata.identity.models import Organisation
from pubdata.identity.permissions import Permission
from pubdata.identity.roles import Role
from pubdata.registry import codes, duplicates, notices
from pubdata.registry.deadlines import set_due
from pubdata.registry.form import content_errors, normalise_name
from pubdata.registry.models import Application, Registration
from pubdata.registry.requirements import document_errors
from pubdata.registry.workflow import INSTITUTION_ACTIONS, MACHINES, Kind

EDITABLE = frozenset({"draft", "supplement_requested"})


# -- helpers ----------------------------------------------------------------------------------------


def get_application(session: Session, *, application_id: int) -> Application:
    app = session.get(Application, application_id)
    if app is None:
        raise NotFound("申请不存在。", code="application_not_found")
    return app


def _parties(app: Application) -> set[int]:
    return {app.filed_by_org_id, app.registration.subject_org_id, *app.joint_org_ids}


def view_application(session: Session, *, actor: Actor, application_id: int) -> Application:
    """Object-level read: the applicant's side, or the institution and overseers."""
    app = get_application(session, application_id=application_id)
    if actor.kind != "system" and actor.org_id not in _parties(app) and not actor.can(Permission.ORG_VERIFY.value) \
            and not actor.can(Permission.AUDIT_READ.value):
        raise PermissionDenied("只能查看本单位的申请。", code="other_organisation")
    return app


def _require_applicant(actor: Actor, app: Application) -> None:
    if actor.kind != "system" and actor.org_id not in {app.filed_by_org_id, app.registration.subject_org_id}:
        raise PermissionDenied("只有申请单位可以办理此项。", code="not_applicant")


def _check_version(app: Application, version: int | None) -> None:
    if version is not None and version != app.version:
        raise Conflict("该申请已被他人处理或修改，请刷新后重试。", code="stale_version")


def _move(app: Application, action: str) -> tuple[str, str]:
    return MACHINES[Kind(app.kind)].move(app, action)


def _event(session: Session, actor: Actor, app: Application, action: str, before: str,
           data: Mapping[str, Any] | None = None) -> None:
    record(session, actor=actor, tag=f"registry:application:{action}", object_type="application", object_id=app.id,
           changes={"state": [before, app.state]}, data={"number": app.number, "kind": app.kind, **(data or {})})


def _org(session: Session, org_id: int) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound("单位不存在。", code="organisation_not_found")
    return org


# -- applicant side ---------------------------------------------------------------------------------


def create_application(
    session: Session,
    *,
    actor: Actor,
    kind: str,
    registration_id: int | None = None,
    subject_org_id: int | None = None,
    content: Mapping[str, Any] | None = None,
    documents: Mapping[str, Any] | None = None,
    details: Mapping[str, Any] | None = None,
    joint_org_ids: Sequence[int] = (),
) -> Application:
    """Open a draft. A first registration creates the registration record; the other types act on a
    registered one, starting from its current content. An agent files for ``subject_org_id`` (REG-8)."""
    require(actor, Permission.DRAFT_WRITE)
    try:
        k = Kind(kind)
    except ValueError:
        raise ValidationFailed.single("kind", "unknown_kind", "申请类型应为首次、变更、更正、注销或续展。") from None
    filer = actor.org_id or 0
    if k is Kind.FIRST:
        subject = subject_org_id or filer
        if subject != filer and Role.AGENT.value not in actor.roles:
            raise PermissionDenied("只有委托代理机构可以代其他单位申请（第八条）。", code="not_an_agent")
        _org(session, subject)
        registration = Registration(subject_org_id=subject, registration_type=str(
            (content or {}).get("basic", {}).get("registration_type") or "data_resource"),
            data_name=str((content or {}).get("basic", {}).get("name") or "（未命名）")[:100], name_key="")
        registration.name_key = normalise_name(registration.data_name)
        session.add(registration)
        session.flush()
        base_content: dict[str, Any] = dict(content or {})
    else:
        if registration_id is None:
            raise ValidationFailed.single("registration_id", "required", "请指明要办理的登记记录。")
        registration = session.get(Registration, registration_id)
        if registration is None:
            raise NotFound("登记记录不存在。", code="registration_not_found")
        if registration.status != "registered":
            raise Conflict("只有已登记的记录可以办理变更、更正、注销或续展。", code="not_registered")
        if filer != registration.subject_org_id and Role.AGENT.value not in actor.roles \
                and k is not Kind.CORRECTION:
            raise PermissionDenied("只有登记主体或其委托代理机构可以办理。", code="not_applicant")
        open_app = session.scalar(select(Application.id).where(
            Application.registration_id == registration.id, Application.state.not_in(
                ["not_accepted", "review_failed", "certified", "cancelled", "refused", "withdrawn"])))
        if open_app is not None:
            raise Conflict("该登记已有正在办理的申请，请先办结或撤回。", code="application_in_progress")
        current = registration.versions[-1].content if registration.versions else {}
        base_content = copy.deepcopy(dict(content)) if content is not None else copy.deepcopy(current)
    if errors := content_errors(base_content, complete=False):
        raise ValidationFailed(errors)
    app = Application(
        registration_id=registration.id, kind=k.value, state="draft", content=base_content,
        documents=dict(documents or {}), details=dict(details or {}), filed_by_org_id=filer,
        filed_by_user_id=actor.user_id, joint_org_ids=[int(i) for i in joint_org_ids],
    )
    session.add(app)
    session.flush()
    app.number = codes.make(codes.APPLICATION, clock.today().year, app.id)
    record(session, actor=actor, tag="registry:application:created", object_type="application", object_id=app.id,
           changes={"state": [None, "draft"]}, data={"number": app.number, "kind": k.value,
                                                     "registration_id": registration.id})
    record(session, actor=actor, tag="registry:registration:touched", object_type="registration",
           object_id=registration.id, data={"application": app.number})
    return app


def update_draft(
    session: Session,
    *,
    actor: Actor,
    application_id: int,
    version: int | None = None,
    content: Mapping[str, Any] | None = None,
    documents: Mapping[str, Any] | None = None,
    details: Mapping[str, Any] | None = None,
    joint_org_ids: Sequence[int] | None = None,
) -> Application:
    """Save a draft (or the supplement being prepared): malformed values are refused, gaps are fine."""
    require(actor, Permission.DRAFT_WRITE)
    app = get_application(session, application_id=application_id)
    _require_applicant(actor, app)
    _check_version(app, version)
    if app.state not in EDITABLE:
        raise Conflict("只有草稿或待补正的申请可以修改。", code="not_editable")
    if content is not None:
        if errors := content_errors(content, complete=False):
            raise ValidationFailed(errors)
        app.content = copy.deepcopy(dict(content))
        if app.kind == Kind.FIRST:
            reg = app.registration
            basic = content.get("basic", {}) if isinstance(content.get("basic"), Mapping) else {}
            reg.data_name = str(basic.get("name") or reg.data_name)[:100]
            reg.name_key = normalise_name(reg.data_name)
            reg.registration_type = str(basic.get("registration_type") or reg.registration_type)
            record(session, actor=actor, tag="registry:registration:draft_updated", object_type="registration",
                   object_id=reg.id, data={"application": app.number})
    if documents is not None:
        app.documents = dict(documents)
    if details is not None:
        app.details = dict(details)
    if joint_org_ids is not None:
        app.joint_org_ids = [int(i) for i in joint_org_ids]
    session.flush()
    record(session, actor=actor, tag="registry:application:draft_saved", object_type="application", object_id=app.id,
           data={"number": app.number})
    return app


def _submission_errors(session: Session, app: Application, actor: Actor) -> list[FieldError]:
    errors: list[FieldError] = []
    if app.kind != Kind.CANCELLATION:
        errors += content_errors(app.content, complete=True)
    errors += document_errors(session, app, acting_as_agent=actor.org_id != app.registration.subject_org_id)
    for i, org_id in enumerate(app.joint_org_ids):
        if session.get(Organisation, org_id) is None:
            errors.append(FieldError(f"joint_org_ids.{i}", "organisation_not_found", "共同申请的单位不存在。"))
    return errors


def submit(session: Session, *, actor: Actor, application_id: int, version: int | None = None) -> Application:
    """Submit (or resubmit after a supplement request). Everything is checked and every problem reported at
    once (REG-26); the acceptance clock starts on the day of (re)submission."""
    require(actor, Permission.SUBMIT)
    app = get_application(session, application_id=application_id)
    _require_applicant(actor, app)
    _check_version(app, version)
    action = "resubmit" if app.state == "supplement_requested" else "submit"
    MACHINES[Kind(app.kind)].next_state(app.state, action)  # refuse illegal moves before validating
    if errors := _submission_errors(session, app, actor):
        raise ValidationFailed(errors)
    reg = app.registration
    if app.kind in {Kind.FIRST, Kind.CHANGE, Kind.CORRECTION}:
        duplicates.refuse_exact(session, app)
        app.flags = duplicates.near(session, app)
    if app.kind == Kind.RENEWAL:
        from pubdata.registry.certificates import check_renewal_window

        check_renewal_window(session, reg)
    if reg.code is None:
        reg.code = codes.make(codes.REGISTRATION, clock.today().year, reg.id)
        reg.evidence_key = duplicates.evidence_key(app.content)
        record(session, actor=actor, tag="registry:registration:code_assigned", object_type="registration",
               object_id=reg.id, changes={"code": [None, reg.code]})
    before, _ = _move(app, action)
    app.submitted_at = dt.datetime.now(dt.UTC)
    app.received_on = clock.today()
    set_due(session, app, "acceptance_due")
    if action == "submit":
        from pubdata.registry.obligations import fulfil

        fulfil(session, actor=actor, app=app)
    _event(session, actor, app, action, before, {"acceptance_due": app.acceptance_due, "flags": app.flags})
    return app


def withdraw(session: Session, *, actor: Actor, application_id: int, version: int | None = None,
             reason: str = "") -> Application:
    """The applicant withdraws before a decision."""
    require(actor, Permission.DRAFT_WRITE)
    app = get_application(session, application_id=application_id)
    _require_applicant(actor, app)
    _check_version(app, version)
    before, _ = _move(app, "withdraw")
    app.decided_on = clock.today()
    if app.kind == Kind.FIRST:
        _end_registration(session, actor, app.registration, "not_registered")
    if before != "draft":
        notices.issue(session, actor=actor, application=app, kind="withdrawn",
                      body=f"已于 {app.decided_on:%Y年%m月%d日} 撤回。" + (f"撤回理由：{reason}" if reason else ""))
    _event(session, actor, app, "withdraw", before, {"reason": reason})
    return app


# -- institution side -------------------------------------------------------------------------------


def _institution(session: Session, actor: Actor, application_id: int, version: int | None,
                 action: str) -> Application:
    assert action in INSTITUTION_ACTIONS
    require(actor, Permission.ORG_VERIFY)
    app = get_application(session, application_id=application_id)
    if actor.kind == "user" and actor.org_id in _parties(app):
        raise PermissionDenied("登记机构不能办理本单位的申请（回避）。", code="conflict_of_interest")
    _check_version(app, version)
    return app


def _reasons(reasons: str, field: str = "reasons") -> str:
    text = (reasons or "").strip()
    if not text:
        raise ValidationFailed.single(field, "required", "须说明理由（将书面告知申请单位）。")
    return text


def accept(session: Session, *, actor: Actor, application_id: int, version: int | None = None) -> Application:
    app = _institution(session, actor, application_id, version, "accept")
    before, _ = _move(app, "accept")
    app.accepted_on = clock.today()
    set_due(session, app, "review_due")
    limit = "完成注销" if app.kind == Kind.CANCELLATION else "完成审查"
    notices.issue(session, actor=actor, application=app, kind="accepted",
                  body=f"已于 {app.accepted_on:%Y年%m月%d日} 受理，将于 {app.review_due:%Y年%m月%d日} 前{limit}。")
    _event(session, actor, app, "accept", before, {"review_due": app.review_due})
    return app


def check_supplement_allowed(app: Application) -> None:
    """REG-26 一次性告知: everything to add is told in one notice. Still not in order after it, the application is
    declined (不予受理) with reasons rather than sent round again."""
    if app.supplement_rounds >= 1:
        raise Conflict("已一次性告知补正，不能再次要求补正；补正后仍不符合规定的，可作出不予受理决定并说明理由"
                       "（第二十六条）。", code="supplement_already_requested")


def request_supplement(session: Session, *, actor: Actor, application_id: int, items: Sequence[Mapping[str, str]],
                       version: int | None = None) -> Application:
    """One notice listing everything to add or correct (REG-26: 一次性告知); the clock restarts on resubmission."""
    app = _institution(session, actor, application_id, version, "request_supplement")
    MACHINES[Kind(app.kind)].next_state(app.state, "request_supplement")  # an illegal move says so first
    check_supplement_allowed(app)
    clean = [{"field": str(i.get("field") or ""), "item": str(i.get("item") or "").strip(),
              "reason": str(i.get("reason") or "").strip()} for i in items]
    errors = [FieldError(f"items.{n}.item", "required", "请写明须补正的材料或事项。")
              for n, i in enumerate(clean) if not i["item"]]
    if not clean:
        errors.append(FieldError("items", "required", "须一次性列明全部须补正的材料（第二十六条）。"))
    if errors:
        raise ValidationFailed(errors)
    before, _ = _move(app, "request_supplement")
    app.supplement_rounds += 1
    app.acceptance_due = None
    app.provisional_dates = [f for f in app.provisional_dates if f != "acceptance_due"]
    notices.issue(session, actor=actor, application=app, kind="supplement", items=clean,
                  body="材料不齐全或不符合规定，请一次性补正以下各项后重新提交；受理期限自重新提交之日起计算：")
    _event(session, actor, app, "request_supplement", before, {"items": clean})
    return app


def _decline(session: Session, actor: Actor, application_id: int, version: int | None, reasons: str, *,
             action: str, notice_kind: str, wording: str) -> Application:
    """A negative decision with reasons told in writing: not accepted (REG-26) or review failed (REG-27)."""
    app = _institution(session, actor, application_id, version, action)
    text = _reasons(reasons)
    before, _ = _move(app, action)
    app.reasons, app.decided_on = text, clock.today()
    if app.kind == Kind.FIRST:
        _end_registration(session, actor, app.registration, "not_registered")
    notices.issue(session, actor=actor, application=app, kind=notice_kind, body=f"{wording}：{text}")
    _event(session, actor, app, action, before, {"reasons": text})
    return app


def not_accept(session: Session, *, actor: Actor, application_id: int, reasons: str,
               version: int | None = None) -> Application:
    return _decline(session, actor, application_id, version, reasons, action="not_accept",
                    notice_kind="not_accepted", wording="不予受理。理由")


def fail_review(session: Session, *, actor: Actor, application_id: int, reasons: str,
                version: int | None = None) -> Application:
    return _decline(session, actor, application_id, version, reasons, action="fail",
                    notice_kind="review_failed", wording="审查未通过。原因")


def refuse(session: Session, *, actor: Actor, application_id: int, ground: str, reasons: str,
           version: int | None = None) -> Application:
    """不予登记 (REG-30): duplicate, concealment or fraud, ownership dispute, other legal grounds."""
    from pubdata.registry import vocab

    app = _institution(session, actor, application_id, version, "refuse")
    errors = []
    if ground not in vocab.items("refusal_ground"):
        errors.append(FieldError("ground", "unknown_ground", "请选择不予登记的情形（第三十条）。"))
    if not (reasons or "").strip():
        errors.append(FieldError("reasons", "required", "须说明理由（将书面告知申请单位）。"))
    if errors:
        raise ValidationFailed(errors)
    before, _ = _move(app, "refuse")
    app.refusal_ground, app.reasons, app.decided_on = ground, reasons.strip(), clock.today()
    _close_public_notice(session, app)
    if app.kind == Kind.FIRST:
        _end_registration(session, actor, app.registration, "not_registered")
    notices.issue(session, actor=actor, application=app, kind="refused",
                  body=f"决定不予登记。情形：{vocab.label('refusal_ground', ground)}。理由：{reasons.strip()}")
    _event(session, actor, app, "refuse", before, {"ground": ground, "reasons": reasons.strip()})
    return app


def pass_review(session: Session, *, actor: Actor, application_id: int, version: int | None = None) -> Application:
    """Review passed: public notice for 10 WD (REG-28); a renewal is certified at once (REG-37)."""
    from pubdata.registry.certificates import certify
    from pubdata.registry.public_notices import open_public_notice

    app = _institution(session, actor, application_id, version, "pass")
    if app.kind == Kind.CANCELLATION:
        raise Conflict("注销申请应“完成注销”，而非审查通过。", code="illegal_transition")
    before, _ = _move(app, "pass")
    if app.state == "in_notice":
        pn = open_public_notice(session, app)
        notices.issue(session, actor=actor, application=app, kind="in_notice",
                      body=f"审查通过，自 {pn.start_date:%Y年%m月%d日} 起公示，公示期至 {pn.end_date:%Y年%m月%d日}"
                           "（10 个工作日）；公示期满无异议的，发放电子凭证。")
        _event(session, actor, app, "pass", before, {"notice_end": app.notice_end})
    else:
        _event(session, actor, app, "pass", before)
        certify(session, actor=actor, application=app, already_moved=True)
    return app


def complete_cancellation(session: Session, *, actor: Actor, application_id: int,
                          version: int | None = None) -> Application:
    """Cancellation completed within 10 WD of acceptance (REG-25(四)); the certificate ends with it."""
    from pubdata.registry.certificates import end_certificates

    app = _institution(session, actor, application_id, version, "complete")
    before, _ = _move(app, "complete")
    app.decided_on = clock.today()
    end_certificates(session, actor=actor, registration=app.registration, status="cancelled")
    _end_registration(session, actor, app.registration, "cancelled")
    notices.issue(session, actor=actor, application=app, kind="cancelled",
                  body=f"已于 {app.decided_on:%Y年%m月%d日} 完成注销登记，原登记凭证同时注销。")
    _event(session, actor, app, "complete", before, {"ground": app.details.get("ground")})
    return app


def _end_registration(session: Session, actor: Actor, reg: Registration, status: str) -> None:
    if reg.status == "pending" or status == "cancelled":
        before = reg.status
        reg.status = status
        record(session, actor=actor, tag=f"registry:registration:{status}", object_type="registration",
               object_id=reg.id, changes={"status": [before, status]})


def _close_public_notice(session: Session, app: Application) -> None:
    from pubdata.registry.public_notices import close_public_notice

    close_public_notice(session, app, status="closed")
