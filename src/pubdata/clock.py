"""Today's date in Beijing, the date every statutory deadline counts from. One place, so tests can fix it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
_frozen: dt.date | None = None


def today() -> dt.date:
    return _frozen or dt.datetime.now(SHANGHAI).date()


@contextmanager
def frozen(day: dt.date) -> Iterator[None]:
    """Within the block, ``today()`` is ``day`` (tests and the demo's back-dated history)."""
    global _frozen
    previous, _frozen = _frozen, day
    try:
        yield
    finally:
        _frozen = previous


def add_years(day: dt.date, years: int) -> dt.date:
    """Same day ``years`` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
