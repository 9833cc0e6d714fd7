"""The public landing page and each role's workbench."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pubdata import rules
from pubdata.audit import Actor
from pubdata.identity.organisations import latest_verification
from pubdata.identity.permissions import Permission
from pubdata.identity.users import get_user
from pubdata.web.deps import Db, public, requires
from pubdata.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/")
def index(request: Request, db: Db, actor: Actor = public()) -> Response:
    from pubdata.ledger.checkpoints import latest
    from pubdata.registry.public_views import portal_counts

    # REG-42: the signed tree head anyone can check the platform's records against (issue 3).
    return render(request, "index.html", {"rules": rules.ALL, "checkpoint": latest(db.connection()),
                                          "counts": portal_counts(db), "notice_rule": rules.PUBLIC_NOTICE})


@router.get("/workbench")
def workbench(request: Request, db: Db, actor: Actor = requires(Permission.ACCOUNT_SELF)) -> Response:
    user = get_user(db, user_id=actor.user_id or 0)
    org = user.organisation
    pending = 0
    if actor.can(Permission.ORG_VERIFY.value):
        from pubdata.identity.organisations import pending_verifications

        pending = len(pending_verifications(db, actor=actor)) if actor.org_verified else 0
    return render(request, "workbench.html", {
        "user": user, "org": org, "verification": latest_verification(db, org_id=org.id), "pending": pending,
    })
