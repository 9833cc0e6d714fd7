"""Offline verification: a certificate JSON or PDF against published public keys, with no database.

Keys come from a file (the output of ``GET /api/v1/public/keys``, a ledger bundle's ``keys.json`` or one
ring's ``keyring.json``) or a directory laid out like ``var/keys``. Offline, only what the file proves is
checked: the SM2 signature by the issuer's key and the document's shape. Current status (revoked, renewed)
and whether a PDF is the very file issued need the online page, and the report says so.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from pubdata.certificates import signing
from pubdata.certificates.document import DocumentError, Envelope, envelope_from_json, sniff
from pubdata.crypto.keys import KeyFileError, KeyRing, PublicKey, all_public_keys, load_public_keys

MAX_FILE_BYTES = 8 * 1024 * 1024


def load_keys(path: Path) -> dict[str, PublicKey]:
    """Public keys by id from a keys file or a keys directory; ``KeyFileError`` (Chinese) otherwise."""
    if path.is_dir():
        keys = all_public_keys(path)
        if not keys and (path / "keyring.json").is_file():  # a single ring's own directory
            keys = KeyRing(path.parent, path.name).public_keys()
        return {k.key_id: k for k in keys}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeyFileError(f"找不到公钥文件 {path}。") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KeyFileError(f"公钥文件 {path} 不是有效的 JSON：{exc}") from None
    if isinstance(raw, dict) and "current" in raw and "keys" in raw:  # keyring.json: names are the ring's
        name = str(raw.get("name") or path.parent.name)
        raw = {"keys": [{**k, "name": name} for k in raw["keys"] if isinstance(k, dict)]}
    return load_public_keys(raw)


@dataclass(frozen=True)
class OfflineResult:
    valid: bool
    reason: str | None
    envelope: Envelope | None = None
    key: PublicKey | None = None
    kind: str = "json"

    def lines(self, today: dt.date) -> list[str]:
        if not self.valid or self.envelope is None:
            return [f"无效：{self.reason}"]
        c = self.envelope.certificate
        key = self.key
        out = [
            f"有效：凭证 {c['number']} 的 SM2 签名验证通过。",
            f"  签发机构：{(c.get('issuer') or {}).get('name')}（密钥 {self.envelope.key_name} / {self.envelope.key_id}"
            + ("，已轮换的旧密钥" if key is not None and key.retired_at else "") + "）",
            f"  登记主体：{(c.get('subject') or {}).get('name')}；数据名称：{(c.get('data') or {}).get('name')}",
            f"  登记编码：{(c.get('registration') or {}).get('code')}；有效期：{c['valid_from']} 至 {c['valid_until']}",
        ]
        if dt.date.fromisoformat(c["valid_until"]) < today:
            out.append(f"  注意：按凭证所载有效期，该凭证已于 {c['valid_until']} 届满。")
        out.append(f"  当前状态（撤销、注销、续展更新）须在线核验：{c['verify_url']}")
        if self.kind == "pdf":
            out.append("  PDF 文件本身是否为登记机构出具的原件，须在线核验（比对 SM3 摘要）。")
        return out


def verify_file(path: Path, keys: dict[str, PublicKey]) -> OfflineResult:
    try:
        size = path.stat().st_size
    except OSError as exc:
        return OfflineResult(False, f"无法读取文件 {path}：{exc.strerror}")
    if size > MAX_FILE_BYTES:
        return OfflineResult(False, f"文件过大（{size} 字节），不是本平台出具的凭证。")
    raw = path.read_bytes()
    kind = sniff(raw)
    if kind is None:
        return OfflineResult(False, "文件既不是凭证 JSON 也不是 PDF。", kind="unknown")
    try:
        if kind == "pdf":
            from pubdata.certificates.pdf import extract_envelope

            envelope = extract_envelope(raw)
        else:
            envelope = envelope_from_json(raw)
    except DocumentError as exc:
        return OfflineResult(False, str(exc), kind=kind)
    checked = signing.check(envelope, keys, cache=None)
    return OfflineResult(checked.valid, checked.reason, envelope, checked.key, kind)
