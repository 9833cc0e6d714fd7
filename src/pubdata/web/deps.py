"""Request-scoped dependencies: database session, the acting user, permissions and CSRF.

Every route declares exactly how it may be reached: ``requires(Permission.X)`` or ``public()``.
``web.app`` refuses to start if a route declares neither, and every unsafe page route must also
depend on ``csrf_protect``.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from pubdata.audit import Actor
from pubdata.certificates.signing import SETTINGS_INFO
from pubdata.config import Settings
from pubdata.errors import NotAuthenticated, PermissionDenied
from pubdata.identity.access import actor_for, require
from pubdata.identity.auth import resolve_api_token, resolve_session
from pubdata.identity.permissions import Permission

SESSION_COOKIE = "pubdata_session"
ANON_CSRF_COOKIE = "pubdata_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
ACCESS_ATTR = "__pubdata_access__"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_db(request: Request) -> Iterator[Session]:
    """A session per request. Routes commit explicitly before answering; anything else is rolled back."""
    session: Session = request.app.state.sessionmaker()
    # Signing and checkpoints read the app's settings (its key directory), not the process defaults.
    session.info[SETTINGS_INFO] = request.app.state.settings
    try:
        yield session
    finally:
        session.rollback()
        session.close()


Db = Annotated[Session, Depends(get_db)]


def client_addr(request: Request) -> str | None:
    return request.client.host if request.client else None


def _resolve(request: Request, db: Session) -> Actor:
    """Bearer token for machine clients, else the session cookie, else anonymous. Cached per request."""
    cached = getattr(request.state, "actor", None)
    if cached is not None:
        return cached
    settings: Settings = request.app.state.settings
    meta = {"request_id": request.state.request_id, "client_addr": client_addr(request)}
    actor = Actor.anonymous(**meta)
    auth = request.headers.get("authorization", "")
    if auth:
        scheme, _, raw = auth.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise NotAuthenticated("Authorization 头应为 “Bearer <令牌>”。", code="invalid_token")
        actor = actor_for(resolve_api_token(db, raw=raw.strip()), **meta)
        request.state.auth_method = "token"
    elif raw_cookie := request.cookies.get(SESSION_COOKIE):
        web = resolve_session(db, raw=raw_cookie, settings=settings)
        db.commit()  # persist last-seen touches and idle expiry
        if web is not None:
            request.state.web_session = web
            # Kept as a plain value: an error page is drawn after the request's session is closed.
            request.state.csrf_token = web.csrf_token
            request.state.auth_method = "session"
            actor = actor_for(web.user, **meta)
            if request.method in UNSAFE and request.url.path.startswith("/api/"):
                # A browser calling the JSON API with its cookie must prove it is our page (CSRF).
                _check_csrf(request.headers.get(CSRF_HEADER), web.csrf_token)
    request.state.actor = actor
    return actor


def current_actor(request: Request, db: Db) -> Actor:
    return _resolve(request, db)


def requires(permission: Permission) -> Any:
    """Route dependency: the caller must be signed in and hold ``permission``."""

    def dependency(request: Request, db: Db) -> Actor:
        actor = _resolve(request, db)
        require(actor, permission)
        return actor

    setattr(dependency, ACCESS_ATTR, permission.value)
    return Depends(dependency)


def requires_any(*permissions: Permission) -> Any:
    """Route dependency for a route several bodies use, each for its own step (the service checks which):
    the caller must hold at least one, so nobody else gets as far as input validation."""

    def dependency(request: Request, db: Db) -> Actor:
        actor = _resolve(request, db)
        held = [p for p in permissions if actor.can(p.value)]
        require(actor, held[0] if held else permissions[0])
        return actor

    setattr(dependency, ACCESS_ATTR, "|".join(p.value for p in permissions))
    return Depends(dependency)


def public() -> Any:
    """Route dependency for routes anyone may call; yields the actor (anonymous or signed in)."""

    def dependency(request: Request, db: Db) -> Actor:
        return _resolve(request, db)

    setattr(dependency, ACCESS_ATTR, "public")
    return Depends(dependency)


def csrf_token_for(request: Request) -> str:
    """The token forms must echo: bound to the web session, or to an anonymous cookie before login."""
    if bound := getattr(request.state, "csrf_token", None):
        return str(bound)
    token = request.cookies.get(ANON_CSRF_COOKIE) or getattr(request.state, "new_anon_csrf", None)
    if not token:
        token = secrets.token_urlsafe(32)
        request.state.new_anon_csrf = token  # set as a cookie by the middleware in web.app
    return token


def _check_csrf(given: str | None, expected: str | None) -> None:
    if not given or not expected or not hmac.compare_digest(given, expected):
        raise PermissionDenied("页面已过期或请求来源不可信，请刷新页面后重试。", code="csrf_failed")


async def csrf_protect(request: Request, db: Db) -> None:
    """Form dependency for every unsafe page route (double-submit before login, session-bound after)."""
    _resolve(request, db)
    form = await request.form()
    given = form.get(CSRF_FIELD)
    expected = getattr(request.state, "csrf_token", None) or request.cookies.get(ANON_CSRF_COOKIE)
    _check_csrf(given if isinstance(given, str) else None, expected)


csrf_protect.__pubdata_csrf__ = True


def dependency_calls(dependant: Any) -> Iterator[Callable[..., Any]]:
    for dep in dependant.dependencies:
        if dep.call is not None:
            yield dep.call
        yield from dependency_calls(dep)
