"""Public certificate pages (no login): look a certificate up by number (where the QR code leads), or upload a
certificate JSON or PDF to check it. Server-rendered, no script."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from pubdata.audit import Actor
from pubdata.certificates.document import sniff
from pubdata.certificates.signing import published_keys
from pubdata.certificates.verify import lookup, normalise_number, verify_upload
from pubdata.errors import DomainError
from pubdata.web.api.certificates import MAX_UPLOAD, PayloadTooLarge
from pubdata.web.deps import Db, csrf_protect, public
from pubdata.web.templating import render
from pubdata.web.uploads import UnsupportedMediaType

router = APIRouter(include_in_schema=False)
BADGES = {"valid": "badge-verified", "objection": "badge-pending", "expired": "badge-pending",
          "superseded": "badge-pending", "cancelled": "badge-rejected", "revoked": "badge-rejected"}


@router.get("/public/certificates")
def lookup_form(request: Request, number: str | None = Query(None, max_length=80), actor: Actor = public()
                ) -> Response:
    if number and number.strip():
        return RedirectResponse(f"/public/certificates/{quote(normalise_number(number), safe='')}", status_code=303)
    return render(request, "public_certificate_lookup.html", {"max_mib": MAX_UPLOAD >> 20})


@router.get("/public/certificates/{number}")
def certificate_page(number: str, request: Request, db: Db, actor: Actor = public()) -> Response:
    view = lookup(db, number, keys=published_keys(request.app.state.settings))
    return render(request, "public_certificate.html", {"c": view, "badge": BADGES[view.status.code]})


class LengthRequired(DomainError):
    status = 411
    code = "length_required"


def _bounded_form(request: Request) -> None:
    """Before the form parser reads anything: a declared size within the limit (no chunked bodies), so an
    oversized upload is refused unread."""
    declared = request.headers.get("content-length", "")
    if not declared.isdigit():
        raise LengthRequired("请通过页面表单上传文件（须声明文件大小）。")
    if int(declared) > MAX_UPLOAD + 64 * 1024:
        raise PayloadTooLarge(f"文件超过 {MAX_UPLOAD >> 20} MiB，不是本平台出具的凭证，未予处理。")


@router.post("/public/certificates/verify", dependencies=[Depends(_bounded_form), Depends(csrf_protect)])
async def verify_page(request: Request, db: Db, actor: Actor = public()) -> Response:
    form = await request.form()
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile):
            raise UnsupportedMediaType("请选择要核验的凭证 JSON 或 PDF 文件。")
        raw = await upload.read(MAX_UPLOAD + 1)
        if len(raw) > MAX_UPLOAD:
            raise PayloadTooLarge(f"文件超过 {MAX_UPLOAD >> 20} MiB，不是本平台出具的凭证，未予处理。")
        if not raw or sniff(raw) is None:
            raise UnsupportedMediaType("文件内容既不是凭证 JSON 也不是 PDF，未予处理。")
    except DomainError as exc:
        return render(request, "public_certificate_lookup.html", {"max_mib": MAX_UPLOAD >> 20, "error": exc},
                      status_code=exc.status)
    verdict = await run_in_threadpool(verify_upload, db, raw, keys=published_keys(request.app.state.settings))
    badge = BADGES[verdict.certificate.status.code] if verdict.certificate else ""
    return render(request, "public_certificate_verify.html", {
        "v": verdict, "c": verdict.certificate, "badge": badge, "filename": upload.filename or ""})
