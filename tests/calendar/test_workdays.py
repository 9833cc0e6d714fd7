"""The pure calendar: counting rules, the official 2026 arrangement, provisional years."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pubdata.calendar.builtin import builtin_arrangements, builtin_calendar
from pubdata.calendar.core import Arrangement, WorkCalendar

D = dt.date
CAL = builtin_calendar()
LAST_OFFICIAL = max(CAL.official_years)
UNKNOWN = LAST_OFFICIAL + 1

dates = st.dates(min_value=D(2003, 1, 1), max_value=D(LAST_OFFICIAL + 3, 12, 31))
counts = st.integers(min_value=0, max_value=400)


def naive_add(cal: WorkCalendar, start: dt.date, n: int) -> dt.date:
    """The rule as written: step day by day, counting working days after the start."""
    day = start
    while n:
        day += dt.timedelta(days=1)
        n -= cal.is_workday(day)
    return day


# -- the built-in data ---------------------------------------------------------------------------


def test_builtin_years_are_exactly_those_chinesecalendar_has_official_data_for() -> None:
    library_years = {d.year for d in chinese_calendar.constants.holidays}
    assert set(CAL.official_years) == library_years
    assert 2026 in library_years
    for year in library_years:
        assert CAL.is_official(year)
    assert not CAL.is_official(min(library_years) - 1)
    assert not CAL.is_official(UNKNOWN)


def test_builtin_days_agree_with_chinesecalendar_on_every_official_day() -> None:
    for year in CAL.official_years:
        day = D(year, 1, 1)
        while day.year == year:
            assert CAL.is_workday(day) == chinese_calendar.is_workday(day), day
            day += dt.timedelta(days=1)


def test_builtin_holiday_names_are_chinese() -> None:
    a = builtin_arrangements()[2026]
    assert a.holidays[D(2026, 2, 17)] == "春节"
    assert a.workdays[D(2026, 10, 10)] == "国庆节"


# -- 2026: Spring Festival and National Day ------------------------------------------------------


@pytest.mark.parametrize("day", [D(2026, 2, 15) + dt.timedelta(days=i) for i in range(9)])
def test_spring_festival_2026_holiday_days_are_not_workdays(day: dt.date) -> None:
    assert not CAL.is_workday(day)


@pytest.mark.parametrize("day", [D(2026, 2, 14), D(2026, 2, 28), D(2026, 9, 20), D(2026, 10, 10)])
def test_make_up_weekend_counts_as_workday(day: dt.date) -> None:
    assert day.weekday() >= 5
    assert CAL.is_workday(day)


def test_make_up_saturday_counts_as_workday() -> None:
    assert D(2026, 10, 10).weekday() == 5
    assert CAL.is_workday(D(2026, 10, 10))


@pytest.mark.parametrize("day", [D(2026, 10, 1) + dt.timedelta(days=i) for i in range(7)])
def test_national_day_2026_holiday_days_are_not_workdays(day: dt.date) -> None:
    assert not CAL.is_workday(day)


def test_ordinary_weekend_is_not_a_workday_and_ordinary_weekday_is() -> None:
    assert not CAL.is_workday(D(2026, 3, 7))  # Saturday
    assert CAL.is_workday(D(2026, 3, 9))  # Monday


def test_twenty_workdays_from_mid_autumn_2026_cross_national_day() -> None:
    # 9-25 is itself a holiday and not counted; 9-28..30 (3), 10-8..10 (3, 10-10 make-up Saturday), ...
    assert CAL.add_workdays(D(2026, 9, 25), 20).date == D(2026, 10, 29)
    assert not CAL.add_workdays(D(2026, 9, 25), 20).provisional


def test_three_workdays_acceptance_over_spring_festival_2026() -> None:
    # Received Friday 2-13: 2-14 (make-up Saturday) is day 1, the holiday follows, then 2-24, 2-25.
    assert CAL.add_workdays(D(2026, 2, 13), 3).date == D(2026, 2, 25)


def test_start_day_is_not_counted() -> None:
    monday = D(2026, 3, 9)
    assert CAL.add_workdays(monday, 1).date == D(2026, 3, 10)
    friday = D(2026, 3, 13)
    assert CAL.add_workdays(friday, 1).date == D(2026, 3, 16)


def test_start_on_a_holiday_counts_from_the_next_workday() -> None:
    assert CAL.add_workdays(D(2026, 10, 3), 1).date == D(2026, 10, 8)


def test_zero_workdays_returns_the_start_day() -> None:
    assert CAL.add_workdays(D(2026, 10, 3), 0).date == D(2026, 10, 3)
    assert not CAL.add_workdays(D(2026, 10, 3), 0).provisional
    assert CAL.add_workdays(D(UNKNOWN, 5, 3), 0).provisional


def test_negative_count_is_refused() -> None:
    with pytest.raises(ValueError):
        CAL.add_workdays(D(2026, 1, 5), -1)


def test_datetimes_are_refused_because_their_calendar_day_depends_on_the_time_zone() -> None:
    with pytest.raises(TypeError):
        CAL.is_workday(dt.datetime(2026, 10, 10, 20, tzinfo=dt.UTC))
    with pytest.raises(TypeError):
        CAL.add_workdays(dt.datetime(2026, 10, 10), 1)


def test_workdays_between_counts_after_a_up_to_and_including_b() -> None:
    assert CAL.workdays_between(D(2026, 9, 25), D(2026, 10, 29)) == 20
    assert CAL.workdays_between(D(2026, 3, 9), D(2026, 3, 9)) == 0
    assert CAL.workdays_between(D(2026, 3, 9), D(2026, 3, 10)) == 1
    assert CAL.workdays_between(D(2026, 3, 10), D(2026, 3, 9)) == -1


# -- provisional years ---------------------------------------------------------------------------


def test_unknown_year_uses_monday_to_friday_and_is_provisional() -> None:
    first_monday = next(D(UNKNOWN, 1, d) for d in range(1, 8) if D(UNKNOWN, 1, d).weekday() == 0)
    deadline = CAL.add_workdays(first_monday, 5)
    assert deadline.date == first_monday + dt.timedelta(days=7)
    assert deadline.provisional


def test_deadline_crossing_into_an_unknown_year_is_provisional() -> None:
    deadline = CAL.add_workdays(D(LAST_OFFICIAL, 12, 20), 20)
    assert deadline.date.year == UNKNOWN
    assert deadline.provisional


def test_start_on_last_day_of_unknown_year_does_not_make_an_official_result_provisional() -> None:
    cal = WorkCalendar([a for y, a in builtin_arrangements().items() if y != 2025])
    assert not cal.add_workdays(D(2025, 12, 31), 1).provisional
    assert cal.add_workdays(D(2025, 12, 30), 1).provisional


def test_arrangement_added_for_an_unknown_year_makes_it_official_and_changes_results() -> None:
    new_years_day = D(UNKNOWN, 1, 1)
    weekday_after = next(new_years_day + dt.timedelta(days=i) for i in range(1, 8)
                         if (new_years_day + dt.timedelta(days=i)).weekday() < 5)
    saturday = next(D(UNKNOWN, 1, d) for d in range(2, 9) if D(UNKNOWN, 1, d).weekday() == 5)
    arrangement = Arrangement(UNKNOWN, {weekday_after: "元旦"}, {saturday: "元旦"})
    cal = CAL.with_arrangements([arrangement])
    assert cal.is_official(UNKNOWN)
    assert not cal.is_workday(weekday_after)
    assert cal.is_workday(saturday)
    before = CAL.add_workdays(D(LAST_OFFICIAL, 12, 28), 15)
    after = cal.add_workdays(D(LAST_OFFICIAL, 12, 28), 15)
    assert before.provisional and not after.provisional
    assert CAL is not cal and not CAL.is_official(UNKNOWN)


# -- properties ----------------------------------------------------------------------------------


@settings(max_examples=300)
@given(start=dates, n=counts)
def test_add_workdays_matches_counting_day_by_day(start: dt.date, n: int) -> None:
    assert CAL.add_workdays(start, n).date == naive_add(CAL, start, n)


@settings(max_examples=300)
@given(start=dates, n=st.integers(min_value=1, max_value=400))
def test_result_is_a_workday_when_n_is_positive(start: dt.date, n: int) -> None:
    assert CAL.is_workday(CAL.add_workdays(start, n).date)


@settings(max_examples=300)
@given(start=dates, n=counts)
def test_workdays_between_inverts_add_workdays(start: dt.date, n: int) -> None:
    assert CAL.workdays_between(start, CAL.add_workdays(start, n).date) == n


@settings(max_examples=200)
@given(start=dates, n=counts)
def test_add_workdays_is_strictly_monotonic_in_n(start: dt.date, n: int) -> None:
    assert CAL.add_workdays(start, n).date < CAL.add_workdays(start, n + 1).date


@settings(max_examples=300)
@given(start=dates, n=counts)
def test_provisional_iff_a_year_touched_is_not_official(start: dt.date, n: int) -> None:
    deadline = CAL.add_workdays(start, n)
    first = start if n == 0 else start + dt.timedelta(days=1)
    touched = range(first.year, deadline.date.year + 1)
    assert deadline.provisional == any(not CAL.is_official(y) for y in touched)


@settings(max_examples=200)
@given(a=dates, b=dates)
def test_workdays_between_is_antisymmetric_and_additive(a: dt.date, b: dt.date) -> None:
    assert CAL.workdays_between(a, b) == -CAL.workdays_between(b, a)
    mid = min(a, b) + (max(a, b) - min(a, b)) // 2
    assert CAL.workdays_between(min(a, b), max(a, b)) == (
        CAL.workdays_between(min(a, b), mid) + CAL.workdays_between(mid, max(a, b))
    )


@settings(max_examples=100)
@given(
    start=st.dates(min_value=D(UNKNOWN, 1, 1), max_value=D(UNKNOWN, 12, 31)),
    n=st.integers(min_value=0, max_value=60),
    extra_holiday=st.dates(min_value=D(UNKNOWN, 1, 1), max_value=D(UNKNOWN, 12, 31)),
)
def test_importing_a_year_makes_its_results_official_and_follow_the_arrangement(
    start: dt.date, n: int, extra_holiday: dt.date
) -> None:
    cal = CAL.with_arrangements([Arrangement(UNKNOWN, {extra_holiday: "测试"}, {})])
    deadline = cal.add_workdays(start, n)
    assert deadline.date == naive_add(cal, start, n)
    if deadline.date.year == UNKNOWN:
        assert not deadline.provisional
    # An extra holiday never brings a deadline earlier.
    assert deadline.date >= CAL.add_workdays(start, n).date
