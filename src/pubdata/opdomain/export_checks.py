"""The automatic checks of an export request (OPS-26): what a result or a file may not carry out of the domain.

A finding is blocking unless it is advisory (:data:`ADVISORY`); the implementing agency cannot approve an
export with a blocking finding. Results are checked here, files in :mod:`pubdata.opdomain.file_scan`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
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


#: Findings the reviewer sees that do not by themselves stop an approval; every other finding does.
ADVISORY = frozenset({Finding.RAW_VALUE_STATISTIC, Finding.MANUAL_REVIEW})


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


def _keyed(result: Protected) -> dict[tuple[Any, ...], list[tuple[str, int]]]:
    """Shown rows by (key column names, key values): each aggregate cell's (column, support)."""
    keys = [j for j, kind in enumerate(result.kinds) if kind == "key"]
    names = tuple(result.columns[j] for j in keys)
    out: dict[tuple[Any, ...], list[tuple[str, int]]] = {}
    for row, supports in zip(result.rows, _supports_per_cell(result), strict=True):
        if any(row[j].suppressed for j in keys):
            continue
        key = (names, tuple(row[j].value for j in keys))
        out.setdefault(key, []).extend(
            (result.columns[j], s) for j, s in enumerate(supports) if j not in keys and s is not None)
    return out


def _totals(result: Protected) -> set[int]:
    """The populations a whole result covers: all its rows' groups, and per aggregate column the sum of its
    cells (a grouped result summed up is comparable with a grand total). None known for a truncated one."""
    if result.truncated:
        return set()
    out = {sum(result.supports)} if result.supports else set()
    per_cell = _supports_per_cell(result)
    for j, kind in enumerate(result.kinds):
        column = [row[j] for row in per_cell]
        if kind != "key" and column and all(s is not None for s in column):
            out.add(sum(s for s in column if s is not None))
    return out


def differencing_findings(result: Protected, earlier: Sequence[Protected]) -> list[ExportFinding]:
    """Two releases whose corresponding cells (same key columns and key values, any aggregate column) or whose
    totals (a grand total, or a grouped result summed) cover populations differing by 1…k−1 entities:
    subtracting one from the other describes that small group. Whatever the two results' keys are, the
    totals are compared (a grand total against a grouped result is the classic pair)."""
    if not result.aggregate:
        return []
    k = result.min_count
    findings: list[ExportFinding] = []
    mine, my_totals = _keyed(result), _totals(result)
    for n, other in enumerate(earlier, start=1):
        if not other.aggregate:
            continue
        theirs = _keyed(other)
        for key, cells in mine.items():
            against = theirs.get(key, [])
            close = sorted({mine_col for mine_col, a in cells for _, b in against if 0 < abs(a - b) < k})
            if close:
                findings.append(ExportFinding(
                    Finding.DIFFERENCING,
                    f"与第 {n} 项已发布结果的对应单元格（{'、'.join(close)}）相差不足 {k} 个个体，相减可推算小群体。",
                    f"key:{'/'.join(map(str, key[1]))}",
                ))
        if any(0 < abs(a - b) < k for a in my_totals for b in _totals(other)):
            findings.append(ExportFinding(
                Finding.DIFFERENCING, f"与第 {n} 项已发布结果的总体相差不足 {k} 个个体，相减可推算小群体。", "total"
            ))
    return findings
