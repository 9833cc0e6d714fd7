"""Reading the audit trail (authority, institution, regulators)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from pubdata.audit import Actor
from pubdata.audit.service import list_events
from pubdata.identity.permissions import Permission
from pubdata.web.api.schemas import PROBLEM_RESPONSES
from pubdata.web.deps import Db, requires

router = APIRouter(prefix="/api/v1/audit", tags=["审计"], responses=PROBLEM_RESPONSES)


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    occurred_at: dt.datetime
    tag: str
    actor_kind: str
    actor_label: str
    actor_user_id: int | None
    actor_org_id: int | None
    actor_roles: list[str]
    object_type: str
    object_id: str
    changes: dict[str, Any]
    data: dict[str, Any]
    request_id: str | None
    client_addr: str | None


@router.get("/events", response_model=list[EventOut], summary="审计事件（按序号升序，after 分页）")
def events(
    db: Db,
    object_type: str | None = Query(None, max_length=60),
    object_id: str | None = Query(None, max_length=64),
    tag: str | None = Query(None, max_length=120),
    after: int = Query(0, ge=0, description="只返回序号大于此值的事件"),
    limit: int = Query(100, ge=1, le=1000),
    actor: Actor = requires(Permission.AUDIT_READ),
) -> list[EventOut]:
    rows = list_events(db, object_type=object_type, object_id=object_id, tag=tag, after=after, limit=limit)
    return [EventOut.model_validate(e) for e in rows]
