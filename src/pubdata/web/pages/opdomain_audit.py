"""授权运营域页面：指定人员 (OPS-25) 与实施机构的查询审计 (OPS-25, OPS-33).

- ``/opdomain/staff``: the operator nominates users of its organisation for its agreement in force and sees
  their states; the agreement's implementing agency approves the nominations waiting for it, or withdraws.
- ``/opdomain/audit``: the agency's query audit — per-grant counters, suspension and alerts, the latest
  queries (checked SQL when allowed, SQL with every literal masked when refused), flagged patterns —; and
  ``/opdomain/audit/grants/{id}`` with the resume form of a suspended grant. Regulators read it province-wide,
  without forms.

Forms work without JavaScript; a domain error shows the same page again with the values kept and the message
next to its field (status = the error's); a success redirects (303). Pages show Chinese labels, never codes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.audit import Actor
from pubdata.db.base import utcnow
from pubdata.errors import DomainError
from pubdata.identity.models import User
from pubdata.identity.permissions import Permission
from pubdata.opdomain import brakes, datasets, grants, query_audit, staff
from pubdata.opdomain.models import DataGrant, DesignatedStaff, GrantSuspension, OpDataset
from pubdata.opdomain.query_audit import Finding, Scope
from pubdata.operation.access import active_agreement
from pubdata.operation.models import Agreement
from pubdata.operation.workflow import SUSPENSION
from pubdata.web.deps import Db, csrf_protect, requires, requires_any
from pubdata.web.forms import abandon as _fail
from pubdata.web.forms import field_errors as _errors
from pubdata.web.forms import integer as _int
from pubdata.web.forms import org_names as _orgs
from pubdata.web.forms import text as _s
from pubdata.web.forms import values as _values
from pubdata.web.pages.opdomain import valid_until
from pubdata.web.paging import Paging, paginate
from pubdata.web.templating import render

router = APIRouter(include_in_schema=False)
OPERATE, SUPERVISE, AUDIT_READ = staff.OPERATE, staff.SUPERVISE, Permission.AUDIT_READ
#: The grants the audit page lists at most (an agency has a handful; the rest are reached by the filter).
GRANTS_SHOWN = 100
#: Of those, how many with queries get their patterns computed on the overview.
PATTERN_GRANTS = 20
OUTCOME_BADGES = {"allowed": "badge-verified", "refused": "badge-rejected", "failed": "badge-pending",
                  "throttled": "badge-pending"}
STAFF_BADGES = {"nominated": "badge-pending", "approved": "badge-verified", "withdrawn": "badge-rejected"}
DONE = {"nominate": "已提名，待实施机构批准。", "approve": "已批准为指定人员。", "withdraw": "已撤回。",
        "resume": "已恢复该数据授权，查询可继续进行。"}
VOCAB = {"outcomes": brakes.OUTCOME_LABELS, "outcome_badges": OUTCOME_BADGES, "levels": brakes.LEVEL_LABELS,
         "reason_label": query_audit.reason_label, "staff_labels": staff.STAFF.labels, "staff_badges": STAFF_BADGES,
         "suspension_labels": SUSPENSION.labels, "done_labels": DONE, "valid_until": valid_until}


def _datasets(db: Session, ids: set[int]) -> dict[int, str]:
    return {d.id: d.label for d in db.scalars(select(OpDataset).where(OpDataset.id.in_(ids)))} if ids else {}


def _users(db: Session, ids: set[int | None]) -> dict[int, User]:
    wanted = {i for i in ids if i is not None}
    return {u.id: u for u in db.scalars(select(User).where(User.id.in_(wanted)))} if wanted else {}


def _state_of(summary: query_audit.GrantSummary) -> tuple[str, str]:
    """(label, badge) of a grant as the audit shows it."""
    g = summary.grant
    if summary.suspension is not None:
        return "已暂停（待审查）", "badge-rejected"
    if g.revoked_at is not None:
        return "已撤销", "badge-rejected"
    return ("有效", "badge-verified") if grants.is_active(g, utcnow()) else ("已到期", "")


def _entries(events: Any) -> list[dict[str, Any]]:
    return [query_audit.entry(e) for e in events]


def _flags(findings: list[Finding]) -> dict[int, list[str]]:
    """Each flagged query's pattern labels."""
    out: dict[int, list[str]] = {}
    for f in findings:
        for eid in f.event_ids:
            if f.label not in out.setdefault(eid, []):
                out[eid].append(f.label)
    return out


def _can_browse_opdomain(actor: Actor) -> bool:
    """Whether the operation-domain tabs lead anywhere for this reader (a regulator reads the audit only)."""
    return any(actor.can(p.value) for p in (OPERATE, datasets.PROVIDE, SUPERVISE))


# -- the query audit -----------------------------------------------------------------------------------------------


@router.get("/opdomain/audit")
def audit(request: Request, db: Db, paging: Paging, grant_id: int | None = Query(None, ge=1),
          operator_org_id: int | None = Query(None, ge=1), outcome: str = Query("", max_length=20),
          actor: Actor = requires_any(SUPERVISE, AUDIT_READ)) -> Response:
    scope = query_audit.scope_of(actor)
    outcome = outcome if outcome in brakes.OUTCOMES else ""
    listed = list(db.scalars(query_audit.grants_query(scope).limit(GRANTS_SHOWN)))
    summaries = query_audit.summaries(db, scope, listed)
    chosen = query_audit.visible_grant(db, scope, grant_id) if grant_id is not None else None
    events = query_audit.events_query(scope, grant_id=grant_id, operator_org_id=operator_org_id,
                                      outcome=outcome or None)
    page = paginate(db, events, paging)
    entries = _entries(page.items)
    busy = [s.grant for s in summaries if any(s.counts.values())]
    if chosen is not None:
        busy = [chosen]
    elif operator_org_id is not None:
        busy = [g for g in busy if g.operator_org_id == operator_org_id]
    findings = [(g, f) for g in busy[:PATTERN_GRANTS] for f in query_audit.patterns(db, scope, g)]
    operators = query_audit.operator_ids(db, scope)
    return render(request, "opdomain_audit.html", {
        "scope": scope, "summaries": summaries, "states": {s.grant.id: _state_of(s) for s in summaries},
        "more_grants": len(listed) == GRANTS_SHOWN, "page": page, "entries": entries,
        "findings": findings, "flags": _flags([f for _, f in findings]),
        "orgs": _orgs(db, {*operators, *(g.operator_org_id for g in listed)}), "operators": operators,
        "datasets": _datasets(db, {g.dataset_id for g in listed} | ({chosen.dataset_id} if chosen else set())),
        "filters": {"grant_id": grant_id, "operator_org_id": operator_org_id, "outcome": outcome},
        "grant_options": listed if chosen is None or chosen in listed else [chosen, *listed],
        "browse": _can_browse_opdomain(actor), **VOCAB})


def _grant_page(request: Request, db: Session, actor: Actor, grant_id: int, paging: Any, *,
                values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                error: DomainError | None = None, status: int = 200) -> Response:
    scope: Scope = query_audit.scope_of(actor)
    grant: DataGrant = query_audit.visible_grant(db, scope, grant_id)
    [summary] = query_audit.summaries(db, scope, [grant])
    agreement = db.get(Agreement, grant.agreement_id)
    page = paginate(db, query_audit.events_query(scope, grant_id=grant.id), paging)
    findings = query_audit.patterns(db, scope, grant)
    held = list(db.scalars(select(GrantSuspension).where(GrantSuspension.grant_id == grant.id)
                           .order_by(GrantSuspension.id.desc())))
    alerts = list(db.scalars(query_audit.alerts_query(scope, grant.id).limit(100)))
    users = _users(db, {s.lifted_by_user_id for s in held})
    return render(request, "opdomain_audit_grant.html", {
        "scope": scope, "grant": grant, "summary": summary, "state": _state_of(summary), "agreement": agreement,
        "orgs": _orgs(db, {grant.operator_org_id, agreement.agency_org_id if agreement else grant.operator_org_id}),
        "datasets": _datasets(db, {grant.dataset_id}), "page": page, "entries": _entries(page.items),
        "findings": findings, "flags": _flags(findings), "suspensions": held, "alerts": alerts, "users": users,
        "can_resume": scope.can_act and summary.suspension is not None and actor.can(SUPERVISE.value),
        "values": values or {}, "errors": errors or {}, "error": error,
        "browse": _can_browse_opdomain(actor), **VOCAB}, status_code=status)


@router.get("/opdomain/audit/grants/{grant_id}")
def audit_grant(grant_id: int, request: Request, db: Db, paging: Paging,
                actor: Actor = requires_any(SUPERVISE, AUDIT_READ)) -> Response:
    return _grant_page(request, db, actor, grant_id, paging)


@router.post("/opdomain/audit/grants/{grant_id}/resume", dependencies=[Depends(csrf_protect)])
async def resume_grant(grant_id: int, request: Request, db: Db, paging: Paging,
                       actor: Actor = requires(SUPERVISE)) -> Response:
    form = await request.form()
    try:
        grants.resume(db, actor=actor, grant_id=grant_id, reason=_s(form, "reason"), version=_int(form, "version"))
        db.commit()
    except DomainError as exc:
        _fail(exc, db)
        return _grant_page(request, db, actor, grant_id, paging, values=_values(form), errors=_errors(exc),
                           error=exc, status=exc.status)
    return RedirectResponse(f"/opdomain/audit/grants/{grant_id}?done=resume", status_code=303)


# -- designated staff ------------------------------------------------------------------------------------------


def _candidates(db: Session, actor: Actor, rows: list[DesignatedStaff]) -> dict[int, str]:
    """The operator's active users not already nominated or approved for its agreement in force."""
    agreement = active_agreement(db, actor.org_id or 0)
    if agreement is None:
        return {}
    live = {r.user_id for r in rows if r.agreement_id == agreement.id and r.state in staff.LIVE}
    users = db.scalars(select(User).where(User.organisation_id == actor.org_id, User.is_active.is_(True))
                       .order_by(User.username))
    return {u.id: f"{u.full_name}（{u.username}）" for u in users if u.id not in live}


def _staff_page(request: Request, db: Session, actor: Actor, *, state: str = "", values: dict[str, Any] | None = None,
                errors: dict[str, str] | None = None, error: DomainError | None = None,
                failed_id: int | None = None, status: int = 200) -> Response:
    rows = list(db.scalars(staff.staff_query(actor=actor).limit(500)))
    is_operator = actor.can(OPERATE.value)
    agreement = active_agreement(db, actor.org_id or 0) if is_operator else None
    waiting = [r for r in rows if r.state == "nominated" and r.agency_org_id == actor.org_id]
    shown = [r for r in rows if r not in waiting and (not state or r.state == state)]
    return render(request, "opdomain_staff.html", {
        "rows": shown, "waiting": waiting, "state": state if state in staff.STAFF.labels else "",
        "is_operator": is_operator, "is_agency": actor.can(SUPERVISE.value), "agreement": agreement,
        "candidates": _candidates(db, actor, rows) if is_operator else {},
        "users": _users(db, {r.user_id for r in rows} | {r.decided_by_user_id for r in rows}),
        "orgs": _orgs(db, {r.operator_org_id for r in rows} | {r.agency_org_id for r in rows}),
        "values": values or {}, "errors": errors or {}, "error": error, "failed_id": failed_id,
        **VOCAB}, status_code=status)


@router.get("/opdomain/staff")
def staff_list(request: Request, db: Db, state: str = Query("", max_length=20),
               actor: Actor = requires_any(OPERATE, SUPERVISE)) -> Response:
    return _staff_page(request, db, actor, state=state if state in ("nominated", "approved", "withdrawn") else "")


@router.post("/opdomain/staff", dependencies=[Depends(csrf_protect)])
async def nominate(request: Request, db: Db, actor: Actor = requires(OPERATE)) -> Response:
    form = await request.form()
    try:
        staff.nominate(db, actor=actor, user_id=_int(form, "user_id") or 0, duty=_s(form, "duty"))
        db.commit()
    except DomainError as exc:
        _fail(exc, db)
        return _staff_page(request, db, actor, values=_values(form), errors=_errors(exc), error=exc,
                           status=exc.status)
    return RedirectResponse("/opdomain/staff?done=nominate", status_code=303)


@router.post("/opdomain/staff/{staff_id}", dependencies=[Depends(csrf_protect)])
async def decide(staff_id: int, request: Request, db: Db, actor: Actor = requires_any(OPERATE, SUPERVISE)) -> Response:
    form = await request.form()
    action = _s(form, "action")
    try:
        staff.decide(db, actor=actor, staff_id=staff_id, action=action, note=_s(form, "note"),
                     version=_int(form, "version"))
        db.commit()
    except DomainError as exc:
        _fail(exc, db)
        return _staff_page(request, db, actor, values=_values(form), errors=_errors(exc), error=exc,
                           failed_id=staff_id, status=exc.status)
    return RedirectResponse(f"/opdomain/staff?done={action}", status_code=303)
