"""登记机构工作台：待办队列、申请审查、决定、补正通知、异议."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from pubdata.audit import Actor
from pubdata.audit.service import history
from pubdata.errors import DomainError
from pubdata.files.service import store_upload
from pubdata.files.store import human_size, too_large
from pubdata.identity.models import Organisation
from pubdata.identity.permissions import Permission
from pubdata.objections import service as objections
from pubdata.registry import applications, vocab
from pubdata.registry import workbench as wb
from pubdata.registry.models import Application, Registration
from pubdata.registry.workflow import ACTION_LABELS, KIND_LABELS, STATE_LABELS, Kind
from pubdata.web.deps import Db, csrf_protect, requires
from pubdata.web.paging import Paging, page_of
from pubdata.web.templating import render

router = APIRouter(include_in_schema=False)

#: Audit tags that are not state-machine actions, in words (the rest use the workflow's action labels).
EVENT_LABELS = {
    "created": "创建申请", "draft_saved": "保存草稿", "deadlines_recomputed": "期限按新导入的工作日安排重算",
    "notice_issued": "发出通知书", "certified": "公示期满发证", "appraised": "记录技术鉴定",
    "raised": "提出异议", "referred": "转协商、仲裁或诉讼", "upheld": "认定异议成立", "dismissed": "认定异议不成立",
    "withdrawn": "撤回异议",
}
#: Type-specific details of change, correction and cancellation applications (REG-25).
DETAIL_LABELS = {"ground": "注销情形", "certificate_number": "原登记凭证编号", "change_reason": "变更事项及原因",
                 "correction_items": "须更正的事项及正确内容"}
#: The tab an application's state lives in, for the way back from its page.
STATE_TAB = {"submitted": "accept", "under_review": "review", "in_notice": "notice"}


def event_label(tag: str) -> str:
    action = tag.rsplit(":", 1)[-1]
    return EVENT_LABELS.get(action) or ACTION_LABELS.get(action) or tag


def _text(form: FormData, name: str, limit: int = 4000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _version(form: FormData) -> int | None:
    raw = _text(form, "version", 12)
    return int(raw) if raw.isdigit() else None


def _field_errors(exc: DomainError) -> dict[str, str]:
    return {e.field: e.message for e in exc.errors}


# -- the queue ------------------------------------------------------------------------------------------------


@router.get("/institution/queue")
def queue(request: Request, db: Db, paging: Paging, tab: str = Query("accept", max_length=20),
          kind: str = Query("", max_length=20), registration_type: str = Query("", alias="type", max_length=20),
          q: str = Query("", max_length=100), actor: Actor = requires(Permission.ORG_VERIFY)) -> Response:
    tab = tab if tab in wb.TABS else "accept"
    filters = wb.Filters.of(kind, registration_type, q)
    tabs = wb.application_rows(db, actor=actor, filters=filters)
    objection_list = wb.objection_rows(db, actor=actor, filters=filters)
    counts = {t: len(rows) for t, rows in tabs.items()} | {"objections": len(objection_list)}
    rows: list[Any] = objection_list if tab == "objections" else tabs[tab]
    return render(request, "institution_queue.html", {
        "tab": tab, "tabs": wb.TABS, "counts": counts, "page": page_of(rows, paging), "filters": filters,
        "kinds": KIND_LABELS, "types": vocab.items("registration_type"), "states": STATE_LABELS,
        "claims": objections.CLAIMS, "objection_states": objections.MACHINE.labels,
    })


# -- one application --------------------------------------------------------------------------------------------


def _application_page(request: Request, db: Db, actor: Actor, application_id: int, *, status_code: int = 200,
                      **extra: Any) -> Response:
    app = applications.view_application(db, actor=actor, application_id=application_id)
    reg: Registration = app.registration
    orgs = {o.id: o for o in db.query(Organisation).filter(
        Organisation.id.in_({reg.subject_org_id, app.filed_by_org_id, *app.joint_org_ids}))}
    actions = wb.institution_actions(app)
    context = {
        "app": app, "reg": reg, "orgs": orgs, "kind_label": KIND_LABELS[Kind(app.kind)],
        "state_label": STATE_LABELS[app.state], "back_tab": STATE_TAB.get(app.state, "accept"),
        "countdown": wb.application_countdown(db, app),
        "deadlines": _deadlines(db, app),
        "sections": wb.content_sections(app.content, reg.registration_type),
        "materials": wb.materials(db, actor=actor, app=app),
        "attachments": wb.form_attachments(db, actor=actor, app=app),
        "warnings": wb.duplicate_warnings(db, app),
        "events": history(db, object_type="application", object_id=app.id), "event_label": event_label,
        "others": [a for a in db.query(Application).filter(Application.registration_id == reg.id)
                   .order_by(Application.id) if a.id != app.id],
        "actions": actions, "action_labels": ACTION_LABELS, "states": STATE_LABELS, "kinds": KIND_LABELS,
        "templates": wb.REASON_TEMPLATES, "grounds": vocab.items("refusal_ground"),
        "details_labels": DETAIL_LABELS,
        "vocab_label": vocab.label,
        "can_supplement": "request_supplement" in actions and app.supplement_rounds == 0,
        "candidates": wb.supplement_groups(app) if "request_supplement" in actions else [],
        "defects": wb.SUPPLEMENT_DEFECTS, "extra_rows": range(wb.EXTRA_ROWS),
        "draft": wb.SupplementDraft(), "failed": "", "values": {}, "errors": {}, "error": None,
        "preview": None, "done": request.query_params.get("done", ""), "human_size": human_size,
    }
    context.update(extra)
    return render(request, "institution_application.html", context, status_code=status_code)


def _deadlines(db: Db, app: Application) -> list[tuple[str, Any, wb.Countdown | None, bool]]:
    """(label, date, countdown for the one still running) for every date of the procedure."""
    current = wb.DUE_FIELD.get(app.state)
    rows = []
    for field, label in (("received_on", "收到申请日"), ("acceptance_due", "受理期限（第二十六条）"),
                         ("accepted_on", "受理日"),
                         ("review_due", "注销完成期限（第二十五条第四项）" if app.kind == Kind.CANCELLATION
                          else "审查期限（第二十七条）"),
                         ("notice_start", "公示开始日"), ("notice_end", "公示期满日（第二十八条）"),
                         ("decided_on", "办结日")):
        value = getattr(app, field)
        if value is None:
            continue
        running = wb.countdown(db, value, provisional=field in (app.provisional_dates or []),
                               ends_period=field == "notice_end") if field == current else None
        rows.append((label, value, running, field in (app.provisional_dates or [])))
    return rows


@router.get("/institution/applications/{application_id}")
def application_detail(application_id: int, request: Request, db: Db,
                       actor: Actor = requires(Permission.ORG_VERIFY)) -> Response:
    return _application_page(request, db, actor, application_id)


@router.post("/institution/applications/{application_id}/decide", dependencies=[Depends(csrf_protect)])
async def application_decide(application_id: int, request: Request, db: Db,
                             actor: Actor = requires(Permission.ORG_VERIFY)) -> Response:
    form = await request.form()
    action = _text(form, "action", 30)
    values = {"reasons": _text(form, "reasons"), "template": _text(form, "template", 40),
              "ground": _text(form, "ground", 30)}
    try:
        if _text(form, "op", 20) == "template":  # no JavaScript: put the standard reason into the text to edit
            values["reasons"] = wb.with_template(action, values["template"], values["reasons"])
            values["template"] = ""
            return _application_page(request, db, actor, application_id, failed=action, values=values)
        wb.decide(db, actor=actor, application_id=application_id, action=action, version=_version(form), **values)
        db.commit()
    except DomainError as exc:
        db.rollback()
        return _application_page(request, db, actor, application_id, status_code=exc.status, failed=action,
                                  values=values, errors=_field_errors(exc), error=exc)
    return RedirectResponse(f"/institution/applications/{application_id}?done={action}", status_code=303)


def _draft(form: FormData) -> wb.SupplementDraft:
    picks = tuple(v[:200] for v in form.getlist("pick") if isinstance(v, str))
    return wb.SupplementDraft(
        picks=picks,
        defects={k: _text(form, f"defect.{k}", 30) for k in picks},
        notes={k: _text(form, f"note.{k}", 1000) for k in picks},
        extras=tuple((_text(form, f"extra_item.{n}", 500), _text(form, f"extra_note.{n}", 1000))
                     for n in range(wb.EXTRA_ROWS)),
    )


@router.post("/institution/applications/{application_id}/supplement", dependencies=[Depends(csrf_protect)])
async def application_supplement(application_id: int, request: Request, db: Db,
                                 actor: Actor = requires(Permission.ORG_VERIFY)) -> Response:
    """The one-time supplement notice (REG-26): preview first, then send; the service refuses a second one."""
    form = await request.form()
    draft = _draft(form)
    try:
        if _text(form, "op", 20) != "send":
            app = applications.view_application(db, actor=actor, application_id=application_id)
            applications.check_supplement_allowed(app)
            items = wb.supplement_items(app, draft)
            return _application_page(request, db, actor, application_id, draft=draft, preview=items,
                                     failed="request_supplement")
        wb.send_supplement(db, actor=actor, application_id=application_id, draft=draft, version=_version(form))
        db.commit()
    except DomainError as exc:
        db.rollback()
        return _application_page(request, db, actor, application_id, status_code=exc.status, draft=draft,
                                 failed="request_supplement", errors=_field_errors(exc), error=exc)
    return RedirectResponse(f"/institution/applications/{application_id}?done=request_supplement", status_code=303)


# -- objections (REG-31..33) ----------------------------------------------------------------------------------

OBJECTION_DECISIONS = ("uphold", "dismiss")
OBJECTION_FILTERS = {"open": ("open", "referred"), "closed": ("upheld", "dismissed", "withdrawn"),
                     "all": ("open", "referred", "upheld", "dismissed", "withdrawn")}


@router.get("/institution/objections")
def objection_list(request: Request, db: Db, paging: Paging, state: str = Query("open", max_length=10),
                   q: str = Query("", max_length=100), actor: Actor = requires(Permission.ORG_VERIFY)) -> Response:
    state = state if state in OBJECTION_FILTERS else "open"
    filters = wb.Filters.of("", "", q)
    rows = wb.objection_rows(db, actor=actor, filters=filters, states=OBJECTION_FILTERS[state])
    return render(request, "institution_objections.html", {
        "page": page_of(rows, paging), "state": state, "filters": filters, "claims": objections.CLAIMS,
        "labels": objections.MACHINE.labels,
    })


def _objection_page(request: Request, db: Db, actor: Actor, objection_id: int, *, status_code: int = 200,
                    **extra: Any) -> Response:
    obj = objections.view_objection(db, actor=actor, objection_id=objection_id)
    reg = db.get(Registration, obj.registration_id)
    app = db.get(Application, obj.application_id) if obj.application_id else None
    context = {
        "obj": obj, "reg": reg, "app": app,
        "subject": db.get(Organisation, reg.subject_org_id) if reg else None,
        "objector_org": db.get(Organisation, obj.objector_org_id) if obj.objector_org_id else None,
        "countdown": wb.countdown(db, app.notice_end, ends_period=True)
        if app is not None and obj.phase == "notice" and obj.state in objections.UNRESOLVED else None,
        "evidence": [(d, wb.file_meta(db, actor, d)) for d in obj.evidence],
        "report": wb.file_meta(db, actor, (obj.appraisal or {}).get("report")),
        "outcome_file": wb.file_meta(db, actor, (obj.outcome or {}).get("document")),
        "notices": objections.notices_of(db, obj.id),
        "events": history(db, object_type="objection", object_id=obj.id), "event_label": event_label,
        "actions": objections.MACHINE.allowed_actions(obj.state), "labels": objections.MACHINE.labels,
        "claims": objections.CLAIMS, "venues": objections.VENUES, "templates": wb.REASON_TEMPLATES,
        "unresolved": obj.state in objections.UNRESOLVED, "decisions": OBJECTION_DECISIONS,
        "failed": "", "values": {}, "errors": {}, "error": None, "done": request.query_params.get("done", ""),
        "human_size": human_size,
    }
    context.update(extra)
    return render(request, "institution_objection.html", context, status_code=status_code)


@router.get("/institution/objections/{objection_id}")
def objection_detail(objection_id: int, request: Request, db: Db,
                     actor: Actor = requires(Permission.ORG_VERIFY)) -> Response:
    return _objection_page(request, db, actor, objection_id)


def _bounded(request: Request) -> None:
    """A form with a file: refused unread when it declares more than one attachment can hold."""
    declared = request.headers.get("content-length", "")
    limit = request.app.state.settings.upload_max_bytes
    if declared.isdigit() and int(declared) > limit + (1 << 20):
        raise too_large("file", limit)


def _upload(request: Request, db: Db, actor: Actor, form: FormData, name: str) -> str | None:
    """Store the form's file ``name`` (if one was chosen) and return its SM3 digest."""
    upload = form.get(name)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    stored = store_upload(db, actor=actor, stream=upload.file, filename=upload.filename,
                          declared_type=upload.content_type, settings=request.app.state.settings, field=name)
    return stored.digest


async def _objection_step(request: Request, db: Db, actor: Actor, objection_id: int, step: str,
                          run: Any, fields: tuple[str, ...]) -> Response:
    form = await request.form()
    values = {k: _text(form, k) for k in fields}
    try:
        run(form, values)
        db.commit()
    except DomainError as exc:
        db.rollback()
        return _objection_page(request, db, actor, objection_id, status_code=exc.status, failed=step, values=values,
                               errors=_field_errors(exc), error=exc)
    return RedirectResponse(f"/institution/objections/{objection_id}?done={step}", status_code=303)


@router.post("/institution/objections/{objection_id}/appraisal",
             dependencies=[Depends(_bounded), Depends(csrf_protect)])
async def objection_appraisal(objection_id: int, request: Request, db: Db,
                              actor: Actor = requires(Permission.ORG_VERIFY)) -> Response:
    def run(form: FormData, values: dict[str, str]) -> None:
        objections.record_appraisal(db, actor=actor, objection_id=objection_id, appraiser=values["appraiser"],
                                    conclusion=values["conclusion"], version=_version(form),
                                    report=_upload(request, db, actor, form, "report"))

    return await _objection_step(request, db, actor, objection_id, "appraisal", run, ("appraiser", "conclusion"))


@router.post("/institution/objections/{objection_id}/refer", dependencies=[Depends(csrf_protect)])
async def objection_refer(objection_id: int, request: Request, db: Db,
                          actor: Actor = requires(Permission.ORG_VERIFY)) -> Response:
    def run(form: FormData, values: dict[str, str]) -> None:
        objections.refer(db, actor=actor, objection_id=objection_id, venue=values["venue"], note=values["note"],
                         version=_version(form))

    return await _objection_step(request, db, actor, objection_id, "refer", run, ("venue", "note"))


@router.post("/institution/objections/{objection_id}/decide", dependencies=[Depends(_bounded), Depends(csrf_protect)])
async def objection_decide(objection_id: int, request: Request, db: Db,
                           actor: Actor = requires(Permission.ORG_VERIFY)) -> Response:
    """Uphold or dismiss (REG-32/33), each its own form with its standard reasons."""
    form = await request.form()
    action = _text(form, "action", 20)
    step = action if action in OBJECTION_DECISIONS else "decide"
    if _text(form, "op", 20) == "template":  # no JavaScript: the standard reason goes into the text to edit
        values = {"reasons": _text(form, "reasons")}
        try:
            values["reasons"] = wb.with_template(step, _text(form, "template", 40), values["reasons"])
        except DomainError as exc:
            return _objection_page(request, db, actor, objection_id, status_code=exc.status, failed=step,
                                   values=values, errors=_field_errors(exc), error=exc)
        return _objection_page(request, db, actor, objection_id, failed=step, values=values)

    def run(form: FormData, values: dict[str, str]) -> None:
        reasons = wb.with_template(step, values["template"], values["reasons"])
        objections.decide(db, actor=actor, objection_id=objection_id, action=action, reasons=reasons,
                          outcome_document=_upload(request, db, actor, form, "outcome_document"),
                          version=_version(form))

    return await _objection_step(request, db, actor, objection_id, step, run, ("reasons", "template"))
