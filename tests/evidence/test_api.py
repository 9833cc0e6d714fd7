"""The evidence API: issuing by manifest and by upload, public verification and proofs without login."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pubdata.crypto import sm3
from pubdata.evidence.models import EvidenceReceipt
from pubdata.evidence.numbers import format_receipt_no
from pubdata.files.models import StoredFile
from pubdata.identity.roles import Role
from tests.factories import make_user
from tests.files import samples

PROBLEM = "application/problem+json"


@pytest.fixture
def subject(client, db_session) -> dict[str, str]:  # type: ignore[no-untyped-def]
    make_user(db_session, Role.REGISTRATION_SUBJECT, verified=False, username="subject")
    db_session.commit()
    return samples.token_headers(client, "subject")


def row(name: str, content: bytes) -> dict[str, object]:
    return {"name": name, "sm3": samples.hexdigest(content), "size": len(content)}


def outsider_verifies(digest_hex: str, proof: dict[str, object], root_hex: str) -> bool:
    """RFC 9162 §2.1.3.2 written out as an outsider would, from the documentation alone."""
    def h(data: bytes) -> bytes:
        return sm3.digest(data)

    fn, sn = int(proof["leaf_index"]), int(proof["tree_size"]) - 1  # type: ignore[call-overload]
    r = h(b"\x00" + bytes.fromhex(digest_hex))
    for p_hex in proof["audit_path"]:  # type: ignore[attr-defined]
        p = bytes.fromhex(p_hex)
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = h(b"\x01" + p + r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = h(b"\x01" + r + p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r.hex() == root_hex


def test_manifest_receipt_then_public_check_and_proof_without_login(client, subject):
    contents = [f"第{i}个数据文件".encode() for i in range(5)]
    r = client.post("/api/v1/evidence", headers=subject,
                    json={"title": "企业登记信息", "items": [row(f"机密文件{i}.csv", c) for i, c in enumerate(contents)]})
    assert r.status_code == 201, r.text
    receipt = r.json()
    number = receipt["receipt_no"]
    assert receipt["issued_at"].endswith("+08:00")
    assert [i["name"] for i in receipt["items"]] == [f"机密文件{i}.csv" for i in range(5)]
    assert isinstance(receipt["ledger_leaf_index"], int) and receipt["hash_algorithm"] == "SM3"

    anonymous = client.get(f"/api/v1/public/evidence/{number}")
    assert anonymous.status_code == 200, anonymous.text
    public = anonymous.json()
    assert (public["merkle_root"], public["item_count"]) == (receipt["merkle_root"], 5)
    assert public["issuer"] and public["issued_at"] == receipt["issued_at"]
    assert public["items"] is None and public["holder"] is None
    assert "机密文件" not in anonymous.text

    for i, c in enumerate(contents):
        pr = client.get(f"/api/v1/public/evidence/{number}/proof", params={"digest": samples.hexdigest(c)})
        assert pr.status_code == 200, pr.text
        body = pr.json()
        assert body["leaf_index"] == i and body["tree_size"] == 5
        assert outsider_verifies(samples.hexdigest(c), body, public["merkle_root"])
    tampered = client.get(f"/api/v1/public/evidence/{number}/proof",
                          params={"digest": samples.hexdigest(contents[0])}).json()
    assert not outsider_verifies(samples.hexdigest(contents[1]), tampered, public["merkle_root"])


def test_public_receipt_shows_names_and_holder(client, subject):
    r = client.post("/api/v1/evidence", headers=subject, json={"public": True, "items": [row("公开目录.xlsx", b"x")]})
    public = client.get(f"/api/v1/public/evidence/{r.json()['receipt_no']}").json()
    assert public["items"][0]["name"] == "公开目录.xlsx" and public["holder"]


def test_multipart_upload_and_manifest_keep_the_order_of_parts(client, subject, db_session):
    parts = [
        ("files", ("证明.pdf", samples.PDF, "application/pdf")),
        ("manifest", (None, json.dumps([row("申报.csv", b"declared")]), None)),
        ("files", ("截图.png", samples.PNG, "image/png")),
        ("title", (None, "存证测试", None)),
        ("public", (None, "true", None)),
    ]
    r = client.post("/api/v1/evidence", headers=subject, files=parts)
    assert r.status_code == 201, r.text
    body = r.json()
    assert [(i["name"], i["source"]) for i in body["items"]] == [
        ("证明.pdf", "upload"), ("申报.csv", "manifest"), ("截图.png", "upload")]
    assert body["title"] == "存证测试" and body["public"] is True
    assert body["items"][0]["sm3"] == samples.hexdigest(samples.PDF)
    # the uploaded files are ordinary attachments of the subject now
    meta = client.get(f"/api/v1/files/{samples.hexdigest(samples.PNG)}", headers=subject)
    assert meta.status_code == 200 and meta.json()["filename"] == "截图.png"
    assert db_session.scalar(select(func.count()).select_from(StoredFile)) == 2


def test_bad_manifest_reports_every_problem_per_field(client, subject):
    good = row("a.csv", b"a")
    items = [good, {"name": "b", "sm3": "zz", "size": 1}, {"name": "c", "sm3": samples.hexdigest(b"c"), "size": -1},
             {"name": "d", "sm3": good["sm3"], "size": 1}]
    r = client.post("/api/v1/evidence", headers=subject, json={"items": items})
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)
    errors = {(e["field"], e["code"]) for e in r.json()["errors"]}
    assert errors == {("items.1.sm3", "invalid_digest"), ("items.2.size", "invalid_size"),
                      ("items.3.sm3", "duplicate_digest")}
    assert all(samples.has_chinese(e["message"]) for e in r.json()["errors"])


def test_too_many_items_and_bad_bodies(client, subject):
    items = [{"name": str(i), "sm3": f"{i:064x}", "size": 1} for i in range(10_001)]
    r = client.post("/api/v1/evidence", headers=subject, json={"items": items})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "too_many_items"
    r = client.post("/api/v1/evidence", headers={**subject, "content-type": "application/json"}, content=b"{oops")
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "json_invalid"
    r = client.post("/api/v1/evidence", headers=subject, json={"items": []})
    assert r.json()["errors"][0]["code"] == "evidence_empty"
    r = client.post("/api/v1/evidence", headers=subject, json={"items": "x", "public": "maybe"})
    assert r.status_code == 422
    r = client.post("/api/v1/evidence", headers=subject, content=b"x")
    assert r.status_code == 415 and r.json()["code"] == "unsupported_media_type"


def test_bad_upload_in_evidence_stores_nothing(client, subject, db_session, tmp_path: Path):
    parts = [("files", ("a.pdf", samples.PDF, "application/pdf")),
             ("files", ("evil.pdf", samples.EXE, "application/pdf"))]
    r = client.post("/api/v1/evidence", headers=subject, files=parts)
    assert r.status_code == 422 and r.json()["errors"][0] == {
        "field": "files.1", "code": "file_type_not_allowed", "message": r.json()["errors"][0]["message"]}
    # and a valid upload with an invalid manifest row: the valid file is not kept either
    parts = [("files", ("a.pdf", samples.PDF, "application/pdf")),
             ("manifest", (None, json.dumps([{"name": "x", "sm3": "bad", "size": 1}]), None))]
    r = client.post("/api/v1/evidence", headers=subject, files=parts)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "items.0.sm3"
    root = tmp_path / "files"
    assert [p for p in root.rglob("*") if p.is_file()] == []
    assert db_session.scalar(select(func.count()).select_from(StoredFile)) == 0
    assert db_session.scalar(select(func.count()).select_from(EvidenceReceipt)) == 0


def test_own_receipts_and_access_by_others(client, subject, db_session):
    make_user(db_session, Role.REGISTRATION_SUBJECT, username="other")
    db_session.commit()
    other = samples.token_headers(client, "other")
    number = client.post("/api/v1/evidence", headers=subject, json={"items": [row("a", b"a")]}).json()["receipt_no"]
    listing = client.get("/api/v1/evidence", headers=subject).json()
    assert listing["total"] == 1 and listing["items"][0]["receipt_no"] == number
    assert client.get("/api/v1/evidence", headers=other).json() == {"items": [], "total": 0}
    assert client.get(f"/api/v1/evidence/{number}", headers=subject).status_code == 200
    r = client.get(f"/api/v1/evidence/{number}", headers=other)
    assert r.status_code == 404 and r.json()["code"] == "receipt_not_found"


def test_public_lookup_errors_are_chinese(client, subject):
    number = client.post("/api/v1/evidence", headers=subject, json={"items": [row("a", b"a")]}).json()["receipt_no"]
    wrong_check = number[:-1] + ("0" if number[-1] != "0" else "1")
    cases = [
        (f"/api/v1/public/evidence/{wrong_check}", {}, 422, "validation_failed", "receipt_no_check_failed"),
        ("/api/v1/public/evidence/CZ-2026-12", {}, 422, "validation_failed", "invalid_receipt_no"),
        (f"/api/v1/public/evidence/{format_receipt_no(2199, 999_999)}", {}, 404, "receipt_not_found", None),
        (f"/api/v1/public/evidence/{number}/proof", {"digest": "nothex"}, 422, "validation_failed", "invalid_digest"),
        (f"/api/v1/public/evidence/{number}/proof", {"digest": "ab" * 32}, 404, "digest_not_in_receipt", None),
        (f"/api/v1/public/evidence/{number}/proof", {}, 422, "validation_failed", "missing"),
    ]
    for path, params, status, code, field_code in cases:
        r = client.get(path, params=params)
        assert r.status_code == status, (path, r.text)
        body = r.json()
        assert r.headers["content-type"].startswith(PROBLEM) and body["code"] == code
        assert samples.has_chinese(body["detail"])
        if field_code:
            assert body["errors"][0]["code"] == field_code and samples.has_chinese(body["errors"][0]["message"])


def test_issue_is_documented_for_json_and_multipart_without_dangling_refs(client):
    spec = client.get("/openapi.json").json()
    content = spec["paths"]["/api/v1/evidence"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(content)
    assert "$defs" not in json.dumps(content)
    assert "/api/v1/public/evidence/{receipt_no}/proof" in spec["paths"]
