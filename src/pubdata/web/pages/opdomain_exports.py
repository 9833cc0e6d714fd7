"""授权运营域数据导出审核页面 (OPS-26): the operator's export requests, the new request form (a stored query result
or an uploaded file), the detail with findings and the signed release manifest, the implementing agency's
review queue and decision form. Downloads are served only after approval (``exports.released_content``).

On a domain error the same page is shown again with the values kept and each message next to its field.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from pubdata.audit import Actor
from pubdata.audit.service import history
from pubdata.errors import DomainError, NotFound, ValidationFailed
from pubdata.ledger.canonical import canonical_bytes
from pubdata.opdomain import exports
from pubdata.opdomain.identifiers import mask_identifiers
from pubdata.opdomain.models import ExportRequest, OpDataset, QueryRun
from pubdata.operation.access import active_agreement, is_suspended
from pubdata.web.api.opdomain import export_download
from pubdata.web.deps import Db, csrf_protect, requires, requires_any
from pubdata.web.forms import field_errors as _errors
from pubdata.web.forms import integer as _int
from pubdata.web.forms import org_names as _orgs
from pubdata.web.forms import text as _s
from pubdata.web.paging import Paging, paginate
from pubdata.web.templating import render

router = APIRouter(include_in_schema=False)
OPERATE, REVIEW = exports.OPERATE, exports.REVIEW
BADGES = {"submitted": "badge-pending", "approved": "badge-verified", "refused": "badge-rejected",
          "withdrawn": "badge-rejected"}
EVENT_LABELS = {"request": "提交导出申请", "approve": "批准导出并签发发布清单", "refuse": "不予导出",
                "withdraw": "撤回申请", "download": "下载已发布内容", "review_download": "实施机构下载待审核内容审阅",
                "approve_refused": "批准被拒绝（自动检查或协议状态不允许）"}
#: How much of a text file the reviewer sees on the page (the file itself is never served before approval).
PREVIEW_BYTES = 20_000
VOCAB = {"labels": exports.EXPORT.labels, "kinds": exports.KINDS, "badges": BADGES, "event_labels": EVENT_LABELS}


def _datasets(db: Session, ids: set[int]) -> dict[int, str]:
    return {d.id: d.label for d in db.scalars(select(OpDataset).where(OpDataset.id.in_(ids)))} if ids else {}


# -- list / review queue -----------------------------------------------------------------------------------------


@router.get("/opdomain/exports")
def export_list(request: Request, db: Db, paging: Paging, state: str = "",
                actor: Actor = requires_any(OPERATE, REVIEW)) -> Response:
    operator = actor.can(OPERATE.value)
    if not operator and "state" not in request.query_params:
        state = "submitted"  # the agency's queue opens on what waits for it
    page = paginate(db, exports.list_query(actor=actor, state=state), paging)
    items: list[ExportRequest] = list(page.items)
    return render(request, "opdomain_export_list.html", {
        "page": page, "state": state if state in exports.EXPORT.labels else "", "operator": operator,
        "orgs": _orgs(db, {r.operator_org_id for r in items}),
        "datasets": _datasets(db, {r.dataset_id for r in items if r.dataset_id}), **VOCAB})


# -- new request -----------------------------------------------------------------------------------------------


def _form(request: Request, db: Session, actor: Actor, *, values: dict[str, Any], errors: dict[str, str] | None = None,
          error: DomainError | None = None, status: int = 200) -> Response:
    suspended = bool(actor.org_id and is_suspended(db, actor.org_id))
    runs = [] if suspended else exports.query_runs(db, actor=actor)
    agreement = active_agreement(db, actor.org_id) if actor.org_id else None
    products = [p.get("name") for p in agreement.content.get("products", [])] if agreement else []
    return render(request, "opdomain_export_new.html", {
        "runs": runs, "datasets": _datasets(db, {r.dataset_id for r in runs}), "products": products,
        "agreement": agreement, "suspended": suspended,
        "values": values, "errors": errors or {}, "error": error, **VOCAB}, status_code=status)


@router.get("/opdomain/exports/new")
def new_export(request: Request, db: Db, query_run_id: int | None = None,
               actor: Actor = requires(OPERATE)) -> Response:
    return _form(request, db, actor, values={"kind": "result", "query_run_id": query_run_id})


def _bounded(request: Request) -> None:
    """Before the form parser spools anything: a declared body an export file can fit."""
    limit = request.app.state.settings.upload_max_bytes + (1 << 20)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ValidationFailed.single("file", "file_too_large", f"文件过大（上限 {limit >> 20} MiB）。")


@router.post("/opdomain/exports/new", dependencies=[Depends(_bounded), Depends(csrf_protect)])
async def create_export(request: Request, db: Db, actor: Actor = requires(OPERATE)) -> Response:
    form = await request.form()
    kind = _s(form, "kind")
    upload = form.get("file")
    named = upload if isinstance(upload, UploadFile) and upload.filename else None

    def work() -> Response:
        try:
            if kind == "file":
                # Streamed in 1 MiB chunks; the store enforces its size limit as it writes.
                data = exports.file_chunks(named.file) if named is not None else None
                req = exports.request_file_export(db, actor=actor, data=data, filename=named and named.filename,
                                                  declared_type=named and named.content_type,
                                                  purpose=_s(form, "purpose"), product=_s(form, "product"))
            else:
                req = exports.request_result_export(db, actor=actor, query_run_id=_int(form, "query_run_id"),
                                                    purpose=_s(form, "purpose"), product=_s(form, "product"))
            db.commit()
        except DomainError as exc:
            db.rollback()
            values = {k: str(v) for k, v in form.items() if k not in ("csrf_token", "file")}
            values["query_run_id"] = _int(form, "query_run_id")
            return _form(request, db, actor, values=values, errors=_errors(exc), error=exc, status=exc.status)
        return RedirectResponse(f"/opdomain/exports/{req.id}?done=request", status_code=303)

    return await run_in_threadpool(work)


# -- detail and decisions ----------------------------------------------------------------------------------------


def _preview(req: ExportRequest) -> str | None:
    """The start of a text file, for the reviewer reading it on the page, identifiers masked (the findings
    already say where they are; the reviewer needs no one's ID number)."""
    if req.kind != "file" or not (req.media_type or "").startswith(("text/", "application/json", "application/xml")):
        return None
    try:
        with exports.exports_store().open(req.content_digest) as fh:
            head = fh.read(PREVIEW_BYTES + 1)
    except (FileNotFoundError, ValueError):
        return None
    text = mask_identifiers(head[:PREVIEW_BYTES].decode("utf-8", errors="replace"))
    return text + ("\n……（以下省略）" if len(head) > PREVIEW_BYTES else "")


def _detail(request: Request, db: Session, actor: Actor, export_id: int, *, errors: dict[str, str] | None = None,
            error: DomainError | None = None, values: dict[str, Any] | None = None, status: int = 200) -> Response:
    req = exports.get_visible(db, actor=actor, export_id=export_id)
    run = db.get(QueryRun, req.query_run_id) if req.query_run_id else None
    is_operator = actor.can(OPERATE.value) and actor.org_id == req.operator_org_id
    is_reviewer = actor.can(REVIEW.value) and actor.org_id == req.agency_org_id
    return render(request, "opdomain_export_detail.html", {
        "req": req, "run": run, "is_operator": is_operator, "is_reviewer": is_reviewer,
        "can_act": req.state == "submitted", "preview": _preview(req) if is_reviewer else None,
        "orgs": _orgs(db, {req.operator_org_id, req.agency_org_id}),
        "datasets": _datasets(db, {req.dataset_id} if req.dataset_id else set()),
        "events": history(db, object_type=exports.OBJECT, object_id=req.id),
        "values": values or {}, "errors": errors or {}, "error": error, **VOCAB}, status_code=status)


@router.get("/opdomain/exports/{export_id}")
def export_detail(export_id: int, request: Request, db: Db, actor: Actor = requires_any(OPERATE, REVIEW)) -> Response:
    return _detail(request, db, actor, export_id)


@router.post("/opdomain/exports/{export_id}", dependencies=[Depends(csrf_protect)])
async def export_action(export_id: int, request: Request, db: Db,
                        actor: Actor = requires_any(OPERATE, REVIEW)) -> Response:
    form = await request.form()
    action, version = _s(form, "action"), _int(form, "version")
    try:
        if action == "withdraw":
            exports.withdraw(db, actor=actor, export_id=export_id, version=version)
        elif action == "decide":
            exports.decide(db, actor=actor, export_id=export_id, decision=_s(form, "decision"),
                           note=_s(form, "note"), version=version)
        else:
            raise ValidationFailed.single("action", "unknown_action", "未知的操作。")
        db.commit()
    except DomainError as exc:
        # Nothing has changed but a refused approval's audit event and refreshed findings: keep those.
        db.commit()
        if isinstance(exc, NotFound):
            raise
        values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
        return _detail(request, db, actor, export_id, errors=_errors(exc), error=exc, values=values,
                       status=exc.status)
    done = _s(form, "decision") if action == "decide" else action
    return RedirectResponse(f"/opdomain/exports/{export_id}?done={quote(done)}", status_code=303)


# -- released content --------------------------------------------------------------------------------------------


@router.get("/opdomain/exports/{export_id}/content")
def export_content(export_id: int, db: Db, actor: Actor = requires(OPERATE)) -> Response:
    out = exports.released_content(db, actor=actor, export_id=export_id)
    db.commit()  # the download's audit event
    return export_download(out, released=True)


@router.get("/opdomain/exports/{export_id}/review-content")
def export_review_content(export_id: int, db: Db, actor: Actor = requires(REVIEW)) -> Response:
    """The pending content for the reviewing agency (audited; served as an opaque attachment, never rendered)."""
    out = exports.review_content(db, actor=actor, export_id=export_id)
    db.commit()  # the access's audit event
    return export_download(out, released=False)


@router.get("/opdomain/exports/{export_id}/manifest")
def export_manifest(export_id: int, db: Db, actor: Actor = requires_any(OPERATE, REVIEW)) -> Response:
    exports.get_visible(db, actor=actor, export_id=export_id)
    req = exports.get_released(db, export_id)
    return Response(canonical_bytes(exports.signed_manifest(req)), media_type="application/json", headers={
        "Content-Disposition": f"attachment; filename=export-{req.id}-manifest.json"})
