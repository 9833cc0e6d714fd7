"""授权运营域页面：数据集（分类分级、重新分类、撤下）、数据申请与审核、数据授权、查询控制台、数据质量问题。

Forms work without JavaScript. A domain error shows the same page again with the values kept and each message
next to its field (status = the error's); a success redirects (303). The console is a plain POST form whose
answer page shows the disclosure-controlled result, or the refusal with its code.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from pubdata import clock
from pubdata.audit import Actor
from pubdata.audit.models import AuditEvent
from pubdata.audit.service import history
from pubdata.db.base import utcnow
from pubdata.errors import DomainError, NotFound, ValidationFailed
from pubdata.identity.permissions import Permission
from pubdata.opdomain import applications, datasets, exports, grants, quality
from pubdata.opdomain.applications import APPLICATION
from pubdata.opdomain.models import DataApplication, DataGrant, OpDataset
from pubdata.opdomain.schema import TableKind
from pubdata.operation.access import active_agreement
from pubdata.registry.models import Registration
from pubdata.web.api.opdomain import answer_query, retry_after
from pubdata.web.deps import Db, csrf_protect, requires, requires_any
from pubdata.web.forms import abandon as _fail
from pubdata.web.forms import date as _date
from pubdata.web.forms import field_errors as _errors
from pubdata.web.forms import integer as _int
from pubdata.web.forms import org_names as _orgs
from pubdata.web.forms import text as _s
from pubdata.web.forms import values as _values
from pubdata.web.paging import Paging, paginate
from pubdata.web.templating import local_time, render

router = APIRouter(include_in_schema=False)
OPERATE, PROVIDE, SUPERVISE = Permission.OPERATION_OPERATE, datasets.PROVIDE, quality.SUPERVISE
ANY = (OPERATE, PROVIDE, SUPERVISE)
QUERY_TAGS = ("opdomain:query:run", "opdomain:query:refused")
DECISIONS = {"approve": "批准", "approve_part": "部分批准", "refuse": "不予批准"}
EVENT_LABELS = {"dataset:register": "载入并分类分级", "dataset:reclassify": "重新分类分级", "dataset:withdraw": "撤下",
                "application:submit": "提交申请", "grant:issue": "授权", "grant:revoke": "撤销授权",
                "grant:narrow": "移除核心数据列",
                **{f"application:{k}": v for k, v in DECISIONS.items()},
                **{f"quality:{k}": v for k, v in quality.QUALITY.labels.items() if k in quality.QUALITY_ACTIONS},
                "quality:report": "反馈问题"}
def valid_until(expires_at: dt.datetime) -> str:
    """A grant expires at 00:00 after its last day (Beijing time); people read the last day."""
    return local_time(expires_at - dt.timedelta(seconds=1), "%Y-%m-%d")


VOCAB = {"roles": datasets.ROLE_LABELS, "grades": datasets.GRADE_LABELS, "kinds": quality.KINDS,
         "app_labels": APPLICATION.labels, "quality_labels": quality.QUALITY.labels,
         "dataset_labels": datasets.DATASET.labels, "decisions": DECISIONS, "valid_until": valid_until,
         "event_labels": EVENT_LABELS}


def _is_operator(actor: Actor) -> bool:
    return actor.can(OPERATE.value)


def _is_provider_of(actor: Actor, ds: OpDataset) -> bool:
    return actor.can(PROVIDE.value) and actor.org_id == ds.provider_org_id


def _ds_map(db: Session, ids: set[int]) -> dict[int, OpDataset]:
    return {d.id: d for d in db.scalars(select(OpDataset).where(OpDataset.id.in_(ids)))} if ids else {}


def _live_grants(db: Session, actor: Actor) -> list[DataGrant]:
    now = utcnow()
    return [g for g in db.scalars(select(DataGrant).where(DataGrant.operator_org_id == actor.org_id,
                                                          DataGrant.revoked_at.is_(None))
                                  .order_by(DataGrant.id.desc()))
            if grants.is_active(g, now)]


# -- datasets --------------------------------------------------------------------------------------------------


def _datasets_query(actor: Actor, state: str) -> Select[tuple[OpDataset]]:
    if _is_operator(actor):  # operators apply for what is on offer
        return datasets.datasets_query(state="active")
    if actor.can(PROVIDE.value):
        return datasets.datasets_query(state=state or None, provider_org_id=actor.org_id)
    return datasets.datasets_query(state=state or None)


@router.get("/opdomain")
def index(request: Request, db: Db, paging: Paging, state: str | None = Query(None, max_length=20),
          actor: Actor = requires_any(*ANY)) -> Response:
    state = state if state in ("active", "withdrawn") else ""
    page = paginate(db, _datasets_query(actor, state), paging)
    live = _live_grants(db, actor) if _is_operator(actor) else []
    pending = [a for a in applications.list_applications(db, actor=actor) if a.state == "submitted"] \
        if (_is_operator(actor) or actor.can(PROVIDE.value)) else []
    return render(request, "opdomain_index.html", {
        "page": page, "state": state, "live": live, "pending": pending,
        "live_ds": _ds_map(db, {g.dataset_id for g in live}),
        "orgs": _orgs(db, {d.provider_org_id for d in page.items}), "is_operator": _is_operator(actor),
        "is_provider": actor.can(PROVIDE.value), "can_supervise": actor.can(SUPERVISE.value), **VOCAB})


def _dataset_page(request: Request, db: Session, actor: Actor, dataset_id: int, **extra: Any) -> Response:
    ds = datasets.get_dataset(db, dataset_id)
    if _is_operator(actor) and ds.state != "active":
        raise NotFound("数据集不存在。", code="dataset_not_found")
    status = int(extra.pop("status_code", 200))
    is_provider = _is_provider_of(actor, ds)
    column_options = {f"{t['name']}.{c['name']}": f"{t['name']}.{c['name']}（{c['label']}，现为"
                      f"{datasets.ROLE_LABELS[c['role']]}／{datasets.GRADE_LABELS[c['grade']]}）"
                      for t in ds.tables for c in t["columns"]}
    return render(request, "opdomain_dataset.html", {
        "column_options": column_options,
        "ds": ds, "reg": db.get(Registration, ds.registration_id), "orgs": _orgs(db, {ds.provider_org_id}),
        "is_provider": is_provider, "is_operator": _is_operator(actor),
        "events": history(db, object_type="opdomain_dataset", object_id=ds.id) if not _is_operator(actor) else [],
        "values": {}, "errors": {}, "error": None, **VOCAB, **extra}, status_code=status)


@router.get("/opdomain/datasets/new")
def new_dataset(request: Request, db: Db, sources: list[str] = Query([], max_length=10),
                actor: Actor = requires(PROVIDE)) -> Response:
    return _dataset_form(request, db, [s[:200] for s in sources][:10], {})


def _dataset_form(request: Request, db: Session, sources: list[str], values: dict[str, Any],
                  error: DomainError | None = None, status: int = 200) -> Response:
    described: list[tuple[str, list[tuple[str, str]]]] = []
    errors = _errors(error) if error else {}
    for i, name in enumerate(sources):
        try:
            described.append((name, datasets.describe_source(name)))
        except DomainError as exc:
            errors[f"tables.{i}.source"] = exc.detail
            described.append((name, []))
    regs = list(db.scalars(select(Registration).where(Registration.status == "registered",
                                                      Registration.registration_type == "data_resource")
                           .order_by(Registration.id.desc()).limit(200)))
    return render(request, "opdomain_dataset_form.html", {
        "staged": datasets.staged_files(), "sources": described, "regs": regs, "values": values,
        "errors": errors, "error": error, **VOCAB,
        "kinds_table": {"entity": "个体表（每行一个人或单位）", "lookup": "代码表（仅公开列）"}}, status_code=status)


def _table_specs(form: FormData) -> list[datasets.TableSpec]:
    specs = []
    for i in range(min(_int(form, "table_count") or 0, 10)):
        p = f"t{i}_"
        cols = [{"name": _s(form, f"{p}c{j}_name"), "role": _s(form, f"{p}c{j}_role"),
                 "grade": _s(form, f"{p}c{j}_grade"), "label": _s(form, f"{p}c{j}_label")}
                for j in range(min(_int(form, f"{p}column_count") or 0, 500))]
        specs.append(datasets.TableSpec(name=_s(form, f"{p}name"), source=_s(form, f"{p}source"),
                                        key=_s(form, f"{p}key"), kind=_s(form, f"{p}kind") or TableKind.ENTITY.value,
                                        label=_s(form, f"{p}label"), columns=cols))
    return specs


@router.post("/opdomain/staging", dependencies=[Depends(csrf_protect)])
async def stage_source(request: Request, db: Db, actor: Actor = requires(PROVIDE)) -> Response:
    form = await request.form()
    upload = form.get("file")
    named = upload if isinstance(upload, UploadFile) and upload.filename else None

    def work() -> Response:
        try:
            name = datasets.stage_file(db, actor=actor, filename=named and named.filename,
                                       chunks=exports.file_chunks(named.file) if named is not None else ())
            db.commit()
        except DomainError as exc:
            _fail(exc, db)
            return _dataset_form(request, db, [], {}, exc, exc.status)
        return RedirectResponse(f"/opdomain/datasets/new?{urlencode({'sources': name, 'uploaded': name})}",
                                status_code=303)

    return await run_in_threadpool(work)


@router.post("/opdomain/datasets/new", dependencies=[Depends(csrf_protect)])
async def create_dataset(request: Request, db: Db, actor: Actor = requires(PROVIDE)) -> Response:
    form = await request.form()
    specs = _table_specs(form)
    try:
        min_count = _int(form, "min_count")
        row = datasets.register_dataset(db, actor=actor, registration_id=_int(form, "registration_id") or 0,
                                        code=_s(form, "code"), label=_s(form, "label"), tables=specs,
                                        disclosure={"min_count": min_count} if min_count is not None else {})
        db.commit()
    except DomainError as exc:
        _fail(exc, db)
        return _dataset_form(request, db, [s.source for s in specs], _values(form), exc, exc.status)
    except TypeError:  # a disclosure value of the wrong type never reaches the engine
        db.rollback()
        exc = ValidationFailed.single("min_count", "bad_disclosure", "统计披露控制参数无效。")
        return _dataset_form(request, db, [s.source for s in specs], _values(form), exc, exc.status)
    return RedirectResponse(f"/opdomain/datasets/{row.id}?done=register", status_code=303)


@router.get("/opdomain/datasets/{dataset_id}")
def dataset_detail(dataset_id: int, request: Request, db: Db, actor: Actor = requires_any(*ANY)) -> Response:
    return _dataset_page(request, db, actor, dataset_id)


@router.post("/opdomain/datasets/{dataset_id}", dependencies=[Depends(csrf_protect)])
async def dataset_act(dataset_id: int, request: Request, db: Db, actor: Actor = requires(PROVIDE)) -> Response:
    form = await request.form()
    action = _s(form, "action")
    try:
        if action == "reclassify":
            table, _, column = _s(form, "column").partition(".")
            datasets.reclassify_column(db, actor=actor, dataset_id=dataset_id, table=table, column=column,
                                       role=_s(form, "role"), grade=_s(form, "grade"), reason=_s(form, "reason"))
        elif action == "withdraw":
            datasets.withdraw_dataset(db, actor=actor, dataset_id=dataset_id, reason=_s(form, "withdraw_reason"))
        else:
            raise ValidationFailed.single("action", "unknown_action", "未知的操作。")
        db.commit()
    except DomainError as exc:
        _fail(exc, db)
        errors = _errors(exc)
        if action == "withdraw" and "reason" in errors:
            errors["withdraw_reason"] = errors.pop("reason")
        if action == "reclassify" and ("table" in errors or "column" in errors):
            errors["column"] = errors.get("column") or errors["table"]
        return _dataset_page(request, db, actor, dataset_id, values=_values(form), errors=errors, error=exc,
                             action=action, status_code=exc.status)
    return RedirectResponse(f"/opdomain/datasets/{dataset_id}?done={action}", status_code=303)


# -- data applications -----------------------------------------------------------------------------------------


def _applications_query(actor: Actor, state: str) -> Select[tuple[DataApplication]]:
    q = select(DataApplication).order_by(DataApplication.id.desc())
    if _is_operator(actor):
        q = q.where(DataApplication.operator_org_id == actor.org_id)
    elif actor.can(PROVIDE.value):
        q = q.join(OpDataset, OpDataset.id == DataApplication.dataset_id).where(
            OpDataset.provider_org_id == actor.org_id)
    return q.where(DataApplication.state == state) if state else q


@router.get("/opdomain/applications")
def application_list(request: Request, db: Db, paging: Paging, state: str | None = Query(None, max_length=20),
                     actor: Actor = requires_any(*ANY)) -> Response:
    state = state if state in ("submitted", "approved", "partly_approved", "refused") else ""
    page = paginate(db, _applications_query(actor, state), paging)
    return render(request, "opdomain_applications.html", {
        "page": page, "state": state, "ds": _ds_map(db, {a.dataset_id for a in page.items}),
        "orgs": _orgs(db, {a.operator_org_id for a in page.items}), "is_operator": _is_operator(actor), **VOCAB})


def _application_form(request: Request, db: Session, actor: Actor, dataset_id: int, values: dict[str, Any],
                      error: DomainError | None = None, status: int = 200) -> Response:
    ds = datasets.get_dataset(db, dataset_id)
    agreement = active_agreement(db, actor.org_id or 0)
    return render(request, "opdomain_application_form.html", {
        "ds": ds, "agreement": agreement, "products": [p["name"] for p in (agreement.content.get("products", [])
                                                                           if agreement else [])],
        "values": values, "checked": set(values.get("cols", [])), "errors": _errors(error) if error else {},
        "error": error, **VOCAB}, status_code=status)


@router.get("/opdomain/applications/new")
def new_application(request: Request, db: Db, dataset_id: int = Query(..., ge=1),
                    actor: Actor = requires(OPERATE)) -> Response:
    today = clock.today()
    values = {"period_start": today.isoformat(), "period_end": (today + dt.timedelta(days=90)).isoformat()}
    return _application_form(request, db, actor, dataset_id, values)


@router.post("/opdomain/applications/new", dependencies=[Depends(csrf_protect)])
async def submit_application(request: Request, db: Db, actor: Actor = requires(OPERATE)) -> Response:
    form = await request.form()
    cols = [str(c) for c in form.getlist("col")][:1000]
    requested: dict[str, list[str]] = {}
    for c in cols:
        table, _, column = c.partition(".")
        requested.setdefault(table, []).append(column)
    uses = {c: _s(form, f"use_{c}") for c in cols}
    dataset_id = _int(form, "dataset_id") or 0
    values = _values(form) | {"cols": cols}
    try:
        start, end = _date(form, "period_start"), _date(form, "period_end")
        if start is None or end is None:
            field = "period_start" if start is None else "period_end"
            raise ValidationFailed.single(field, "bad_date", "请填写有效的日期（年-月-日）。")
        app = applications.submit_application(db, actor=actor, dataset_id=dataset_id, requested=requested, uses=uses,
                                              purpose=_s(form, "purpose"), scenario=_s(form, "scenario"),
                                              product=_s(form, "product"), period_start=start, period_end=end)
        db.commit()
    except DomainError as exc:
        _fail(exc, db)
        return _application_form(request, db, actor, dataset_id, values, exc, exc.status)
    return RedirectResponse(f"/opdomain/applications/{app.id}?done=submit", status_code=303)


def _application_page(request: Request, db: Session, actor: Actor, application_id: int, **extra: Any) -> Response:
    app = applications.get_application(db, application_id)
    ds = datasets.get_dataset(db, app.dataset_id)
    if not (actor.org_id in (app.operator_org_id, ds.provider_org_id) or actor.can(SUPERVISE.value)):
        raise NotFound("数据申请不存在。", code="application_not_found")
    status = int(extra.pop("status_code", 200))
    grant = db.scalar(select(DataGrant).where(DataGrant.application_id == app.id))
    columns = {t["name"]: {c["name"]: c for c in t["columns"]} for t in ds.tables}
    return render(request, "opdomain_application.html", {
        "app": app, "ds": ds, "grant": grant, "columns": columns, "orgs": _orgs(db, {app.operator_org_id}),
        "can_decide": _is_provider_of(actor, ds) and app.state == "submitted",
        "events": history(db, object_type="opdomain_application", object_id=app.id),
        "values": {}, "errors": {}, "error": None, **VOCAB, **extra}, status_code=status)


@router.get("/opdomain/applications/{application_id}")
def application_detail(application_id: int, request: Request, db: Db, actor: Actor = requires_any(*ANY)) -> Response:
    return _application_page(request, db, actor, application_id)


@router.post("/opdomain/applications/{application_id}", dependencies=[Depends(csrf_protect)])
async def decide_application(application_id: int, request: Request, db: Db,
                             actor: Actor = requires(PROVIDE)) -> Response:
    form = await request.form()
    part: dict[str, list[str]] = {}
    for c in form.getlist("grant_col"):
        table, _, column = str(c).partition(".")
        part.setdefault(table, []).append(column)
    try:
        applications.decide(db, actor=actor, application_id=application_id, decision=_s(form, "decision"),
                            note=_s(form, "note"), columns=part)
        db.commit()
    except DomainError as exc:
        _fail(exc, db)
        return _application_page(request, db, actor, application_id, values=_values(form), errors=_errors(exc),
                                 error=exc, status_code=exc.status)
    return RedirectResponse(f"/opdomain/applications/{application_id}?done=decide", status_code=303)


# -- grants ----------------------------------------------------------------------------------------------------


def _grants_query(actor: Actor) -> Select[tuple[DataGrant]]:
    q = select(DataGrant).order_by(DataGrant.id.desc())
    if _is_operator(actor):
        return q.where(DataGrant.operator_org_id == actor.org_id)
    if actor.can(PROVIDE.value):
        return q.join(OpDataset, OpDataset.id == DataGrant.dataset_id).where(OpDataset.provider_org_id == actor.org_id)
    return q


def _grants_page(request: Request, db: Session, actor: Actor, paging: Any, **extra: Any) -> Response:
    page = paginate(db, _grants_query(actor), paging)
    status = int(extra.pop("status_code", 200))
    ds = _ds_map(db, {g.dataset_id for g in page.items})
    return render(request, "opdomain_grants.html", {
        "page": page, "ds": ds, "orgs": _orgs(db, {g.operator_org_id for g in page.items}), "now": utcnow(),
        "is_active": grants.is_active, "is_operator": _is_operator(actor),
        "can_revoke": {g.id for g in page.items if _is_provider_of(actor, ds[g.dataset_id])},
        "values": {}, "errors": {}, "error": None, "failed_id": None, **VOCAB, **extra}, status_code=status)


@router.get("/opdomain/grants")
def grant_list(request: Request, db: Db, paging: Paging, actor: Actor = requires_any(*ANY)) -> Response:
    return _grants_page(request, db, actor, paging)


@router.post("/opdomain/grants/{grant_id}/revoke", dependencies=[Depends(csrf_protect)])
async def revoke_grant(grant_id: int, request: Request, db: Db, paging: Paging,
                       actor: Actor = requires(PROVIDE)) -> Response:
    form = await request.form()
    try:
        grants.revoke(db, actor=actor, grant_id=grant_id, reason=_s(form, "reason"))
        db.commit()
    except DomainError as exc:
        _fail(exc, db)
        return _grants_page(request, db, actor, paging, values=_values(form), errors=_errors(exc), error=exc,
                            failed_id=grant_id, status_code=exc.status)
    return RedirectResponse("/opdomain/grants?done=revoke", status_code=303)


# -- the query console -----------------------------------------------------------------------------------------


def _history_query(actor: Actor) -> Select[tuple[AuditEvent]]:
    """The organisation's recent queries, allowed and refused, from the audit trail (which holds every one)."""
    return (select(AuditEvent).where(AuditEvent.tag.in_(QUERY_TAGS), AuditEvent.actor_org_id == actor.org_id,
                                     AuditEvent.object_type == "opdomain_grant")
            .order_by(AuditEvent.id.desc()))


def _console(request: Request, db: Session, actor: Actor, paging: Any, grant_id: int | None, **extra: Any) -> Response:
    live = _live_grants(db, actor)
    chosen = next((g for g in live if g.id == grant_id), live[0] if live and grant_id is None else None)
    ds = datasets.get_dataset(db, chosen.dataset_id) if chosen else None
    tables = []
    if chosen and ds:
        for t in ds.tables:
            cols = [c for c in t["columns"] if c["name"] in chosen.columns.get(t["name"], [])]
            if cols:
                tables.append((t, cols, ds.row_counts.get(t["name"])))
    status = int(extra.pop("status_code", 200))
    return render(request, "opdomain_console.html", {
        "live": live, "grant": chosen, "ds": ds, "tables": tables,
        "datasets_by_id": _ds_map(db, {g.dataset_id for g in live}),
        "history": paginate(db, _history_query(actor), paging), "sql": "", "result": None, "refusal": None,
        "reasons": {},
        "missing_grant": grant_id is not None and chosen is None, **VOCAB, **extra}, status_code=status)


@router.get("/opdomain/console")
def console(request: Request, db: Db, paging: Paging, grant_id: int | None = Query(None, ge=1),
            actor: Actor = requires(OPERATE)) -> Response:
    return _console(request, db, actor, paging, grant_id)


@router.post("/opdomain/console", dependencies=[Depends(csrf_protect)])
async def console_run(request: Request, db: Db, paging: Paging, actor: Actor = requires(OPERATE)) -> Response:
    form = await request.form()
    grant_id, sql = _int(form, "grant_id"), str(form.get("sql") or "")
    if grant_id is None or not sql.strip():
        field = "grant_id" if grant_id is None else "sql"
        refusal = {"code": "required", "detail": "请选择数据授权并输入 SQL。", "field": field}
        return _console(request, db, actor, paging, grant_id, sql=sql, refusal=refusal, status_code=422)
    answer = await answer_query(request, db, actor, grant_id, sql)
    if isinstance(answer, DomainError):
        refusal = {"code": answer.code, "detail": answer.detail, "field": "sql"}
        page = _console(request, db, actor, paging, grant_id, sql=sql, refusal=refusal, status_code=answer.status)
        page.headers.update(retry_after(answer) or {})
        return page
    result = answer.as_json()
    reasons = {c["reason"]: c["reason_label"] for row in result["rows"] for c in row if c["suppressed"]}
    return _console(request, db, actor, paging, grant_id, sql=sql, result=result, reasons=reasons)


# -- data quality (OPS-24) -------------------------------------------------------------------------------------


@router.get("/opdomain/quality")
def quality_list(request: Request, db: Db, paging: Paging, state: str | None = Query(None, max_length=20),
                 actor: Actor = requires_any(*ANY)) -> Response:
    state = state if state in ("open", "answered", "fixed", "not_fixed", "closed") else ""
    page = paginate(db, quality.reports_query(actor=actor, state=state or None), paging)
    return render(request, "opdomain_quality_list.html", {
        "page": page, "state": state, "ds": _ds_map(db, {r.dataset_id for r in page.items}),
        "orgs": _orgs(db, {r.operator_org_id for r in page.items} | {r.provider_org_id for r in page.items}),
        "is_operator": _is_operator(actor), "can_supervise": actor.can(SUPERVISE.value), "today": clock.today(),
        **VOCAB})


def _quality_form(request: Request, db: Session, actor: Actor, grant_id: int | None, values: dict[str, Any],
                  error: DomainError | None = None, status: int = 200) -> Response:
    live = _live_grants(db, actor)
    chosen = next((g for g in live if g.id == grant_id), live[0] if live else None)
    ds = datasets.get_dataset(db, chosen.dataset_id) if chosen else None
    return render(request, "opdomain_quality_form.html", {
        "live": live, "grant": chosen, "ds": ds, "datasets_by_id": _ds_map(db, {g.dataset_id for g in live}),
        "table_options": {t["name"]: f"{t['name']}（{t['label']}）" for t in (ds.tables if ds else [])
                          if chosen and chosen.columns.get(t["name"])},
        "values": values, "checked": set(values.get("columns", [])), "errors": _errors(error) if error else {},
        "error": error, **VOCAB}, status_code=status)


@router.get("/opdomain/quality/new")
def new_quality(request: Request, db: Db, grant_id: int | None = Query(None, ge=1),
                actor: Actor = requires(OPERATE)) -> Response:
    return _quality_form(request, db, actor, grant_id, {})


@router.post("/opdomain/quality/new", dependencies=[Depends(csrf_protect)])
async def submit_quality(request: Request, db: Db, actor: Actor = requires(OPERATE)) -> Response:
    form = await request.form()
    grant_id, table = _int(form, "grant_id"), _s(form, "table")
    # Column boxes are named "table.column"; only those of the chosen table are the report's.
    cols = [str(c) for c in form.getlist("columns")][:200]
    mine = [c.partition(".")[2] for c in cols if c.partition(".")[0] == table]
    values = _values(form) | {"columns": cols}
    try:
        row = quality.report(db, actor=actor, grant_id=grant_id or 0, table=table, columns=mine,
                             kind=_s(form, "kind"), description=_s(form, "description"))
        db.commit()
    except DomainError as exc:
        _fail(exc, db)
        return _quality_form(request, db, actor, grant_id, values, exc, exc.status)
    return RedirectResponse(f"/opdomain/quality/{row.id}?done=report", status_code=303)


@router.get("/opdomain/quality/response-times")
def quality_times(request: Request, db: Db, actor: Actor = requires(SUPERVISE)) -> Response:
    stats = quality.response_times(db, actor=actor)
    ds = _ds_map(db, {s.key for s in stats["datasets"]})
    return render(request, "opdomain_quality_times.html", {
        "stats": stats, "ds": ds, "orgs": _orgs(db, {s.key for s in stats["providers"]}
                                                | {d.provider_org_id for d in ds.values()})})


def _quality_page(request: Request, db: Session, actor: Actor, report_id: int, **extra: Any) -> Response:
    row = quality.get_report(db, report_id)
    if not quality.can_see(actor, row):
        raise NotFound("数据质量问题不存在。", code="quality_report_not_found")
    status = int(extra.pop("status_code", 200))
    side = quality.PROVIDER_ACTIONS if (actor.can(PROVIDE.value) and actor.org_id == row.provider_org_id) else (
        quality.OPERATOR_ACTIONS if (_is_operator(actor) and actor.org_id == row.operator_org_id) else frozenset())
    actions = [a for a in quality.QUALITY.allowed_actions(row.state) if a in side]
    return render(request, "opdomain_quality.html", {
        "r": row, "ds": datasets.get_dataset(db, row.dataset_id), "actions": actions,
        "orgs": _orgs(db, {row.operator_org_id, row.provider_org_id}),
        "events": history(db, object_type="opdomain_quality_report", object_id=row.id),
        "values": {}, "errors": {}, "error": None, **VOCAB, **extra}, status_code=status)


@router.get("/opdomain/quality/{report_id}")
def quality_detail(report_id: int, request: Request, db: Db, actor: Actor = requires_any(*ANY)) -> Response:
    return _quality_page(request, db, actor, report_id)


@router.post("/opdomain/quality/{report_id}", dependencies=[Depends(csrf_protect)])
async def quality_act(report_id: int, request: Request, db: Db,
                      actor: Actor = requires_any(OPERATE, PROVIDE)) -> Response:
    form = await request.form()
    action = _s(form, "action")
    try:
        quality.act(db, actor=actor, report_id=report_id, action=action, note=_s(form, "note"),
                    version=_int(form, "version"))
        db.commit()
    except DomainError as exc:
        _fail(exc, db)
        return _quality_page(request, db, actor, report_id, values=_values(form), errors=_errors(exc), error=exc,
                             status_code=exc.status)
    return RedirectResponse(f"/opdomain/quality/{report_id}?done={action}", status_code=303)
