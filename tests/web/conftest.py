from __future__ import annotations

import re

from fastapi.testclient import TestClient

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
