"""Operator selection (OPS-18): by open tender, invited tender or negotiation, under the plan in force.

Candidates are recorded with their qualification evidence (funds, management, technology, service, security,
credit standing); each is evaluated; the decision names one. Only a real-name verified organisation that is
not suspended can be selected. Earlier evaluations of a candidate's operation work are shown (OPS-36).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from pubdata import clock
from pubdata.audit import Actor, record
from pubdata.errors import Conflict, FieldError, NotFound, ValidationFailed
from pubdata.identity.access import require, require_same_org
from pubdata.identity.models import Organisation
from pubdata.identity.permissions import Permission
from pubdata.operation import notices
from pubdata.operation.access import is_suspended
from pubdata.operation.common import attachments as clean_attachments
from pubdata.operation.common import check_version, get, text
from pubdata.operation.models import OperatorSelection, SelectionCandidate
from pubdata.operation.plans import get_plan, in_force
from pubdata.operation.workflow import SELECTION

OBJECT = "operation_selection"
METHODS = {"open_tender": "公开招标", "invited_tender": "邀请招标", "negotiation": "谈判"}
QUALIFICATIONS = (("funds", "资金实力"), ("management", "管理能力"), ("technology", "技术能力"),
                  ("service", "服务能力"), ("security", "安全能力（符合国家数据安全保护要求）"),
                  ("credit", "经营状况和信用状况"))


def get_selection(session: Session, selection_id: int) -> OperatorSelection:
    return get(session, OperatorSelection, selection_id, "运营机构选择")


def _own(session: Session, actor: Actor, selection_id: int, version: int | None) -> OperatorSelection:
    require(actor, Permission.OPERATION_SELECT)
    sel = get_selection(session, selection_id)
    require_same_org(actor, sel.agency_org_id)
    check_version(sel, version)
    return sel


def open_selection(session: Session, *, actor: Actor, plan_id: int, method: str, announcement: str = "") -> OperatorSelection:
    """The implementing agency starts a selection under the approved plan in force (OPS-18)."""
    require(actor, Permission.OPERATION_SELECT)
    plan = get_plan(session, plan_id)
    current = in_force(plan)
    if current is None:
        raise Conflict("实施方案尚未经本级人民政府审议通过，不能选择运营机构（第十八条）。", code="plan_not_approved")
    errors: list[FieldError] = []
    if method not in METHODS:
        errors.append(FieldError("method", "unknown_method", "选择方式应为公开招标、邀请招标或谈判（第十八条）。"))
    note = text(announcement, "announcement", "公告或邀请说明", errors, required=False)
    if errors:
        raise ValidationFailed(errors)
    sel = OperatorSelection(plan_id=plan.id, plan_version_no=current.version_no, method=method,
                            agency_org_id=actor.org_id, announcement=note)
    session.add(sel)
    session.flush()
    record(session, actor=actor, tag="operation:selection:opened", object_type=OBJECT, object_id=sel.id,
           data={"plan_id": plan.id, "plan_version_no": current.version_no, "method": method})
    return sel


def add_candidate(session: Session, *, actor: Actor, selection_id: int, org_id: int,
                  qualifications: Mapping[str, Any], attachments: Sequence[str] = (),
                  version: int | None = None) -> SelectionCandidate:
    sel = _own(session, actor, selection_id, version)
    if sel.state != "open":
        raise Conflict("该运营机构选择已结束，不能再登记候选单位。", code="selection_closed")
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound("候选单位不存在。", code="organisation_not_found")
    if any(c.org_id == org_id for c in sel.candidates):
        raise Conflict(f"“{org.name}”已是候选单位。", code="duplicate_candidate")
    errors: list[FieldError] = []
    quals = {key: text(qualifications.get(key), key, label, errors) for key, label in QUALIFICATIONS}
    quals["attachments"] = clean_attachments(session, actor, attachments, errors)
    if errors:
        raise ValidationFailed(errors)
    cand = SelectionCandidate(selection_id=sel.id, org_id=org_id, qualifications=quals)
    sel.candidates.append(cand)
    flag_modified(sel, "state")
    session.flush()
    record(session, actor=actor, tag="operation:selection:candidate_added", object_type=OBJECT, object_id=sel.id,
           data={"candidate_id": cand.id, "org_id": org_id, "qualifications": quals})
    return cand


def evaluate_candidate(session: Session, *, actor: Actor, selection_id: int, candidate_id: int, score: int | None,
                       evaluation: str, version: int | None = None) -> SelectionCandidate:
    sel = _own(session, actor, selection_id, version)
    if sel.state != "open":
        raise Conflict("该运营机构选择已结束，不能再评审。", code="selection_closed")
    cand = next((c for c in sel.candidates if c.id == candidate_id), None)
    if cand is None:
        raise NotFound("候选单位不存在。", code="candidate_not_found")
    errors: list[FieldError] = []
    if score is None or not 0 <= score <= 100:
        errors.append(FieldError("score", "out_of_range", "评审得分应在 0 至 100 之间。"))
    comment = text(evaluation, "evaluation", "评审意见", errors)
    if errors:
        raise ValidationFailed(errors)
    before = {"score": cand.score, "evaluation": cand.evaluation}
    cand.score, cand.evaluation = score, comment
    flag_modified(sel, "state")
    session.flush()
    record(session, actor=actor, tag="operation:selection:candidate_evaluated", object_type=OBJECT, object_id=sel.id,
           changes={"score": [before["score"], score], "evaluation": [before["evaluation"], comment]},
           data={"candidate_id": cand.id})
    return cand


def decide(session: Session, *, actor: Actor, selection_id: int, candidate_id: int, decision: str,
           version: int | None = None) -> OperatorSelection:
    """The selection decision: an evaluated, real-name verified, not suspended candidate."""
    sel = _own(session, actor, selection_id, version)
    new = SELECTION.next_state(sel.state, "decide")
    cand = next((c for c in sel.candidates if c.id == candidate_id), None)
    if cand is None:
        raise NotFound("候选单位不存在。", code="candidate_not_found")
    org = session.get(Organisation, cand.org_id)
    assert org is not None
    if not org.is_verified:
        raise Conflict(f"“{org.name}”未通过实名核验，不能被选定为运营机构。", code="operator_unverified")
    if is_suspended(session, org.id):
        raise Conflict(f"“{org.name}”的授权运营平台使用权限正被暂停，不能被选定。", code="operator_suspended")
    errors: list[FieldError] = []
    if cand.score is None:
        errors.append(FieldError("candidate_id", "not_evaluated", f"请先评审“{org.name}”，再作出选择决定。"))
    why = text(decision, "decision", "选择决定及理由", errors)
    if errors:
        raise ValidationFailed(errors)
    sel.state, sel.selected_candidate_id, sel.decision, sel.decided_on = new, cand.id, why, clock.today()
    session.flush()
    record(session, actor=actor, tag="operation:selection:decided", object_type=OBJECT, object_id=sel.id,
           changes={"state": ["open", new]}, data={"candidate_id": cand.id, "org_id": org.id, "decision": why})
    _notify(session, actor, sel, org)
    return sel


def _notify(session: Session, actor: Actor, sel: OperatorSelection, chosen: Organisation) -> None:
    """The selection decision in writing: to the selected candidate and to each candidate not selected."""
    head = f"在第 {sel.id} 号运营机构选择（{METHODS[sel.method]}）中，"
    for c in sel.candidates:
        won = c.id == sel.selected_candidate_id
        body = (f"{head}你单位被选定为运营机构。请按通知与实施机构商签授权运营协议。" if won else
                f"{head}你单位未被选定，选定的运营机构为“{chosen.name}”。如有异议，可向实施机构提出。")
        notices.issue(session, actor=actor, object_type=OBJECT, object_id=sel.id, addressee_org_id=c.org_id,
                      kind="selected" if won else "not_selected", body=body,
                      items=[{"label": "评审得分", "value": c.score}, {"label": "选择决定", "value": sel.decision}])


def cancel(session: Session, *, actor: Actor, selection_id: int, reason: str, version: int | None = None) -> OperatorSelection:
    sel = _own(session, actor, selection_id, version)
    new = SELECTION.next_state(sel.state, "cancel")
    errors: list[FieldError] = []
    why = text(reason, "reason", "终止理由", errors)
    if errors:
        raise ValidationFailed(errors)
    sel.state, sel.decision = new, why
    session.flush()
    record(session, actor=actor, tag="operation:selection:cancelled", object_type=OBJECT, object_id=sel.id,
           changes={"state": ["open", new]}, data={"reason": why})
    return sel


def selected_org_id(sel: OperatorSelection) -> int | None:
    return next((c.org_id for c in sel.candidates if c.id == sel.selected_candidate_id), None)


def selections_for_plan(session: Session, plan_id: int) -> list[OperatorSelection]:
    return list(session.scalars(select(OperatorSelection).where(OperatorSelection.plan_id == plan_id)
                                .order_by(OperatorSelection.id)))
