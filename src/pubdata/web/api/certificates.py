"""Certificates over the API: public verification (by number or by uploaded file), the platform's public keys,
announcements; and, for the holder and the institution, the signed JSON and the PDF."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from sqlalchemy import select

from pubdata.audit import Actor
from pubdata.certificates import announcements, pdf_store
from pubdata.certificates.models import CertificateDocument
from pubdata.certificates.pdf import PdfUnavailable
from pubdata.certificates.signing import published_keys
from pubdata.certificates.verify import document_json, lookup, normalise_number, verify_upload
from pubdata.config import Settings
from pubdata.crypto.keys import keys_dir, public_keys_document
from pubdata.errors import DomainError, NotFound
from pubdata.identity.permissions import Permission
from pubdata.registry.models import Certificate
from pubdata.registry.records import view_registration
from pubdata.web.api.schemas import PROBLEM_RESPONSES, KeysOut
from pubdata.web.deps import Db, public, requires
from pubdata.web.uploads import UnsupportedMediaType, bad_multipart

router = APIRouter(tags=["电子凭证"], responses=PROBLEM_RESPONSES)
PUBLIC = "/api/v1/public"
#: A certificate PDF is about 100–250 KiB and its JSON a few KiB; anything much larger is not one of ours.
MAX_UPLOAD = 4 * 1024 * 1024
ACCEPTED_TYPES = {"application/json", "application/pdf", "application/octet-stream", "text/plain",
                  "multipart/form-data"}


class PayloadTooLarge(DomainError):
    status = 413
    code = "file_too_large"


class PdfServiceUnavailable(DomainError):
    status = 503
    code = "pdf_unavailable"


class CertificateOut(BaseModel):
    """The public fields of a certificate, its current status and whether its signature checks out."""

    number: str = Field(description="凭证编号（一证一码）")
    registration_code: str = Field(description="登记编码")
    subject_name: str = Field(description="登记主体名称")
    subject_uscc: str = Field(description="登记主体统一社会信用代码")
    data_name: str = Field(description="登记数据名称")
    registration_type: str
    registration_type_label: str = Field(description="登记类型")
    summary: str = Field(description="数据内容简介")
    issued_on: dt.date = Field(description="发证日期")
    valid_from: dt.date
    valid_until: dt.date
    issuer_name: str = Field(description="发证机构")
    issuer_uscc: str | None
    certificate_version: int = Field(description="该登记的第几份凭证")
    issue_kind: str = Field(description="发证事由：首次登记/变更登记/更正登记/凭证续展")
    supersedes: str | None = Field(description="本凭证取代的旧凭证编号")
    superseded_by: str | None = Field(description="取代本凭证的新凭证编号")
    ledger_event_id: int | None = Field(description="签发凭证的审计事件序号")
    ledger_leaf_index: int | None = Field(description="该事件在账本中的叶子序号（可取包含证明）")
    verify_url: str
    status: str = Field(description="有效/已过期/已注销/已撤销/异议中/已更新")
    status_code: str = Field(description="valid/expired/cancelled/revoked/objection/superseded")
    status_date: dt.date | None = Field(description="状态生效日期（撤销、注销、更新、期满之日；续展凭证的生效日）")
    status_note: str | None
    signature_valid: bool = Field(description="SM2 签名是否与已公布的签发机构公钥相符")
    record_matches: bool = Field(description="数据库中的凭证记录是否与签名内容一致")
    problems: list[str] = Field(description="核验发现的问题（中文）")
    signature_algorithm: str
    key_id: str | None
    key_name: str | None
    document_sm3: str | None = Field(description="签名文本的 SM3 摘要")
    pdf_sm3: str | None = Field(description="登记机构出具的 PDF 文件的 SM3 摘要")


class VerifyOut(BaseModel):
    result: str = Field(description="valid 或 invalid")
    valid: bool
    reason: str | None = Field(description="无效的原因（中文）")
    file_type: str = Field(description="json / pdf")
    signature_valid: bool
    pdf_matches_record: bool | None = Field(description="PDF 是否与登记机构出具的文件逐字节一致（仅 PDF）")
    certificate: CertificateOut | None = Field(description="平台上该凭证的公开信息与当前状态")


class AnnouncementOut(BaseModel):
    id: int
    kind: str
    kind_label: str
    title: str
    body: str
    registration_code: str | None
    certificate_number: str | None
    issuer_name: str
    published_on: dt.date


def _settings(request: Request) -> Settings:
    return request.app.state.settings


@router.get(f"{PUBLIC}/certificates/{{number}}", response_model=CertificateOut,
            summary="核验电子凭证（按凭证编号，无需登录）", dependencies=[public()])
def get_certificate(number: str, request: Request, db: Db) -> dict[str, Any]:
    return lookup(db, number, keys=published_keys(_settings(request))).as_dict()


UPLOAD_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "description": "凭证 JSON（含 certificate 与 signature）"}},
    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary", "description": "凭证 JSON 或 PDF"}}}},
}}}


@router.post(f"{PUBLIC}/certificates/verify", response_model=VerifyOut, openapi_extra=UPLOAD_BODY,
             summary=f"核验上传的凭证 JSON 或 PDF（不超过 {MAX_UPLOAD >> 20} MiB，无需登录）", dependencies=[public()])
async def verify_file(request: Request, db: Db) -> dict[str, Any]:
    raw = await read_upload(request)
    from starlette.concurrency import run_in_threadpool

    verdict = await run_in_threadpool(verify_upload, db, raw, keys=published_keys(_settings(request)))
    return verdict.as_dict()


async def read_upload(request: Request) -> bytes:
    """The uploaded file's bytes: the raw body, or the ``file`` part of a multipart form. Refused by declared
    type before reading, by size while reading, and by content after (neither JSON nor PDF)."""
    ctype_raw = request.headers.get("content-type", "")
    ctype, params = parse_options_header(ctype_raw)
    if ctype.decode("latin-1").lower() not in ACCEPTED_TYPES:
        raise UnsupportedMediaType("请上传凭证 JSON（application/json）或 PDF（application/pdf）文件。")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPLOAD:
        raise PayloadTooLarge(f"文件超过 {MAX_UPLOAD >> 20} MiB，不是本平台出具的凭证，未予处理。")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_UPLOAD:
            raise PayloadTooLarge(f"文件超过 {MAX_UPLOAD >> 20} MiB，不是本平台出具的凭证，未予处理。")
    raw = _file_part(bytes(body), params.get(b"boundary")) if ctype == b"multipart/form-data" else bytes(body)
    if not raw:
        raise UnsupportedMediaType("上传的文件是空的。")
    from pubdata.certificates.document import sniff

    if sniff(raw) is None:
        raise UnsupportedMediaType("文件内容既不是凭证 JSON 也不是 PDF，未予处理。")
    return raw


def _file_part(body: bytes, boundary: bytes | None) -> bytes:
    """The first part named ``file`` of a multipart body already read in full (and bounded)."""
    if not boundary:
        raise bad_multipart()
    parts: list[tuple[dict[bytes, bytes], bytearray]] = []
    state: dict[str, Any] = {"name": b"", "value": b""}

    def on_part_begin() -> None:
        parts.append(({}, bytearray()))

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["name"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        parts[-1][0][state["name"].strip().lower()] = state["value"].strip()
        state["name"], state["value"] = b"", b""

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1][1].extend(data[start:end])

    try:
        parser = MultipartParser(boundary, {  # type: ignore[arg-type]
            "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
            "on_header_end": on_header_end, "on_part_data": on_part_data})
        parser.write(body)
        parser.finalize()
    except FormParserError:
        raise bad_multipart() from None
    for headers, data in parts:
        _, options = parse_options_header(headers.get(b"content-disposition", b""))
        if options.get(b"name") == b"file":
            return bytes(data)
    raise UnsupportedMediaType("请在表单字段 file 中上传凭证 JSON 或 PDF 文件。")


@router.get(f"{PUBLIC}/keys", response_model=KeysOut, summary="平台全部签名公钥（凭证与账本，含已轮换的旧公钥）",
            dependencies=[public()])
def public_keys(request: Request) -> dict[str, Any]:
    from pubdata.crypto.keys import all_public_keys

    return public_keys_document(all_public_keys(keys_dir(_settings(request))))


@router.get(f"{PUBLIC}/announcements", response_model=list[AnnouncementOut], summary="登记机构公告（无需登录）",
            dependencies=[public()])
def list_announcements(db: Db, kind: str | None = Query(None, description="公告类型，如 expiry_cancellation"),
                       limit: int = Query(50, ge=1, le=200), offset: int = Query(0, ge=0, le=1_000_000)
                       ) -> list[AnnouncementOut]:
    return [AnnouncementOut(id=a.id, kind=a.kind, kind_label=announcements.KINDS.get(a.kind, a.kind), title=a.title,
                            body=a.body, registration_code=a.registration_code,
                            certificate_number=a.certificate_number, issuer_name=a.issuer_name,
                            published_on=a.published_on)
            for a in announcements.public_list(db, kind=kind, limit=limit, offset=offset)]


def _own_document(db: Db, actor: Actor, number: str) -> tuple[Certificate, CertificateDocument]:
    """The certificate's document, for the holder's side or the institution; others get "not found"."""
    cert = db.scalar(select(Certificate).where(Certificate.number == normalise_number(number)))
    doc = db.scalar(select(CertificateDocument).where(CertificateDocument.certificate_id == cert.id)) if cert else None
    if cert is None or doc is None:
        raise NotFound("凭证不存在或尚未签发。", code="certificate_not_found")
    view_registration(db, actor=actor, registration_id=cert.registration_id)
    return cert, doc


def _attachment(name: str) -> str:
    return f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"


@router.get("/api/v1/certificates/{number}/json", summary="下载经签名的凭证 JSON（持证单位或登记机构）",
            response_class=Response, responses={200: {"content": {"application/json": {}}}})
def download_json(number: str, db: Db, actor: Actor = requires(Permission.ACCOUNT_SELF)) -> Response:
    cert, doc = _own_document(db, actor, number)
    return Response(document_json(doc), media_type="application/json",
                    headers={"Content-Disposition": _attachment(f"{cert.number}.json")})


@router.get("/api/v1/certificates/{number}/pdf", summary="下载凭证 PDF（持证单位或登记机构；首次下载时生成并记录摘要）",
            response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
def download_pdf(number: str, request: Request, db: Db, actor: Actor = requires(Permission.ACCOUNT_SELF)) -> Response:
    cert, doc = _own_document(db, actor, number)
    try:
        data = pdf_store.ensure_pdf(db, actor=actor, document_id=doc.id, settings=_settings(request))
    except PdfUnavailable as exc:
        raise PdfServiceUnavailable(str(exc)) from exc
    db.commit()
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": _attachment(f"{cert.number}.pdf")})
