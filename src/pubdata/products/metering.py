"""Metering of data-API calls: one row per call, unique per (subscription, idempotency key), written with
INSERT … ON CONFLICT DO NOTHING so that a retried call — even two copies racing in parallel — counts once.
The gateway counts the calls of a batch together (``record``), see ``gateway``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import Connection, TextClause, bindparam, func, select, text
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


@dataclass(frozen=True)
class Call:
    """One call to count."""

    subscription_id: int
    product_id: int
    idempotency_key: str
    volume: int
    amount: int
    called_at: dt.datetime = field(default_factory=utcnow)


#: Calls one batch writes at most (six parameters each, well under SQLite's limit of 32,766).
MAX_BATCH = 200
_CALLS = MeteredCall.__table__


@lru_cache(maxsize=MAX_BATCH)
def _insert(rows: int) -> TextClause:
    """The INSERT of ``rows`` calls, written out once per size, the same on both databases (SQLite ≥ 3.35 and
    PostgreSQL share this syntax; the dialects' ``on_conflict_do_nothing()`` constructs were compiled anew on every
    call). RETURNING names the rows this statement inserted (rowcount is not reliable on every driver)."""
    values = ", ".join(f"(:s{i}, :p{i}, :k{i}, :v{i}, :a{i}, :t{i})" for i in range(rows))
    return text(
        f"INSERT INTO {_CALLS.name} (subscription_id, product_id, idempotency_key, volume, amount, called_at) "
        f"VALUES {values} ON CONFLICT (subscription_id, idempotency_key) DO NOTHING "
        "RETURNING subscription_id, idempotency_key"
    ).bindparams(*(bindparam(f"t{i}", type_=_CALLS.c.called_at.type) for i in range(rows)))


def record(conn: Connection, calls: Sequence[Call]) -> list[bool]:
    """Count ``calls`` in ``conn``'s transaction; for each, whether it was new (False: its idempotency key was
    already counted for the subscription, earlier or by an earlier call in ``calls``)."""
    first: dict[tuple[int, str], Call] = {}
    for c in calls:
        first.setdefault((c.subscription_id, c.idempotency_key), c)
    # In key order: two batches inserting the same keys then wait on each other in one order, never in a cycle.
    rows = [first[k] for k in sorted(first)]
    inserted: set[tuple[int, str]] = set()
    for start in range(0, len(rows), MAX_BATCH):
        chunk = rows[start:start + MAX_BATCH]
        params = {}
        for i, c in enumerate(chunk):
            params |= {f"s{i}": c.subscription_id, f"p{i}": c.product_id, f"k{i}": c.idempotency_key,
                       f"v{i}": c.volume, f"a{i}": c.amount, f"t{i}": c.called_at}
        inserted.update((int(s), str(k)) for s, k in conn.execute(_insert(len(chunk)), params))
    return [first[(c.subscription_id, c.idempotency_key)] is c and (c.subscription_id, c.idempotency_key) in inserted
            for c in calls]


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
