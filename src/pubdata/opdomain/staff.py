"""Designated staff (OPS-25): only users of the operator whom the agreement's implementing agency approved may
query under the agreement's grants.

``STAFF``: nominated → approved (the agency) | withdrawn (the agency or the operator); approved → withdrawn (either).
A withdrawn designation stays as a record; nominating the user again is a new row. Each step is one audit event
``opdomain:staff:<action>`` on the designation, in the same transaction.
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from pubdata.audit import Actor, record
from pubdata.db.base import utcnow
from pubdata.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from pubdata.identity.access import require, require_same_org
from pubdata.identity.models import User
from pubdata.identity.permissions import Permission
from pubdata.opdomain.models import DesignatedStaff
from pubdata.operation.access import require_active_agreement
from pubdata.operation.common import check_version
from pubdata.workflow import StateMachine

OBJECT = "opdomain_designated_staff"
OPERATE, SUPERVISE = Permission.OPERATION_OPERATE, Permission.OPERATION_SUPERVISE
LIVE = ("nominated", "approved")

STAFF = StateMachine(
    name="指定人员",
    transitions={("nominated", "approve"): "approved", ("nominated", "withdraw"): "withdrawn",
                 ("approved", "withdraw"): "withdrawn"},
    labels={"nominated": "已提名（待实施机构批准）", "approved": "已批准", "withdrawn": "已撤回",
            "approve": "批准", "withdraw": "撤回"},
)


def is_designated(session: Session, *, agreement_id: int, user_id: int | None) -> bool:
    return user_id is not None and session.scalar(select(DesignatedStaff.id).where(
        DesignatedStaff.agreement_id == agreement_id, DesignatedStaff.user_id == user_id,
        DesignatedStaff.state == "approved").limit(1)) is not None


def require_designated(session: Session, actor: Actor, agreement_id: int) -> None:
    """OPS-25: the operator's user must be approved by the agency for this agreement (the platform itself is)."""
    if actor.kind != "system" and not is_designated(session, agreement_id=agreement_id, user_id=actor.user_id):
        raise PermissionDenied("您不是实施机构批准的本协议指定人员，不能在该数据授权下查询。请由本单位提名、"
                               "经实施机构批准后再查询。", code="not_designated_staff")


def nominate(session: Session, *, actor: Actor, user_id: int, duty: str) -> DesignatedStaff:
    """The operator names one of its own active users for its agreement in force."""
    require(actor, OPERATE)
    agreement = require_active_agreement(session, actor.org_id or 0)
    errors: list[FieldError] = []
    user = session.get(User, user_id) if user_id else None
    if user is None or user.organisation_id != actor.org_id or not user.is_active:
        errors.append(FieldError("user_id", "unknown_user", "请选择本单位的在用账户。"))
    duty = duty.strip()
    if not duty:
        errors.append(FieldError("duty", "required", "请填写岗位与职责。"))
    elif len(duty) > 200:
        errors.append(FieldError("duty", "too_long", "岗位与职责不能超过 200 字。"))
    if user is not None and not errors and session.scalar(select(DesignatedStaff.id).where(
            DesignatedStaff.agreement_id == agreement.id, DesignatedStaff.user_id == user_id,
            DesignatedStaff.state.in_(LIVE))) is not None:
        errors.append(FieldError("user_id", "already_designated", "该用户已被提名或已是指定人员。"))
    if errors:
        raise ValidationFailed(errors)
    row = DesignatedStaff(agreement_id=agreement.id, operator_org_id=agreement.operator_org_id,
                          agency_org_id=agreement.agency_org_id, user_id=user_id, duty=duty,
                          nominated_by_user_id=actor.user_id)
    session.add(row)
    session.flush()
    record(session, actor=actor, tag="opdomain:staff:nominate", object_type=OBJECT, object_id=row.id,
           data={"agreement_id": agreement.id, "user_id": user_id, "username": user.username if user else None,
                 "duty": duty})
    return row


def can_see(actor: Actor, row: DesignatedStaff) -> bool:
    return actor.kind == "system" or actor.org_id in (row.operator_org_id, row.agency_org_id)


def get_visible(session: Session, *, actor: Actor, staff_id: int) -> DesignatedStaff:
    """Another organisation's designation looks like none at all."""
    row = session.get(DesignatedStaff, staff_id)
    if row is None or not can_see(actor, row):
        raise NotFound("指定人员记录不存在。", code="staff_not_found")
    return row


def decide(session: Session, *, actor: Actor, staff_id: int, action: str, note: str = "",
           version: int | None = None) -> DesignatedStaff:
    """``approve`` (the agreement's agency) or ``withdraw`` (the agency, or the operator for its own staff)."""
    row = get_visible(session, actor=actor, staff_id=staff_id)
    if action == "approve" or actor.org_id == row.agency_org_id:
        require_same_org(actor, row.agency_org_id, "只有该协议的实施机构可以批准指定人员。", code="agency_only")
        require(actor, SUPERVISE)
    else:
        require(actor, OPERATE)
        require_same_org(actor, row.operator_org_id)
    if action not in ("approve", "withdraw"):
        raise ValidationFailed.single("action", "unknown_action", "未知的操作。")
    check_version(row, version)
    note = note.strip()
    if action == "withdraw" and not note:
        raise ValidationFailed.single("note", "required", "撤回须说明理由。")
    before, after = STAFF.move(row, action)
    row.decided_by_user_id, row.decision_note, row.decided_at = actor.user_id, note or None, utcnow()
    session.flush()
    record(session, actor=actor, tag=f"opdomain:staff:{action}", object_type=OBJECT, object_id=row.id,
           changes={"state": [before, after]}, data={"agreement_id": row.agreement_id, "user_id": row.user_id,
                                                     "note": note})
    return row


def staff_query(*, actor: Actor, state: str | None = None) -> Select[tuple[DesignatedStaff]]:
    """The operator's own nominations, or those waiting on (or decided by) the agency."""
    q = select(DesignatedStaff).order_by(DesignatedStaff.id.desc())
    if actor.kind != "system":
        q = q.where((DesignatedStaff.operator_org_id == actor.org_id) | (DesignatedStaff.agency_org_id == actor.org_id))
    return q.where(DesignatedStaff.state == state) if state else q
