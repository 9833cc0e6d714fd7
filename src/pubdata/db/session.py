"""Engine and session factory. One engine per database URL per process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from pubdata.config import get_settings


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
    dbapi_conn.isolation_level = None


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


#: Connections kept open per process. The default (5) is below what the server's thread pool runs at once (40):
#: each request past it opened and closed a connection of its own — on SQLite with its pragmas, on PostgreSQL a
#: new backend — which cost the metered gateway more than its own work (issue 10).
POOL = {"pool_size": 20, "max_overflow": 20}


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        file_backed = path not in ("", ":memory:")  # an in-memory database has one connection per thread
        if file_backed:
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **(POOL if file_backed else {}))
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling never sends BEGIN for reads and breaks SAVEPOINTs; let
        # SQLAlchemy issue BEGIN itself so transactions and begin_nested() behave as on PostgreSQL.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, **POOL)


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    return make_engine(url or get_settings().resolved_database_url())


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    # Every context's tables and session hooks (the catalog's projection among them), whatever entry point —
    # server, CLI, sweep — asks first; imported here because the models themselves import this module.
    import pubdata.db.models  # noqa: F401

    return sessionmaker(bind=engine or get_engine(), expire_on_commit=False)


@contextmanager
def unit_of_work(engine: Engine | None = None) -> Iterator[Session]:
    """One transaction: commit when the block ends normally, roll back on any error."""
    session = session_factory(engine)()
    try:
        with session.begin():
            yield session
    finally:
        session.close()


import pubdata.audit.guard  # noqa: E402,F401  (registers the audit hooks on every Session)
