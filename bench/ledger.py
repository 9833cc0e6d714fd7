"""Ledger figures: appends/s, proof time and verify time at 1,000,000 leaves, storage per event, SM2 speed.

Prints JSON. PUBDATA_DATABASE_URL selects PostgreSQL (a scratch schema); default SQLite in a temp directory.

    .venv/bin/python bench/ledger.py                 # 1,000,000 events for the proof/verify/storage part
    .venv/bin/python bench/ledger.py --events 100000 # quicker
    .venv/bin/python bench/ledger.py --events 0      # appends and SM2 only

Appends go through the real path (``audit.record`` or ``session.add_all`` and the ledger hooks, committed,
with a checkpoint signed every 1,000 events as by default). The million-event ledger for the proof and
verify figures is bulk-loaded with Core statements computing exactly what the hooks compute (same canonical
bytes, same subtree hashes, a signed checkpoint every 1,000 leaves) — the hooks at the measured rate would
only make the benchmark take longer, not change what is measured afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, insert, text
from sqlalchemy.orm import Session, sessionmaker

from pubdata.audit import Actor, AuditEvent, record
from pubdata.config import Settings
from pubdata.crypto import merkle, sm2
from pubdata.db.testing import scratch_engine
from pubdata.ledger import bundle, hooks, proofs, tree
from pubdata.ledger import checkpoints as cps
from pubdata.ledger.canonical import event_bytes
from pubdata.ledger.verify import verify_database

ACTOR = Actor(kind="user", label="zhangsan", user_id=None, org_id=None, roles=("registration_institution",),
              request_id=uuid.uuid4().hex, client_addr="10.12.3.4")


def _event_kwargs(i: int) -> dict[str, Any]:
    return {"tag": "registry:application:accepted", "object_type": "application", "object_id": 100000 + i,
            "changes": {"state": ["submitted", "accepted"], "version": [3, 4]},
            "data": {"number": f"GS-2026-{i:07d}", "reason": "材料齐全，予以受理"}}


def _rate(n: int, seconds: float) -> int:
    return round(n / seconds)


def sm2_speed() -> dict[str, float]:
    d = sm2.generate_private_key()
    pub = sm2.public_key_of(d)
    msg = b"x" * 200
    t0 = time.perf_counter()
    sigs = [sm2.sign(d, msg, public_key=pub) for _ in range(50)]
    sign_ms = (time.perf_counter() - t0) / 50 * 1e3
    t0 = time.perf_counter()
    for s in sigs:
        assert sm2.verify(pub, msg, s)
    verify_ms = (time.perf_counter() - t0) / 50 * 1e3
    return {"backend": sm2.backend().name, "sign_ms": round(sign_ms, 2), "verify_ms": round(verify_ms, 2),
            "signs_per_s": round(1e3 / sign_ms), "verifies_per_s": round(1e3 / verify_ms)}


def appends(engine: Engine, settings: Settings) -> dict[str, int]:
    maker = sessionmaker(bind=engine, expire_on_commit=False, info={cps.SETTINGS_INFO: settings})
    out: dict[str, int] = {}

    def batched_record(txns: int, per: int) -> int:
        t0 = time.perf_counter()
        for t in range(txns):
            with maker() as s, s.begin():
                for i in range(per):
                    record(s, actor=ACTOR, **_event_kwargs(t * per + i))
        return _rate(txns * per, time.perf_counter() - t0)

    def batched_bulk(txns: int, per: int) -> int:
        t0 = time.perf_counter()
        for t in range(txns):
            with maker() as s, s.begin():
                s.add_all([AuditEvent(actor_kind=ACTOR.kind, actor_label=ACTOR.label, actor_roles=list(ACTOR.roles),
                                      request_id=ACTOR.request_id, client_addr=ACTOR.client_addr,
                                      **{**_event_kwargs(t * per + i), "object_id": str(i)}) for i in range(per)])
        return _rate(txns * per, time.perf_counter() - t0)

    def single(n: int) -> int:
        t0 = time.perf_counter()
        for i in range(n):
            with maker() as s, s.begin():
                record(s, actor=ACTOR, **_event_kwargs(i))
        return _rate(n, time.perf_counter() - t0)

    batched_record(1, 200)  # warm-up: key creation, statement caches
    out["record_batched_1000_per_commit_per_s"] = batched_record(10, 1000)
    out["add_all_batched_1000_per_commit_per_s"] = batched_bulk(10, 1000)
    out["record_single_commit_per_s"] = single(500)
    # The same without the ledger hooks, to show what the ledger itself costs.
    listeners = [("before_flush", hooks._lock_before_audited_writes), ("after_flush", hooks._append_leaves),
                 ("before_commit", hooks._write_and_checkpoint)]
    for name, fn in listeners:
        event.remove(Session, name, fn)
    try:
        out["baseline_no_ledger_record_batched_per_s"] = batched_record(10, 1000)
        out["baseline_no_ledger_record_single_commit_per_s"] = single(500)
    finally:
        for name, fn in listeners:
            event.listen(Session, name, fn)
    return out


def bulk_load(engine: Engine, n: int, keys: Any, every: int = 1000) -> float:
    """``n`` events with their leaves and a checkpoint every ``every`` leaves; returns seconds."""
    events_t, leaves_t = AuditEvent.__table__, tree.LEAVES
    maker = sessionmaker(bind=engine)
    with engine.connect() as conn:
        start_id = int(conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM audit_event")).scalar() or 0) + 1
        size = tree.tree_size(conn)
        frontier = tree.frontier_at(conn, size)
    signer = keys.signing_key()
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    t0 = time.perf_counter()
    chunk = 10_000
    done = 0
    while done < n:
        rows, leaves, cp_rows = [], [], []
        for i in range(done, min(done + chunk, n)):
            kw = _event_kwargs(i)
            row = {"id": start_id + i, "occurred_at": base + dt.timedelta(seconds=i * 7),
                   "tag": kw["tag"], "actor_kind": ACTOR.kind, "actor_label": ACTOR.label, "actor_user_id": None,
                   "actor_org_id": None, "actor_roles": list(ACTOR.roles), "object_type": kw["object_type"],
                   "object_id": str(kw["object_id"]), "changes": kw["changes"], "data": kw["data"],
                   "request_id": ACTOR.request_id, "client_addr": ACTOR.client_addr}
            rows.append(row)
            h = merkle.leaf_hash(event_bytes(_Row(row)))
            index = frontier.size
            leaves.append({"leaf_index": index, "event_id": row["id"], "leaf_hash": h,
                           "subtree_hashes": b"".join(frontier.append(h))})
            if frontier.size % every == 0:
                unsigned = cps.Checkpoint(frontier.size, frontier.root(), row["occurred_at"], signer.key_id, b"")
                cp_rows.append({"tree_size": frontier.size, "root_hash": unsigned.root_hash,
                                "created_at": unsigned.created_at, "key_id": signer.key_id,
                                "signature": signer.sign(unsigned.signed_bytes()), "reason": "events"})
        with maker() as s, s.begin():
            conn = s.connection()
            conn.execute(insert(events_t), rows)
            conn.execute(insert(leaves_t), leaves)
            if cp_rows:
                conn.execute(insert(cps.TABLE), cp_rows)
        done += len(rows)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('audit_event', 'id'), {start_id + n - 1})"))
            conn.commit()
            conn.execute(text("ANALYZE"))
            conn.commit()
    return time.perf_counter() - t0


class _Row:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def proof_times(engine: Engine, size: int, samples: int = 1000) -> dict[str, float]:
    rng = random.Random(1)
    times, ctimes = [], []
    with engine.connect() as conn:
        for _ in range(20):  # warm the statement cache and the page cache
            proofs.inclusion(conn, leaf_index=rng.randrange(size), tree_size=size)
        for _ in range(samples):
            index = rng.randrange(size)
            t0 = time.perf_counter()
            p = proofs.inclusion(conn, leaf_index=index, tree_size=size)
            times.append(time.perf_counter() - t0)
            assert p.verify()
        for _ in range(samples // 4):
            first = rng.randrange(1, size)
            t0 = time.perf_counter()
            c = proofs.consistency(conn, first=first, second=size)
            ctimes.append(time.perf_counter() - t0)
            assert c.verify()
    ms = sorted(t * 1e3 for t in times)
    cms = sorted(t * 1e3 for t in ctimes)
    return {"inclusion_proof_ms_mean": round(statistics.fmean(ms), 3),
            "inclusion_proof_ms_p95": round(ms[int(len(ms) * 0.95)], 3),
            "inclusion_proof_ms_max": round(ms[-1], 3),
            "consistency_proof_ms_mean": round(statistics.fmean(cms), 3),
            "consistency_proof_ms_p95": round(cms[int(len(cms) * 0.95)], 3),
            "proof_hashes": len(p.hashes)}


def storage(engine: Engine) -> dict[str, int]:
    tables = ("audit_event", "ledger_leaf", "ledger_checkpoint")
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return {t: int(conn.execute(text(f"SELECT pg_total_relation_size('{t}')")).scalar() or 0) for t in tables}
        try:
            rows = conn.execute(text("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")).all()
        except Exception:  # dbstat not compiled in: the whole file only
            path = engine.url.database or ""
            return {"file": Path(path).stat().st_size}
    sizes = dict(rows)
    out = {t: int(sizes.get(t, 0)) for t in tables}
    # Indexes belong to their table: the unique index on ledger_leaf.event_id, audit_event's three indexes.
    for name, value in sizes.items():
        for t in tables:
            if name.startswith((f"ix_{t}", f"uq_{t}", f"sqlite_autoindex_{t}")):
                out[t] += int(value)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000, help="ledger size for proofs/verify (0: skip)")
    args = parser.parse_args()
    figures: dict[str, Any] = {"sm2": sm2_speed()}
    with tempfile.TemporaryDirectory() as tmp, scratch_engine() as engine:
        settings = Settings(var_dir=Path(tmp))
        figures["database"] = engine.dialect.name
        figures["appends"] = appends(engine, settings)
    if args.events <= 0:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
        return
    with tempfile.TemporaryDirectory() as tmp, scratch_engine() as engine:
        keys = cps.keyring(Settings(var_dir=Path(tmp)))
        n = args.events
        empty = storage(engine)
        seconds = bulk_load(engine, n, keys)
        figures["bulk_load"] = {"events": n, "seconds": round(seconds, 1), "events_per_s": _rate(n, seconds)}
        figures["proofs_at_size"] = {"tree_size": n, **proof_times(engine, n)}
        t0 = time.perf_counter()
        report = verify_database(engine, keys={k.key_id: k for k in keys.public_keys()})
        assert report.ok, report.problems[:3]
        figures["verify"] = {"events": report.events, "checkpoints": report.checkpoints,
                             "seconds": round(time.perf_counter() - t0, 1)}
        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            manifest = bundle.export(engine, date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 1, 31),
                                     out=Path(out) / "2026-01", keys=keys)
            exported = time.perf_counter() - t0
            t0 = time.perf_counter()
            checked = bundle.verify_bundle(Path(out) / "2026-01")
            assert checked.ok, checked.problems
            figures["bundle_one_month"] = {
                "events": manifest["leaves"]["count"], "export_seconds": round(exported, 1),
                "verify_seconds": round(time.perf_counter() - t0, 1),
                "bytes": sum(f.stat().st_size for f in (Path(out) / "2026-01").iterdir())}
        full = storage(engine)
        grown = {t: full[t] - empty.get(t, 0) for t in full}
        figures["storage"] = {"bytes": full, "bytes_per_event": {t: round(v / n, 1) for t, v in grown.items()},
                              "ledger_share_of_event_bytes": round(
                                  (grown.get("ledger_leaf", 0) + grown.get("ledger_checkpoint", 0))
                                  / max(grown.get("audit_event", 1), 1), 3)}
    print(json.dumps(figures, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
