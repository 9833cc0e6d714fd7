"""Throw-away databases for tests and benchmarks: a temp SQLite file, or a fresh PostgreSQL schema."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from pubdata.db import migrate
from pubdata.db.session import make_engine


@contextmanager
def scratch_engine(url: str | None = None, *, migrated: bool = True) -> Iterator[Engine]:
    """A migrated, empty database that disappears afterwards.

    With a PostgreSQL URL the database is a new schema (``search_path``) so runs never collide and
    nothing in ``public`` is touched; otherwise a SQLite file in a temporary directory.
    """
    url = url if url is not None else os.environ.get("PUBDATA_DATABASE_URL", "")
    if url.startswith("postgresql"):
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in url else "?"
        engine = make_engine(f"{url}{sep}options=-csearch_path%3D{schema}")
        try:
            if migrated:
                migrate.upgrade(engine)
            yield engine
        finally:
            engine.dispose()
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    else:
        with tempfile.TemporaryDirectory(prefix="pubdata-test-") as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'test.sqlite3'}")
            try:
                if migrated:
                    migrate.upgrade(engine)
                yield engine
            finally:
                engine.dispose()
