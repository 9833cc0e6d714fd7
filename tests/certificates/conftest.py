"""Certificates tests: signing keys, PDFs and the web app all use one throw-away ``var`` directory."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from pubdata import clock
from pubdata.audit import Actor
from pubdata.certificates.issue import document_of
from pubdata.certificates.models import CertificateDocument
from pubdata.certificates.signing import CACHE, SETTINGS_INFO
from pubdata.config import Settings
from pubdata.identity.roles import Role
from pubdata.registry.certificates import current_certificate
from pubdata.registry.models import Application, Certificate
from pubdata.web.app import create_app
from tests.factories import actor_of, make_user
from tests.registry.support import registered

BASE_URL = "https://pubdata.example.gov.cn"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path / "var", secret_key="test-secret", base_url=BASE_URL)


@pytest.fixture
def session_maker(connection: Connection, settings: Settings) -> sessionmaker[Session]:
    # Certify signs with the keys of session.info["pubdata.settings"]; the app reads the same directory.
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False,
                        info={SETTINGS_INFO: settings})


@pytest.fixture
def app(session_maker: sessionmaker[Session], settings: Settings) -> FastAPI:
    return create_app(settings, session_maker=session_maker)


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    CACHE.clear()


@pytest.fixture
def subject(db_session: Session) -> Actor:
    return actor_of(make_user(db_session, Role.REGISTRATION_SUBJECT))


@pytest.fixture
def clerk(db_session: Session) -> Actor:
    return actor_of(make_user(db_session, Role.REGISTRATION_INSTITUTION))


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    return tmp_path


class Issued:
    """A registered application with its certificate and signed document."""

    def __init__(self, session: Session, app: Application) -> None:
        self.app = app
        cert = current_certificate(session, app.registration_id)
        assert cert is not None
        self.cert: Certificate = cert
        doc = document_of(session, cert.id)
        assert doc is not None
        self.doc: CertificateDocument = doc

    @property
    def number(self) -> str:
        assert self.cert.number is not None
        return self.cert.number


@pytest.fixture
def issue(db_session: Session, subject: Actor, clerk: Actor, tmp: Path):  # type: ignore[no-untyped-def]
    """``issue(on=date, **content_overrides)``: a first registration certified on ``on``."""

    def make(on: dt.date = dt.date(2026, 11, 16), **overrides: Any) -> Issued:
        with clock.frozen(on):
            app = registered(db_session, subject, clerk, tmp, **overrides)
        return Issued(db_session, app)

    return make
