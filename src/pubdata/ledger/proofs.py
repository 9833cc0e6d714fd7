"""Inclusion and consistency proofs from the stored tree: O(log n) subtree look-ups in one query each.

Sizes and indices come from outside (the public API): anything out of range is a ``LedgerRangeError``
(HTTP 400, machine code, Chinese message), checked before any query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from pubdata.crypto import merkle
from pubdata.errors import DomainError, NotFound
from pubdata.ledger import checkpoints as cps
from pubdata.ledger import tree


class LedgerRangeError(DomainError):
    status = 400
    code = "ledger_out_of_range"


@dataclass(frozen=True)
class InclusionProof:
    leaf_index: int
    tree_size: int
    event_id: int
    leaf_hash: bytes
    root_hash: bytes
    hashes: list[bytes]
    checkpoint: cps.Checkpoint | None

    def verify(self) -> bool:
        return merkle.verify_inclusion(self.leaf_hash, self.leaf_index, self.tree_size, self.hashes, self.root_hash)

    def as_dict(self) -> dict[str, Any]:
        return {"leaf_index": self.leaf_index, "tree_size": self.tree_size, "event_id": self.event_id,
                "leaf_hash": self.leaf_hash.hex(), "root_hash": self.root_hash.hex(),
                "hashes": [h.hex() for h in self.hashes],
                "checkpoint": self.checkpoint.as_dict() if self.checkpoint else None}


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    first_root: bytes
    second_root: bytes
    hashes: list[bytes]
    first_checkpoint: cps.Checkpoint | None
    second_checkpoint: cps.Checkpoint | None

    def verify(self) -> bool:
        return merkle.verify_consistency(self.first, self.second, self.first_root, self.second_root, self.hashes)

    def as_dict(self) -> dict[str, Any]:
        return {"first": self.first, "second": self.second, "first_root": self.first_root.hex(),
                "second_root": self.second_root.hex(), "hashes": [h.hex() for h in self.hashes],
                "first_checkpoint": self.first_checkpoint.as_dict() if self.first_checkpoint else None,
                "second_checkpoint": self.second_checkpoint.as_dict() if self.second_checkpoint else None}


def _size_in_range(conn: Connection, size: int, field: str, *, minimum: int = 1) -> None:
    current = tree.tree_size(conn)
    if not minimum <= size <= current:
        raise LedgerRangeError(
            f"{field} 超出范围：账本当前共有 {current} 个叶子，{field} 应在 {minimum} 至 {current} 之间，收到 {size}。",
            code="ledger_tree_size_out_of_range",
        )


def default_tree_size(conn: Connection) -> int:
    """The latest checkpoint's size, or the current size while there is no checkpoint."""
    latest = cps.latest(conn)
    return latest.tree_size if latest else tree.tree_size(conn)


def inclusion(conn: Connection, *, leaf_index: int | None = None, event_id: int | None = None,
              tree_size: int | None = None) -> InclusionProof:
    """Proof that a leaf (given by index or by its event id) is in the tree of ``tree_size`` leaves."""
    if (leaf_index is None) == (event_id is None):
        raise LedgerRangeError("请给出 leaf_index 或 event_id 之一。", code="ledger_leaf_required")
    if event_id is not None:
        if not 0 < event_id < 2**63:
            raise NotFound(f"审计事件 #{event_id} 不在账本中。", code="ledger_event_not_found")
        leaf_index = conn.execute(select(tree.LEAVES.c.leaf_index).where(tree.LEAVES.c.event_id == event_id)).scalar()
        if leaf_index is None:
            raise NotFound(f"审计事件 #{event_id} 不在账本中。", code="ledger_event_not_found")
    assert leaf_index is not None
    size = default_tree_size(conn) if tree_size is None else tree_size
    _size_in_range(conn, size, "tree_size")
    if not 0 <= leaf_index < size:
        raise LedgerRangeError(
            f"leaf_index 超出范围：大小为 {size} 的树中叶子序号应在 0 至 {size - 1} 之间，收到 {leaf_index}。",
            code="ledger_leaf_index_out_of_range",
        )
    events: dict[int, int] = {}
    *path, root, leaf = tree.range_hashes(
        conn, [*merkle.inclusion_ranges(leaf_index, size), (0, size), (leaf_index, leaf_index + 1)], events)
    return InclusionProof(leaf_index, size, events[leaf_index], leaf, root, path, cps.with_size(conn, size))


def consistency(conn: Connection, *, first: int, second: int | None = None) -> ConsistencyProof:
    """Proof that the tree of ``second`` leaves (default: the latest checkpoint) extends that of ``first``."""
    second = default_tree_size(conn) if second is None else second
    _size_in_range(conn, second, "second")
    if not 1 <= first <= second:
        raise LedgerRangeError(f"first 超出范围：应在 1 至 second（{second}）之间，收到 {first}。",
                               code="ledger_tree_size_out_of_range")
    *hashes, first_root, second_root = tree.range_hashes(
        conn, [*merkle.consistency_ranges(first, second), (0, first), (0, second)])
    return ConsistencyProof(first, second, first_root, second_root, hashes,
                            cps.with_size(conn, first), cps.with_size(conn, second))


def range_proof(conn: Connection, start: int, end: int, size: int) -> list[bytes]:
    """Hashes that, with the leaves ``start .. end-1``, give the root of the tree of ``size`` leaves."""
    return tree.range_hashes(conn, merkle.range_proof_ranges(start, end, size))
