"""The certificate as a document: its public content as an object, the exact bytes signed, the envelope.

A certificate is the RFC 8785 canonical JSON of ``certificate`` below; the envelope adds the signature::

    {"certificate": {...}, "signature": {"algorithm": "SM2", "hash": "SM3", "user_id": "1234567812345678",
                                         "key_name": "cert-…", "key_id": "…", "value": "<base64 DER>"}}

Only public fields go into a certificate (what the public notice showed, plus dates and identifiers), so
the envelope can be handed to anyone and checked with nothing but the published public key. Verifiers
canonicalise ``certificate`` again, so a pretty-printed copy still verifies, but any change of a value does
not.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

# The ledger's canonicaliser is RFC 8785 for exactly the JSON types used here (no floats appear in a
# certificate); one implementation keeps the ledger's leaves and certificates byte-compatible.
from pubdata.ledger.canonical import CanonicalError, canonical_bytes

FORMAT = "pubdata-certificate/1"
TITLE = "公共数据资源登记电子凭证"

#: Fields of ``certificate`` that must be present (and their JSON types) for a document to be read at all.
REQUIRED: dict[str, type | tuple[type, ...]] = {
    "format": str, "number": str, "certificate_version": int, "registration": dict, "subject": dict,
    "data": dict, "issued_on": str, "valid_from": str, "valid_until": str, "issuer": dict, "ledger": dict,
    "verify_url": str,
}
MAX_DOCUMENT_BYTES = 64 * 1024


class DocumentError(ValueError):
    """Not a certificate envelope of a format this platform knows; the message is Chinese, for users."""


@dataclass(frozen=True)
class Envelope:
    certificate: dict[str, Any]
    key_name: str
    key_id: str
    signature: bytes

    @property
    def signed_bytes(self) -> bytes:
        return canonical_bytes(self.certificate)

    @property
    def number(self) -> str:
        return str(self.certificate["number"])

    def as_dict(self) -> dict[str, Any]:
        from pubdata.crypto import sm2

        return {"certificate": self.certificate, "signature": {
            "algorithm": "SM2", "hash": "SM3", "user_id": sm2.DEFAULT_USER_ID.decode(), "key_name": self.key_name,
            "key_id": self.key_id, "value": base64.b64encode(self.signature).decode()}}

    def to_json(self) -> bytes:
        """The envelope as handed out: canonical too, so the same certificate always gives the same file."""
        return canonical_bytes(self.as_dict())


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise DocumentError("凭证 JSON 含有重复的字段名。")
    return obj


def _no_constant(name: str) -> Any:
    raise DocumentError(f"凭证 JSON 含有非标准数值 {name}。")


def sniff(raw: bytes) -> str | None:
    """"pdf", "json" or None, by content (a declared type or file name is only checked against this)."""
    if raw.startswith(b"%PDF-"):
        return "pdf"
    head = raw[:16].lstrip(b"\xef\xbb\xbf \t\r\n")
    return "json" if head.startswith(b"{") else None


def parse_json(raw: bytes) -> dict[str, Any]:
    """A JSON object from untrusted bytes (UTF-8, optional BOM), refusing duplicate names and NaN."""
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise DocumentError(f"凭证 JSON 过大（超过 {MAX_DOCUMENT_BYTES // 1024} KiB），不是本平台签发的凭证。")
    try:
        obj = json.loads(raw.decode("utf-8-sig"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise DocumentError("凭证文件不是 UTF-8 编码的 JSON。") from None
    except json.JSONDecodeError as exc:
        raise DocumentError(f"凭证文件不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）。") from None
    except RecursionError:
        raise DocumentError("凭证 JSON 嵌套过深。") from None
    if not isinstance(obj, dict):
        raise DocumentError("凭证 JSON 应为一个对象。")
    return obj


def read_envelope(obj: dict[str, Any]) -> Envelope:
    """Check the envelope's shape (not its signature) and return it."""
    cert, sig = obj.get("certificate"), obj.get("signature")
    if not isinstance(cert, dict) or not isinstance(sig, dict):
        raise DocumentError("凭证 JSON 应含 certificate 与 signature 两部分。")
    if extra := set(obj) - {"certificate", "signature"}:
        raise DocumentError("凭证 JSON 含有签名范围之外的字段：" + "、".join(sorted(extra)))
    if cert.get("format") != FORMAT:
        raise DocumentError(f"凭证格式 {cert.get('format')!r} 不是本平台的格式 {FORMAT}。")
    for name, kind in REQUIRED.items():
        if not isinstance(cert.get(name), kind) or isinstance(cert.get(name), bool):
            raise DocumentError(f"凭证内容缺少或格式错误：{name}。")
    if (sig.get("algorithm"), sig.get("hash")) != ("SM2", "SM3"):
        raise DocumentError("签名算法应为 SM2（SM3 杂凑）。")
    from pubdata.crypto import sm2

    if sig.get("user_id", sm2.DEFAULT_USER_ID.decode()) != sm2.DEFAULT_USER_ID.decode():
        raise DocumentError("签名用户标识不是标准默认值 1234567812345678。")
    key_name, key_id, value = sig.get("key_name"), sig.get("key_id"), sig.get("value")
    if not all(isinstance(v, str) and v for v in (key_name, key_id, value)):
        raise DocumentError("签名缺少 key_name、key_id 或 value。")
    try:
        signature = base64.b64decode(str(value), validate=True)
    except ValueError:
        raise DocumentError("签名值不是有效的 Base64。") from None
    try:
        canonical_bytes(cert)
    except CanonicalError as exc:
        raise DocumentError(f"凭证内容无法规范化：{exc}") from None
    return Envelope(certificate=cert, key_name=str(key_name), key_id=str(key_id), signature=signature)


def envelope_from_json(raw: bytes) -> Envelope:
    return read_envelope(parse_json(raw))


def envelope_from_stored(signed_json: str, key_name: str, key_id: str, signature: bytes) -> Envelope:
    """The envelope of a stored document (trusted shape; the signature is still checked by the caller)."""
    return Envelope(certificate=json.loads(signed_json), key_name=key_name, key_id=key_id, signature=signature)


def build(
    *,
    number: str,
    certificate_version: int,
    registration_code: str,
    registration_version: int,
    registration_type: str,
    registration_type_label: str,
    subject_name: str,
    subject_uscc: str,
    data_name: str,
    summary: str,
    issued_on: str,
    valid_from: str,
    valid_until: str,
    issuer_name: str,
    issuer_uscc: str | None,
    issue_kind: str,
    issue_kind_label: str,
    supersedes: str | None,
    ledger_event_id: int,
    ledger_leaf_index: int,
    verify_url: str,
) -> dict[str, Any]:
    """The certificate object (public fields only). Dates are ISO ``YYYY-MM-DD``, Beijing calendar dates."""
    return {
        "format": FORMAT,
        "title": TITLE,
        "number": number,
        "certificate_version": certificate_version,
        "registration": {"code": registration_code, "version": registration_version, "type": registration_type,
                         "type_label": registration_type_label},
        "subject": {"name": subject_name, "uscc": subject_uscc},
        "data": {"name": data_name, "summary": summary},
        "issued_on": issued_on,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "issue": {"kind": issue_kind, "label": issue_kind_label, "supersedes": supersedes},
        "issuer": {"name": issuer_name, "uscc": issuer_uscc},
        "ledger": {"event_id": ledger_event_id, "leaf_index": ledger_leaf_index},
        "verify_url": verify_url,
    }
