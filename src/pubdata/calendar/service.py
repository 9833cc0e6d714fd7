"""The calendar the platform uses (built-in years + imports) and the import service.

``get_calendar(session)`` is called on hot paths (list views), so it costs one tiny query: the identity of
the arrangements in force. The calendar is rebuilt only when that changes, which also keeps several worker
processes and rolled-back imports consistent without any cross-process signalling.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session

from pubdata.audit import Actor, record
from pubdata.audit.service import diff
from pubdata.calendar.builtin import builtin_arrangements, builtin_calendar
from pubdata.calendar.core import Arrangement, WorkCalendar
from pubdata.calendar.formats import parse_document, to_document
from pubdata.calendar.models import CalendarDay, CalendarYear
from pubdata.db.base import utcnow
from pubdata.db.session import get_engine, unit_of_work
from pubdata.identity.access import require
from pubdata.identity.permissions import Permission

YearImportedHook = Callable[[Session, Actor, int], None]

_hooks: list[YearImportedHook] = []
_lock = threading.Lock()
#: (database url, identity of the versions in force) -> calendar; one entry is all a process needs.
_cache: tuple[tuple[str, tuple[tuple[int, str], ...]], WorkCalendar] | None = None


# -- hooks ------------------------------------------------------------------------------------------


def on_year_imported(callback: YearImportedHook) -> YearImportedHook:
    """Call ``callback(session, actor, year)`` inside every import's transaction (usable as a decorator).

    The registration context uses it to recompute deadlines that were provisional for that year.
    """
    if callback not in _hooks:
        _hooks.append(callback)
    return callback


def remove_year_imported_hook(callback: YearImportedHook) -> None:
    if callback in _hooks:
        _hooks.remove(callback)


# -- reading ----------------------------------------------------------------------------------------


def _in_force(session: Session) -> list[CalendarYear]:
    stmt = select(CalendarYear).where(CalendarYear.superseded_at.is_(None)).order_by(CalendarYear.year)
    return list(session.scalars(stmt))


def _arrangement(version: CalendarYear) -> Arrangement:
    return Arrangement(
        version.year,
        {d.day: d.name for d in version.days if not d.is_workday},
        {d.day: d.name for d in version.days if d.is_workday},
        source="import",
        title=version.title,
        notice_number=version.notice_number,
        notice_date=version.notice_date,
    )


def load_calendar(session: Session) -> WorkCalendar:
    """Built-in years overlaid with the imported versions in force, read now (no cache)."""
    return builtin_calendar().with_arrangements(_arrangement(v) for v in _in_force(session))


def get_calendar(session: Session) -> WorkCalendar:
    """The calendar as ``session`` sees it, cached per process and checked against the database each call."""
    global _cache
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    rows = session.execute(
        select(CalendarYear.id, CalendarYear.imported_at).where(CalendarYear.superseded_at.is_(None))
    ).all()
    # imported_at as well as id: SQLite may hand a rolled-back import's id to the next one.
    key = (url, tuple(sorted((r.id, r.imported_at.isoformat()) for r in rows)))
    cached = _cache
    if cached is not None and cached[0] == key:
        return cached[1]
    calendar = load_calendar(session) if rows else builtin_calendar()
    with _lock:
        _cache = (key, calendar)
    return calendar


def invalidate_calendar() -> None:
    """Forget the cached calendar. Never needed for correctness (every call checks the database)."""
    global _cache
    with _lock:
        _cache = None


def calendar_from_database(engine: Engine | None = None) -> WorkCalendar:
    """For the CLI: the database's calendar, or built-in data alone while the database is not migrated.

    Answering is-workday must not need a database, nor create an empty SQLite file as a side effect.
    """
    engine = engine or get_engine()
    url = engine.url
    is_file = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
    if is_file and not Path(str(url.database)).exists():
        return builtin_calendar()
    if not inspect(engine).has_table(CalendarYear.__tablename__):
        return builtin_calendar()
    with unit_of_work(engine) as session:
        return get_calendar(session)


def year_versions(session: Session, year: int) -> list[CalendarYear]:
    """Every imported version of ``year``, oldest first (superseded ones included)."""
    stmt = select(CalendarYear).where(CalendarYear.year == year).order_by(CalendarYear.id)
    return list(session.scalars(stmt))


# -- importing --------------------------------------------------------------------------------------


def _audit_view(a: Arrangement | None) -> dict[str, Any]:
    if a is None:
        return {}
    doc = to_document(a)
    doc.pop("year")
    return doc


def import_arrangement(
    session: Session,
    *,
    actor: Actor,
    arrangement: Arrangement | Mapping[str, Any],
    source_name: str | None = None,
) -> CalendarYear:
    """Put a year's official arrangement in force, replacing any earlier import or the built-in data.

    ``arrangement`` is validated whatever its form (a document as in docs/calendar-import.md, or an
    ``Arrangement``). The earlier version stays in the database, marked superseded; the hooks run in this
    transaction so deadlines can be recomputed atomically with the import.
    """
    require(actor, Permission.CALENDAR_IMPORT)
    doc = to_document(arrangement) if isinstance(arrangement, Arrangement) else arrangement
    new = parse_document(doc)

    previous = session.scalars(
        select(CalendarYear)
        .where(CalendarYear.year == new.year, CalendarYear.superseded_at.is_(None))
        .with_for_update()
    ).one_or_none()
    before = _arrangement(previous) if previous else builtin_arrangements().get(new.year)
    replaces: dict[str, Any] | None = {"kind": "builtin"} if before else None
    now = utcnow()
    if previous is not None:
        replaces = {"kind": "import", "version_id": previous.id}
        previous.superseded_at = now
        session.flush()  # free the "one version in force" index before the insert

    version = CalendarYear(
        year=new.year,
        title=new.title,
        notice_number=new.notice_number,
        notice_date=new.notice_date,
        source_name=source_name,
        imported_at=now,
        imported_by=actor.label,
        imported_by_user_id=actor.user_id,
    )
    session.add(version)
    for days, is_workday in ((new.holidays, False), (new.workdays, True)):
        for day, name in days.items():
            session.add(
                CalendarDay(calendar_year=version, year=new.year, day=day, is_workday=is_workday, name=name)
            )
    session.flush()

    record(
        session,
        actor=actor,
        tag="calendar:year:imported",
        object_type="calendar_year",
        object_id=new.year,
        # The whole arrangement before and after, so the trail alone shows what an import changed.
        changes=diff(_audit_view(before), _audit_view(new)),
        data={
            "version_id": version.id,
            "replaces": replaces,
            "source_name": source_name,
            "holiday_count": len(new.holidays),
            "workday_count": len(new.workdays),
        },
    )
    # No cache invalidation needed: get_calendar sees the new version in force on its next call.
    for hook in _hooks:
        hook(session, actor, new.year)
    return version
