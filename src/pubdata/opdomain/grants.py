"""Data grants (OPS-23): what an operator may query, until when. Revocation takes effect at the next query.

A grant whose queries went wrong too often is suspended (opdomain/brakes.py) pending the implementing agency's
review: ``operation.workflow.SUSPENSION`` (in_force → lifted), like an operator's suspension (OPS-21) but for
this grant only; its queries answer ``grant_suspended`` (403) until the agency resumes it with a reason."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pubdata.audit import Actor, record
from pubdata.db.base import utcnow
from pubdata.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from pubdata.identity.access import require, require_same_org
from pubdata.identity.permissions import Permission
from pubdata.opdomain import datasets
from pubdata.opdomain.models import DataGrant, GrantSuspension, OpDataset, QueryCounter
from pubdata.opdomain.schema import Grant
from pubdata.operation.agreements import get_agreement
from pubdata.operation.common import check_version
from pubdata.operation.workflow import SUSPENSION


def get_grant(session: Session, grant_id: int) -> DataGrant:
    grant = session.get(DataGrant, grant_id)
    if grant is None:
        raise NotFound("数据授权不存在。", code="grant_not_found")
    return grant


def list_grants(session: Session, *, actor: Actor) -> list[DataGrant]:
    q = select(DataGrant).order_by(DataGrant.id.desc())
    if actor.can(Permission.OPERATION_OPERATE.value):
        return list(session.scalars(q.where(DataGrant.operator_org_id == actor.org_id)))
    require(actor, datasets.PROVIDE)
    return list(session.scalars(q.join(OpDataset, OpDataset.id == DataGrant.dataset_id)
                                .where(OpDataset.provider_org_id == actor.org_id)))


def is_active(grant: DataGrant, now: dt.datetime) -> bool:
    return grant.revoked_at is None and now < grant.expires_at


def engine_grant(session: Session, grant: DataGrant) -> Grant:
    """The engine's Grant for a stored one (the policy check sees only these columns)."""
    dataset = datasets.dataset_of(datasets.get_dataset(session, grant.dataset_id))
    return Grant(dataset, {t: frozenset(c) for t, c in grant.columns.items()},
                 expires_at=grant.expires_at, revoked=grant.revoked_at is not None, grant_id=str(grant.id))


def revoke(session: Session, *, actor: Actor, grant_id: int, reason: str) -> DataGrant:
    """The providing industry department withdraws a grant; its next query is refused."""
    require(actor, datasets.PROVIDE)
    grant = get_grant(session, grant_id)
    require_same_org(actor, datasets.get_dataset(session, grant.dataset_id).provider_org_id)
    if not reason.strip():
        raise ValidationFailed.single("reason", "required", "撤销须说明理由。")
    if grant.revoked_at is not None:
        raise Conflict("该授权已撤销。", code="already_revoked")
    grant.revoked_at = utcnow()
    grant.revoke_reason = reason.strip()
    session.flush()
    record(session, actor=actor, tag="opdomain:grant:revoke", object_type="opdomain_grant", object_id=grant.id,
           changes={"revoked_at": [None, grant.revoked_at.isoformat()]}, data={"reason": grant.revoke_reason})
    return grant


def active_suspension(session: Session, grant_id: int) -> GrantSuspension | None:
    return session.scalar(select(GrantSuspension).where(
        GrantSuspension.grant_id == grant_id, GrantSuspension.state == "in_force")
        .order_by(GrantSuspension.id.desc()).limit(1))


def require_not_suspended(session: Session, grant: DataGrant) -> None:
    held = active_suspension(session, grant.id)
    if held is not None:
        raise PermissionDenied(f"该数据授权因异常查询过多已于 {held.created_at:%Y-%m-%d %H:%M}（UTC）暂停，"
                               "待实施机构审查恢复后才能查询。", code="grant_suspended")


def suspend(session: Session, *, actor: Actor, grant: DataGrant, facts: str,
            alert_id: int | None = None) -> GrantSuspension | None:
    """Hold the grant pending the agency's review (None when it is already held)."""
    if active_suspension(session, grant.id) is not None:
        return None
    agreement = get_agreement(session, grant.agreement_id)
    held = GrantSuspension(grant_id=grant.id, agreement_id=agreement.id, agency_org_id=agreement.agency_org_id,
                           alert_id=alert_id, facts=facts)
    session.add(held)
    session.flush()
    record(session, actor=actor, tag="opdomain:grant:suspend", object_type="opdomain_grant", object_id=grant.id,
           changes={"state": [None, held.state]}, data={"suspension_id": held.id, "facts": facts,
                                                        "alert_id": alert_id})
    return held


def agency_grant(session: Session, actor: Actor, grant_id: int) -> DataGrant:
    """A grant under one of the actor's (implementing agency's) agreements; any other looks like none at all."""
    require(actor, Permission.OPERATION_SUPERVISE)
    grant = session.get(DataGrant, grant_id)
    if grant is None or (actor.kind != "system"
                         and get_agreement(session, grant.agreement_id).agency_org_id != actor.org_id):
        raise NotFound("数据授权不存在。", code="grant_not_found")
    return grant


def resume(session: Session, *, actor: Actor, grant_id: int, reason: str,
           version: int | None = None) -> GrantSuspension:
    """The agreement's implementing agency lifts the hold after its review, with its reason; the grant's
    threshold window starts again."""
    grant = agency_grant(session, actor, grant_id)
    held = active_suspension(session, grant.id)
    if held is None:
        raise Conflict("该数据授权未被暂停。", code="grant_not_suspended")
    check_version(held, version)
    if not reason.strip():
        raise ValidationFailed.single("reason", "required", "恢复授权须说明审查结论与理由。")
    if len(reason) > 2000:
        raise ValidationFailed.single("reason", "too_long", "理由不能超过 2000 字。")
    before, after = SUSPENSION.move(held, "lift")
    held.closing_note, held.lifted_by_user_id, held.lifted_at = reason.strip(), actor.user_id, utcnow()
    c = QueryCounter.__table__.c
    session.execute(update(QueryCounter.__table__).where(c.grant_id == grant.id)
                    .values(window_bad=0, alert_level=0, window_start=0.0))  # a new window at the next query
    session.flush()
    record(session, actor=actor, tag="opdomain:grant:resume", object_type="opdomain_grant", object_id=grant.id,
           changes={"state": [before, after]}, data={"suspension_id": held.id, "reason": held.closing_note})
    return held
