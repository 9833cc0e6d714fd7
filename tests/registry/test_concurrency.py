"""Two clerks acting on the same application at once: one wins, the other gets 409 (optimistic locking).
Real concurrent sessions in two threads, on whichever database the suite runs (CI runs PostgreSQL too)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pubdata.db.session import session_factory
from pubdata.db.testing import scratch_engine
from pubdata.identity.roles import Role
from pubdata.registry import applications as svc
from pubdata.registry.models import Application
from tests.concurrency import race
from tests.factories import actor_of, make_user
from tests.registry.support import submitted_first


def test_two_clerks_at_once_one_wins_the_other_gets_409():
    with scratch_engine() as engine, tempfile.TemporaryDirectory() as tmp:
        maker = session_factory(engine)
        with maker() as s, s.begin():
            subject = actor_of(make_user(s, Role.REGISTRATION_SUBJECT))
            clerks = [actor_of(make_user(s, Role.REGISTRATION_INSTITUTION)) for _ in range(2)]
            app = submitted_first(s, subject, Path(tmp))
            app_id, seen = app.id, app.version

        def write(s, i):  # type: ignore[no-untyped-def]
            if i == 0:
                svc.accept(s, actor=clerks[i], application_id=app_id, version=seen)
            else:
                svc.not_accept(s, actor=clerks[i], application_id=app_id, reasons="材料不全", version=seen)

        outcomes = race(maker, lambda s: s.get(Application, app_id), write)
        assert outcomes == ["409", "ok"]
        with maker() as s:
            final = s.get(Application, app_id)
            assert final.state in {"under_review", "not_accepted"} and final.version > seen
            assert len(final.notices) == 1
