"""Region scoping of the operation domain (OPS-6 第六条: 各市(州)数据主管部门统筹本行政区域内的授权运营工作).

A data authority sees and acts only on plans of the regions it administers (its active data-authority role rows,
as for the supervision dashboard): the provincial authority everywhere in Gansu, a city authority its city. A plan
belongs to the region of its drafting body (``OperationPlan.region_code``); a selection and an agreement to their
plan's. Other bodies (implementing agency, reviewing bodies, industry departments, operators) are limited by their
own object checks, not by region; a providing unit consents to the use of its shared data across regions (OPS-12),
so consent is not region-scoped.
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from pubdata.audit import Actor
from pubdata.errors import PermissionDenied
from pubdata.identity.roles import Role
from pubdata.operation.models import Agreement, OperationPlan
from pubdata.supervision.scope import Scope, authority_scope


def plan_scope(session: Session, actor: Actor) -> Scope | None:
    """The regions whose plans the actor may see as data authority; None when it is not limited by region."""
    if actor.kind == "system" or Role.DATA_AUTHORITY.value not in actor.roles:
        return None
    return authority_scope(session, actor)


def require_plan_region(session: Session, actor: Actor, plan: OperationPlan) -> None:
    scope = plan_scope(session, actor)
    if scope is not None and not scope.covers(plan.region_code):
        raise PermissionDenied(
            f"该实施方案不属于本单位主管的地区（{scope.label()}），不能查看或办理（第六条：各市（州）数据主管部门"
            "统筹本行政区域内的授权运营工作）。", code="out_of_region")


def _regions(session: Session, scope: Scope) -> list[str]:
    return [c for c in session.scalars(select(OperationPlan.region_code).distinct()) if scope.covers(c)]


def scoped_plans(session: Session, actor: Actor, stmt: Select[tuple[OperationPlan]]) -> Select[tuple[OperationPlan]]:
    scope = plan_scope(session, actor)
    return stmt if scope is None else stmt.where(OperationPlan.region_code.in_(_regions(session, scope)))


def scoped_agreements(session: Session, actor: Actor, stmt: Select[tuple[Agreement]]) -> Select[tuple[Agreement]]:
    scope = plan_scope(session, actor)
    if scope is None:
        return stmt
    return stmt.where(Agreement.plan_id.in_(
        select(OperationPlan.id).where(OperationPlan.region_code.in_(_regions(session, scope)))))


def require_agreement_region(session: Session, actor: Actor, agreement: Agreement) -> None:
    plan = session.get(OperationPlan, agreement.plan_id)
    if plan is not None:
        require_plan_region(session, actor, plan)
