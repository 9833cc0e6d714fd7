"""数据主管部门看板：统计、时限合规、逾期、统计信息发布审核 (REG-16, REG-25, REG-39..41)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from pubdata.audit import Actor
from pubdata.errors import DomainError, ValidationFailed
from pubdata.identity.models import Organisation, User
from pubdata.identity.permissions import Permission
from pubdata.reference.regions import get_region
from pubdata.registry.workflow import KIND_LABELS
from pubdata.supervision import dashboard, releases
from pubdata.supervision.dashboard import Filters
from pubdata.supervision.models import StatisticRelease
from pubdata.web import charts
from pubdata.web.deps import Db, csrf_protect, requires
from pubdata.web.paging import Paging, page_of
from pubdata.web.problems import problem
from pubdata.web.templating import render

router = APIRouter(include_in_schema=False)

#: Release list tabs: state → label ("all" shows every state).
RELEASE_TABS = {"draft": "待同意", "approved": "已同意公开", "rejected": "不同意公开", "withdrawn": "已撤回",
                "all": "全部"}
DECISIONS = {"approve": releases.approve_release, "reject": releases.reject_release,
             "withdraw": releases.withdraw_release}
DONE_MESSAGES = {"approve": "已同意公开，该统计信息已列入公开统计。", "reject": "已不同意公开，理由已记录。",
                 "withdraw": "已撤回，该统计信息不再公开。"}


@dataclass(frozen=True)
class Panel:
    """A chart with the table of the same figures under it."""

    key: str
    title: str
    svg: Markup
    headers: Sequence[str]
    rows: Sequence[Sequence[object]]
    #: Rows as columns (a time series reads left to right, like its chart).
    transpose: bool = False


#: Drawing widths that match the cards the charts sit in (one per half row, the time series full width).
PANEL_WIDTH, WIDE_WIDTH = 480, 1030


def _pairs(table: Sequence[dict[str, Any]]) -> list[tuple[str, float]]:
    return [(str(r["label"]), r["count"]) for r in table]


def _lower_level(region_code: str) -> str:
    region = get_region(region_code)
    return {"province": "市州", "prefecture": "区县"}.get(region.level if region else "", "下级地区")


def stat_panels(snapshot: dict[str, Any], prefix: str) -> list[Panel]:
    """Charts of a statistics snapshot (live or a release): type, status, region one level down, industry."""
    lower = _lower_level(snapshot["region"]["code"])
    specs = [("by_type", "按登记类型", charts.bar_chart, "登记类型"),
             ("by_status", "按登记状态", charts.bar_chart, "状态"),
             ("by_region", f"按{lower}（登记主体所在地）", charts.hbar_chart, lower),
             ("by_industry", "按行业门类（GB/T 4754）", charts.hbar_chart, "行业门类")]
    return [Panel(key, title, draw(_pairs(snapshot[key]), title=title, chart_id=f"{prefix}-{key}", unit="项",
                                   width=PANEL_WIDTH),
                  (column, "登记数"), [(r["label"], r["count"]) for r in snapshot[key]])
            for key, title, draw, column in specs]


def month_panel(months: Sequence[dashboard.MonthCount]) -> Panel:
    first, last = months[0], months[-1]
    title = f"近 12 个月申请与登记（{first.year}年{first.month}月—{last.year}年{last.month}月）"
    full = [f"{m.year}年{m.month}月" for m in months]
    svg = charts.line_chart([f"{m.month}月" for m in months],
                            [charts.Series("提交申请", [m.submitted for m in months]),
                             charts.Series("完成首次登记", [m.completed for m in months])],
                            title=title, chart_id="months", unit="件", full_labels=full, width=WIDE_WIDTH)
    return Panel("months", title, svg, ("月份", "提交申请", "完成首次登记"),
                 [(label, m.submitted, m.completed) for label, m in zip(full, months, strict=True)], transpose=True)


def _filter_values(start: str, end: str, region: str) -> dict[str, str]:
    return {"start": start.strip(), "end": end.strip(), "region": region.strip()}


def _errors(exc: DomainError, default_field: str) -> dict[str, str]:
    """Field messages; an error without fields (out of region) goes next to ``default_field``."""
    return {e.field: e.message for e in exc.errors} or {default_field: exc.detail}


def _draft_count(db: Session, actor: Actor) -> int | None:
    if not actor.can(Permission.STATISTICS_READ.value):
        return None
    return len(releases.list_releases(db, actor=actor, state="draft"))


# -- the dashboard --------------------------------------------------------------------------------------------


@router.get("/authority")
def overview(request: Request, db: Db, start: str = Query("", max_length=40), end: str = Query("", max_length=40),
             region: str = Query("", max_length=20), actor: Actor = requires(Permission.SUPERVISE_READ)) -> Response:
    values = _filter_values(start, end, region)
    context: dict[str, Any] = {"values": values, "errors": {}, "regions": dashboard.region_choices(db, actor),
                               "filters": None, "step_labels": dashboard.STEP_LABELS, "steps": dashboard.STEPS,
                               "drafts": _draft_count(db, actor)}
    try:
        filters = dashboard.resolve_filters(db, actor=actor, start=start, end=end, region_code=region)
    except DomainError as exc:
        return render(request, "authority_dashboard.html", {**context, "error": exc, "errors": _errors(exc, "region")},
                      status_code=exc.status)
    rows = dashboard.compliance(db, actor=actor, filters=filters)
    context |= {
        "filters": filters, "compliance": rows,
        "overall": dashboard.StepCompliance(sum(r.total.on_time for r in rows), sum(r.total.late for r in rows)),
        "overdue_steps": sum(len(r.load.overdue) for r in rows),
        "overdue_obligations": len(dashboard.overdue_obligations(db, actor=actor, filters=filters)),
        "stats": None,
    }
    if actor.can(Permission.STATISTICS_READ.value):
        stats = dashboard.statistics(db, actor=actor, filters=filters)
        context |= {"stats": stats, "panels": stat_panels(stats, "live"),
                    "months": month_panel(dashboard.monthly(db, actor=actor, filters=filters)),
                    "status_counts": {r["code"]: r["count"] for r in stats["by_status"]}}
    return render(request, "authority_dashboard.html", context)


def _region_only(request: Request, db: Session, actor: Actor, region: str, template: str,
                 build: Any) -> Response:
    """A list page filtered by region only (overdue work is "now", not a period)."""
    values = _filter_values("", "", region)
    context: dict[str, Any] = {"values": values, "errors": {}, "regions": dashboard.region_choices(db, actor),
                               "filters": None, "step_labels": dashboard.STEP_LABELS, "kinds": KIND_LABELS}
    try:
        filters = dashboard.resolve_filters(db, actor=actor, region_code=region)
    except DomainError as exc:
        return render(request, template, {**context, "error": exc, "errors": _errors(exc, "region")},
                      status_code=exc.status)
    return render(request, template, {**context, "filters": filters, "page": build(filters)})


@router.get("/authority/overdue")
def overdue(request: Request, db: Db, paging: Paging, region: str = Query("", max_length=20),
            actor: Actor = requires(Permission.SUPERVISE_READ)) -> Response:
    def build(filters: Filters) -> Any:
        return page_of(dashboard.overdue_steps(db, actor=actor, filters=filters), paging)

    return _region_only(request, db, actor, region, "authority_overdue.html", build)


@router.get("/authority/obligations")
def obligations(request: Request, db: Db, paging: Paging, region: str = Query("", max_length=20),
                actor: Actor = requires(Permission.SUPERVISE_READ)) -> Response:
    def build(filters: Filters) -> Any:
        return page_of(dashboard.overdue_obligations(db, actor=actor, filters=filters), paging)

    return _region_only(request, db, actor, region, "authority_obligations.html", build)


# -- statistic releases (REG-40) ------------------------------------------------------------------------------


def _names(db: Session, rels: Sequence[StatisticRelease]) -> dict[str, dict[int, str]]:
    org_ids = {i for r in rels for i in (r.drafted_by_org_id, r.decided_by_org_id) if i is not None}
    user_ids = {i for r in rels for i in (r.drafted_by_user_id, r.decided_by_user_id) if i is not None}
    return {"orgs": {o.id: o.name for o in (db.get(Organisation, i) for i in org_ids) if o is not None},
            "users": {u.id: u.full_name for u in (db.get(User, i) for i in user_ids) if u is not None}}


@router.get("/authority/releases")
def release_list(request: Request, db: Db, paging: Paging, state: str = Query("draft", max_length=20),
                 actor: Actor = requires(Permission.STATISTICS_READ)) -> Response:
    context: dict[str, Any] = {"tabs": RELEASE_TABS, "state": state, "labels": releases.RELEASE.labels}
    if state not in RELEASE_TABS:
        exc = ValidationFailed.single("state", "unknown_state", "请选择列表中的发布状态。")
        return render(request, "authority_releases.html", {**context, "error": exc, "page": None, "names": {}},
                      status_code=exc.status)
    rows = releases.list_releases(db, actor=actor, state=None if state == "all" else state)
    page = page_of(rows, paging)
    return render(request, "authority_releases.html", {**context, "page": page, "names": _names(db, page.items)})


def _release_page(request: Request, db: Session, actor: Actor, release_id: int, *, status_code: int = 200,
                  **extra: Any) -> Response:
    rel = releases.view_release(db, actor=actor, release_id=release_id)
    generated = rel.snapshot.get("generated_at")
    return render(request, "authority_release.html", {
        "generated_at": dt.datetime.fromisoformat(generated) if isinstance(generated, str) else None,
        "rel": rel, "labels": releases.RELEASE.labels, "names": _names(db, [rel]),
        "actions": releases.RELEASE.allowed_actions(rel.state) if actor.can(Permission.STATISTICS_APPROVE.value)
        else [], "panels": stat_panels(rel.snapshot, f"rel{rel.id}"), "values": {}, "errors": {},
        "done": DONE_MESSAGES.get(request.query_params.get("done", "")), **extra,
    }, status_code=status_code)


def _release_or_problem(request: Request, db: Session, actor: Actor, release_id: int, **extra: Any) -> Response:
    """The release page, or the error page rendered here while the request's session is still open (a release
    that does not exist or lies outside the actor's region)."""
    try:
        return _release_page(request, db, actor, release_id, **extra)
    except DomainError as exc:
        return problem(request, exc.status, exc.code, exc.detail, exc.errors)


@router.get("/authority/releases/{release_id}")
def release_detail(release_id: int, request: Request, db: Db,
                   actor: Actor = requires(Permission.STATISTICS_READ)) -> Response:
    return _release_or_problem(request, db, actor, release_id)


@router.post("/authority/releases/{release_id}", dependencies=[Depends(csrf_protect)])
async def release_decide(release_id: int, request: Request, db: Db,
                         actor: Actor = requires(Permission.STATISTICS_APPROVE)) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "").strip()[:2000] for k in ("action", "reason", "version")}
    try:
        decide = DECISIONS.get(values["action"])
        if decide is None:
            raise ValidationFailed.single("action", "unknown_action", "请选择同意公开、不同意公开或撤回。")
        if not values["version"].isdigit():
            raise ValidationFailed.single("version", "bad_version", "页面信息不完整，请刷新页面后重试。")
        kwargs: dict[str, Any] = {"version": int(values["version"])}
        if values["action"] != "approve":
            kwargs["reason"] = values["reason"]
        decide(db, actor=actor, release_id=release_id, **kwargs)
        db.commit()
    except DomainError as exc:
        db.rollback()
        return _release_or_problem(request, db, actor, release_id, status_code=exc.status, error=exc,
                                   values=values, errors={e.field: e.message for e in exc.errors})
    return RedirectResponse(f"/authority/releases/{release_id}?done={values['action']}", status_code=303)
