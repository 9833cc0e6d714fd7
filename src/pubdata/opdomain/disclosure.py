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

import base64
import codecs
import functools
import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from pubdata.opdomain.identifiers import find_identifiers, scan_text
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


class RawRow(NamedTuple):
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
    #: Per row and output column: the entities the cell's aggregates cover (the smallest, when a cell has
    #: several), None for group keys; never shown. Differencing compares cells, not only rows, with these.
    cell_supports: tuple[tuple[int | None, ...], ...] = ()

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
        top, total = s.top, s.abs_total
        if total is None or top is None:
            continue
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
) -> Protected:
    """Apply the rules above. ``population`` is the number of entities in the driving table (complement
    rule); row-level results (all columns public) pass through unchanged."""
    raw_rows = list(raw)
    if not aggregate:
        rows = tuple(tuple(Cell(v) for v in r.values) for r in raw_rows)
        return Protected(tuple(columns), tuple(kinds), rows, (), False, truncated, config.min_count)
    # One pass per row over its cells; results have thousands of cells and this runs on every query.
    k, dominance = config.min_count, config.dominance
    keys = [kind == "key" for kind in kinds]
    out: list[tuple[Cell, ...]] = []
    cell_supports: list[tuple[int | None, ...]] = []
    hidden_rows: list[int] = []
    for i, r in enumerate(raw_rows):
        group = r.group_size
        cell_supports.append(tuple(cell_support(stats, group) for stats in r.stats))
        if group < k or (population is not None and 0 < population - group < k):
            reason = Reason.MIN_COUNT if group < k else Reason.COMPLEMENT
            out.append(tuple(Cell(None, reason) for _ in r.values))
            hidden_rows.append(i)
            continue
        row = []
        for value, is_key, stats in zip(r.values, keys, r.stats, strict=True):
            reason = None if is_key else _cell_reason(stats, population, k, dominance)
            row.append(Cell(value) if reason is None else Cell(None, reason))
        out.append(tuple(row))
    if len(hidden_rows) == 1 and len(raw_rows) > 1:
        visible = [i for i in range(len(raw_rows)) if i not in hidden_rows]
        j = min(visible, key=lambda i: raw_rows[i].group_size)
        out[j] = tuple(Cell(None, Reason.SECONDARY) for _ in out[j])
    return Protected(
        tuple(columns), tuple(kinds), tuple(out), tuple(r.group_size for r in raw_rows),
        True, truncated, k, tuple(cell_supports),
    )


def cell_support(stats: Sequence[AggStats], group_size: int) -> int | None:
    """The entities one cell covers: for each aggregate the rows it reads (a FILTER or count(x) reads fewer
    than the group), the smallest of them; None for a cell without aggregates (group keys)."""
    if not stats:
        return None
    if len(stats) == 1:
        rows = stats[0].rows
        return group_size if rows is None else rows
    return min(s.rows if s.rows is not None else group_size for s in stats)


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


def _may_hold_identifier(value: Any, kind: str) -> bool:
    return _cell_text(value, kind) is not None


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


# --- files --------------------------------------------------------------------------------------------------

_COMPRESSED = (b"PAR1", b"PK\x03\x04", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf", b"(\xb5/\xfd", b"Rar!")
#: Archive and compressed-stream signatures searched for anywhere in a file (not only at its start: a ZIP
#: appended to a PDF or an image is still a ZIP). gzip is checked separately (two bytes occur by chance).
_ARCHIVE_ANYWHERE = re.compile(
    rb"PK\x03\x04|PK\x05\x06|PK\x07\x08|7z\xbc\xaf\x27\x1c|Rar!\x1a\x07|\xfd7zXZ\x00|\x28\xb5\x2f\xfd"
    rb"|BZh[1-9]1AY&SY")
_GZIP = re.compile(rb"\x1f\x8b\x08")
CHUNK = 1 << 20
OVERLAP = 64


def _unscannable(message: str, where: str = "") -> ExportFinding:
    return ExportFinding(Finding.UNSCANNABLE, message, where)


def scan_file(chunks: Iterable[bytes]) -> list[ExportFinding]:
    """Scan a file's bytes for identifier patterns (valid check digits only), chunk by chunk with an overlap
    so that nothing on a chunk boundary is missed. A match touching a window edge that is not the file's
    edge may be a fragment of a longer number; it is left to the window that sees it whole. Compressed,
    archived or Parquet content cannot be read this way, so it is a finding rather than a pass — at the
    start of the file or (archive signatures) anywhere in it."""
    found: dict[tuple[str, int], ExportFinding] = {}
    tail, start = b"", 0  # start: file offset of the window's first byte
    iterator = iter(chunks)
    chunk = next(iterator, None)
    archive = chunk is not None and chunk.startswith(_COMPRESSED)
    while chunk is not None:
        following = next(iterator, None)
        window = tail + chunk
        end = start + len(window)
        archive = archive or _ARCHIVE_ANYWHERE.search(window) is not None
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
    out = list(found.values())
    if archive:
        out.insert(0, _unscannable("文件为压缩、归档或列存格式，或其中含有压缩包，无法自动扫描，"
                                   "请提交可读的明文格式。"))
    return out


def scan_bytes(data: bytes) -> list[ExportFinding]:
    return scan_file(data[i : i + CHUNK] for i in range(0, max(len(data), 1), CHUNK))


# --- documents ----------------------------------------------------------------------------------------------

#: Decompressed content (PDF streams, members of Office/OFD packages) scanned per file; more than this is a
#: finding (a compression bomb or not, the scanner cannot vouch for what it did not read).
MAX_INFLATED = 64 << 20
TEXT_TYPES = ("text/", "application/json", "application/xml")
#: ZIP packages of XML whose members are read (anything in them that is not text makes the file unscannable).
XML_PACKAGES = frozenset({
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation", "application/ofd"})
OLE_TYPES = frozenset({"application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
                       "application/wps-office.wps", "application/wps-office.et", "application/wps-office.dps"})


def _is_gzip_at(data: bytes, at: int) -> bool:
    """A gzip header that really starts a deflate stream (two signature bytes also occur by chance)."""
    if at + 10 > len(data) or data[at + 3] & 0xE0:
        return False
    inflater = zlib.decompressobj(31)
    try:
        out = inflater.decompress(data[at : at + (1 << 16)], 256)
    except zlib.error:
        return False
    return inflater.eof or len(out) >= 64


def has_archive(data: bytes) -> bool:
    """Whether an archive or compressed stream starts anywhere in ``data``."""
    if data.startswith(_COMPRESSED) or _ARCHIVE_ANYWHERE.search(data):
        return True
    return any(_is_gzip_at(data, m.start()) for m in _GZIP.finditer(data))


def decode_text(data: bytes) -> str:
    """Text of a file: UTF-8 or UTF-16 by byte-order mark, UTF-16 by its NUL pattern, else UTF-8, else GB18030."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    sample = data[:8192]
    if sample and sample.count(0) * 4 >= len(sample):
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        return data.decode("utf-16-le" if odd >= even else "utf-16-be", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def _binary_texts(data: bytes) -> Iterator[str]:
    """Readings of a binary file's bytes as text: 8-bit (GB18030) and UTF-16 in both byte orders and
    alignments, so that strings stored by Office (UTF-16LE) are seen too."""
    yield data.decode("gb18030", errors="replace")
    for codec in ("utf-16-le", "utf-16-be"):
        for shift in (0, 1):
            part = data[shift:]
            yield part[: len(part) // 2 * 2].decode(codec, errors="replace")


def _text_findings(texts: Iterable[str], where: str = "") -> list[ExportFinding]:
    out: list[ExportFinding] = []
    for text in texts:
        for m in scan_text(text):
            out.append(ExportFinding(Finding.IDENTIFIER, f"文件中含有{m.kind.label}（{m.masked}）。",
                                     f"{where}offset:{m.offset}"))
    return out


_PDF_STREAM = re.compile(rb"(?<![A-Za-z])stream(?:\r\n|\r|\n)?(.*?)endstream", re.S)
_PDF_FILTER = re.compile(rb"/Filter\s*(\[[^\]]*\]|/[A-Za-z0-9]+)")
_PDF_HEX_STRING = re.compile(rb"<([0-9A-Fa-f\s]{4,})>")
_EOL = re.compile(rb"(\r\n|\r|\n)\Z")


def _pdf_decode(body: bytes, filters: list[bytes], budget: int) -> bytes | None:
    """A stream's body through its filters; None when a filter is not one the scanner reads or fails."""
    out = body
    for f in filters:
        try:
            if f in (b"FlateDecode", b"Fl"):
                inflater = zlib.decompressobj()
                out = inflater.decompress(out, budget + 1)
                if not inflater.eof and len(out) <= budget:
                    return None
            elif f in (b"ASCIIHexDecode", b"AHx"):
                digits = re.sub(rb"\s", b"", out).split(b">", 1)[0]
                out = bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode("ascii"))
            elif f in (b"ASCII85Decode", b"A85"):
                text = re.sub(rb"\s", b"", out)
                text = text[2:] if text.startswith(b"<~") else text
                out = base64.a85decode(text.split(b"~>", 1)[0])
            else:
                return None
        except (zlib.error, ValueError, UnicodeDecodeError):
            return None
    return out


def _pdf_strings(data: bytes) -> Iterator[str]:
    """Hex strings (``<3133…>``) of PDF syntax, decoded: text drawn or stored that way is read too."""
    for m in _PDF_HEX_STRING.finditer(data):
        digits = re.sub(rb"\s", b"", m.group(1))
        raw = bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode("ascii"))
        yield decode_text(raw)


def _scan_pdf(data: bytes) -> list[ExportFinding]:
    findings: list[ExportFinding] = []
    budget = MAX_INFLATED
    skeleton: list[bytes] = []
    last = 0
    for n, m in enumerate(_PDF_STREAM.finditer(data)):
        head = data[last : m.start()]
        skeleton.append(head)
        last = m.end()
        body = _EOL.sub(b"", m.group(1))
        obj = head[head.rfind(b"obj") + 3 :] if b"obj" in head else head[-2048:]
        if re.search(rb"/Subtype\s*/Image", obj):
            findings.append(_unscannable("PDF 中含有图片，图片中的文字无法自动识别。", f"stream:{n}"))
            continue
        spec = _PDF_FILTER.search(obj)
        filters = re.findall(rb"/([A-Za-z0-9]+)", spec.group(1)) if spec else []
        decoded = _pdf_decode(body, filters, budget)
        if decoded is None:
            findings.append(_unscannable("PDF 中有无法解码的内容流（加密、图像编码或不支持的压缩方式），无法完整扫描。",
                                         f"stream:{n}"))
            continue
        budget -= len(decoded)
        if budget < 0:
            findings.append(_unscannable("PDF 解压后的内容过大，无法完整扫描。"))
            return findings
        if has_archive(decoded):
            findings.append(_unscannable("PDF 中嵌有压缩包或归档文件，无法自动扫描。", f"stream:{n}"))
        findings.extend(_text_findings([decode_text(decoded), *_pdf_strings(decoded)], f"stream:{n}/"))
    skeleton.append(data[last:])
    rest = b"".join(skeleton)
    if has_archive(rest):
        findings.append(_unscannable("PDF 文件中（含文件末尾之后）夹带压缩包或归档文件，无法自动扫描。"))
    findings.extend(_text_findings([rest.decode("gb18030", errors="replace"), *_pdf_strings(rest)]))
    findings.append(ExportFinding(
        Finding.MANUAL_REVIEW, "PDF 中的文字可能以字体编码存储，自动扫描不能保证发现全部标识符，请人工审核。"))
    return findings


_XML_TAG = re.compile(r"<[^>]*>")


def _scan_package(data: bytes) -> list[ExportFinding]:
    """An Office Open XML / ODF / OFD package: every member must be XML or text and is scanned (as it is and
    with its tags removed, so that a number split over runs is seen whole); anything else is unscannable."""
    findings: list[ExportFinding] = []
    budget = MAX_INFLATED
    eocd = data.rfind(b"PK\x05\x06")
    if eocd < 0 or eocd + 22 > len(data) or eocd + 22 + int.from_bytes(data[eocd + 20 : eocd + 22], "little") \
            != len(data):
        return [_unscannable("文件包结构异常（文件末尾夹带其他内容），无法自动扫描。")]
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            members = [i for i in z.infolist() if not i.is_dir()]
            if data.count(b"PK\x03\x04") != len(z.infolist()):
                return [_unscannable("文件包中夹带其他压缩内容，无法自动扫描。")]
            for info in members:
                if info.file_size > budget:
                    return [_unscannable("文件包解压后的内容过大，无法完整扫描。")]
                with z.open(info) as fh:
                    content = fh.read(budget + 1)
                budget -= len(content)
                if budget < 0:
                    return [_unscannable("文件包解压后的内容过大，无法完整扫描。")]
                where = f"member:{info.filename}/"
                if has_archive(content):
                    findings.append(_unscannable("文件包中嵌有压缩包或归档文件，无法自动扫描。", where))
                    continue
                if b"\x00" in content[:8192] and not content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                    findings.append(_unscannable("文件包中含有图片或二进制内容，无法自动扫描。", where))
                    continue
                text = decode_text(content)
                if "\ufffd" in text and not info.filename.lower().endswith((".xml", ".rels")):
                    findings.append(_unscannable("文件包中含有图片或二进制内容，无法自动扫描。", where))
                    continue
                findings.extend(_text_findings([text, _XML_TAG.sub("", text)], where))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, NotImplementedError, ValueError, OSError,
            EOFError, zlib.error):
        return [_unscannable("文件包无法解开（加密或已损坏），无法自动扫描。")]
    return findings


def scan_document(data: bytes, media_type: str) -> list[ExportFinding]:
    """Identifier scan of an uploaded file by its type. Only decodable text counts as scanned: text files
    (UTF-8, GB18030, UTF-16) and XML packages (docx/xlsx/pptx/ODF/OFD) are read whole, after NFKC
    normalisation and again with separators inside digit runs removed; PDF content streams are decoded
    (Flate, ASCIIHex, ASCII85) and a stream that cannot be is ``unscannable``, as are images, OLE files
    (doc/xls/ppt/WPS), archives, and an archive signature anywhere in a file. Binary files are still read
    for identifiers (8-bit and UTF-16) so that the reviewer learns what was seen."""
    media_type = (media_type or "").split(";")[0].strip().lower()
    findings: list[ExportFinding] = []
    if media_type.startswith(TEXT_TYPES):
        if has_archive(data):
            findings.append(_unscannable("文件中夹带压缩包或归档文件，无法自动扫描。"))
        findings += _text_findings([decode_text(data)])
    elif media_type in XML_PACKAGES:
        findings += _scan_package(data)
    elif media_type == "application/pdf":
        findings += _scan_pdf(data)
    else:
        if media_type.startswith("image/"):
            findings.append(_unscannable("图片中的文字无法自动识别，不能作为可扫描的内容导出。"))
        elif media_type in OLE_TYPES:
            findings.append(_unscannable(
                "Word/Excel/PowerPoint 97-2003 或 WPS 格式（OLE 复合文件）无法完整解析扫描，"
                "请另存为 docx/xlsx 或文本格式。"))
        else:
            findings.append(_unscannable("文件为压缩、归档或未知的二进制格式，无法自动扫描，请提交可读的明文格式。"))
        if (media_type.startswith("image/") or media_type in OLE_TYPES) and has_archive(data):
            findings.append(_unscannable("文件中夹带压缩包或归档文件，无法自动扫描。"))
        findings += _text_findings(_binary_texts(data))
    seen: set[tuple[Finding, str]] = set()
    out: list[ExportFinding] = []
    for f in findings:
        key = (f.code, f.detail if f.code is not Finding.UNSCANNABLE else f.detail + f.where)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
