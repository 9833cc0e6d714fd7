"""Session hooks that make the audit promise structural, not a convention.

* Nothing is hard-deleted: a flush that deletes any row is refused.
* Audit events are never updated.
* A transaction that changes an audited row cannot commit unless it also wrote an audit event about
  that row's aggregate (``__audit_root__``), so a change without its event is impossible on every
  code path: web, API, CLI, import.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, UOWTransaction

from pubdata.audit.models import AuditEvent

_CHANGED = "pubdata.audit.changed"
_AUDITED = "pubdata.audit.events"


class AuditViolation(RuntimeError):
    """A programming error: state changed in a way the audit trail does not allow."""


def audit_root(obj: Any) -> tuple[str, str]:
    """The (object_type, object_id) an event must name to cover a change of ``obj``."""
    root = getattr(obj, "__audit_root__", None)
    if callable(root):
        kind, ident = root()
        return kind, str(ident)
    return obj.__tablename__, str(obj.id)


def _exempt(obj: Any) -> bool:
    return bool(getattr(obj, "__audit_exempt__", False))


@event.listens_for(Session, "before_flush")
def _refuse_deletes_and_event_edits(session: Session, _ctx: UOWTransaction, _instances: Any) -> None:
    if session.deleted:
        names = sorted({type(o).__name__ for o in session.deleted})
        raise AuditViolation(f"hard delete refused for {names}: records end in a state, never deleted")
    for obj in session.dirty:
        if isinstance(obj, AuditEvent) and session.is_modified(obj):
            raise AuditViolation("audit events are append-only")


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _ctx: UOWTransaction) -> None:
    changed: set[tuple[str, str]] = session.info.setdefault(_CHANGED, set())
    audited: set[tuple[str, str]] = session.info.setdefault(_AUDITED, set())
    for obj in session.new:
        if isinstance(obj, AuditEvent):
            audited.add((obj.object_type, obj.object_id))
        elif not _exempt(obj):
            changed.add(audit_root(obj))
    for obj in session.dirty:
        if not _exempt(obj) and session.is_modified(obj, include_collections=False):
            changed.add(audit_root(obj))


@event.listens_for(Session, "before_commit")
def _require_events(session: Session) -> None:
    session.flush()
    missing = session.info.get(_CHANGED, set()) - session.info.get(_AUDITED, set())
    if missing:
        raise AuditViolation(f"changes without an audit event for {sorted(missing)}")


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _reset(session: Session) -> None:
    session.info.pop(_CHANGED, None)
    session.info.pop(_AUDITED, None)
