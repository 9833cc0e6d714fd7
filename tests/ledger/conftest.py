"""Ledger fixtures: key files in a temporary directory, databases with real commits, the web app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from pubdata.config import Settings, get_settings
from pubdata.crypto.keys import KeyRing
from pubdata.db.session import get_engine
from pubdata.db.testing import scratch_engine
from pubdata.ledger.checkpoints import KEY_NAME, SETTINGS_INFO, keyring
from pubdata.web.app import create_app


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Checkpoints only on demand unless a test asks otherwise."""
    return Settings(var_dir=tmp_path, secret_key="test-secret", ledger_checkpoint_events=0,
                    ledger_checkpoint_seconds=0)


@pytest.fixture
def keys(settings: Settings) -> KeyRing:
    ring = keyring(settings)
    assert ring.name == KEY_NAME
    return ring


@pytest.fixture
def session(db_session: Session, settings: Settings) -> Session:
    """The rolled-back per-test session, with the test's settings for the ledger hooks."""
    db_session.info[SETTINGS_INFO] = settings
    return db_session


@pytest.fixture
def committed() -> Iterator[Engine]:
    """A database of its own, where commits are real (tampering, concurrency, CLI)."""
    with scratch_engine() as engine:
        yield engine


@pytest.fixture
def maker(committed: Engine, settings: Settings) -> sessionmaker[Session]:
    return sessionmaker(bind=committed, expire_on_commit=False, info={SETTINGS_INFO: settings})


@pytest.fixture
def app(session_maker: sessionmaker[Session], settings: Settings) -> FastAPI:
    session_maker.configure(info={SETTINGS_INFO: settings})
    return create_app(settings, session_maker=session_maker)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
        yield c


@pytest.fixture
def cli_env(committed: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The `pubdata` command pointed at the committed database and the test's key directory."""
    monkeypatch.setenv("PUBDATA_DATABASE_URL", committed.url.render_as_string(hide_password=False))
    monkeypatch.setenv("PUBDATA_VAR_DIR", str(settings.var_dir))
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield
    get_settings.cache_clear()
    get_engine.cache_clear()
