"""Session hooks that put every audit event into the ledger in the event's own transaction.

Hooks rather than a call in ``audit.record``: an event written by any code path — ``record``, a bulk
``add_all``, an import — becomes a leaf, and batched inserts are appended with one statement.

* before a flush that writes anything audited: take the ledger lock (so event ids are drawn under it);
* after the flush: append the inserted events as leaves, in id order (rows batched, see tree.append_events);
* before a savepoint begins and before any commit (of a savepoint too): insert the batched leaf rows, so
  they always belong to the (sub)transaction of their events; from then on until the commit ends, rows
  are inserted as soon as computed (other before_commit hooks and SQLAlchemy may still flush);
* before the commit of a transaction: sign a checkpoint when N events or T seconds have passed (settings);
* when a transaction or savepoint ends (not the internal one every flush opens): forget the cached tree
  state and unwritten rows (a rolled-back savepoint takes its leaves and, on PostgreSQL, its row lock
  with it).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, SessionTransactionOrigin, UOWTransaction

from pubdata.audit.models import AuditEvent
from pubdata.ledger import tree

_APPENDED = "pubdata.ledger.appended"
_COMMITTING = "pubdata.ledger.committing"


def _audited(obj: Any) -> bool:
    return isinstance(obj, AuditEvent) or not getattr(obj, "__audit_exempt__", False)


@event.listens_for(Session, "before_flush")
def _lock_before_audited_writes(session: Session, _ctx: UOWTransaction, _instances: Any) -> None:
    if tree.is_locked(session):
        return
    if any(_audited(o) for o in session.new) or any(_audited(o) for o in session.dirty):
        tree.lock(session)


@event.listens_for(Session, "after_flush")
def _append_leaves(session: Session, ctx: UOWTransaction) -> None:
    # The flush context holds the states this flush wrote; the inserted ones get their identity key only
    # after this hook (session.new would also list objects a flush([objects]) left pending).
    flushed = [st.obj() for st in ctx.states if st.class_ is AuditEvent and st.key is None]
    if flushed:
        tree.append_events(session, flushed, write=bool(session.info.get(_COMMITTING)))
        session.info[_APPENDED] = True


@event.listens_for(Session, "after_transaction_create")
def _write_before_savepoint(session: Session, transaction: SessionTransaction) -> None:
    # The SAVEPOINT is emitted later, when the nested transaction first uses the connection: rows written
    # now belong to the enclosing transaction, and a rollback to the savepoint cannot take them.
    if transaction.origin is SessionTransactionOrigin.BEGIN_NESTED:
        tree.sync(session)


@event.listens_for(Session, "before_commit")
def _write_and_checkpoint(session: Session) -> None:
    if any(isinstance(o, AuditEvent) for o in session.new):
        session.flush()
    session.info[_COMMITTING] = True
    tree.sync(session)
    if session.info.get(_APPENDED) and not session.in_nested_transaction():
        from pubdata.ledger import checkpoints

        checkpoints.maybe_create(session)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.origin is SessionTransactionOrigin.SUBTRANSACTION:
        return  # every flush runs in one of these; the database transaction goes on
    tree.forget(session)
    session.info.pop(_COMMITTING, None)
    if transaction.parent is None:
        session.info.pop(_APPENDED, None)
