"""Work lists: the institution's queue sorted by due date with overdue flags; an organisation's own files."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor
from pubdata.identity.access import require
from pubdata.identity.permissions import Permission
from pubdata.registry.deadlines import current_due, is_overdue
from pubdata.registry.models import Application, Registration


def institution_queue(session: Session, *, actor: Actor, state: str | None = None,
                      overdue_only: bool = False) -> list[tuple[Application, bool]]:
    """Applications waiting for the institution, soonest due first; (application, overdue)."""
    require(actor, Permission.ORG_VERIFY)
    states = [state] if state else ["submitted", "under_review", "in_notice"]
    apps = list(session.scalars(select(Application).where(Application.state.in_(states))))
    today = clock.today()
    rows = [(a, is_overdue(a, today)) for a in apps]
    if overdue_only:
        rows = [r for r in rows if r[1]]
    return sorted(rows, key=lambda r: (current_due(r[0]) or today, r[0].id))


def own_applications(session: Session, *, actor: Actor, limit: int = 100, offset: int = 0) -> list[Application]:
    require(actor, Permission.DRAFT_WRITE)
    stmt = (select(Application).join(Registration, Registration.id == Application.registration_id)
            .where(or_(Application.filed_by_org_id == actor.org_id, Registration.subject_org_id == actor.org_id))
            .order_by(Application.id.desc()).limit(limit).offset(offset))
    return list(session.scalars(stmt))
