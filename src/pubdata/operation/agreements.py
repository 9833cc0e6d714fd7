"""Agreements (OPS-19, OPS-20): drafted by the implementing agency with the selected operator, signed by both,
filed with the data authority.

Checked when saved and again at each signature: every OPS-20 item, a data scope within the plan version in force
(OPS-19), only registered resources (OPS-23), and a period of at most five years unless an exception is recorded
with its reason and approver (OPS-20(二) “原则上”). The agency signs after its 三重一大 decision (OPS-19).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from pubdata import clock, rules
from pubdata.audit import Actor, record
from pubdata.audit.service import diff
from pubdata.db.base import utcnow
from pubdata.errors import Conflict, FieldError, ValidationFailed
from pubdata.identity.access import require, require_same_org
from pubdata.identity.permissions import Permission
from pubdata.operation.access import require_not_suspended
from pubdata.operation.common import attachments as clean_attachments
from pubdata.operation.common import check_version, get, number, text
from pubdata.operation.content import check_term, clean_agreement
from pubdata.operation.models import Agreement, OperationPlan
from pubdata.operation.plans import in_force, withdrawn_resources
from pubdata.operation.regions import require_agreement_region
from pubdata.operation.selection import get_selection, selected_org_id
from pubdata.operation.workflow import AGREEMENT

OBJECT = "operation_agreement"


def get_agreement(session: Session, agreement_id: int, actor: Actor | None = None) -> Agreement:
    """The agreement; with ``actor``, only within a data authority's own region (``operation.regions``)."""
    a = get(session, Agreement, agreement_id, "授权运营协议")
    if actor is not None:
        require_agreement_region(session, actor, a)
    return a


def _plan_resource_ids(session: Session, plan_id: int) -> tuple[int, list[int], list[int]]:
    """The version in force, its data scope, and the shared resources in it whose consent was withdrawn (OPS-12)."""
    plan = get(session, OperationPlan, plan_id, "实施方案")
    current = in_force(plan)
    if current is None:
        raise Conflict("实施方案没有审议通过的有效版本，不能签订协议。", code="plan_not_approved")
    return (current.version_no, [r["registration_id"] for r in current.content.get("resources", [])],
            withdrawn_resources(session, plan, current))


def _validate(session: Session, plan_id: int, fields: Mapping[str, Any], *, complete: bool) -> tuple[int, dict[str, Any]]:
    version_no, scope, unconsented = _plan_resource_ids(session, plan_id)
    content, errors = clean_agreement(session, fields.get("content") or {}, plan_resource_ids=scope, complete=complete)
    for i, rid in enumerate(content.get("resource_ids", [])):
        if rid in unconsented:
            errors.append(FieldError(f"resource_ids.{i}", "sharing_consent_withdrawn",
                                     "共享数据提供单位已撤回（或尚未作出）对该数据资源用于本方案的同意，不能纳入协议的"
                                     "授权范围（第十二条）。"))
    title = text(fields.get("title"), "title", "协议名称", errors, limit=200)
    reason = text(fields.get("term_exception_reason"), "term_exception_reason", "超过期限的理由", errors, required=False)
    approver = text(fields.get("term_exception_approver"), "term_exception_approver", "批准人", errors,
                    required=False, limit=200)
    if bool(reason) != bool(approver):
        errors.append(FieldError("term_exception_approver" if reason else "term_exception_reason", "exception_incomplete",
                                 "超过 5 年的例外须同时记录理由和批准人。"))
    start, end = fields.get("start_date"), fields.get("end_date")
    check_term(start, end, reason, approver, rules.AGREEMENT_MAX_TERM.value, errors)
    if errors:
        raise ValidationFailed(errors)
    return version_no, {"title": title, "content": content, "start_date": start, "end_date": end,
                        "term_exception_reason": reason or None, "term_exception_approver": approver or None}


def draft_agreement(session: Session, *, actor: Actor, selection_id: int, title: str, content: Mapping[str, Any],
                    start_date: dt.date | None, end_date: dt.date | None, term_exception_reason: str = "",
                    term_exception_approver: str = "") -> Agreement:
    require(actor, Permission.OPERATION_SELECT)
    sel = get_selection(session, selection_id)
    require_same_org(actor, sel.agency_org_id)
    operator = selected_org_id(sel)
    if sel.state != "decided" or operator is None:
        raise Conflict("尚未依法选定运营机构，不能拟定协议（第十九条）。", code="operator_not_selected")
    version_no, clean = _validate(session, sel.plan_id, {
        "title": title, "content": content, "start_date": start_date, "end_date": end_date,
        "term_exception_reason": term_exception_reason, "term_exception_approver": term_exception_approver},
        complete=False)
    agreement = Agreement(plan_id=sel.plan_id, plan_version_no=version_no, selection_id=sel.id,
                          agency_org_id=sel.agency_org_id, operator_org_id=operator, **clean)
    session.add(agreement)
    session.flush()
    agreement.number = number("SQXY", clock.today().year, agreement.id)
    session.flush()
    record(session, actor=actor, tag="operation:agreement:drafted", object_type=OBJECT, object_id=agreement.id,
           data={"number": agreement.number, "selection_id": sel.id, "operator_org_id": operator, **clean})
    return agreement


def _snapshot(a: Agreement) -> dict[str, Any]:
    return {"title": a.title, "content": a.content, "start_date": a.start_date, "end_date": a.end_date,
            "term_exception_reason": a.term_exception_reason, "term_exception_approver": a.term_exception_approver}


def update_agreement(session: Session, *, actor: Actor, agreement_id: int, fields: Mapping[str, Any],
                     version: int | None = None) -> Agreement:
    """Edit a draft; any signature already given would be void, so only unsigned drafts change."""
    require(actor, Permission.OPERATION_SELECT)
    a = get_agreement(session, agreement_id)
    require_same_org(actor, a.agency_org_id)
    check_version(a, version)
    if a.state != "draft":
        raise Conflict("协议已有一方签署，不能再修改。", code="agreement_not_editable")
    version_no, clean = _validate(session, a.plan_id, fields, complete=False)
    before = _snapshot(a)
    for k, v in clean.items():
        setattr(a, k, v)
    a.plan_version_no = version_no
    session.flush()
    record(session, actor=actor, tag="operation:agreement:edited", object_type=OBJECT, object_id=a.id,
           changes=diff(before, _snapshot(a)))
    return a


def _sign(session: Session, actor: Actor, a: Agreement, action: str, data: dict[str, Any]) -> Agreement:
    before = a.state
    new = AGREEMENT.next_state(a.state, action)
    version_no, _ = _validate(session, a.plan_id, _snapshot(a), complete=True)  # scope still within the plan in force
    now = utcnow()
    if action == "sign_agency":
        a.agency_signed_at, a.agency_signer_user_id = now, actor.user_id
    else:
        a.operator_signed_at, a.operator_signer_user_id = now, actor.user_id
    a.state, a.plan_version_no = new, version_no
    if new == "signed":
        a.signed_on = clock.today()
    session.flush()
    record(session, actor=actor, tag=f"operation:agreement:{action}", object_type=OBJECT, object_id=a.id,
           changes={"state": [before, new]}, data=data)
    return a


def sign_agency(session: Session, *, actor: Actor, agreement_id: int, decision_ref: str,
                version: int | None = None) -> Agreement:
    """The implementing agency signs after its 三重一大 decision, whose record number is kept (OPS-19)."""
    require(actor, Permission.OPERATION_SELECT)
    a = get_agreement(session, agreement_id)
    require_same_org(actor, a.agency_org_id)
    check_version(a, version)
    AGREEMENT.next_state(a.state, "sign_agency")
    errors: list[FieldError] = []
    ref = text(decision_ref, "decision_ref", "实施机构“三重一大”决策记录号", errors, limit=100)
    if errors:
        raise ValidationFailed(errors)
    a.agency_decision_ref = ref
    return _sign(session, actor, a, "sign_agency", {"decision_ref": ref})


def sign_operator(session: Session, *, actor: Actor, agreement_id: int, version: int | None = None) -> Agreement:
    require(actor, Permission.OPERATION_OPERATE)
    a = get_agreement(session, agreement_id)
    require_same_org(actor, a.operator_org_id)
    require_not_suspended(session, actor.org_id)
    check_version(a, version)
    return _sign(session, actor, a, "sign_operator", {})


def file_agreement(session: Session, *, actor: Actor, agreement_id: int, filing_ref: str,
                   attachments: Sequence[str] = (), version: int | None = None) -> Agreement:
    """Filing of the signed agreement with the data authority (OPS-19)."""
    require(actor, Permission.OPERATION_FILE)
    a = get_agreement(session, agreement_id, actor)
    check_version(a, version)
    new = AGREEMENT.next_state(a.state, "file")
    errors: list[FieldError] = []
    ref = text(filing_ref, "filing_ref", "备案号", errors, limit=100)
    files = clean_attachments(session, actor, attachments, errors)
    if errors:
        raise ValidationFailed(errors)
    before = a.state
    a.state, a.filing_ref, a.filed_on, a.filing_attachments = new, ref, clock.today(), files
    session.flush()
    record(session, actor=actor, tag="operation:agreement:filed", object_type=OBJECT, object_id=a.id,
           changes={"state": [before, new]}, data={"filing_ref": ref, "attachments": files})
    return a


def cancel_agreement(session: Session, *, actor: Actor, agreement_id: int, reason: str,
                     version: int | None = None) -> Agreement:
    require(actor, Permission.OPERATION_SELECT)
    a = get_agreement(session, agreement_id)
    require_same_org(actor, a.agency_org_id)
    check_version(a, version)
    new = AGREEMENT.next_state(a.state, "cancel")
    errors: list[FieldError] = []
    why = text(reason, "reason", "作废理由", errors)
    if errors:
        raise ValidationFailed(errors)
    before, a.state = a.state, new
    session.flush()
    record(session, actor=actor, tag="operation:agreement:cancelled", object_type=OBJECT, object_id=a.id,
           changes={"state": [before, new]}, data={"reason": why})
    return a


def agreements_query(*, operator_org_id: int | None = None, state: str | None = None) -> Select[tuple[Agreement]]:
    stmt = select(Agreement).order_by(Agreement.id.desc())
    if operator_org_id is not None:
        stmt = stmt.where(Agreement.operator_org_id == operator_org_id)
    if state:
        stmt = stmt.where(Agreement.state == state)
    return stmt
