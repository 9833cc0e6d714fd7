"""Two clerks acting on the same application at once: one wins, the other gets 409 (optimistic locking).
Real concurrent sessions in two threads, on whichever database the suite runs (CI runs PostgreSQL too)."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from pubdata.db.session import session_factory
from pubdata.db.testing import scratch_engine
from pubdata.errors import Conflict
from pubdata.identity.roles import Role
from pubdata.registry import applications as svc
from pubdata.registry.models import Application
from pubdata.web.problems import is_write_conflict
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

        both_loaded = threading.Barrier(2, timeout=30)
        outcomes: list[str] = []

        def act(i: int) -> None:
            try:
                with maker() as s, s.begin():
                    s.get(Application, app_id)
                    both_loaded.wait()  # both sessions have read the same version before either writes
                    if i == 0:
                        svc.accept(s, actor=clerks[i], application_id=app_id, version=seen)
                    else:
                        svc.not_accept(s, actor=clerks[i], application_id=app_id, reasons="材料不全", version=seen)
                outcomes.append("ok")
            except (StaleDataError, Conflict):
                outcomes.append("409")
            except OperationalError as exc:  # SQLite: a stale reader cannot become a writer
                outcomes.append("409" if is_write_conflict(exc) else repr(exc))

        threads = [threading.Thread(target=act, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(outcomes) == ["409", "ok"]
        with maker() as s:
            final = s.get(Application, app_id)
            assert final.state in {"under_review", "not_accepted"} and final.version > seen
            assert len(final.notices) == 1
