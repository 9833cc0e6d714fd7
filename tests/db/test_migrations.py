"""Alembic migrations create exactly what the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from pubdata.db import migrate
from pubdata.db.models import metadata


def test_database_is_at_head(engine):
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_models_and_migrations_agree(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = [d for d in compare_metadata(ctx, metadata) if not _ignorable(d)]
    assert diff == []


def _ignorable(d) -> bool:  # type: ignore[no-untyped-def]
    # SQLite does not keep column comments; PostgreSQL does, and is compared there.
    return isinstance(d, list) and all(x[0] == "modify_comment" for x in d)
