"""Statutory deadlines on the official calendar (REG-25..28), including provisional years."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pubdata import clock
from pubdata.audit import Actor
from pubdata.calendar.service import import_arrangement, invalidate_calendar
from pubdata.registry import applications as svc
from pubdata.registry.deadlines import is_overdue, set_due
from pubdata.registry.models import Application
from pubdata.registry.queues import institution_queue
from tests.registry.support import resource_content, submitted_first


def official_workdays_after(start: dt.date, end: dt.date) -> int:
    """Independent oracle: count days in (start, end] that chinesecalendar calls working days."""
    return sum(chinese_calendar.is_workday(start + dt.timedelta(days=i)) for i in range(1, (end - start).days + 1))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2026, 11, 1)))
def test_review_is_due_on_the_20th_working_day_after_acceptance(db_session, accepted):
    app = Application(kind="first", state="under_review", accepted_on=accepted, provisional_dates=[])
    due = set_due(db_session, app, "review_due")
    assert chinese_calendar.is_workday(due)
    assert official_workdays_after(accepted, due) == 20
    assert official_workdays_after(accepted, due - dt.timedelta(days=1)) == 19
    assert app.provisional_dates == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2026, 12, 1)))
def test_acceptance_is_due_3_working_days_after_receipt(db_session, received):
    app = Application(kind="first", state="submitted", received_on=received, provisional_dates=[])
    due = set_due(db_session, app, "acceptance_due")
    if due.year <= 2026:
        assert official_workdays_after(received, due) == 3 and chinese_calendar.is_workday(due)


def test_known_dates_around_2026_holidays(db_session):
    cases = [("received_on", "acceptance_due", dt.date(2026, 2, 13), dt.date(2026, 2, 25)),  # 春节
             ("accepted_on", "review_due", dt.date(2026, 9, 25), dt.date(2026, 10, 29)),  # 国庆 (issue example)
             ("notice_start", "notice_end", dt.date(2026, 9, 28), dt.date(2026, 10, 16))]
    for start_field, due_field, start, expected in cases:
        app = Application(kind="first", provisional_dates=[], **{start_field: start})
        assert set_due(db_session, app, due_field) == expected, due_field


def test_cancellation_is_completed_within_10_working_days(db_session):
    app = Application(kind="cancellation", accepted_on=dt.date(2026, 9, 30), provisional_dates=[])
    assert set_due(db_session, app, "review_due") == dt.date(2026, 10, 20)


def test_deadline_in_an_unloaded_year_is_provisional_and_recomputed_on_import(db_session, subject, clerk, tmp):
    with clock.frozen(dt.date(2026, 12, 15)):
        app = submitted_first(db_session, subject, tmp)
        svc.accept(db_session, actor=clerk, application_id=app.id)
    assert app.review_due == dt.date(2027, 1, 12)  # Monday–Friday only: 2027 not yet official
    assert app.provisional_dates == ["review_due"]
    import_arrangement(db_session, actor=Actor.system("test"), arrangement={
        "year": 2027, "title": "测试安排",
        "holidays": [{"name": "元旦", "start": "2027-01-01", "end": "2027-01-03"},
                     {"name": "测试假日", "start": "2027-01-04", "end": "2027-01-05"}],
        "workdays": []})
    try:
        assert app.review_due == dt.date(2027, 1, 15)  # three weekdays off in the window
        assert app.provisional_dates == []
    finally:
        db_session.rollback()
        invalidate_calendar()


def test_overdue_work_is_flagged_and_queues_sort_by_due_date(db_session, subject, clerk, tmp):
    with clock.frozen(dt.date(2026, 10, 12)):
        late = submitted_first(db_session, subject, tmp)
    with clock.frozen(dt.date(2026, 10, 14)):
        content = resource_content(db_session, subject, tmp, name="另一份完全不同的数据集")
        early = svc.create_application(db_session, actor=subject, kind="first", content=content,
                                       documents=late.documents)
        svc.submit(db_session, actor=subject, application_id=early.id)
    with clock.frozen(dt.date(2026, 10, 16)):
        rows = institution_queue(db_session, actor=clerk)
        assert [a.id for a, _ in rows] == [late.id, early.id]
        assert [o for _, o in rows] == [True, False]  # due 10-15 passed; 10-19 not yet
        assert is_overdue(late, clock.today())
        assert [a.id for a, _ in institution_queue(db_session, actor=clerk, overdue_only=True)] == [late.id]
