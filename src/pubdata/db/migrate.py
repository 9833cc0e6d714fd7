"""Alembic driven from code, so the CLI, the server and the tests migrate the same way."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revisions() -> frozenset[str]:
    """The newest revision of each context's branch (contexts add migrations independently)."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def head_revision() -> str:
    return ", ".join(sorted(head_revisions()))


def current_revisions(engine: Engine) -> frozenset[str]:
    with engine.connect() as conn:
        return frozenset(MigrationContext.configure(conn).get_current_heads())


def current_revision(engine: Engine) -> str | None:
    return ", ".join(sorted(current_revisions(engine))) or None


def is_up_to_date(engine: Engine) -> bool:
    return current_revisions(engine) == head_revisions()


def upgrade(engine: Engine, revision: str = "heads") -> None:
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
