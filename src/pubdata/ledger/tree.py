"""The Merkle tree in the database: one ordered append under one lock, stored subtree hashes for proofs.

Storage (``ledger_leaf``): one row per leaf holding the leaf hash and the hashes of the complete subtrees
that leaf finishes — a leaf at index i finishes one subtree per trailing 1-bit of i, one on average. The
complete subtree of level L and index j therefore lives in the row of leaf ((j+1)·2^L − 1), at offset
32·(L−1) of ``subtree_hashes`` (level 0 is the leaf hash itself). Every hash a proof needs is such a
subtree or a right fold of O(log n) of them, so proofs are one indexed query, never a rebuild.

Order: the first flush of a transaction that writes anything audited takes the ledger lock
(``SELECT … FOR UPDATE`` on the single ``ledger_head`` row on PostgreSQL; a write to it on SQLite, which
takes SQLite's one writer lock with a fresh snapshot). Event ids are drawn after the lock, and leaves are
appended in event-id order while it is held, so the event order and the leaf order agree and two writers
can never fork the tree. The primary key on ``leaf_index`` makes a fork impossible even for code that
bypasses the lock: the second writer's insert fails.

The lock is taken before the transaction touches any other row, so writers always lock in the same order
(ledger first) and cannot deadlock against each other. A transaction that locks rows with
``SELECT … FOR UPDATE`` before its first write should call ``lock(session)`` first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, insert, select, text
from sqlalchemy.orm import Session

from pubdata.crypto import merkle
from pubdata.ledger.canonical import event_bytes
from pubdata.ledger.models import LedgerCheckpoint, LedgerLeaf

HASH = merkle.HASH_SIZE
LEAVES = LedgerLeaf.__table__
CHECKPOINTS = LedgerCheckpoint.__table__

_STATE = "pubdata.ledger.state"
_LOCKED = "pubdata.ledger.locked"


class LedgerCorrupt(RuntimeError):
    """The stored tree lacks a hash it must have (rows deleted or truncated behind the platform's back)."""


class LedgerOrderError(RuntimeError):
    """An event arrived out of order — a writer that bypassed the ledger lock."""


#: Leaf rows are written in batches of at most this many (and always before a commit or savepoint).
PENDING_LIMIT = 1000


@dataclass
class TreeState:
    """The tree as this transaction sees it while holding the lock."""

    conn: Connection
    frontier: merkle.Frontier
    last_event_id: int | None
    #: Leaves appended in this transaction: event id -> leaf index.
    appended: dict[int, int] = field(default_factory=dict)
    #: Leaf rows computed but not yet inserted (see ``write_pending``).
    pending: list[dict[str, Any]] = field(default_factory=list)
    #: The latest checkpoint's size and time, loaded when first asked for.
    checkpoint: tuple[int, dt.datetime | None] | None = None

    @property
    def size(self) -> int:
        return self.frontier.size

    def latest_checkpoint(self) -> tuple[int, dt.datetime | None]:
        if self.checkpoint is None:
            row = self.conn.execute(select(CHECKPOINTS.c.tree_size, CHECKPOINTS.c.created_at)
                                    .order_by(CHECKPOINTS.c.id.desc()).limit(1)).first()
            self.checkpoint = (int(row.tree_size), row.created_at) if row else (0, None)
        return self.checkpoint


# --- Reading the stored tree ----------------------------------------------------------------------------

def _end_leaf(level: int, index: int) -> int:
    return ((index + 1) << level) - 1


def fetch_subtrees(conn: Connection, nodes: Iterable[tuple[int, int]],
                   event_ids: dict[int, int] | None = None) -> dict[tuple[int, int], bytes]:
    """Hashes of complete subtrees ``(level, index)``, in one query (and the event ids of the rows read)."""
    wanted = set(nodes)
    if not wanted:
        return {}
    rows = {
        r.leaf_index: r
        for r in conn.execute(
            select(LEAVES.c.leaf_index, LEAVES.c.event_id, LEAVES.c.leaf_hash, LEAVES.c.subtree_hashes)
            .where(LEAVES.c.leaf_index.in_(sorted({_end_leaf(lv, ix) for lv, ix in wanted})))
        )
    }
    if event_ids is not None:
        event_ids.update({i: int(r.event_id) for i, r in rows.items()})
    out: dict[tuple[int, int], bytes] = {}
    for level, index in wanted:
        row = rows.get(_end_leaf(level, index))
        value = None
        if row is not None:
            value = row.leaf_hash if level == 0 else row.subtree_hashes[(level - 1) * HASH:level * HASH]
        if value is None or len(value) != HASH:
            raise LedgerCorrupt(f"subtree level {level} index {index} is missing from ledger_leaf")
        out[(level, index)] = bytes(value)
    return out


def range_hashes(conn: Connection, ranges: Sequence[tuple[int, int]],
                 event_ids: dict[int, int] | None = None) -> list[bytes]:
    """MTH(D[a:b]) for each RFC 9162 subtree range, from stored complete subtrees (one query for all).

    A proof asks for its path, its root(s) (the range from 0) and its leaf (a range of one) together.
    """
    pieces = [merkle.perfect_pieces(a, b) for a, b in ranges]
    stored = fetch_subtrees(conn, (p for ps in pieces for p in ps), event_ids)
    return [merkle.fold([stored[p] for p in ps]) for ps in pieces]


def tree_size(conn: Connection) -> int:
    last = conn.execute(select(func.max(LEAVES.c.leaf_index))).scalar()
    return 0 if last is None else int(last) + 1


def frontier_at(conn: Connection, size: int) -> merkle.Frontier:
    """The compact tree of the first ``size`` leaves."""
    if size == 0:
        return merkle.Frontier()
    pieces = merkle.perfect_pieces(0, size)
    stored = fetch_subtrees(conn, pieces)
    return merkle.Frontier(size, [stored[p] for p in pieces])


def root_at(conn: Connection, size: int) -> bytes:
    return frontier_at(conn, size).root()


# --- Appending -------------------------------------------------------------------------------------------

def lock(session: Session) -> None:
    """Take the ledger lock for the rest of the transaction (idempotent)."""
    if session.info.get(_LOCKED):
        return
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT id FROM ledger_head WHERE id = 1 FOR UPDATE"))
    else:
        conn.execute(text("UPDATE ledger_head SET id = id WHERE id = 1"))
    session.info[_LOCKED] = True


def is_locked(session: Session) -> bool:
    return bool(session.info.get(_LOCKED))


def state(session: Session) -> TreeState:
    """The tree under the lock, loaded once per transaction (and again after a savepoint ends)."""
    current: TreeState | None = session.info.get(_STATE)
    if current is not None:
        return current
    lock(session)
    conn = session.connection()
    last = conn.execute(select(LEAVES.c.leaf_index, LEAVES.c.event_id)
                        .order_by(LEAVES.c.leaf_index.desc()).limit(1)).first()
    size = 0 if last is None else int(last.leaf_index) + 1
    current = TreeState(conn, frontier_at(conn, size), None if last is None else int(last.event_id))
    session.info[_STATE] = current
    return current


def append_events(session: Session, events: Sequence[Any], *, write: bool = False) -> list[int]:
    """Append flushed audit events (with their ids) as leaves, in id order; returns their leaf indices.

    The rows are inserted in batches (``write_pending``) rather than one statement per event: ``record``
    flushes every event on its own, and a second round trip per event would halve the write rate.
    """
    st = state(session)
    indices = []
    for ev in sorted(events, key=lambda e: e.id):
        if st.last_event_id is not None and ev.id <= st.last_event_id:
            raise LedgerOrderError(f"audit event {ev.id} arrived after event {st.last_event_id}")
        h = merkle.leaf_hash(event_bytes(ev))
        index = st.frontier.size
        st.pending.append({"leaf_index": index, "event_id": ev.id, "leaf_hash": h,
                           "subtree_hashes": b"".join(st.frontier.append(h))})
        st.last_event_id = ev.id
        st.appended[ev.id] = index
        indices.append(index)
    if write or len(st.pending) >= PENDING_LIMIT:
        write_pending(st)
    return indices


_COPY = "COPY ledger_leaf (leaf_index, event_id, leaf_hash, subtree_hashes) FROM STDIN"


def write_pending(st: TreeState) -> None:
    """Insert the computed leaf rows, on the connection the lock was taken on.

    PostgreSQL gets them by COPY (on the same connection and transaction): a quarter of the cost of an
    executemany INSERT, which matters because this runs for every event written.
    """
    if not st.pending:
        return
    if st.conn.dialect.name == "postgresql":
        with st.conn.connection.driver_connection.cursor() as cur, cur.copy(_COPY) as copy:  # type: ignore[union-attr]
            for row in st.pending:
                copy.write_row((row["leaf_index"], row["event_id"], row["leaf_hash"], row["subtree_hashes"]))
    else:
        st.conn.execute(insert(LEAVES), st.pending)
    st.pending = []


def sync(session: Session) -> None:
    """Write this transaction's pending leaf rows now (before reading ledger_leaf in the same transaction)."""
    st: TreeState | None = session.info.get(_STATE)
    if st is not None:
        write_pending(st)


def leaf_index_of(session: Session, event: Any) -> int:
    """The leaf index of an audit event (or event id) — what certificates and receipts carry."""
    event_id = int(getattr(event, "id", event))
    st: TreeState | None = session.info.get(_STATE)
    if st is not None and event_id in st.appended:
        return st.appended[event_id]
    session.flush()
    sync(session)
    index = session.connection().execute(
        select(LEAVES.c.leaf_index).where(LEAVES.c.event_id == event_id)
    ).scalar()
    if index is None:
        raise LookupError(f"audit event {event_id} has no ledger leaf")
    return int(index)


def forget(session: Session) -> None:
    """Drop the cached state and lock flag (any transaction or savepoint ended)."""
    session.info.pop(_STATE, None)
    session.info.pop(_LOCKED, None)
