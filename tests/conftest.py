"""Shared fixtures: a migrated scratch database per test run, a rolled-back transaction per test."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from pubdata.config import Settings
from pubdata.db.testing import scratch_engine
from pubdata.web.app import create_app

# Keys, blobs and checkpoints written by code under test go to a throw-away directory, never ./var.
os.environ.setdefault("PUBDATA_VAR_DIR", tempfile.mkdtemp(prefix="pubdata-test-var-"))
# The demo's synthetic population (1,000,000 persons by default) is small in tests, so demo loads stay fast.
os.environ.setdefault("PUBDATA_DEMO_PERSONS", "20000")

#: In CI, browser and PDF tests must run: a skip of theirs becomes a failure.
REQUIRE_HEAVY = os.environ.get("PUBDATA_REQUIRE_BROWSER") == "1"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    heavy = item.get_closest_marker("browser") or item.get_closest_marker("pdf")
    if REQUIRE_HEAVY and heavy and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"PUBDATA_REQUIRE_BROWSER=1 but this test was skipped: {report.longrepr}"
    return report


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    with scratch_engine() as eng:
        yield eng


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """One outer transaction per test, rolled back at the end; commits inside become savepoints."""
    with engine.connect() as conn:
        outer = conn.begin()
        try:
            yield conn
        finally:
            outer.rollback()


@pytest.fixture
def session_maker(connection: Connection) -> sessionmaker[Session]:
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def db_session(session_maker: sessionmaker[Session]) -> Iterator[Session]:
    session = session_maker()
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def app(session_maker: sessionmaker[Session], tmp_path: Path) -> FastAPI:
    return create_app(Settings(var_dir=tmp_path, secret_key="test-secret"), session_maker=session_maker)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
        yield c


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium, one per test module (skipped when missing unless PUBDATA_REQUIRE_BROWSER=1)."""
    from tests.browser import launch_browser

    yield from launch_browser()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    from tests.browser import new_page

    yield from new_page(browser)
