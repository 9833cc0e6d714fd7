"""The State Council arrangements that ship with the platform, taken from the chinesecalendar library."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from functools import lru_cache

import chinese_calendar
from chinese_calendar import constants

from pubdata.calendar.core import Arrangement, WorkCalendar

#: chinesecalendar names holidays in English; users read Chinese.
_CHINESE = {h.value: h.chinese for h in constants.Holiday}

SOURCE_LABEL = f"chinesecalendar {chinese_calendar.__version__}"


@lru_cache(maxsize=1)
def builtin_arrangements() -> dict[int, Arrangement]:
    """One arrangement per year the library has official data for (its range is detected, not assumed)."""
    holidays: dict[int, dict[dt.date, str | None]] = defaultdict(dict)
    workdays: dict[int, dict[dt.date, str | None]] = defaultdict(dict)
    for d, name in constants.holidays.items():
        holidays[d.year][d] = _CHINESE.get(name, name)
    for d, name in constants.workdays.items():
        workdays[d.year][d] = _CHINESE.get(name, name)
    # Every real year has at least New Year's Day, so the years with holidays are the years covered.
    return {
        year: Arrangement(year, holidays[year], workdays.get(year, {}), source="builtin")
        for year in sorted(holidays)
    }


@lru_cache(maxsize=1)
def builtin_calendar() -> WorkCalendar:
    return WorkCalendar(builtin_arrangements().values())
