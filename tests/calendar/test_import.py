"""Importing a year's arrangement into the database, and the calendar the application sees."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pubdata.audit import Actor, AuditEvent
from pubdata.audit.service import history as audit_history
from pubdata.calendar import service
from pubdata.calendar.builtin import builtin_calendar
from pubdata.calendar.core import Arrangement, Deadline
from pubdata.calendar.models import CalendarDay, CalendarYear
from pubdata.calendar.service import (
    get_calendar,
    import_arrangement,
    load_calendar,
    on_year_imported,
    remove_year_imported_hook,
)
from pubdata.db.session import unit_of_work
from pubdata.db.testing import scratch_engine
from pubdata.errors import PermissionDenied, ValidationFailed

D = dt.date
SYSTEM = Actor.system("test")
UNKNOWN = max(builtin_calendar().official_years) + 1


def first(weekday: int, year: int = UNKNOWN, month: int = 1) -> dt.date:
    return next(D(year, month, d) for d in range(1, 8) if D(year, month, d).weekday() == weekday)


#: An arrangement for the first year the library does not know: a Monday off, the Saturday before worked.
MONDAY, SATURDAY = first(0, month=3), first(0, month=3) - dt.timedelta(days=2)
DOCUMENT = {
    "year": UNKNOWN,
    "title": f"国务院办公厅关于{UNKNOWN}年部分节假日安排的通知",
    "notice_number": f"国办发明电〔{UNKNOWN - 1}〕1号",
    "notice_date": f"{UNKNOWN - 1}-11-10",
    "holidays": [{"date": MONDAY.isoformat(), "name": "测试节"}],
    "workdays": [{"date": SATURDAY.isoformat(), "name": "测试节"}],
}


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    service.invalidate_calendar()
    yield
    service.invalidate_calendar()


def test_importing_an_unknown_year_makes_it_official_and_changes_results(db_session: Session) -> None:
    before = get_calendar(db_session)
    assert not before.is_official(UNKNOWN)
    assert before.add_workdays(SATURDAY - dt.timedelta(days=1), 1) == Deadline(MONDAY, True)

    version = import_arrangement(db_session, actor=SYSTEM, arrangement=DOCUMENT, source_name="next.json")

    after = get_calendar(db_session)
    assert after.is_official(UNKNOWN)
    assert after.is_workday(SATURDAY) and not after.is_workday(MONDAY)
    assert after.add_workdays(SATURDAY - dt.timedelta(days=1), 1) == Deadline(SATURDAY, False)
    assert version.year == UNKNOWN and version.superseded_at is None
    assert version.notice_date == D(UNKNOWN - 1, 11, 10)
    assert version.imported_by == SYSTEM.label and version.source_name == "next.json"
    assert {(d.day, d.is_workday, d.name) for d in version.days} == {
        (MONDAY, False, "测试节"),
        (SATURDAY, True, "测试节"),
    }


def test_import_writes_one_audit_event_naming_the_year_and_commits_under_the_audit_guard() -> None:
    # A database of its own: this commits for real, as the CLI does.
    with scratch_engine() as engine:
        with unit_of_work(engine) as session:
            import_arrangement(session, actor=SYSTEM, arrangement=DOCUMENT)
            import_arrangement(session, actor=SYSTEM, arrangement={**DOCUMENT, "workdays": []})
        with unit_of_work(engine) as session:
            first, second = audit_history(session, object_type="calendar_year", object_id=UNKNOWN)
            assert get_calendar(session).is_official(UNKNOWN)
    assert first.tag == second.tag == "calendar:year:imported"
    assert first.actor_label == SYSTEM.label
    assert first.changes["holidays"] == [None, [{"date": MONDAY.isoformat(), "name": "测试节"}]]
    assert first.data["replaces"] is None


def test_reimport_supersedes_the_previous_version_and_keeps_it(db_session: Session) -> None:
    first_version = import_arrangement(db_session, actor=SYSTEM, arrangement=DOCUMENT)
    corrected = {**DOCUMENT, "workdays": [], "notice_number": f"国办发明电〔{UNKNOWN - 1}〕2号"}
    second = import_arrangement(db_session, actor=SYSTEM, arrangement=corrected)

    assert first_version.superseded_at is not None and second.superseded_at is None
    assert len(service.year_versions(db_session, UNKNOWN)) == 2
    # Nothing deleted: the first version's days are still there.
    assert db_session.scalar(select(func.count()).select_from(CalendarDay).where(
        CalendarDay.calendar_year_id == first_version.id)) == 2
    cal = get_calendar(db_session)
    assert not cal.is_workday(SATURDAY)
    assert cal.arrangement(UNKNOWN).notice_number == f"国办发明电〔{UNKNOWN - 1}〕2号"  # type: ignore[union-attr]
    events = audit_history(db_session, object_type="calendar_year", object_id=UNKNOWN)
    assert events[-1].data["replaces"] == {"kind": "import", "version_id": first_version.id}
    assert events[-1].changes["workdays"] == [[{"date": SATURDAY.isoformat(), "name": "测试节"}], []]


def test_importing_a_builtin_year_overrides_the_library(db_session: Session) -> None:
    # An official correction: suppose 2026-10-09 (Friday) were added to National Day.
    official = builtin_calendar().arrangement(2026)
    assert official is not None and builtin_calendar().is_workday(D(2026, 10, 9))
    corrected = Arrangement(2026, {**official.holidays, D(2026, 10, 9): "国庆节"}, official.workdays)
    import_arrangement(db_session, actor=SYSTEM, arrangement=corrected)

    cal = get_calendar(db_session)
    assert not cal.is_workday(D(2026, 10, 9))
    assert cal.add_workdays(D(2026, 9, 25), 20).date == D(2026, 10, 30)
    assert builtin_calendar().is_workday(D(2026, 10, 9))  # the shared built-in calendar is untouched
    (event,) = audit_history(db_session, object_type="calendar_year", object_id=2026)
    assert event.data["replaces"] == {"kind": "builtin"}


def test_invalid_arrangement_writes_nothing(db_session: Session) -> None:
    bad = {**DOCUMENT, "holidays": [{"date": f"{UNKNOWN}-02-30"}, {"date": f"{UNKNOWN + 1}-01-01"}]}
    with pytest.raises(ValidationFailed) as exc:
        import_arrangement(db_session, actor=SYSTEM, arrangement=bad)
    assert {e.code for e in exc.value.errors} == {"invalid_date", "wrong_year"}
    assert db_session.scalar(select(func.count()).select_from(CalendarYear)) == 0
    assert db_session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.tag == "calendar:year:imported")) == 0


def test_arrangement_objects_are_validated_too(db_session: Session) -> None:
    conflicting = Arrangement(UNKNOWN, {SATURDAY: None}, {SATURDAY: None})
    with pytest.raises(ValidationFailed) as exc:
        import_arrangement(db_session, actor=SYSTEM, arrangement=conflicting)
    assert [e.code for e in exc.value.errors] == ["holiday_workday_conflict"]


def test_import_needs_the_calendar_import_permission(db_session: Session) -> None:
    clerk = Actor(kind="user", label="clerk", permissions=frozenset({"registration.draft"}), org_verified=True)
    with pytest.raises(PermissionDenied):
        import_arrangement(db_session, actor=clerk, arrangement=DOCUMENT)


def test_hooks_run_inside_the_import_and_see_the_new_calendar(db_session: Session) -> None:
    seen: list[tuple[Session, Actor, int, bool]] = []

    def recompute(session: Session, actor: Actor, year: int) -> None:
        seen.append((session, actor, year, get_calendar(session).is_workday(SATURDAY)))

    on_year_imported(recompute)
    on_year_imported(recompute)  # registering twice does not run it twice
    try:
        import_arrangement(db_session, actor=SYSTEM, arrangement=DOCUMENT)
    finally:
        remove_year_imported_hook(recompute)
    assert seen == [(db_session, SYSTEM, UNKNOWN, True)]


def test_calendar_follows_a_rolled_back_import(db_session: Session) -> None:
    nested = db_session.begin_nested()
    import_arrangement(db_session, actor=SYSTEM, arrangement=DOCUMENT)
    assert get_calendar(db_session).is_official(UNKNOWN)
    nested.rollback()
    assert not get_calendar(db_session).is_official(UNKNOWN)


def test_get_calendar_is_cached_until_the_arrangements_in_force_change(db_session: Session) -> None:
    assert get_calendar(db_session) is get_calendar(db_session)
    import_arrangement(db_session, actor=SYSTEM, arrangement=DOCUMENT)
    cal = get_calendar(db_session)
    assert cal is get_calendar(db_session)
    assert cal.is_official(UNKNOWN)
    assert load_calendar(db_session).arrangement(UNKNOWN) == cal.arrangement(UNKNOWN)


def test_database_allows_only_one_version_in_force_per_year(db_session: Session) -> None:
    import_arrangement(db_session, actor=SYSTEM, arrangement=DOCUMENT)
    with pytest.raises(IntegrityError), db_session.begin_nested():
        db_session.execute(insert(CalendarYear).values(
            year=UNKNOWN, imported_by="x", imported_at=dt.datetime.now(dt.UTC)))
