"""The automatic checks of an export request (OPS-26): what a result or a file may not carry out of the domain.

A finding is blocking unless it is advisory (:data:`ADVISORY`); the implementing agency cannot approve an
export with a blocking finding. Results are checked here, files in :mod:`pubdata.opdomain.file_scan`.
"""

from __future__ import annotations

import itertools
import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pubdata.opdomain.disclosure import Protected
from pubdata.opdomain.identifiers import scan_text


class Finding(StrEnum):
    BELOW_THRESHOLD = "below_threshold"
    ROW_LEVEL = "row_level"
    IDENTIFIER = "identifier"
    DIFFERENCING = "differencing"
    UNSCANNABLE = "unscannable"
    #: A shown row that is one entity: the output reproduces a source record.
    SINGLE_RECORD = "single_record"
    #: An output column computed from a direct identifier (other than counting it).
    IDENTIFIER_COLUMN = "identifier_column"
    #: min / max / median / quantile: the value is one entity's own value (advisory).
    RAW_VALUE_STATISTIC = "raw_value_statistic"
    #: Content the scanner cannot fully read (images, PDF text in font encodings): the reviewer looks (advisory).
    MANUAL_REVIEW = "manual_review"
    #: Three or more released population sizes that combine to 1…k−1 (inclusion–exclusion): sizes alone cannot
    #: tell a real identity from chance, so the reviewer confirms in writing (see CONFIRM).
    DIFFERENCING_COMBINATION = "differencing_combination"


#: Findings the reviewer sees that do not by themselves stop an approval; every other finding does.
ADVISORY = frozenset({Finding.RAW_VALUE_STATISTIC, Finding.MANUAL_REVIEW, Finding.DIFFERENCING_COMBINATION})
#: Advisory findings an approval must answer in its note (exports.decide): with a dozen releases, some
#: combination of unrelated sizes lands within k by chance in a third to all of new results (measured), so
#: blocking would stop every export; passing them silently would let an inclusion–exclusion attack through.
CONFIRM = frozenset({Finding.DIFFERENCING_COMBINATION})


@dataclass(frozen=True)
class ExportFinding:
    code: Finding
    detail: str
    where: str = ""

    @property
    def blocking(self) -> bool:
        return self.code not in ADVISORY

    def as_json(self) -> dict[str, object]:
        """The stored form: machine code, Chinese message, where, and whether it blocks approval."""
        return {"code": self.code.value, "message": self.detail, "detail": self.where, "blocking": self.blocking}


def check_result_export(result: Protected, earlier: Sequence[Protected] = ()) -> list[ExportFinding]:
    """Automatic checks before the implementing agency sees an export request for a result."""
    findings: list[ExportFinding] = []
    k = result.min_count
    if not result.aggregate:
        findings.append(ExportFinding(Finding.ROW_LEVEL, "结果为逐行数据，原始数据不得出域，只能导出聚合结果。"))
    for i, (row, support) in enumerate(zip(result.rows, result.supports or [None] * len(result.rows), strict=True)):
        if support == 1 and any(not c.suppressed for c in row):
            findings.append(ExportFinding(Finding.SINGLE_RECORD, f"第 {i + 1} 行只涉及一个个体，等同于一条原始记录。",
                                          f"row:{i}"))
        elif support is not None and support < k and any(not c.suppressed for c in row):
            findings.append(ExportFinding(Finding.BELOW_THRESHOLD, f"第 {i + 1} 行涉及的个体少于 {k} 个。", f"row:{i}"))
        for j, cell in enumerate(row):
            text = None if cell.suppressed else _cell_text(cell.value, result.kinds[j])
            if text is not None and scan_text(text):
                findings.append(
                    ExportFinding(Finding.IDENTIFIER, "结果中含有个人或单位标识符。", f"row:{i}/{result.columns[j]}")
                )
    findings.extend(differencing_findings(result, earlier))
    return findings


_FIGURE = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_FRACTION = re.compile(r"-?[0-9]*\.[0-9]*[1-9][0-9]*([eE][-+]?[0-9]+)?")


def _cell_text(value: Any, kind: str) -> str | None:
    """The text of a shown cell to scan for an ID number, mobile number or credit code, or None. Computed
    figures with a fractional part cannot carry one: the decimal digits of an average (``19291.13089843283``)
    often look like a mobile number, and about one float in forty would otherwise block an export. Group keys,
    row values and order statistics (one entity's own value) are read as text, integers and whole-number
    floats included; counts and sums only when they are non-numeric text."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    if kind in ("key", "value", "statistic"):
        if isinstance(value, int):
            return str(value)
        if isinstance(value, str):
            return None if _FRACTION.fullmatch(value.strip()) else value
        return None
    return value if isinstance(value, str) and not _FIGURE.fullmatch(value.strip()) else None


def output_findings(columns: Sequence[str], kinds: Sequence[str], sources: Sequence[Sequence[str]],
                    identifiers: Iterable[str]) -> list[ExportFinding]:
    """Per output column, from what it reads (``table.column``): a column computed from a direct identifier
    (anything but counting it) must not leave; an order statistic is one entity's own value, for the reviewer."""
    direct = frozenset(identifiers)
    findings: list[ExportFinding] = []
    for name, kind, src in zip(columns, kinds, sources, strict=True):
        read = sorted(set(src) & direct)
        if read and kind != "count":
            findings.append(ExportFinding(
                Finding.IDENTIFIER_COLUMN, f"输出列 {name} 由直接标识符（{'、'.join(read)}）得出，不得导出。",
                f"column:{name}"))
        elif kind == "statistic":
            findings.append(ExportFinding(
                Finding.RAW_VALUE_STATISTIC,
                f"输出列 {name} 为最小值、最大值或分位数等顺序统计量，其值等于某一个体的原始取值，请审核。",
                f"column:{name}"))
    return findings


def _supports_per_cell(result: Protected) -> tuple[tuple[int | None, ...], ...]:
    if result.cell_supports:
        return result.cell_supports
    # Results stored before cell supports were kept: each aggregate cell covers its row's group.
    return tuple(tuple(None if kind == "key" else s for kind in result.kinds) for s in result.supports)


Key = tuple[tuple[str, ...], tuple[Any, ...]]
"""A group: key column names and key values."""


@dataclass(frozen=True)
class _Summary:
    """One pass over a result's rows for both differencing checks (every earlier release is read on every
    export check, so each is read once)."""

    #: Rows whose keys are shown, by group: each aggregate cell's (column, support), hidden cells included.
    cells: dict[Key, list[tuple[str, int]]]
    #: The populations the whole result covers: all its rows' groups (hidden ones too), and per aggregate
    #: column the sum of its cells (a grouped result summed up is comparable with a grand total). None known
    #: for a truncated result.
    covered: set[int]
    #: Populations shown, by group (keyed results only): each shown cell's (support, column); the row's place
    #: and its group's size (every cell of the row covers part of the group).
    shown: dict[Key, list[tuple[int, str]]]
    rows: dict[Key, int]
    groups: dict[Key, int]
    #: Per aggregate column, the sum of its shown cells' supports (none for a truncated result); the groups of
    #: the rows shown, summed (a grand total: its population).
    shown_totals: list[tuple[int, str]]
    shown_groups: int
    grouped: bool


def _summary(result: Protected) -> _Summary:
    keys = [j for j, kind in enumerate(result.kinds) if kind == "key"]
    aggregates = [j for j, kind in enumerate(result.kinds) if kind != "key"]
    columns, names = result.columns, tuple(result.columns[j] for j in keys)
    cells: dict[Key, list[tuple[str, int]]] = {}
    shown: dict[Key, list[tuple[int, str]]] = {}
    rows: dict[Key, int] = {}
    groups: dict[Key, int] = {}
    shown_groups = 0
    column_sum, shown_sum = dict.fromkeys(aggregates, 0), dict.fromkeys(aggregates, 0)
    column_complete = dict.fromkeys(aggregates, True)
    per_cell = _supports_per_cell(result)
    # Plain loops without generators: this reads every row of every earlier release on every export check.
    for i, (row, supports) in enumerate(zip(result.rows, per_cell, strict=True)):
        hidden_key = False
        for j in keys:
            if row[j].reason is not None:
                hidden_key = True
        all_cells: list[tuple[str, int]] = []
        shown_cells: list[tuple[int, str]] = []
        for j in aggregates:
            size = supports[j]
            if size is None:
                column_complete[j] = False
                continue
            column_sum[j] += size
            if hidden_key:
                continue  # a row hidden whole: only the covered totals count it
            all_cells.append((columns[j], size))
            if size > 0 and row[j].reason is None:
                shown_cells.append((size, columns[j]))
                shown_sum[j] += size
        if hidden_key:
            continue
        key = (names, tuple([row[j].value for j in keys]))
        if key in cells:
            cells[key] += all_cells
        else:
            cells[key] = all_cells
        if shown_cells and i < len(result.supports):
            shown_groups += result.supports[i]
        if keys and shown_cells:
            if key in shown:
                shown[key] += shown_cells
            else:
                shown[key], rows[key] = shown_cells, i
                groups[key] = result.supports[i] if i < len(result.supports) else 0
    covered: set[int] = set()
    if not result.truncated:
        covered = {sum(result.supports) + result.hidden_total} if result.supports else set()
        covered |= {column_sum[j] for j in aggregates if per_cell and column_complete[j]}
    totals = [] if result.truncated else [(size, columns[j]) for j, size in shown_sum.items() if size > 0]
    return _Summary(cells, covered, shown, rows, groups, totals, 0 if result.truncated else shown_groups,
                    bool(keys))


def differencing_findings(result: Protected, earlier: Sequence[Protected]) -> list[ExportFinding]:
    """Releases that isolate a small group when their populations are subtracted or combined: pairs of
    corresponding cells or totals of this result and one earlier release (:func:`_pairwise_findings`), then
    small combinations of several releases and of this result's own cells (:func:`combination_findings`)."""
    if not result.aggregate:
        return []
    mine = _summary(result)
    theirs = [(n, _summary(other)) for n, other in enumerate(earlier, start=1) if other.aggregate]
    findings = _pairwise_findings(mine, theirs, result.min_count)
    return findings + _combination_findings(mine, theirs, result.min_count, {f.where for f in findings})


def _pairwise_findings(mine: _Summary, theirs: Sequence[tuple[int, _Summary]], k: int) -> list[ExportFinding]:
    """Two releases whose corresponding cells (same key columns and key values, any aggregate column) or whose
    totals (a grand total, or a grouped result summed) cover populations differing by 1…k−1 entities:
    subtracting one from the other describes that small group. Whatever the two results' keys are, the
    totals are compared (a grand total against a grouped result is the classic pair)."""
    findings: list[ExportFinding] = []
    for n, other in theirs:
        for key, cells in mine.cells.items():
            against = other.cells.get(key, [])
            close = sorted({mine_col for mine_col, a in cells for _, b in against if 0 < abs(a - b) < k})
            if close:
                findings.append(ExportFinding(
                    Finding.DIFFERENCING,
                    f"与第 {n} 项已发布结果的对应单元格（{'、'.join(close)}）相差不足 {k} 个个体，相减可推算小群体。",
                    f"key:{'/'.join(map(str, key[1]))}",
                ))
        if any(0 < abs(a - b) < k for a in mine.covered for b in other.covered):
            findings.append(ExportFinding(
                Finding.DIFFERENCING, f"与第 {n} 项已发布结果的总体相差不足 {k} 个个体，相减可推算小群体。", "total"
            ))
    return findings


# --- combinations of released populations (inclusion–exclusion, one-query trackers) ------------------------
#
# A released population is the set of entities a shown cell covers; its size is the cell's support. If the
# populations A, B and N were released with A ∪ B = N, then A + B − N is the number of entities in A ∩ B, and
# every count and sum over them follows by the same arithmetic. From sizes alone the check cannot tell which
# populations are nested or overlap, so a combination ±s₁ ± s₂ … of released sizes (each at most once, at most
# MAX_TERMS, one of them this result's) that comes to 1…k−1 is a finding; 0 is two descriptions of one
# population. Sizes are combined where they can describe the same entities:
#
# * across releases, the cells of one group (same key columns and key values) and the results' totals (each
#   aggregate column summed over its shown cells); a combination found in one group must also be possible
#   in the result's other groups (an identity of populations holds in each, and no set has a negative size);
# * within this result, the cells of one row together with the row's group (see :func:`_tracker_findings`).
#
# Different rows of one result are disjoint groups and are never combined. Only what was shown counts:
# suppressed cells and the hidden part of a result (``hidden_total``, known to no reader unless another
# release shows it, and then its size is in the pool anyway) are not released populations. Pairs of
# corresponding cells and totals of two releases, the covered totals included, are the pairwise check's.

#: Terms of one combination, this result's included: a pair (nested populations), three (two populations and
#: their union) or four (three parts of a whole).
MAX_TERMS = 4
#: Distinct sizes of this result per comparison (a row's cells, the result's totals).
MAX_OWN = 16
#: Distinct sizes from earlier releases per comparison, latest releases first. Pairs with any release are
#: found by :func:`_pairwise_findings`; this bounds the combinations of three or four terms, whose number grows
#: with the square and the cube of it (and so does the chance of a coincidence among unrelated releases).
MAX_EARLIER = 24
#: Combinations of one group that come to a few entities but are contradicted by the result's other groups
#: (:meth:`_Groups.holds`) before the next one is taken as a finding unchecked: a bound on the work where
#: coincidences are many (small populations, many releases).
MAX_CANDIDATES = 32


#: A row's group (or a grand total's population) as a term of a combination.
_GROUP = "全组"


Source = tuple[int, str]
"""Where a size was released: the release (0: this result, n: the n-th earlier release) and the column."""


@dataclass(frozen=True)
class _Term:
    """A distinct released size and every release and column it was released by (this result's first), and
    whether those are column totals of grouped results (for the message)."""

    size: int
    sources: tuple[Source, ...]
    total: bool = False

    @property
    def release(self) -> int:
        return self.sources[0][0]

    def text(self) -> str:
        what = "本结果" if self.release == 0 else f"第 {self.release} 项已发布结果"
        columns = "/".join(dict.fromkeys(f"「{c}」" for r, c in self.sources if r == self.release))
        return f"{what}{columns}{'合计' if self.total else ''}"


def _pool(own: Iterable[tuple[int, str]], earlier: Iterable[tuple[int, Iterable[tuple[int, str]]]],
          total: Callable[[int], bool] = lambda release: False) -> list[_Term]:
    """Distinct sizes, this result's first (at most MAX_OWN), then earlier releases' in the order given (at
    most MAX_EARLIER). A size released again (by this result, or in an earlier release) stays one term with
    several sources: the same size, presumably the same population, and a combination with it is one with
    the first. ``total`` says whose sizes are column totals of a grouped result."""
    sources: dict[int, list[Source]] = {}
    for size, column in own:
        if size > 0 and (size in sources or len(sources) < MAX_OWN):
            sources.setdefault(size, []).append((0, column))
    room = MAX_EARLIER
    for release, populations in earlier:
        if room == 0:
            break  # sources are recorded while the pool fills, not from older releases
        for size, column in populations:
            if size > 0 and (size in sources or room > 0):
                room -= size not in sources
                sources.setdefault(size, []).append((release, column))
    return [_Term(size, tuple(where), total(where[0][0])) for size, where in sources.items()]


Combination = tuple[tuple[int, int], ...]
"""Signed terms (+1 or −1, index into the sizes searched)."""


class _Pairs:
    """Sums and differences of two distinct sizes, sorted, for the search below."""

    def __init__(self, sizes: Sequence[int]):
        indexed = sorted((size, i) for i, size in enumerate(sizes))  # ascending: b − a > 0 for a before b
        pairs = list(itertools.combinations(indexed, 2))
        self.sums = sorted([(a + b, i, j) for (a, i), (b, j) in pairs])
        # Sizes are distinct, so a difference is never 0; stored positive: (larger − smaller, larger, smaller).
        self.diffs = sorted([(b - a, j, i) for (a, i), (b, j) in pairs])
        self.sum_keys, self.diff_keys = [t[0] for t in self.sums], [t[0] for t in self.diffs]

    def completing(self, partial: int, k: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
        """Signed pairs σ — ±(a + b), ±(a − b) — with ``partial`` + σ strictly between −k and k, not 0."""
        out = []
        for keys, entries, second in ((self.sum_keys, self.sums, 1), (self.diff_keys, self.diffs, -1)):
            if not keys:
                continue
            # +key: key in (−k − partial, k − partial); −key: key in (partial − k, partial + k). Keys are
            # positive and sorted: most windows miss them entirely, told without a bisection.
            for flip, lo, hi in ((1, -k - partial, k - partial), (-1, partial - k, partial + k)):
                if hi <= keys[0] or lo >= keys[-1]:
                    continue
                for n in range(bisect_right(keys, lo), bisect_left(keys, hi)):
                    if keys[n] != -flip * partial:  # exactly 0: one population described twice
                        _, i, j = entries[n]
                        out.append(((flip, i), (flip * second, j)))
        return out


def small_combination(sizes: Sequence[int], own: int, k: int, *, with_earlier: bool = False,
                      max_terms: int = MAX_TERMS,
                      holds: Callable[[Combination], bool] | None = None) -> Combination | None:
    """The fewest signed terms ±sizes[i] (each index at most once, two to ``max_terms`` of them, at least one
    of the first ``own`` — this result's — and, ``with_earlier``, at least one of the others) that add up to
    1…k−1 or −(k−1)…−1; None if there is none. ``sizes`` must be distinct and positive.

    Deterministic, and bounded (meet in the middle): with n sizes, the n(n−1)/2 sums and differences of two are
    built and sorted once; each of the ``own`` anchors then costs n comparisons (two terms), 4 bisections of
    the pairs (three terms: anchor + pair) and 8n bisections (four terms: anchor ± one size + pair) — for the
    pools :func:`_pool` makes (n ≤ MAX_OWN + MAX_EARLIER), a few thousand steps. The combination's overall
    sign is free, so the anchor (the lowest index of this result's sizes in it) is taken positive and every
    other term has a higher index.

    ``holds``, if given, must also accept the combination; after MAX_CANDIDATES it has refused, the next
    combination is returned unchecked (what could not be ruled out in bounded work is a finding)."""
    if k < 2 or own == 0 or len(sizes) < 2:
        return None
    refusals = 0

    def accept(terms: Combination) -> bool:
        nonlocal refusals
        indices = [i for _, i in terms]
        total = sum(sign * sizes[i] for sign, i in terms)
        if len(set(indices)) != len(indices) or not 0 < abs(total) < k:
            return False
        if with_earlier and all(i < own for i in indices):
            return False
        if holds is None or refusals >= MAX_CANDIDATES or holds(terms):
            return True
        refusals += 1
        return False

    pairs: _Pairs | None = None
    for size in range(2, max_terms + 1):
        if size > 2 and pairs is None:
            pairs = _Pairs(sizes)
        found = next((c for c in _candidates(sizes, own, k, size, pairs) if accept(c)), None)
        if found is not None:
            return tuple(sorted(found, key=lambda t: t[1]))
    return None


def _candidates(sizes: Sequence[int], own: int, k: int, size: int, pairs: _Pairs | None) -> Iterator[Combination]:
    """Combinations of exactly ``size`` terms whose sum lies strictly between −k and k, not yet checked for
    repeated indices or for being 0 (:func:`small_combination` does)."""
    if size == 2 or pairs is None:
        for a in range(own):
            for x in range(a + 1, len(sizes)):
                for sign in (1, -1):
                    if abs(sizes[a] + sign * sizes[x]) < k:
                        yield (1, a), (sign, x)
        return
    for a in range(own):
        firsts = [((1, a),)] if size == 3 else [((1, a), (s, x)) for x in range(a + 1, len(sizes)) for s in (1, -1)]
        for first in firsts:
            partial = sum(sign * sizes[i] for sign, i in first)
            for p, q in pairs.completing(partial, k):
                if p[1] > a and q[1] > a:
                    yield (*first, p, q)


def _combination_text(terms: Sequence[_Term], combination: Combination) -> str:
    """The terms, this result's first, then by release: columns and signs only, never a size."""
    ordered = sorted(combination, key=lambda t: (terms[t[1]].release, t[1]))
    return " ".join(f"{'+' if sign > 0 else '−'}{terms[i].text()}" for sign, i in ordered)


def _search(terms: Sequence[_Term], k: int, *, with_earlier: bool, own: int | None = None,
            holds: Callable[[Combination], bool] | None = None) -> Combination | None:
    """``own``: how many of the first terms must contribute one (default: all of this result's)."""
    first = sum(t.release == 0 for t in terms) if own is None else own
    return small_combination([t.size for t in terms], first, k, with_earlier=with_earlier, max_terms=MAX_TERMS,
                             holds=holds)


def combination_findings(result: Protected, earlier: Sequence[Protected],
                         reported: frozenset[str] | set[str] = frozenset()) -> list[ExportFinding]:
    """Small combinations of released populations (see above): within this result, the cells of one row with
    its group (a one-query tracker, :func:`_tracker_findings`), and with earlier releases, per group and for
    the totals. A group or the totals already ``reported`` by the pairwise check (same ``where``) is not
    searched again: one reason to refuse is enough, and the simplest one is shown."""
    if not result.aggregate:
        return []
    theirs = [(n, _summary(other)) for n, other in enumerate(earlier, start=1) if other.aggregate]
    return _combination_findings(_summary(result), theirs, result.min_count, reported)


def _combination_findings(mine: _Summary, theirs: Sequence[tuple[int, _Summary]], k: int,
                          reported: frozenset[str] | set[str]) -> list[ExportFinding]:
    latest = list(reversed(theirs))  # latest releases first, for the MAX_EARLIER bound
    findings = _tracker_findings(mine, k)
    groups = _Groups({0: mine} | dict(theirs))
    for key, cells in mine.shown.items():
        where = f"key:{'/'.join(map(str, key[1]))}"
        if where not in reported:
            pool = _pool(cells, ((n, other.shown.get(key, ())) for n, other in latest))
            findings.extend(_released_finding(pool, k, where, lambda c, p=pool, g=key: groups.holds(p, c, g)))
    if "total" not in reported:
        grouped = {0: mine.grouped} | {n: other.grouped for n, other in latest}
        pool = _pool(mine.shown_totals, ((n, other.shown_totals) for n, other in latest), grouped.__getitem__)
        findings.extend(_released_finding(pool, k, "total"))
    return findings


#: Readings of one combination tried by :meth:`_Groups.holds` (a term whose size was released by several
#: releases or columns can be any of them); beyond, the combination is not ruled out.
MAX_READINGS = 16


class _Groups:
    """The shown cells of every release by group and column, for checking a combination found in one group
    against this result's other groups."""

    def __init__(self, summaries: dict[int, _Summary]):
        self._summaries = summaries
        self._keys = list(summaries[0].shown)
        self._cells: dict[tuple[int, Key], dict[str, int]] = {}

    def _columns(self, release: int, key: Key) -> dict[str, int]:
        cells = self._cells.get((release, key))
        if cells is None:
            shown = self._summaries[release].shown.get(key, ())
            cells = self._cells[release, key] = {c: size for size, c in reversed(shown)}  # the first of a name
        return cells

    def holds(self, terms: Sequence[_Term], combination: Combination, here: Key) -> bool:
        """Whether the combination can be the size of a set of entities: an identity of populations (A + B − N
        = |A ∩ B| when A ∪ B = N) holds in every group, and a set is never smaller than empty, so in each other
        group of this result where all its terms were shown it must not have the opposite sign. Unrelated
        releases that happen to come within k in one group seldom pass that in the others."""
        sign = 1 if sum(s * terms[i].size for s, i in combination) > 0 else -1
        signs = [s * sign for s, _ in combination]
        choices = [terms[i].sources for _, i in combination]
        for reading in itertools.islice(itertools.product(*choices), MAX_READINGS):
            if all(self._not_negative(signs, reading, key) for key in self._keys if key != here):
                return True
        return math.prod(map(len, choices)) > MAX_READINGS  # readings left untried: not ruled out

    def _not_negative(self, signs: Sequence[int], reading: Sequence[Source], key: Key) -> bool:
        total = 0
        for s, (release, column) in zip(signs, reading, strict=True):
            size = self._columns(release, key).get(column)
            if size is None:
                return True  # not shown there by all the releases: nothing to compare
            total += s * size
        return total >= 0


def _tracker_findings(mine: _Summary, k: int) -> list[ExportFinding]:
    """Cells of one row against their group (``count(*) FILTER (WHERE …)`` beside ``count(*)``, a ``sum(CASE
    WHEN …)`` beside ``sum(x)``, two FILTERs and the group: A + B − group); a grand total's cells against its
    population. The group is a term of every combination, where the row shows it (a cell covering the whole
    group, as ``count(*)`` or ``sum(x)`` do; a group not shown is compared across releases, where another
    release may show it): every cell's population is part of it, so what is left is a set of entities. Two
    cells without it are not compared — men and women of a county differ by a few as often as not, and sizes
    cannot tell disjoint populations from nested ones; the query domain measured how far apart each pair of a
    row's populations is (``overlap``). Column totals of a grouped result are not searched either: they add
    up the rows' sets, so a small remainder there is a small one in some row, found per row; anything else
    they add up to is chance."""
    rows = [(mine.rows[key], mine.groups[key], cells) for key, cells in mine.shown.items()]
    if not mine.grouped and mine.shown_totals:
        rows.append((0, mine.shown_groups, mine.shown_totals))
    findings: list[ExportFinding] = []
    for row, group, cells in rows:
        if group <= 0 or all(size != group for size, _ in cells):
            continue  # the row does not show its group: nothing to anchor on
        terms = _pool([(group, _GROUP), *cells], ())  # the group first: the anchor of every combination
        if (found := _search(terms, k, with_earlier=False, own=1)) is not None:
            findings.append(ExportFinding(
                Finding.DIFFERENCING,
                f"第 {row + 1} 行各列所涉个体经加减组合（{_combination_text(terms, found)}）后仅余不足 {k} 个，"
                "同一结果内即可推算小群体（如条件计数与总计数并列）。", f"row:{row}"))
    return findings


def _released_finding(terms: Sequence[_Term], k: int, where: str,
                      holds: Callable[[Combination], bool] | None = None) -> list[ExportFinding]:
    found = _search(terms, k, with_earlier=True, holds=holds)
    if found is None:
        return []
    releases = sorted({terms[i].release for _, i in found} - {0})
    return [ExportFinding(
        Finding.DIFFERENCING if len(found) <= 2 else Finding.DIFFERENCING_COMBINATION,
        f"本结果与第 {'、'.join(map(str, releases))} 项已发布结果的人群规模经加减组合"
        f"（{_combination_text(terms, found)}）后仅余不足 {k} 个个体，可用容斥推算这一小群体的数值。", where)]
