"""Scenario demands (OPS-15): organisations and the public submit them; plans link the demands they answer."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from pubdata.audit import Actor, record
from pubdata.errors import FieldError, ValidationFailed
from pubdata.identity.access import require
from pubdata.identity.permissions import Permission
from pubdata.operation.common import get, text
from pubdata.operation.models import PlanDemandLink, ScenarioDemand
from pubdata.operation.workflow import DEMAND

OBJECT = "operation_demand"


def submit_demand(session: Session, *, actor: Actor, title: str, scenario: str, data_needed: str,
                  expected_product: str = "", contact_name: str = "", contact: str = "") -> ScenarioDemand:
    """Anyone may submit, signed in or not (“广泛征集”); the public gives a contact name."""
    errors: list[FieldError] = []
    clean = {
        "title": text(title, "title", "场景名称", errors, limit=200),
        "scenario": text(scenario, "scenario", "场景描述", errors),
        "data_needed": text(data_needed, "data_needed", "所需数据", errors),
        "expected_product": text(expected_product, "expected_product", "期望的产品或服务", errors, required=False),
        "contact_name": text(contact_name or (actor.label if actor.kind == "user" else ""), "contact_name",
                             "联系人", errors, limit=50),
        "contact": text(contact, "contact", "联系方式", errors, required=actor.kind != "user", limit=100),
    }
    if errors:
        raise ValidationFailed(errors)
    demand = ScenarioDemand(**clean, submitter_org_id=actor.org_id, submitter_user_id=actor.user_id)
    session.add(demand)
    session.flush()
    public = {k: v for k, v in clean.items() if k != "contact"}  # the contact is personal data, not for the trail
    record(session, actor=actor, tag="operation:demand:submitted", object_type=OBJECT, object_id=demand.id, data=public)
    return demand


def close_demand(session: Session, *, actor: Actor, demand_id: int, reason: str) -> ScenarioDemand:
    require(actor, Permission.OPERATION_PLAN)
    demand = get(session, ScenarioDemand, demand_id, "场景需求")
    errors: list[FieldError] = []
    why = text(reason, "reason", "不予采纳的理由", errors)
    new = DEMAND.next_state(demand.state, "close")
    if errors:
        raise ValidationFailed(errors)
    before, demand.state = demand.state, new
    session.flush()
    record(session, actor=actor, tag="operation:demand:closed", object_type=OBJECT, object_id=demand.id,
           changes={"state": [before, new]}, data={"reason": why})
    return demand


def demands_query(state: str | None = None) -> Select[tuple[ScenarioDemand]]:
    stmt = select(ScenarioDemand).order_by(ScenarioDemand.id.desc())
    return stmt.where(ScenarioDemand.state == state) if state else stmt


def plans_answering(session: Session, demand_id: int) -> list[int]:
    return list(session.scalars(select(PlanDemandLink.plan_id).where(PlanDemandLink.demand_id == demand_id).distinct()))

