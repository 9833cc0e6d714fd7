"""Public disclosure (OPS-32): every authorization — operator, content, data scope, period, status — each
operator's product list, and the annual disclosure report for a chosen year, generated from platform data.
No login; nothing personal is shown (no user names, no contacts)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.identity.models import Organisation
from pubdata.operation.access import agreement_scope, is_suspended
from pubdata.operation.content import MODES, PRODUCT_CATEGORIES, PRODUCT_FORMS
from pubdata.operation.evaluations import GRADES
from pubdata.operation.models import (
    Agreement,
    OperationEvaluation,
    OperationMeasure,
    OperationPlan,
    PlanVersion,
    ScenarioDemand,
)
from pubdata.operation.workflow import AGREEMENT

#: Agreements the public sees: signed by both sides, whatever became of them since.
DISCLOSED_STATES = ("signed", "filed", "terminated")


@dataclass(frozen=True)
class Authorization:
    agreement_id: int
    number: str | None
    title: str
    operator: str
    operator_org_id: int
    agency: str
    plan_title: str
    mode: str
    resources: list[dict[str, Any]]
    products: list[dict[str, str]]
    start_date: dt.date
    end_date: dt.date
    status: str
    status_label: str
    suspended: bool
    signed_on: dt.date | None
    filed_on: dt.date | None
    terminated_on: dt.date | None
    termination_reason: str | None


def _status(a: Agreement, today: dt.date) -> str:
    if a.state == "terminated":
        return "terminated"
    if a.end_date < today:
        return "expired"
    if a.start_date > today:
        return "not_started"
    return "in_force"


STATUS_LABELS = {"terminated": "已终止", "expired": "已到期", "not_started": "尚未开始", "in_force": "运营中"}


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    return {o.id: o.name for o in session.scalars(select(Organisation).where(Organisation.id.in_(ids)))} if ids else {}


def authorizations(session: Session, *, operator_org_id: int | None = None) -> list[Authorization]:
    stmt = select(Agreement).where(Agreement.state.in_(DISCLOSED_STATES)).order_by(Agreement.id.desc())
    if operator_org_id is not None:
        stmt = stmt.where(Agreement.operator_org_id == operator_org_id)
    rows = list(session.scalars(stmt))
    names = _names(session, {a.operator_org_id for a in rows} | {a.agency_org_id for a in rows})
    today = clock.today()
    out = []
    for a in rows:
        plan = session.get(OperationPlan, a.plan_id)
        version = session.scalar(select(PlanVersion).where(PlanVersion.plan_id == a.plan_id,
                                                           PlanVersion.version_no == a.plan_version_no))
        mode = version.content.get("mode", "") if version else ""
        status = _status(a, today)
        suspended = status == "in_force" and is_suspended(session, a.operator_org_id)
        out.append(Authorization(
            agreement_id=a.id, number=a.number, title=a.title, operator=names.get(a.operator_org_id, ""),
            operator_org_id=a.operator_org_id, agency=names.get(a.agency_org_id, ""),
            plan_title=plan.title if plan else "", mode=MODES.get(mode, ""),
            resources=[{"registration_id": r.registration_id, "code": r.code, "data_name": r.data_name}
                       for r in agreement_scope(session, a)],
            products=[{"name": p["name"], "category": PRODUCT_CATEGORIES.get(p["category"], ""),
                       "form": PRODUCT_FORMS.get(p["form"], "")} for p in a.content.get("products", [])],
            start_date=a.start_date, end_date=a.end_date, status=status,
            status_label=STATUS_LABELS[status] + ("（平台使用权限暂停中）" if suspended else ""),
            suspended=suspended, signed_on=a.signed_on, filed_on=a.filed_on, terminated_on=a.terminated_on,
            termination_reason=a.termination_reason))
    return out


@dataclass
class AnnualReport:
    year: int
    generated_on: dt.date
    plans_approved: list[dict[str, Any]] = field(default_factory=list)
    agreements_signed: list[dict[str, Any]] = field(default_factory=list)
    in_force_during_year: list[dict[str, Any]] = field(default_factory=list)
    terminations: list[dict[str, Any]] = field(default_factory=list)
    measures: dict[str, int] = field(default_factory=dict)
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    demands_received: int = 0
    #: By the end of March of the following year (national practice); the report says whether it is final.
    due_on: dt.date | None = None
    complete_year: bool = False
    #: Operators' product lists, prices, charging basis and the year's usage (OPS-32; products.disclosure).
    products: list[dict[str, Any]] = field(default_factory=list)


def annual_report(session: Session, *, year: int) -> AnnualReport:
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    today = clock.today()
    report = AnnualReport(year=year, generated_on=today, due_on=dt.date(year + 1, 3, 31), complete_year=today > end)
    for v in session.scalars(select(PlanVersion).where(PlanVersion.approved_on.between(start, end))
                             .order_by(PlanVersion.approved_on)):
        plan = session.get(OperationPlan, v.plan_id)
        report.plans_approved.append({"plan_id": v.plan_id, "number": plan.number if plan else None,
                                      "title": v.content.get("name"), "version_no": v.version_no,
                                      "approved_on": v.approved_on, "mode": MODES.get(v.content.get("mode", ""), "")})
    for auth in authorizations(session):
        row = {"agreement_id": auth.agreement_id, "number": auth.number, "operator": auth.operator,
               "title": auth.title, "start_date": auth.start_date, "end_date": auth.end_date,
               "resources": [r["data_name"] for r in auth.resources], "products": [p["name"] for p in auth.products]}
        if auth.signed_on and start <= auth.signed_on <= end:
            report.agreements_signed.append(row)
        last_day = min(auth.end_date, auth.terminated_on or auth.end_date)
        if auth.start_date <= end and last_day >= start:
            report.in_force_during_year.append(row)
        if auth.terminated_on and start <= auth.terminated_on <= end:
            report.terminations.append({**row, "terminated_on": auth.terminated_on,
                                        "reason": auth.termination_reason})
    for m in session.scalars(select(OperationMeasure).where(OperationMeasure.measure_date.between(start, end))):
        report.measures[m.kind] = report.measures.get(m.kind, 0) + 1
    for ev in session.scalars(select(OperationEvaluation).where(OperationEvaluation.period_end.between(start, end))):
        report.evaluations.append({"agreement_id": ev.agreement_id, "operator": _names(session, {ev.operator_org_id})
                                   .get(ev.operator_org_id, ""), "grade": GRADES.get(ev.grade, ev.grade),
                                   "score": ev.score, "evaluator": ev.evaluator})
    report.demands_received = len(list(session.scalars(select(ScenarioDemand.id).where(
        ScenarioDemand.created_at >= dt.datetime(year, 1, 1, tzinfo=dt.UTC),
        ScenarioDemand.created_at < dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)))))
    from pubdata.products.disclosure import annual_summary  # products depend on operation, not the reverse

    report.products = annual_summary(session, year=year)
    return report


def state_label(state: str) -> str:
    return AGREEMENT.labels.get(state, state)
