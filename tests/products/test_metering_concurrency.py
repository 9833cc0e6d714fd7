"""Metering under real concurrency (committed sessions in threads, on SQLite or PostgreSQL as the suite runs):
copies of one retried call racing each other count once; distinct calls all count, none is lost."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from pubdata.db.session import session_factory
from pubdata.db.testing import scratch_engine
from pubdata.products import gateway
from pubdata.products.models import MeteredCall
from tests.products.support import offered, subscribed, world

THREADS = 8


def _setup(maker: sessionmaker[Session], tmp: Path, monkeypatch: Any) -> tuple[int, str, str]:
    with maker() as s, s.begin():
        w = world(s, tmp, monkeypatch)
        p = offered(s, w)
        sub, key = subscribed(s, w, p)
        return sub.id, key, str(p.number)


def _in_threads(work: Callable[[int], None]) -> list[BaseException]:
    start = threading.Barrier(THREADS, timeout=60)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            start.wait()
            work(i)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return errors


def _count(maker: sessionmaker[Session], sub_id: int) -> int:
    with maker() as s:
        return int(s.scalar(select(func.count(MeteredCall.id)).where(MeteredCall.subscription_id == sub_id)) or 0)


def test_concurrent_retries_with_one_idempotency_key_count_once_and_distinct_calls_all_count(monkeypatch):
    with scratch_engine() as engine, tempfile.TemporaryDirectory() as tmp:
        maker = session_factory(engine)
        sub_id, key, number = _setup(maker, Path(tmp), monkeypatch)
        counted: list[bool] = []

        def retry(i: int) -> None:
            with maker() as s:
                _, new = gateway.serve(s, raw_key=key, product_number=number, idempotency_key="same-call",
                                       filters={})
                counted.append(new)

        assert _in_threads(retry) == []
        assert _count(maker, sub_id) == 1
        assert sorted(counted) == [False] * (THREADS - 1) + [True], counted

        per_thread = 25

        def distinct(i: int) -> None:
            for j in range(per_thread):
                with maker() as s:
                    gateway.serve(s, raw_key=key, product_number=number, idempotency_key=f"t{i}-{j}", filters={})

        assert _in_threads(distinct) == []
        assert _count(maker, sub_id) == 1 + THREADS * per_thread
