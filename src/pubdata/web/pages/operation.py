"""授权运营页面：实施方案、评审、运营机构选择、协议、整改与暂停、公开披露。

Every object has one detail page and one POST route whose ``action`` field names the service to call; on a
domain error the detail page is shown again with the values kept and each message next to its field.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from pubdata import clock
from pubdata.audit import Actor
from pubdata.audit.service import history
from pubdata.errors import DomainError, FieldError, NotFound, ValidationFailed
from pubdata.files.models import StoredFile
from pubdata.files.store import BlobStore
from pubdata.identity.models import Organisation
from pubdata.identity.permissions import Permission
from pubdata.operation import (
    agreements,
    common,
    demands,
    disclosure,
    evaluations,
    measures,
    notices,
    plans,
    selection,
)
from pubdata.operation.content import AGREEMENT_TEXTS, MODES, PLAN_TEXTS, PRODUCT_CATEGORIES, PRODUCT_FORMS
from pubdata.operation.models import Agreement, OperationPlan
from pubdata.operation.regions import plan_scope, require_agreement_region, scoped_agreements
from pubdata.operation.workflow import (
    AGREEMENT,
    CONSENT,
    MEASURE_KINDS,
    PLAN,
    REVIEW_STAGES,
    STAGE_LABELS,
    measure_state_label,
)
from pubdata.registry.models import Registration
from pubdata.web.api.certificates import PayloadTooLarge
from pubdata.web.api.files import content_disposition
from pubdata.web.deps import Db, csrf_protect, public, requires, requires_any
from pubdata.web.forms import abandon as _fail
from pubdata.web.forms import date as _date
from pubdata.web.forms import field_errors as _errors
from pubdata.web.forms import integer as _int
from pubdata.web.forms import org_names as _orgs
from pubdata.web.forms import store_files
from pubdata.web.forms import text as _s
from pubdata.web.paging import PageRequest, Paging, paginate
from pubdata.web.templating import render

router = APIRouter(include_in_schema=False)
PRODUCT_ROWS = 4
VOCAB = {"modes": MODES, "categories": PRODUCT_CATEGORIES, "forms": PRODUCT_FORMS, "plan_texts": PLAN_TEXTS,
         "agreement_texts": AGREEMENT_TEXTS, "plan_labels": PLAN.labels, "agreement_labels": AGREEMENT.labels,
         "stage_labels": STAGE_LABELS, "methods": selection.METHODS, "qualifications": selection.QUALIFICATIONS,
         "grounds": measures.TERMINATION_GROUNDS, "measure_kinds": MEASURE_KINDS, "grades": evaluations.GRADES,
         "measure_state_label": measure_state_label, "product_rows": PRODUCT_ROWS, "consent_labels": CONSENT.labels}
#: The file input of every operation form that takes attachments (opinions, filing receipts, evidence).
ATTACHMENTS = "attachments"
MAX_FILES_PER_POST = 5


def _bounded_upload(request: Request) -> None:
    """Before the form parser spools anything: a declared body size the attachments can fit."""
    limit = request.app.state.settings.upload_max_bytes * MAX_FILES_PER_POST + (1 << 20)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"一次提交的附件合计过大（上限 {limit >> 20} MiB），请分次提交。")


def _store_attachments(request: Request, db: Session, actor: Actor,
                       form: FormData) -> tuple[list[str], list[FieldError]]:
    """Store every chosen file; refused files are reported at the field, stored nowhere. The services then check
    each SM3 digest was uploaded by the actor's organisation."""
    chosen = [v for v in form.getlist(ATTACHMENTS) if isinstance(v, UploadFile) and v.filename]
    if len(chosen) > MAX_FILES_PER_POST:
        return [], [FieldError(ATTACHMENTS, "too_many_files", f"一次最多上传 {MAX_FILES_PER_POST} 个附件。")]
    return store_files(request, db, actor, chosen, ATTACHMENTS)


def _file_rows(db: Session, pairs: list[tuple[list[str], int | None]]) -> dict[str, StoredFile]:
    """Name, size and type of attachments by SM3 digest, as uploaded by the organisation that recorded them."""
    out: dict[str, StoredFile] = {}
    for digests, org_id in pairs:
        if not digests:
            continue
        for row in db.scalars(select(StoredFile).where(StoredFile.digest.in_(digests),
                                                       StoredFile.organisation_id == org_id)
                              .order_by(StoredFile.id)):
            out.setdefault(row.digest, row)
    return out


def _size(n: int) -> str:
    return f"{n} B" if n < 1024 else (f"{n / 1024:.1f} KB" if n < 1 << 20 else f"{n / (1 << 20):.1f} MB")


def _download(request: Request, files: dict[str, StoredFile], digest: str) -> Response:
    """An attachment of an object the caller may read; anything else is reported as missing."""
    row = files.get(digest.lower())
    if row is None:
        raise NotFound("未找到该附件，或您无权查看。", code="file_not_found")
    fh = BlobStore.from_settings(request.app.state.settings).open(row.digest)

    def chunks():  # type: ignore[no-untyped-def]
        with fh:
            yield from iter(lambda: fh.read(1 << 16), b"")

    return StreamingResponse(chunks(), headers={
        "Content-Type": row.media_type, "Content-Length": str(row.size),
        "Content-Disposition": content_disposition(row.filename), "X-Content-SM3": row.digest,
        "Cache-Control": "private, no-store"})


def _products(form: FormData) -> list[dict[str, str]]:
    return [{"name": _s(form, f"product_name_{i}"), "category": _s(form, f"product_category_{i}"),
             "form": _s(form, f"product_form_{i}")} for i in range(PRODUCT_ROWS)]


def _plan_content(form: FormData) -> dict[str, Any]:
    content: dict[str, Any] = {key: _s(form, key) for key, *_ in PLAN_TEXTS}
    content.update(name=_s(form, "name"), mode=_s(form, "mode"), period_years=_s(form, "period_years"))
    content["resources"] = [{"registration_id": rid, "update_frequency": _s(form, f"freq_{rid}"),
                             "quality": _s(form, f"quality_{rid}"), "shared_from_org_id": _s(form, f"shared_{rid}")}
                            for rid in form.getlist("resource")]
    content["products"] = _products(form)
    content["demand_ids"] = list(form.getlist("demand"))
    return content


def _registered(db: Session) -> list[Registration]:
    return list(db.scalars(select(Registration).where(Registration.status == "registered",
                                                      Registration.registration_type == "data_resource")
                           .order_by(Registration.id)))


def _notices(db: Session, actor: Actor, object_type: str | None = None,
             object_ids: list[int] | None = None) -> dict[str, Any]:
    """The written notices shown on a page: only those the caller's organisation received or issued."""
    found = notices.for_org(db, actor=actor, object_type=object_type, object_ids=object_ids)
    return {"notices": found, "notice_orgs": _orgs(db, {n.addressee_org_id for n in found})}


# -- workbench -------------------------------------------------------------------------------------------------


@router.get("/operation")
def workbench(request: Request, db: Db, paging: Paging, actor: Actor = requires(Permission.ACCOUNT_SELF)) -> Response:
    return _workbench(request, db, actor, paging)


def _workbench(request: Request, db: Session, actor: Actor, paging: Paging, **extra: Any) -> Response:
    status = int(extra.pop("status_code", 200))
    can_read = actor.can(Permission.OPERATION_READ.value)
    plan_page = paginate(db, plans.plans_query(db, actor), paging) if can_read else None
    mine = None if can_read else (actor.org_id or 0)
    agreement_list = list(db.scalars(scoped_agreements(db, actor, agreements.agreements_query(operator_org_id=mine))
                                     .limit(50)))
    consent_items = plans.consent_items(db, actor=actor)
    return render(request, "operation_index.html", {
        "plan_page": plan_page, "agreements": agreement_list, "can_read": can_read,
        "queue": plans.waiting_for(db, actor=actor) if can_read else [],
        "consent_items": consent_items, "size": _size, "region_scope": plan_scope(db, actor),
        "consent_files": _file_rows(db, [(x["consent"].attachments, actor.org_id) for x in consent_items
                                         if x["consent"] is not None]),
        "orgs": _orgs(db, {a.operator_org_id for a in agreement_list}),
        "latest": plans.latest, "can_plan": actor.can(Permission.OPERATION_PLAN.value), **VOCAB,
        **_notices(db, actor), "errors": {}, "error": None, "failed": None, **extra}, status_code=status)


# -- plans -----------------------------------------------------------------------------------------------------


def _plan_form(request: Request, db: Session, *, plan: OperationPlan | None, values: dict[str, Any],
               errors: dict[str, str] | None = None, error: DomainError | None = None, status: int = 200) -> Response:
    return render(request, "operation_plan_form.html", {
        "plan": plan, "values": values, "errors": errors or {}, "error": error, "resources": _registered(db),
        "providers": list(db.scalars(select(Organisation).order_by(Organisation.name))),
        "shared": {x["registration_id"]: x for x in plans.consent_states(db, plan, plans.latest(plan).content)}
        if plan is not None else {}, "consent_labels": CONSENT.labels,
        "open_demands": list(db.scalars(demands.demands_query("open").limit(100))), **VOCAB}, status_code=status)


def _values_of(content: dict[str, Any]) -> dict[str, Any]:
    values = {k: v for k, v in content.items() if isinstance(v, str | int) and v is not None}
    values["resource_ids"] = [r["registration_id"] for r in content.get("resources", [])]
    for r in content.get("resources", []):
        values[f"freq_{r['registration_id']}"] = r.get("update_frequency", "")
        values[f"quality_{r['registration_id']}"] = r.get("quality", "")
        values[f"shared_{r['registration_id']}"] = r.get("shared_from_org_id") or ""
    for i, p in enumerate(content.get("products", [])[:PRODUCT_ROWS]):
        values |= {f"product_name_{i}": p["name"], f"product_category_{i}": p["category"], f"product_form_{i}": p["form"]}
    values["demand_ids"] = content.get("demand_ids", [])
    return values


def _form_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    values["resource_ids"] = [int(x) for x in form.getlist("resource") if str(x).isdigit()]
    values["demand_ids"] = [int(x) for x in form.getlist("demand") if str(x).isdigit()]
    return values


@router.get("/operation/plans/new")
def new_plan(request: Request, db: Db, actor: Actor = requires(Permission.OPERATION_PLAN)) -> Response:
    return _plan_form(request, db, plan=None, values={"resource_ids": [], "demand_ids": []})


@router.post("/operation/plans/new", dependencies=[Depends(csrf_protect)])
async def create_plan(request: Request, db: Db, actor: Actor = requires(Permission.OPERATION_PLAN)) -> Response:
    form = await request.form()
    try:
        plan = plans.create_plan(db, actor=actor, content=_plan_content(form))
        db.commit()
    except DomainError as exc:
        _fail(exc, db)
        return _plan_form(request, db, plan=None, values=_form_values(form), errors=_errors(exc), error=exc,
                          status=exc.status)
    return RedirectResponse(f"/operation/plans/{plan.id}?saved=1", status_code=303)


@router.get("/operation/plans/{plan_id}/edit")
def edit_plan(plan_id: int, request: Request, db: Db, actor: Actor = requires(Permission.OPERATION_PLAN)) -> Response:
    plan = plans.get_plan(db, plan_id, actor)
    return _plan_form(request, db, plan=plan, values=_values_of(plans.latest(plan).content) | {"version": plan.version})


@router.post("/operation/plans/{plan_id}/edit", dependencies=[Depends(csrf_protect)])
async def save_plan(plan_id: int, request: Request, db: Db, actor: Actor = requires(Permission.OPERATION_PLAN)) -> Response:
    form = await request.form()
    plan = plans.get_plan(db, plan_id, actor)
    try:
        if _s(form, "change_reason") or plans.latest(plan).state in ("approved", "filed"):
            plans.propose_change(db, actor=actor, plan_id=plan_id, content=_plan_content(form),
                                 reason=_s(form, "change_reason"), version=_int(form, "version"))
        else:
            plans.update_plan(db, actor=actor, plan_id=plan_id, content=_plan_content(form),
                              version=_int(form, "version"))
        db.commit()
    except DomainError as exc:
        _fail(exc, db)
        return _plan_form(request, db, plan=plans.get_plan(db, plan_id), values=_form_values(form),
                          errors=_errors(exc), error=exc, status=exc.status)
    return RedirectResponse(f"/operation/plans/{plan_id}?saved=1", status_code=303)


def _plan_files(db: Session, plan: OperationPlan) -> dict[str, StoredFile]:
    """Attachments of the plan's reviews and filings, and of the consents given for it."""
    pairs = [(r.attachments, r.reviewer_org_id) for x in plan.versions for r in x.reviews]
    pairs += [(c.attachments, c.provider_org_id) for c in plans.consents_of(db, plan.id)]
    return _file_rows(db, pairs)


def _plan_detail(request: Request, db: Session, actor: Actor, plan_id: int, **extra: Any) -> Response:
    plan = plans.get_plan(db, plan_id, actor)
    v = plans.latest(plan)
    current = plans.in_force(plan)
    consents = plans.consents_of(db, plan.id)
    status = int(extra.pop("status_code", 200))
    stage_perm = dict((s, p) for s, p, _ in REVIEW_STAGES)
    review_stage = v.state if v.state in stage_perm and actor.can(stage_perm[v.state].value) else None
    regs = {r.id: r for r in _registered(db)} | {
        r.id: r for r in db.scalars(select(Registration).where(Registration.id.in_(
            [x["registration_id"] for x in v.content.get("resources", [])])))}
    return render(request, "operation_plan.html", {
        "plan": plan, "v": v, "in_force": current, "review_stage": review_stage,
        "regs": regs, "orgs": _orgs(db, {r.reviewer_org_id for x in plan.versions for r in x.reviews
                                         if r.reviewer_org_id} | {plan.owner_org_id}
                                    | {r.get("shared_from_org_id") for r in v.content.get("resources", [])
                                       if r.get("shared_from_org_id")} | {c.provider_org_id for c in consents}),
        "shared": {x["registration_id"]: x for x in plans.consent_states(db, plan, v.content)},
        "in_force_unconsented": [regs.get(rid) or rid for rid in plans.withdrawn_resources(db, plan, current)],
        "consents": consents, "files": _plan_files(db, plan), "size": _size,
        "is_owner": actor.org_id == plan.owner_org_id and actor.can(Permission.OPERATION_PLAN.value),
        "can_file": actor.can(Permission.OPERATION_FILE.value) and v.state == "approved",
        "can_select": actor.can(Permission.OPERATION_SELECT.value) and plan.in_force_version_no is not None,
        "selections": selection.selections_for_plan(db, plan.id),
        "events": history(db, object_type="operation_plan", object_id=plan.id),
        **_notices(db, actor, "operation_plan", [plan.id]),
        "values": {}, "errors": {}, **VOCAB, **extra}, status_code=status)


@router.get("/operation/plans/{plan_id}")
def plan_detail(plan_id: int, request: Request, db: Db, actor: Actor = requires(Permission.OPERATION_READ)) -> Response:
    return _plan_detail(request, db, actor, plan_id)


def _plan_action(db: Session, actor: Actor, plan_id: int, form: FormData, files: list[str]) -> str:
    action, version = _s(form, "action"), _int(form, "version")
    if action == "submit":
        plans.submit_plan(db, actor=actor, plan_id=plan_id, version=version)
    elif action == "review":
        experts = [{"name": _s(form, f"expert_name_{i}"), "unit": _s(form, f"expert_unit_{i}"),
                    "opinion": _s(form, f"expert_opinion_{i}")} for i in range(3)]
        plans.review_plan(db, actor=actor, plan_id=plan_id, stage=_s(form, "stage"), outcome=_s(form, "outcome"),
                          opinion=_s(form, "opinion"), version=version, attachments=files,
                          details={"experts": experts, "decision_ref": _s(form, "decision_ref"),
                                   "meeting": _s(form, "meeting")})
    elif action == "file":
        plans.file_plan(db, actor=actor, plan_id=plan_id, filed_with=_s(form, "filed_with"),
                        filing_ref=_s(form, "filing_ref"), attachments=files, version=version)
    elif action == "withdraw":
        plans.withdraw_plan(db, actor=actor, plan_id=plan_id, reason=_s(form, "reason"), version=version)
    elif action == "open_selection":
        sel = selection.open_selection(db, actor=actor, plan_id=plan_id, method=_s(form, "method"),
                                       announcement=_s(form, "announcement"))
        db.flush()
        return f"/operation/selections/{sel.id}"
    elif action == "consent":
        plans.grant_consent(db, actor=actor, plan_id=plan_id, registration_id=_int(form, "registration_id") or 0,
                            conditions=_s(form, "conditions"), attachments=files)
        return "/operation?consented=1"
    elif action == "withdraw_consent":
        plans.withdraw_consent(db, actor=actor, consent_id=_int(form, "consent_id") or 0,
                               reason=_s(form, "withdrawal_reason"))
        return "/operation?withdrawn=1"
    else:
        raise ValidationFailed.single("action", "unknown_action", "未知的操作。")
    return f"/operation/plans/{plan_id}?done={action}"


UPLOAD_FORM = [Depends(_bounded_upload), Depends(csrf_protect)]


@router.post("/operation/plans/{plan_id}", dependencies=UPLOAD_FORM)
async def plan_act(plan_id: int, request: Request, db: Db,
                   actor: Actor = requires_any(*common.PLAN_ACTORS)) -> Response:
    form = await request.form()
    try:
        files, upload_errors = _store_attachments(request, db, actor, form)
        if upload_errors:
            raise ValidationFailed(upload_errors)
        target = _plan_action(db, actor, plan_id, form, files)
        db.commit()
    except DomainError as exc:
        _fail(exc, db)
        if _s(form, "action") in ("consent", "withdraw_consent"):  # those forms are on the workbench
            return _workbench(request, db, actor, PageRequest(1, 20), error=exc, errors=_errors(exc),
                              status_code=exc.status, failed=(plan_id, _int(form, "registration_id"),
                                                              _int(form, "consent_id")))
        if not actor.can(Permission.OPERATION_READ.value):
            raise
        return _plan_detail(request, db, actor, plan_id, values=_form_values(form), errors=_errors(exc), error=exc,
                            status_code=exc.status)
    return RedirectResponse(target, status_code=303)


@router.get("/operation/plans/{plan_id}/files/{digest}")
def plan_file(plan_id: int, digest: str, request: Request, db: Db,
              actor: Actor = requires(Permission.OPERATION_READ)) -> Response:
    return _download(request, _plan_files(db, plans.get_plan(db, plan_id, actor)), digest)


# -- selection -------------------------------------------------------------------------------------------------


def _selection_files(db: Session, sel: Any) -> dict[str, StoredFile]:
    return _file_rows(db, [(c.qualifications.get("attachments", []), sel.agency_org_id) for c in sel.candidates])


def _selection_detail(request: Request, db: Session, actor: Actor, selection_id: int, **extra: Any) -> Response:
    sel = selection.get_selection(db, selection_id)
    plan = plans.get_plan(db, sel.plan_id, actor)
    status = int(extra.pop("status_code", 200))
    past = {c.org_id: evaluations.for_operator(db, c.org_id) for c in sel.candidates}
    candidates_orgs = list(db.scalars(select(Organisation).order_by(Organisation.name)))
    return render(request, "operation_selection.html", {
        "sel": sel, "plan": plan, "past": past, "all_orgs": candidates_orgs,
        "files": _selection_files(db, sel), "size": _size,
        "orgs": {o.id: o for o in candidates_orgs}, "selected_org_id": selection.selected_org_id(sel),
        "agreements": list(db.scalars(select(Agreement).where(Agreement.selection_id == sel.id))),
        "can_act": actor.can(Permission.OPERATION_SELECT.value) and actor.org_id == sel.agency_org_id,
        **_notices(db, actor, "operation_selection", [sel.id]),
        "values": {}, "errors": {}, **VOCAB, **extra}, status_code=status)


@router.get("/operation/selections/{selection_id}")
def selection_detail(selection_id: int, request: Request, db: Db,
                     actor: Actor = requires(Permission.OPERATION_READ)) -> Response:
    return _selection_detail(request, db, actor, selection_id)


@router.post("/operation/selections/{selection_id}", dependencies=UPLOAD_FORM)
async def selection_act(selection_id: int, request: Request, db: Db,
                        actor: Actor = requires(Permission.OPERATION_SELECT)) -> Response:
    form = await request.form()
    action = _s(form, "action")
    try:
        files, upload_errors = _store_attachments(request, db, actor, form)
        if upload_errors:
            raise ValidationFailed(upload_errors)
        if action == "candidate":
            selection.add_candidate(db, actor=actor, selection_id=selection_id, org_id=_int(form, "org_id") or 0,
                                    qualifications={k: _s(form, k) for k, _ in selection.QUALIFICATIONS},
                                    attachments=files)
        elif action == "evaluate":
            selection.evaluate_candidate(db, actor=actor, selection_id=selection_id,
                                         candidate_id=_int(form, "candidate_id") or 0, score=_int(form, "score"),
                                         evaluation=_s(form, "evaluation"))
        elif action == "decide":
            selection.decide(db, actor=actor, selection_id=selection_id, candidate_id=_int(form, "candidate_id") or 0,
                             decision=_s(form, "decision"), version=_int(form, "version"))
        elif action == "cancel":
            selection.cancel(db, actor=actor, selection_id=selection_id, reason=_s(form, "reason"),
                             version=_int(form, "version"))
        else:
            raise ValidationFailed.single("action", "unknown_action", "未知的操作。")
        db.commit()
    except DomainError as exc:
        _fail(exc, db)
        return _selection_detail(request, db, actor, selection_id, values=_form_values(form), errors=_errors(exc),
                                 error=exc, status_code=exc.status)
    return RedirectResponse(f"/operation/selections/{selection_id}?done={action}", status_code=303)


@router.get("/operation/selections/{selection_id}/files/{digest}")
def selection_file(selection_id: int, digest: str, request: Request, db: Db,
                   actor: Actor = requires(Permission.OPERATION_READ)) -> Response:
    sel = selection.get_selection(db, selection_id)
    plans.get_plan(db, sel.plan_id, actor)
    return _download(request, _selection_files(db, sel), digest)


# -- agreements ------------------------------------------------------------------------------------------------


def _agreement_fields(form: FormData) -> dict[str, Any]:
    content: dict[str, Any] = {key: _s(form, key) for key, *_ in AGREEMENT_TEXTS}
    content["resource_ids"] = list(form.getlist("resource"))
    content["products"] = _products(form)
    return {"title": _s(form, "title"), "content": content, "start_date": _date(form, "start_date"),
            "end_date": _date(form, "end_date"), "term_exception_reason": _s(form, "term_exception_reason"),
            "term_exception_approver": _s(form, "term_exception_approver")}


def _agreement_form(request: Request, db: Session, sel_id: int, values: dict[str, Any], **extra: Any) -> Response:
    sel = selection.get_selection(db, sel_id)
    plan = plans.get_plan(db, sel.plan_id)
    current = plans.in_force(plan)
    ids = [r["registration_id"] for r in (current.content.get("resources", []) if current else [])]
    status = int(extra.pop("status_code", 200))
    return render(request, "operation_agreement_form.html", {
        "sel": sel, "plan": plan, "values": values, "errors": {}, "error": None,
        "resources": list(db.scalars(select(Registration).where(Registration.id.in_(ids)))) if ids else [],
        "unconsented": plans.withdrawn_resources(db, plan, current),
        "operator": db.get(Organisation, selection.selected_org_id(sel) or 0), **VOCAB, **extra}, status_code=status)


@router.get("/operation/selections/{selection_id}/agreement")
def new_agreement(selection_id: int, request: Request, db: Db,
                  actor: Actor = requires(Permission.OPERATION_SELECT)) -> Response:
    today = clock.today()
    plan = plans.get_plan(db, selection.get_selection(db, selection_id).plan_id)
    current = plans.in_force(plan)
    unconsented = plans.withdrawn_resources(db, plan, current)  # not offered by default (OPS-12)
    values = {"title": f"{plan.title}协议", "start_date": today.isoformat(),
              "end_date": (today.replace(year=today.year + 3) - dt.timedelta(days=1)).isoformat(),
              "resource_ids": [r["registration_id"] for r in current.content.get("resources", [])
                               if r["registration_id"] not in unconsented] if current else []}
    values |= {k: v for k, v in _values_of(current.content if current else {}).items() if k.startswith("product_")}
    return _agreement_form(request, db, selection_id, values)


@router.post("/operation/selections/{selection_id}/agreement", dependencies=[Depends(csrf_protect)])
async def create_agreement(selection_id: int, request: Request, db: Db,
                           actor: Actor = requires(Permission.OPERATION_SELECT)) -> Response:
    form = await request.form()
    try:
        a = agreements.draft_agreement(db, actor=actor, selection_id=selection_id, **_agreement_fields(form))
        db.commit()
    except DomainError as exc:
        _fail(exc, db)
        values = _form_values(form)
        return _agreement_form(request, db, selection_id, values, errors=_errors(exc), error=exc,
                               status_code=exc.status)
    return RedirectResponse(f"/operation/agreements/{a.id}?saved=1", status_code=303)


def _visible_agreement(db: Session, actor: Actor, agreement_id: int) -> Agreement:
    a = agreements.get_agreement(db, agreement_id)
    if not actor.can(Permission.OPERATION_READ.value) and actor.org_id != a.operator_org_id:
        raise NotFound("授权运营协议不存在。")
    require_agreement_region(db, actor, a)
    return a


def _agreement_files(db: Session, a: Agreement) -> dict[str, StoredFile]:
    rows = _file_rows(db, [(m.attachments, m.ordered_by_org_id) for m in measures.measures_for(db, agreement_id=a.id)])
    # The filing was recorded by a data authority; its user's organisation uploaded the materials.
    filer = db.scalar(select(StoredFile.organisation_id).where(StoredFile.digest.in_(a.filing_attachments or [""]))
                      .order_by(StoredFile.id).limit(1))
    return rows | _file_rows(db, [(a.filing_attachments or [], filer)])


def _agreement_detail(request: Request, db: Session, actor: Actor, agreement_id: int, **extra: Any) -> Response:
    a = _visible_agreement(db, actor, agreement_id)
    status = int(extra.pop("status_code", 200))
    scope = {r.id: r for r in db.scalars(select(Registration).where(
        Registration.id.in_(a.content.get("resource_ids", []) or [0])))}
    taken = measures.measures_for(db, agreement_id=a.id)
    return render(request, "operation_agreement.html", {
        "a": a, "scope": scope, "orgs": _orgs(db, {a.operator_org_id, a.agency_org_id}),
        "measures": taken, "evaluations": evaluations.for_agreement(db, a.id),
        **_notices(db, actor, "operation_measure", [m.id for m in taken]),
        "is_agency": actor.org_id == a.agency_org_id and actor.can(Permission.OPERATION_SELECT.value),
        "is_operator": actor.org_id == a.operator_org_id and actor.can(Permission.OPERATION_OPERATE.value),
        "can_file": actor.can(Permission.OPERATION_FILE.value),
        "can_supervise": actor.can(Permission.OPERATION_SUPERVISE.value),
        "can_terminate": actor.can(Permission.OPERATION_TERMINATE.value) and actor.org_id == a.agency_org_id,
        "can_evaluate": actor.can(Permission.OPERATION_EVALUATE.value),
        "events": history(db, object_type="operation_agreement", object_id=a.id), "today": clock.today(),
        "files": _agreement_files(db, a), "size": _size,
        "values": {}, "errors": {}, **VOCAB, **extra}, status_code=status)


@router.get("/operation/agreements/{agreement_id}")
def agreement_detail(agreement_id: int, request: Request, db: Db,
                     actor: Actor = requires(Permission.ACCOUNT_SELF)) -> Response:
    return _agreement_detail(request, db, actor, agreement_id)


def _agreement_action(db: Session, actor: Actor, agreement_id: int, form: FormData, files: list[str]) -> None:
    action, version = _s(form, "action"), _int(form, "version")
    mid = _int(form, "measure_id") or 0
    acts: dict[str, Callable[[], object]] = {
        "sign_agency": lambda: agreements.sign_agency(db, actor=actor, agreement_id=agreement_id,
                                                      decision_ref=_s(form, "decision_ref"), version=version),
        "sign_operator": lambda: agreements.sign_operator(db, actor=actor, agreement_id=agreement_id, version=version),
        "file": lambda: agreements.file_agreement(db, actor=actor, agreement_id=agreement_id,
                                                  filing_ref=_s(form, "filing_ref"), attachments=files,
                                                  version=version),
        "cancel": lambda: agreements.cancel_agreement(db, actor=actor, agreement_id=agreement_id,
                                                      reason=_s(form, "reason"), version=version),
        "rectification": lambda: measures.order_rectification(db, actor=actor, agreement_id=agreement_id,
                                                               facts=_s(form, "facts"), deadline=_date(form, "deadline"),
                                                               attachments=files),
        "suspension": lambda: measures.suspend(db, actor=actor, agreement_id=agreement_id, facts=_s(form, "facts"),
                                               attachments=files),
        "terminate": lambda: measures.terminate(db, actor=actor, agreement_id=agreement_id, ground=_s(form, "ground"),
                                                reason=_s(form, "reason"), version=version),
        "report": lambda: measures.report_rectification(db, actor=actor, measure_id=mid, response=_s(form, "note")),
        "accept": lambda: measures.decide_rectification(db, actor=actor, measure_id=mid, accept=True,
                                                        note=_s(form, "note")),
        "reject": lambda: measures.decide_rectification(db, actor=actor, measure_id=mid, accept=False,
                                                        note=_s(form, "note")),
        "lift": lambda: measures.lift(db, actor=actor, measure_id=mid, note=_s(form, "note")),
        "evaluate": lambda: evaluations.record_evaluation(
            db, actor=actor, agreement_id=agreement_id, period_start=_date(form, "period_start"),
            period_end=_date(form, "period_end"), grade=_s(form, "grade"), score=_int(form, "score"),
            comments=_s(form, "comments"), evaluator=_s(form, "evaluator")),
    }
    if action not in acts:
        raise ValidationFailed.single("action", "unknown_action", "未知的操作。")
    acts[action]()


@router.post("/operation/agreements/{agreement_id}", dependencies=UPLOAD_FORM)
async def agreement_act(agreement_id: int, request: Request, db: Db,
                        actor: Actor = requires_any(*common.AGREEMENT_ACTORS)) -> Response:
    form = await request.form()
    try:
        files, upload_errors = _store_attachments(request, db, actor, form)
        if upload_errors:
            raise ValidationFailed(upload_errors)
        _agreement_action(db, actor, agreement_id, form, files)
        db.commit()
    except DomainError as exc:
        _fail(exc, db)
        return _agreement_detail(request, db, actor, agreement_id, values=_form_values(form), errors=_errors(exc),
                                 error=exc, status_code=exc.status)
    return RedirectResponse(f"/operation/agreements/{agreement_id}?done={_s(form, 'action')}", status_code=303)


@router.get("/operation/agreements/{agreement_id}/files/{digest}")
def agreement_file(agreement_id: int, digest: str, request: Request, db: Db,
                   actor: Actor = requires(Permission.ACCOUNT_SELF)) -> Response:
    return _download(request, _agreement_files(db, _visible_agreement(db, actor, agreement_id)), digest)


# -- public: disclosure and demands (OPS-32, OPS-15) -----------------------------------------------------------


@router.get("/public/authorizations")
def public_authorizations(request: Request, db: Db, actor: Actor = public()) -> Response:
    return render(request, "operation_public.html", {"items": disclosure.authorizations(db),
                                                     "year": clock.today().year - 1})


@router.get("/public/authorizations/report")
def public_report(request: Request, db: Db, year: int | None = None, actor: Actor = public()) -> Response:
    chosen = year if year and 2020 <= year <= 2100 else clock.today().year - 1
    report = disclosure.annual_report(db, year=chosen)
    return render(request, "operation_report.html", {"report": report, "r": dataclasses.asdict(report),
                                                     "kinds": MEASURE_KINDS})


@router.get("/public/demands/new")
def demand_form(request: Request, actor: Actor = public()) -> Response:
    return render(request, "operation_demand.html", {"values": {}, "errors": {}})


@router.post("/public/demands/new", dependencies=[Depends(csrf_protect)])
async def demand_submit(request: Request, db: Db, actor: Actor = public()) -> Response:
    form = await request.form()
    keys = ("title", "scenario", "data_needed", "expected_product", "contact_name", "contact")
    values = {k: _s(form, k) for k in keys}
    try:
        demands.submit_demand(db, actor=actor, **values)
        db.commit()
    except DomainError as exc:
        db.rollback()
        return render(request, "operation_demand.html", {"values": values, "errors": _errors(exc), "error": exc},
                      status_code=exc.status)
    return RedirectResponse("/public/demands/new?sent=1", status_code=303)
