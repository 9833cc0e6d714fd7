"""RFC 9162 Merkle tree hashing with SM3: leaf = SM3(0x00 ‖ data), node = SM3(0x01 ‖ left ‖ right).

Used by the ledger (every audit event is a leaf) and by the evidence service (a receipt's root over the
digests of the files put on evidence), so both can be checked with the same few lines by outsiders.

Besides hashing, this module holds everything about proofs that does not need a database:

* which subtrees a proof consists of (``inclusion_ranges``, ``consistency_ranges``, ``range_proof_ranges``),
  so a store that keeps the hashes of complete subtrees can answer with O(log n) look-ups;
* proofs over an in-memory list of leaf hashes (``inclusion_proof``, ``consistency_proof``, ``range_proof``);
* the verification functions a third party runs with nothing but hashes (``verify_inclusion``,
  ``verify_consistency``, ``root_from_range``): RFC 9162 §2.1.3.2 and §2.1.4.2, plus a contiguous-range
  proof used by the archive bundles (documented in docs/ledger-format.md).

A range ``(start, end)`` is always half-open: the leaves ``start .. end-1``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pubdata.crypto import sm3

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
HASH_SIZE = 32

Range = tuple[int, int]


def leaf_hash(data: bytes) -> bytes:
    return sm3.digest(LEAF_PREFIX + data)


def node_hash(left: bytes, right: bytes) -> bytes:
    return sm3.digest(NODE_PREFIX + left + right)


def empty_root() -> bytes:
    """MTH of the empty tree: SM3 of the empty string (RFC 9162 §2.1.1)."""
    return sm3.digest(b"")


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


# --- Subtree arithmetic -------------------------------------------------------------------------------

def perfect_pieces(start: int, end: int) -> list[tuple[int, int]]:
    """The complete subtrees ``(level, index)`` whose right fold is MTH(D[start:end]), largest first.

    A complete subtree of level L and index i covers the leaves ``i·2^L .. (i+1)·2^L - 1``. Every subtree
    that occurs in RFC 9162's recursion starts at a multiple of its largest piece, which is what makes the
    decomposition valid; other ranges are refused.
    """
    size = end - start
    if start < 0 or size <= 0:
        raise ValueError(f"empty or negative range [{start}, {end})")
    if start % (1 << (size.bit_length() - 1)):
        raise ValueError(f"[{start}, {end}) is not a subtree of an RFC 9162 tree")
    pieces = []
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            pieces.append((level, start >> level))
            start += 1 << level
    return pieces


def fold(hashes: Sequence[bytes]) -> bytes:
    """Right fold of subtree hashes, largest first: MTH of their concatenation."""
    if not hashes:
        return empty_root()
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The subtrees of PATH(index, D[size]) (RFC 9162 §2.1.3.1), from the leaf upwards."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    out: list[Range] = []
    start = 0
    while size > 1:
        k = _split(size)
        if index < k:
            out.append((start + k, start + size))
            size = k
        else:
            out.append((start, start + k))
            index, start, size = index - k, start + k, size - k
    out.reverse()
    return out


def consistency_ranges(first: int, second: int) -> list[Range]:
    """The subtrees of PROOF(first, D[second]) (RFC 9162 §2.1.4.1), in proof order."""
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from {first} to {second}")
    out: list[Range] = []
    start, size, m, complete = 0, second, first, True
    while m != size:
        k = _split(size)
        if m <= k:
            out.append((start + k, start + size))
            size = k
        else:
            out.append((start, start + k))
            m, start, size, complete = m - k, start + k, size - k, False
    if not complete:
        out.append((start, start + size))
    out.reverse()
    return out


def range_proof_ranges(start: int, end: int, size: int) -> list[Range]:
    """The subtrees that, with the leaves ``start .. end-1``, give MTH(D[size]); left to right.

    Walk the RFC 9162 tree from the root: a subtree wholly outside the range is one proof hash, a subtree
    wholly inside is computed from the leaves, any other is split. For one leaf these are the inclusion
    path's subtrees in left-to-right order; in general at most two per level.
    """
    if not 0 <= start < end <= size:
        raise ValueError(f"leaves [{start}, {end}) are not in a tree of {size}")
    out: list[Range] = []
    stack = [(0, size)]
    while stack:
        lo, hi = stack.pop()
        if hi <= start or lo >= end:
            out.append((lo, hi))
        elif not (start <= lo and hi <= end):
            k = _split(hi - lo)
            stack.append((lo + k, hi))
            stack.append((lo, lo + k))
    return out


# --- Proofs over a list of leaf hashes -------------------------------------------------------------------

SubtreeHash = Callable[[int, int], bytes]


def list_subtree_hash(hashes: Sequence[bytes]) -> SubtreeHash:
    """MTH(D[start:end]) over an in-memory list, for the proof builders below."""
    return lambda start, end: root_of_leaf_hashes(hashes[start:end])


def inclusion_proof(index: int, hashes: Sequence[bytes]) -> list[bytes]:
    sub = list_subtree_hash(hashes)
    return [sub(a, b) for a, b in inclusion_ranges(index, len(hashes))]


def consistency_proof(first: int, hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(first, D[len(hashes)])."""
    sub = list_subtree_hash(hashes)
    return [sub(a, b) for a, b in consistency_ranges(first, len(hashes))]


def range_proof(start: int, end: int, hashes: Sequence[bytes]) -> list[bytes]:
    sub = list_subtree_hash(hashes)
    return [sub(a, b) for a, b in range_proof_ranges(start, end, len(hashes))]


# --- Verification: what an outsider runs -----------------------------------------------------------------

def root_from_inclusion_proof(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes | None:
    """The root implied by a leaf hash at ``index`` and its audit path (RFC 9162 §2.1.3.2); None if malformed."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes) -> bool:
    """True when ``leaf`` (a leaf *hash*) is at ``index`` in the tree of ``size`` leaves with ``root_hash``."""
    return root_from_inclusion_proof(leaf, index, size, proof) == root_hash


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """True when the tree of ``second`` leaves extends the tree of ``first`` leaves (RFC 9162 §2.1.4.2)."""
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    path = list(proof)
    if not path:
        return False
    if first & (first - 1) == 0:  # an exact power of two: the old root is itself a node of the new tree
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


def root_from_range(start: int, leaves: Sequence[bytes], size: int, proof: Sequence[bytes]) -> bytes | None:
    """The root implied by the leaf hashes of ``start .. start+len(leaves)-1`` and a range proof; None if malformed."""
    end = start + len(leaves)
    if not 0 <= start < end <= size:
        return None
    remaining = iter(proof)

    def calc(lo: int, hi: int) -> bytes | None:
        if hi <= start or lo >= end:
            return next(remaining, None)
        if start <= lo and hi <= end:
            acc = Frontier()
            for i in range(lo - start, hi - start):
                acc.append(leaves[i])
            return acc.root()
        k = _split(hi - lo)
        left = calc(lo, lo + k)
        right = calc(lo + k, hi) if left is not None else None
        return node_hash(left, right) if left is not None and right is not None else None

    result = calc(0, size)
    return result if result is not None and next(remaining, None) is None else None


class Frontier:
    """The compact form of a tree D[0:size]: the hashes of its complete subtrees, largest first.

    ``append`` is O(1) amortised and returns the hashes of the complete subtrees the new leaf finishes
    (levels 1, 2, …): exactly what a store needs to answer proofs later without rebuilding anything.
    """

    __slots__ = ("hashes", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != size.bit_count():
            raise ValueError(f"a tree of {size} leaves has {size.bit_count()} complete subtrees, not {len(hashes)}")
        self.size = size
        self.hashes = list(hashes)

    def append(self, leaf: bytes) -> list[bytes]:
        node, n, completed = leaf, self.size, []
        while n & 1:
            node = node_hash(self.hashes.pop(), node)
            completed.append(node)
            n >>= 1
        self.hashes.append(node)
        self.size += 1
        return completed

    def root(self) -> bytes:
        return fold(self.hashes)

    def copy(self) -> Frontier:
        return Frontier(self.size, self.hashes)
