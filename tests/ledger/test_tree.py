"""Every event becomes a leaf in its own transaction; stored subtrees answer proofs like the full tree does."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import pytest
from sqlalchemy import func, select

from pubdata.audit import AuditEvent
from pubdata.crypto import merkle
from pubdata.ledger import checkpoints as cps
from pubdata.ledger import leaf_index_of, proofs, tree
from pubdata.ledger.canonical import event_bytes
from pubdata.ledger.models import LedgerLeaf
from tests.ledger.support import ACTOR, write


def all_leaf_hashes(session) -> list[bytes]:  # type: ignore[no-untyped-def]
    return [bytes(h) for h in session.scalars(select(LedgerLeaf.leaf_hash).order_by(LedgerLeaf.leaf_index))]


def test_each_event_is_the_next_leaf_with_the_hash_of_its_canonical_bytes(session):
    before = tree.tree_size(session.connection())
    events = write(session, 5)
    assert [leaf_index_of(session, e) for e in events] == list(range(before, before + 5))
    session.commit()
    for e in events:
        session.expire(e)
        leaf = session.get(LedgerLeaf, leaf_index_of(session, e.id))
        assert leaf.event_id == e.id and leaf.leaf_hash == merkle.leaf_hash(event_bytes(e))


def test_events_added_in_bulk_become_leaves_in_id_order(session):
    session.add_all([AuditEvent(tag="test:bulk:added", actor_kind="system", actor_label="bulk", actor_roles=[],
                                object_type="thing", object_id=str(i), changes={}, data={}) for i in range(20)])
    session.commit()
    rows = session.execute(select(LedgerLeaf.leaf_index, LedgerLeaf.event_id).order_by(LedgerLeaf.leaf_index)).all()
    assert [r.event_id for r in rows] == sorted(r.event_id for r in rows)
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == len(rows)


def test_a_rolled_back_savepoint_takes_its_leaves_with_it(session):
    write(session, 3)
    with pytest.raises(RuntimeError), session.begin_nested():
        write(session, 4, label="gone")
        raise RuntimeError
    write(session, 2, label="after")
    session.commit()
    hashes = all_leaf_hashes(session)
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert hashes == [merkle.leaf_hash(event_bytes(e)) for e in events]
    assert tree.root_at(session.connection(), len(hashes)) == merkle.root_of_leaf_hashes(hashes)


def test_stored_subtrees_give_the_same_proofs_as_the_whole_tree(session):
    write(session, 70)
    tree.sync(session)  # leaf rows are batched until commit; read them in this transaction
    conn = session.connection()
    hashes = all_leaf_hashes(session)
    n = len(hashes)
    rng = random.Random(7)
    for size in range(1, n + 1):
        root = merkle.root_of_leaf_hashes(hashes[:size])
        assert tree.root_at(conn, size) == root
        for index in {0, size - 1, rng.randrange(size)}:
            proof = proofs.inclusion(conn, leaf_index=index, tree_size=size)
            assert proof.hashes == merkle.inclusion_proof(index, hashes[:size]) and proof.verify()
        first = rng.randint(1, size)
        c = proofs.consistency(conn, first=first, second=size)
        assert c.hashes == merkle.consistency_proof(first, hashes[:size]) and c.verify()
    start = rng.randrange(n)
    end = rng.randint(start + 1, n)
    assert proofs.range_proof(conn, start, end, n) == merkle.range_proof(start, end, hashes)


def test_inclusion_by_event_id(session):
    events = write(session, 9)
    tree.sync(session)
    p = proofs.inclusion(session.connection(), event_id=events[4].id, tree_size=tree.tree_size(session.connection()))
    assert p.event_id == events[4].id and p.leaf_index == leaf_index_of(session, events[4]) and p.verify()


@pytest.mark.parametrize(("kw", "code"), [
    ({"leaf_index": 0, "tree_size": 0}, "ledger_tree_size_out_of_range"),
    ({"leaf_index": 0, "tree_size": 10**6}, "ledger_tree_size_out_of_range"),
    ({"leaf_index": 3, "tree_size": 3}, "ledger_leaf_index_out_of_range"),
    ({"leaf_index": -1, "tree_size": 3}, "ledger_leaf_index_out_of_range"),
    ({}, "ledger_leaf_required"),
])
def test_out_of_range_inclusion_requests(session, kw, code):
    write(session, 3)
    tree.sync(session)
    start = tree.tree_size(session.connection()) - 3
    if "leaf_index" in kw and kw["leaf_index"] >= 0:
        kw = {**kw, "leaf_index": kw["leaf_index"] + start}
    if kw.get("tree_size") == 3:
        kw = {**kw, "tree_size": start + 3}
    with pytest.raises(proofs.LedgerRangeError) as err:
        proofs.inclusion(session.connection(), **kw)
    assert err.value.code == code and err.value.status == 400


def test_checkpoint_signs_the_current_root_and_verifies_with_the_public_key(session, keys):
    write(session, 6)
    cp = cps.create(session, keys=keys)
    tree.sync(session)
    conn = session.connection()
    assert (cp.tree_size, cp.root_hash) == (tree.tree_size(conn), tree.root_at(conn, cp.tree_size))
    public = {k.key_id: k for k in keys.public_keys()}
    assert cp.verify(public)
    assert not dataclasses.replace(cp, tree_size=cp.tree_size - 1).verify(public)
    assert cps.latest(conn) == cp


def test_a_checkpoint_is_made_every_n_events(session, settings, keys):
    session.info[cps.SETTINGS_INFO] = dataclasses.replace(settings, ledger_checkpoint_events=10)
    start = cps.latest(session.connection())
    write(session, 9)
    session.commit()
    assert cps.latest(session.connection()) == start
    write(session, 1)
    session.commit()
    cp = cps.latest(session.connection())
    assert cp is not None and cp.reason == "events" and cp.tree_size == tree.tree_size(session.connection())


def test_a_checkpoint_is_due_after_t_seconds(session, settings, keys):
    timed = dataclasses.replace(settings, ledger_checkpoint_seconds=60)
    write(session, 1)
    cps.create(session, keys=keys, now=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=61))
    assert cps.due(session, timed) is None  # nothing new since
    write(session, 1)
    assert cps.due(session, timed) == "interval"
    assert cps.due(session, dataclasses.replace(timed, ledger_checkpoint_seconds=3600)) is None


def test_a_missing_key_never_stops_events_from_being_recorded(session, settings, tmp_path):
    (tmp_path / "keys").write_text("not a directory")  # key creation will fail
    session.info[cps.SETTINGS_INFO] = dataclasses.replace(settings, ledger_checkpoint_events=1)
    write(session, 2)
    session.commit()  # no exception: the checkpoint is skipped and logged


def test_the_lock_is_taken_before_the_event_gets_its_id(session):
    from sqlalchemy import event

    from pubdata.audit import record

    session.commit()  # a new transaction: the lock is not held yet
    bind = session.connection()
    statements: list[str] = []

    def listener(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(bind, "before_cursor_execute", listener)
    try:
        record(session, actor=ACTOR, tag="test:ledger:order", object_type="thing", object_id="x")
        session.commit()
    finally:
        event.remove(bind, "before_cursor_execute", listener)
    lock = next(i for i, s in enumerate(statements) if "ledger_head" in s)
    insert = next(i for i, s in enumerate(statements) if s.startswith("INSERT INTO audit_event"))
    assert lock < insert
    # The leaf row follows, at the latest at commit (PostgreSQL writes it by COPY, which SQLAlchemy's
    # statement events do not see).
    assert all(i > insert for i, s in enumerate(statements) if s.startswith("INSERT INTO ledger_leaf"))


def assert_leaves_match_events(session) -> None:  # type: ignore[no-untyped-def]
    hashes = all_leaf_hashes(session)
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert hashes == [merkle.leaf_hash(event_bytes(e)) for e in events]


def test_leaves_of_a_released_savepoint_are_kept(session):
    write(session, 2)
    with session.begin_nested():
        write(session, 3, label="inner")
    write(session, 1, label="after")
    session.commit()
    assert_leaves_match_events(session)


def test_events_flushed_while_committing_still_get_their_leaves(session):
    from sqlalchemy import event as sa_event
    from sqlalchemy.orm import Session

    def late(s):  # type: ignore[no-untyped-def]
        if s is session and not s.info.get("late_done"):
            s.info["late_done"] = True
            write(s, 1, label="late-record")  # flushed at once, during the commit
            s.add(AuditEvent(tag="test:late:added", actor_kind="system", actor_label="late", actor_roles=[],
                             object_type="thing", object_id="late-add", changes={}, data={}))  # flushed by SQLAlchemy

    sa_event.listen(Session, "before_commit", late)
    try:
        write(session, 2)
        session.commit()
    finally:
        sa_event.remove(Session, "before_commit", late)
    assert_leaves_match_events(session)


def test_more_events_than_one_batch_in_a_transaction(session):
    write(session, tree.PENDING_LIMIT + 7)
    session.commit()
    assert_leaves_match_events(session)
