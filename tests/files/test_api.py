"""The attachment API: streamed upload, metadata, download headers, Chinese problem+json errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pubdata.config import Settings
from pubdata.files.models import StoredFile
from pubdata.identity.roles import Role
from pubdata.web.app import create_app
from tests.factories import PASSWORD, make_user
from tests.files import samples
from tests.web.conftest import web_login

PROBLEM = "application/problem+json"
LIMIT = 32 * 1024


@pytest.fixture
def client(session_maker, tmp_path: Path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """The app with a small upload limit, so "too large" is cheap to provoke."""
    app = create_app(Settings(var_dir=tmp_path, secret_key="test-secret", upload_max_bytes=LIMIT),
                     session_maker=session_maker)
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
        yield c


def blobs(client: TestClient) -> list[Path]:
    root = client.app.state.settings.var_dir / "files"  # type: ignore[attr-defined]
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def alice(client, db_session) -> dict[str, str]:  # type: ignore[no-untyped-def]
    make_user(db_session, Role.REGISTRATION_SUBJECT, username="alice")
    db_session.commit()
    return samples.token_headers(client, "alice")


def post_file(client, headers, data: bytes, name: str, ctype: str = "application/octet-stream"):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/files", headers=headers, files={"file": (name, data, ctype)})


def assert_problem(r, status: int, code: str, field: str | None = "file") -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["code"] == code or any(e["code"] == code for e in body.get("errors", []))
    assert samples.has_chinese(body["detail"])
    if field is not None:
        assert [e["field"] for e in body["errors"]] == [field]
        assert all(samples.has_chinese(e["message"]) for e in body["errors"])


def test_upload_returns_the_digest_and_the_file_can_be_read_back(client, alice):
    r = post_file(client, alice, samples.PDF, "数据来源合法性证明.pdf")
    assert r.status_code == 201, r.text
    body = r.json()
    digest = samples.hexdigest(samples.PDF)
    assert body["digest"] == digest and body["algorithm"] == "SM3"
    assert (body["size"], body["media_type"], body["filename"]) == (len(samples.PDF), "application/pdf",
                                                                    "数据来源合法性证明.pdf")
    meta = client.get(f"/api/v1/files/{digest}", headers=alice)
    assert meta.status_code == 200 and meta.json()["filename"] == "数据来源合法性证明.pdf"
    content = client.get(body["download_url"], headers=alice)
    assert content.status_code == 200 and content.content == samples.PDF
    assert content.headers["content-type"] == "application/pdf"
    disposition = content.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=")
    assert f"filename*=UTF-8''{quote('数据来源合法性证明.pdf', safe='')}" in disposition
    assert content.headers["x-content-sm3"] == digest
    assert content.headers["x-content-type-options"] == "nosniff"


def test_text_download_keeps_its_type_without_an_invented_charset(client, alice):
    r = post_file(client, alice, samples.CSV_GBK, "统计表.csv", "text/csv")
    assert r.status_code == 201, r.text
    content = client.get(r.json()["download_url"], headers=alice)
    assert content.headers["content-type"] == "text/csv"
    assert content.content == samples.CSV_GBK


def test_browser_upload_with_session_cookie_needs_the_csrf_header(client, db_session):
    make_user(db_session, Role.REGISTRATION_SUBJECT, username="browser")
    db_session.commit()
    csrf = web_login(client, "browser", PASSWORD)
    r = post_file(client, {}, samples.PNG, "照片.png")
    assert_problem(r, 403, "csrf_failed", field=None)
    assert blobs(client) == []
    r = post_file(client, {"X-CSRF-Token": csrf}, samples.PNG, "照片.png")
    assert r.status_code == 201 and r.json()["media_type"] == "image/png"


@pytest.mark.parametrize(("data", "name", "code"), [
    (samples.PDF + b"0" * LIMIT, "大文件.pdf", "file_too_large"),
    (samples.EXE, "伪装.pdf", "file_type_not_allowed"),
    (samples.PDF, "程序.exe", "file_type_not_allowed"),
    (samples.PNG, "扫描件.pdf", "file_type_mismatch"),
    (b"", "空.pdf", "file_empty"),
])
def test_refused_uploads_are_chinese_problems_and_leave_nothing(client, alice, db_session, data, name, code):
    r = post_file(client, alice, data, name)
    assert_problem(r, 422, code)
    assert blobs(client) == []
    assert db_session.scalar(select(func.count()).select_from(StoredFile)) == 0


def test_declared_length_over_the_limit_is_refused_without_reading(client, alice):
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n").encode() \
        + samples.PDF + f"\r\n--{boundary}--\r\n".encode()
    headers = {**alice, "content-type": f"multipart/form-data; boundary={boundary}",
               "content-length": str(10 * LIMIT + (2 << 20))}

    def stream() -> Iterator[bytes]:
        yield body
    r = client.post("/api/v1/files", headers=headers, content=stream())
    assert_problem(r, 422, "file_too_large")


def test_truncated_multipart_is_refused_and_nothing_kept(client, alice):
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n").encode() \
        + samples.PDF + b"0" * 10_000  # no closing boundary: the client stopped half-way
    r = client.post("/api/v1/files", headers={**alice, "content-type": f"multipart/form-data; boundary={boundary}"},
                    content=body)
    assert_problem(r, 400, "invalid_multipart", field=None)
    assert blobs(client) == []


def test_missing_file_and_wrong_content_type(client, alice):
    r = client.post("/api/v1/files", headers=alice, data={"other": "x"},
                    files={"unrelated": ("a.pdf", samples.PDF, "application/pdf")})
    assert_problem(r, 422, "unexpected_file", field="unrelated")
    r = client.post("/api/v1/files", headers=alice, data={"note": "没有文件"},
                    files={"file": ("", b"", "application/octet-stream")})
    assert_problem(r, 422, "file_missing")
    r = client.post("/api/v1/files", headers=alice, json={"file": "x"})
    assert_problem(r, 415, "unsupported_media_type", field=None)


def test_two_files_in_one_upload_are_refused(client, alice):
    r = client.post("/api/v1/files", headers=alice, files=[("file", ("a.pdf", samples.PDF, "application/pdf")),
                                                           ("file", ("b.png", samples.PNG, "image/png"))])
    assert_problem(r, 422, "too_many_files")
    assert blobs(client) == []


def test_bad_digest_in_path_is_a_chinese_422(client, alice):
    for path in ("/api/v1/files/xyz", "/api/v1/files/" + "g" * 64 + "/content"):
        r = client.get(path, headers=alice)
        assert_problem(r, 422, "invalid_digest", field="digest")


def test_other_organisation_cannot_read_or_download(client, alice, db_session):
    make_user(db_session, Role.REGISTRATION_SUBJECT, username="mallory")
    make_user(db_session, Role.REGISTRATION_INSTITUTION, username="clerk")
    db_session.commit()
    digest = post_file(client, alice, samples.PDF, "证明.pdf").json()["digest"]
    mallory = samples.token_headers(client, "mallory")
    for path in (f"/api/v1/files/{digest}", f"/api/v1/files/{digest}/content"):
        assert_problem(client.get(path, headers=mallory), 404, "file_not_found", field=None)
    clerk = samples.token_headers(client, "clerk")
    assert client.get(f"/api/v1/files/{digest}/content", headers=clerk).content == samples.PDF


def test_upload_is_documented_as_multipart(client):
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/api/v1/files"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in body
