"""Writing audit events. Service functions call ``record`` inside their own transaction."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

# Importing the ledger hooks makes every flushed AuditEvent a ledger leaf in its own transaction,
# whichever code path wrote it.
import pubdata.ledger.hooks  # noqa: F401
from pubdata.audit.actor import Actor
from pubdata.audit.models import AuditEvent


def jsonable(value: Any) -> Any:
    """Values as JSON can hold them, so before/after snapshots survive 20 years of schema change."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, Iterable) and not isinstance(value, bytes):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for every field whose value differs."""
    keys = list(dict.fromkeys([*before.keys(), *after.keys()]))
    return {
        k: [jsonable(before.get(k)), jsonable(after.get(k))]
        for k in keys
        if jsonable(before.get(k)) != jsonable(after.get(k))
    }


def record(
    session: Session,
    *,
    actor: Actor,
    tag: str,
    object_type: str,
    object_id: object,
    changes: Mapping[str, list[Any]] | None = None,
    data: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the trail in the session's transaction and flush it.

    The flush also appends the event to the ledger (``pubdata.ledger.hooks``): under the ledger lock,
    as the next leaf, in this same transaction; ``pubdata.ledger.leaf_index_of(session, event)`` gives
    its leaf index.
    """
    if tag.count(":") != 2 or not all(tag.split(":")):
        raise ValueError(f"audit tag must be context:subject:action, got {tag!r}")
    event = AuditEvent(
        tag=tag,
        actor_kind=actor.kind,
        actor_label=actor.label,
        actor_user_id=actor.user_id,
        actor_org_id=actor.org_id,
        actor_roles=list(actor.roles),
        object_type=object_type,
        object_id=str(object_id),
        changes=jsonable(dict(changes or {})),
        data=jsonable(dict(data or {})),
        request_id=actor.request_id,
        client_addr=actor.client_addr,
    )
    session.add(event)
    session.flush([event])
    return event


def history(session: Session, *, object_type: str, object_id: object) -> list[AuditEvent]:
    """Every event about one object, oldest first."""
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.object_type == object_type, AuditEvent.object_id == str(object_id))
        .order_by(AuditEvent.id)
    )
    return list(session.scalars(stmt))


def list_events(
    session: Session,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    tag: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[AuditEvent]:
    """Events in sequence order, filtered; ``after`` pages by sequence number (stable under appends)."""
    stmt = select(AuditEvent).where(AuditEvent.id > after)
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    if tag:
        stmt = stmt.where(AuditEvent.tag == tag)
    return list(session.scalars(stmt.order_by(AuditEvent.id).limit(limit)))
