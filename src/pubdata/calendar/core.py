"""The working-day calendar itself: pure, no database, fast enough for list views.

A day is a working day (工作日) when the official arrangement makes it one (调休 make-up day) or when it is
Monday–Friday and not a holiday. Years without an official arrangement follow Monday–Friday only, and every
result that depends on such a year is flagged provisional.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Deadline:
    """A date computed on the calendar; ``provisional`` when it relied on a year not officially known."""

    date: dt.date
    provisional: bool


@dataclass(frozen=True)
class Arrangement:
    """One year's official arrangement: rest days and make-up working days, each with its holiday's name."""

    year: int
    #: Dates off work (放假), weekends inside a holiday block included → holiday name.
    holidays: Mapping[dt.date, str | None]
    #: Weekend dates that are working days (调休上班) → name of the holiday they make up for.
    workdays: Mapping[dt.date, str | None]
    #: Where the arrangement comes from: "builtin" (chinesecalendar) or "import".
    source: str = "import"
    title: str | None = None
    notice_number: str | None = None
    notice_date: dt.date | None = None

    def __post_init__(self) -> None:
        # Frozen in fact, not only in name: a calendar built from this must never change underneath.
        object.__setattr__(self, "holidays", MappingProxyType(dict(sorted(self.holidays.items()))))
        object.__setattr__(self, "workdays", MappingProxyType(dict(sorted(self.workdays.items()))))


def _check_date(d: dt.date) -> None:
    # A datetime would silently compare unequal to the dates in the sets, and which day a UTC instant
    # falls on depends on the time zone: callers convert to an Asia/Shanghai date first.
    if isinstance(d, dt.datetime) or not isinstance(d, dt.date):
        raise TypeError(f"expected a datetime.date (Asia/Shanghai calendar day), got {type(d).__name__}")


@dataclass(frozen=True)
class _Year:
    #: prefix[k] = working days among the first k days of the year, so prefix[-1] is the year's total.
    prefix: tuple[int, ...]
    official: bool


class WorkCalendar:
    """Working days on the official calendar, given the arrangements of the years officially known."""

    def __init__(self, arrangements: Iterable[Arrangement] = ()) -> None:
        self._arrangements: dict[int, Arrangement] = {}
        for a in arrangements:
            self._arrangements[a.year] = a  # a later arrangement for the same year overrides an earlier one
        self._rest = frozenset(d for a in self._arrangements.values() for d in a.holidays)
        self._work = frozenset(d for a in self._arrangements.values() for d in a.workdays)
        # Built on first use per year; a benign race in threads only computes the same tuple twice.
        self._years: dict[int, _Year] = {}

    # -- what is known -------------------------------------------------------------------------------

    @property
    def official_years(self) -> tuple[int, ...]:
        return tuple(sorted(self._arrangements))

    def is_official(self, year: int) -> bool:
        return year in self._arrangements

    def arrangement(self, year: int) -> Arrangement | None:
        return self._arrangements.get(year)

    def with_arrangements(self, arrangements: Iterable[Arrangement]) -> WorkCalendar:
        """A new calendar with these years added or replaced (used to lay imports over built-in data)."""
        return WorkCalendar([*self._arrangements.values(), *arrangements])

    def unofficial_years(self, start: dt.date, end: dt.date) -> tuple[int, ...]:
        """Years from ``start`` to ``end`` (inclusive) without an official arrangement."""
        return tuple(y for y in range(start.year, end.year + 1) if y not in self._arrangements)

    # -- single days ---------------------------------------------------------------------------------

    def is_workday(self, d: dt.date) -> bool:
        _check_date(d)
        if d in self._work:
            return True
        return d.weekday() < 5 and d not in self._rest

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is None:
            day = dt.date(year, 1, 1)
            one = dt.timedelta(days=1)
            prefix = [0]
            while day.year == year:
                prefix.append(prefix[-1] + self.is_workday(day))
                day += one
            cached = self._years[year] = _Year(tuple(prefix), year in self._arrangements)
        return cached

    # -- counting ------------------------------------------------------------------------------------

    def add_workdays(self, start: dt.date, n: int) -> Deadline:
        """The ``n``-th working day after ``start``; the start day itself is never counted.

        ``n == 0`` returns ``start``. Provisional when any day counted, or the result, lies in a year
        without an official arrangement.
        """
        _check_date(start)
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError("n must be an int")
        if n < 0:
            raise ValueError("n must be >= 0")
        if n == 0:
            return Deadline(start, not self.is_official(start.year))
        year = start.year
        info = self._year(year)
        # Target count within the current year's prefix table; move year by year until it fits.
        target = info.prefix[start.timetuple().tm_yday] + n
        # The start day is not counted: on 31 December its own year is not touched at all.
        provisional = not info.official and start != dt.date(year, 12, 31)
        while target > info.prefix[-1]:
            target -= info.prefix[-1]
            year += 1
            info = self._year(year)
            provisional = provisional or not info.official
        day_of_year = bisect_left(info.prefix, target)
        return Deadline(dt.date(year, 1, 1) + dt.timedelta(days=day_of_year - 1), provisional)

    def workdays_between(self, a: dt.date, b: dt.date) -> int:
        """Working days after ``a`` up to and including ``b``; negative when ``b`` is before ``a``.

        ``workdays_between(s, add_workdays(s, n).date) == n``; overdue logic uses the negative side.
        """
        _check_date(a)
        _check_date(b)
        if b < a:
            return -self.workdays_between(b, a)
        first = self._year(a.year).prefix
        doy_a = a.timetuple().tm_yday
        doy_b = b.timetuple().tm_yday
        if a.year == b.year:
            return first[doy_b] - first[doy_a]
        total = first[-1] - first[doy_a]
        for year in range(a.year + 1, b.year):
            total += self._year(year).prefix[-1]
        return total + self._year(b.year).prefix[doy_b]
