"""授权运营域 JSON API (OPS-22..23, OPS-33): datasets, data applications, grants and checked queries — thin:
parse, call one service, commit."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field

from pubdata.audit import Actor
from pubdata.errors import DomainError
from pubdata.identity.permissions import Permission
from pubdata.opdomain import applications, datasets, grants, queries
from pubdata.opdomain.applications import APPLICATION
from pubdata.opdomain.models import DataApplication, DataGrant, OpDataset
from pubdata.web.api.schemas import PROBLEM_RESPONSES
from pubdata.web.deps import Db, requires, requires_any

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


@router.post("/grants/{grant_id}/queries", summary="在授权范围内执行受检查询（结果经统计披露控制）")
def run_query(grant_id: int, body: QueryIn, db: Db, actor: Actor = requires(OPERATE)) -> Json:
    try:
        outcome = queries.run_query(db, actor=actor, grant_id=grant_id, sql=body.sql)
    except DomainError:
        db.commit()  # the refusal's audit event must persist (every query is recorded)
        raise
    db.commit()
    return jsonable_encoder(outcome.as_json())
