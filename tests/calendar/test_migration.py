"""Migration 0002_calendar creates exactly what the models declare, and can be undone."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from pubdata.db import migrate
from pubdata.db.models import metadata
from pubdata.db.testing import scratch_engine

TABLES = {"calendar_year", "calendar_day"}


def _mentions_calendar(diff: object) -> bool:
    return any(t in repr(diff) for t in TABLES)


def test_migration_matches_the_calendar_models(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(ctx, metadata) if _mentions_calendar(d)]
    assert diffs == []


def test_every_calendar_table_and_column_has_a_comment() -> None:
    # SQLite keeps no comments; on PostgreSQL the comparison above also checks the migration's.
    for table in TABLES:
        assert metadata.tables[table].comment
        for column in metadata.tables[table].columns:
            assert column.comment, f"{table}.{column.name}"


def test_calendar_migration_downgrades_and_upgrades_again() -> None:
    with scratch_engine() as eng:
        cfg = migrate.alembic_config(eng)
        with eng.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0001_foundation")
        assert not TABLES & set(inspect(eng).get_table_names())
        migrate.upgrade(eng)
        assert TABLES <= set(inspect(eng).get_table_names())
