"""The ledger over the API: public checkpoints, proofs and keys; on-demand checkpoints and event proofs for auditors.

Public routes give only hashes, sizes and signatures — never event content (audit events name people and
addresses). An auditor (``audit.read``) can fetch an event's canonical bytes with its proof.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from pubdata.config import Settings
from pubdata.errors import NotFound
from pubdata.identity.permissions import Permission
from pubdata.ledger import checkpoints as cps
from pubdata.ledger import proofs
from pubdata.ledger.canonical import event_bytes
from pubdata.web.api.schemas import PROBLEM_RESPONSES, KeysOut
from pubdata.web.deps import Db, public, requires

router = APIRouter(tags=["账本"], responses=PROBLEM_RESPONSES)
PUBLIC = "/api/v1/public/ledger"


class CheckpointOut(BaseModel):
    """A signed tree head. ``signed`` is the exact text signed (RFC 8785 JSON of the other statement fields)."""

    id: int | None
    format: str
    origin: str
    tree_size: int
    root_hash: str = Field(description="SM3 树根，十六进制")
    timestamp: str = Field(description="签名时间（UTC）")
    key_id: str
    signature: str = Field(description="SM2 签名（DER），十六进制")
    signed: str = Field(description="签名原文")
    reason: str = Field(description="生成原因：events / interval / demand / export")


class InclusionOut(BaseModel):
    leaf_index: int
    tree_size: int
    event_id: int
    leaf_hash: str
    root_hash: str
    hashes: list[str] = Field(description="RFC 9162 审计路径，自叶子向上")
    checkpoint: CheckpointOut | None = Field(description="该树大小的已签名检查点（若有）")


class ConsistencyOut(BaseModel):
    first: int
    second: int
    first_root: str
    second_root: str
    hashes: list[str] = Field(description="RFC 9162 一致性证明")
    first_checkpoint: CheckpointOut | None
    second_checkpoint: CheckpointOut | None


class EventProofOut(BaseModel):
    event: dict[str, Any] = Field(description="事件的规范形式（叶子内容）")
    canonical: str = Field(description="叶子内容原文（RFC 8785 规范化 JSON）")
    proof: InclusionOut


def _settings(request: Request) -> Settings:
    return request.app.state.settings


@router.get(f"{PUBLIC}/checkpoint", response_model=CheckpointOut, summary="最新的签名检查点（树头）",
            dependencies=[public()])
def latest_checkpoint(db: Db) -> dict[str, Any]:
    cp = cps.latest(db.connection())
    if cp is None:
        raise NotFound("账本尚未签发检查点。", code="ledger_no_checkpoint")
    return cp.as_dict()


@router.get(f"{PUBLIC}/checkpoints", response_model=list[CheckpointOut], summary="检查点历史（按序号升序，after 分页）",
            dependencies=[public()])
def checkpoint_history(db: Db, after: int = Query(0, ge=0, le=2**62), limit: int = Query(100, ge=1, le=1000)
                       ) -> list[dict[str, Any]]:
    return [cp.as_dict() for cp in cps.history(db.connection(), after=after, limit=limit)]


@router.get(f"{PUBLIC}/proof/inclusion", response_model=InclusionOut, summary="包含证明：某事件在某树大小中",
            dependencies=[public()])
def inclusion_proof(
    db: Db,
    leaf_index: int | None = Query(None, description="叶子序号；与 event_id 二选一"),
    event_id: int | None = Query(None, description="审计事件序号；与 leaf_index 二选一"),
    tree_size: int | None = Query(None, description="树大小，默认为最新检查点的树大小"),
) -> dict[str, Any]:
    return proofs.inclusion(db.connection(), leaf_index=leaf_index, event_id=event_id,
                            tree_size=tree_size).as_dict()


@router.get(f"{PUBLIC}/proof/consistency", response_model=ConsistencyOut, summary="一致性证明：两个树大小之间只有追加",
            dependencies=[public()])
def consistency_proof(
    db: Db,
    first: int = Query(..., description="较早的树大小（≥ 1）"),
    second: int | None = Query(None, description="较晚的树大小，默认为最新检查点的树大小"),
) -> dict[str, Any]:
    return proofs.consistency(db.connection(), first=first, second=second).as_dict()


@router.get(f"{PUBLIC}/keys", response_model=KeysOut, summary="账本签名公钥（含已轮换的旧公钥）",
            dependencies=[public()])
def ledger_keys(request: Request) -> dict[str, Any]:
    from pubdata.crypto.keys import public_keys_document

    return public_keys_document(cps.keyring(_settings(request)).public_keys())


@router.post("/api/v1/ledger/checkpoints", response_model=CheckpointOut, status_code=201,
             summary="立即签发一个检查点", dependencies=[requires(Permission.AUDIT_READ)])
def create_checkpoint(request: Request, db: Db) -> dict[str, Any]:
    cp = cps.create(db, keys=cps.keyring(_settings(request)), reason="demand", now=dt.datetime.now(dt.UTC))
    db.commit()
    return cp.as_dict()


@router.get("/api/v1/ledger/events/{event_id}/proof", response_model=EventProofOut,
            summary="审计事件的叶子内容及其包含证明（供审计人员离线核对）",
            dependencies=[requires(Permission.AUDIT_READ)])
def event_proof(event_id: int, db: Db, tree_size: int | None = Query(None)) -> dict[str, Any]:
    from pubdata.audit.models import AuditEvent

    proof = proofs.inclusion(db.connection(), event_id=event_id, tree_size=tree_size)
    event = db.get(AuditEvent, event_id)
    if event is None:
        raise NotFound(f"审计事件 #{event_id} 不存在。", code="ledger_event_not_found")
    raw = event_bytes(event)
    return {"event": json.loads(raw), "canonical": raw.decode(), "proof": proof.as_dict()}
