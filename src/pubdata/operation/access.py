"""What other contexts ask about authorized operation (issue 9's operation domain among them).

- ``active_agreement(session, operator_org_id, on=date)``: the operator's agreement in force that day (signed by
  both sides, within its period, not terminated), or ``None``.
- ``require_active_agreement(...)``: the same, raising ``no_active_agreement`` (403) when there is none.
- ``is_suspended`` / ``require_not_suspended(session, org_id)``: OPS-21 suspension of the operator's platform
  access; every act of an operator must call ``require_not_suspended`` first (raises ``operator_suspended``, 403).
- ``agreement_scope(session, agreement)``: the registered resources the agreement covers (registration id, code,
  data name) — the data scope an operator may ask data for (OPS-23) — and ``products``: its product list.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.errors import PermissionDenied
from pubdata.operation.models import Agreement, OperationMeasure
from pubdata.operation.workflow import EFFECTIVE_STATES
from pubdata.registry.models import Registration


@dataclass(frozen=True)
class ScopedResource:
    registration_id: int
    code: str | None
    data_name: str
    #: False when the registration has since been cancelled or revoked: no longer to be provided (OPS-23).
    still_registered: bool


def active_suspension(session: Session, org_id: int) -> OperationMeasure | None:
    return session.scalar(select(OperationMeasure).where(
        OperationMeasure.operator_org_id == org_id, OperationMeasure.kind == "suspension",
        OperationMeasure.state == "in_force").order_by(OperationMeasure.id.desc()).limit(1))


def is_suspended(session: Session, org_id: int) -> bool:
    return active_suspension(session, org_id) is not None


def require_not_suspended(session: Session, org_id: int | None) -> None:
    """OPS-21: while its platform access is suspended, an operator can do nothing but report rectification."""
    if org_id is None:
        return
    measure = active_suspension(session, org_id)
    if measure is not None:
        raise PermissionDenied(
            f"本单位的授权运营平台使用权限已于 {measure.measure_date.isoformat()} 被暂停（第二十一条），"
            "整改完成并恢复权限前不能办理。", code="operator_suspended")


def active_agreement(session: Session, operator_org_id: int, *, on: dt.date | None = None) -> Agreement | None:
    day = on or clock.today()
    return session.scalar(select(Agreement).where(
        Agreement.operator_org_id == operator_org_id, Agreement.state.in_(EFFECTIVE_STATES),
        Agreement.start_date <= day, Agreement.end_date >= day).order_by(Agreement.id.desc()).limit(1))


def require_active_agreement(session: Session, operator_org_id: int, *, on: dt.date | None = None) -> Agreement:
    require_not_suspended(session, operator_org_id)
    agreement = active_agreement(session, operator_org_id, on=on)
    if agreement is None:
        raise PermissionDenied("本单位没有正在有效期内的授权运营协议。", code="no_active_agreement")
    return agreement


def agreement_scope(session: Session, agreement: Agreement) -> list[ScopedResource]:
    ids = list(agreement.content.get("resource_ids", []))
    rows = {r.id: r for r in session.scalars(select(Registration).where(Registration.id.in_(ids)))} if ids else {}
    return [ScopedResource(i, rows[i].code, rows[i].data_name, rows[i].status == "registered") for i in ids if i in rows]


def covers(session: Session, agreement: Agreement, registration_id: int) -> bool:
    """Whether the agreement's data scope includes this registered resource (and it is still registered)."""
    return any(r.registration_id == registration_id and r.still_registered for r in agreement_scope(session, agreement))
