"""Sign in, sign out, sign up (pages)."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from pubdata.audit import Actor
from pubdata.errors import DomainError, FieldError
from pubdata.identity import auth
from pubdata.identity.access import actor_for
from pubdata.identity.permissions import Permission
from pubdata.identity.roles import OrgKind
from pubdata.identity.signup import SignUp, sign_up
from pubdata.reference.regions import regions
from pubdata.web.deps import SESSION_COOKIE, Db, csrf_protect, public, requires
from pubdata.web.templating import render

router = APIRouter(include_in_schema=False)

SIGNUP_ROLES = {
    "registration_subject": "登记主体（持有公共数据的单位）",
    "agent": "委托代理机构",
    "third_party_service": "第三方专业服务机构",
    "operator": "运营机构",
}


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths, so the login form cannot be used as an open redirect."""
    if not target:
        return "/workbench"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/workbench"
    return target


@router.get("/login")
def login_form(request: Request, next: str | None = None, actor: Actor = public()) -> Response:
    if actor.kind == "user":
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", {"next": _safe_next(next)})


@router.post("/login", dependencies=[Depends(csrf_protect)])
async def login(request: Request, db: Db, actor: Actor = public()) -> Response:
    form = await request.form()
    username = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    target = _safe_next(str(form.get("next") or ""))
    if not username or not password:
        errors = [FieldError(f, "required", m) for f, v, m in
                  (("username", username, "请输入登录名。"), ("password", password, "请输入口令。")) if not v]
        return render(request, "login.html", {"next": target, "username": username, "errors": errors},
                      status_code=422)
    outcome = auth.check_password(db, username=username, password=password, settings=request.app.state.settings,
                                  actor=actor)
    if outcome.error is not None:
        db.commit()  # failure counters and lockout must persist
        return render(request, "login.html", {"next": target, "username": username, "error": outcome.error},
                      status_code=outcome.error.status)
    assert outcome.user is not None
    user_actor = actor_for(outcome.user, request_id=actor.request_id, client_addr=actor.client_addr)
    _web, raw = auth.start_session(db, user=outcome.user, actor=user_actor,
                                   user_agent=request.headers.get("user-agent"))
    db.commit()
    response = RedirectResponse(target, status_code=303)
    settings = request.app.state.settings
    response.set_cookie(SESSION_COOKIE, raw, httponly=True, samesite="lax", secure=settings.secure_cookies,
                        max_age=settings.session_idle_minutes * 60 * 12)
    return response


@router.post("/logout", dependencies=[Depends(csrf_protect)])
def logout(request: Request, db: Db, actor: Actor = requires(Permission.ACCOUNT_SELF)) -> Response:
    web = getattr(request.state, "web_session", None)
    if web is not None:
        auth.end_session(db, web=web, actor=actor)
        db.commit()
    response = RedirectResponse("/login?out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _signup_context(values: dict[str, str], errors: list[FieldError] | None = None) -> dict[str, object]:
    return {
        "values": values,
        "errors": {e.field: e.message for e in errors or []},
        "error_list": errors or [],
        "kinds": [k.value for k in OrgKind],
        "roles": SIGNUP_ROLES,
        "provinces": regions(level="province"),
        "prefectures": regions(level="prefecture"),
    }


@router.get("/signup")
def signup_form(request: Request, actor: Actor = public()) -> Response:
    return render(request, "signup.html", _signup_context({"region_code": "620000", "role": "registration_subject"}))


SIGNUP_FIELDS = ("org_name", "uscc", "kind", "region_code", "role", "username", "full_name", "password", "phone")


@router.post("/signup", dependencies=[Depends(csrf_protect)])
async def signup(request: Request, db: Db, actor: Actor = public()) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in SIGNUP_FIELDS}
    try:
        sign_up(db, actor=actor, form=SignUp(**{**values, "phone": values["phone"] or None}))
        db.commit()
    except DomainError as exc:
        db.rollback()
        values.pop("password")
        return render(request, "signup.html", _signup_context(values, exc.errors), status_code=exc.status)
    return RedirectResponse("/login?signed_up=1", status_code=303)
