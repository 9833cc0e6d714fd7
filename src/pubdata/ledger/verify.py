"""``pubdata ledger verify``: recompute every leaf from the event rows, the tree, every checkpoint.

Three layers, each checked against the next, so a problem is named where it is:

1. events ↔ leaves: every event row has exactly one leaf, in id order, whose hash is SM3(0x00 ‖ canonical
   bytes of the row). An edited row, a deleted row, an inserted row is named by its event id.
2. leaves ↔ tree: the stored subtree hashes are recomputed from the stored leaf hashes.
3. tree ↔ checkpoints: every checkpoint's root equals the recomputed root at its size, and its SM2 signature
   holds under the public keys (the platform's key files, or a published keys document).

Layer 2 and 3 use the *stored* leaf hashes, so an edited event is reported once, as itself, and not as a
cascade of tree errors; an attacker who rewrites a leaf hash too is caught by layer 2 or, if the subtree
hashes were rewritten as well, by the first checkpoint signed after that leaf.

It reads the database in one snapshot (REPEATABLE READ on PostgreSQL) with two streaming cursors and keeps
only O(log n) hashes and the checkpoint list in memory.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, select

from pubdata.audit.models import AuditEvent
from pubdata.crypto import merkle
from pubdata.crypto.keys import PublicKey
from pubdata.ledger import checkpoints as cps
from pubdata.ledger.canonical import CanonicalError, event_bytes
from pubdata.ledger.tree import LEAVES

EVENTS = AuditEvent.__table__
BATCH = 5000

#: Problem kinds, most specific first; the CLI prints the first event-level one as "the first bad event".
EVENT_KINDS = ("event_altered", "event_deleted", "event_inserted")


@dataclass(frozen=True)
class Problem:
    kind: str
    message: str
    event_id: int | None = None
    leaf_index: int | None = None


@dataclass
class Report:
    events: int = 0
    leaves: int = 0
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)
    truncated: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad_event(self) -> Problem | None:
        """The event-level problem with the smallest event id (the first event that does not match)."""
        bad = [p for p in self.problems if p.kind in EVENT_KINDS and p.event_id is not None]
        return min(bad, key=lambda p: p.event_id or 0) if bad else None


class _Collector:
    def __init__(self, report: Report, limit: int) -> None:
        self.report, self.limit = report, limit

    def add(self, kind: str, message: str, event_id: int | None = None, leaf_index: int | None = None) -> None:
        if len(self.report.problems) < self.limit:
            self.report.problems.append(Problem(kind, message, event_id, leaf_index))
        else:
            self.report.truncated = True


def _stream(conn: Connection, stmt: Any) -> Iterator[Any]:
    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(stmt)
    for partition in result.partitions():
        yield from partition


def verify_database(engine: Engine, *, keys: Mapping[str, PublicKey], max_problems: int = 1000,
                    progress: Callable[[int], None] | None = None) -> Report:
    report = Report()
    started = time.perf_counter()
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(**options) as conn, conn.begin():
        _verify(conn, keys, report, _Collector(report, max_problems), progress)
    report.seconds = time.perf_counter() - started
    return report


def _verify(conn: Connection, keys: Mapping[str, PublicKey], report: Report, out: _Collector,
            progress: Callable[[int], None] | None) -> None:
    checkpoints = [cps.Checkpoint.from_row(r) for r in conn.execute(select(cps.TABLE).order_by(cps.TABLE.c.id))]
    report.checkpoints = len(checkpoints)
    _check_signatures(checkpoints, keys, out)
    by_size: dict[int, list[cps.Checkpoint]] = {}
    for cp in checkpoints:
        by_size.setdefault(cp.tree_size, []).append(cp)

    events = _stream(conn, select(EVENTS).order_by(EVENTS.c.id))
    leaves = _stream(conn, select(LEAVES).order_by(LEAVES.c.leaf_index))
    ev = next(events, None)
    frontier = merkle.Frontier()
    _check_roots(by_size.pop(0, []), frontier, out)
    previous_event = 0
    for leaf in leaves:
        index = frontier.size
        if leaf.leaf_index != index:
            out.add("leaf_sequence", f"叶子序号不连续：应为 {index}，实为 {leaf.leaf_index}（叶子被删除或插入）。",
                    leaf_index=leaf.leaf_index)
        if leaf.event_id <= previous_event:
            out.add("leaf_sequence", f"叶子 {leaf.leaf_index} 的事件序号 {leaf.event_id} 未按顺序递增。",
                    event_id=leaf.event_id, leaf_index=leaf.leaf_index)
        previous_event = max(previous_event, leaf.event_id)
        while ev is not None and ev.id < leaf.event_id:
            out.add("event_inserted", f"事件 #{ev.id} 不在账本中（在数据库中被直接插入？）。", event_id=ev.id)
            report.events += 1
            ev = next(events, None)
        stored = bytes(leaf.leaf_hash)
        if ev is not None and ev.id == leaf.event_id:
            report.events += 1
            try:
                recomputed = merkle.leaf_hash(event_bytes(ev))
            except CanonicalError as exc:
                recomputed = b""
                out.add("event_altered", f"事件 #{ev.id}（叶子 {index}）无法规范化：{exc}。", ev.id, index)
            if recomputed and recomputed != stored:
                out.add("event_altered",
                        f"事件 #{ev.id}（叶子 {index}）的内容与账本记录不符（在数据库中被直接修改？）。", ev.id, index)
            ev = next(events, None)
        else:
            out.add("event_deleted", f"事件 #{leaf.event_id}（叶子 {index}）已不存在（在数据库中被直接删除？）。",
                    leaf.event_id, index)
        completed = b"".join(frontier.append(stored))
        if completed != bytes(leaf.subtree_hashes):
            out.add("subtree_mismatch", f"叶子 {index} 处存储的子树哈希与重新计算的不符（账本表被改动）。",
                    leaf.event_id, index)
        if frontier.size in by_size:
            _check_roots(by_size.pop(frontier.size), frontier, out)
        if progress is not None and frontier.size % 100_000 == 0:
            progress(frontier.size)
    report.leaves = frontier.size
    while ev is not None:
        out.add("event_inserted", f"事件 #{ev.id} 不在账本中（在数据库中被直接插入？）。", event_id=ev.id)
        report.events += 1
        ev = next(events, None)
    for size, items in sorted(by_size.items()):
        for cp in items:
            out.add("checkpoint_beyond_tree",
                    f"检查点 #{cp.id} 的树大小 {size} 超过账本现有叶子数 {frontier.size}（叶子被删除？）。")
    _check_order(checkpoints, out)


def _check_roots(items: list[cps.Checkpoint], frontier: merkle.Frontier, out: _Collector) -> None:
    root = frontier.root()
    for cp in items:
        if cp.root_hash != root:
            out.add("checkpoint_mismatch",
                    f"检查点 #{cp.id}（树大小 {cp.tree_size}）的根哈希与由叶子重新计算的不符：其覆盖的叶子被改动。")


def _check_signatures(checkpoints: list[cps.Checkpoint], keys: Mapping[str, PublicKey], out: _Collector) -> None:
    for cp in checkpoints:
        if cp.key_id not in keys:
            out.add("checkpoint_key_unknown", f"检查点 #{cp.id} 的签名密钥 {cp.key_id} 不在公钥列表中。")
        elif not cp.verify(keys):
            out.add("checkpoint_signature", f"检查点 #{cp.id}（树大小 {cp.tree_size}）的 SM2 签名无效。")


def _check_order(checkpoints: list[cps.Checkpoint], out: _Collector) -> None:
    for before, after in itertools.pairwise(checkpoints):
        if after.tree_size < before.tree_size:
            out.add("checkpoint_order",
                    f"检查点 #{after.id} 的树大小 {after.tree_size} 小于之前的检查点 #{before.id}。")
