"""Signed tree heads (checkpoints): every N events or T seconds, on demand, and before an export.

The signed statement is the canonical JSON (RFC 8785) of::

    {"format": "pubdata-ledger-checkpoint/1", "origin": ORIGIN, "tree_size": n,
     "root_hash": "<hex>", "timestamp": "2026-11-27T08:30:00.000000Z", "key_id": "<hex>"}

signed with SM2/SM3 and the default user id by the platform's ``ledger`` key. Anyone holding the public key
can check it (``Checkpoint.verify``); ``pubdata.ledger.offline`` has the functions outsiders use.

Checkpoints are not audit events themselves: an event per checkpoint would add a leaf to the tree the
checkpoint has just signed, so every checkpoint would be stale on arrival. They are self-authenticating
instead (a forged or altered one fails its signature) and ``ledger verify`` checks every one of them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session

from pubdata.config import Settings, get_settings
from pubdata.crypto.keys import KeyRing, PublicKey
from pubdata.db.base import utcnow
from pubdata.ledger import tree
from pubdata.ledger.canonical import canonical_bytes, timestamp
from pubdata.ledger.models import LedgerCheckpoint

log = logging.getLogger("pubdata.ledger")

FORMAT = "pubdata-ledger-checkpoint/1"
ORIGIN = "gansu-pubdata/audit-ledger"
KEY_NAME = "ledger"
#: Session.info key through which a sessionmaker can hand settings to the ledger hooks (tests, tools).
SETTINGS_INFO = "pubdata.settings"
TABLE = LedgerCheckpoint.__table__


@dataclass(frozen=True)
class Checkpoint:
    tree_size: int
    root_hash: bytes
    created_at: dt.datetime
    key_id: str
    signature: bytes
    reason: str = "demand"
    id: int | None = None

    def statement(self) -> dict[str, Any]:
        return {"format": FORMAT, "origin": ORIGIN, "tree_size": self.tree_size,
                "root_hash": self.root_hash.hex(), "timestamp": timestamp(self.created_at), "key_id": self.key_id}

    def signed_bytes(self) -> bytes:
        return canonical_bytes(self.statement())

    def verify(self, keys: Mapping[str, PublicKey]) -> bool:
        key = keys.get(self.key_id)
        return key is not None and key.verify(self.signed_bytes(), self.signature)

    def as_dict(self) -> dict[str, Any]:
        """Published form: the statement's fields, the signature, and the exact signed text."""
        return {**self.statement(), "signature": self.signature.hex(), "signed": self.signed_bytes().decode(),
                "id": self.id, "reason": self.reason}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Checkpoint:
        ts = dt.datetime.strptime(str(raw["timestamp"]), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
        return cls(tree_size=int(raw["tree_size"]), root_hash=bytes.fromhex(str(raw["root_hash"])),
                   created_at=ts, key_id=str(raw["key_id"]), signature=bytes.fromhex(str(raw["signature"])),
                   reason=str(raw.get("reason") or "demand"), id=raw.get("id"))

    @classmethod
    def from_row(cls, row: Any) -> Checkpoint:
        return cls(tree_size=int(row.tree_size), root_hash=bytes(row.root_hash), created_at=row.created_at,
                   key_id=row.key_id, signature=bytes(row.signature), reason=row.reason, id=row.id)


def settings_for(session: Session) -> Settings:
    return session.info.get(SETTINGS_INFO) or get_settings()


def keyring(settings: Settings) -> KeyRing:
    return KeyRing.open(settings, KEY_NAME)


def create(session: Session, *, keys: KeyRing | None = None, reason: str = "demand",
           now: dt.datetime | None = None) -> Checkpoint:
    """Sign the tree as it stands in this transaction (taking the ledger lock) and store the checkpoint."""
    st = tree.state(session)
    signer = (keys or keyring(settings_for(session))).signing_key()
    created = (now or utcnow()).astimezone(dt.UTC)
    unsigned = Checkpoint(st.size, st.frontier.root(), created, signer.key_id, b"", reason)
    cp = Checkpoint(st.size, unsigned.root_hash, created, signer.key_id, signer.sign(unsigned.signed_bytes()), reason)
    result = session.connection().execute(
        insert(TABLE).values(tree_size=cp.tree_size, root_hash=cp.root_hash, created_at=cp.created_at,
                             key_id=cp.key_id, signature=cp.signature, reason=reason)
    )
    new_id = result.inserted_primary_key[0]
    st.checkpoint = (cp.tree_size, cp.created_at)
    return Checkpoint(cp.tree_size, cp.root_hash, cp.created_at, cp.key_id, cp.signature, reason, int(new_id))


def due(session: Session, settings: Settings, now: dt.datetime | None = None) -> str | None:
    """Why a checkpoint is due now ("events" or "interval"), or None."""
    if settings.ledger_checkpoint_events <= 0 and settings.ledger_checkpoint_seconds <= 0:
        return None
    st = tree.state(session)
    last_size, last_at = st.latest_checkpoint()
    uncovered = st.size - last_size
    if uncovered <= 0:
        return None
    if settings.ledger_checkpoint_events > 0 and uncovered >= settings.ledger_checkpoint_events:
        return "events"
    if settings.ledger_checkpoint_seconds > 0:
        since = last_at or _first_event_time(session)
        now = now or utcnow()
        if since is None or (now - since).total_seconds() >= settings.ledger_checkpoint_seconds:
            return "interval"
    return None


def _first_event_time(session: Session) -> dt.datetime | None:
    from pubdata.audit.models import AuditEvent

    tree.sync(session)
    return session.execute(
        select(AuditEvent.occurred_at).join(tree.LEAVES, tree.LEAVES.c.event_id == AuditEvent.id)
        .where(tree.LEAVES.c.leaf_index == 0)
    ).scalar()


def maybe_create(session: Session, *, keys: KeyRing | None = None) -> Checkpoint | None:
    """A checkpoint if one is due. Failing to sign is logged, never fails the caller's transaction."""
    settings = settings_for(session)
    reason = due(session, settings)
    if reason is None:
        return None
    try:
        signer = keys or keyring(settings)
        signer.signing_key()
    except Exception:  # a missing or unreadable key must not stop the platform from recording events
        log.exception("ledger checkpoint due (%s) but the ledger key is unusable", reason)
        return None
    return create(session, keys=signer, reason=reason)


def latest(conn: Connection) -> Checkpoint | None:
    row = conn.execute(select(TABLE).order_by(TABLE.c.id.desc()).limit(1)).first()
    return Checkpoint.from_row(row) if row else None


def latest_at_most(conn: Connection, size: int) -> Checkpoint | None:
    row = conn.execute(select(TABLE).where(TABLE.c.tree_size <= size)
                       .order_by(TABLE.c.tree_size.desc(), TABLE.c.id.desc()).limit(1)).first()
    return Checkpoint.from_row(row) if row else None


def with_size(conn: Connection, size: int) -> Checkpoint | None:
    """The latest checkpoint of exactly ``size`` leaves."""
    row = conn.execute(select(TABLE).where(TABLE.c.tree_size == size).order_by(TABLE.c.id.desc()).limit(1)).first()
    return Checkpoint.from_row(row) if row else None


def history(conn: Connection, *, after: int = 0, limit: int = 100) -> list[Checkpoint]:
    rows = conn.execute(select(TABLE).where(TABLE.c.id > after).order_by(TABLE.c.id).limit(limit))
    return [Checkpoint.from_row(r) for r in rows]
