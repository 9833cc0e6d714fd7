"""Rectification, suspension and termination (OPS-21).

The implementing agency or an industry department orders rectification with a deadline and may suspend the
operator's platform access; suspension holds for every act of the operator (``access.require_not_suspended``)
until it is lifted. Only the implementing agency terminates an agreement, with its reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor, record
from pubdata.errors import Conflict, FieldError, PermissionDenied, ValidationFailed
from pubdata.identity.access import require, require_same_org
from pubdata.identity.permissions import Permission
from pubdata.identity.roles import Role
from pubdata.operation import notices
from pubdata.operation.access import active_suspension
from pubdata.operation.agreements import get_agreement
from pubdata.operation.common import attachments as clean_attachments
from pubdata.operation.common import check_version, get, text
from pubdata.operation.models import Agreement, OperationMeasure
from pubdata.operation.workflow import AGREEMENT, EFFECTIVE_STATES, RECTIFICATION, SUSPENSION

OBJECT = "operation_measure"
#: OPS-21 grounds for termination.
TERMINATION_GROUNDS = {
    "security_incident": "出现重大数据安全事件",
    "major_change": "发生重大变故",
    "failure_to_rectify": "不及时整改问题造成重大损失",
    "other": "其他不再符合授权运营规定条件的情形",
}


def _supervised(session: Session, actor: Actor, agreement_id: int) -> Agreement:
    """OPS-21: the agreement's implementing agency, or an industry department, acts."""
    require(actor, Permission.OPERATION_SUPERVISE)
    a = get_agreement(session, agreement_id)
    if actor.kind != "system" and actor.org_id != a.agency_org_id and Role.INDUSTRY_DEPARTMENT.value not in actor.roles:
        raise PermissionDenied("只有该协议的实施机构或行业主管部门可以采取措施。", code="other_organisation")
    if a.state not in EFFECTIVE_STATES:
        raise Conflict(f"协议当前为“{AGREEMENT.labels[a.state]}”，不能采取该措施。", code="agreement_not_effective")
    return a


def _new(session: Session, actor: Actor, a: Agreement, kind: str, state: str, facts: str,
         deadline: dt.date | None, files: list[str]) -> OperationMeasure:
    m = OperationMeasure(agreement_id=a.id, operator_org_id=a.operator_org_id, kind=kind, state=state, facts=facts,
                         deadline=deadline, measure_date=clock.today(), attachments=files,
                         ordered_by_org_id=actor.org_id, ordered_by_user_id=actor.user_id)
    session.add(m)
    session.flush()
    record(session, actor=actor, tag=f"operation:measure:{kind}", object_type=OBJECT, object_id=m.id,
           data={"agreement_id": a.id, "operator_org_id": a.operator_org_id, "facts": facts, "deadline": deadline})
    # The agreement's own history shows the measure too.
    record(session, actor=actor, tag="operation:agreement:measure_taken", object_type="operation_agreement",
           object_id=a.id, data={"measure_id": m.id, "kind": kind})
    return m


def order_rectification(session: Session, *, actor: Actor, agreement_id: int, facts: str, deadline: dt.date | None,
                        attachments: Sequence[str] = ()) -> OperationMeasure:
    a = _supervised(session, actor, agreement_id)
    errors: list[FieldError] = []
    why = text(facts, "facts", "违反本办法或协议的事实", errors)
    if deadline is None:
        errors.append(FieldError("deadline", "required", "请填写整改期限。"))
    elif deadline < clock.today():
        errors.append(FieldError("deadline", "in_past", "整改期限不能早于今天。"))
    files = clean_attachments(session, actor, attachments, errors)
    if errors:
        raise ValidationFailed(errors)
    m = _new(session, actor, a, "rectification", "ordered", why, deadline, files)
    assert deadline is not None
    notices.issue_measure(session, actor=actor, measure=m, kind="rectification",
                          body=f"经查，你单位存在以下问题，请于 {deadline.isoformat()} 前完成整改"
                          "并报告整改情况（第二十一条）。",
                          items=[{"label": "事实", "value": why}, {"label": "整改期限", "value": deadline.isoformat()}])
    return m


def suspend(session: Session, *, actor: Actor, agreement_id: int, facts: str,
            attachments: Sequence[str] = ()) -> OperationMeasure:
    """Temporarily close the operator's platform access (OPS-21)."""
    a = _supervised(session, actor, agreement_id)
    if active_suspension(session, a.operator_org_id) is not None:
        raise Conflict("该运营机构的平台使用权限已在暂停中。", code="already_suspended")
    errors: list[FieldError] = []
    why = text(facts, "facts", "暂停的事实与理由", errors)
    files = clean_attachments(session, actor, attachments, errors)
    if errors:
        raise ValidationFailed(errors)
    m = _new(session, actor, a, "suspension", "in_force", why, None, files)
    notices.issue_measure(session, actor=actor, measure=m, kind="suspension",
                          body=f"自 {m.measure_date.isoformat()} 起暂停你单位的授权运营平台使用权限（第二十一条）。"
                          "暂停期间除报告整改情况外不能办理其他事项。", items=[{"label": "事实与理由", "value": why}])
    return m


def _measure(session: Session, measure_id: int, version: int | None) -> OperationMeasure:
    m = get(session, OperationMeasure, measure_id, "措施")
    check_version(m, version)
    return m


def _move(session: Session, actor: Actor, m: OperationMeasure, action: str, note_field: str, note: str) -> OperationMeasure:
    machine = RECTIFICATION if m.kind == "rectification" else SUSPENSION
    if m.kind not in ("rectification", "suspension"):
        raise Conflict("终止协议的记录不能再变更。", code="illegal_transition")
    before = m.state
    m.state = machine.next_state(m.state, action)
    setattr(m, note_field, note)
    if m.state in ("closed", "lifted"):
        m.closed_on = clock.today()
    session.flush()
    record(session, actor=actor, tag=f"operation:measure:{action}", object_type=OBJECT, object_id=m.id,
           changes={"state": [before, m.state]}, data={note_field: note})
    return m


def report_rectification(session: Session, *, actor: Actor, measure_id: int, response: str,
                         version: int | None = None) -> OperationMeasure:
    """The operator reports what it rectified — allowed while suspended, it is the way back (OPS-21)."""
    require(actor, Permission.OPERATION_OPERATE)
    m = _measure(session, measure_id, version)
    require_same_org(actor, m.operator_org_id)
    errors: list[FieldError] = []
    note = text(response, "response", "整改情况", errors)
    if m.kind != "rectification":
        raise Conflict("只有整改要求需要报告整改情况。", code="illegal_transition")
    RECTIFICATION.next_state(m.state, "report")
    if errors:
        raise ValidationFailed(errors)
    return _move(session, actor, m, "report", "response", note)


def decide_rectification(session: Session, *, actor: Actor, measure_id: int, accept: bool, note: str,
                         version: int | None = None) -> OperationMeasure:
    m = _measure(session, measure_id, version)
    _supervised(session, actor, m.agreement_id)
    errors: list[FieldError] = []
    why = text(note, "closing_note", "验收或退回的说明", errors)
    if errors:
        raise ValidationFailed(errors)
    return _move(session, actor, m, "accept" if accept else "reject", "closing_note", why)


def lift(session: Session, *, actor: Actor, measure_id: int, note: str, version: int | None = None) -> OperationMeasure:
    m = _measure(session, measure_id, version)
    require(actor, Permission.OPERATION_SUPERVISE)
    a = get_agreement(session, m.agreement_id)
    if actor.kind != "system" and actor.org_id != a.agency_org_id and Role.INDUSTRY_DEPARTMENT.value not in actor.roles:
        raise PermissionDenied("只有该协议的实施机构或行业主管部门可以恢复权限。", code="other_organisation")
    errors: list[FieldError] = []
    why = text(note, "closing_note", "恢复权限的说明", errors)
    if m.kind != "suspension":
        raise Conflict("只有暂停的权限可以恢复。", code="illegal_transition")
    SUSPENSION.next_state(m.state, "lift")
    if errors:
        raise ValidationFailed(errors)
    m = _move(session, actor, m, "lift", "closing_note", why)
    notices.issue_measure(session, actor=actor, measure=m, kind="lift",
                          body=f"自 {(m.closed_on or clock.today()).isoformat()} 起恢复你单位的授权运营平台使用权限"
                          f"（{m.measure_date.isoformat()} 暂停）。", items=[{"label": "说明", "value": why}])
    return m


def terminate(session: Session, *, actor: Actor, agreement_id: int, ground: str, reason: str,
              version: int | None = None) -> OperationMeasure:
    """Only the implementing agency terminates, on an OPS-21 ground, with its reason."""
    require(actor, Permission.OPERATION_TERMINATE)
    a = get_agreement(session, agreement_id)
    require_same_org(actor, a.agency_org_id)
    check_version(a, version)
    new = AGREEMENT.next_state(a.state, "terminate")
    errors: list[FieldError] = []
    if ground not in TERMINATION_GROUNDS:
        errors.append(FieldError("ground", "unknown_ground", "请选择第二十一条所列的终止情形。"))
    why = text(reason, "reason", "终止理由", errors)
    if errors:
        raise ValidationFailed(errors)
    before = a.state
    a.state, a.terminated_on = new, clock.today()
    a.termination_reason = f"{TERMINATION_GROUNDS[ground]}：{why}"
    session.flush()
    record(session, actor=actor, tag="operation:agreement:terminated", object_type="operation_agreement",
           object_id=a.id, changes={"state": [before, new]}, data={"ground": ground, "reason": why})
    m = _new(session, actor, a, "termination", "recorded", a.termination_reason, None, [])
    notices.issue_measure(session, actor=actor, measure=m, kind="termination",
                          body=f"因{TERMINATION_GROUNDS[ground]}，自 {a.terminated_on.isoformat()} 起终止该授权运营协议"
                          "（第二十一条）。", items=[{"label": "终止情形", "value": TERMINATION_GROUNDS[ground]},
                                                     {"label": "终止理由", "value": why}])
    return m


def measures_for(session: Session, *, agreement_id: int | None = None,
                 operator_org_id: int | None = None) -> list[OperationMeasure]:
    stmt = select(OperationMeasure).order_by(OperationMeasure.id.desc())
    if agreement_id is not None:
        stmt = stmt.where(OperationMeasure.agreement_id == agreement_id)
    if operator_org_id is not None:
        stmt = stmt.where(OperationMeasure.operator_org_id == operator_org_id)
    return list(session.scalars(stmt))
