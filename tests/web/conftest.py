from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from pubdata.config import Settings
from pubdata.web.app import create_app


@pytest.fixture
def app(session_maker: sessionmaker[Session], tmp_path: Path) -> FastAPI:
    return create_app(Settings(var_dir=tmp_path, secret_key="test-secret"), session_maker=session_maker)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
        yield c


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
