"""The DuckDB runner of the operation domain: only policy-approved SQL, only through disclosure control.

The dataset file is opened read-only by the platform process with external access disabled (no files, URLs,
ATTACH, COPY, extensions), the configuration locked (a query cannot SET it back), a memory limit, a thread
count, and a time limit enforced by interrupting the query from a timer. :meth:`DomainEngine.run` is the
only way in: it checks the grant, checks the SQL, adds the per-cell measurements the disclosure step needs
to the *checked tree* (not to the text), runs it, and returns a :class:`disclosure.Protected` result.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from pubdata.errors import DomainError, PermissionDenied
from pubdata.opdomain import disclosure, policy
from pubdata.opdomain.policy import AggKind, CheckedQuery
from pubdata.opdomain.populations import Population
from pubdata.opdomain.schema import Dataset, Grant

PREFIX = policy.RESERVED_PREFIX
#: Groups a query may produce: all are read (hidden ones are dropped after disclosure control, so a LIMIT or
#: the row cap never depends on them).
MAX_GROUPS = 200_000


class QueryFailed(DomainError):
    """The checked query did not complete. ``detail`` never carries DuckDB's message (a conversion error
    quotes the value it failed on); ``internal`` holds it in memory only, never in the audit. ``cause`` is the
    engine's own code, kept for the audit when the service answers every failure alike (opdomain/queries.py)."""

    status = 422
    code = "query_failed"

    def __init__(self, detail: str, *, code: str, internal: str = "", cause: str = ""):
        super().__init__(detail, code=code)
        self.internal, self.cause = internal, cause or code


@dataclass(frozen=True)
class Limits:
    memory_limit: str = "2GB"
    threads: int = 2
    timeout_s: float = 30.0


@dataclass(frozen=True)
class QueryResult:
    checked: CheckedQuery
    result: disclosure.Protected
    elapsed_s: float

    def audit_payload(self) -> dict[str, Any]:
        """What the query's audit event records: the checked SQL's digest and text, and the outcome."""
        return {
            "sql": self.checked.sql,
            "sql_sha256": hashlib.sha256(self.checked.sql.encode()).hexdigest(),
            "tables": list(self.checked.tables),
            "rows": len(self.result.rows),
            "suppressed_cells": self.result.suppressed_count(),
            "truncated": self.result.truncated,
            "arranged": arranged_text(self.checked),
        }


def arranged_text(checked: CheckedQuery) -> str:
    """The ORDER BY / LIMIT / OFFSET the runner applies after protection, as SQL over the output names (the
    checked SQL no longer holds them; the audit shows both)."""
    names = [o.name for o in checked.outputs]
    parts = []
    if checked.order:
        keys = ", ".join(f'"{names[k.column]}"{" DESC" if k.descending else ""}'
                         f'{" NULLS FIRST" if k.nulls_first else " NULLS LAST"}' for k in checked.order)
        parts.append(f"ORDER BY {keys}")
    if checked.limit is not None:
        parts.append(f"LIMIT {checked.limit}")
    if checked.offset:
        parts.append(f"OFFSET {checked.offset}")
    return " ".join(parts)


@dataclass(frozen=True)
class _Slot:
    """One measurement column added to the query: (output column, aggregate, statistic), for a population of
    the aggregate (``pop`` ≥ 0) or the aggregate as a whole (``pop`` = −1); ``pair`` slots count the rows in
    which two populations of the row differ (``column`` and ``agg`` then index :attr:`_Plan.pairs`)."""

    column: int
    agg: int
    stat: str  # support | abs_total | top | rows | size | pair | total
    pop: int = -1


def _measure(agg: policy.Aggregate, stat: str, nonneg: frozenset[str]) -> exp.Expression:
    arg = agg.arg.copy() if agg.arg is not None else None
    # |x| of a column known to be non-negative is x itself, and SUM(x) is then the same aggregate as the
    # user's own SUM(x), which DuckDB computes once.
    magnitude = arg if agg.base_column in nonneg else exp.Abs(this=arg)
    if stat == "rows":
        node: exp.Expression = exp.Count(this=exp.Star())
    elif stat == "support":
        if arg is None:
            node = exp.Count(this=exp.Star())
        elif agg.kind is AggKind.MAGNITUDE:  # zero contributions do not count as contributors
            # count_if(e <> 0) rather than count(nullif(e, 0)): the same count (NULL <> 0 is not true),
            # without materialising a new vector — a third of the measurement cost on 10M rows.
            node = exp.CountIf(this=exp.NEQ(this=arg, expression=exp.Literal.number(0)))
        else:
            node = exp.Count(this=arg)
    elif stat == "abs_total":
        node = exp.Sum(this=magnitude)
    else:
        node = exp.Max(this=magnitude)
    if agg.filter is not None:
        node = exp.Filter(this=node, expression=exp.Where(this=agg.filter.copy()))
    return node


def _slots(branch: policy.Branch, exact: bool) -> list[_Slot]:
    """The measurements of each aggregate as a whole."""
    slots = []
    for j, out in enumerate(branch.outputs):
        for a, agg in enumerate(out.aggregates):
            if agg.kind is AggKind.MAGNITUDE:
                stats: tuple[str, ...] = ("support", "abs_total", "top") if exact else ("abs_total", "top")
            else:
                stats = ("support",)
            if agg.filter is not None and agg.kind is not AggKind.COUNT:
                stats = (*stats, "rows")
            slots.extend(_Slot(j, a, s) for s in stats)
    return slots


def _filtered(node: exp.Expression, membership: exp.Expression | None) -> exp.Expression:
    return node if membership is None else exp.Filter(this=node, expression=exp.Where(this=membership.copy()))


@dataclass
class _Plan:
    """What is measured per row besides the whole aggregates: each aggregate's populations (those that are
    not simply the group) and every pair of distinct populations of the row."""

    exact: bool
    nonnull: Callable[[exp.Column], bool]
    slots: list[_Slot]
    nodes: list[exp.Expression]
    #: Per (column, agg): the populations' membership conditions (None: the whole group).
    memberships: dict[tuple[int, int], list[exp.Expression | None]]
    #: Pairs of distinct memberships: (the output columns reading either, slot index of their difference).
    pairs: list[tuple[tuple[int, ...], int]]
    where_total: int | None = None

    def add(self, slot: _Slot, node: exp.Expression) -> int:
        self.slots.append(slot)
        self.nodes.append(node)
        return len(self.slots) - 1


def _membership(p: Population, nonnull: Callable[[exp.Column], bool]) -> exp.Expression | None:
    parts = [c.copy() for c in p.conditions]
    if p.present is not None and not (p.bare is not None and nonnull(p.bare)):
        parts.append(exp.Not(this=exp.Is(this=p.present.copy(), expression=exp.Null())))
    return exp.and_(*parts) if parts else None


def _plan(branch: policy.Branch, nonneg: frozenset[str], nonnull: Callable[[exp.Column], bool], *,
          exact: bool, where: bool) -> _Plan:
    plan = _Plan(exact, nonnull, [], [], {}, [])
    for slot in _slots(branch, exact):
        agg = branch.outputs[slot.column].aggregates[slot.agg]
        plan.add(slot, _measure(agg, slot.stat, nonneg))
    distinct: dict[str, tuple[exp.Expression, set[int]]] = {}
    for j, out in enumerate(branch.outputs):
        for a, agg in enumerate(out.aggregates):
            members = [_membership(p, nonnull) for p in agg.populations]
            plan.memberships[(j, a)] = members
            whole = len(agg.populations) == 1 and agg.arg is not None and agg.populations[0].measured == agg.arg
            for i, (p, m) in enumerate(zip(agg.populations, members, strict=True)):
                if m is not None:
                    # count(x) is count(*) FILTER (WHERE x IS NOT NULL), without evaluating a condition
                    size = (exp.Count(this=p.present.copy()) if not p.conditions and p.present is not None
                            else _filtered(exp.Count(this=exp.Star()), m))
                    plan.add(_Slot(j, a, "size", i), size)
                    distinct.setdefault(m.sql(dialect=policy.DIALECT), (m, set()))[1].add(j)
                if agg.kind is AggKind.MAGNITUDE and not p.counting and not whole:
                    v = p.measured.copy()  # type: ignore[union-attr]
                    if exact:
                        plan.add(_Slot(j, a, "support", i), _filtered(
                            exp.CountIf(this=exp.NEQ(this=v.copy(), expression=exp.Literal.number(0))), m))
                    plan.add(_Slot(j, a, "abs_total", i), _filtered(exp.Sum(this=exp.Abs(this=v.copy())), m))
                    plan.add(_Slot(j, a, "top", i), _filtered(exp.Max(this=exp.Abs(this=v)), m))
    items = list(distinct.values())
    for x in range(len(items)):
        for y in range(x + 1, len(items)):
            (mx, cx), (my, cy) = items[x], items[y]
            slot = plan.add(_Slot(len(plan.pairs), 0, "pair"),
                            exp.CountIf(this=exp.NEQ(this=exp.Paren(this=mx.copy()),
                                                     expression=exp.Paren(this=my.copy()))))
            plan.pairs.append((tuple(sorted(cx | cy)), slot))
    if where and branch.select.args.get("group"):
        # Every group's rows together, hidden ones included: what the WHERE kept of the driving table.
        plan.where_total = plan.add(_Slot(-1, 0, "total"), exp.Window(
            this=exp.Sum(this=exp.Count(this=exp.Star())), over="OVER"))
    return plan


def augment(
    checked: CheckedQuery, nonneg: frozenset[str] = frozenset(), *, exact: bool = False,
    nonnull: Callable[[exp.Column], bool] = lambda c: False,
) -> tuple[str, _Plan]:
    """The SQL that runs: the checked tree with the group size and every measurement appended (aggregate
    queries have one SELECT)."""
    tree = checked.tree.copy()
    (select,) = policy._union_branches(tree)
    (branch,) = checked.branches
    plan = _plan(branch, nonneg, nonnull, exact=exact, where=select.args.get("where") is not None)
    extra: list[exp.Expression] = [exp.alias_(exp.Literal.number(0), f"{PREFIX}branch"),
                                   exp.alias_(exp.Count(this=exp.Star()), f"{PREFIX}n")]
    extra += [exp.alias_(node, f"{PREFIX}{n}") for n, node in enumerate(plan.nodes)]
    select.set("expressions", [*select.expressions, *extra])
    return tree.sql(dialect=policy.DIALECT, identify=True, comments=False), plan


def arrange(result: disclosure.Protected, checked: CheckedQuery, max_rows: int) -> disclosure.Protected:
    """ORDER BY, OFFSET and LIMIT over the rows as shown (hidden values sort as NULL), then the row cap. Rows
    equal on every ORDER BY key keep the order of their shown values, so nothing hidden decides a place."""
    rows = result.rows
    index = list(range(len(rows)))

    def by(column: int, descending: bool, nulls_first: bool) -> Callable[[int], tuple[bool, Any]]:
        # reverse=True flips where NULLs go as well; the flag puts them where the ORDER BY says.
        def key(i: int) -> tuple[bool, Any]:
            value = rows[i][column].value
            return ((value is None) != (nulls_first != descending), value)
        return key

    keys = [j for j, kind in enumerate(result.kinds) if kind == "key"]
    # Stable sorts from the last criterion to the first: ties end in the order of the shown keys.
    for key in (*(policy.OrderKey(j, False, False) for j in reversed(keys)), *reversed(checked.order)):
        index.sort(key=by(key.column, key.descending, key.nulls_first), reverse=key.descending)
    start = checked.offset
    stop = len(index) if checked.limit is None else start + checked.limit
    chosen = index[start:stop]
    truncated = result.truncated or len(chosen) > max_rows
    chosen = chosen[:max_rows]
    return dataclasses.replace(
        result, rows=tuple(result.rows[i] for i in chosen), supports=tuple(result.supports[i] for i in chosen),
        cell_supports=tuple(result.cell_supports[i] for i in chosen) if result.cell_supports else (),
        truncated=truncated)


class DomainEngine:
    """One dataset file, opened read-only. Thread-safe: each query runs on its own cursor."""

    def __init__(self, path: Path | str, dataset: Dataset, limits: Limits | None = None):
        self.dataset = dataset
        self.limits = limits or Limits()
        self._con = duckdb.connect(
            str(path),
            read_only=True,
            config={
                "enable_external_access": False,
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
                "allow_community_extensions": False,
                "memory_limit": self.limits.memory_limit,
                "threads": self.limits.threads,
                "lock_configuration": True,
            },
        )
        self._population: dict[str, int] = {}
        self._nonneg: dict[str, bool] = {}
        self._nonnull: dict[str, bool] = {}

    def close(self) -> None:
        self._con.close()

    def population(self, table: str) -> int:
        """Entities in an entity table (for the complement rule), counted once."""
        if table not in self._population:
            assert self.dataset.table(table) is not None
            (n,) = self._con.cursor().execute(f'SELECT count(*) FROM "{table}"').fetchone()  # type: ignore[misc]
            self._population[table] = int(n)
        return self._population[table]

    def nonnegative(self, column: str) -> bool:
        """Whether ``table.column`` (numeric) has no negative value; the file is read-only, so once."""
        if column not in self._nonneg:
            table, name = column.split(".")
            col = self.dataset.table(table).column(name)  # type: ignore[union-attr]
            numeric = col is not None and col.type.upper() in {"INTEGER", "BIGINT", "DOUBLE", "DECIMAL", "SMALLINT"}
            sql = f'SELECT coalesce(min("{name}") >= 0, true) FROM "{table}"'
            self._nonneg[column] = bool(numeric and self._con.cursor().execute(sql).fetchone()[0])  # type: ignore[index]
        return self._nonneg[column]

    def nonnull(self, column: str) -> bool:
        """Whether ``table.column`` holds no NULL (then ``count(x)`` is the group's count), once per file."""
        if column not in self._nonnull:
            table, name = column.split(".")
            known = self.dataset.table(table) is not None and self.dataset.table(table).column(name) is not None  # type: ignore[union-attr]
            sql = f'SELECT count(*) FILTER (WHERE "{name}" IS NULL) = 0 FROM "{table}"'
            self._nonnull[column] = bool(known and self._con.cursor().execute(sql).fetchone()[0])  # type: ignore[index]
        return self._nonnull[column]

    def run(self, sql: str, grant: Grant, *, now: dt.datetime) -> QueryResult:
        """Check, run and protect one query under ``grant`` at ``now``."""
        if grant.dataset.code != self.dataset.code:
            raise PermissionDenied("授权不适用于该数据集。", code="grant_other_dataset")
        if not grant.is_active(now):
            raise PermissionDenied("数据授权已撤销或已过期，不能查询。", code="grant_inactive")
        t0 = time.perf_counter()
        checked = policy.check(sql, grant)
        config = self.dataset.disclosure
        if not checked.aggregate:
            rows, truncated = self._execute(checked.sql, config.max_rows)
            raw = [disclosure.RawRow(tuple(r), 0, ()) for r in rows]
            result = disclosure.protect(
                [o.name for o in checked.outputs], [o.kind for o in checked.outputs], raw, config,
                population=None, aggregate=False, truncated=truncated,
            )
            return QueryResult(checked, result, time.perf_counter() - t0)
        (branch,) = checked.branches
        select = branch.select
        bases = {a.base_column for o in branch.outputs for a in o.aggregates if a.base_column}
        nonneg = frozenset(c for c in bases if self.nonnegative(c))
        tables = {r.alias_or_name: r.name for r in (select.args["from_"].this,
                                                     *(j.this for j in select.args.get("joins") or []))}
        text, plan = augment(checked, nonneg, exact=config.exact_contributors,
                             nonnull=lambda col: self.nonnull(f"{tables.get(col.table, col.table)}.{col.name}"))
        rows, too_many = self._execute(text, MAX_GROUPS)
        if too_many:
            raise QueryFailed(f"分组超过 {MAX_GROUPS} 个，请减少分组列。", code="too_many_groups")
        read = self._reader(checked, plan)
        raw = [read(r) for r in rows]
        population = self.population(branch.driving_table)  # type: ignore[arg-type]
        outside = None
        if select.args.get("where") is not None:
            width = len(branch.outputs) + 2
            total = (sum(r.group_size for r in raw[:1]) if plan.where_total is None
                     else int(rows[0][width + plan.where_total] or 0) if rows else 0)
            outside = population - total
        grouped = select.args.get("group") is not None
        result = disclosure.protect(
            [o.name for o in branch.outputs], [o.kind for o in branch.outputs], raw, config,
            population=population, aggregate=True, outside=outside, drop_hidden=grouped,
        )
        return QueryResult(checked, arrange(result, checked, config.max_rows), time.perf_counter() - t0)

    @staticmethod
    def _reader(checked: CheckedQuery, plan: _Plan) -> Callable[[tuple[Any, ...]], disclosure.RawRow]:
        """Turns a result row into a RawRow; positions are worked out once per query, not per row."""
        (branch,) = checked.branches
        width = len(branch.outputs)
        where = {slot: width + 2 + n for n, slot in enumerate(plan.slots)}
        stats_of = ("support", "abs_total", "top", "rows")
        columns = []
        for j, out in enumerate(branch.outputs):
            per_agg = []
            for a, agg in enumerate(out.aggregates):
                whole = (agg.kind is AggKind.COUNT, *(where.get(_Slot(j, a, st)) for st in stats_of))
                pops = [(p.counting or agg.kind is not AggKind.MAGNITUDE,
                         *(where.get(_Slot(j, a, st, i)) for st in ("size", "support", "abs_total", "top")))
                        for i, p in enumerate(agg.populations)]
                # A population that is the whole group with nothing measured of its own adds only the row's
                # own checks (group size, complement of the group), which protect() makes for every row.
                pops = [p for p in pops if p[1:] != (None, None, None, None)]
                per_agg.append((whole, pops))
            columns.append(per_agg)
        pairs = [(cells, width + 2 + slot) for cells, slot in plan.pairs]
        AggStats, RawRow = disclosure.AggStats, disclosure.RawRow

        def number(row: tuple[Any, ...], i: int | None) -> float | None:
            return None if i is None else float(row[i] or 0)

        # Plain loops with the positions bound: this runs once per result row, thousands per query.
        def read(row: tuple[Any, ...]) -> disclosure.RawRow:
            group = int(row[width + 1])
            stats = []
            for column in columns:
                cell = []
                for (is_count, i_support, i_total, i_top, i_rows), pops in column:
                    support = None if i_support is None else int(row[i_support] or 0)
                    cell.append(AggStats(support, number(row, i_total), number(row, i_top),
                                         support if is_count else None if i_rows is None else int(row[i_rows] or 0)))
                    for counting, i_size, i_psupport, i_ptotal, i_ptop in pops:
                        size = group if i_size is None else int(row[i_size] or 0)
                        outside = None if i_size is None else group - size
                        if counting or i_ptotal is None:
                            cell.append(AggStats(size, rows=size, outside=outside))
                        else:
                            psupport = None if i_psupport is None else int(row[i_psupport] or 0)
                            cell.append(AggStats(psupport, number(row, i_ptotal), number(row, i_ptop), size, outside))
                stats.append(tuple(cell))
            overlaps = tuple((cells, int(row[i] or 0)) for cells, i in pairs)
            return RawRow(row[:width], group, tuple(stats), overlaps)

        return read

    def _execute(self, sql: str, max_rows: int) -> tuple[list[tuple[Any, ...]], bool]:
        cur = self._con.cursor()
        timer = threading.Timer(self.limits.timeout_s, cur.interrupt)
        timer.start()
        try:
            rows = cur.execute(sql).fetchmany(max_rows + 1)
        except duckdb.InterruptException:
            raise QueryFailed(f"查询超过 {self.limits.timeout_s:g} 秒时限，已中止。", code="query_timeout") from None
        except duckdb.OutOfMemoryException:
            raise QueryFailed("查询超出内存限制，已中止。", code="query_memory") from None
        except duckdb.Error as e:
            raise QueryFailed("查询执行出错。", code="query_error", internal=str(e)[:500],
                              cause=f"query_error:{type(e).__name__}") from None
        finally:
            timer.cancel()
            cur.close()
        return rows[:max_rows], len(rows) > max_rows
