"""Fixtures of the operation-domain tests: the demo classification, a full grant, a small synthetic file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from pubdata.opdomain.engine import DomainEngine
from pubdata.opdomain.schema import Dataset, Grade, Grant
from pubdata.opdomain.synthetic import demo_dataset, write_demo
from tests.operation.support import Cast, cast

NOW = dt.datetime(2026, 6, 1, 9, 0)
PERSONS = 20_000


def full_grant(dataset: Dataset, **overrides: object) -> Grant:
    """Every column that can be granted (all but 核心), valid for a year."""
    columns = {
        t.name: frozenset(c.name for c in t.columns if c.grade is not Grade.CORE) for t in dataset.tables
    }
    args: dict[str, object] = {"columns": columns, "expires_at": NOW + dt.timedelta(days=365)}
    args.update(overrides)
    return Grant(dataset, **args)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    return demo_dataset()


@pytest.fixture(scope="session")
def grant(dataset: Dataset) -> Grant:
    return full_grant(dataset)


@pytest.fixture(scope="session")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("opdomain") / "demo.duckdb"
    write_demo(path, persons=PERSONS, enterprises=3_000)
    return path


@pytest.fixture(scope="session")
def domain_engine(demo_file: Path, dataset: Dataset) -> Iterator[DomainEngine]:
    """The DuckDB engine on the small synthetic file (not ``engine``, the database fixture of tests/conftest.py)."""
    eng = DomainEngine(demo_file, dataset)
    yield eng
    eng.close()


@pytest.fixture
def c(db_session: Session) -> Cast:
    """The operation tests' cast of users (authority, agency, industry department, operator)."""
    return cast(db_session)


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    return tmp_path
