"""Attachments: store an upload, read its metadata and content, check that a digest is on file.

Other contexts (registration applications, evidence receipts) refer to attachments by SM3 hex digest,
the name the applicant is shown. Reading is object-level: an organisation reads what its own users
uploaded; the registration institution (``ORG_VERIFY``) and auditors (``AUDIT_READ``) read everything.
A file the actor may not read is reported exactly like a missing one, so the store cannot be used as an
oracle to learn whether some other organisation holds a given document.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.audit import Actor, record
from pubdata.config import Settings, get_settings
from pubdata.crypto.sm3 import CHUNK
from pubdata.errors import NotFound, ValidationFailed
from pubdata.files.models import StoredFile
from pubdata.files.store import BlobStore, SealedBlob
from pubdata.identity.access import require
from pubdata.identity.permissions import NEEDS_VERIFIED, Permission

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
MAX_FILENAME = 255
UNNAMED = "未命名文件"


def parse_digest(value: object, *, field: str = "digest") -> str:
    """A 64-hex SM3 digest, lower-cased; anything else is a Chinese field error."""
    if not isinstance(value, str) or not _HEX64.fullmatch(value.strip()):
        raise ValidationFailed.single(field, "invalid_digest", "文件摘要应为 64 位十六进制的 SM3 值。")
    return value.strip().lower()


def clean_filename(raw: str | None) -> str:
    """The name to keep and show: last path segment, NFC, without control or bidi-override characters
    (U+202E ``invoice<RLO>fdp.exe`` shown as ``invoiceexe.pdf``), at most 255 characters with the extension kept."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C")).strip()
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        ext = dot + ext if stem and len(ext) <= 10 else ""
        name = (name[: len(name) - len(ext)] if ext else name)[: MAX_FILENAME - len(ext)] + ext
    return name or UNNAMED


def _chunks(stream: BinaryIO | bytes | Iterable[bytes]) -> Iterator[bytes]:
    if isinstance(stream, bytes | bytearray):
        yield bytes(stream)
    elif hasattr(stream, "read"):
        yield from iter(lambda: stream.read(CHUNK), b"")  # type: ignore[union-attr]
    else:
        yield from stream


def store_upload(
    session: Session,
    *,
    actor: Actor,
    stream: BinaryIO | bytes | Iterable[bytes],
    filename: str | None,
    declared_type: str | None = None,
    settings: Settings | None = None,
    field: str = "file",
) -> StoredFile:
    """Check and store one file, record who uploaded it. Refused files leave nothing on disk or in the DB."""
    require(actor, Permission.FILE_UPLOAD)
    store = BlobStore.from_settings(settings or get_settings())
    name = clean_filename(filename)
    with store.writer(filename=name, declared_type=declared_type, field=field) as writer:
        for chunk in _chunks(stream):
            writer.write(chunk)
        blob = writer.seal()
    try:
        return record_upload(session, actor=actor, blob=blob, filename=name, declared_type=declared_type)
    finally:
        blob.discard()


def record_upload(
    session: Session, *, actor: Actor, blob: SealedBlob, filename: str | None, declared_type: str | None = None
) -> StoredFile:
    """Commit a sealed blob to its digest name and write the upload row and its audit event.

    The web layer streams request bodies straight into a ``BlobWriter`` and calls this afterwards.
    """
    require(actor, Permission.FILE_UPLOAD)
    name = clean_filename(filename)
    blob.commit()
    row = StoredFile(
        digest=blob.digest, size=blob.size, media_type=blob.media_type, filename=name,
        uploaded_by_id=actor.user_id, uploaded_by=actor.label, organisation_id=actor.org_id,
    )
    session.add(row)
    session.flush()
    record(session, actor=actor, tag="files:file:uploaded", object_type="stored_file", object_id=row.id,
           data={"digest": row.digest, "size": row.size, "media_type": row.media_type, "filename": name,
                 "declared_type": declared_type})
    return row


def reads_all(actor: Actor) -> bool:
    """Institution reviewers and auditors read every organisation's attachments."""
    if actor.kind == "system":
        return True
    for perm in (Permission.ORG_VERIFY, Permission.AUDIT_READ):
        if actor.can(perm.value) and (perm not in NEEDS_VERIFIED or actor.org_verified):
            return True
    return False


def get_file_meta(session: Session, *, actor: Actor, digest: str) -> StoredFile:
    """The upload row the actor may see: its own organisation's latest, else (for readers of all) the first."""
    require(actor, Permission.ACCOUNT_SELF)
    hexd = parse_digest(digest)
    row = None
    if actor.org_id is not None:
        row = session.scalars(
            select(StoredFile).where(StoredFile.digest == hexd, StoredFile.organisation_id == actor.org_id)
            .order_by(StoredFile.id.desc()).limit(1)
        ).first()
    if row is None and reads_all(actor):
        row = session.scalars(
            select(StoredFile).where(StoredFile.digest == hexd).order_by(StoredFile.id).limit(1)
        ).first()
    if row is None:
        raise NotFound("未找到该附件，或您无权查看。", code="file_not_found")
    return row


def open_blob(
    session: Session, *, actor: Actor, digest: str, settings: Settings | None = None
) -> tuple[StoredFile, BinaryIO]:
    """Metadata and an open binary handle on the content; the caller closes the handle."""
    meta = get_file_meta(session, actor=actor, digest=digest)
    store = BlobStore.from_settings(settings or get_settings())
    try:
        return meta, store.open(meta.digest)
    except FileNotFoundError:
        # A row without its blob means the store was damaged outside the platform: an operator matter.
        raise RuntimeError(f"blob {meta.digest} recorded but missing from {store.root}") from None


def exists(session: Session, digest: str, *, organisation_id: int | None = None) -> bool:
    """Whether an upload with this digest is on file (optionally: uploaded by ``organisation_id``).

    No permission check: callers (e.g. registration validating an application's attachments) decide
    what the answer means for their actor. A malformed digest simply does not exist.
    """
    if not isinstance(digest, str) or not _HEX64.fullmatch(digest.strip()):
        return False
    stmt = select(StoredFile.id).where(StoredFile.digest == digest.strip().lower())
    if organisation_id is not None:
        stmt = stmt.where(StoredFile.organisation_id == organisation_id)
    return session.scalars(stmt.limit(1)).first() is not None
