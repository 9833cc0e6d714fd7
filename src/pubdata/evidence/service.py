"""The platform's evidence service (存证, REG-9, REG-20).

A subject puts data on evidence by uploading files, or by declaring a manifest of file digests (name, SM3,
size) without handing the files over. Either way it receives a receipt: a numbered, timestamped record of
the SM3 digests and a Merkle root over them (RFC 9162 with SM3; the leaves are the 32-byte digests in the
order given). Anyone holding one of the files can later obtain an inclusion proof of its digest under the
receipt's root, without logging in (see docs/evidence.md).

A manifest receipt attests that the subject declared these digests at this time; an upload receipt also
that the platform received content with those digests (the files are kept in the attachment store).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient

from pubdata.audit import Actor, record
from pubdata.crypto import merkle
from pubdata.db.base import utcnow
from pubdata.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from pubdata.evidence import proof
from pubdata.evidence.models import EvidenceItem, EvidenceReceipt
from pubdata.evidence.numbers import format_receipt_no, parse_receipt_no
from pubdata.files.service import clean_filename, parse_digest, reads_all, record_upload
from pubdata.files.store import SealedBlob
from pubdata.identity.access import require
from pubdata.identity.models import Organisation
from pubdata.identity.permissions import Permission
from pubdata.ledger import leaf_index_of

BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
#: Who issues receipts, as shown on the public verification answer.
ISSUER = "甘肃省公共数据资源登记平台"
HASH_ALGORITHM = "SM3"
TREE = "RFC 9162 Merkle 树（SM3）；叶子为各文件 SM3 摘要的 32 字节值，按清单顺序"
#: Digests in one receipt; bounds the tree and the request (REG-9 evidence is per data resource).
MAX_ITEMS = 10_000
#: Field errors listed in one answer; beyond this the detail gives the total.
MAX_REPORTED_ERRORS = 1000
MAX_TITLE = 200
MAX_SIZE = 2**63 - 1
#: Tries at a receipt serial when simultaneous issuers collide (see ``_insert_numbered``).
NUMBERING_ATTEMPTS = 10


@dataclass(frozen=True)
class ManifestRow:
    """One declared file as given by the subject, not yet validated."""

    field: str  # where it came from, e.g. "items.3", for per-field errors
    raw: object


@dataclass(frozen=True)
class UploadedFile:
    """One file received and checked by the attachment store, not yet committed."""

    field: str  # e.g. "files.0"
    blob: SealedBlob
    filename: str
    declared_type: str | None = None


Entry = ManifestRow | UploadedFile


@dataclass(frozen=True)
class _Valid:
    name: str
    sm3: str
    size: int
    upload: UploadedFile | None


def manifest_rows(rows: object, *, prefix: str = "items") -> list[ManifestRow]:
    """Wrap a decoded JSON manifest (a list of ``{name, sm3, size}``) for ``issue_receipt``."""
    if not isinstance(rows, list):
        raise ValidationFailed.single(prefix, "list_type", "文件清单应为列表，每项包含 name、sm3、size。")
    return [ManifestRow(f"{prefix}.{i}", row) for i, row in enumerate(rows)]


def _check_row(row: ManifestRow, errors: list[FieldError]) -> _Valid | None:
    raw = row.raw
    if not isinstance(raw, Mapping):
        errors.append(FieldError(row.field, "dict_type", "每一项应为包含 name、sm3、size 的对象。"))
        return None
    before = len(errors)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.append(FieldError(f"{row.field}.name", "missing", "请填写文件名。"))
    elif len(name) > 255:
        errors.append(FieldError(f"{row.field}.name", "string_too_long", "文件名不能超过 255 个字符。"))
    try:
        digest = parse_digest(raw.get("sm3"), field=f"{row.field}.sm3")
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    size = raw.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_SIZE:
        errors.append(FieldError(f"{row.field}.size", "invalid_size", "文件大小应为不小于 0 的整数（字节）。"))
    if len(errors) > before:
        return None
    assert isinstance(name, str) and isinstance(size, int)
    return _Valid(clean_filename(name), digest, size, None)


def _validate(entries: Sequence[Entry], title: str | None) -> list[_Valid]:
    """Every problem at once: per row (name, hex, size), duplicates, count, title."""
    errors: list[FieldError] = []
    if not entries:
        errors.append(FieldError("items", "evidence_empty", "请至少上传一个文件或填写一条文件摘要。"))
    if len(entries) > MAX_ITEMS:
        errors.append(FieldError("items", "too_many_items",
                                 f"一次最多存证 {MAX_ITEMS} 个文件摘要，本次为 {len(entries)} 个。"))
    if title is not None and len(title) > MAX_TITLE:
        errors.append(FieldError("title", "string_too_long", f"存证说明不能超过 {MAX_TITLE} 个字符。"))
    valid: list[_Valid] = []
    first_seen: dict[str, int] = {}
    for number, entry in enumerate(entries, start=1):
        if isinstance(entry, UploadedFile):
            item: _Valid | None = _Valid(clean_filename(entry.filename), entry.blob.digest, entry.blob.size, entry)
            digest_field = entry.field
        else:
            item = _check_row(entry, errors)
            digest_field = f"{entry.field}.sm3"
        if item is None:
            continue
        if item.sm3 in first_seen:
            errors.append(FieldError(digest_field, "duplicate_digest",
                                     f"与第 {first_seen[item.sm3]} 项的摘要相同；同一存证中每个文件只能出现一次。"))
            continue
        first_seen[item.sm3] = number
        valid.append(item)
    if errors:
        detail = "存证信息有误，请按提示修改。"
        if len(errors) > MAX_REPORTED_ERRORS:
            detail = f"存证信息共有 {len(errors)} 处错误，以下列出前 {MAX_REPORTED_ERRORS} 处。"
        raise ValidationFailed(errors[:MAX_REPORTED_ERRORS], detail=detail)
    return valid


def _insert_numbered(session: Session, *, actor: Actor, receipt: EvidenceReceipt, valid: Sequence[_Valid],
                     stored_ids: Sequence[int | None], year: int) -> EvidenceReceipt:
    """Insert the receipt under the next serial of its year, with its items and its audit event.

    Two concurrent issuers may read the same maximum; the unique (year, serial) constraint stops the second,
    which retries (writers are serialised by the ledger lock, so each retry sees at least one more committed
    receipt: attempts are bounded by the number of simultaneous issuers). Each attempt is a savepoint
    holding the whole receipt and its event, because the audit guard checks every savepoint release alone.
    """
    for attempt in range(NUMBERING_ATTEMPTS):
        serial = (session.scalar(
            select(func.max(EvidenceReceipt.serial)).where(EvidenceReceipt.year == year)) or 0) + 1
        receipt.year, receipt.serial, receipt.receipt_no = year, serial, format_receipt_no(year, serial)
        try:
            with session.begin_nested():
                session.add(receipt)
                session.flush([receipt])
                session.add_all(
                    EvidenceItem(receipt_id=receipt.id, position=i, name=v.name, sm3=v.sm3, size=v.size,
                                 source="upload" if v.upload else "manifest", stored_file_id=stored_ids[i])
                    for i, v in enumerate(valid)
                )
                session.flush()
                event = record(session, actor=actor, tag="evidence:receipt:issued",
                               object_type="evidence_receipt", object_id=receipt.id,
                               data={"receipt_no": receipt.receipt_no, "merkle_root": receipt.merkle_root,
                                     "item_count": receipt.item_count, "hash_algorithm": receipt.hash_algorithm,
                                     "public": receipt.is_public, "title": receipt.title,
                                     "uploaded": sum(1 for v in valid if v.upload)})
                # The holder can prove the receipt's issue is in the ledger (issue 3).
                receipt.ledger_leaf_index = leaf_index_of(session, event)
            session.refresh(receipt, ["items"])
            return receipt
        except IntegrityError:
            if attempt == NUMBERING_ATTEMPTS - 1:
                raise
            # the savepoint rollback expunged the pending receipt; its attributes are still ours to reuse
            make_transient(receipt)
            receipt.id = None  # type: ignore[assignment]
    raise AssertionError("unreachable")


def issue_receipt(
    session: Session,
    *,
    actor: Actor,
    entries: Sequence[Entry],
    title: str | None = None,
    public: bool = False,
) -> EvidenceReceipt:
    """Validate, store uploaded files, number the receipt, compute its root, record the audit event.

    Leaves are the entries' digests in the order given. Uploaded blobs are committed only once everything
    is valid; on refusal the caller discards them (``SealedBlob.discard``), so nothing is kept.
    """
    require(actor, Permission.EVIDENCE_ISSUE)
    if actor.org_id is None:
        raise PermissionDenied("存证须由单位用户申请。", code="organisation_required")
    title = (title.strip() or None) if title is not None else None  # blank means no title
    valid = _validate(entries, title)
    stored_ids: list[int | None] = []
    for item in valid:
        if item.upload is None:
            stored_ids.append(None)
            continue
        row = record_upload(session, actor=actor, blob=item.upload.blob, filename=item.upload.filename,
                            declared_type=item.upload.declared_type)
        stored_ids.append(row.id)
    root = merkle.root([bytes.fromhex(v.sm3) for v in valid]).hex()
    issued_at = utcnow()
    receipt = EvidenceReceipt(
        organisation_id=actor.org_id, requested_by_id=actor.user_id, requested_by=actor.label, title=title,
        is_public=public, hash_algorithm=HASH_ALGORITHM, merkle_root=root, item_count=len(valid),
        issued_at=issued_at,
    )
    return _insert_numbered(session, actor=actor, receipt=receipt, valid=valid, stored_ids=stored_ids,
                            year=issued_at.astimezone(BEIJING).year)


def find_receipt(session: Session, receipt_no: str) -> EvidenceReceipt | None:
    """Internal lookup without a permission check (e.g. registration checking a declared receipt)."""
    try:
        number = str(parse_receipt_no(receipt_no))
    except ValidationFailed:
        return None
    return session.scalars(select(EvidenceReceipt).where(EvidenceReceipt.receipt_no == number)).first()


def receipts_with_digest(session: Session, digest: str) -> list[EvidenceReceipt]:
    """Receipts covering a file digest, oldest first (REG-30: the same evidence registered twice)."""
    hexd = parse_digest(digest)
    stmt = (select(EvidenceReceipt).join(EvidenceItem).where(EvidenceItem.sm3 == hexd)
            .order_by(EvidenceReceipt.id))
    return list(session.scalars(stmt).unique())


def _public_receipt(session: Session, receipt_no: str) -> EvidenceReceipt:
    number = str(parse_receipt_no(receipt_no))
    receipt = session.scalars(select(EvidenceReceipt).where(EvidenceReceipt.receipt_no == number)).first()
    if receipt is None:
        raise NotFound("未找到该存证编号。", code="receipt_not_found")
    return receipt


def get_receipt(session: Session, *, actor: Actor, receipt_no: str) -> EvidenceReceipt:
    """The full receipt with file names: for its own organisation, the institution and auditors."""
    require(actor, Permission.ACCOUNT_SELF)
    receipt = _public_receipt(session, receipt_no)
    if receipt.organisation_id != actor.org_id and not reads_all(actor):
        raise NotFound("未找到该存证编号。", code="receipt_not_found")
    return receipt


def list_receipts(session: Session, *, actor: Actor, limit: int = 50, offset: int = 0
                  ) -> tuple[list[EvidenceReceipt], int]:
    """The actor's organisation's receipts, newest first."""
    require(actor, Permission.EVIDENCE_ISSUE)
    where = EvidenceReceipt.organisation_id == actor.org_id
    total = session.scalar(select(func.count()).select_from(EvidenceReceipt).where(where)) or 0
    rows = session.scalars(select(EvidenceReceipt).where(where).order_by(EvidenceReceipt.id.desc())
                           .limit(limit).offset(offset))
    return list(rows), total


@dataclass(frozen=True)
class PublicReceipt:
    receipt: EvidenceReceipt
    #: The holder's name, shown only when the owner made the receipt public.
    holder: str | None


def public_receipt(session: Session, *, actor: Actor, receipt_no: str) -> PublicReceipt:
    """What anyone may know about a receipt (no login): never the file names unless made public."""
    receipt = _public_receipt(session, receipt_no)
    holder = None
    if receipt.is_public:
        org = session.get(Organisation, receipt.organisation_id)
        holder = org.name if org else None
    return PublicReceipt(receipt, holder)


@dataclass(frozen=True)
class InclusionProof:
    receipt_no: str
    merkle_root: str
    tree_size: int
    leaf_index: int
    digest: str
    leaf_hash: str
    audit_path: list[str]


def inclusion_proof(session: Session, *, actor: Actor, receipt_no: str, digest: str) -> InclusionProof:
    """RFC 9162 inclusion proof of one file digest under the receipt's root (no login needed)."""
    receipt = _public_receipt(session, receipt_no)
    hexd = parse_digest(digest)
    leaves = [bytes.fromhex(item.sm3) for item in receipt.items]
    try:
        index = leaves.index(bytes.fromhex(hexd))
    except ValueError:
        raise NotFound("该文件摘要不在此存证中。", code="digest_not_in_receipt") from None
    path = proof.inclusion_proof(leaves, index)
    # Never hand out a proof that does not check out (e.g. rows edited behind the platform's back).
    if not proof.verify_inclusion(leaves[index], index, len(leaves), path, bytes.fromhex(receipt.merkle_root)):
        raise RuntimeError(f"evidence receipt {receipt.receipt_no}: stored root does not match its items")
    return InclusionProof(receipt.receipt_no, receipt.merkle_root, len(leaves), index, hexd,
                          merkle.leaf_hash(leaves[index]).hex(), [p.hex() for p in path])
