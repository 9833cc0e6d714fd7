"""Receipts issued at the same moment by separate sessions get distinct, consecutive numbers.
Real concurrent transactions in threads, on whichever database the suite runs (CI runs PostgreSQL too)."""

from __future__ import annotations

import threading

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from pubdata.db.session import session_factory
from pubdata.db.testing import scratch_engine
from pubdata.evidence import service as evidence
from pubdata.evidence.models import EvidenceReceipt
from pubdata.identity.roles import Role
from pubdata.web.problems import is_write_conflict
from tests.factories import actor_of, make_user

THREADS = 6


def test_concurrent_issuers_never_share_a_number():
    with scratch_engine() as engine:
        maker = session_factory(engine)
        with maker() as s, s.begin():
            actors = [actor_of(make_user(s, Role.REGISTRATION_SUBJECT)) for _ in range(THREADS)]

        start = threading.Barrier(THREADS, timeout=30)
        outcomes: list[str] = []

        def issue(i: int) -> None:
            rows = [{"name": f"{i}.csv", "sm3": f"{i + 1:064x}", "size": i}]
            try:
                with maker() as s, s.begin():
                    s.scalar(select(EvidenceReceipt.id).limit(1))  # every session has read before anyone writes
                    start.wait()
                    evidence.issue_receipt(s, actor=actors[i], entries=evidence.manifest_rows(rows))
                outcomes.append("ok")
            except OperationalError as exc:  # SQLite: a stale reader cannot become a writer; the client retries
                outcomes.append("retry" if is_write_conflict(exc) else repr(exc))
            except Exception as exc:  # noqa: BLE001 - reported in the assertion below
                outcomes.append(repr(exc))

        threads = [threading.Thread(target=issue, args=(i,)) for i in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert set(outcomes) <= {"ok", "retry"}, outcomes
        if engine.dialect.name == "postgresql":
            assert outcomes == ["ok"] * THREADS
        with maker() as s:
            serials = sorted(s.scalars(select(EvidenceReceipt.serial)))
        assert serials == list(range(1, outcomes.count("ok") + 1))
