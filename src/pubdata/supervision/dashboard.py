"""The data authority's dashboard (REG-16, REG-25, REG-39..41): filters, registrations per month, deadline
compliance per institution and step, overdue steps and overdue obligations — read-only figures from the records.

Region and scope follow ``supervision.scope``: the authority sees its region, a regulator its own (or all);
a region filter must lie inside that scope (``out_of_region``). Registration counts use the subject's region
(as ``supervision.stats`` does); institutions are those whose jurisdiction lies in the chosen region (as
``supervision.workload`` does), and their overdue steps are theirs.

Compliance adds a third step to workload's acceptance (REG-26) and review (REG-27): issuing the certificate when
the public notice ends (REG-28/29). The rules set no number of days for it; the platform's sweep certifies the
day after the notice period, so a certificate is judged due on the first working day after ``notice_end``
(``CERTIFY_AFTER_NOTICE``). A notice held open by an objection (``public_notices.BLOCKERS``) is not overdue.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor
from pubdata.calendar.service import get_calendar
from pubdata.errors import FieldError, ValidationFailed
from pubdata.identity.access import require
from pubdata.identity.models import Organisation
from pubdata.identity.permissions import Permission
from pubdata.reference.regions import GANSU, Region, get_region, is_within, regions
from pubdata.registry.form import parse_date
from pubdata.registry.models import Application, Obligation, Registration
from pubdata.registry.obligations import EVENTS, list_obligations
from pubdata.registry.public_notices import blocking_reason
from pubdata.supervision import institutions as inst_mod
from pubdata.supervision import stats, workload
from pubdata.supervision.scope import Scope, oversight_scope, require_covers
from pubdata.supervision.workload import Decision, Overdue, Workload

#: Working days after the notice period within which the certificate is due (platform practice, see above).
CERTIFY_AFTER_NOTICE = 1
STEPS = ("acceptance", "review", "notice")
STEP_LABELS = {**workload.STEP_LABELS, "notice": "公示期满发证"}
#: Dates outside these years are typing errors, not periods anyone means.
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2099, 12, 31)
MONTHS = 12


@dataclass(frozen=True)
class Filters:
    start: dt.date
    end: dt.date
    region_code: str

    @property
    def region_name(self) -> str:
        region = get_region(self.region_code)
        return region.name if region else self.region_code


@dataclass(frozen=True)
class StepCompliance:
    on_time: int = 0
    late: int = 0

    @property
    def decided(self) -> int:
        return self.on_time + self.late

    @property
    def rate(self) -> float | None:
        return self.on_time / self.decided if self.decided else None


@dataclass
class ComplianceRow:
    """One institution's deadline compliance in the period, per step, and its overdue work now."""

    load: Workload
    steps: dict[str, StepCompliance] = field(default_factory=dict)

    @property
    def total(self) -> StepCompliance:
        return StepCompliance(sum(s.on_time for s in self.steps.values()), sum(s.late for s in self.steps.values()))


@dataclass(frozen=True)
class OverdueStep:
    institution: str
    item: Overdue
    subject_name: str


@dataclass(frozen=True)
class OverdueObligation:
    obligation: Obligation
    subject_name: str
    subject_region: str | None
    days_overdue: int

    @property
    def event_label(self) -> str:
        return EVENTS[self.obligation.event][0] if self.obligation.event in EVENTS else self.obligation.event


@dataclass(frozen=True)
class MonthCount:
    year: int
    month: int
    submitted: int
    completed: int


# -- filters --------------------------------------------------------------------------------------------


def region_choices(session: Session, actor: Actor) -> list[Region]:
    """The regions the actor may filter by: each region it oversees and the regions one level below."""
    scope = oversight_scope(session, actor)
    roots = list(scope.regions) if scope.regions is not None else [GANSU]
    out: list[Region] = []
    for code in roots:
        root = get_region(code)
        if root is not None and root not in out:
            out.append(root)
            out += [r for r in regions(parent=code) if r not in out]
    return out


def _date(value: str | None, name: str, errors: list[FieldError]) -> dt.date | None:
    text = (value or "").strip()
    if not text:
        return None
    day = parse_date(text)
    if day is None:
        errors.append(FieldError(name, "bad_date", "日期格式应为 YYYY-MM-DD，例如 2026-01-31。"))
    elif not EARLIEST <= day <= LATEST:
        errors.append(FieldError(name, "out_of_range", "日期应在 2000 年至 2099 年之间。"))
        return None
    return day


def resolve_filters(session: Session, *, actor: Actor, start: str | None = None, end: str | None = None,
                    region_code: str | None = None) -> Filters:
    """Parse the dashboard's GET filters; every bad value is a field error, an unseen region 403."""
    require(actor, Permission.SUPERVISE_READ)
    errors: list[FieldError] = []
    s, e = _date(start, "start", errors), _date(end, "end", errors)
    code = (region_code or "").strip()
    scope = oversight_scope(session, actor)
    if code and (get_region(code) is None or not is_within(code, GANSU)):
        errors.append(FieldError("region", "unknown_region", "请选择甘肃省内的地区（行政区划代码）。"))
    if s and e and e < s:
        errors.append(FieldError("end", "period_reversed", "统计期止不能早于统计期起。"))
    if errors:
        raise ValidationFailed(errors)
    s, e = workload.check_period(s, e)
    if not code:
        code = scope.regions[0] if scope.regions else GANSU
    require_covers(scope, code, "所选地区")
    return Filters(s, e, code)


# -- registrations over time ----------------------------------------------------------------------------


def last_months(end: dt.date, n: int = MONTHS) -> list[tuple[int, int]]:
    """The ``n`` calendar months ending with ``end``'s month, oldest first."""
    index = end.year * 12 + end.month - 1
    return [(i // 12, i % 12 + 1) for i in range(index - n + 1, index + 1)]


def monthly(session: Session, *, actor: Actor, filters: Filters) -> list[MonthCount]:
    """Applications received (every kind, by ``received_on``) and first registrations completed (certified, by
    ``decided_on``) per month over the 12 months up to the period's end, for subjects in the region."""
    require(actor, Permission.STATISTICS_READ)
    region = stats.resolve_region(session, actor, filters.region_code)
    months = last_months(filters.end)
    first = dt.date(months[0][0], months[0][1], 1)
    base = (select(Application, Organisation.region_code)
            .join(Registration, Registration.id == Application.registration_id)
            .join(Organisation, Organisation.id == Registration.subject_org_id))
    submitted: Counter[tuple[int, int]] = Counter()
    completed: Counter[tuple[int, int]] = Counter()
    rows = session.execute(base.where(Application.received_on >= first, Application.received_on <= filters.end))
    for app, subject_region in rows:
        if subject_region and is_within(subject_region, region):
            submitted[(app.received_on.year, app.received_on.month)] += 1
    rows = session.execute(base.where(Application.kind == "first", Application.state == "certified",
                                      Application.decided_on >= first, Application.decided_on <= filters.end))
    for app, subject_region in rows:
        if subject_region and is_within(subject_region, region):
            completed[(app.decided_on.year, app.decided_on.month)] += 1
    return [MonthCount(y, m, submitted[(y, m)], completed[(y, m)]) for y, m in months]


def statistics(session: Session, *, actor: Actor, filters: Filters) -> dict[str, Any]:
    """The live statistics of ``supervision.stats`` for the filters (REG-40: not for disclosure)."""
    return stats.statistics(session, actor=actor, start=filters.start, end=filters.end,
                            region_code=filters.region_code)


# -- compliance and overdue work ------------------------------------------------------------------------


def _certificate_due(session: Session, app: Application) -> dt.date:
    assert app.notice_end is not None
    return get_calendar(session).add_workdays(app.notice_end, CERTIFY_AFTER_NOTICE).date


def _notice_work(session: Session, loads: Sequence[Workload], start: dt.date, end: dt.date,
                 today: dt.date) -> dict[int | None, tuple[list[Decision], list[Overdue]]]:
    """Certificates after public notice: decisions in the period and overdue ones now, per institution."""
    apps = list(session.scalars(select(Application).where(
        Application.notice_start.is_not(None), Application.notice_end.is_not(None),
        Application.state.in_(("in_notice", "certified", "refused"))).order_by(Application.id)))
    owner = inst_mod.attribute(session, apps)
    wanted = {w.institution_org_id for w in loads}
    out: dict[int | None, tuple[list[Decision], list[Overdue]]] = {k: ([], []) for k in wanted}
    for app in apps:
        org_id = owner[app.id]
        if org_id not in wanted:
            continue
        due = _certificate_due(session, app)
        if app.state != "in_notice" and app.decided_on is not None and start <= app.decided_on <= end:
            out[org_id][0].append(Decision(app.id, app.number, "notice", app.decided_on, due))
        elif app.state == "in_notice" and today > due and blocking_reason(session, app) is None:
            out[org_id][1].append(Overdue(app.id, app.number, app.kind, app.state, "notice", due,
                                          (today - due).days, app.registration.subject_org_id))
    return out


def _scope_of(filters: Filters) -> Scope:
    return Scope((filters.region_code,))


def compliance(session: Session, *, actor: Actor, filters: Filters) -> list[ComplianceRow]:
    """Per institution in the region: on time / late per step in the period (REG-26..29), overdue now."""
    require(actor, Permission.SUPERVISE_READ)
    require_covers(oversight_scope(session, actor), filters.region_code, "所选地区")
    loads = workload.compute(session, start=filters.start, end=filters.end, scope=_scope_of(filters))
    notice = _notice_work(session, loads, filters.start, filters.end, clock.today())
    rows = []
    for load in loads:
        decisions, overdue = notice.get(load.institution_org_id, ([], []))
        load.decisions.extend(decisions)
        load.overdue.extend(overdue)
        steps = {step: StepCompliance(sum(1 for d in load.decisions if d.step == step and d.on_time),
                                      sum(1 for d in load.decisions if d.step == step and not d.on_time))
                 for step in STEPS}
        rows.append(ComplianceRow(load, steps))
    return rows


def _subject_names(session: Session, org_ids: set[int]) -> dict[int, tuple[str, str | None]]:
    if not org_ids:
        return {}
    stmt = select(Organisation.id, Organisation.name, Organisation.region_code).where(Organisation.id.in_(org_ids))
    return {oid: (name, region) for oid, name, region in session.execute(stmt)}


def overdue_steps(session: Session, *, actor: Actor, filters: Filters) -> list[OverdueStep]:
    """Every overdue step of the region's institutions, the most overdue first."""
    rows = compliance(session, actor=actor, filters=filters)
    items = [(r.load.name, o) for r in rows for o in r.load.overdue]
    names = _subject_names(session, {o.subject_org_id for _, o in items})
    out = [OverdueStep(inst, o, names.get(o.subject_org_id, ("", None))[0]) for inst, o in items]
    return sorted(out, key=lambda s: (-s.item.days_overdue, s.item.application_id, s.item.step))


def overdue_obligations(session: Session, *, actor: Actor, filters: Filters) -> list[OverdueObligation]:
    """Subjects' REG-25 obligations past their due date, for subjects in the region, the oldest first."""
    require(actor, Permission.SUPERVISE_READ)
    require_covers(oversight_scope(session, actor), filters.region_code, "所选地区")
    today = clock.today()
    obligations = list_obligations(session, actor=actor, overdue_only=True)
    names = _subject_names(session, {ob.subject_org_id for ob in obligations})
    out = []
    for ob in obligations:
        name, region = names.get(ob.subject_org_id, ("", None))
        if region and is_within(region, filters.region_code):
            out.append(OverdueObligation(ob, name, region, (today - ob.due_date).days))
    return sorted(out, key=lambda o: (o.obligation.due_date, o.obligation.id))
