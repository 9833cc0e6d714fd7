"""Attachments: upload (streamed, checked before storing), metadata, download."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any, BinaryIO
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from pubdata.audit import Actor
from pubdata.crypto.sm3 import CHUNK
from pubdata.errors import ValidationFailed
from pubdata.files import service as files
from pubdata.files.models import StoredFile
from pubdata.files.store import BlobStore
from pubdata.files.types import ALLOWED_SUMMARY
from pubdata.identity.permissions import Permission
from pubdata.web.api.schemas import PROBLEM_RESPONSES
from pubdata.web.deps import Db, requires
from pubdata.web.uploads import FormFile, receive_multipart

router = APIRouter(prefix="/api/v1/files", tags=["附件"], responses=PROBLEM_RESPONSES)


class FileOut(BaseModel):
    digest: str
    algorithm: str = "SM3"
    size: int
    media_type: str
    filename: str
    uploaded_at: dt.datetime
    uploaded_by: str
    download_url: str

    @classmethod
    def of(cls, row: StoredFile) -> FileOut:
        return cls(digest=row.digest, size=row.size, media_type=row.media_type, filename=row.filename,
                   uploaded_at=row.uploaded_at, uploaded_by=row.uploaded_by,
                   download_url=f"/api/v1/files/{row.digest}/content")


UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary",
                                    "description": f"一个文件。允许的类型：{ALLOWED_SUMMARY}"}},
        }}},
    }
}


def _save(db: Session, actor: Actor, upload: FormFile) -> StoredFile:
    row = files.record_upload(db, actor=actor, blob=upload.blob, filename=upload.filename,
                              declared_type=upload.content_type)
    db.commit()
    return row


@router.post("", response_model=FileOut, status_code=201, openapi_extra=UPLOAD_BODY,
             summary="上传附件（按 SM3 摘要存储；超限或类型不符的文件在保存前拒绝）")
async def upload(request: Request, db: Db, actor: Actor = requires(Permission.FILE_UPLOAD)) -> FileOut:
    store = BlobStore.from_settings(request.app.state.settings)
    form = await receive_multipart(request, store=store, file_fields=frozenset({"file"}), max_files=1,
                                   error_field=lambda name, index: "file")
    try:
        uploads = form.files("file")
        if not uploads:
            raise ValidationFailed.single("file", "file_missing", "请选择要上传的文件。")
        row = await run_in_threadpool(_save, db, actor, uploads[0])
    finally:
        form.discard()
    return FileOut.of(row)


@router.get("/{digest}", response_model=FileOut, summary="附件信息")
def metadata(digest: str, db: Db, actor: Actor = requires(Permission.ACCOUNT_SELF)) -> FileOut:
    return FileOut.of(files.get_file_meta(db, actor=actor, digest=digest))


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback and the real (Chinese) name per RFC 6266 / RFC 5987."""
    stem, dot, ext = filename.rpartition(".")
    if not stem:
        stem, dot, ext = filename, "", ""
    safe_stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("_.") or "attachment"
    safe_ext = re.sub(r"[^A-Za-z0-9]+", "", ext)
    fallback = safe_stem + ("." + safe_ext if dot and safe_ext else "")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _iter_file(fh: BinaryIO) -> Iterator[bytes]:
    with fh:
        yield from iter(lambda: fh.read(CHUNK), b"")


@router.get("/{digest}/content", summary="下载附件", response_class=StreamingResponse,
            responses={200: {"content": {"application/octet-stream": {}}, "description": "文件内容"}})
def download(digest: str, request: Request, db: Db,
             actor: Actor = requires(Permission.ACCOUNT_SELF)) -> StreamingResponse:
    meta, fh = files.open_blob(db, actor=actor, digest=digest, settings=request.app.state.settings)
    headers = {
        # Set explicitly so Starlette does not append "charset=utf-8" to text types it cannot know.
        "Content-Type": meta.media_type,
        "Content-Length": str(meta.size),
        "Content-Disposition": content_disposition(meta.filename),
        "ETag": f'"{meta.digest}"',
        "X-Content-SM3": meta.digest,
        "Cache-Control": "private, no-store",
    }
    return StreamingResponse(_iter_file(fh), headers=headers)
