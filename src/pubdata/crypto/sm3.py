"""SM3 (GM/T 0004-2012) digests. OpenSSL's implementation through hashlib; pure-Python gmssl otherwise."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import BinaryIO

_HAS_OPENSSL_SM3 = "sm3" in hashlib.algorithms_available
CHUNK = 1 << 20


class _GmsslSM3:
    """Incremental facade over gmssl's one-shot sm3_hash, for OpenSSL builds without SM3."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def update(self, data: bytes) -> None:
        self._parts.append(bytes(data))

    def digest(self) -> bytes:
        from gmssl import func, sm3  # type: ignore[import-untyped]

        return bytes.fromhex(sm3.sm3_hash(func.bytes_to_list(b"".join(self._parts))))

    def hexdigest(self) -> str:
        return self.digest().hex()


def new() -> hashlib._Hash | _GmsslSM3:  # type: ignore[name-defined]
    return hashlib.new("sm3") if _HAS_OPENSSL_SM3 else _GmsslSM3()


def digest(data: bytes) -> bytes:
    h = new()
    h.update(data)
    return h.digest()


def hexdigest(data: bytes) -> str:
    return digest(data).hex()


def digest_chunks(chunks: Iterable[bytes]) -> bytes:
    h = new()
    for chunk in chunks:
        h.update(chunk)
    return h.digest()


def digest_file(fh: BinaryIO) -> bytes:
    return digest_chunks(iter(lambda: fh.read(CHUNK), b""))
