"""Archive bundles (OPS-37, ≥ 20 years): a period of the audit trail that verifies without the platform.

A bundle is a plain directory (tar or zip it for the archive)::

    README.md          how to read and verify the bundle by hand (copied from ledger/bundle_readme.md)
    manifest.json      format, period, leaf range, anchor checkpoint, SM3 and size of every other file
    events.jsonl       one event per line, each line exactly the canonical bytes of its leaf
    checkpoints.json   the anchor checkpoint (covers the whole period) and the period's own checkpoints
    proofs.json        range proof: period's leaves -> anchor root; consistency: each checkpoint -> anchor
    keys.json          the ledger's public keys (SM2), every key ever used

The leaves of a period are contiguous: from the first to the last event whose time falls in the period
(dates in Asia/Shanghai). docs/ledger-format.md is the full specification.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from pubdata.crypto import merkle, sm3
from pubdata.crypto.keys import KeyFileError, KeyRing, PublicKey, load_public_keys, public_keys_document
from pubdata.ledger import checkpoints as cps
from pubdata.ledger import offline, proofs, tree
from pubdata.ledger.canonical import CanonicalError, event_bytes, parse_event
from pubdata.ledger.verify import EVENTS

FORMAT = "pubdata-ledger-bundle/1"
SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
FILES = ("events.jsonl", "checkpoints.json", "proofs.json", "keys.json", "README.md")
README = Path(__file__).with_name("bundle_readme.md")


class BundleError(Exception):
    """Export refused (nothing to export, or the ledger does not verify for the period)."""


def _period_bounds(date_from: dt.date, date_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    if date_to < date_from:
        raise BundleError(f"结束日期 {date_to} 早于开始日期 {date_from}。")
    start = dt.datetime.combine(date_from, dt.time(), SHANGHAI).astimezone(dt.UTC)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), SHANGHAI).astimezone(dt.UTC)
    return start, end


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def export(engine: Engine, *, date_from: dt.date, date_to: dt.date, out: Path, keys: KeyRing) -> dict[str, Any]:
    """Write the bundle of the events dated ``date_from``..``date_to`` (inclusive) to the new directory ``out``."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BundleError(f"{out} 已存在且不是空目录。")
    start, end = _period_bounds(date_from, date_to)
    with Session(engine) as session:
        first_id, last_id = session.execute(
            select(func.min(EVENTS.c.id), func.max(EVENTS.c.id))
            .where(EVENTS.c.occurred_at >= start, EVENTS.c.occurred_at < end)
        ).one()
        if first_id is None:
            raise BundleError(f"{date_from} 至 {date_to} 期间没有审计事件。")
        ends = select(tree.LEAVES.c.event_id, tree.LEAVES.c.leaf_index).where(
            tree.LEAVES.c.event_id.in_([first_id, last_id]))
        leaf_of = {r.event_id: r.leaf_index for r in session.execute(ends)}
        if len(leaf_of) != len({first_id, last_id}):
            raise BundleError("期间首尾事件不在账本中：请先运行 pubdata ledger verify。")
        first, stop = leaf_of[first_id], leaf_of[last_id] + 1
        anchor = cps.latest(session.connection())
        session.rollback()  # a fresh transaction for the lock (SQLite cannot upgrade a stale read snapshot)
        if anchor is None or anchor.tree_size < stop:
            with session.begin():
                anchor = cps.create(session, keys=keys, reason="export")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        manifest = _write_bundle(engine, tmp, first, stop, anchor, keys, date_from, date_to)
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return manifest


def _write_bundle(engine: Engine, tmp: Path, first: int, stop: int, anchor: cps.Checkpoint, keys: KeyRing,
                  date_from: dt.date, date_to: dt.date) -> dict[str, Any]:
    with engine.connect() as conn, conn.begin():
        rows = conn.execution_options(stream_results=True, yield_per=5000).execute(
            select(EVENTS, tree.LEAVES.c.leaf_index, tree.LEAVES.c.leaf_hash)
            .join(tree.LEAVES, tree.LEAVES.c.event_id == EVENTS.c.id)
            .where(tree.LEAVES.c.leaf_index >= first, tree.LEAVES.c.leaf_index < stop)
            .order_by(tree.LEAVES.c.leaf_index)
        )
        expected = first
        with open(tmp / "events.jsonl", "wb") as fh:
            for row in rows:
                line = event_bytes(row)
                if row.leaf_index != expected or merkle.leaf_hash(line) != bytes(row.leaf_hash):
                    raise BundleError(f"事件 #{row.id}（叶子 {row.leaf_index}）与账本不符，拒绝归档；"
                                      "请先运行 pubdata ledger verify 查明原因。")
                fh.write(line + b"\n")
                expected += 1
        if expected != stop:
            raise BundleError(f"叶子 {expected} 的事件已不存在，拒绝归档；请先运行 pubdata ledger verify。")
        covered = _covered_checkpoints(conn, first, stop, anchor)
        _write_json(tmp / "checkpoints.json", {"anchor": anchor.as_dict(), "covered": [c.as_dict() for c in covered]})
        _write_json(tmp / "proofs.json", {
            "range": {"first_leaf": first, "end_leaf": stop, "tree_size": anchor.tree_size,
                      "hashes": [h.hex() for h in proofs.range_proof(conn, first, stop, anchor.tree_size)]},
            "consistency": [_consistency(conn, c.tree_size, anchor.tree_size) for c in covered],
        })
    _write_json(tmp / "keys.json", public_keys_document(keys.public_keys()))
    shutil.copyfile(README, tmp / "README.md")
    manifest = {
        "format": FORMAT,
        "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "period": {"from": date_from.isoformat(), "to": date_to.isoformat(), "timezone": "Asia/Shanghai (UTC+08:00)"},
        "leaves": {"first": first, "count": stop - first},
        "anchor": {"tree_size": anchor.tree_size, "root_hash": anchor.root_hash.hex(), "key_id": anchor.key_id},
        "algorithms": {"hash": "SM3 (GB/T 32905)", "signature": "SM2 (GB/T 32918) with SM3, user id "
                       "1234567812345678, DER", "tree": "RFC 9162 Merkle tree, leaf SM3(0x00‖event), "
                       "node SM3(0x01‖left‖right)", "event": "RFC 8785 canonical JSON, format v1"},
        "files": {name: {"sm3": _file_sm3(tmp / name), "bytes": (tmp / name).stat().st_size} for name in FILES},
    }
    _write_json(tmp / "manifest.json", manifest)
    return manifest


def _file_sm3(path: Path) -> str:
    with open(path, "rb") as fh:
        return sm3.digest_file(fh).hex()


def _consistency(conn: Any, first: int, second: int) -> dict[str, Any]:
    proof = proofs.consistency(conn, first=first, second=second)
    return {"first": first, "second": second, "hashes": [h.hex() for h in proof.hashes]}


def _covered_checkpoints(conn: Any, first: int, stop: int, anchor: cps.Checkpoint) -> list[cps.Checkpoint]:
    """Checkpoints signed during the period and the first one after it, each later linked to the anchor."""
    t = cps.TABLE
    rows = list(conn.execute(select(t).where(t.c.tree_size > first, t.c.tree_size <= stop).order_by(t.c.id)))
    after = conn.execute(select(t).where(t.c.tree_size >= stop).order_by(t.c.tree_size, t.c.id).limit(1)).first()
    seen, out = set(), []
    for row in [*rows, *([after] if after else [])]:
        if row.id not in seen and row.id != anchor.id:
            seen.add(row.id)
            out.append(cps.Checkpoint.from_row(row))
    return out


# --- Verification without a database ------------------------------------------------------------------------

@dataclass
class BundleReport:
    events: int = 0
    checkpoints: int = 0
    first_leaf: int = 0
    anchor_size: int = 0
    outside_period: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise offline.VerificationFailed(f"无法读取 {path.name}：{exc}") from exc


def verify_bundle(path: Path, *, trusted_keys: Mapping[str, PublicKey] | None = None) -> BundleReport:
    """Check a bundle with nothing but its files (and, better, public keys obtained independently)."""
    report = BundleReport()
    try:
        _verify_bundle(path, trusted_keys, report)
    except offline.VerificationFailed as exc:
        report.problems.append(exc.reason)
    except (KeyError, TypeError, ValueError, KeyFileError) as exc:
        report.problems.append(f"归档包格式有误：{exc!r}")
    return report


def _verify_bundle(path: Path, trusted: Mapping[str, PublicKey] | None, report: BundleReport) -> None:
    manifest = _load_json(path / "manifest.json")
    if manifest.get("format") != FORMAT:
        raise offline.VerificationFailed(f"不认识的归档格式 {manifest.get('format')!r}（应为 {FORMAT}）。")
    for name, meta in manifest["files"].items():
        file = path / name
        if not file.is_file():
            raise offline.VerificationFailed(f"缺少文件 {name}。")
        if _file_sm3(file) != meta["sm3"] or file.stat().st_size != meta["bytes"]:
            report.problems.append(f"文件 {name} 的 SM3 摘要或大小与清单不符（文件损坏或被改动）。")
    keys = dict(trusted) if trusted is not None else load_public_keys(_load_json(path / "keys.json"))
    signed = _load_json(path / "checkpoints.json")
    anchor = offline.checkpoint(signed["anchor"], keys)
    report.anchor_size = anchor.tree_size
    first, count = int(manifest["leaves"]["first"]), int(manifest["leaves"]["count"])
    report.first_leaf = first
    leaves = _read_events(path / "events.jsonl", manifest, report)
    if len(leaves) != count:
        raise offline.VerificationFailed(f"events.jsonl 有 {len(leaves)} 个事件，清单写的是 {count} 个。")
    pf = _load_json(path / "proofs.json")
    rng = pf["range"]
    claimed = (int(rng["first_leaf"]), int(rng["end_leaf"]), int(rng["tree_size"]))
    if claimed != (first, first + count, anchor.tree_size):
        raise offline.VerificationFailed("范围证明的叶子区间或树大小与清单、锚定检查点不符。")
    root = merkle.root_from_range(first, leaves, anchor.tree_size, [bytes.fromhex(h) for h in rng["hashes"]])
    if root != anchor.root_hash:
        raise offline.VerificationFailed("事件与锚定检查点的根哈希不符：归档中的事件被改动、删除或插入。")
    by_first = {int(c["first"]): c for c in pf["consistency"]}
    for cp in signed["covered"]:
        try:
            proof = by_first.get(int(cp["tree_size"]))
            if proof is None:
                raise offline.VerificationFailed(f"缺少检查点（树大小 {cp['tree_size']}）到锚定检查点的一致性证明。")
            offline.consistency(proof, cp, signed["anchor"], keys)
            report.checkpoints += 1
        except offline.VerificationFailed as exc:
            report.problems.append(exc.reason)


def _read_events(file: Path, manifest: Mapping[str, Any], report: BundleReport) -> list[bytes]:
    period = manifest["period"]
    start, end = _period_bounds(dt.date.fromisoformat(period["from"]), dt.date.fromisoformat(period["to"]))
    leaves, previous = [], 0
    with open(file, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.endswith(b"\n"):
                raise offline.VerificationFailed(f"events.jsonl 第 {number} 行没有以换行结束（文件被截断？）。")
            line = raw[:-1]
            try:
                event = parse_event(line)
            except CanonicalError as exc:
                raise offline.VerificationFailed(f"events.jsonl 第 {number} 行不是规范化的事件：{exc}") from exc
            if not isinstance(event["id"], int) or event["id"] <= previous:
                raise offline.VerificationFailed(f"events.jsonl 第 {number} 行的事件序号未递增。")
            previous = event["id"]
            when = dt.datetime.strptime(event["occurred_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
            report.outside_period += not start <= when < end
            leaves.append(merkle.leaf_hash(line))
    report.events = len(leaves)
    return leaves
