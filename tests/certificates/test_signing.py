"""The signed document: content, canonical bytes, SM2 signature (checked independently), keys, tampering."""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
import stat
import subprocess

import pytest
from sqlalchemy import select, text

from pubdata import ledger
from pubdata.audit import AuditEvent
from pubdata.certificates import document, signing
from pubdata.certificates.document import DocumentError, Envelope, envelope_from_json
from pubdata.certificates.verify import document_json, lookup
from pubdata.crypto import sm2, sm3
from pubdata.crypto.keys import KeyRing, PublicKey, keys_dir
from pubdata.ledger.canonical import canonical_bytes
from tests.certificates.conftest import BASE_URL

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl command not installed")

# GM/T 0003.5 example key (the same vector tests/crypto/test_sm2.py checks the primitives against).
GMT_D = 0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8


def test_the_certificate_holds_every_public_field_and_nothing_else(db_session, issue, subject):
    issued = issue(on=dt.date(2026, 11, 16))
    c = json.loads(issued.doc.signed_json)
    assert c["format"] == document.FORMAT and c["number"] == issued.number
    assert c["registration"]["code"] == issued.app.registration.code
    assert c["subject"]["name"] and len(c["subject"]["uscc"]) == 18
    assert c["data"] == {"name": "全省公路路网运行监测数据",
                         "summary": "全省高速公路和国省干线的路况、流量与事件数据。"}
    assert (c["issued_on"], c["valid_from"], c["valid_until"]) == ("2026-11-16", "2026-11-16", "2029-11-15")
    assert c["registration"]["type_label"] == "数据资源" and c["certificate_version"] == 1
    assert c["issue"] == {"kind": "first", "label": "首次登记", "supersedes": None}
    assert c["verify_url"] == f"{BASE_URL}/public/certificates/{issued.number}"
    assert c["issuer"]["uscc"] and issued.doc.key_name == f"cert-{c['issuer']['uscc']}"
    # Only public facts: nothing of the registration content beyond name, type and summary.
    flat = issued.doc.signed_json
    for private in ("operator_uscc", "security_assessment", "storage", "contains_sensitive", "phone"):
        assert private not in flat
    # Exactly the RFC 8785 bytes, and their digest recorded.
    assert issued.doc.signed_json.encode() == canonical_bytes(c)
    assert issued.doc.document_sm3 == sm3.hexdigest(issued.doc.signed_json.encode())


def test_the_issuing_event_and_its_ledger_leaf_are_named(db_session, issue):
    issued = issue()
    c = json.loads(issued.doc.signed_json)
    event = db_session.get(AuditEvent, c["ledger"]["event_id"])
    assert event.tag == "registry:certificate:issued" and event.data["certificate"] == issued.number
    assert c["ledger"]["leaf_index"] == ledger.leaf_index_of(db_session, event) == issued.doc.ledger_leaf_index
    signed = db_session.scalar(select(AuditEvent).where(AuditEvent.tag == "certificates:certificate:signed")
                               .order_by(AuditEvent.id.desc()))
    assert signed.data["document_sm3"] == issued.doc.document_sm3  # the ledger holds the fingerprint


def test_keys_are_made_on_first_use_with_safe_permissions(issue, settings):
    issued = issue()
    ring = keys_dir(settings) / issued.doc.key_name
    assert stat.S_IMODE(keys_dir(settings).stat().st_mode) == 0o700
    assert stat.S_IMODE(ring.stat().st_mode) == 0o700
    assert stat.S_IMODE((ring / f"{issued.doc.key_id}.pem").stat().st_mode) == 0o600


def test_the_signature_verifies_with_the_published_key(issue, settings):
    issued = issue()
    keys = signing.published_keys(settings)
    envelope = envelope_from_json(document_json(issued.doc))
    assert signing.check(envelope, keys, cache=None).valid
    assert keys[issued.doc.key_id].verify(issued.doc.signed_json.encode(), issued.doc.signature)


@needs_openssl
def test_openssl_verifies_a_certificate_signature(issue, settings, tmp_path):
    """An independent SM2 implementation (OpenSSL 3) accepts the signature over the canonical bytes."""
    issued = issue()
    ring = keys_dir(settings) / issued.doc.key_name
    msg, sig = tmp_path / "cert.json", tmp_path / "cert.sig"
    msg.write_bytes(issued.doc.signed_json.encode())
    sig.write_bytes(issued.doc.signature)
    command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(ring / f"{issued.doc.key_id}.pub.pem"),
               "-in", str(msg), "-sigfile", str(sig), "-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678"]
    subprocess.run(command, check=True, capture_output=True)
    msg.write_bytes(issued.doc.signed_json.replace("2029-11-15", "2039-11-15").encode())
    assert subprocess.run(command, capture_output=True).returncode != 0


def _gmt_envelope(certificate: dict) -> tuple[Envelope, dict[str, PublicKey]]:
    pub = sm2.public_key_of(GMT_D)
    key = PublicKey(name=signing.key_name_for(certificate["issuer"]["uscc"]), key_id=sm2.key_id(pub),
                    public_key=pub, created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    sig = sm2.sign(GMT_D, canonical_bytes(certificate), public_key=pub)
    return Envelope(certificate, key.name, key.key_id, sig), {key.key_id: key}


def test_round_trip_with_the_gmt_0003_example_key_and_every_tampering_is_caught(issue):
    certificate = json.loads(issue().doc.signed_json)
    envelope, keys = _gmt_envelope(certificate)
    good = envelope.to_json()
    assert signing.check(envelope_from_json(good), keys, cache=None).valid
    pretty = json.dumps(json.loads(good), ensure_ascii=False, indent=2).encode()
    assert signing.check(envelope_from_json(pretty), keys, cache=None).valid  # layout is not content
    for path, value in [(("valid_until",), "2099-12-31"), (("subject", "name"), "别的单位"),
                        (("data", "summary"), "改过的简介"), (("certificate_version",), 2),
                        (("ledger", "leaf_index"), 0)]:
        doc = json.loads(good)
        target = doc["certificate"]
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
        result = signing.check(envelope_from_json(json.dumps(doc, ensure_ascii=False).encode()), keys, cache=None)
        assert not result.valid and "签名验证失败" in (result.reason or ""), path
    doc = json.loads(good)
    sig = bytearray(base64.b64decode(doc["signature"]["value"]))
    sig[-1] ^= 1
    doc["signature"]["value"] = base64.b64encode(bytes(sig)).decode()
    assert not signing.check(envelope_from_json(json.dumps(doc).encode()), keys, cache=None).valid


def test_a_key_of_another_issuer_or_an_unpublished_key_is_refused(issue):
    certificate = json.loads(issue().doc.signed_json)
    envelope, keys = _gmt_envelope(certificate)
    other = Envelope(envelope.certificate, "ledger", envelope.key_id, envelope.signature)
    assert "不是凭证所载签发机构的密钥" in (signing.check(other, keys).reason or "")
    assert "不在已公布的公钥中" in (signing.check(envelope, {}).reason or "")


@pytest.mark.parametrize("raw, message", [
    (b"[1, 2]", "应为一个对象"),
    (b'{"certificate": {}, "signature": {}, "certificate": {}}', "重复的字段名"),
    (b'{"certificate": {"format": "x"}, "signature": {}}', "不是本平台的格式"),
    (b'{"a": NaN}', "非标准数值"),
    (b"\xff\xfe{", "UTF-8"),
    (b"{not json", "不是有效的 JSON"),
])
def test_malformed_documents_are_refused_with_a_reason(raw, message):
    with pytest.raises(DocumentError) as exc:
        envelope_from_json(raw)
    assert message in str(exc.value)


def test_fields_outside_the_signature_are_refused(issue):
    doc = json.loads(document_json(issue().doc))
    doc["note"] = "此凭证永久有效"
    with pytest.raises(DocumentError, match="签名范围之外"):
        envelope_from_json(json.dumps(doc, ensure_ascii=False).encode())


def test_rotation_keeps_old_certificates_verifiable(db_session, issue, settings, client):
    first = issue(on=dt.date(2026, 11, 16))
    KeyRing.open(settings, first.doc.key_name).rotate()
    # The same institution issues again, now with its new key.
    second = issue(on=dt.date(2026, 11, 17), basic={"name": "全省道路运输车辆动态监控数据"})
    assert second.doc.key_name == first.doc.key_name and second.doc.key_id != first.doc.key_id
    keys = signing.published_keys(settings)
    for issued in (first, second):
        assert lookup(db_session, issued.number, keys=keys).signature_valid
    published = client.get("/api/v1/public/keys").json()
    ids = {k["key_id"]: k for k in published["keys"]}
    assert first.doc.key_id in ids and ids[first.doc.key_id]["retired_at"]
    assert all(k["pem"].startswith("-----BEGIN PUBLIC KEY-----") for k in published["keys"])


def test_an_edited_row_shows_as_a_failed_signature_or_a_mismatch(db_session, issue, settings):
    issued = issue()
    keys = signing.published_keys(settings)
    assert lookup(db_session, issued.number, keys=keys).signature_valid
    # Someone with database access extends the validity behind the platform's back (no ORM, no audit).
    db_session.execute(text("UPDATE certificate SET valid_until = :d WHERE id = :i"),
                       {"d": dt.date(2039, 11, 15), "i": issued.cert.id})
    db_session.expire_all()
    view = lookup(db_session, issued.number, keys=keys)
    assert view.signature_valid and not view.record_matches
    assert view.valid_until == dt.date(2029, 11, 15)  # what was signed is what is shown
    assert any("有效期止" in p for p in view.problems)
    tampered = issued.doc.signed_json.replace("2029-11-15", "2039-11-15")
    db_session.execute(text("UPDATE certificate_document SET signed_json = :j WHERE id = :i"),
                       {"j": tampered, "i": issued.doc.id})
    db_session.expire_all()
    view = lookup(db_session, issued.number, keys=keys)
    assert not view.signature_valid and any("签名验证失败" in p for p in view.problems)


def test_the_verification_cache_never_hides_an_edit(issue, settings):
    issued = issue()
    keys = signing.published_keys(settings)
    cache = signing.VerificationCache(size=10)
    envelope = envelope_from_json(document_json(issued.doc))
    assert signing.check(envelope, keys, cache=cache).valid
    assert signing.check(envelope, keys, cache=cache).valid and cache.hits == 1
    changed = Envelope({**envelope.certificate, "valid_until": "2039-11-15"}, envelope.key_name, envelope.key_id,
                       envelope.signature)
    assert not signing.check(changed, keys, cache=cache).valid and cache.misses == 2
