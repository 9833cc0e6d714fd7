"""SM2 key files under ``var/keys``: created on first use, rotated without losing old public keys.

One directory per key *name* (``ledger`` for the platform's ledger checkpoints; other contexts choose their
own, e.g. one per issuing institution)::

    var/keys/                     0700
      ledger/                     0700
        keyring.json              public: every key's id, public key, created/retired time, the current id
        <key_id>.pem              PKCS#8 private key of the current key, 0600
        <key_id>.pub.pem          SubjectPublicKeyInfo, for OpenSSL and for publishing

Rotation makes a new current key, marks the old one retired and destroys its private key file: old
signatures still verify with the kept public key, but nobody can sign with a retired key any more.
Creation and rotation hold an exclusive ``flock`` so two processes starting at once make one key.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pubdata.config import Settings
from pubdata.crypto import sm2

KEYRING_FILE = "keyring.json"
PUBLIC_KEYS_FORMAT = "pubdata-public-keys/1"


class KeyFileError(RuntimeError):
    """A key file is missing, unreadable, or readable by others."""


@dataclass(frozen=True)
class PublicKey:
    name: str
    key_id: str
    public_key: bytes
    created_at: dt.datetime
    retired_at: dt.datetime | None = None
    algorithm: str = "SM2"

    def pem(self) -> str:
        return sm2.public_key_pem(self.public_key)

    def verify(self, data: bytes, signature: bytes) -> bool:
        return sm2.verify(self.public_key, data, signature)

    def as_dict(self) -> dict[str, Any]:
        """The published form (API, archive bundles, ``--public-keys`` files)."""
        return {
            "name": self.name,
            "key_id": self.key_id,
            "algorithm": self.algorithm,
            "hash": "SM3",
            "user_id": sm2.DEFAULT_USER_ID.decode(),
            "public_key": self.public_key.hex(),
            "pem": self.pem(),
            "created_at": _iso(self.created_at),
            "retired_at": _iso(self.retired_at) if self.retired_at else None,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> PublicKey:
        try:
            point = bytes.fromhex(str(raw["public_key"]))
            kid = str(raw["key_id"])
            if raw.get("algorithm", "SM2") != "SM2":
                raise ValueError("algorithm")
            sm2.decode_point(point)
        except (KeyError, ValueError, sm2.SM2Error) as exc:
            raise KeyFileError(f"公钥记录无效：{exc}") from exc
        if sm2.key_id(point) != kid:
            raise KeyFileError(f"公钥 {kid} 的标识与公钥内容不符。")
        retired = raw.get("retired_at")
        return cls(name=str(raw.get("name", "")), key_id=kid, public_key=point,
                   created_at=_parse(str(raw.get("created_at") or "1970-01-01T00:00:00Z")),
                   retired_at=_parse(retired) if retired else None)


@dataclass(frozen=True)
class SigningKey:
    public: PublicKey
    private_key: int = field(repr=False)

    @property
    def key_id(self) -> str:
        return self.public.key_id

    def sign(self, data: bytes) -> bytes:
        return sm2.sign(self.private_key, data, public_key=self.public.public_key)


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def keys_dir(settings: Settings) -> Path:
    return settings.var_dir / "keys"


class KeyRing:
    """The keys of one name: the current signing key and every public key it ever had."""

    def __init__(self, directory: Path, name: str) -> None:
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"invalid key name {name!r}")
        self.root = directory
        self.name = name
        self.path = directory / name

    @classmethod
    def open(cls, settings: Settings, name: str) -> KeyRing:
        return cls(keys_dir(settings), name)

    # -- reading ---------------------------------------------------------------------------------------

    def _manifest(self) -> dict[str, Any]:
        path = self.path / KEYRING_FILE
        if not path.exists():
            return {"name": self.name, "current": None, "keys": []}
        return json.loads(path.read_text(encoding="utf-8"))

    def public_keys(self) -> list[PublicKey]:
        """Every key this name has had, oldest first; empty until the first key is made."""
        return [PublicKey.from_dict({**k, "name": self.name}) for k in self._manifest()["keys"]]

    def public_key(self, key_id: str) -> PublicKey | None:
        return next((k for k in self.public_keys() if k.key_id == key_id), None)

    def verify(self, data: bytes, signature: bytes, key_id: str) -> bool:
        key = self.public_key(key_id)
        return key is not None and key.verify(data, signature)

    def exists(self) -> bool:
        return self._manifest()["current"] is not None

    # -- signing ---------------------------------------------------------------------------------------

    def signing_key(self) -> SigningKey:
        """The current key; made (with its files) on first use."""
        manifest = self._manifest()
        if manifest["current"] is None:
            with self._locked():
                manifest = self._manifest()
                if manifest["current"] is None:
                    self._add_key(manifest)
                    manifest = self._manifest()
        current = manifest["current"]
        public = next(k for k in self.public_keys() if k.key_id == current)
        path = self.path / f"{current}.pem"
        try:
            mode = path.stat().st_mode
        except FileNotFoundError as exc:
            raise KeyFileError(f"找不到密钥 {self.name}/{current} 的私钥文件 {path}。") from exc
        if mode & 0o077:
            raise KeyFileError(f"私钥文件 {path} 的权限过宽（{oct(mode & 0o777)}），应为 0600。")
        d, _ = sm2.private_key_from_pem(path.read_text(encoding="ascii"))
        return SigningKey(public, d)

    def sign(self, data: bytes) -> tuple[str, bytes]:
        key = self.signing_key()
        return key.key_id, key.sign(data)

    def rotate(self) -> SigningKey:
        """Make a new current key; retire the old one and destroy its private key file."""
        with self._locked():
            manifest = self._manifest()
            old = manifest["current"]
            now = _now()
            for k in manifest["keys"]:
                if k["key_id"] == old:
                    k["retired_at"] = _iso(now)
            self._add_key(manifest)
            if old:
                (self.path / f"{old}.pem").unlink(missing_ok=True)
        return self.signing_key()

    def _add_key(self, manifest: dict[str, Any]) -> None:
        d = sm2.generate_private_key()
        point = sm2.public_key_of(d)
        kid = sm2.key_id(point)
        _write_private(self.path / f"{kid}.pem", sm2.private_key_pem(d, point))
        (self.path / f"{kid}.pub.pem").write_text(sm2.public_key_pem(point), encoding="ascii")
        manifest["keys"].append({"key_id": kid, "algorithm": "SM2", "public_key": point.hex(),
                                 "created_at": _iso(_now()), "retired_at": None})
        manifest["current"] = kid
        tmp = self.path / f".{KEYRING_FILE}.tmp"
        tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.path / KEYRING_FILE)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        for directory in (self.root, self.path):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(self.path / ".lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _write_private(path: Path, pem: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(pem)


def all_public_keys(directory: Path) -> list[PublicKey]:
    """Public keys of every key name under ``directory`` (what ``GET /api/v1/public/keys`` can publish)."""
    if not directory.is_dir():
        return []
    return [k for sub in sorted(directory.iterdir()) if (sub / KEYRING_FILE).is_file()
            for k in KeyRing(directory, sub.name).public_keys()]


def public_keys_document(keys: Iterable[PublicKey]) -> dict[str, Any]:
    return {"format": PUBLIC_KEYS_FORMAT, "keys": [k.as_dict() for k in keys]}


def load_public_keys(document: Any) -> dict[str, PublicKey]:
    """Public keys by id from a published document (``public_keys_document``) or a bare list of keys."""
    items = document.get("keys") if isinstance(document, Mapping) else document
    if not isinstance(items, list):
        raise KeyFileError("公钥文件格式有误：应含 keys 列表。")
    keys = [PublicKey.from_dict(k) for k in items if isinstance(k, Mapping)]
    return {k.key_id: k for k in keys}
