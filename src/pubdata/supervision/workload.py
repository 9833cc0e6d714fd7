"""Institutions' workload, deadline compliance and overdue work, from application dates and due dates.

A *decision* is a step the institution owed by a statutory date:
* acceptance (REG-26): accepted on ``accepted_on``, or not accepted on ``decided_on``; due ``acceptance_due``;
* review (REG-27, cancellation REG-25(四)): passed into notice on ``notice_start``, or failed / refused before
  notice / cancellation completed / renewal certified on ``decided_on``; due ``review_due``.
It is on time when made on or before its due date. A request for supplements restarts the acceptance clock
(REG-26), so only the cycle that ended in a decision is judged. Overdue work is what ``registry.deadlines``
calls overdue today: a step still open after its due date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor
from pubdata.errors import ValidationFailed
from pubdata.identity.access import require
from pubdata.identity.models import Organisation
from pubdata.identity.permissions import Permission
from pubdata.registry.deadlines import current_due, is_overdue
from pubdata.registry.models import Application
from pubdata.supervision import institutions as inst_mod
from pubdata.supervision.scope import Scope, oversight_scope

#: States in which the institution (not the applicant) holds the application.
WITH_INSTITUTION = ("submitted", "under_review", "in_notice")
STEP_LABELS = {"acceptance": "受理", "review": "审查"}


@dataclass(frozen=True)
class Decision:
    application_id: int
    number: str | None
    step: str
    decided_on: dt.date
    due: dt.date

    @property
    def on_time(self) -> bool:
        return self.decided_on <= self.due

    @property
    def days_late(self) -> int:
        return max(0, (self.decided_on - self.due).days)


@dataclass(frozen=True)
class Overdue:
    application_id: int
    number: str | None
    kind: str
    state: str
    step: str
    due: dt.date
    days_overdue: int
    subject_org_id: int


@dataclass
class Workload:
    institution_org_id: int | None
    name: str
    region_code: str | None
    active: bool
    #: Applications it holds now, by state (submitted / under_review / in_notice), and those waiting on the
    #: applicant after a supplement request.
    open_by_state: dict[str, int] = field(default_factory=dict)
    waiting_for_applicant: int = 0
    received: int = 0
    decisions: list[Decision] = field(default_factory=list)
    overdue: list[Overdue] = field(default_factory=list)

    @property
    def decided(self) -> int:
        return len(self.decisions)

    @property
    def on_time(self) -> int:
        return sum(1 for d in self.decisions if d.on_time)

    @property
    def late(self) -> int:
        return self.decided - self.on_time

    @property
    def on_time_rate(self) -> float | None:
        return round(self.on_time / self.decided, 4) if self.decided else None

    def summary(self) -> dict[str, object]:
        """Plain figures (for evaluation snapshots and reports)."""
        return {"open_by_state": dict(self.open_by_state), "waiting_for_applicant": self.waiting_for_applicant,
                "received": self.received, "decided": self.decided, "on_time": self.on_time, "late": self.late,
                "on_time_rate": self.on_time_rate, "overdue_now": len(self.overdue)}


def decisions_of(app: Application) -> list[Decision]:
    out: list[Decision] = []
    accepted = app.accepted_on or (app.decided_on if app.state == "not_accepted" else None)
    if accepted is not None and app.acceptance_due is not None:
        out.append(Decision(app.id, app.number, "acceptance", accepted, app.acceptance_due))
    reviewed: dt.date | None = None
    if app.notice_start is not None:
        reviewed = app.notice_start
    elif app.accepted_on is not None and app.state in {"review_failed", "refused", "cancelled", "certified"}:
        reviewed = app.decided_on
    if reviewed is not None and app.review_due is not None:
        out.append(Decision(app.id, app.number, "review", reviewed, app.review_due))
    return out


def overdue_of(app: Application, today: dt.date) -> Overdue | None:
    if not is_overdue(app, today):
        return None
    due = current_due(app)
    assert due is not None
    step = "acceptance" if app.state == "submitted" else "review"
    return Overdue(app.id, app.number, app.kind, app.state, step, due, (today - due).days,
                   app.registration.subject_org_id)


def check_period(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    """Default: this calendar year up to today. The end may not precede the start."""
    today = clock.today()
    start = start or dt.date(today.year, 1, 1)
    end = end or today
    if end < start:
        raise ValidationFailed.single("end", "period_reversed", "统计期止不能早于统计期起。")
    return start, end


def compute(session: Session, *, start: dt.date, end: dt.date, scope: Scope,
            institution_org_id: int | None = None) -> list[Workload]:
    """Workload of every institution in ``scope`` (plus the unassigned bucket), or of one institution."""
    today = clock.today()
    apps = list(session.scalars(select(Application).where(Application.received_on.is_not(None))
                                .order_by(Application.id)))
    owner = inst_mod.attribute(session, apps)
    insts = {i.org_id: i for i in inst_mod.institutions(session)}
    loads: dict[int | None, Workload] = {
        i.org_id: Workload(i.org_id, i.name, i.region_code, i.active) for i in insts.values()
        if scope.covers(i.region_code)}
    regions: dict[int, str] = {oid: r for oid, r in session.execute(select(Organisation.id, Organisation.region_code))}
    for app in apps:
        org_id = owner[app.id]
        if org_id is None:
            if not scope.covers(regions.get(app.registration.subject_org_id)):
                continue
            load = loads.setdefault(None, Workload(None, "未明确登记机构", None, False))
        elif org_id in loads:
            load = loads[org_id]
        else:  # an institution outside the scope
            continue
        _add(load, app, start, end, today)
    out = list(loads.values())
    if institution_org_id is not None:
        out = [w for w in out if w.institution_org_id == institution_org_id]
    return sorted(out, key=lambda w: (w.institution_org_id is None, w.institution_org_id or 0))


def _add(load: Workload, app: Application, start: dt.date, end: dt.date, today: dt.date) -> None:
    if app.state in WITH_INSTITUTION:
        load.open_by_state[app.state] = load.open_by_state.get(app.state, 0) + 1
    elif app.state == "supplement_requested":
        load.waiting_for_applicant += 1
    if app.received_on is not None and start <= app.received_on <= end:
        load.received += 1
    load.decisions.extend(d for d in decisions_of(app) if start <= d.decided_on <= end)
    if (item := overdue_of(app, today)) is not None:
        load.overdue.append(item)


def workload(session: Session, *, actor: Actor, start: dt.date | None = None, end: dt.date | None = None,
             institution_org_id: int | None = None) -> tuple[dt.date, dt.date, list[Workload]]:
    """The authority's (or a regulator's) view of every institution in its scope (REG-16(五), REG-41)."""
    require(actor, Permission.SUPERVISE_READ)
    start, end = check_period(start, end)
    return start, end, compute(session, start=start, end=end, scope=oversight_scope(session, actor),
                               institution_org_id=institution_org_id)


def overdue_work(session: Session, *, actor: Actor) -> list[tuple[Workload, Overdue]]:
    """Every overdue step in scope, the most overdue first."""
    _, _, loads = workload(session, actor=actor)
    rows = [(w, o) for w in loads for o in w.overdue]
    return sorted(rows, key=lambda r: (-r[1].days_overdue, r[1].application_id))
