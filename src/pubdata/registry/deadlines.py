"""Statutory deadlines of the procedure on the official working-day calendar (REG-25..28).

Each deadline is ``add_workdays(start, n)`` with the start day not counted. A deadline computed on a year
whose official arrangement is not loaded is provisional: its field name is kept in
``Application.provisional_dates`` and it is recomputed when that year is imported (calendar hook below).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import rules
from pubdata.audit import Actor, record
from pubdata.calendar.service import get_calendar, on_year_imported
from pubdata.registry.models import Application, Obligation
from pubdata.registry.workflow import OPEN_STATES

#: Deadline field → (the date it counts from, the rule that gives the number of working days).
SOURCES: dict[str, tuple[str, rules.Rule]] = {
    "acceptance_due": ("received_on", rules.ACCEPTANCE),
    "review_due": ("accepted_on", rules.REVIEW),
    "notice_end": ("notice_start", rules.PUBLIC_NOTICE),
}


def review_rule(kind: str) -> rules.Rule:
    return rules.CANCELLATION_COMPLETE if kind == "cancellation" else rules.REVIEW


def set_due(session: Session, app: Application, field: str) -> dt.date:
    """Compute ``field`` from its start date and rule, marking it provisional when it has to be."""
    start_field, rule = SOURCES[field]
    if field == "review_due":
        rule = review_rule(app.kind)
    start = getattr(app, start_field)
    deadline = get_calendar(session).add_workdays(start, rule.value)
    setattr(app, field, deadline.date)
    provisional = [f for f in app.provisional_dates if f != field]
    if deadline.provisional:
        provisional.append(field)
    app.provisional_dates = provisional
    return deadline.date


def is_overdue(app: Application, today: dt.date) -> bool:
    """The institution's step is late: acceptance after its due date, or review after its due date."""
    if app.state == "submitted" and app.acceptance_due is not None:
        return today > app.acceptance_due
    if app.state == "under_review" and app.review_due is not None:
        return today > app.review_due
    return False


def current_due(app: Application) -> dt.date | None:
    """The date the institution's next step is due, for sorting its queues."""
    return {"submitted": app.acceptance_due, "under_review": app.review_due, "in_notice": app.notice_end}.get(app.state)


@on_year_imported
def recompute_provisional(session: Session, actor: Actor, year: int) -> None:
    """When a year's official arrangement arrives, provisional deadlines touching it are recomputed."""
    apps = session.scalars(select(Application).where(Application.state.in_(OPEN_STATES)))
    for app in apps:
        if not app.provisional_dates:
            continue
        before = {f: getattr(app, f) for f in app.provisional_dates}
        for field in list(app.provisional_dates):
            set_due(session, app, field)
        after = {f: getattr(app, f) for f in before}
        record(session, actor=actor, tag="registry:application:deadlines_recomputed", object_type="application",
               object_id=app.id, changes={f: [before[f], after[f]] for f in before if before[f] != after[f]},
               data={"year": year, "still_provisional": app.provisional_dates})
    for ob in session.scalars(select(Obligation).where(Obligation.provisional.is_(True),
                                                       Obligation.status == "open")):
        from pubdata.registry.obligations import compute_due

        before_due = ob.due_date
        compute_due(session, ob)
        record(session, actor=actor, tag="registry:obligation:due_recomputed", object_type="registration_obligation",
               object_id=ob.id, changes={"due_date": [before_due, ob.due_date]}, data={"year": year})
