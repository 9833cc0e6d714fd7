"""Concurrent writers never fork the tree: one sequence, leaf order = event id order.

Real sessions on real threads, each its own connection and transaction (PostgreSQL when
PUBDATA_DATABASE_URL is set; on SQLite the database serialises writers itself).
"""

from __future__ import annotations

import random
import threading
import time

from sqlalchemy import select

from pubdata.audit import AuditEvent
from pubdata.ledger.models import LedgerLeaf
from pubdata.ledger.verify import verify_database
from tests.ledger.support import write

THREADS, TRANSACTIONS, PER_TRANSACTION = 4, 15, 3


def test_concurrent_transactions_produce_one_consistent_sequence(committed, maker, keys):
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        rng = random.Random(n)
        try:
            barrier.wait()
            for t in range(TRANSACTIONS):
                with maker() as s, s.begin():
                    for k in range(PER_TRANSACTION):
                        write(s, 1, label=f"w{n}-{t}-{k}-")
                        time.sleep(rng.random() / 500)  # keep the transaction open while others queue
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    with maker() as s:
        leaves = s.execute(select(LedgerLeaf.leaf_index, LedgerLeaf.event_id).order_by(LedgerLeaf.leaf_index)).all()
        event_ids = s.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()
    assert len(leaves) == THREADS * TRANSACTIONS * PER_TRANSACTION
    assert [leaf.leaf_index for leaf in leaves] == list(range(len(leaves)))
    assert [leaf.event_id for leaf in leaves] == event_ids  # the same order, no gaps in the tree
    report = verify_database(committed, keys={k.key_id: k for k in keys.public_keys()})
    assert report.ok, report.problems[:5]


def test_a_second_writer_waits_for_the_first_and_comes_after_it(committed, maker):
    first_holds_lock = threading.Event()
    order: list[tuple[str, int]] = []

    def first() -> None:
        with maker() as s, s.begin():
            order.append(("first", write(s, 1, label="first")[0].id))
            first_holds_lock.set()
            time.sleep(0.3)

    def second() -> None:
        first_holds_lock.wait(10)
        with maker() as s, s.begin():
            order.append(("second", write(s, 1, label="second")[0].id))

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [name for name, _ in order] == ["first", "second"]
    assert order[0][1] < order[1][1]
    with maker() as s:
        assert s.scalars(select(LedgerLeaf.event_id).order_by(LedgerLeaf.leaf_index)).all() == [i for _, i in order]
