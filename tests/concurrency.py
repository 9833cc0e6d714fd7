"""Two writers at once, for the optimistic-locking tests: both read, then both try to write."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from pubdata.errors import Conflict
from pubdata.web.problems import is_write_conflict


def race(maker: sessionmaker[Session], read: Callable[[Session], object],
         write: Callable[[Session, int], object]) -> list[str]:
    """Run ``write(session, i)`` for i = 0, 1 in two threads, each after both have done ``read``; returns the
    sorted outcomes, "ok" or "409" (a stale version, or SQLite refusing a stale reader as a writer)."""
    both_loaded = threading.Barrier(2, timeout=30)
    outcomes: list[str] = []

    def act(i: int) -> None:
        try:
            with maker() as s, s.begin():
                read(s)
                both_loaded.wait()  # both sessions have read the same version before either writes
                write(s, i)
            outcomes.append("ok")
        except (StaleDataError, Conflict):
            outcomes.append("409")
        except OperationalError as exc:
            outcomes.append("409" if is_write_conflict(exc) else repr(exc))

    threads = [threading.Thread(target=act, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return sorted(outcomes)
