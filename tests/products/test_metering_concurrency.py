"""Metering under real concurrency (committed sessions in threads, on SQLite or PostgreSQL as the suite runs):
copies of one retried call racing each other count once; distinct calls all count, none is lost; calls batched
together (group commit) succeed or fail one by one."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from pubdata.config import Settings
from pubdata.db import batching
from pubdata.db.session import session_factory
from pubdata.db.testing import scratch_engine
from pubdata.errors import NotAuthenticated
from pubdata.products import gateway, metering
from pubdata.products.models import MeteredCall, Product
from pubdata.web.app import create_app
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


def test_one_batch_counts_a_repeated_key_once_and_says_which_call_was_new(monkeypatch):
    with scratch_engine() as engine, tempfile.TemporaryDirectory() as tmp:
        maker = session_factory(engine)
        sub_id, _, number = _setup(maker, Path(tmp), monkeypatch)
        with maker() as s:
            product_id = int(s.scalar(select(Product.id).where(Product.number == number)))
        a, b, a_again = (metering.Call(sub_id, product_id, k, 1, 0) for k in ("a", "b", "a"))
        with engine.begin() as conn:
            assert metering.record(conn, [a, b, a_again]) == [True, True, False]
        with engine.begin() as conn:
            assert metering.record(conn, [metering.Call(sub_id, product_id, "b", 1, 0)]) == [False]
        assert _count(maker, sub_id) == 2


def test_a_batch_that_cannot_be_written_fails_every_waiting_call_rather_than_answering_it(monkeypatch):
    with scratch_engine(migrated=False) as engine:  # no tables: every batch fails
        maker = session_factory(engine)
        monkeypatch.setattr(batching.Batcher, "ATTEMPTS", 2)
        errors: list[BaseException] = []

        def one(i: int) -> None:
            try:
                with maker() as s:
                    gateway.serve(s, raw_key="pdk_x", product_number="P", idempotency_key=f"k{i}", filters={})
            except batching.BatchFailed as exc:
                errors.append(exc)

        assert _in_threads(one) == []
        assert len(errors) == THREADS
        assert all(isinstance(e.__cause__, DBAPIError) for e in errors)
        assert len({id(e) for e in errors}) == THREADS  # each caller its own error


def test_a_refused_call_does_not_fail_the_calls_batched_with_it(monkeypatch):
    with scratch_engine() as engine, tempfile.TemporaryDirectory() as tmp:
        maker = session_factory(engine)
        sub_id, key, number = _setup(maker, Path(tmp), monkeypatch)
        refused: list[str] = []

        def mixed(i: int) -> None:
            for j in range(10):
                with maker() as s:
                    if i % 2:
                        try:
                            gateway.serve(s, raw_key="pdk_forged", product_number=number, idempotency_key=f"f{i}{j}",
                                          filters={})
                        except NotAuthenticated as exc:
                            refused.append(exc.code)
                    else:
                        gateway.serve(s, raw_key=key, product_number=number, idempotency_key=f"m{i}-{j}", filters={})

        assert _in_threads(mixed) == []
        assert refused == ["invalid_api_key"] * (THREADS // 2 * 10)
        assert _count(maker, sub_id) == THREADS // 2 * 10


def test_the_http_gateway_on_a_server_database_answers_only_what_it_counted(monkeypatch):
    """The route's own path (the batcher, awaited on the event loop), not the tests' one-connection session."""
    with scratch_engine() as engine, tempfile.TemporaryDirectory() as tmp:
        maker = session_factory(engine)
        sub_id, key, number = _setup(maker, Path(tmp), monkeypatch)
        app = create_app(Settings(var_dir=Path(tmp), secret_key="t"), session_maker=maker)
        with TestClient(app) as client:
            url = f"/api/v1/gateway/{number}/rows"
            first = client.get(url, params={"size": 2}, headers={"X-API-Key": key, "Idempotency-Key": "h1"})
            again = client.get(url, params={"size": 2}, headers={"X-API-Key": key, "Idempotency-Key": "h1"})
            forged = client.get(url, headers={"X-API-Key": "pdk_forged"})
            bad = client.get(url, params={"nope": "1"}, headers={"X-API-Key": key})
        assert (first.status_code, first.headers["X-Metered"], len(first.json()["rows"])) == (200, "counted", 2)
        assert (again.status_code, again.headers["X-Metered"]) == (200, "replayed")
        assert forged.status_code == 401 and forged.json()["code"] == "invalid_api_key"
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "nope"
        assert _count(maker, sub_id) == 1
