"""Data grants (OPS-23): what an operator may query, until when. Revocation takes effect at the next query."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.audit import Actor, record
from pubdata.db.base import utcnow
from pubdata.errors import Conflict, NotFound, ValidationFailed
from pubdata.identity.access import require, require_same_org
from pubdata.identity.permissions import Permission
from pubdata.opdomain import datasets
from pubdata.opdomain.models import DataGrant, OpDataset
from pubdata.opdomain.schema import Grant


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
