"""Export review (OPS-26): nothing leaves the operation domain without the implementing agency's security review.

An operator (staff with ``operation.operate`` of an organisation with an active, unsuspended agreement) asks to
export either the protected result of one of its own checked queries (``QueryRun``) or an uploaded file (a
model, a report) for a named product, stating the purpose. Automatic checks run at once and are stored with
the request as findings (``code``, Chinese ``message``, ``detail``, ``blocking``):

* results — ``export_checks.check_result_export`` (row-level output, rows below k or of one entity, identifiers
  in cells, differencing against the same operator's *released* results of the dataset) and
  ``export_checks.output_findings`` (columns computed from direct identifiers; order statistics, advisory);
* files — ``file_scan.scan_document``: valid resident ID numbers, mobile numbers and credit codes in the
  decoded text; only decodable text counts as scanned — OLE files, images, undecodable PDF streams, archives
  and archive signatures anywhere in a file are ``unscannable`` (blocking). Differencing of file content is
  left to the reviewer, who may download the pending file (:func:`review_content`, audited).

Purpose, product and file name must carry no identifier (they go into the manifest and the audit log). A
result is requested, approved and downloaded only under the agreement it was obtained under, while that is the
operator's agreement in force (and, to request, while its grant and dataset are).

The agreement's implementing agency (``operation.supervise``) approves or refuses with a reason; a request with
a blocking finding cannot be approved, and the result checks are run again at approval (a release approved in
between may have made it a differencing risk). Approval signs a release manifest with the platform's SM2 key
(``opdomain-export`` key ring): the SM3 digest of the exact content (canonical JSON of the result, the file's
bytes), who, what for, which agreement. Only then may the operator's staff download the content with the
manifest; pending, refused and withdrawn content is served to nobody.

Lifecycle (``EXPORT``): submitted → approved | refused | withdrawn (by the operator). Every change is an audit
event in the same transaction; nothing is deleted.

For other contexts (products built from exports): :func:`get_released` returns an approved ``ExportRequest``
or raises; its ``agreement_id``, ``operator_org_id``, ``dataset_id``, ``content_digest`` and
``manifest_digest`` are stable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from pubdata.audit import Actor, record
from pubdata.config import get_settings
from pubdata.crypto import sm3
from pubdata.crypto.keys import KeyFileError, KeyRing, PublicKey
from pubdata.db.base import utcnow
from pubdata.errors import Conflict, DomainError, FieldError, NotFound, PermissionDenied, ValidationFailed
from pubdata.files.service import clean_filename
from pubdata.files.store import BlobStore
from pubdata.identity.access import require, require_same_org
from pubdata.identity.models import Organisation
from pubdata.identity.permissions import Permission
from pubdata.ledger.canonical import CanonicalError, canonical_bytes
from pubdata.ledger.checkpoints import settings_for
from pubdata.opdomain import datasets, export_checks, file_scan, grants, queries
from pubdata.opdomain.identifiers import scan_text
from pubdata.opdomain.models import DataGrant, ExportRequest, OpDataset, QueryRun
from pubdata.opdomain.schema import Role
from pubdata.operation.access import require_active_agreement, require_not_suspended
from pubdata.operation.common import check_version
from pubdata.operation.models import Agreement
from pubdata.workflow import StateMachine

EXPORT = StateMachine(
    name="数据导出申请",
    transitions={("submitted", "approve"): "approved", ("submitted", "refuse"): "refused",
                 ("submitted", "withdraw"): "withdrawn"},
    labels={"submitted": "待审核", "approved": "已批准发布", "refused": "不予导出", "withdrawn": "已撤回",
            "approve": "批准导出", "refuse": "不予导出", "withdraw": "撤回"},
)
KINDS = {"result": "查询结果", "file": "上传文件"}
OBJECT = "opdomain_export"
KEY_NAME = "opdomain-export"
MANIFEST_FORMAT = "pubdata-export-manifest/1"
RESULT_FORMAT = "pubdata-export-result/1"
RESULT_MEDIA_TYPE = "application/json"
MAX_PURPOSE = 2000
MAX_PRODUCT = 200
UPLOAD_CHUNK = 1 << 20
OPERATE = Permission.OPERATION_OPERATE
REVIEW = Permission.OPERATION_SUPERVISE


def exports_store() -> BlobStore:
    """Uploaded export files live inside the domain, apart from the attachment store: no general file route
    can serve them, only :func:`released_content` after approval."""
    settings = get_settings()
    return BlobStore(root=datasets.domain_dir() / "exports", max_bytes=settings.upload_max_bytes)


# --- content ------------------------------------------------------------------------------------------------


def result_content(run: QueryRun) -> bytes:
    """The exact bytes released for a result: canonical JSON (RFC 8785) of the protected cells, hidden ones
    as null with their reason. Supports (entity counts per row) are never part of it."""
    return canonical_bytes({"format": RESULT_FORMAT, "query_run_id": run.id, "columns": run.columns,
                            "kinds": run.kinds, "rows": [[value for value, _ in row] for row in run.cells],
                            "suppressed": [[reason for _, reason in row] for row in run.cells],
                            "truncated": run.truncated})


def _findings_json(found: Iterable[export_checks.ExportFinding]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for f in found:
        doc = f.as_json()
        if doc not in out:
            out.append(doc)
    return out


def _direct_identifiers(session: Session, dataset_id: int) -> frozenset[str]:
    ds = datasets.dataset_of(datasets.get_dataset(session, dataset_id))
    return frozenset(f"{t.name}.{c.name}" for t in ds.tables for c in t.columns if c.role is Role.DIRECT_IDENTIFIER)


def released_runs(session: Session, operator_org_id: int, dataset_id: int) -> list[QueryRun]:
    """The operator's results of this dataset already released (approved), oldest first."""
    return list(session.scalars(
        select(QueryRun).join(ExportRequest, ExportRequest.query_run_id == QueryRun.id)
        .where(ExportRequest.operator_org_id == operator_org_id, ExportRequest.dataset_id == dataset_id,
               ExportRequest.state == "approved").order_by(ExportRequest.id)))


def result_findings(session: Session, run: QueryRun) -> list[dict[str, Any]]:
    """Every automatic check of a stored result against the releases so far."""
    earlier = [queries.protected_of(r) for r in released_runs(session, run.operator_org_id, run.dataset_id)]
    found = export_checks.check_result_export(queries.protected_of(run), earlier)
    found += export_checks.output_findings(run.columns, run.kinds, run.sources,
                                        _direct_identifiers(session, run.dataset_id))
    return _findings_json(found)


# --- requests -----------------------------------------------------------------------------------------------


def _text_errors(purpose: str, product: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for name, value, label, limit in (("purpose", purpose, "导出用途", MAX_PURPOSE),
                                      ("product", product, "用于的数据产品", MAX_PRODUCT)):
        if not value:
            errors.append(FieldError(name, "required", f"请填写{label}。"))
        elif len(value) > limit:
            errors.append(FieldError(name, "too_long", f"{label}不超过 {limit} 字。"))
        elif scan_text(value):
            errors.append(_identifier_error(name, label))
    return errors


def _identifier_error(name: str, label: str) -> FieldError:
    """Free text goes into the signed manifest and the audit log: it must carry no one's identifier."""
    return FieldError(name, "identifier_in_text",
                      f"{label}中含有身份证号码、手机号码或统一社会信用代码，请删去后再提交（这些内容会写入发布清单和审计记录）。")


def _product_advisory(agreement: Agreement, product: str) -> list[dict[str, Any]]:
    if product in {p.get("name") for p in agreement.content.get("products", [])}:
        return []
    return [{"code": "product_not_in_agreement", "message": "数据产品不在授权运营协议约定的产品清单中，请审核。",
             "detail": product, "blocking": False}]


def _new_request(session: Session, actor: Actor, agreement: Agreement, *, kind: str, purpose: str, product: str,
                 content_digest: str, findings: list[dict[str, Any]], **extra: Any) -> ExportRequest:
    findings = findings + _product_advisory(agreement, product)
    req = ExportRequest(kind=kind, operator_org_id=actor.org_id, agreement_id=agreement.id,
                        agency_org_id=agreement.agency_org_id, requested_by_user_id=actor.user_id,
                        content_digest=content_digest, purpose=purpose, product=product, findings=findings,
                        blocked=any(f["blocking"] for f in findings), **extra)
    session.add(req)
    session.flush()
    record(session, actor=actor, tag="opdomain:export:request", object_type=OBJECT, object_id=req.id,
           changes={"state": [None, req.state]},
           data={"kind": kind, "query_run_id": req.query_run_id, "dataset_id": req.dataset_id,
                 "file_name": req.file_name, "content_sm3": content_digest, "product": product,
                 "findings": [f["code"] for f in findings], "blocked": req.blocked})
    return req


def _operator(session: Session, actor: Actor) -> Agreement:
    """OPS-21/OPS-26: the operator's staff, agreement in force, access not suspended."""
    require(actor, OPERATE)
    if actor.org_id is None:
        raise PermissionDenied("只有运营机构的人员可以申请导出。", code="no_organisation")
    return require_active_agreement(session, actor.org_id)


def request_result_export(session: Session, *, actor: Actor, query_run_id: int | None, purpose: str,
                          product: str) -> ExportRequest:
    """Ask to export the protected result of one of the organisation's own checked queries."""
    agreement = _operator(session, actor)
    run = session.get(QueryRun, query_run_id) if query_run_id else None
    purpose, product = (purpose or "").strip(), (product or "").strip()
    errors = _text_errors(purpose, product)
    if run is None or run.operator_org_id != actor.org_id:
        # Another organisation's result is reported like a missing one.
        errors.insert(0, FieldError("query_run_id", "query_run_not_found", "请选择本单位执行过的查询结果。"))
    if errors:
        raise ValidationFailed(errors)
    assert run is not None
    agreement = _run_in_force(session, run, agreement)
    return _new_request(session, actor, agreement, kind="result", purpose=purpose, product=product,
                        content_digest=sm3.hexdigest(result_content(run)), findings=result_findings(session, run),
                        query_run_id=run.id, dataset_id=run.dataset_id, media_type=RESULT_MEDIA_TYPE)


def _run_in_force(session: Session, run: QueryRun, active: Agreement) -> Agreement:
    """A result is exported under the agreement it was obtained under, which must be the operator's agreement
    in force now; its grant must still be in force and its dataset not withdrawn."""
    if run.agreement_id != active.id:
        raise PermissionDenied("该查询结果所依据的授权运营协议已终止、到期或不是本单位现行的协议，不能申请导出。",
                               code="agreement_not_in_force")
    grant = session.get(DataGrant, run.grant_id)
    if grant is None or not grants.is_active(grant, utcnow()):
        raise PermissionDenied("该查询结果所依据的数据授权已撤销或已过期，不能申请导出。", code="grant_inactive")
    ds = session.get(OpDataset, run.dataset_id)
    if ds is None or ds.state != "active":
        raise Conflict("该查询结果所属的数据集已撤下，不能申请导出。", code="dataset_withdrawn")
    return active


def _agreement_in_force(session: Session, req: ExportRequest) -> None:
    """OPS-21/26: the request's agreement must still be the operator's agreement in force, access not suspended
    (approval and download alike)."""
    active = require_active_agreement(session, req.operator_org_id)
    if active.id != req.agreement_id:
        raise PermissionDenied("该导出申请所依据的授权运营协议已终止、到期或已被新协议取代，不能批准或下载。",
                               code="agreement_not_in_force")


def file_chunks(fh: BinaryIO, size: int = UPLOAD_CHUNK) -> Iterator[bytes]:
    """An uploaded (spooled) file's bytes in 1 MiB chunks, from its start: never the whole file in memory."""
    fh.seek(0)
    while chunk := fh.read(size):
        yield chunk


def _chunks(data: bytes | Iterable[bytes]) -> Iterator[bytes]:
    if isinstance(data, bytes | bytearray):
        yield bytes(data)
    else:
        yield from data


def request_file_export(session: Session, *, actor: Actor, data: bytes | Iterable[bytes] | None,
                        filename: str | None, purpose: str, product: str,
                        declared_type: str | None = None) -> ExportRequest:
    """Ask to export an uploaded file (``data`` None: none was chosen). The file is type-checked and stored
    inside the domain (never in the attachment store), then scanned for identifiers."""
    agreement = _operator(session, actor)
    purpose, product = (purpose or "").strip(), (product or "").strip()
    errors = _text_errors(purpose, product)
    if data is None:
        errors.insert(0, FieldError("file", "file_missing", "请选择要导出的文件。"))
    elif filename and scan_text(filename):
        errors.insert(0, _identifier_error("file", "文件名"))
    if errors:
        raise ValidationFailed(errors)
    assert data is not None
    name = clean_filename(filename)
    store = exports_store()
    with store.writer(filename=name, declared_type=declared_type, field="file") as writer:
        for chunk in _chunks(data):
            writer.write(chunk)
        blob = writer.seal()
    try:
        content = blob.tmp.read_bytes()
        findings = _findings_json(file_scan.scan_document(content, blob.media_type))
        blob.commit()
    finally:
        blob.discard()
    return _new_request(session, actor, agreement, kind="file", purpose=purpose, product=product,
                        content_digest=blob.digest, findings=findings, file_name=name, file_size=blob.size,
                        media_type=blob.media_type)


# --- reading ------------------------------------------------------------------------------------------------


def get_export(session: Session, export_id: int) -> ExportRequest:
    req = session.get(ExportRequest, export_id)
    if req is None:
        raise NotFound("导出申请不存在。", code="export_not_found")
    return req


def get_visible(session: Session, *, actor: Actor, export_id: int) -> ExportRequest:
    """The requesting operator's staff and the reviewing agency see a request; to anyone else it does not exist."""
    req = get_export(session, export_id)
    mine = actor.org_id is not None and (
        (actor.can(OPERATE.value) and actor.org_id == req.operator_org_id)
        or (actor.can(REVIEW.value) and actor.org_id == req.agency_org_id))
    if not mine:
        raise NotFound("导出申请不存在。", code="export_not_found")
    return req


def get_released(session: Session, export_id: int) -> ExportRequest:
    """An approved (released) export, for contexts building on it (products); raises unless approved."""
    req = get_export(session, export_id)
    if req.state != "approved" or req.manifest_digest is None:
        raise Conflict(f"该导出申请当前为“{EXPORT.labels[req.state]}”，尚未批准发布。", code="export_not_released")
    return req


def list_query(*, actor: Actor, state: str = "") -> Select[tuple[ExportRequest]]:
    """Operators: their organisation's requests; the implementing agency: those it reviews. Newest first."""
    q = select(ExportRequest).order_by(ExportRequest.id.desc())
    if actor.can(OPERATE.value):
        q = q.where(ExportRequest.operator_org_id == actor.org_id)
    else:
        require(actor, REVIEW)
        q = q.where(ExportRequest.agency_org_id == actor.org_id)
    if state in EXPORT.labels:
        q = q.where(ExportRequest.state == state)
    return q


def query_runs(session: Session, *, actor: Actor, limit: int = 50) -> list[QueryRun]:
    """The organisation's latest stored results, for the request form."""
    require(actor, OPERATE)
    require_not_suspended(session, actor.org_id)
    return list(session.scalars(select(QueryRun).where(QueryRun.operator_org_id == actor.org_id)
                                .order_by(QueryRun.id.desc()).limit(limit)))


def get_query_run(session: Session, *, actor: Actor, query_run_id: int) -> QueryRun:
    run = session.get(QueryRun, query_run_id)
    if run is None or not (actor.org_id == run.operator_org_id and actor.can(OPERATE.value)):
        raise NotFound("查询结果不存在。", code="query_run_not_found")
    require_not_suspended(session, run.operator_org_id)
    return run


# --- decisions ----------------------------------------------------------------------------------------------


def withdraw(session: Session, *, actor: Actor, export_id: int, version: int | None = None) -> ExportRequest:
    require(actor, OPERATE)
    req = get_visible(session, actor=actor, export_id=export_id)
    require_same_org(actor, req.operator_org_id)
    require_not_suspended(session, req.operator_org_id)
    check_version(req, version)
    before = req.state
    req.state = EXPORT.next_state(req.state, "withdraw")
    req.decided_at = utcnow()
    session.flush()
    record(session, actor=actor, tag="opdomain:export:withdraw", object_type=OBJECT, object_id=req.id,
           changes={"state": [before, req.state]})
    return req


def decide(session: Session, *, actor: Actor, export_id: int, decision: str, note: str = "",
           version: int | None = None) -> ExportRequest:
    """The agreement's implementing agency approves (signing the release manifest) or refuses with a reason."""
    require(actor, REVIEW)
    req = get_export(session, export_id)
    if actor.org_id is None or actor.org_id != req.agency_org_id:
        # Another agency's request is reported like a missing one (get_visible).
        raise NotFound("导出申请不存在。", code="export_not_found")
    if decision not in ("approve", "refuse"):
        raise ValidationFailed.single("decision", "bad_decision", "审核结论须为批准导出或不予导出。")
    check_version(req, version)
    new_state = EXPORT.next_state(req.state, decision)
    note = (note or "").strip()
    if len(note) > MAX_PURPOSE:
        raise ValidationFailed.single("note", "too_long", f"审核意见不超过 {MAX_PURPOSE} 字。")
    if decision == "refuse" and not note:
        raise ValidationFailed.single("note", "required", "不予导出须说明理由。")
    if decision == "approve":
        try:
            _agreement_in_force(session, req)
            _require_no_blocking(session, req)
            _require_confirmation(req, note)
        except DomainError as e:
            # A refused approval is an event too; the caller commits it (with the refreshed findings).
            record(session, actor=actor, tag="opdomain:export:approve_refused", object_type=OBJECT,
                   object_id=req.id, data={"code": e.code, "findings": [f["code"] for f in req.findings],
                                           "blocked": req.blocked})
            raise
    before = req.state
    req.state, req.decision_note = new_state, note or None
    req.decided_by_org_id, req.decided_by_user_id, req.decided_at = actor.org_id, actor.user_id, utcnow()
    data: dict[str, Any] = {"note": req.decision_note}
    if decision == "approve":
        try:
            _release(session, req)
        except Conflict:
            req.state, req.decision_note = before, None
            req.decided_by_org_id = req.decided_by_user_id = req.decided_at = None
            raise
        data |= {"manifest_sm3": req.manifest_digest, "content_sm3": req.content_digest, "key_id": req.key_id}
    session.flush()
    record(session, actor=actor, tag=f"opdomain:export:{decision}", object_type=OBJECT, object_id=req.id,
           changes={"state": [before, new_state]}, data=data)
    return req


def _require_no_blocking(session: Session, req: ExportRequest) -> None:
    findings = req.findings
    if req.kind == "result" and req.query_run_id is not None:
        # Approvals of one dataset's results are serialised: two approved at once could each pass the
        # differencing check against releases that did not yet include the other (no-op on SQLite).
        session.execute(select(OpDataset.id).where(OpDataset.id == req.dataset_id).with_for_update())
        # Releases approved since the request may make this one a differencing risk now.
        run = session.get(QueryRun, req.query_run_id)
        assert run is not None
        findings = result_findings(session, run) + [f for f in req.findings if f["code"] == "product_not_in_agreement"]
        req.findings = findings
        req.blocked = any(f["blocking"] for f in findings)
    blocking = [f for f in findings if f["blocking"]]
    if blocking:
        raise Conflict("自动检查发现不得导出的内容（第二十六条），不能批准："
                       + "；".join(f["message"] for f in blocking[:5]), code="blocking_findings")


def _require_confirmation(req: ExportRequest, note: str) -> None:
    """An approval over a finding in ``CONFIRM`` states what the reviewer checked (it is in the audit event)."""
    if not note and any(f["code"] in export_checks.CONFIRM for f in req.findings):
        raise ValidationFailed.single(
            "note", "confirmation_required", "自动检查提示本结果与已发布结果经加减组合后可能推算出小群体，批准前须"
            "在审核意见中说明核查结论（例如各次查询的人群并无包含关系）。")


# --- the release manifest -----------------------------------------------------------------------------------


def _org(session: Session, org_id: int) -> dict[str, Any]:
    org = session.get(Organisation, org_id)
    return {"org_id": org_id, "name": org.name if org else "", "uscc": org.uscc if org else ""}


def _release(session: Session, req: ExportRequest) -> None:
    """Sign the manifest of the exact content being released (SM3 digest, SM2 signature)."""
    released_at = utcnow()
    manifest = {
        "format": MANIFEST_FORMAT, "export_id": req.id, "kind": req.kind,
        "operator": _org(session, req.operator_org_id), "agency": _org(session, req.agency_org_id),
        "agreement_id": req.agreement_id, "dataset_id": req.dataset_id, "query_run_id": req.query_run_id,
        "product": req.product, "purpose": req.purpose,
        "content": {"algorithm": "SM3", "digest": req.content_digest, "media_type": req.media_type,
                    "file_name": req.file_name or f"export-{req.id}.json",
                    "size": req.file_size if req.kind == "file" else None},
        "findings": [f["code"] for f in req.findings],
        "decision": {"decided_by_org_id": req.decided_by_org_id, "note": req.decision_note},
        "released_at": released_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "key_name": KEY_NAME,
    }
    if req.kind == "result":
        manifest["content"]["size"] = len(_content_bytes(session, req))
    data = canonical_bytes(manifest)
    try:
        key_id, signature = KeyRing.open(settings_for(session), KEY_NAME).sign(data)
    except KeyFileError:
        raise Conflict("平台的导出签名密钥当前不可用，暂不能批准导出，请联系平台运维。",
                       code="signing_key_unavailable") from None
    req.manifest, req.manifest_digest = manifest, sm3.hexdigest(data)
    req.signature, req.key_name, req.key_id, req.released_at = signature.hex(), KEY_NAME, key_id, released_at


def signed_manifest(req: ExportRequest) -> dict[str, Any]:
    """What the operator receives with the content and a verifier checks."""
    return {"manifest": req.manifest, "manifest_sm3": req.manifest_digest, "signature": req.signature,
            "key_id": req.key_id, "algorithm": "SM2/SM3"}


def public_keys(session: Session) -> list[PublicKey]:
    """Every key that ever signed a release manifest (retired ones too: old manifests stay verifiable)."""
    return KeyRing.open(settings_for(session), KEY_NAME).public_keys()


@dataclass(frozen=True)
class ManifestCheck:
    valid: bool
    #: Chinese reason when not valid.
    reason: str | None = None
    manifest_sm3: str | None = None
    #: The platform's record of this release, when it has one (same manifest digest, still approved).
    export_id: int | None = None
    #: Whether the platform holds this manifest as an approved release (a valid signature alone does not say so).
    registered: bool = False


def verify_manifest(session: Session, *, manifest: Any, signature: str, key_id: str,
                    content_sm3: str | None = None) -> ManifestCheck:
    """Check a manifest's SM2 signature against the platform's published export keys; optionally that some
    content's SM3 digest is the one the manifest names."""
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        return ManifestCheck(False, "不是本平台的数据导出发布清单。")
    try:
        data = canonical_bytes(manifest)
        sig = bytes.fromhex(signature)
    except (CanonicalError, ValueError):
        return ManifestCheck(False, "发布清单或签名格式无效。")
    digest = sm3.hexdigest(data)
    try:
        ring = KeyRing.open(settings_for(session), KEY_NAME)
        key = ring.public_key(key_id)
        ok = key is not None and key.verify(data, sig)
    except (KeyFileError, ValueError):
        key, ok = None, False
    if not ok or key is None:
        return ManifestCheck(False, "SM2 签名验证失败：清单与签名不符，或密钥不是本平台的导出签名密钥。", digest)
    if key.retired_at is not None:
        try:
            released = dt.datetime.fromisoformat(str(manifest.get("released_at")).replace("Z", "+00:00"))
            late = released.tzinfo is None or released >= key.retired_at
        except ValueError:
            late = True
        if late:
            return ManifestCheck(False, "签名密钥在清单所载发布时间之前已停用，该签名无效。", digest)
    content = manifest.get("content") if isinstance(manifest.get("content"), dict) else {}
    if content_sm3 is not None and content_sm3.strip().lower() != content.get("digest"):
        return ManifestCheck(False, "文件内容的 SM3 摘要与清单所载不符（内容可能被修改）。", digest)
    found = session.scalar(select(ExportRequest.id).where(ExportRequest.manifest_digest == digest,
                                                          ExportRequest.state == "approved"))
    return ManifestCheck(True, None if found else "签名有效，但本平台没有该发布清单的批准记录。", digest, found,
                         found is not None)


# --- download -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Released:
    export: ExportRequest
    content: bytes
    file_name: str
    media_type: str


def _content_bytes(session: Session, req: ExportRequest) -> bytes:
    """The content as reviewed: the result rebuilt from its stored cells, or the file from the domain store."""
    if req.kind == "result":
        run = session.get(QueryRun, req.query_run_id)
        assert run is not None
        return result_content(run)
    try:
        with exports_store().open(req.content_digest) as fh:
            return fh.read()
    except (FileNotFoundError, ValueError):
        raise Conflict("导出内容的存储文件缺失，暂不能提供，请联系平台运维。", code="content_missing") from None


def review_content(session: Session, *, actor: Actor, export_id: int) -> Released:
    """The pending content, for the reviewing agency's staff only (``operation.supervise`` of the request's
    agency): what it is asked to approve. Each access is an audit event; nobody else gets it before approval."""
    require(actor, REVIEW)
    req = get_export(session, export_id)
    if actor.org_id is None or actor.org_id != req.agency_org_id:
        raise NotFound("导出申请不存在。", code="export_not_found")
    if req.state != "submitted":
        raise Conflict(f"该导出申请当前为“{EXPORT.labels[req.state]}”，只有待审核的申请可下载审阅。",
                       code="export_not_pending")
    content = _content_bytes(session, req)
    if sm3.hexdigest(content) != req.content_digest:
        raise Conflict("导出内容与申请时的摘要不符，已停止提供。", code="content_mismatch")
    record(session, actor=actor, tag="opdomain:export:review_download", object_type=OBJECT, object_id=req.id,
           data={"content_sm3": req.content_digest})
    name = req.file_name or f"export-{req.id}.json"
    return Released(req, content, name, req.media_type or "application/octet-stream")


def released_content(session: Session, *, actor: Actor, export_id: int) -> Released:
    """The released bytes, for the requesting operator's staff only, after approval, while not suspended."""
    require(actor, OPERATE)
    req = get_visible(session, actor=actor, export_id=export_id)
    require_same_org(actor, req.operator_org_id)
    require_not_suspended(session, req.operator_org_id)
    req = get_released(session, export_id)
    _agreement_in_force(session, req)
    content = _content_bytes(session, req)
    if sm3.hexdigest(content) != req.content_digest:
        # The stored content no longer matches what was reviewed: never hand it out.
        raise Conflict("导出内容与审核时的摘要不符，已停止提供，请联系实施机构。", code="content_mismatch")
    record(session, actor=actor, tag="opdomain:export:download", object_type=OBJECT, object_id=req.id,
           data={"content_sm3": req.content_digest, "manifest_sm3": req.manifest_digest})
    name = req.file_name or f"export-{req.id}.json"
    return Released(req, content, name, req.media_type or "application/octet-stream")
