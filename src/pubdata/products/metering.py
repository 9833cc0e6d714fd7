"""Metering of data-API calls: one row per call, unique per (subscription, idempotency key), written with
INSERT … ON CONFLICT DO NOTHING so that a retried call — even two copies racing in parallel — counts once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pubdata.db.base import utcnow
from pubdata.products.common import year_bounds
from pubdata.products.models import MeteredCall


def amount_for(basis: str, unit_price: int, volume: int) -> int:
    """What one call costs: by call the unit price; by volume the price per 1,000 records, rounded to the fen."""
    if basis == "per_call":
        return unit_price
    if basis == "per_volume":
        return (volume * unit_price + 500) // 1000
    return 0  # free, or paid by the order (by product, by time)


#: One statement per dialect, built once: the gateway's hot path must not rebuild and recompile it per call.
_INSERTS: dict[str, Any] = {}


def _insert(dialect: str) -> Any:
    if dialect not in _INSERTS:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        _INSERTS[dialect] = (insert(MeteredCall.__table__)
                             .on_conflict_do_nothing(index_elements=["subscription_id", "idempotency_key"])
                             # RETURNING says whether this statement inserted the row (rowcount is not
                             # reliable on every driver).
                             .returning(MeteredCall.__table__.c.id))
    return _INSERTS[dialect]


def meter(session: Session, *, subscription_id: int, product_id: int, idempotency_key: str, volume: int,
          amount: int, at: dt.datetime | None = None) -> bool:
    """Record one call; False when this idempotency key was already counted for the subscription."""
    conn = session.connection()
    row = conn.execute(_insert(conn.dialect.name), {
        "subscription_id": subscription_id, "product_id": product_id, "idempotency_key": idempotency_key,
        "volume": volume, "amount": amount, "called_at": at or utcnow()}).first()
    return row is not None


@dataclass(frozen=True)
class Usage:
    calls: int
    volume: int
    amount: int


def usage(session: Session, *, product_id: int | None = None, subscription_id: int | None = None,
          year: int | None = None) -> Usage:
    stmt = select(func.count(MeteredCall.id), func.coalesce(func.sum(MeteredCall.volume), 0),
                  func.coalesce(func.sum(MeteredCall.amount), 0))
    if product_id is not None:
        stmt = stmt.where(MeteredCall.product_id == product_id)
    if subscription_id is not None:
        stmt = stmt.where(MeteredCall.subscription_id == subscription_id)
    if year is not None:
        start, end = year_bounds(year)
        stmt = stmt.where(MeteredCall.called_at >= start, MeteredCall.called_at < end)
    calls, volume, amount = session.execute(stmt).one()
    return Usage(int(calls), int(volume), int(amount))
