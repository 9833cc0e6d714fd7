"""RFC 9162 inclusion proofs (§2.1.3) for evidence receipts, on the shared ``crypto.merkle`` functions.

The receipt tree's entries are the files' 32-byte SM3 digests; ``crypto.merkle`` works on leaf hashes
(SM3(0x00 ‖ entry)). These two wrappers do that step, so callers here speak in file digests only.
"""

from __future__ import annotations

from collections.abc import Sequence

from pubdata.crypto import merkle


def inclusion_proof(entries: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path proving ``entries[index]`` is in the tree over ``entries``, siblings leaf-upwards."""
    if not 0 <= index < len(entries):
        raise IndexError(f"leaf {index} outside a tree of {len(entries)}")
    return merkle.inclusion_proof(index, [merkle.leaf_hash(e) for e in entries])


def verify_inclusion(entry: bytes, index: int, tree_size: int, path: Sequence[bytes], root: bytes) -> bool:
    """True when ``entry`` (a file digest) sits at ``index`` of the ``tree_size``-leaf tree with ``root``."""
    return merkle.verify_inclusion(merkle.leaf_hash(entry), index, tree_size, path, root)
