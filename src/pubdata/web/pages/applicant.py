"""登记主体（及代理机构）的申请工作区: my applications, the registration form (REG-6..15) with its REG-25
materials, an application's progress and notices, my registered records, and my registration obligations.

Every page calls the registry services; the form is ``registry.form_view`` over ``registry.form``.
Attachments are stored (and committed) before the draft is saved, so a refused draft never loses a file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from pubdata import clock
from pubdata.audit import Actor
from pubdata.audit.service import history
from pubdata.errors import Conflict, DomainError, FieldError, NotFound, PermissionDenied, ValidationFailed
from pubdata.files.models import StoredFile
from pubdata.files.service import get_file_meta, store_upload
from pubdata.identity import organisations as orgs
from pubdata.identity.models import Organisation
from pubdata.identity.permissions import Permission
from pubdata.identity.roles import Role
from pubdata.registry import applications as svc
from pubdata.registry import form_view as fv
from pubdata.registry import obligations, records, vocab
from pubdata.registry.certificates import current_certificate, renewal_window_opens
from pubdata.registry.form import DIGEST_RE, attachment_digests
from pubdata.registry.models import Application, Registration
from pubdata.registry.workbench import DUE_FIELD, application_countdown, countdown
from pubdata.registry.workflow import ACTION_LABELS, FINAL_STATES, KIND_LABELS, MACHINES, STATE_LABELS, Kind
from pubdata.web.api.certificates import PayloadTooLarge
from pubdata.web.deps import Db, csrf_protect, requires
from pubdata.web.paging import Paging, page_of, paginate
from pubdata.web.templating import render

router = APIRouter(include_in_schema=False)

STATE_BADGES = {"draft": "", "submitted": "badge-pending", "supplement_requested": "badge-pending",
                "under_review": "badge-pending", "in_notice": "badge-pending", "certified": "badge-verified",
                "not_accepted": "badge-rejected", "review_failed": "badge-rejected", "refused": "badge-rejected",
                "withdrawn": "", "cancelled": "badge-rejected"}
REGISTRATION_STATUS = {"pending": "办理中", "registered": "已登记", "not_registered": "未登记", "cancelled": "已注销",
                       "revoked": "已撤销"}
CERTIFICATE_STATUS = {"valid": "有效", "superseded": "已换发", "cancelled": "已注销", "revoked": "已撤销",
                      "expired": "已期满"}
EVENT_LABELS = {"created": "创建草稿", "draft_saved": "保存草稿", "deadlines_recomputed": "按官方日历重新计算期限"}
DEADLINES = (("acceptance_due", "受理期限", "第二十六条：收到申请后 3 个工作日内"),
             ("review_due", "审查期限", "第二十七条：受理后 20 个工作日内"),
             ("notice_end", "公示期满", "第二十八条：公示 10 个工作日"))
#: Several attachments of up to the store's limit each, plus the form's text.
MAX_FILES_PER_POST = 8


def _bounded_upload(request: Request) -> None:
    """Before the form parser spools anything: a declared body size the attachments can fit."""
    limit = request.app.state.settings.upload_max_bytes * MAX_FILES_PER_POST + (1 << 20)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"一次提交的附件合计过大（上限 {limit >> 20} MiB），请分次上传后保存。")


def _org(db: Session, actor: Actor) -> Organisation:
    return orgs.get_organisation(db, org_id=actor.org_id or 0)


def _badge(state: str) -> str:
    return STATE_BADGES.get(state, "")


# -- /applications ------------------------------------------------------------------------------------------


def _own_applications(actor: Actor, state: str, kind: str) -> Any:
    """Applications my organisation filed or that concern it as the subject, newest first (REG-8 agents too)."""
    stmt = (select(Application).join(Registration, Registration.id == Application.registration_id)
            .where(or_(Application.filed_by_org_id == actor.org_id, Registration.subject_org_id == actor.org_id)))
    if state:
        stmt = stmt.where(Application.state == state)
    if kind:
        stmt = stmt.where(Application.kind == kind)
    return stmt.order_by(Application.id.desc())


@router.get("/applications")
def my_applications(request: Request, db: Db, paging: Paging, state: str | None = Query(None, max_length=30),
                    kind: str | None = Query(None, max_length=20),
                    actor: Actor = requires(Permission.DRAFT_WRITE)) -> Response:
    state = state if state in STATE_LABELS else ""
    kind = kind if kind in KIND_LABELS else ""
    page = paginate(db, _own_applications(actor, state, kind), paging)
    rows = [(a, application_countdown(db, a)) for a in page.items]
    return render(request, "applicant_list.html", {
        "org": _org(db, actor), "page": page, "rows": rows, "state": state, "kind": kind,
        "states": STATE_LABELS, "kinds": KIND_LABELS, "badge": _badge,
    })


# -- the form -----------------------------------------------------------------------------------------------


def _acting_as_agent(actor: Actor, app: Application | None, content: Mapping[str, Any] | None) -> bool:
    if app is not None and app.filed_by_org_id != app.registration.subject_org_id:
        return True
    if app is None and Role.AGENT.value in actor.roles:
        return True
    return bool(content and (content.get("agency") or {}).get("is_agent") is True)


def _files(db: Session, actor: Actor, digests: Iterable[str]) -> dict[str, StoredFile]:
    """What the applicant may see of each attachment: name, size, type (by SM3 digest)."""
    out: dict[str, StoredFile] = {}
    for digest in {d for d in digests if isinstance(d, str) and DIGEST_RE.match(d)}:
        try:
            out[digest] = get_file_meta(db, actor=actor, digest=digest)
        except NotFound:
            continue
    return out


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _form_context(db: Session, actor: Actor, *, app: Application | None, kind: str, content: Mapping[str, Any],
                  documents: Mapping[str, Any], details: Mapping[str, Any],
                  errors: list[FieldError] | None = None, error: DomainError | None = None,
                  saved: bool = False) -> dict[str, Any]:
    digests = [d for _, d in attachment_digests(content)] + [v for v in documents.values() if isinstance(v, str)]
    owners = list((content.get("co_ownership") or {}).get("co_owners") or [])
    errs = errors or []
    return {
        "app": app, "kind": kind, "kind_label": KIND_LABELS[Kind(kind)], "content": content, "documents": documents,
        "details": details, "sections": fv.sections(), "co_owner_fields": fv.CO_OWNER_VIEWS,
        "co_owner_rows": [*owners, {}], "co_owners_path": fv.CO_OWNERS,
        "documents_spec": fv.documents_for(kind, agent=_acting_as_agent(actor, app, content)),
        "details_spec": fv.DETAILS.get(kind, ()), "edits_content": kind in fv.EDITS_CONTENT,
        "files": _files(db, actor, digests), "size": _size, "fv": fv, "commitment": fv.COMMITMENT,
        "region_groups": fv.region_groups(), "region_choices": fv.region_choices(),
        "industry_groups": fv.industry_groups(), "errors": fv.ErrorMap.of(errs), "error_list": errs,
        "error": error, "saved": saved, "org": _org(db, actor),
        "action": f"/applications/{app.id}/edit" if app else "/applications/new",
    }


def _render_form(request: Request, db: Session, actor: Actor, *, status_code: int = 200, **ctx: Any) -> Response:
    return render(request, "applicant_form.html", _form_context(db, actor, **ctx), status_code=status_code)


@router.get("/applications/new")
def new_application(request: Request, db: Db, actor: Actor = requires(Permission.DRAFT_WRITE)) -> Response:
    """A first registration (REG-24); change, correction, cancellation and renewal start from the record."""
    return _render_form(request, db, actor, app=None, kind=Kind.FIRST.value, content={}, documents={}, details={})


def _editable(db: Session, actor: Actor, application_id: int) -> Application:
    app = svc.view_application(db, actor=actor, application_id=application_id)
    if actor.org_id not in {app.filed_by_org_id, app.registration.subject_org_id}:
        raise PermissionDenied("只有申请单位可以修改申请。", code="not_applicant")
    return app


@router.get("/applications/{application_id}/edit")
def edit_application(application_id: int, request: Request, db: Db,
                     actor: Actor = requires(Permission.DRAFT_WRITE)) -> Response:
    app = _editable(db, actor, application_id)
    if app.state not in svc.EDITABLE:
        return RedirectResponse(f"/applications/{app.id}", status_code=303)
    return _render_form(request, db, actor, app=app, kind=app.kind, content=app.content, documents=app.documents,
                        details=app.details, saved=bool(request.query_params.get("saved")))


def _upload_paths(kind: str) -> set[str]:
    """The file inputs a form of ``kind`` may post (anything else is ignored)."""
    paths = {f.path for f in fv.FIELDS if f.kind in {"file", "files"}}
    return paths | {d.path for d in fv.documents_for(kind, agent=True)}


def _allowed_upload(path: str, allowed: set[str]) -> bool:
    if path in allowed:
        return True
    head, _, tail = path.rpartition(".")
    row = head.removeprefix(fv.CO_OWNERS + ".")
    return head.startswith(fv.CO_OWNERS + ".") and row.isdigit() and tail == "authorisation"


def _store_uploads(request: Request, db: Session, actor: Actor, form: FormData,
                   kind: str) -> tuple[dict[str, list[str]], list[FieldError]]:
    """Store every chosen file, each at its field; refused files are reported there and stored nowhere."""
    allowed = _upload_paths(kind)
    uploads: dict[str, list[str]] = {}
    errors: list[FieldError] = []
    for name, value in form.multi_items():
        if not (isinstance(value, UploadFile) and name.startswith(fv.UPLOAD) and value.filename):
            continue
        path = name.removeprefix(fv.UPLOAD)
        if not _allowed_upload(path, allowed):
            continue
        try:
            row = store_upload(db, actor=actor, stream=value.file, filename=value.filename,
                               declared_type=value.content_type, settings=request.app.state.settings, field=path)
        except DomainError as exc:
            errors += [FieldError(path, e.code, e.message) for e in exc.errors] or [FieldError(path, exc.code,
                                                                                                  exc.detail)]
            continue
        uploads.setdefault(path, []).append(row.digest)
    db.commit()  # the files are kept whatever happens to the draft
    return uploads, errors


def _principal(db: Session, actor: Actor, content: Mapping[str, Any]) -> int | None:
    """REG-8: an agent files for the subject named by its unified social credit code in 委托代理."""
    agency = content.get("agency") or {}
    if Role.AGENT.value not in actor.roles or agency.get("is_agent") is not True:
        return None
    code = str(agency.get("principal_uscc") or "")
    if not code:
        raise ValidationFailed.single("agency.principal_uscc", "required",
                                      "代理登记须填写委托登记主体的统一社会信用代码（第八条）。")
    org_id = db.scalar(select(Organisation.id).where(Organisation.uscc == code))
    if org_id is None:
        raise ValidationFailed.single("agency.principal_uscc", "principal_not_found",
                                      "委托登记主体尚未在平台注册，请其先注册单位账户。")
    return org_id


def _save(request: Request, db: Session, actor: Actor, form: FormData, app: Application | None) -> Response:
    kind = app.kind if app else Kind.FIRST.value
    uploads, upload_errors = _store_uploads(request, db, actor, form, kind)
    content = fv.content_from_form(form, uploads) if kind in fv.EDITS_CONTENT else None
    keys = [d.key for d in fv.documents_for(kind, agent=True)]
    documents = fv.documents_from_form(form, uploads, keys, kept=app.documents if app else None)
    details = fv.details_from_form(form, kind)
    shown = content if content is not None else (app.content if app else {})
    again = {"app": app, "kind": kind, "content": shown, "documents": documents, "details": details}
    if upload_errors:
        return _render_form(request, db, actor, status_code=422, errors=upload_errors, **again)
    version = int(str(form.get("version") or 0) or 0) or None
    try:
        if app is None:
            app = svc.create_application(db, actor=actor, kind=kind, subject_org_id=_principal(db, actor, shown),
                                         content=content, documents=documents, details=details)
        else:
            svc.update_draft(db, actor=actor, application_id=app.id, version=version, content=content,
                             documents=documents, details=details)
        db.commit()
    except DomainError as exc:
        db.rollback()
        return _render_form(request, db, actor, status_code=exc.status, errors=exc.errors, error=exc, **again)
    if form.get("action") != "submit":
        return RedirectResponse(f"/applications/{app.id}/edit?saved=1", status_code=303)
    try:
        svc.submit(db, actor=actor, application_id=app.id, version=app.version)
        db.commit()
    except DomainError as exc:
        db.rollback()
        app = svc.get_application(db, application_id=app.id)
        return _render_form(request, db, actor, status_code=exc.status, errors=exc.errors, error=exc, saved=True,
                            app=app, kind=app.kind, content=app.content, documents=app.documents,
                            details=app.details)
    return RedirectResponse(f"/applications/{app.id}?submitted=1", status_code=303)


@router.post("/applications/new", dependencies=[Depends(_bounded_upload), Depends(csrf_protect)])
async def create_application(request: Request, db: Db, actor: Actor = requires(Permission.DRAFT_WRITE)) -> Response:
    form = await request.form()
    return await run_in_threadpool(_save, request, db, actor, form, None)


@router.post("/applications/{application_id}/edit", dependencies=[Depends(_bounded_upload), Depends(csrf_protect)])
async def save_application(application_id: int, request: Request, db: Db,
                           actor: Actor = requires(Permission.DRAFT_WRITE)) -> Response:
    form = await request.form()

    def work() -> Response:
        app = _editable(db, actor, application_id)
        if app.state not in svc.EDITABLE:
            return _detail(request, db, actor, app, error=DomainError(
                "只有草稿或待补正的申请可以修改。", code="not_editable"), status_code=409)
        return _save(request, db, actor, form, app)

    return await run_in_threadpool(work)


# -- /applications/{id} -------------------------------------------------------------------------------------


def _timeline(db: Session, app: Application) -> list[dict[str, Any]]:
    """Every step of the application from its audit trail, oldest first."""
    steps = []
    for e in history(db, object_type="application", object_id=app.id):
        action = e.tag.rsplit(":", 1)[-1]
        state = (e.changes or {}).get("state")
        steps.append({"at": e.occurred_at, "label": EVENT_LABELS.get(action) or ACTION_LABELS.get(action, action),
                      "state": STATE_LABELS.get(state[1], state[1]) if state and state[1] else "",
                      "who": e.actor_label, "reasons": (e.data or {}).get("reasons") or (e.data or {}).get("reason")})
    return steps


def _deadlines(db: Session, app: Application) -> list[dict[str, Any]]:
    """Each statutory deadline set on the application; the one running now counts working days."""
    running = DUE_FIELD.get(app.state)
    out = []
    for name, label, rule in DEADLINES:
        due: dt.date | None = getattr(app, name)
        if due is None:
            continue
        provisional = name in (app.provisional_dates or [])
        clock_ = countdown(db, due, provisional=provisional, ends_period=name == "notice_end") \
            if name == running else None
        out.append({"label": label, "rule": rule, "due": due, "provisional": provisional, "countdown": clock_})
    return out


def _sections_with_values(content: Mapping[str, Any]) -> list[tuple[fv.SectionView, list[tuple[Any, Any]]]]:
    out = []
    for section in fv.sections():
        rows = [(f, fv.value_at(content, f.path)) for f in section.fields]
        rows = [(f, v) for f, v in rows if v not in (None, "", [])]
        if rows:
            out.append((section, rows))
    return out


def _detail(request: Request, db: Session, actor: Actor, app: Application, *, status_code: int = 200,
            **extra: Any) -> Response:
    digests = [d for _, d in attachment_digests(app.content)] + [v for v in app.documents.values()
                                                                   if isinstance(v, str)]
    supplements = [n for n in app.notices if n.kind == "supplement"]
    return render(request, "applicant_detail.html", {
        "app": app, "kind_label": KIND_LABELS[Kind(app.kind)], "state_label": STATE_LABELS[app.state],
        "badge": _badge(app.state), "timeline": _timeline(db, app), "deadlines": _deadlines(db, app),
        "can_withdraw": "withdraw" in MACHINES[Kind(app.kind)].allowed_actions(app.state),
        "can_edit": app.state in svc.EDITABLE, "final": app.state in FINAL_STATES,
        "supplement": supplements[-1] if supplements and app.state == "supplement_requested" else None,
        "sections": _sections_with_values(app.content), "fv": fv, "files": _files(db, actor, digests),
        "size": _size, "documents_spec": fv.documents_for(app.kind, agent=True),
        "details_spec": fv.DETAILS.get(app.kind, ()), "subject": db.get(Organisation, app.registration.subject_org_id),
        "filer": db.get(Organisation, app.filed_by_org_id), "values": {}, "errors": {}, **extra,
    }, status_code=status_code)


@router.get("/applications/{application_id}")
def application_detail(application_id: int, request: Request, db: Db,
                       actor: Actor = requires(Permission.DRAFT_WRITE)) -> Response:
    return _detail(request, db, actor, svc.view_application(db, actor=actor, application_id=application_id))


@router.post("/applications/{application_id}/withdraw", dependencies=[Depends(csrf_protect)])
async def withdraw_application(application_id: int, request: Request, db: Db,
                               actor: Actor = requires(Permission.DRAFT_WRITE)) -> Response:
    form = await request.form()
    reason = str(form.get("reason") or "").strip()[:2000]
    version = int(str(form.get("version") or 0) or 0) or None
    try:
        svc.withdraw(db, actor=actor, application_id=application_id, version=version, reason=reason)
        db.commit()
    except DomainError as exc:
        db.rollback()
        app = svc.view_application(db, actor=actor, application_id=application_id)
        return _detail(request, db, actor, app, error=exc, values={"reason": reason},
                       errors={e.field: e.message for e in exc.errors}, status_code=exc.status)
    return RedirectResponse(f"/applications/{application_id}?withdrawn=1", status_code=303)


# -- /registrations/{id} -------------------------------------------------------------------------------------


def _startable(db: Session, reg: Registration) -> tuple[list[tuple[str, str]], str]:
    """The applications the record's state allows now (REG-25, REG-37), or why none."""
    if reg.status != "registered":
        return [], f"登记状态为“{REGISTRATION_STATUS.get(reg.status, reg.status)}”，不能办理变更、更正、注销或续展。"
    open_app = db.scalar(select(Application.number).where(Application.registration_id == reg.id,
                                                          Application.state.not_in(FINAL_STATES)))
    if open_app:
        return [], f"该登记已有正在办理的申请（{open_app}），请先办结或撤回。"
    kinds = [Kind.CHANGE, Kind.CORRECTION, Kind.CANCELLATION]
    note = ""
    cert = current_certificate(db, reg.id)
    if cert is not None:
        opens = renewal_window_opens(cert)
        if opens <= clock.today() <= cert.valid_until:
            kinds.append(Kind.RENEWAL)
        else:
            note = f"凭证续展可在 {opens:%Y年%m月%d日} 至 {cert.valid_until:%Y年%m月%d日} 期间申请（第三十七条）。"
    return [(k.value, KIND_LABELS[k]) for k in kinds], note


def _registration(request: Request, db: Session, actor: Actor, registration_id: int, *, status_code: int = 200,
                  **extra: Any) -> Response:
    reg = records.view_registration(db, actor=actor, registration_id=registration_id)
    starts, note = _startable(db, reg)
    apps = list(db.scalars(select(Application).where(Application.registration_id == reg.id)
                           .order_by(Application.id.desc())))
    current = reg.versions[-1].content if reg.versions else {}
    return render(request, "applicant_registration.html", {
        "reg": reg, "status_label": REGISTRATION_STATUS.get(reg.status, reg.status),
        "type_label": vocab.label("registration_type", reg.registration_type),
        "certificates": records.certificates(db, registration_id=reg.id), "cert_status": CERTIFICATE_STATUS,
        "applications": apps, "states": STATE_LABELS, "kinds": KIND_LABELS, "badge": _badge,
        "starts": starts, "start_note": note, "subject": db.get(Organisation, reg.subject_org_id),
        "sections": _sections_with_values(current), "fv": fv, "error": None, **extra,
    }, status_code=status_code)


@router.get("/registrations/{registration_id}")
def registration_detail(registration_id: int, request: Request, db: Db,
                        actor: Actor = requires(Permission.DRAFT_WRITE)) -> Response:
    return _registration(request, db, actor, registration_id)


@router.post("/registrations/{registration_id}/applications", dependencies=[Depends(csrf_protect)])
async def start_application(registration_id: int, request: Request, db: Db,
                            actor: Actor = requires(Permission.DRAFT_WRITE)) -> Response:
    """Open a change, correction, cancellation or renewal draft on a registered record (REG-25, REG-37)."""
    form = await request.form()
    kind = str(form.get("kind") or "")
    try:
        reg = records.view_registration(db, actor=actor, registration_id=registration_id)
        starts, note = _startable(db, reg)
        if kind not in dict(starts):
            label = KIND_LABELS.get(kind, "该申请")  # type: ignore[call-overload]
            raise Conflict(f"该登记当前不能办理“{label}”。{note}", code="not_startable")
        app = svc.create_application(db, actor=actor, kind=kind, registration_id=registration_id)
        db.commit()
    except DomainError as exc:
        db.rollback()
        return _registration(request, db, actor, registration_id, error=exc, status_code=exc.status)
    return RedirectResponse(f"/applications/{app.id}/edit", status_code=303)


# -- /obligations -------------------------------------------------------------------------------------------


def _obligations(request: Request, db: Session, actor: Actor, paging: Any, *, status_code: int = 200,
                 values: Mapping[str, str] | None = None, error: DomainError | None = None) -> Response:
    items = obligations.list_obligations(db, actor=actor)
    page = page_of(items, paging)
    rows = [(ob, countdown(db, ob.due_date, provisional=ob.provisional)) for ob in page.items]
    regs = list(db.scalars(select(Registration).where(Registration.subject_org_id == actor.org_id,
                                                      Registration.status == "registered")
                           .order_by(Registration.id.desc())))
    return render(request, "applicant_obligations.html", {
        "page": page, "rows": rows, "events": {k: v[0] for k, v in obligations.EVENTS.items()},
        "kinds": KIND_LABELS, "registrations": regs, "reg_names": {r.id: r for r in regs},
        "values": values or {}, "errors": {e.field: e.message for e in (error.errors if error else [])},
        "error": error, "error_list": error.errors if error else [], "today": clock.today(),
    }, status_code=status_code)


@router.get("/obligations")
def my_obligations(request: Request, db: Db, paging: Paging,
                   actor: Actor = requires(Permission.DRAFT_WRITE)) -> Response:
    return _obligations(request, db, actor, paging)


@router.post("/obligations", dependencies=[Depends(csrf_protect)])
async def declare_obligation(request: Request, db: Db, paging: Paging,
                             actor: Actor = requires(Permission.DRAFT_WRITE)) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in ("event", "event_date", "registration_id", "description")}
    reg = values["registration_id"]
    try:
        obligations.declare_event(db, actor=actor, event=values["event"], event_date=values["event_date"],
                                  registration_id=int(reg) if reg.isdigit() else None,
                                  description=values["description"][:2000])
        db.commit()
    except DomainError as exc:
        db.rollback()
        return _obligations(request, db, actor, paging, values=values, error=exc, status_code=exc.status)
    return RedirectResponse("/obligations?declared=1", status_code=303)
