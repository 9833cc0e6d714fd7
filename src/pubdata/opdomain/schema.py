"""Datasets in the operation domain, their column classification (OPS-33) and data grants (OPS-23).

Plain frozen objects: the database models of issue 9 store them; the policy engine and the runner only
read them. Names are lower case because DuckDB identifiers are case-insensitive, quoted or not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from pubdata.errors import FieldError, ValidationFailed


class Role(StrEnum):
    """What a column says about the entity a row describes; decides how the column may be used."""

    DIRECT_IDENTIFIER = "direct_identifier"
    QUASI_IDENTIFIER = "quasi_identifier"
    SENSITIVE = "sensitive"
    MEASURE = "measure"
    DIMENSION = "dimension"
    PUBLIC = "public"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]

    @property
    def rank(self) -> int:
        """Higher is more restrictive; an expression takes the highest rank among its columns."""
        return _RANK[self]


ROLE_LABELS = {
    Role.DIRECT_IDENTIFIER: "直接标识符",
    Role.QUASI_IDENTIFIER: "准标识符",
    Role.SENSITIVE: "敏感属性",
    Role.MEASURE: "度量",
    Role.DIMENSION: "维度",
    Role.PUBLIC: "公开",
}
# Quasi-identifiers rank above measures: max(age) singles out a person, max(registered capital) does not.
_RANK = {
    Role.PUBLIC: 0,
    Role.DIMENSION: 1,
    Role.MEASURE: 2,
    Role.QUASI_IDENTIFIER: 3,
    Role.SENSITIVE: 4,
    Role.DIRECT_IDENTIFIER: 5,
}


class Grade(StrEnum):
    """数据分级 (OPS-33). 核心 data is never granted; 重要 data is never shown row by row."""

    CORE = "core"
    IMPORTANT = "important"
    GENERAL = "general"

    @property
    def label(self) -> str:
        return {"core": "核心", "important": "重要", "general": "一般"}[self.value]

    @property
    def rank(self) -> int:
        return {"general": 0, "important": 1, "core": 2}[self.value]


class TableKind(StrEnum):
    #: One row per person or enterprise; ``key`` is unique and names the entity.
    ENTITY = "entity"
    #: A code list (region names, industry names); every column public, joined on its unique ``key``.
    LOOKUP = "lookup"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    role: Role
    grade: Grade = Grade.GENERAL
    label: str = ""


@dataclass(frozen=True)
class DisclosureConfig:
    """Statistical disclosure control settings of a dataset (per dataset configurable)."""

    #: Minimum number of contributing entities per cell (and per cell's complement).
    min_count: int = 10
    #: Dominance rules (n, p): a sum is suppressed when its n largest contributors exceed p of the total.
    dominance: tuple[tuple[int, float], ...] = ((1, 0.5), (2, 0.75))
    #: Most rows a result may have; more are cut off and the result says so.
    max_rows: int = 10_000
    #: Count the non-zero contributors of every sum exactly (one more aggregate per sum). Off, a sum needs
    #: total ≥ min_count × largest contribution, which implies at least min_count non-zero contributors
    #: (each is at most the largest) and is never weaker; it also suppresses cells whose largest
    #: contributor holds more than 1/min_count of the total.
    exact_contributors: bool = False

    def __post_init__(self) -> None:
        if self.min_count < 1:
            raise ValueError("min_count must be at least 1")
        for n, p in self.dominance:
            if n < 1 or not 0 < p <= 1:
                raise ValueError("dominance rules are (n >= 1, 0 < p <= 1)")


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    kind: TableKind = TableKind.ENTITY
    #: Unique per row. For entity tables it identifies the person or enterprise (one row per entity).
    key: str = ""
    label: str = ""

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if any(n != n.lower() for n in [self.name, *names]):
            raise ValueError("table and column names are lower case (DuckDB folds case)")
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate column in {self.name}")
        if self.key not in names:
            raise ValueError(f"table {self.name} needs a unique key column")
        if self.kind is TableKind.LOOKUP and any(c.role is not Role.PUBLIC for c in self.columns):
            raise ValueError(f"lookup table {self.name} may hold public columns only")

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True)
class Dataset:
    """A registered data resource loaded into the domain: one DuckDB file, one or more tables."""

    code: str
    tables: tuple[Table, ...]
    disclosure: DisclosureConfig = field(default_factory=DisclosureConfig)
    label: str = ""

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name == name), None)


@dataclass(frozen=True)
class Grant:
    """What one operator may query: tables of one dataset → permitted columns, until ``expires_at``."""

    dataset: Dataset
    columns: Mapping[str, frozenset[str]]
    expires_at: dt.datetime
    revoked: bool = False
    grant_id: str = ""

    def __post_init__(self) -> None:
        problems = grant_problems(self.dataset, self.columns)
        if problems:
            raise ValidationFailed(problems, detail="授权范围有误：" + "；".join(p.message for p in problems))

    def is_active(self, now: dt.datetime) -> bool:
        return not self.revoked and now < self.expires_at

    def permitted(self, table: str) -> dict[str, Column]:
        """The granted columns of ``table`` by name (empty when the table is not granted)."""
        t = self.dataset.table(table)
        allowed = self.columns.get(table, frozenset())
        return {c.name: c for c in t.columns if c.name in allowed} if t else {}


def grant_problems(dataset: Dataset, columns: Mapping[str, frozenset[str]]) -> list[FieldError]:
    """Why these columns cannot be granted: unknown tables or columns, or 核心 data (OPS-33)."""
    problems: list[FieldError] = []
    for table_name, names in columns.items():
        table = dataset.table(table_name)
        if table is None:
            problems.append(FieldError(table_name, "unknown_table", f"数据集中没有表 {table_name}。"))
            continue
        for name in sorted(names):
            col = table.column(name)
            if col is None:
                problems.append(
                    FieldError(f"{table_name}.{name}", "unknown_column", f"表 {table_name} 中没有列 {name}。")
                )
            elif col.grade is Grade.CORE:
                message = f"列 {table_name}.{name} 为核心数据，不纳入授权运营。"
                problems.append(FieldError(f"{table_name}.{name}", "core_data", message))
    return problems
