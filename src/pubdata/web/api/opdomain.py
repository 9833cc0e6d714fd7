"""授权运营域 JSON API (OPS-22..26, OPS-33): datasets, data applications, grants, checked queries and export
review — thin: parse, call one service, commit."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from pubdata.audit import Actor
from pubdata.errors import DomainError, NotFound, ValidationFailed
from pubdata.identity.permissions import Permission
from pubdata.opdomain import applications, brakes, datasets, exports, grants, pacing, quality, queries
from pubdata.opdomain.applications import APPLICATION
from pubdata.opdomain.models import DataApplication, DataGrant, ExportRequest, OpDataset, QualityReport, QueryRun
from pubdata.web.api.files import content_disposition
from pubdata.web.api.schemas import PROBLEM_RESPONSES
from pubdata.web.deps import Db, public, requires, requires_any
from pubdata.web.problems import problem

router = APIRouter(prefix="/api/v1/opdomain", tags=["授权运营域"], responses=PROBLEM_RESPONSES)
Json = dict[str, Any]
OPERATE, PROVIDE = Permission.OPERATION_OPERATE, datasets.PROVIDE


def _row(obj: Any) -> Json:
    return {c.key: getattr(obj, c.key) for c in type(obj).__table__.columns}


def _dataset(d: OpDataset) -> Json:
    return jsonable_encoder(_row(d))


def _application(a: DataApplication) -> Json:
    return jsonable_encoder({**_row(a), "state_label": APPLICATION.labels[a.state]})


def _grant(g: DataGrant) -> Json:
    return jsonable_encoder({**_row(g), "active": grants.is_active(g, dt.datetime.now(dt.UTC))})


class ColumnIn(BaseModel):
    name: str = Field(max_length=63)
    role: str = Field(max_length=30)
    grade: str = Field(max_length=20)
    label: str = Field("", max_length=100)


class TableIn(BaseModel):
    name: str = Field(max_length=63)
    source: str = Field(max_length=200, description="域内暂存区（var/opdomain/incoming/）中的 CSV 或 Parquet 文件名")
    key: str = Field(max_length=63)
    kind: Literal["entity", "lookup"] = "entity"
    label: str = Field("", max_length=200)
    columns: list[ColumnIn] = Field(max_length=500)


class DatasetIn(BaseModel):
    registration_id: int
    code: str = Field(max_length=60)
    label: str = Field("", max_length=200)
    tables: list[TableIn] = Field(max_length=50)
    disclosure: dict[str, Any] = Field(default_factory=dict)


class ApplicationIn(BaseModel):
    dataset_id: int
    requested: dict[str, list[str]]
    uses: dict[str, str] = Field(default_factory=dict, description="表.列 → 该列的用途")
    purpose: str = Field(max_length=2000)
    scenario: str = Field(max_length=200)
    product: str = Field(max_length=200)
    period_start: dt.date
    period_end: dt.date


class DecisionIn(BaseModel):
    decision: Literal["approve", "approve_part", "refuse"]
    note: str = Field("", max_length=2000)
    columns: dict[str, list[str]] | None = None


class RevokeIn(BaseModel):
    reason: str = Field(max_length=2000)


class QueryIn(BaseModel):
    sql: str = Field(max_length=20_000)


@router.get("/datasets", summary="运营域中的数据集及列分类分级")
def list_datasets(db: Db, actor: Actor = requires_any(OPERATE, PROVIDE)) -> list[Json]:
    return [_dataset(d) for d in datasets.list_datasets(db)]


@router.post("/datasets", status_code=201, summary="载入已登记数据资源并分类分级（行业主管部门）")
def register_dataset(body: DatasetIn, db: Db, actor: Actor = requires(PROVIDE)) -> Json:
    specs = [datasets.TableSpec(name=t.name, source=t.source, key=t.key, kind=t.kind, label=t.label,
                                columns=[c.model_dump() for c in t.columns]) for t in body.tables]
    row = datasets.register_dataset(db, actor=actor, registration_id=body.registration_id, code=body.code,
                                    label=body.label, tables=specs, disclosure=body.disclosure)
    db.commit()
    return _dataset(row)


@router.get("/datasets/{dataset_id}", summary="数据集")
def get_dataset(dataset_id: int, db: Db, actor: Actor = requires_any(OPERATE, PROVIDE)) -> Json:
    return _dataset(datasets.get_dataset(db, dataset_id))


class ReclassifyIn(BaseModel):
    table: str = Field(max_length=63)
    column: str = Field(max_length=63)
    role: str = Field(max_length=30, description="direct_identifier / quasi_identifier / sensitive / measure / "
                                                "dimension / public")
    grade: str = Field(max_length=20, description="general / important / core")
    reason: str = Field(max_length=2000)


class ReasonIn(BaseModel):
    reason: str = Field(max_length=2000)


class QualityIn(BaseModel):
    grant_id: int
    table: str = Field(max_length=63)
    columns: list[str] = Field(default_factory=list, max_length=200)
    kind: str = Field(max_length=20, description="missing 缺失 / wrong 错误 / stale 过时 / inconsistent 不一致 / other")
    description: str = Field(max_length=4000)


class QualityActIn(BaseModel):
    note: str = Field("", max_length=4000)
    version: int | None = None


def _quality(r: QualityReport) -> Json:
    return jsonable_encoder({**_row(r), "state_label": quality.QUALITY.labels[r.state],
                             "kind_label": quality.KINDS.get(r.kind, r.kind)})


@router.post("/datasets/{dataset_id}/reclassify", summary="重新分类分级一列（数据提供部门，留痕前后值）")
def reclassify(dataset_id: int, body: ReclassifyIn, db: Db, actor: Actor = requires(PROVIDE)) -> Json:
    row = datasets.reclassify_column(db, actor=actor, dataset_id=dataset_id, **body.model_dump())
    db.commit()
    return _dataset(row)


@router.post("/datasets/{dataset_id}/withdraw", summary="撤下数据集：其上全部授权立即停止（数据提供部门）")
def withdraw(dataset_id: int, body: ReasonIn, db: Db, actor: Actor = requires(PROVIDE)) -> Json:
    row = datasets.withdraw_dataset(db, actor=actor, dataset_id=dataset_id, reason=body.reason)
    db.commit()
    return _dataset(row)


@router.post("/quality", status_code=201, summary="反馈数据质量问题（运营机构，第二十四条）")
def report_quality(body: QualityIn, db: Db, actor: Actor = requires(OPERATE)) -> Json:
    row = quality.report(db, actor=actor, **body.model_dump())
    db.commit()
    return _quality(row)


@router.get("/quality", summary="数据质量问题：本单位反馈的、本部门数据集收到的，或全部（实施机构）")
def list_quality(db: Db, actor: Actor = requires_any(OPERATE, PROVIDE, quality.SUPERVISE)) -> list[Json]:
    return [_quality(r) for r in db.scalars(quality.reports_query(actor=actor).limit(500))]


@router.get("/quality/response-times", summary="数据质量问题响应时间（工作日），按数据集与提供部门")
def quality_response_times(db: Db, actor: Actor = requires(quality.SUPERVISE)) -> Json:
    stats = quality.response_times(db, actor=actor)
    return jsonable_encoder({k: [vars(s) for s in v] for k, v in stats.items()})


@router.get("/quality/{report_id}", summary="一个数据质量问题")
def get_quality(report_id: int, db: Db, actor: Actor = requires_any(OPERATE, PROVIDE, quality.SUPERVISE)) -> Json:
    row = quality.get_report(db, report_id)
    if not quality.can_see(actor, row):
        raise NotFound("数据质量问题不存在。", code="quality_report_not_found")
    return _quality(row)


@router.post("/quality/{report_id}/{action}",
             summary="答复 answer / 已修复 fix / 不予修复 decline（提供部门）；确认 confirm / 重开 reopen（运营机构）")
def act_quality(report_id: int, action: str, body: QualityActIn, db: Db,
                actor: Actor = requires_any(OPERATE, PROVIDE)) -> Json:
    row = quality.act(db, actor=actor, report_id=report_id, action=action, note=body.note, version=body.version)
    db.commit()
    return _quality(row)


@router.post("/applications", status_code=201, summary="提交数据申请（运营机构，第二十三条）")
def submit_application(body: ApplicationIn, db: Db, actor: Actor = requires(OPERATE)) -> Json:
    app = applications.submit_application(db, actor=actor, **body.model_dump())
    db.commit()
    return _application(app)


@router.get("/applications", summary="本单位的数据申请（运营机构）或本部门数据集收到的申请")
def list_applications(db: Db, actor: Actor = requires_any(OPERATE, PROVIDE)) -> list[Json]:
    return [_application(a) for a in applications.list_applications(db, actor=actor)]


@router.post("/applications/{application_id}/decision", summary="批准、部分批准或不予批准（数据提供部门）")
def decide(application_id: int, body: DecisionIn, db: Db, actor: Actor = requires(PROVIDE)) -> Json:
    grant = applications.decide(db, actor=actor, application_id=application_id, decision=body.decision,
                                note=body.note, columns=body.columns)
    db.commit()
    app = applications.get_application(db, application_id)
    return {"application": _application(app), "grant": _grant(grant) if grant else None}


@router.get("/grants", summary="数据授权")
def list_grants(db: Db, actor: Actor = requires_any(OPERATE, PROVIDE)) -> list[Json]:
    return [_grant(g) for g in grants.list_grants(db, actor=actor)]


@router.post("/grants/{grant_id}/revoke", summary="撤销数据授权（数据提供部门）")
def revoke_grant(grant_id: int, body: RevokeIn, db: Db, actor: Actor = requires(PROVIDE)) -> Json:
    grant = grants.revoke(db, actor=actor, grant_id=grant_id, reason=body.reason)
    db.commit()
    return _grant(grant)


async def answer_query(request: Request, db: Session, actor: Actor, grant_id: int,
                       sql: str) -> queries.QueryOutcome | DomainError:
    """The console's one way to answer (API and page): run and commit in a worker thread — a refusal is committed
    too, every query is recorded — then pace the answer (opdomain/pacing.py), whatever the outcome."""
    started = time.monotonic()

    def work() -> queries.QueryOutcome | DomainError:
        try:
            outcome = queries.run_query(db, actor=actor, grant_id=grant_id, sql=sql)
        except DomainError as exc:
            db.commit()  # the refusal's audit event and counts must persist
            return exc
        db.commit()
        return outcome

    answer = await run_in_threadpool(work)
    await pacing.pace(started, request.app.state.settings.opdomain_answer_quantum_ms)
    return answer


def retry_after(exc: DomainError) -> dict[str, str] | None:
    return {"Retry-After": str(exc.retry_after)} if isinstance(exc, brakes.RateLimited) else None


@router.post("/grants/{grant_id}/queries", summary="在授权范围内执行受检查询（结果经统计披露控制；限速，应答时间取整）")
async def run_query(grant_id: int, body: QueryIn, request: Request, db: Db,
                    actor: Actor = requires(OPERATE)) -> Response:
    answer = await answer_query(request, db, actor, grant_id, body.sql)
    if isinstance(answer, DomainError):
        return problem(request, answer.status, answer.code, answer.detail, answer.errors, headers=retry_after(answer))
    return JSONResponse(jsonable_encoder(answer.as_json()))


# --- export review (OPS-26) ---------------------------------------------------------------------------------

REVIEW = Permission.OPERATION_SUPERVISE
#: Room for the form fields around one export file.
_FORM_OVERHEAD = 1 << 20


def _export(r: ExportRequest) -> Json:
    doc = {**_row(r), "state_label": exports.EXPORT.labels[r.state], "kind_label": exports.KINDS[r.kind]}
    doc.pop("signature", None)  # with the manifest, from /manifest
    doc["content_url"] = f"/api/v1/opdomain/exports/{r.id}/content" if r.state == "approved" else None
    return jsonable_encoder(doc)


def _query_run(r: QueryRun) -> Json:
    doc = _row(r)
    doc.pop("supports", None)  # entity counts per row: for the differencing check only, never shown
    doc.pop("cell_supports", None)  # likewise per cell
    return jsonable_encoder(doc)


class ExportIn(BaseModel):
    query_run_id: int = Field(description="本单位受检查询的结果（执行查询时返回的 query_run_id）")
    purpose: str = Field(max_length=2000)
    product: str = Field(max_length=200)


class ExportDecisionIn(BaseModel):
    decision: Literal["approve", "refuse"]
    note: str = Field("", max_length=2000, description="审核意见；不予导出须说明理由")
    version: int | None = Field(None, description="乐观锁：页面读取时的版本号")


class VersionIn(BaseModel):
    version: int | None = None


class ManifestVerifyIn(BaseModel):
    manifest: dict[str, Any]
    signature: str = Field(max_length=1000)
    key_id: str = Field(max_length=100)
    content_sm3: str | None = Field(None, max_length=64, description="可选：所持内容的 SM3 摘要，与清单核对")


EXPORT_FILE_BODY: Json = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file", "purpose", "product"],
    "properties": {"file": {"type": "string", "format": "binary"}, "purpose": {"type": "string"},
                   "product": {"type": "string"}}}}}}}


STAGING_BODY: Json = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}}}}}}}


@router.get("/staging", summary="域内暂存区中待载入的 CSV / Parquet 文件（行业主管部门）")
def list_staged(actor: Actor = requires(PROVIDE)) -> list[str]:
    return datasets.staged_files()


@router.post("/staging", status_code=201, openapi_extra=STAGING_BODY,
             summary="上传 CSV 或 Parquet 源文件到域内暂存区，供载入数据集（行业主管部门）")
async def stage_file(request: Request, db: Db, actor: Actor = requires(PROVIDE)) -> Json:
    form = await request.form()
    upload = form.get("file")
    named = upload if isinstance(upload, UploadFile) and upload.filename else None

    def work() -> Json:
        name = datasets.stage_file(db, actor=actor, filename=named and named.filename,
                                   chunks=exports.file_chunks(named.file) if named is not None else ())
        db.commit()
        return {"file": name, "columns": [{"name": n, "type": t} for n, t in datasets.describe_source(name)]}

    return await run_in_threadpool(work)


@router.get("/query-runs", summary="本单位受检查询的结果（披露控制后），可申请导出")
def list_query_runs(db: Db, actor: Actor = requires(OPERATE)) -> list[Json]:
    return [_query_run(r) for r in exports.query_runs(db, actor=actor)]


@router.post("/exports", status_code=201, summary="申请导出查询结果（运营机构，第二十六条）")
def request_result_export(body: ExportIn, db: Db, actor: Actor = requires(OPERATE)) -> Json:
    req = exports.request_result_export(db, actor=actor, query_run_id=body.query_run_id, purpose=body.purpose,
                                        product=body.product)
    db.commit()
    return _export(req)


@router.post("/exports/files", status_code=201, openapi_extra=EXPORT_FILE_BODY,
             summary="申请导出上传的文件（模型、报告等；运营机构，第二十六条）")
async def request_file_export(request: Request, db: Db, actor: Actor = requires(OPERATE)) -> Json:
    limit = request.app.state.settings.upload_max_bytes + _FORM_OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ValidationFailed.single("file", "file_too_large", f"文件过大（上限 {limit >> 20} MiB）。")
    form = await request.form()
    upload = form.get("file")
    named = upload if isinstance(upload, UploadFile) else None

    def work() -> Json:
        # Streamed from the spooled upload in 1 MiB chunks; the store enforces its size limit as it writes.
        data = exports.file_chunks(named.file) if named is not None else None
        req = exports.request_file_export(db, actor=actor, data=data, filename=named and named.filename,
                                          declared_type=named and named.content_type,
                                          purpose=str(form.get("purpose") or ""),
                                          product=str(form.get("product") or ""))
        db.commit()
        return _export(req)

    return await run_in_threadpool(work)


@router.get("/exports", summary="导出申请：运营机构看本单位的，实施机构看待其审核的")
def list_exports(db: Db, state: str = "", actor: Actor = requires_any(OPERATE, REVIEW)) -> list[Json]:
    return [_export(r) for r in db.scalars(exports.list_query(actor=actor, state=state).limit(500))]


@router.get("/exports/{export_id}", summary="导出申请（含自动检查发现）")
def get_export(export_id: int, db: Db, actor: Actor = requires_any(OPERATE, REVIEW)) -> Json:
    return _export(exports.get_visible(db, actor=actor, export_id=export_id))


@router.post("/exports/{export_id}/decision", summary="批准导出（签发发布清单）或不予导出（实施机构）")
def decide_export(export_id: int, body: ExportDecisionIn, db: Db, actor: Actor = requires(REVIEW)) -> Json:
    try:
        req = exports.decide(db, actor=actor, export_id=export_id, decision=body.decision, note=body.note,
                             version=body.version)
    except DomainError:
        db.commit()  # a refused approval's audit event and refreshed findings (nothing else has changed)
        raise
    db.commit()
    return _export(req)


@router.post("/exports/{export_id}/withdraw", summary="撤回待审核的导出申请（运营机构）")
def withdraw_export(export_id: int, body: VersionIn, db: Db, actor: Actor = requires(OPERATE)) -> Json:
    req = exports.withdraw(db, actor=actor, export_id=export_id, version=body.version)
    db.commit()
    return _export(req)


@router.get("/exports/{export_id}/manifest", summary="已批准导出的签名发布清单")
def export_manifest(export_id: int, db: Db, actor: Actor = requires_any(OPERATE, REVIEW)) -> Json:
    exports.get_visible(db, actor=actor, export_id=export_id)
    return jsonable_encoder(exports.signed_manifest(exports.get_released(db, export_id)))


def export_download(out: Any, *, released: bool) -> Response:
    """An export's content as an attachment, never rendered: released content with its type and manifest digest;
    pending content (for the reviewing agency) as opaque bytes."""
    headers = {"Content-Disposition": content_disposition(out.file_name),
               "X-Content-SM3": out.export.content_digest, "X-Content-Type-Options": "nosniff"}
    if released:
        headers["X-Manifest-SM3"] = out.export.manifest_digest or ""
    return Response(out.content, media_type=out.media_type if released else "application/octet-stream",
                    headers=headers)


@router.get("/exports/{export_id}/content", summary="下载已批准导出的内容（仅申请单位，附发布清单摘要）")
def export_content(export_id: int, db: Db, actor: Actor = requires(OPERATE)) -> Response:
    out = exports.released_content(db, actor=actor, export_id=export_id)
    db.commit()  # the download's audit event
    return export_download(out, released=True)


@router.get("/exports/{export_id}/review-content",
            summary="下载待审核的导出内容以供审阅（仅审核的实施机构，每次下载留痕）")
def export_review_content(export_id: int, db: Db, actor: Actor = requires(REVIEW)) -> Response:
    out = exports.review_content(db, actor=actor, export_id=export_id)
    db.commit()  # the access's audit event
    return export_download(out, released=False)


@router.post("/exports/manifests/verify", summary="核验导出发布清单的 SM2 签名（公开）")
def verify_export_manifest(body: ManifestVerifyIn, db: Db, actor: Actor = public()) -> Json:
    check = exports.verify_manifest(db, manifest=body.manifest, signature=body.signature, key_id=body.key_id,
                                    content_sm3=body.content_sm3)
    return {"valid": check.valid, "reason": check.reason, "manifest_sm3": check.manifest_sm3,
            "export_id": check.export_id, "registered": check.registered}


@router.get("/exports/manifests/keys", summary="导出发布清单的签名公钥（公开）")
def export_keys(db: Db, actor: Actor = public()) -> Json:
    return {"keys": [k.as_dict() for k in exports.public_keys(db)]}
