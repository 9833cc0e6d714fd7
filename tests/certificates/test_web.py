"""Certificates over HTTP: the public page, upload verification (good, tampered, garbage, too large), downloads."""

from __future__ import annotations

import json

import pytest

from pubdata.certificates import pdf
from pubdata.certificates.verify import document_json
from pubdata.identity.roles import Role
from pubdata.registry import codes
from tests.factories import PASSWORD, make_user


def _token(client, username):  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/auth/tokens", json={"username": username, "password": PASSWORD, "name": "t"})
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_the_public_page_shows_status_and_public_fields(client, db_session, issue):
    issued = issue()
    db_session.commit()
    page = client.get(f"/public/certificates/{issued.number}")
    assert page.status_code == 200 and 'lang="zh-CN"' in page.text
    assert 'data-status="valid"' in page.text and ">有效<" in page.text
    assert issued.app.registration.code in page.text and "签名核验通过" in page.text
    assert "<script" not in page.text and "http://" not in page.text.replace("http://www.w3.org", "")
    missing = client.get(f"/public/certificates/{codes.make(codes.CERTIFICATE, 2026, 9999)}")
    assert missing.status_code == 404 and "未找到编号为" in missing.text
    malformed = client.get("/public/certificates/GSPZ-2026-00009999-1")
    assert malformed.status_code == 404 and "格式不正确" in malformed.text
    assert client.get("/public/certificates", params={"number": f" {issued.number.lower()} "}
                      ).headers["location"] == f"/public/certificates/{issued.number}"


def test_uploaded_json_valid_tampered_and_garbage(client, db_session, issue):
    issued = issue()
    db_session.commit()
    raw = document_json(issued.doc)
    ok = client.post("/api/v1/public/certificates/verify", content=raw, headers={"Content-Type": "application/json"})
    assert ok.status_code == 200 and ok.json()["result"] == "valid"
    assert ok.json()["certificate"]["status"] == "有效"
    doc = json.loads(raw)
    doc["certificate"]["subject"]["name"] = "冒名单位"
    bad = client.post("/api/v1/public/certificates/verify", json=doc)
    assert bad.status_code == 200 and bad.json()["result"] == "invalid"
    assert "签名验证失败" in bad.json()["reason"] and bad.json()["certificate"] is None
    broken = client.post("/api/v1/public/certificates/verify", content=b'{"certificate": ',
                         headers={"Content-Type": "application/json"})
    assert broken.status_code == 200 and broken.json()["result"] == "invalid" and "JSON" in broken.json()["reason"]
    png = client.post("/api/v1/public/certificates/verify", content=b"\x89PNG\r\n\x1a\n" + b"0" * 100,
                      headers={"Content-Type": "application/json"})
    assert png.status_code == 415 and png.json()["code"] == "unsupported_media_type"
    form = client.post("/api/v1/public/certificates/verify", data={"x": "1"}, headers={"Content-Type": "text/html"})
    assert form.status_code == 415
    empty = client.post("/api/v1/public/certificates/verify", content=b"", headers={"Content-Type": "application/pdf"})
    assert empty.status_code == 415
    huge = client.post("/api/v1/public/certificates/verify", content=b"{" + b" " * (5 << 20),
                       headers={"Content-Type": "application/json"})
    assert huge.status_code == 413 and huge.json()["code"] == "file_too_large"


def test_uploads_by_multipart_form_too(client, db_session, issue):
    issued = issue()
    db_session.commit()
    r = client.post("/api/v1/public/certificates/verify",
                    files={"file": (f"{issued.number}.json", document_json(issued.doc), "application/json")})
    assert r.status_code == 200 and r.json()["valid"] is True
    r = client.post("/api/v1/public/certificates/verify", files={"other": ("a.json", b"{}", "application/json")})
    assert r.status_code == 415


def test_the_page_form_verifies_an_upload(client, db_session, issue):
    issued = issue()
    db_session.commit()
    form = client.get("/public/certificates")
    token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/public/certificates/verify", data={"csrf_token": token},
                    files={"file": ("c.json", document_json(issued.doc), "application/json")})
    assert r.status_code == 200 and 'data-result="valid"' in r.text and issued.number in r.text
    r = client.post("/public/certificates/verify", data={"csrf_token": token},
                    files={"file": ("c.png", b"\x89PNG\r\n", "image/png")})
    assert r.status_code == 415 and "既不是凭证 JSON 也不是 PDF" in r.text
    assert client.post("/public/certificates/verify", files={"file": ("c.json", b"{}", "application/json")}
                       ).status_code == 403  # no CSRF token


def test_downloads_are_for_the_holder_and_the_institution(client, db_session, issue):
    issued = issue()
    make_user(db_session, Role.REGISTRATION_SUBJECT, username="stranger")
    db_session.commit()
    assert client.get(f"/api/v1/certificates/{issued.number}/json").status_code == 401
    assert client.get(f"/api/v1/certificates/{issued.number}/json",
                      headers=_token(client, "stranger")).status_code == 403
    from pubdata.identity.models import User

    owner = db_session.get(User, issued.app.filed_by_user_id)
    r = client.get(f"/api/v1/certificates/{issued.number}/json", headers=_token(client, owner.username))
    assert r.status_code == 200 and json.loads(r.content)["certificate"]["number"] == issued.number
    assert issued.number in r.headers["content-disposition"]


@pytest.mark.pdf
def test_pdf_download_then_upload_round_trip(client, db_session, issue):
    pytest.importorskip("weasyprint")
    try:
        pdf.check_fonts()
    except pdf.PdfUnavailable as exc:
        pytest.skip(str(exc))
    issued = issue()
    from pubdata.identity.models import User

    owner = db_session.get(User, issued.app.filed_by_user_id)
    db_session.commit()
    r = client.get(f"/api/v1/certificates/{issued.number}/pdf", headers=_token(client, owner.username))
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    verdict = client.post("/api/v1/public/certificates/verify", content=r.content,
                          headers={"Content-Type": "application/pdf"}).json()
    assert verdict["result"] == "valid" and verdict["pdf_matches_record"] is True
    public = client.get(f"/api/v1/public/certificates/{issued.number}").json()
    assert public["pdf_sm3"] and verdict["certificate"]["pdf_sm3"] == public["pdf_sm3"]
