"""Public notice (公示, REG-28): 10 working days; shows subject name, registration type, data name and summary,
as they were when the notice opened (a later change never rewrites what the public was shown)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.db.base import utcnow
from pubdata.identity.models import Organisation
from pubdata.registry import notice_search
from pubdata.registry.deadlines import set_due
from pubdata.registry.models import Application, PublicNotice

#: Checks that may hold back certification when a notice period ends: each returns a reason or None.
#: The objections context registers one (REG-32: an open ownership objection blocks certification).
CertificationBlocker = Callable[[Session, Application], str | None]
BLOCKERS: list[CertificationBlocker] = []


def blocking_reason(session: Session, app: Application) -> str | None:
    for check in BLOCKERS:
        if (reason := check(session, app)) is not None:
            return reason
    return None


def open_public_notice(session: Session, app: Application) -> PublicNotice:
    start = clock.today()
    app.notice_start = start
    end = set_due(session, app, "notice_end")
    subject = session.get(Organisation, app.registration.subject_org_id)
    basic = app.content.get("basic") or {}
    pn = PublicNotice(
        application_id=app.id, registration_id=app.registration_id, subject_name=subject.name if subject else "",
        registration_type=str(basic.get("registration_type") or app.registration.registration_type),
        application_kind=app.kind, data_name=str(basic.get("name") or app.registration.data_name)[:100],
        summary=str(basic.get("summary") or ""), start_date=start, end_date=end,
    )
    pn.search_text = notice_search.searchable(pn.data_name, pn.subject_name)
    session.add(pn)
    session.flush()
    notice_search.index_notice(session, pn)
    return pn


def close_public_notice(session: Session, app: Application, *, status: str) -> None:
    pn = session.scalar(select(PublicNotice).where(PublicNotice.application_id == app.id))
    if pn is not None and pn.status == "open":
        pn.status, pn.closed_at = status, utcnow()


def in_notice(session: Session, *, on: dt.date | None = None, limit: int = 100, offset: int = 0) -> list[PublicNotice]:
    """Registrations in public notice on the given day (default today), newest first."""
    day = on or clock.today()
    stmt = (select(PublicNotice).where(PublicNotice.status == "open", PublicNotice.start_date <= day)
            .order_by(PublicNotice.start_date.desc(), PublicNotice.id.desc()).limit(limit).offset(offset))
    return list(session.scalars(stmt))
