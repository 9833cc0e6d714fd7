"""Group commit (pubdata.db.batching): an item is processed once, in one committed batch, or not at all; a caller
can withdraw an item only before its batch starts; a failing batch fails each caller with its own error; the
batch thread survives all of it."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine

from pubdata.db.batching import Batcher, BatchFailed


@pytest.fixture
def engine() -> Any:
    eng = create_engine("sqlite://")
    yield eng
    eng.dispose()


def test_an_item_withdrawn_before_its_batch_is_never_processed_and_the_batcher_keeps_working(engine):
    gate = threading.Event()
    processed: list[str] = []

    def process(conn: Connection, items: Sequence[str]) -> list[str | Exception]:
        if "first" in items:
            assert gate.wait(10)
        processed.extend(items)
        return [i.upper() for i in items]

    b: Batcher[str, str] = Batcher(engine, process, name="t")
    first = b.submit("first")  # its batch starts and waits on the gate
    while not first.running():
        threading.Event().wait(0.01)
    queued = b.submit("queued")
    assert not first.cancel()  # started: it will be committed, so it cannot be withdrawn
    assert queued.cancel()
    gate.set()
    assert first.result(10) == "FIRST"
    assert b.submit("later").result(10) == "LATER"
    assert processed == ["first", "later"]


def test_a_batch_that_fails_gives_each_caller_its_own_error_and_one_item_can_fail_alone(engine):
    def process(conn: Connection, items: Sequence[str]) -> list[str | Exception]:
        if "boom" in items:
            raise RuntimeError("the whole batch")
        return [ValueError(i) if i == "bad" else i for i in items]

    b: Batcher[str, str] = Batcher(engine, process, name="t")
    good, bad = b.submit("good"), b.submit("bad")
    assert good.result(10) == "good"
    with pytest.raises(ValueError):
        bad.result(10)
    errors = []
    for f in [b.submit("boom") for _ in range(3)]:
        with pytest.raises(BatchFailed) as exc:
            f.result(10)
        errors.append(exc.value)
    assert all(isinstance(e.__cause__, RuntimeError) for e in errors)
    assert b.submit("after").result(10) == "after"
