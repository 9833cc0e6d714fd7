"""RFC 9162 Merkle tree hashing with SM3: leaf = SM3(0x00 ‖ data), node = SM3(0x01 ‖ left ‖ right).

Used by the ledger (every audit event is a leaf) and by the evidence service (a receipt's root over the
digests of the files put on evidence), so both can be checked with the same few lines by outsiders.
"""

from __future__ import annotations

from collections.abc import Sequence

from pubdata.crypto import sm3

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    return sm3.digest(LEAF_PREFIX + data)


def node_hash(left: bytes, right: bytes) -> bytes:
    return sm3.digest(NODE_PREFIX + left + right)


def _split(n: int) -> int:
    """The largest power of two smaller than n (RFC 9162 §2.1.1)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def root_of_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH over already leaf-hashed entries; the empty tree's root is SM3 of the empty string."""
    n = len(hashes)
    if n == 0:
        return sm3.digest(b"")
    if n == 1:
        return hashes[0]
    k = _split(n)
    return node_hash(root_of_leaf_hashes(hashes[:k]), root_of_leaf_hashes(hashes[k:]))


def root(entries: Sequence[bytes]) -> bytes:
    return root_of_leaf_hashes([leaf_hash(e) for e in entries])
