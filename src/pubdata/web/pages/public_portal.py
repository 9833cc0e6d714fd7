"""公开门户：登记公示、公告、业务规则、统计信息、账本检查点（无需登录），以及实名提出异议与“我的异议”。"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from pubdata import rules
from pubdata.audit import Actor
from pubdata.certificates.announcements import KINDS as ANNOUNCEMENT_KINDS
from pubdata.certificates.status import LABELS as CERTIFICATE_STATUS
from pubdata.errors import DomainError, FieldError, NotFound, ValidationFailed
from pubdata.files.service import get_file_meta
from pubdata.files.store import human_size
from pubdata.identity.permissions import Permission
from pubdata.ledger import checkpoints as cps
from pubdata.objections import service as objections
from pubdata.objections.models import Objection
from pubdata.registry import public_views as views
from pubdata.registry import vocab
from pubdata.web.deps import Db, csrf_protect, public, requires
from pubdata.web.forms import store_files
from pubdata.web.pages.public_certificates import LengthRequired
from pubdata.web.paging import Paging, paginate
from pubdata.web.templating import render

router = APIRouter(include_in_schema=False)

#: Evidence files per submission; the request body is refused unread when it cannot fit them.
MAX_EVIDENCE_FILES = 10
MAX_TEXT = {"grounds": 4000, "person_name": 50}
#: Row ids in paths: larger numbers would overflow PostgreSQL's BIGINT (a 500) instead of a Chinese 422.
MAX_ID = 2**62
FORM_FIELDS = ("claim", "grounds", "as_person", "person_name", "person_id_number")


# -- public pages -------------------------------------------------------------------------------------------


@router.get("/notices")
def notices(request: Request, db: Db, paging: Paging, q: str | None = Query(None, max_length=100),
            registration_type: str | None = Query(None, max_length=40),
            kind: str | None = Query(None, max_length=40), status: str | None = Query(None, max_length=40),
            actor: Actor = public()) -> Response:
    filters = {
        "registration_type": views.choice(registration_type, views.REGISTRATION_TYPES, "registration_type"),
        "kind": views.choice(kind, views.NOTICE_KINDS, "kind"),
        "status": views.choice(status, views.NOTICE_STATUS, "status"),
    }
    rows, ids = views.notices_query(db, q=q, **filters)
    page = paginate(db, rows, paging, scalars=False, count=ids)
    return render(request, "public_notices.html", {
        "page": page, "q": (q or "").strip(), "filters": filters, "types": views.REGISTRATION_TYPES,
        "kinds": views.NOTICE_KINDS, "statuses": views.NOTICE_STATUS, "rule": rules.PUBLIC_NOTICE,
    })


@router.get("/notices/{notice_id}")
def notice_detail(request: Request, db: Db, notice_id: int = Path(ge=1, le=MAX_ID),
                  actor: Actor = public()) -> Response:
    view = views.notice_view(db, notice_id=notice_id)
    form_url = f"/objections/new?registration_id={view.registration.id}"
    return render(request, "public_notice_detail.html", {
        "v": view, "form_url": form_url, "login_url": f"/login?next={quote(form_url, safe='')}",
        "own": actor.org_id is not None and actor.org_id == view.registration.subject_org_id,
        "rule": rules.PUBLIC_NOTICE,
    })


@router.get("/announcements")
def announcements(request: Request, db: Db, paging: Paging, kind: str | None = Query(None, max_length=40),
                  actor: Actor = public()) -> Response:
    chosen = views.choice(kind, ANNOUNCEMENT_KINDS, "kind")
    page = paginate(db, views.announcements_query(kind=chosen), paging)
    # A revocation announcement names the registration only; link its last certificate (REG-43: it verifies 已撤销).
    numbers = views.latest_certificate_numbers(
        db, registration_ids=[a.registration_id for a in page.items if a.registration_id and not a.certificate_number])
    return render(request, "public_announcements.html", {
        "page": page, "kind": chosen, "kinds": ANNOUNCEMENT_KINDS, "numbers": numbers})


@router.get("/rules")
def business_rules(request: Request, actor: Actor = public()) -> Response:
    return render(request, "public_rules.html", {
        "steps": views.procedure(), "applicants": views.applicants(), "materials": views.materials(),
        "limits": rules.ALL, "fees": views.FEES, "claims": views.claim_labels(),
        "objection_states": views.objection_states(), "refusal_grounds": vocab.items("refusal_ground"),
        "cancellation_grounds": vocab.items("cancellation_ground"), "certificate_status": CERTIFICATE_STATUS,
        "types": views.REGISTRATION_TYPES, "validity": rules.CERTIFICATE_VALIDITY, "renewal": rules.RENEWAL_WINDOW,
    })


@router.get("/statistics")
def statistics(request: Request, db: Db, paging: Paging, actor: Actor = public()) -> Response:
    page = paginate(db, views.approved_releases_query(), paging)
    return render(request, "public_statistics.html", {"page": page})


@router.get("/ledger")
def ledger(request: Request, db: Db, paging: Paging, actor: Actor = public()) -> Response:
    latest = cps.latest(db.connection())
    keys = {k.key_id: k for k in cps.keyring(request.app.state.settings).public_keys()}
    return render(request, "public_ledger.html", {
        "latest": latest, "latest_valid": latest.verify(keys) if latest else None,
        "page": paginate(db, views.checkpoints_query(), paging), "reasons": views.CHECKPOINT_REASONS,
    })


# -- objections (REG-31..33) --------------------------------------------------------------------------------


def _evidence_files(db: Db, actor: Actor, digests: Sequence[str]) -> list[dict[str, Any]]:
    """The kept evidence with name, size and SM3, as the objector's organisation uploaded it."""
    files = []
    for digest in dict.fromkeys(digests):
        try:
            meta = get_file_meta(db, actor=actor, digest=digest)
        except DomainError:
            files.append({"digest": digest, "filename": "（文件不存在）", "size": ""})
            continue
        files.append({"digest": meta.digest, "filename": meta.filename, "size": human_size(meta.size)})
    return files


def _form(request: Request, db: Db, actor: Actor, target: views.ObjectionTarget, *, values: dict[str, str],
          evidence: Sequence[str] = (), errors: Sequence[FieldError] = (), error: DomainError | None = None,
          status_code: int = 200) -> Response:
    return render(request, "public_objection_form.html", {
        "t": target, "values": values, "claims": views.claim_labels(), "phases": views.OBJECTION_PHASES,
        "files": _evidence_files(db, actor, evidence), "errors": {e.field: e.message for e in errors},
        "error_list": list(errors), "error": error, "max_files": MAX_EVIDENCE_FILES,
        "own": actor.org_id == target.registration.subject_org_id, "type_label": views.REGISTRATION_TYPES,
    }, status_code=status_code)


@router.get("/objections/new")
def objection_form(request: Request, db: Db, registration_id: int = Query(..., ge=1, le=MAX_ID),
                   actor: Actor = requires(Permission.OBJECTION_RAISE)) -> Response:
    target = views.objection_target(db, registration_id=registration_id)
    return _form(request, db, actor, target, values={"as_person": "org" if actor.org_verified else "person"})


def _bounded_upload(request: Request) -> None:
    """Before the form parser spools anything: a declared size that can hold at most the allowed files."""
    declared = request.headers.get("content-length", "")
    if not declared.isdigit():
        raise LengthRequired("请通过页面表单提交异议（须声明请求大小）。")
    limit = MAX_EVIDENCE_FILES * request.app.state.settings.upload_max_bytes + (1 << 20)
    if int(declared) > limit:
        raise ValidationFailed.single("evidence", "file_too_large",
                                      f"上传内容过大：每次最多 {MAX_EVIDENCE_FILES} 个文件，"
                                      f"每个不超过 {human_size(request.app.state.settings.upload_max_bytes)}。")


def _form_field(field: str) -> str:
    """Upload errors (``files``) and per-item evidence errors (``evidence.2``) belong next to the file input."""
    head = field.split(".")[0]
    return "evidence" if head in {"files", "evidence"} else head


def _normalised(errors: Sequence[FieldError]) -> list[FieldError]:
    return [FieldError(_form_field(e.field), e.code, e.message) for e in errors]


def _length_errors(values: dict[str, str], evidence: Sequence[str]) -> list[FieldError]:
    errors = [FieldError(f, "too_long", f"内容过长（不超过 {n} 字）。")
              for f, n in MAX_TEXT.items() if len(values[f]) > n]
    if len(evidence) > 50:
        errors.append(FieldError("evidence", "too_many_files", "证明材料最多 50 份。"))
    return errors


@router.post("/objections/new", dependencies=[Depends(_bounded_upload), Depends(csrf_protect)])
async def raise_objection(request: Request, db: Db, actor: Actor = requires(Permission.OBJECTION_RAISE)) -> Response:
    form = await request.form()
    raw_id = str(form.get("registration_id") or "")
    if not raw_id.isdigit() or len(raw_id) > 18:
        raise ValidationFailed.single("registration_id", "invalid", "登记记录编号无效。")
    target = views.objection_target(db, registration_id=int(raw_id))
    values = {k: str(form.get(k) or "").strip() for k in FORM_FIELDS}
    kept = [d for d in form.getlist("evidence") if isinstance(d, str) and d]
    uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    if len(uploads) > MAX_EVIDENCE_FILES:
        errors = [FieldError("evidence", "too_many_files", f"每次最多上传 {MAX_EVIDENCE_FILES} 个文件。")]
        return _form(request, db, actor, target, values=values, evidence=kept, errors=errors, status_code=422)
    stored, errors = store_files(request, db, actor, uploads, "evidence")
    evidence = list(dict.fromkeys([*kept, *stored]))
    errors += _length_errors(values, evidence)
    if errors:
        return _form(request, db, actor, target, values=values, evidence=evidence, errors=errors, status_code=422)
    try:
        obj = objections.raise_objection(
            db, actor=actor, registration_id=target.registration.id, claim=values["claim"],
            grounds=values["grounds"], evidence=evidence, as_person=values["as_person"] == "person",
            person_name=values["person_name"], person_id_number=values["person_id_number"])
        db.commit()
    except DomainError as exc:
        db.rollback()
        return _form(request, db, actor, target, values=values, evidence=evidence, errors=_normalised(exc.errors),
                     error=None if exc.errors else exc, status_code=exc.status)
    return RedirectResponse(f"/my/objections?raised={obj.id}", status_code=303)


@router.get("/my/objections")
def my_objections(request: Request, db: Db, paging: Paging, actor: Actor = requires(Permission.ACCOUNT_SELF)
                  ) -> Response:
    page = paginate(db, views.my_objections_query(actor=actor), paging, scalars=False)
    raised = request.query_params.get("raised", "")
    return render(request, "public_my_objections.html", {
        "page": page, "labels": objections.MACHINE.labels, "claims": views.claim_labels(),
        "phases": views.OBJECTION_PHASES, "raised": int(raised) if raised.isdigit() and len(raised) < 18 else None,
    })


def _objection_page(request: Request, db: Db, actor: Actor, obj: Objection, *, error: DomainError | None = None,
                    status_code: int = 200) -> Response:
    target = views.objection_target_of(db, objection=obj)
    mine = actor.user_id == obj.objector_user_id
    return render(request, "public_my_objection.html", {
        "o": obj, "t": target, "labels": objections.MACHINE.labels, "claims": views.claim_labels(),
        "phases": views.OBJECTION_PHASES, "timeline": views.objection_timeline(db, objection=obj),
        "objector": views.objector_label(db, objection=obj),
        "files": _evidence_files(db, actor, obj.evidence) if mine else [],
        "notices": [n for n in objections.notices_of(db, obj.id) if n.addressee == "objector"] if mine else [],
        "can_withdraw": mine and "withdraw" in objections.MACHINE.allowed_actions(obj.state),
        "error": error,
    }, status_code=status_code)


@router.get("/my/objections/{objection_id}")
def my_objection(request: Request, db: Db, objection_id: int = Path(ge=1, le=MAX_ID),
                 actor: Actor = requires(Permission.ACCOUNT_SELF)) -> Response:
    obj = objections.view_objection(db, actor=actor, objection_id=objection_id)
    return _objection_page(request, db, actor, obj)


@router.post("/my/objections/{objection_id}/withdraw", dependencies=[Depends(csrf_protect)])
async def withdraw_objection(request: Request, db: Db, objection_id: int = Path(ge=1, le=MAX_ID),
                             actor: Actor = requires(Permission.OBJECTION_RAISE)) -> Response:
    form = await request.form()
    version = str(form.get("version") or "")
    try:
        objections.withdraw(db, actor=actor, objection_id=objection_id,
                            version=int(version) if version.isdigit() and len(version) < 10 else None)
        db.commit()
    except DomainError as exc:
        db.rollback()
        if isinstance(exc, NotFound):
            raise
        obj = objections.view_objection(db, actor=actor, objection_id=objection_id)
        return _objection_page(request, db, actor, obj, error=exc, status_code=exc.status)
    return RedirectResponse(f"/my/objections/{objection_id}?withdrawn=1", status_code=303)
