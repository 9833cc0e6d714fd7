"""Every route declares its access; anonymous callers are refused everywhere but the public routes."""

from __future__ import annotations

import re

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from pubdata.web.app import FRAMEWORK_PATHS, api_routes, check_route_access, route_access

#: The complete list of routes anyone may call. Adding one is a deliberate, reviewed act.
PUBLIC = {
    ("GET", "/"),
    ("GET", "/healthz"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/signup"),
    ("POST", "/signup"),
    ("POST", "/api/v1/auth/tokens"),
    ("POST", "/api/v1/public/signup"),
    ("GET", "/api/v1/public/rules"),
    ("GET", "/api/v1/public/regions"),
    ("GET", "/api/v1/public/industries"),
    ("GET", "/api/v1/public/calendar/add-workdays"),
    ("GET", "/api/v1/public/calendar/is-workday"),
    ("GET", "/api/v1/public/ledger/checkpoint"),
    ("GET", "/api/v1/public/ledger/checkpoints"),
    ("GET", "/api/v1/public/ledger/proof/inclusion"),
    ("GET", "/api/v1/public/ledger/proof/consistency"),
    ("GET", "/api/v1/public/ledger/keys"),
    ("GET", "/api/v1/public/evidence/{receipt_no}"),
    ("GET", "/api/v1/public/evidence/{receipt_no}/proof"),
    ("GET", "/api/v1/public/notices"),
    ("GET", "/api/v1/public/objections"),
    ("GET", "/api/v1/public/registration-form"),
    ("GET", "/api/v1/public/certificates/{number}"),
    ("POST", "/api/v1/public/certificates/verify"),
    ("GET", "/api/v1/public/keys"),
    ("GET", "/api/v1/public/announcements"),
    ("GET", "/api/v1/public/statistics"),
    ("GET", "/public/certificates"),
    ("GET", "/public/certificates/{number}"),
    ("POST", "/public/certificates/verify"),
    # The public portal (issue 7): notices, announcements, rules, statistics, the ledger, the catalog (REG-35).
    ("GET", "/notices"),
    ("GET", "/notices/{notice_id}"),
    ("GET", "/announcements"),
    ("GET", "/rules"),
    ("GET", "/statistics"),
    ("GET", "/ledger"),
    ("GET", "/catalog"),
    ("GET", "/catalog/{registration_id}"),
    ("GET", "/api/v1/public/catalog"),
    ("GET", "/api/v1/public/catalog/{registration_id}"),
    # Authorized operation disclosure (OPS-32) and scenario demands anyone may submit (OPS-15).
    ("GET", "/public/authorizations"),
    ("GET", "/public/authorizations/report"),
    ("GET", "/api/v1/public/authorizations"),
    ("GET", "/api/v1/public/authorizations/annual-report"),
    ("GET", "/public/demands/new"),
    ("POST", "/public/demands/new"),
    ("POST", "/api/v1/operation/demands"),
    # Anyone holding an export's release manifest may check its signature (OPS-26).
    ("POST", "/api/v1/opdomain/exports/manifests/verify"),
    ("GET", "/api/v1/opdomain/exports/manifests/keys"),
    # Operators' product lists, prices and usage (OPS-32); the data-API gateway authenticates by the
    # subscription's API key itself (X-API-Key), not by a user session.
    ("GET", "/public/products"),
    ("GET", "/api/v1/public/products"),
    ("GET", "/api/v1/gateway/{product_number}/rows"),
}
FRAMEWORK = FRAMEWORK_PATHS


def all_routes(app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    return [(m, r.path, r) for r in api_routes(app) for m in sorted(r.methods)]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_public_list_matches_what_the_routes_declare(app):
    declared = {(m, p) for m, p, r in all_routes(app) if route_access(r) == "public" and p not in FRAMEWORK}
    assert declared == PUBLIC


def test_every_public_route_is_under_a_public_prefix_or_listed(app):
    for method, path, route in all_routes(app):
        if route_access(route) == "public":
            assert (method, path) in PUBLIC


def test_anonymous_caller_is_refused_on_every_non_public_route(app, client):
    checked = 0
    for method, path, _route in all_routes(app):
        if (method, path) in PUBLIC or path in FRAMEWORK:
            continue
        response = client.request(method, concrete(path), json={} if method != "GET" else None,
                                  data=None)
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, path, response.status_code, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["code"] == "not_authenticated"
        else:
            # Pages send the browser to the login form (forms without CSRF are refused first).
            assert response.status_code in {303, 403}, (method, path, response.status_code)
            if response.status_code == 303:
                assert response.headers["location"].startswith("/login?next=")
        checked += 1
    assert checked >= 10


def test_a_route_without_declared_access_stops_the_app_from_starting():
    app = FastAPI()
    router = APIRouter()

    @router.get("/api/v1/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    app.include_router(router)
    with pytest.raises(RuntimeError, match="/api/v1/forgotten"):
        check_route_access(app)


def test_a_page_form_without_csrf_stops_the_app_from_starting():
    from pubdata.identity.permissions import Permission
    from pubdata.web.deps import requires

    app = FastAPI()

    @app.post("/unsafe-form")
    def unsafe(actor=requires(Permission.ACCOUNT_SELF)) -> dict[str, str]:  # type: ignore[no-untyped-def]
        return {}

    with pytest.raises(RuntimeError, match="csrf"):
        check_route_access(app)


def test_a_plain_starlette_route_stops_the_app_from_starting():
    from starlette.responses import PlainTextResponse

    app = FastAPI()
    app.add_route("/sneaky", lambda request: PlainTextResponse("hi"))
    with pytest.raises(RuntimeError, match="/sneaky"):
        check_route_access(app)
