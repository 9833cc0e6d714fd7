"""Evidence (存证, REG-9, REG-20): issue receipts; public verification and inclusion proofs without login."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from pubdata.audit import Actor
from pubdata.errors import FieldError, ValidationFailed
from pubdata.evidence import service as evidence
from pubdata.evidence.models import EvidenceItem, EvidenceReceipt
from pubdata.files.store import BlobStore
from pubdata.identity.permissions import Permission
from pubdata.web.api.schemas import PROBLEM_RESPONSES
from pubdata.web.deps import Db, public, requires
from pubdata.web.uploads import FormField, FormFile, ReceivedForm, UnsupportedMediaType, receive_multipart

router = APIRouter(prefix="/api/v1", tags=["存证"], responses=PROBLEM_RESPONSES)

#: Files in one multipart evidence request (a manifest of digests covers larger sets).
MAX_UPLOADS = 20
#: A JSON manifest of 10,000 rows is about 1.5 MB; leave generous room, bound memory.
MAX_MANIFEST_BYTES = 4 << 20


def beijing(value: dt.datetime) -> dt.datetime:
    return value.astimezone(evidence.BEIJING)


class ManifestItemIn(BaseModel):
    name: str = Field(description="文件名", max_length=255)
    sm3: str = Field(description="文件的 SM3 摘要（64 位十六进制）")
    size: int = Field(description="文件字节数", ge=0)


class ManifestIn(BaseModel):
    title: str | None = Field(default=None, max_length=200, description="存证说明，如数据资源名称")
    public: bool = Field(default=False, description="是否公开文件名与摘要清单（默认不公开）")
    items: list[ManifestItemIn] = Field(description="文件清单；叶子顺序即此顺序", max_length=evidence.MAX_ITEMS)


def _inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its ``$defs`` inlined: inside an OpenAPI document ``#/$defs/…`` would
    resolve against the document root, not against this schema."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)  # type: ignore[no-any-return]


ISSUE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _inline_schema(ManifestIn)},
            "multipart/form-data": {"schema": {
                "type": "object",
                "properties": {
                    "files": {"type": "array", "items": {"type": "string", "format": "binary"},
                              "description": f"要存证的文件（最多 {MAX_UPLOADS} 个）"},
                    "manifest": {"type": "string",
                                 "description": "JSON 文件清单：[{name, sm3, size}, …]（或含 items 的对象）"},
                    "title": {"type": "string"},
                    "public": {"type": "boolean"},
                },
            }},
        },
    }
}


class ItemOut(BaseModel):
    position: int = Field(description="叶子序号（从 0 起）")
    name: str
    sm3: str
    size: int
    source: str = Field(description="upload：平台收到文件；manifest：仅申报摘要")


class ReceiptOut(BaseModel):
    receipt_no: str
    issuer: str
    issued_at: dt.datetime = Field(description="存证时间（北京时间，+08:00）")
    hash_algorithm: str
    tree: str
    merkle_root: str
    item_count: int
    title: str | None
    public: bool
    ledger_leaf_index: int | None
    requested_by: str
    items: list[ItemOut]

    @classmethod
    def of(cls, r: EvidenceReceipt) -> ReceiptOut:
        return cls(receipt_no=r.receipt_no, issuer=evidence.ISSUER, issued_at=beijing(r.issued_at),
                   hash_algorithm=r.hash_algorithm, tree=evidence.TREE, merkle_root=r.merkle_root,
                   item_count=r.item_count, title=r.title, public=r.is_public,
                   ledger_leaf_index=r.ledger_leaf_index, requested_by=r.requested_by,
                   items=[_item(i) for i in r.items])


def _item(i: EvidenceItem) -> ItemOut:
    return ItemOut(position=i.position, name=i.name, sm3=i.sm3, size=i.size, source=i.source)


class ReceiptSummaryOut(BaseModel):
    receipt_no: str
    issued_at: dt.datetime
    merkle_root: str
    item_count: int
    title: str | None
    public: bool


class ReceiptPage(BaseModel):
    items: list[ReceiptSummaryOut]
    total: int


class PublicItemOut(BaseModel):
    position: int
    name: str
    sm3: str
    size: int


class PublicReceiptOut(BaseModel):
    receipt_no: str
    issuer: str
    issued_at: dt.datetime = Field(description="存证时间（北京时间，+08:00）")
    hash_algorithm: str
    tree: str
    merkle_root: str
    item_count: int
    public: bool
    ledger_leaf_index: int | None = Field(description="存证事件在平台账本中的叶子序号，可据此证明纳入账本")
    holder: str | None = Field(description="存证单位（仅在存证人选择公开时显示）")
    items: list[PublicItemOut] | None = Field(description="文件清单（仅在存证人选择公开时显示）")
    proof_url: str


class ProofOut(BaseModel):
    receipt_no: str
    merkle_root: str
    tree_size: int
    leaf_index: int
    digest: str = Field(description="被证明的文件 SM3 摘要（即叶子数据）")
    leaf_hash: str = Field(description="SM3(0x00 ‖ 摘要的 32 字节)")
    audit_path: list[str] = Field(description="RFC 9162 §2.1.3 审计路径，自叶向根")
    algorithm: str


def _flag(raw: str | None, field: str, errors: list[FieldError]) -> bool:
    if raw is None or raw.strip() == "":
        return False
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    errors.append(FieldError(field, "bool_parsing", "应为是或否。"))
    return False


def _manifest_from_json(data: object, prefix: str) -> tuple[list[evidence.ManifestRow], dict[str, object]]:
    """A manifest is a list of rows or an object with ``items`` (and optionally title/public)."""
    if isinstance(data, dict):
        return evidence.manifest_rows(data.get("items", []), prefix=prefix), data
    return evidence.manifest_rows(data, prefix=prefix), {}


async def _read_json(request: Request) -> object:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_MANIFEST_BYTES:
            raise ValidationFailed.single("items", "manifest_too_large",
                                          f"文件清单过大（上限 {MAX_MANIFEST_BYTES >> 20} MiB）。")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed.single("body", "json_invalid", "请求体不是有效的 JSON。") from None


def _entries_from_form(form: ReceivedForm, errors: list[FieldError]) -> list[evidence.Entry]:
    """Entries in the order of the request's parts; a manifest part contributes its rows in place."""
    entries: list[evidence.Entry] = []
    for part in form.parts:
        if isinstance(part, FormFile) and part.name == "files":
            entries.append(evidence.UploadedFile(part.error_field, part.blob, part.filename, part.content_type))
        elif isinstance(part, FormField) and part.name == "manifest":
            try:
                rows, _ = _manifest_from_json(json.loads(part.value), "items")
                entries.extend(rows)
            except ValueError:
                errors.append(FieldError("manifest", "json_invalid", "文件清单不是有效的 JSON。"))
            except ValidationFailed as exc:
                errors.extend(exc.errors)
    return entries


def _issue(db: Session, actor: Actor, entries: list[evidence.Entry], title: str | None,
           is_public: bool) -> EvidenceReceipt:
    receipt = evidence.issue_receipt(db, actor=actor, entries=entries, title=title, public=is_public)
    db.commit()
    return receipt


@router.post("/evidence", response_model=ReceiptOut, status_code=201, openapi_extra=ISSUE_BODY,
             summary="申请存证：上传文件和/或提交文件摘要清单，取得存证回执")
async def issue(request: Request, db: Db, actor: Actor = requires(Permission.EVIDENCE_ISSUE)) -> ReceiptOut:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    errors: list[FieldError] = []
    form: ReceivedForm | None = None
    if ctype == "application/json":
        rows, options = _manifest_from_json(await _read_json(request), "items")
        entries: list[evidence.Entry] = list(rows)
        title = options.get("title")
        raw_public = options.get("public", False)
        if not isinstance(raw_public, bool):
            errors.append(FieldError("public", "bool_type", "应为是或否。"))
        is_public = raw_public is True
    elif ctype == "multipart/form-data":
        store = BlobStore.from_settings(request.app.state.settings)
        form = await receive_multipart(request, store=store, file_fields=frozenset({"files"}),
                                       max_files=MAX_UPLOADS, error_field=lambda name, i: f"{name}.{i}",
                                       max_field_bytes=MAX_MANIFEST_BYTES)
        entries = _entries_from_form(form, errors)
        title = form.value("title")
        is_public = _flag(form.value("public"), "public", errors)
    else:
        raise UnsupportedMediaType("请以 application/json（文件清单）或 multipart/form-data（上传文件）提交。")
    try:
        if title is not None and not isinstance(title, str):
            errors.append(FieldError("title", "string_type", "应为文本。"))
            title = None
        if errors:
            raise ValidationFailed(errors, detail="存证信息有误，请按提示修改。")
        receipt = await run_in_threadpool(_issue, db, actor, entries, title, is_public)
    finally:
        if form is not None:
            form.discard()
    return ReceiptOut.of(receipt)


@router.get("/evidence", response_model=ReceiptPage, summary="本单位的存证回执")
def list_receipts(db: Db, limit: int = Query(50, ge=1, le=200), offset: int = Query(0, ge=0),
                  actor: Actor = requires(Permission.EVIDENCE_ISSUE)) -> ReceiptPage:
    rows, total = evidence.list_receipts(db, actor=actor, limit=limit, offset=offset)
    return ReceiptPage(items=[ReceiptSummaryOut(receipt_no=r.receipt_no, issued_at=beijing(r.issued_at),
                                                merkle_root=r.merkle_root, item_count=r.item_count,
                                                title=r.title, public=r.is_public) for r in rows],
                       total=total)


@router.get("/evidence/{receipt_no}", response_model=ReceiptOut, summary="存证回执详情（含文件名）")
def get_receipt(receipt_no: str, db: Db, actor: Actor = requires(Permission.ACCOUNT_SELF)) -> ReceiptOut:
    return ReceiptOut.of(evidence.get_receipt(db, actor=actor, receipt_no=receipt_no))


@router.get("/public/evidence/{receipt_no}", response_model=PublicReceiptOut, tags=["公开"],
            summary="核验存证回执（无需登录）")
def public_receipt(receipt_no: str, db: Db, actor: Actor = public()) -> PublicReceiptOut:
    view = evidence.public_receipt(db, actor=actor, receipt_no=receipt_no)
    r = view.receipt
    items = [PublicItemOut(position=i.position, name=i.name, sm3=i.sm3, size=i.size) for i in r.items]
    return PublicReceiptOut(
        receipt_no=r.receipt_no, issuer=evidence.ISSUER, issued_at=beijing(r.issued_at),
        hash_algorithm=r.hash_algorithm, tree=evidence.TREE, merkle_root=r.merkle_root, item_count=r.item_count,
        public=r.is_public, ledger_leaf_index=r.ledger_leaf_index, holder=view.holder,
        items=items if r.is_public else None,
        proof_url=f"/api/v1/public/evidence/{r.receipt_no}/proof?digest=",
    )


@router.get("/public/evidence/{receipt_no}/proof", response_model=ProofOut, tags=["公开"],
            summary="某文件摘要在存证中的包含证明（RFC 9162，无需登录）")
def proof(receipt_no: str, db: Db, digest: str = Query(max_length=200, description="文件的 SM3 摘要"),
          actor: Actor = public()) -> ProofOut:
    p = evidence.inclusion_proof(db, actor=actor, receipt_no=receipt_no, digest=digest)
    return ProofOut(receipt_no=p.receipt_no, merkle_root=p.merkle_root, tree_size=p.tree_size,
                    leaf_index=p.leaf_index, digest=p.digest, leaf_hash=p.leaf_hash, audit_path=p.audit_path,
                    algorithm=evidence.TREE)
