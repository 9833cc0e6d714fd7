"""The FastAPI application: JSON API under /api/v1, Chinese pages, problem+json errors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

from fastapi import FastAPI, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pubdata import __version__
from pubdata.config import Settings, get_settings
from pubdata.db.session import session_factory
from pubdata.web import problems
from pubdata.web.api import audit as audit_api
from pubdata.web.api import auth as auth_api
from pubdata.web.api import catalog as catalog_api
from pubdata.web.api import certificates as certificates_api
from pubdata.web.api import evidence as evidence_api
from pubdata.web.api import files as files_api
from pubdata.web.api import gateway as gateway_api
from pubdata.web.api import ledger as ledger_api
from pubdata.web.api import objections as objections_api
from pubdata.web.api import opdomain as opdomain_api
from pubdata.web.api import opdomain_audit as opdomain_audit_api
from pubdata.web.api import operation as operation_api
from pubdata.web.api import organisations as org_api
from pubdata.web.api import products as products_api
from pubdata.web.api import public as public_api
from pubdata.web.api import registry as registry_api
from pubdata.web.api import supervision as supervision_api
from pubdata.web.api import thirdparty as thirdparty_api
from pubdata.web.deps import ACCESS_ATTR, ANON_CSRF_COOKIE, UNSAFE, dependency_calls
from pubdata.web.pages import applicant as applicant_pages
from pubdata.web.pages import auth as auth_pages
from pubdata.web.pages import authority as authority_pages
from pubdata.web.pages import catalog as catalog_pages
from pubdata.web.pages import home as home_pages
from pubdata.web.pages import institution as institution_pages
from pubdata.web.pages import opdomain as opdomain_pages
from pubdata.web.pages import opdomain_audit as opdomain_audit_pages
from pubdata.web.pages import opdomain_exports as opdomain_export_pages
from pubdata.web.pages import operation as operation_pages
from pubdata.web.pages import products as products_pages
from pubdata.web.pages import public_certificates as public_certificate_pages
from pubdata.web.pages import public_portal as public_portal_pages
from pubdata.web.pages import verification as verification_pages

SECURITY_HEADERS = {
    # No CDN and no inline script: the platform runs on closed government networks.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class RequestContext:
    """Every HTTP response gets the request id, the security headers and, when a page made one, the anonymous
    CSRF cookie. Plain ASGI: Starlette's ``BaseHTTPMiddleware`` runs the rest of the app in a task behind memory
    streams, which cost every request — the metered gateway's included (issue 10)."""

    def __init__(self, app: ASGIApp, *, secure_cookies: bool) -> None:
        self.app = app
        self.secure_cookies = secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = Headers(scope=scope).get("x-request-id", "")[:64] or uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id

        async def send_with_context(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if token := state.get("new_anon_csrf"):
                    cookie = Response()
                    cookie.set_cookie(ANON_CSRF_COOKIE, token, httponly=True, samesite="strict",
                                      secure=self.secure_cookies)
                    headers.append("set-cookie", cookie.headers["set-cookie"])
            await send(message)

        await self.app(scope, receive, send_with_context)


def create_app(settings: Settings | None = None, session_maker: sessionmaker[Session] | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="公共数据资源登记与授权运营平台 API",
        version=__version__,
        description="甘肃省公共数据资源登记与授权运营平台。错误按 RFC 9457 以 application/problem+json 返回，"
        "含稳定的机器代码 code、中文说明 detail 与逐字段错误 errors。",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.sessionmaker = session_maker or session_factory()
    problems.install(app)

    app.add_middleware(RequestContext, secure_cookies=settings.secure_cookies)

    for module in (
        gateway_api,  # first: the metered gateway is the hot path, and FastAPI tries routes in order
        public_api, auth_api, org_api, audit_api, ledger_api, files_api, evidence_api, registry_api, objections_api,
        certificates_api, catalog_api, thirdparty_api, supervision_api, operation_api, auth_pages, home_pages,
        verification_pages, opdomain_api, products_api,
        public_certificate_pages, public_portal_pages, catalog_pages, applicant_pages, institution_pages,
        authority_pages, operation_pages, opdomain_pages, opdomain_export_pages, products_pages,
        opdomain_audit_api, opdomain_audit_pages,  # OPS-25 designated staff, OPS-33 the agency's query audit
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    check_route_access(app)
    return app


def route_access(route: APIRoute) -> str | None:
    """The access a route declares: a permission code, "public", or None when it forgot to."""
    for call in dependency_calls(route.dependant):
        if (access := getattr(call, ACCESS_ATTR, None)) is not None:
            return access
    return None


def has_csrf(route: APIRoute) -> bool:
    return any(getattr(c, "__pubdata_csrf__", False) for c in dependency_calls(route.dependant))


#: Routes FastAPI itself adds: the OpenAPI document and its browsable docs, public by design.
FRAMEWORK_PATHS = frozenset({"/openapi.json", "/api/docs", "/docs/oauth2-redirect"})


def iter_routes(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route of the app, looking inside included routers (FastAPI ≥ 0.16x includes them lazily)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from iter_routes(included.routes)
        else:
            yield route


def api_routes(app: FastAPI) -> list[APIRoute]:
    return [r for r in iter_routes(app.routes) if isinstance(r, APIRoute)]


def check_route_access(app: FastAPI) -> None:
    """Refuse to start when a route has no declared access, or an unsafe page route lacks CSRF."""
    problems_found: list[str] = []
    for route in iter_routes(app.routes):
        path = getattr(route, "path", "")
        if isinstance(route, Mount) or path in FRAMEWORK_PATHS:
            continue
        if not isinstance(route, APIRoute):
            problems_found.append(f"{path}: plain route outside the access checks")
            continue
        if route_access(route) is None:
            problems_found.append(f"{sorted(route.methods)} {route.path}: no requires()/public()")
        if not route.path.startswith("/api/") and route.methods & UNSAFE and not has_csrf(route):
            problems_found.append(f"{sorted(route.methods)} {route.path}: page form without csrf_protect")
    if problems_found:
        raise RuntimeError("routes without declared access:\n" + "\n".join(problems_found))
