"""The import format (docs/calendar-import.md): JSON or CSV in, a validated ``Arrangement`` out.

Both formats are reduced to the same rows and checked by one validator, so a rule holds whichever format a
year arrives in. Every problem is reported at once, per field, with a Chinese message and a stable code.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pubdata.calendar.core import Arrangement
from pubdata.errors import FieldError, ValidationFailed

MAX_FILE_BYTES = 1_000_000
#: The longest block so far is 10 days (Spring Festival 2020, extended); a month is surely a typo.
MAX_RANGE_DAYS = 31
MIN_YEAR, MAX_YEAR = 1949, 2199
META_FIELDS = ("year", "title", "notice_number", "notice_date")
#: Column widths of calendar_year / calendar_day.
TITLE_MAX, NUMBER_MAX, NAME_MAX = 300, 100, 50

_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
_KINDS = {
    "holiday": "holiday", "休": "holiday", "放假": "holiday",
    "workday": "workday", "班": "workday", "上班": "workday", "调休上班": "workday",
}  # fmt: skip
_CSV_COLUMNS = {
    "date": "date", "日期": "date",
    "kind": "kind", "类型": "kind",
    "name": "name", "名称": "name", "节日": "name",
}  # fmt: skip
_LIST_KEYS = {"holidays": "holiday", "workdays": "workday"}


@dataclass(frozen=True)
class _Row:
    """One entry of either format; ``where`` is its field path for error messages."""

    where: str
    kind: str
    date: object = None
    start: object = None
    end: object = None
    name: object = None


class _Errors:
    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, field: str, code: str, message: str) -> None:
        self.items.append(FieldError(field, code, message))

    def raise_if_any(self) -> None:
        if self.items:
            detail = "节假日安排文件有误：" + "；".join(e.message for e in self.items[:3])
            if len(self.items) > 3:
                detail += f"；等共 {len(self.items)} 处问题"
            raise ValidationFailed(self.items, detail=detail + "。")


def parse_date(value: object) -> dt.date | None:
    """``YYYY-MM-DD`` (also ``YYYY/M/D``, as spreadsheets write it) or a date; None when not a real date."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    m = _DATE.fullmatch(value.strip()) if isinstance(value, str) else None
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    return None


def _parse_date(value: object, field: str, errors: _Errors) -> dt.date | None:
    d = parse_date(value)
    if d is None:
        errors.add(field, "invalid_date", f"“{value}”不是有效日期，应写作 YYYY-MM-DD，如 2027-01-01")
    return d


def _text(value: object, field: str, limit: int, errors: _Errors) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors.add(field, "invalid_type", "应为文本")
        return None
    value = value.strip()
    if len(value) > limit:
        errors.add(field, "too_long", f"不能超过 {limit} 个字符")
        return None
    return value or None


def _parse_year(value: object, errors: _Errors) -> int | None:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add("year", "invalid_year", f"年份“{value}”无效，应为四位数字，如 2027")
        return None
    if not MIN_YEAR <= value <= MAX_YEAR:
        errors.add("year", "invalid_year", f"年份 {value} 超出可接受范围（{MIN_YEAR}–{MAX_YEAR}）")
        return None
    return value


def _expand(row: _Row, errors: _Errors) -> list[dt.date]:
    if row.date is not None:
        if row.start is not None or row.end is not None:
            errors.add(row.where, "invalid_range", "请只写 date，或只写 start 与 end")
            return []
        d = _parse_date(row.date, f"{row.where}.date", errors)
        return [d] if d else []
    if row.start is None or row.end is None:
        errors.add(f"{row.where}.date", "required", "缺少日期（date，或 start 与 end）")
        return []
    start = _parse_date(row.start, f"{row.where}.start", errors)
    end = _parse_date(row.end, f"{row.where}.end", errors)
    if start is None or end is None:
        return []
    if end < start:
        errors.add(f"{row.where}.end", "invalid_range", f"结束日期 {end} 早于开始日期 {start}")
        return []
    if (end - start).days >= MAX_RANGE_DAYS:
        errors.add(f"{row.where}.end", "range_too_long", f"日期区间超过 {MAX_RANGE_DAYS} 天，请检查")
        return []
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def _build(meta: Mapping[str, object], rows: list[_Row], errors: _Errors) -> Arrangement:
    year = _parse_year(meta["year"], errors) if meta.get("year") is not None else None
    title = _text(meta.get("title"), "title", TITLE_MAX, errors)
    number = _text(meta.get("notice_number"), "notice_number", NUMBER_MAX, errors)
    notice_date = None
    if meta.get("notice_date") not in (None, ""):
        notice_date = _parse_date(meta["notice_date"], "notice_date", errors)

    expanded: list[tuple[_Row, dt.date, str | None]] = []
    for row in rows:
        name = _text(row.name, f"{row.where}.name", NAME_MAX, errors)
        expanded.extend((row, d, name) for d in _expand(row, errors))

    if year is None and meta.get("year") is None:
        years = sorted({d.year for _, d, _ in expanded})
        if len(years) == 1:
            year = years[0]
        elif years:
            errors.add("year", "required", f"未写明年份，而日期分属 {len(years)} 个年份，请写明 year")
        elif not rows:
            errors.add("year", "required", "未写明年份")

    holidays: dict[dt.date, str | None] = {}
    workdays: dict[dt.date, str | None] = {}
    seen: dict[dt.date, _Row] = {}
    for row, d, name in expanded:
        field = f"{row.where}.date" if row.date is not None else row.where
        if year is not None and d.year != year:
            errors.add(field, "wrong_year", f"日期 {d} 不在 {year} 年内")
            continue
        if d in seen:
            if seen[d].kind != row.kind:
                errors.add(field, "holiday_workday_conflict", f"{d} 不能既是放假日又是调休上班日")
            else:
                errors.add(field, "duplicate_date", f"{d} 重复列出")
            continue
        seen[d] = row
        if row.kind == "workday" and d.weekday() < 5:
            errors.add(field, "workday_not_weekend", f"调休上班日 {d} 是周一至周五，本来就是工作日，请检查")
            continue
        (holidays if row.kind == "holiday" else workdays)[d] = name

    if not any(r.kind == "holiday" for r in rows) and not any(e.field == "holidays" for e in errors.items):
        errors.add("holidays", "required", "至少应列出一个放假日")
    errors.raise_if_any()
    assert year is not None
    return Arrangement(
        year, holidays, workdays, source="import", title=title, notice_number=number, notice_date=notice_date
    )


def parse_document(raw: object) -> Arrangement:
    """Validate a JSON-shaped document (see docs/calendar-import.md) into an arrangement."""
    errors = _Errors()
    if not isinstance(raw, Mapping):
        errors.add("", "invalid_type", "文件内容应为一个 JSON 对象")
        errors.raise_if_any()
    assert isinstance(raw, Mapping)
    for key in raw:
        if key not in META_FIELDS and key not in _LIST_KEYS:
            errors.add(str(key), "unknown_field", f"无法识别的字段“{key}”")
    rows: list[_Row] = []
    for key, kind in _LIST_KEYS.items():
        entries = raw.get(key, [])
        if not isinstance(entries, list):
            errors.add(key, "invalid_type", "应为列表")
            continue
        for i, entry in enumerate(entries):
            where = f"{key}.{i}"
            if not isinstance(entry, Mapping):
                errors.add(where, "invalid_type", "每一项应为对象，如 {\"date\": \"2027-01-01\", \"name\": \"元旦\"}")
                continue
            for k in entry:
                if k not in {"date", "start", "end", "name"}:
                    errors.add(f"{where}.{k}", "unknown_field", f"无法识别的字段“{k}”")
            rows.append(_Row(where, kind, entry.get("date"), entry.get("start"), entry.get("end"), entry.get("name")))
    return _build(raw, rows, errors)


def parse_json(text: str) -> Arrangement:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed.single(
            "file", "invalid_json", f"JSON 格式错误：第 {exc.lineno} 行第 {exc.colno} 列附近无法解析"
        ) from None
    return parse_document(raw)


def parse_csv(text: str) -> Arrangement:
    """CSV with ``# key: value`` lines for the notice, then a header ``date,kind,name`` and one date a row."""
    errors = _Errors()
    meta: dict[str, object] = {}
    body: list[tuple[int, str]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            key, sep, value = stripped.lstrip("#").replace("：", ":", 1).partition(":")
            key = key.strip()
            if not sep or key not in META_FIELDS:
                errors.add(f"line.{lineno}", "unknown_field", f"第 {lineno} 行：无法识别的说明行“{stripped}”")
            else:
                meta[key] = value.strip()
        elif stripped.strip(","):
            body.append((lineno, line))
    rows: list[_Row] = []
    if not body:
        errors.add("file", "invalid_csv", "文件中没有表头和数据行")
        errors.raise_if_any()
    header_lineno, header_line = body[0]
    header = [c.strip().lower() for c in next(csv.reader([header_line]))]
    columns = [_CSV_COLUMNS.get(c) for c in header]
    if None in columns or "date" not in columns or "kind" not in columns or len(set(columns)) != len(columns):
        errors.add(
            f"line.{header_lineno}", "invalid_csv", "表头应为 date,kind,name（或 日期,类型,名称），name 可省略"
        )
        errors.raise_if_any()
    for lineno, line in body[1:]:
        cells = next(csv.reader([line]))
        where = f"line.{lineno}"
        if len(cells) != len(columns):
            errors.add(where, "invalid_csv", f"第 {lineno} 行应有 {len(columns)} 列，实有 {len(cells)} 列")
            continue
        values = dict(zip(columns, (c.strip() for c in cells), strict=True))
        kind = _KINDS.get(str(values["kind"]).lower())
        if kind is None:
            errors.add(f"{where}.kind", "invalid_kind", f"第 {lineno} 行类型“{values['kind']}”应为 holiday 或 workday")
            continue
        rows.append(_Row(where, kind, date=values["date"], name=values.get("name") or None))
    return _build(meta, rows, errors)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheets on Chinese Windows save CSV in GBK; GB 18030 is its superset.
        return data.decode("gb18030")


def load_file(path: Path) -> Arrangement:
    """Read a ``.json`` or ``.csv`` arrangement file; any problem becomes ``ValidationFailed``."""
    suffix = path.suffix.lower()
    if suffix not in {".json", ".csv"}:
        raise ValidationFailed.single("file", "unsupported_format", "只支持 .csv 或 .json 文件")
    try:
        data = path.read_bytes()
    except OSError:
        raise ValidationFailed.single("file", "file_unreadable", f"无法读取文件 {path}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ValidationFailed.single("file", "file_too_large", "文件过大，一年的安排不应超过 1 MB")
    try:
        text = _decode(data) if suffix == ".csv" else data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed.single("file", "invalid_encoding", "文件编码无法识别，请保存为 UTF-8") from None
    return parse_csv(text) if suffix == ".csv" else parse_json(text)


def to_document(a: Arrangement) -> dict[str, Any]:
    """The JSON form of an arrangement, one entry a date; ``parse_document`` reads it back unchanged."""
    doc: dict[str, Any] = {"year": a.year}
    for key in ("title", "notice_number"):
        if getattr(a, key):
            doc[key] = getattr(a, key)
    if a.notice_date:
        doc["notice_date"] = a.notice_date.isoformat()
    for key, days in (("holidays", a.holidays), ("workdays", a.workdays)):
        doc[key] = [{"date": d.isoformat(), **({"name": n} if n else {})} for d, n in days.items()]
    return doc


def to_json(a: Arrangement) -> str:
    """``to_document`` as text people can edit: one date a line."""

    def dump(value: object) -> str:
        return json.dumps(value, ensure_ascii=False)

    lines = []
    for key, value in to_document(a).items():
        if isinstance(value, list):
            items = ",\n".join(f"    {dump(v)}" for v in value)
            lines.append(f'  {dump(key)}: [\n{items}\n  ]' if value else f"  {dump(key)}: []")
        else:
            lines.append(f"  {dump(key)}: {dump(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def to_csv(a: Arrangement) -> str:
    out = io.StringIO()
    for key in ("year", "title", "notice_number", "notice_date"):
        value = getattr(a, key)
        if value:
            out.write(f"# {key}: {value}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", "kind", "name"])
    for kind, days in (("holiday", a.holidays), ("workday", a.workdays)):
        for d, n in days.items():
            writer.writerow([d.isoformat(), kind, n or ""])
    return out.getvalue()
