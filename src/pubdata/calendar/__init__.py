"""Official working-day calendar (工作日): State Council holidays and 调休 make-up days.

Deadlines (REG-25..28) are ``get_calendar(session).add_workdays(start, n)``; the start day is not counted.
"""

from pubdata.calendar.core import Arrangement, Deadline, WorkCalendar
from pubdata.calendar.service import (
    get_calendar,
    import_arrangement,
    invalidate_calendar,
    load_calendar,
    on_year_imported,
    remove_year_imported_hook,
)

__all__ = [
    "Arrangement",
    "Deadline",
    "WorkCalendar",
    "get_calendar",
    "import_arrangement",
    "invalidate_calendar",
    "load_calendar",
    "on_year_imported",
    "remove_year_imported_hook",
]
