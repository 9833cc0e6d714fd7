"""Substring tests on normalised catalog text, one spelling per database.

``LIKE '%…%'`` needs its pattern escaped and, on PostgreSQL, is several times slower on Chinese text than a
plain position search; the catalog only ever asks "is this exact string inside", so it says that directly:
``instr`` on SQLite, ``strpos`` on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class _position(FunctionElement[int]):
    """1-based position of the second argument in the first; 0 when absent."""

    inherit_cache = True
    name = "instr"


@compiles(_position)
def _position_sqlite(element: _position, compiler: Any, **kw: Any) -> str:
    return f"instr({compiler.process(element.clauses, **kw)})"


@compiles(_position, "postgresql")
def _position_pg(element: _position, compiler: Any, **kw: Any) -> str:
    return f"strpos({compiler.process(element.clauses, **kw)})"


def has_substring(column: ColumnElement[str], needle: str) -> ColumnElement[bool]:
    return _position(column, literal(needle)) > 0


def has_prefix(column: ColumnElement[str], needle: str) -> ColumnElement[bool]:
    return _position(column, literal(needle)) == 1


class _among(FunctionElement[bool]):
    """``column`` is one of the ids ``ids`` (a one-column SELECT) returns."""

    inherit_cache = True
    name = "among"

    def __init__(self, column: ColumnElement[Any], ids: Select[Any]) -> None:
        super().__init__(column, ids.scalar_subquery())


@compiles(_among)
def _among_sqlite(element: _among, compiler: Any, **kw: Any) -> str:
    column, ids = element.clauses
    return f"{compiler.process(column, **kw)} IN {compiler.process(ids, **kw)}"


@compiles(_among, "postgresql")
def _among_pg(element: _among, compiler: Any, **kw: Any) -> str:
    # The ids become one array first, so the planner looks each entry up by its key instead of hashing a scan
    # of the whole catalog (it cannot estimate how many ids a posting intersection yields).
    column, ids = element.clauses
    return f"{compiler.process(column, **kw)} = ANY(ARRAY{compiler.process(ids, **kw)})"


def among(column: ColumnElement[Any], ids: Select[Any]) -> ColumnElement[bool]:
    return _among(column, ids)
