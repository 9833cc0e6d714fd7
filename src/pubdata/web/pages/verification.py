"""Real-name verification pages (REG-36): the organisation's request, the institution's queue."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from pubdata.audit import Actor
from pubdata.audit.service import history
from pubdata.errors import DomainError
from pubdata.identity import organisations as orgs
from pubdata.identity.permissions import Permission
from pubdata.web.deps import Db, csrf_protect, requires
from pubdata.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/org/verification")
def my_verification(request: Request, db: Db, actor: Actor = requires(Permission.ORG_REQUEST_VERIFICATION)) -> Response:
    org = orgs.get_organisation(db, org_id=actor.org_id or 0)
    return render(request, "org_verification.html", {
        "org": org, "verification": orgs.latest_verification(db, org_id=org.id), "fields": orgs.EVIDENCE_FIELDS,
        "values": {}, "errors": {},
        "can_request": ("request" in orgs.VERIFICATION.allowed_actions(org.verification_status)),
    })


@router.post("/org/verification", dependencies=[Depends(csrf_protect)])
async def request_verification(request: Request, db: Db,
                               actor: Actor = requires(Permission.ORG_REQUEST_VERIFICATION)) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in orgs.EVIDENCE_FIELDS}
    version = int(str(form.get("version") or 0)) or None
    try:
        orgs.request_verification(db, actor=actor, org_id=actor.org_id or 0, evidence=values, version=version)
        db.commit()
    except DomainError as exc:
        db.rollback()
        org = orgs.get_organisation(db, org_id=actor.org_id or 0)
        return render(request, "org_verification.html", {
            "org": org, "verification": orgs.latest_verification(db, org_id=org.id), "fields": orgs.EVIDENCE_FIELDS,
            "values": values, "errors": {e.field.removeprefix("evidence."): e.message for e in exc.errors},
            "error": exc, "can_request": True,
        }, status_code=exc.status)
    return RedirectResponse("/org/verification?sent=1", status_code=303)


@router.get("/institution/verifications")
def queue(request: Request, db: Db, actor: Actor = requires(Permission.ORG_VERIFY)) -> Response:
    items = [(v, orgs.get_organisation(db, org_id=v.organisation_id)) for v in orgs.pending_verifications(db, actor=actor)]
    return render(request, "verification_queue.html", {"items": items})


def _detail(request: Request, db: Db, org_id: int, **extra: object) -> Response:
    org = orgs.get_organisation(db, org_id=org_id)
    status = extra.pop("status_code", 200)
    return render(request, "verification_detail.html", {
        "org": org, "verification": orgs.latest_verification(db, org_id=org.id), "fields": orgs.EVIDENCE_FIELDS,
        "events": history(db, object_type="organisation", object_id=org.id),
        "actions": orgs.VERIFICATION.allowed_actions(org.verification_status),
        "labels": orgs.VERIFICATION.labels, "values": {}, "errors": {}, **extra,
    }, status_code=int(status))  # type: ignore[arg-type]


@router.get("/institution/verifications/{org_id}")
def detail(org_id: int, request: Request, db: Db, actor: Actor = requires(Permission.ORG_VERIFY)) -> Response:
    return _detail(request, db, org_id)


@router.post("/institution/verifications/{org_id}", dependencies=[Depends(csrf_protect)])
async def decide(org_id: int, request: Request, db: Db, actor: Actor = requires(Permission.ORG_VERIFY)) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in ("action", "reason", "checked_evidence")}
    version = int(str(form.get("version") or 0)) or None
    try:
        orgs.decide_verification(db, actor=actor, org_id=org_id, version=version, **values)
        db.commit()
    except DomainError as exc:
        db.rollback()
        return _detail(request, db, org_id, values=values, error=exc,
                       errors={e.field: e.message for e in exc.errors}, status_code=exc.status)
    return RedirectResponse("/institution/verifications?done=1", status_code=303)
