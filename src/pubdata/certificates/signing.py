"""Signing certificates with the issuing institution's SM2 key, and checking signatures against public keys.

Keys are ``crypto.keys.KeyRing`` files under ``var/keys``, one ring per issuing institution, named
``cert-<统一社会信用代码>`` (``cert-platform`` when no institution can be named). The ``cert-`` prefix keeps
certificate keys apart from other keys under the same directory (the ledger's): a verifier accepts only a
key of the issuer the certificate names, so a checkpoint signature can never pass as a certificate.

Verification of stored certificates is on the public lookup's hot path, and pure-Python SM2 verification
costs about 9 ms. ``VerificationCache`` remembers outcomes keyed by the SM3 digest of the exact bytes
checked, the signature and the public key: a hit means *these* bytes verified before under *this* key, so
an edited row (different bytes) always misses and is checked again.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from pubdata.certificates.document import Envelope
from pubdata.config import Settings, get_settings
from pubdata.crypto import sm3
from pubdata.crypto.keys import KeyRing, PublicKey, all_public_keys, keys_dir

#: Same session.info key the ledger reads: one configuration gives both contexts the same ``var/keys``.
SETTINGS_INFO = "pubdata.settings"
KEY_PREFIX = "cert-"
PLATFORM_KEY = "cert-platform"
_USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")


def settings_for(session: Session) -> Settings:
    return session.info.get(SETTINGS_INFO) or get_settings()


def key_name_for(issuer_uscc: str | None) -> str:
    """The key ring of an issuing institution (one ring, rotated in place, per institution)."""
    if issuer_uscc and _USCC.match(issuer_uscc):
        return f"{KEY_PREFIX}{issuer_uscc}"
    return PLATFORM_KEY


def sign(settings: Settings, certificate: dict[str, object], *, key_name: str) -> Envelope:
    """Sign ``certificate`` (canonical bytes) with the current key of ``key_name``, made on first use."""
    envelope = Envelope(certificate=certificate, key_name=key_name, key_id="", signature=b"")
    key_id, signature = KeyRing.open(settings, key_name).sign(envelope.signed_bytes)
    return Envelope(certificate=certificate, key_name=key_name, key_id=key_id, signature=signature)


@dataclass(frozen=True)
class SignatureCheck:
    valid: bool
    #: Chinese reason when not valid.
    reason: str | None = None
    key: PublicKey | None = None


class VerificationCache:
    """Bounded LRU of signature outcomes (thread-safe; shared by the web workers' threads)."""

    def __init__(self, size: int = 200_000) -> None:
        self.size = size
        self._items: OrderedDict[bytes, bool] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def verify(self, key: PublicKey, data: bytes, signature: bytes) -> bool:
        token = sm3.digest(key.public_key + b"\x00" + signature + b"\x00" + data)
        with self._lock:
            found = self._items.get(token)
            if found is not None:
                self._items.move_to_end(token)
                self.hits += 1
                return found
            self.misses += 1
        outcome = key.verify(data, signature)
        with self._lock:
            self._items[token] = outcome
            if len(self._items) > self.size:
                self._items.popitem(last=False)
        return outcome

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0


CACHE = VerificationCache()


def check(envelope: Envelope, keys: Mapping[str, PublicKey], *, cache: VerificationCache | None = CACHE
          ) -> SignatureCheck:
    """Is ``envelope`` signed by the key of the institution it names, among the published ``keys``?

    ``cache=None`` checks every time (offline verification, tests of the cache itself)."""
    expected = key_name_for(_issuer_uscc(envelope))
    if envelope.key_name != expected:
        return SignatureCheck(False, f"签名密钥 {envelope.key_name} 不是凭证所载签发机构的密钥（应为 {expected}）。")
    key = keys.get(envelope.key_id)
    if key is None:
        return SignatureCheck(False, f"找不到签名公钥 {envelope.key_id}：它不在已公布的公钥中。")
    if key.name and key.name != envelope.key_name:
        return SignatureCheck(False, f"公钥 {envelope.key_id} 属于 {key.name}，不属于 {envelope.key_name}。")
    data = envelope.signed_bytes
    ok = cache.verify(key, data, envelope.signature) if cache is not None else key.verify(data, envelope.signature)
    if not ok:
        return SignatureCheck(False, "SM2 签名验证失败：凭证内容与签名不符（内容可能被修改）。", key)
    return SignatureCheck(True, None, key)


def _issuer_uscc(envelope: Envelope) -> str | None:
    issuer = envelope.certificate.get("issuer")
    uscc = issuer.get("uscc") if isinstance(issuer, dict) else None
    return uscc if isinstance(uscc, str) else None


class PublishedKeys:
    """Public keys under a keys directory, reloaded when a key ring file changes (rotation, new issuer).

    A ``stat`` per ring per call is the whole cost of staying current; parsing happens only on change.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._stamp: tuple[tuple[str, int, int], ...] | None = None
        self._keys: dict[str, PublicKey] = {}
        self._lock = threading.Lock()

    def _current_stamp(self) -> tuple[tuple[str, int, int], ...]:
        if not self.directory.is_dir():
            return ()
        stamp = []
        for sub in sorted(self.directory.iterdir()):
            ring = sub / "keyring.json"
            try:
                st = ring.stat()
            except (FileNotFoundError, NotADirectoryError):
                continue
            stamp.append((sub.name, st.st_mtime_ns, st.st_size))
        return tuple(stamp)

    def keys(self) -> dict[str, PublicKey]:
        stamp = self._current_stamp()
        with self._lock:
            if stamp != self._stamp:
                self._keys = {k.key_id: k for k in all_public_keys(self.directory)}
                self._stamp = stamp
            return self._keys


_published: dict[Path, PublishedKeys] = {}


def published_keys(settings: Settings) -> dict[str, PublicKey]:
    """Every public key (current and retired) of every ring under the settings' ``var/keys``."""
    directory = keys_dir(settings).resolve()
    source = _published.get(directory)
    if source is None:
        source = _published.setdefault(directory, PublishedKeys(directory))
    return source.keys()
