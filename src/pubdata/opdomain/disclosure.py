"""Statistical disclosure control (OPS-22, OPS-26) of query results, and the automatic export checks.

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
* **secondary** — when exactly one row of a result is hidden, the next-smallest row is hidden too, so the
  hidden one cannot be recovered from the table total.

Suppressed cells keep their place in the result with ``value=None`` and a reason; nothing is dropped.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pubdata.opdomain.identifiers import find_identifiers
from pubdata.opdomain.schema import DisclosureConfig


class Reason(StrEnum):
    MIN_COUNT = "min_count"
    COMPLEMENT = "complement"
    DOMINANCE = "dominance"
    SECONDARY = "secondary"
    TRUNCATED = "truncated"

    def label(self, config: DisclosureConfig) -> str:
        return {
            Reason.MIN_COUNT: f"单元格涉及的个体少于 {config.min_count} 个",
            Reason.COMPLEMENT: f"单元格之外的个体少于 {config.min_count} 个（补集过小）",
            Reason.DOMINANCE: "少数个体贡献占比过高（优势规则）",
            Reason.SECONDARY: "为防止由合计推算被隐藏的单元格而一并隐藏（互补隐藏）",
            Reason.TRUNCATED: f"结果超过 {config.max_rows} 行，其余行未显示",
        }[self]


@dataclass(frozen=True)
class Cell:
    value: Any
    reason: Reason | None = None

    @property
    def suppressed(self) -> bool:
        return self.reason is not None


@dataclass(frozen=True)
class AggStats:
    """Measured per row for one aggregate: contributing entities, and for magnitudes Σ|x| and max |x|."""

    #: Contributing entities; None for a sum measured without the exact count (then the bound applies).
    support: int | None
    abs_total: float | None = None
    top: float | None = None
    #: Rows the aggregate covers, for the complement rule: counts and FILTER-ed aggregates only (a sum's
    #: zero contributions are known to be zero, so they are no complement to protect).
    rows: int | None = None


@dataclass(frozen=True)
class RawRow:
    values: tuple[Any, ...]
    #: Entities in the row's group (``count(*)`` of the outermost SELECT).
    group_size: int
    #: Per output column: stats of each aggregate in it.
    stats: tuple[tuple[AggStats, ...], ...]


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

    def suppressed_count(self) -> int:
        return sum(c.suppressed for row in self.rows for c in row)


def _cell_reason(stats: Sequence[AggStats], population: int | None, config: DisclosureConfig) -> Reason | None:
    k = config.min_count
    for s in stats:
        if s.support is not None and s.support < k:
            return Reason.MIN_COUNT
        if population is not None and s.rows is not None and 0 < population - s.rows < k:
            return Reason.COMPLEMENT
        if s.abs_total is None or s.top is None:
            continue
        if s.top == 0:  # no non-zero contributor: a count of zero
            return Reason.MIN_COUNT
        if s.support is None and s.abs_total < k * s.top:  # fewer than k contributors not ruled out
            return Reason.DOMINANCE
        if any(n * s.top > p * s.abs_total for n, p in config.dominance):
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
) -> Protected:
    """Apply the rules above. ``population`` is the number of entities in the driving table (complement
    rule); row-level results (all columns public) pass through unchanged."""
    raw_rows = list(raw)
    if not aggregate:
        rows = tuple(tuple(Cell(v) for v in r.values) for r in raw_rows)
        return Protected(tuple(columns), tuple(kinds), rows, (), False, truncated, config.min_count)
    k = config.min_count
    out: list[list[Cell]] = []
    hidden_rows: list[int] = []
    for i, r in enumerate(raw_rows):
        if r.group_size < k or (population is not None and 0 < population - r.group_size < k):
            reason = Reason.MIN_COUNT if r.group_size < k else Reason.COMPLEMENT
            out.append([Cell(None, reason) for _ in r.values])
            hidden_rows.append(i)
            continue
        row = []
        for value, kind, stats in zip(r.values, kinds, r.stats, strict=True):
            reason = None if kind == "key" else _cell_reason(stats, population, config)
            row.append(Cell(None if reason else value, reason))
        out.append(row)
    if len(hidden_rows) == 1 and len(raw_rows) > 1:
        visible = [i for i in range(len(raw_rows)) if i not in hidden_rows]
        j = min(visible, key=lambda i: raw_rows[i].group_size)
        out[j] = [Cell(None, Reason.SECONDARY) for _ in out[j]]
    return Protected(
        tuple(columns), tuple(kinds), tuple(tuple(r) for r in out), tuple(r.group_size for r in raw_rows),
        True, truncated, k,
    )


# --- export checks (OPS-26) ---------------------------------------------------------------------------------


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
            if not cell.suppressed and _may_hold_identifier(cell.value, result.kinds[j]) \
                    and next(find_identifiers(str(cell.value)), None):
                findings.append(
                    ExportFinding(Finding.IDENTIFIER, "结果中含有个人或单位标识符。", f"row:{i}/{result.columns[j]}")
                )
    findings.extend(differencing_findings(result, earlier))
    return findings


_FIGURE = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def _may_hold_identifier(value: Any, kind: str) -> bool:
    """Whether a shown cell can carry an ID number, mobile number or credit code. Computed figures cannot: the
    decimal digits of an average (``19291.13089843283``) often look like a mobile number, and about one float
    in forty would otherwise block an export. Group keys and row values are read as text, integers included
    (a number column may hold mobiles); aggregates only when they are non-numeric text."""
    if value is None or isinstance(value, bool | float):
        return False
    if kind in ("key", "value"):
        return isinstance(value, str | int)
    return isinstance(value, str) and not _FIGURE.fullmatch(value.strip())


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


def _keyed(result: Protected) -> dict[tuple[Any, ...], int]:
    keys = [j for j, kind in enumerate(result.kinds) if kind == "key"]
    return {
        tuple(row[j].value for j in keys): support
        for row, support in zip(result.rows, result.supports, strict=True)
        if not any(row[j].suppressed for j in keys)
    }


def differencing_findings(result: Protected, earlier: Sequence[Protected]) -> list[ExportFinding]:
    """Two releases whose matching cells (same group keys) or whose totals cover populations differing by
    fewer than k entities: subtracting one from the other describes that small group."""
    if not result.aggregate:
        return []
    k = result.min_count
    findings: list[ExportFinding] = []
    mine = _keyed(result)
    for n, other in enumerate(earlier, start=1):
        if not other.aggregate or other.kinds.count("key") != result.kinds.count("key"):
            continue
        theirs = _keyed(other)
        for key, support in mine.items():
            diff = abs(support - theirs.get(key, support))
            if 0 < diff < k:
                findings.append(ExportFinding(
                    Finding.DIFFERENCING,
                    f"与第 {n} 项已发布结果的同一单元格相差不足 {k} 个个体，相减可推算小群体。",
                    f"key:{'/'.join(map(str, key))}",
                ))
        diff = abs(sum(result.supports) - sum(other.supports))
        if 0 < diff < k:
            findings.append(ExportFinding(
                Finding.DIFFERENCING, f"与第 {n} 项已发布结果的总体相差不足 {k} 个个体，相减可推算小群体。", "total"
            ))
    return findings


# --- files --------------------------------------------------------------------------------------------------

_COMPRESSED = (b"PAR1", b"PK\x03\x04", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf", b"(\xb5/\xfd", b"Rar!")
CHUNK = 1 << 20
OVERLAP = 64


def scan_file(chunks: Iterable[bytes]) -> list[ExportFinding]:
    """Scan a file's bytes for identifier patterns (valid check digits only), chunk by chunk with an overlap
    so that nothing on a chunk boundary is missed. A match touching a window edge that is not the file's
    edge may be a fragment of a longer number; it is left to the window that sees it whole. Compressed,
    archived or Parquet content cannot be read this way, so it is a finding rather than a pass."""
    found: dict[tuple[str, int], ExportFinding] = {}
    tail, start = b"", 0  # start: file offset of the window's first byte
    iterator = iter(chunks)
    chunk = next(iterator, None)
    if chunk is not None and chunk.startswith(_COMPRESSED):
        found[("unscannable", 0)] = ExportFinding(
            Finding.UNSCANNABLE, "文件为压缩、归档或列存格式，无法自动扫描，请提交可读的明文格式。"
        )
    while chunk is not None:
        following = next(iterator, None)
        window = tail + chunk
        end = start + len(window)
        for m in find_identifiers(window, start):
            length = len(m.masked)
            if (m.offset == start and start > 0) or (m.offset + length >= end and following is not None):
                continue
            found.setdefault(
                (m.kind, m.offset),
                ExportFinding(Finding.IDENTIFIER, f"文件中含有{m.kind.label}（{m.masked}）。", f"offset:{m.offset}"),
            )
        tail = window[-OVERLAP:]
        start = end - len(tail)
        chunk = following
    return list(found.values())


def scan_bytes(data: bytes) -> list[ExportFinding]:
    return scan_file(data[i : i + CHUNK] for i in range(0, max(len(data), 1), CHUNK))


# --- documents ----------------------------------------------------------------------------------------------

_PDF_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
#: Inflated PDF content streams scanned per file; more than this is a finding (a compression bomb or not, the
#: scanner cannot vouch for what it did not read).
MAX_INFLATED = 64 << 20


def _pdf_streams(data: bytes) -> Iterator[bytes | None]:
    """Each Flate-compressed content stream inflated; None once the budget is spent."""
    budget = MAX_INFLATED
    for m in _PDF_STREAM.finditer(data):
        inflater = zlib.decompressobj()
        try:
            out = inflater.decompress(m.group(1), budget + 1)
        except zlib.error:
            continue  # not Flate (images, fonts in other filters): the raw bytes were scanned already
        budget -= len(out)
        if budget < 0:
            yield None
            return
        yield out


def scan_document(data: bytes, media_type: str) -> list[ExportFinding]:
    """Identifier scan of an uploaded file by its type: text as it is; PDF also inside its compressed content
    streams, with an advisory that text drawn through font encodings cannot be read; images advisory only."""
    findings = scan_bytes(data)
    if media_type == "application/pdf":
        for n, stream in enumerate(_pdf_streams(data)):
            if stream is None:
                findings.append(ExportFinding(Finding.UNSCANNABLE, "PDF 解压后的内容过大，无法完整扫描。"))
                break
            findings.extend(ExportFinding(f.code, f.detail, f"stream:{n}/{f.where}") for f in scan_bytes(stream)
                            if f.code is Finding.IDENTIFIER)
        findings.append(ExportFinding(
            Finding.MANUAL_REVIEW, "PDF 中的文字可能以字体编码存储，自动扫描不能保证发现全部标识符，请人工审核。"))
    elif media_type.startswith("image/"):
        findings.append(ExportFinding(Finding.MANUAL_REVIEW, "图片中的文字无法自动识别，请人工审核图片内容。"))
    return findings
