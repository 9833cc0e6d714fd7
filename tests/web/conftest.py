from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from pubdata.config import Settings
from pubdata.db.session import session_factory, unit_of_work
from pubdata.db.testing import scratch_engine
from pubdata.demo import DEMO_PASSWORD, load_demo
from tests.browser import serve

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def web_login(client: TestClient, username: str, password: str) -> str:
    """Log in through the real form; returns the session's CSRF token."""
    token = csrf_from(client.get("/login").text)
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": token, "next": "/workbench"})
    assert r.status_code == 303, r.text
    return csrf_from(client.get("/workbench").text)


# A live server over a demo database, for the browser tests (one per test module).

@pytest.fixture(scope="module")
def live_engine() -> Iterator[Engine]:
    with scratch_engine() as engine:
        with unit_of_work(engine) as session:
            load_demo(session)
        yield engine


@pytest.fixture(scope="module")
def live_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The live server's settings: its var dir holds the signing keys a sweep run by the test must use too."""
    return Settings(var_dir=tmp_path_factory.mktemp("var"), secret_key="browser")


@pytest.fixture(scope="module")
def server(live_engine: Engine, live_settings: Settings) -> Iterator[str]:
    from pubdata.web.app import create_app

    yield from serve(create_app(live_settings, session_maker=session_factory(live_engine)))


def login(page, server: str, username: str) -> None:  # type: ignore[no-untyped-def]
    """Sign in through the real login form as a demo user."""
    page.goto(f"{server}/login")
    page.fill("#f-username", username)
    page.fill("#f-password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{server}/workbench")
