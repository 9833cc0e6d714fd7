"""Statistical disclosure control (OPS-22, OPS-26) of query results.

The automatic checks of an export are in :mod:`pubdata.opdomain.export_checks`, the file scanner in
:mod:`pubdata.opdomain.file_scan`.

A result reaches a person only through :func:`protect`. Rules, per cell:

* **min_count** — fewer than k contributing entities (k = ``DisclosureConfig.min_count``, default 10). A
  row whose group has fewer than k entities is hidden whole, group keys included: with ``HAVING count(*) = 1``
  the keys alone would single a person out.
* **complement** — all but fewer than k entities of the table: the total minus this cell is a small group.
* **dominance** — for sums and moments, the n largest contributors exceed p of the total, for each rule
  (n, p). Computed from the largest contributor: the n largest together are at most n times it, so the
  test ``n·top1 > p·total`` never suppresses less than the exact rule (it is exact for n = 1). Unless the
  dataset asks for exact contributor counts, a sum also needs ``total ≥ k·top1``: each contributor is at
  most top1, so this proves at least k non-zero contributors (a sum of 0/1 values is then a count).
* **complement, within a row** — a population narrower than its group (a FILTER, a CASE branch, a nullable
  argument) needs k rows outside it as well as in it, and two populations of one row need k rows in which
  they differ: otherwise one cell minus another is a few people (a one-query tracker). "None" counts as
  "few" here: a difference of 0 shown and of 1 hidden would itself say which.
* **secondary** — when exactly one row of a result is hidden, the next-smallest row is hidden too, so the
  hidden one cannot be recovered from the table total (only where hidden rows are kept, see ``drop_hidden``).

Suppressed cells keep their place in the result with ``value=None`` and a reason; rows hidden whole are left
out of grouped results as the runner shows them (``drop_hidden``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from pubdata.opdomain.schema import DisclosureConfig


class Reason(StrEnum):
    MIN_COUNT = "min_count"
    COMPLEMENT = "complement"
    DOMINANCE = "dominance"
    SECONDARY = "secondary"
    OVERLAP = "overlap"
    TRUNCATED = "truncated"

    def label(self, config: DisclosureConfig) -> str:
        return {
            Reason.MIN_COUNT: f"单元格涉及的个体少于 {config.min_count} 个",
            Reason.COMPLEMENT: f"单元格之外的个体少于 {config.min_count} 个（补集过小）",
            Reason.DOMINANCE: "少数个体贡献占比过高（优势规则）",
            Reason.SECONDARY: "为防止由合计推算被隐藏的单元格而一并隐藏（互补隐藏）",
            Reason.OVERLAP: f"与同一行另一单元格涉及的个体相差少于 {config.min_count} 个（相减可推算个体）",
            Reason.TRUNCATED: f"结果超过 {config.max_rows} 行，其余行未显示",
        }[self]


class Cell(NamedTuple):
    """One shown cell: its value, or None with the reason it is hidden. A tuple: results have thousands."""

    value: Any
    reason: Reason | None = None

    @property
    def suppressed(self) -> bool:
        return self.reason is not None


class AggStats(NamedTuple):
    """Measured per row for one aggregate: contributing entities, and for magnitudes Σ|x| and max |x|."""

    #: Contributing entities; None for a sum measured without the exact count (then the bound applies).
    support: int | None
    abs_total: float | None = None
    top: float | None = None
    #: Rows the aggregate covers, for the complement rule: counts and FILTER-ed aggregates only (a sum's
    #: zero contributions are known to be zero, so they are no complement to protect).
    rows: int | None = None
    #: For a population narrower than its group by a condition (a FILTER, a CASE branch, a nullable
    #: argument): the group's rows outside it. Fewer than k — none included, since "none" and "one" must
    #: look alike — and the cell is the group minus a few.
    outside: int | None = None


class RawRow(NamedTuple):
    values: tuple[Any, ...]
    #: Entities in the row's group (``count(*)`` of the outermost SELECT).
    group_size: int
    #: Per output column: stats of each aggregate in it.
    stats: tuple[tuple[AggStats, ...], ...]
    #: Pairs of populations in this row: (the output columns that read either, rows in exactly one of them).
    #: Fewer than k apart (none included), and one cell minus the other is a few people.
    overlaps: tuple[tuple[tuple[int, ...], int], ...] = ()


@dataclass(frozen=True)
class Protected:
    """A result after disclosure control: what a person may see, plus the supports kept for later checks."""

    columns: tuple[str, ...]
    kinds: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    #: Entities per row, never shown; the differencing check of later releases compares against them.
    supports: tuple[int, ...]
    aggregate: bool
    truncated: bool = False
    min_count: int = 10
    #: Per row and output column: the entities the cell's aggregates cover (the smallest, when a cell has
    #: several), None for group keys; never shown. Differencing compares cells, not only rows, with these.
    cell_supports: tuple[tuple[int | None, ...], ...] = ()
    #: Entities of the rows left out whole (``drop_hidden``), never shown: a grouped result still covers
    #: them, and the differencing check compares what a result covers.
    hidden_total: int = 0

    def suppressed_count(self) -> int:
        return self._suppressed

    @functools.cached_property
    def _suppressed(self) -> int:  # asked for by the audit event, the stored run and the answer alike
        return sum(c.reason is not None for row in self.rows for c in row)


def _cell_reason(stats: Sequence[AggStats], population: int | None, k: int,
                 dominance: Sequence[tuple[int, float]]) -> Reason | None:
    for s in stats:
        support = s.support
        if support is not None and support < k:
            return Reason.MIN_COUNT
        if population is not None and s.rows is not None and 0 < population - s.rows < k:
            return Reason.COMPLEMENT
        if s.outside is not None and s.outside < k:
            return Reason.COMPLEMENT
        top, total = s.top, s.abs_total
        if total is None or top is None:
            continue
        if not (math.isfinite(top) and math.isfinite(total)):  # an overflow tells nothing it may show
            return Reason.DOMINANCE
        if top == 0:  # no non-zero contributor: a count of zero
            return Reason.MIN_COUNT
        if support is None and total < k * top:  # fewer than k contributors not ruled out
            return Reason.DOMINANCE
        for n, p in dominance:
            if n * top > p * total:
                return Reason.DOMINANCE
    return None


def protect(
    columns: Sequence[str],
    kinds: Sequence[str],
    raw: Iterable[RawRow],
    config: DisclosureConfig,
    *,
    population: int | None,
    aggregate: bool,
    truncated: bool = False,
    outside: int | None = None,
    drop_hidden: bool = False,
) -> Protected:
    """Apply the rules above. ``population`` is the number of entities in the driving table (complement
    rule); row-level results (all columns public) pass through unchanged. ``outside`` is the driving table's
    entities that the query's WHERE leaves out (None without a WHERE): fewer than k, and every row is hidden.

    With ``drop_hidden`` (grouped results as the runner shows them), a row hidden whole is left out rather
    than shown empty, and no secondary suppression is done: a hidden row would otherwise tell by its place,
    by the number of rows and by the row it drags along that a small group exists, where an absent group
    and a small one must look alike."""
    raw_rows = list(raw)
    if not aggregate:
        rows = tuple(tuple(Cell(v) for v in r.values) for r in raw_rows)
        return Protected(tuple(columns), tuple(kinds), rows, (), False, truncated, config.min_count)
    # One pass per row over its cells; results have thousands of cells and this runs on every query.
    k, dominance = config.min_count, config.dominance
    keys = [kind == "key" for kind in kinds]
    excluded = outside is not None and outside < k
    out: list[tuple[Cell, ...]] = []
    cell_supports: list[tuple[int | None, ...]] = []
    hidden_rows: list[int] = []
    for i, r in enumerate(raw_rows):
        group = r.group_size
        cell_supports.append(tuple(cell_support(stats, group) for stats in r.stats))
        if group < k or excluded or (population is not None and 0 < population - group < k):
            reason = Reason.MIN_COUNT if group < k else Reason.COMPLEMENT
            out.append(tuple(Cell(None, reason) for _ in r.values))
            hidden_rows.append(i)
            continue
        row = []
        for value, is_key, stats in zip(r.values, keys, r.stats, strict=True):
            reason = None if is_key or not stats else _cell_reason(stats, population, k, dominance)
            row.append(Cell(value) if reason is None else Cell(None, reason))
        for cells, apart in r.overlaps:
            if apart < k:
                for j in cells:
                    if not row[j].suppressed:
                        row[j] = Cell(None, Reason.OVERLAP)
        out.append(tuple(row))
    supports = [r.group_size for r in raw_rows]
    hidden_total = 0
    if drop_hidden:
        hidden_total = sum(raw_rows[i].group_size for i in hidden_rows)
        hidden = set(hidden_rows)
        kept = [i for i in range(len(raw_rows)) if i not in hidden]
        out, supports, cell_supports = ([seq[i] for i in kept] for seq in (out, supports, cell_supports))
    elif len(hidden_rows) == 1 and len(raw_rows) > 1:
        visible = [i for i in range(len(raw_rows)) if i not in hidden_rows]
        j = min(visible, key=lambda i: raw_rows[i].group_size)
        out[j] = tuple(Cell(None, Reason.SECONDARY) for _ in out[j])
    return Protected(
        tuple(columns), tuple(kinds), tuple(out), tuple(supports), True, truncated, k, tuple(cell_supports),
        hidden_total,
    )


def cell_support(stats: Sequence[AggStats], group_size: int) -> int | None:
    """The entities one cell covers: for each aggregate the rows it reads (a FILTER or count(x) reads fewer
    than the group), the smallest of them; None for a cell without aggregates (group keys)."""
    if len(stats) == 1:
        rows = stats[0].rows
        return group_size if rows is None else rows
    if not stats:
        return None
    return min(s.rows if s.rows is not None else group_size for s in stats)
