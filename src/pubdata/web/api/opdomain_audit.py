"""授权运营域 JSON API：指定人员 (OPS-25) 与实施机构的查询审计 (OPS-25, OPS-33) — thin: parse, call one
service, commit once (each state change is one audit event in that same transaction).

- ``/staff``: the operator nominates its users for its agreement in force; the agreement's implementing agency
  approves; either withdraws. Another organisation's designation is ``staff_not_found`` (404).
- ``/audit``: the implementing agency reads the queries under its agreements' grants, the counters, alerts,
  flagged patterns, and resumes a suspended grant with its reason; regulators (and the data authority) read
  province-wide without acting. A grant outside the reader's scope is ``grant_not_found`` (404).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.audit import Actor
from pubdata.identity.models import User
from pubdata.identity.permissions import Permission
from pubdata.opdomain import brakes, grants, query_audit, staff
from pubdata.opdomain.models import DataGrant, DesignatedStaff, GrantSuspension, QueryAlert
from pubdata.opdomain.query_audit import Finding, GrantSummary
from pubdata.operation.workflow import SUSPENSION
from pubdata.web.api.schemas import PROBLEM_RESPONSES
from pubdata.web.deps import Db, requires, requires_any
from pubdata.web.paging import Paging, paginate

router = APIRouter(prefix="/api/v1/opdomain", tags=["授权运营域"], responses=PROBLEM_RESPONSES)
Json = dict[str, Any]
OPERATE, SUPERVISE, AUDIT_READ = staff.OPERATE, staff.SUPERVISE, Permission.AUDIT_READ
#: How many of a grant's latest queries its detail carries.
LATEST = 50


def _row(obj: Any) -> Json:
    return {c.key: getattr(obj, c.key) for c in type(obj).__table__.columns}


def users_of(db: Session, ids: set[int | None]) -> dict[int, User]:
    wanted = {i for i in ids if i is not None}
    return {u.id: u for u in db.scalars(select(User).where(User.id.in_(wanted)))} if wanted else {}


def staff_json(row: DesignatedStaff, users: dict[int, User]) -> Json:
    user = users.get(row.user_id)
    return jsonable_encoder({**_row(row), "state_label": staff.STAFF.labels[row.state],
                             "username": user.username if user else None,
                             "full_name": user.full_name if user else None,
                             "actions": staff.STAFF.allowed_actions(row.state)})


def _staff_out(db: Session, rows: list[DesignatedStaff]) -> list[Json]:
    users = users_of(db, {r.user_id for r in rows})
    return [staff_json(r, users) for r in rows]


class NominateIn(BaseModel):
    user_id: int = Field(description="本单位的在用账户")
    duty: str = Field(max_length=200, description="岗位与职责")


class StaffDecisionIn(BaseModel):
    action: Literal["approve", "withdraw"] = Field(
        description="approve 批准（实施机构）/ withdraw 撤回（实施机构或运营机构）")
    note: str = Field("", max_length=2000, description="说明；撤回须说明理由")
    version: int | None = Field(None, description="乐观锁：读取时的版本号")


class ResumeIn(BaseModel):
    reason: str = Field(max_length=2000, description="审查结论与恢复的理由")
    version: int | None = Field(None, description="乐观锁：暂停记录读取时的版本号")


# -- designated staff (OPS-25) ---------------------------------------------------------------------------------


@router.get("/staff", summary="指定人员：运营机构看本单位提名的，实施机构看其协议下的")
def list_staff(db: Db, state: Literal["", "nominated", "approved", "withdrawn"] = "",
               actor: Actor = requires_any(OPERATE, SUPERVISE)) -> list[Json]:
    return _staff_out(db, list(db.scalars(staff.staff_query(actor=actor, state=state or None).limit(500))))


@router.post("/staff", status_code=201, summary="提名本单位用户为协议的指定人员（运营机构）")
def nominate_staff(body: NominateIn, db: Db, actor: Actor = requires(OPERATE)) -> Json:
    row = staff.nominate(db, actor=actor, user_id=body.user_id, duty=body.duty)
    db.commit()
    return _staff_out(db, [row])[0]


@router.get("/staff/{staff_id}", summary="一名指定人员")
def get_staff(staff_id: int, db: Db, actor: Actor = requires_any(OPERATE, SUPERVISE)) -> Json:
    return _staff_out(db, [staff.get_visible(db, actor=actor, staff_id=staff_id)])[0]


@router.post("/staff/{staff_id}/decision", summary="批准（实施机构）或撤回（实施机构或运营机构）指定人员")
def decide_staff(staff_id: int, body: StaffDecisionIn, db: Db,
                 actor: Actor = requires_any(OPERATE, SUPERVISE)) -> Json:
    row = staff.decide(db, actor=actor, staff_id=staff_id, action=body.action, note=body.note, version=body.version)
    db.commit()
    return _staff_out(db, [row])[0]


# -- query audit (OPS-25, OPS-33) --------------------------------------------------------------------------------


def suspension_json(s: GrantSuspension) -> Json:
    return jsonable_encoder({k: v for k, v in _row(s).items() if k != "lifted_by_user_id"}
                            | {"state_label": SUSPENSION.labels.get(s.state, s.state)})


def summary_json(s: GrantSummary) -> Json:
    g = s.grant
    return jsonable_encoder({
        "grant_id": g.id, "agreement_id": g.agreement_id, "dataset_id": g.dataset_id,
        "operator_org_id": g.operator_org_id, "expires_at": g.expires_at, "revoked_at": g.revoked_at,
        "active": grants.is_active(g, dt.datetime.now(dt.UTC)), "counters": s.counts,
        "suspended": s.suspension is not None,
        "suspension": suspension_json(s.suspension) if s.suspension else None, "alerts": s.alerts})


def entry_json(e: dict[str, Any]) -> Json:
    return jsonable_encoder({**e, "outcome_label": brakes.OUTCOME_LABELS.get(e["outcome"], e["outcome"]),
                             "reason_label": query_audit.reason_label(e["code"]) if e["code"] else None})


def finding_json(f: Finding) -> Json:
    return {"code": f.code, "label": f.label, "detail": f.detail, "event_ids": list(f.event_ids)}


def alert_json(a: QueryAlert) -> Json:
    return jsonable_encoder({**_row(a), "level_label": brakes.LEVEL_LABELS.get(a.level, a.level)})


Outcome = Literal["", "allowed", "refused", "failed", "throttled"]


@router.get("/audit/grants", summary="查询审计：范围内的数据授权及其计数、暂停状态与告警数（实施机构；监管部门只读）")
def audit_grants(db: Db, paging: Paging, operator_org_id: int | None = None,
                 actor: Actor = requires_any(SUPERVISE, AUDIT_READ)) -> Json:
    scope = query_audit.scope_of(actor)
    q = query_audit.grants_query(scope)
    if operator_org_id is not None:
        q = q.where(DataGrant.operator_org_id == operator_org_id)
    page = paginate(db, q, paging)
    return {"items": [summary_json(s) for s in query_audit.summaries(db, scope, page.items)],
            "total": page.total, "page": page.number, "size": page.size, "can_act": scope.can_act}


@router.get("/audit/grants/{grant_id}",
            summary="查询审计：一个数据授权的计数、告警、暂停记录、最近的查询与标记的查询模式")
def audit_grant(grant_id: int, db: Db, actor: Actor = requires_any(SUPERVISE, AUDIT_READ)) -> Json:
    scope = query_audit.scope_of(actor)
    grant = query_audit.visible_grant(db, scope, grant_id)
    [summary] = query_audit.summaries(db, scope, [grant])
    latest = db.scalars(query_audit.events_query(scope, grant_id=grant.id).limit(LATEST))
    held = db.scalars(select(GrantSuspension).where(GrantSuspension.grant_id == grant.id)
                      .order_by(GrantSuspension.id.desc()))
    return {**summary_json(summary), "can_act": scope.can_act,
            "alert_list": [alert_json(a) for a in db.scalars(query_audit.alerts_query(scope, grant.id).limit(100))],
            "suspensions": [suspension_json(s) for s in held],
            "queries": [entry_json(query_audit.entry(e)) for e in latest],
            "patterns": [finding_json(f) for f in query_audit.patterns(db, scope, grant)]}


@router.get("/audit/queries", summary="查询审计：范围内的查询（最新在前；拒绝的查询只记录遮盖取值后的语句）")
def audit_queries(db: Db, paging: Paging, grant_id: int | None = None, outcome: Outcome = "",
                  operator_org_id: int | None = None,
                  actor: Actor = requires_any(SUPERVISE, AUDIT_READ)) -> Json:
    scope = query_audit.scope_of(actor)
    if grant_id is not None:
        query_audit.visible_grant(db, scope, grant_id)  # outside the scope: 404, like a missing grant
    q = query_audit.events_query(scope, grant_id=grant_id, operator_org_id=operator_org_id, outcome=outcome or None)
    page = paginate(db, q, paging)
    return {"items": [entry_json(query_audit.entry(e)) for e in page.items], "total": page.total,
            "page": page.number, "size": page.size}


@router.post("/audit/grants/{grant_id}/resume", summary="审查后恢复被暂停的数据授权，须说明理由（该协议的实施机构）")
def resume_grant(grant_id: int, body: ResumeIn, db: Db, actor: Actor = requires(SUPERVISE)) -> Json:
    grants.resume(db, actor=actor, grant_id=grant_id, reason=body.reason, version=body.version)
    db.commit()
    scope = query_audit.scope_of(actor)
    [summary] = query_audit.summaries(db, scope, [query_audit.visible_grant(db, scope, grant_id)])
    return summary_json(summary)
