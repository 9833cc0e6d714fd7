"""The documented import format: both formats, every validation rule, round trips, the doc's examples."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from pubdata.calendar.builtin import builtin_arrangements
from pubdata.calendar.formats import (
    load_file,
    parse_csv,
    parse_document,
    parse_json,
    to_csv,
    to_document,
    to_json,
)
from pubdata.errors import ValidationFailed

D = dt.date
DOC = Path(__file__).resolve().parents[2] / "docs" / "calendar-import.md"


def codes(exc: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {e.field: e.code for e in exc.value.errors}


def doc_for(**overrides: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "year": 2027,
        "holidays": [{"date": "2027-01-01", "name": "元旦"}],
        "workdays": [{"date": "2027-01-02", "name": "元旦"}],
    }
    doc.update(overrides)
    return doc


def test_json_document_with_notice_and_ranges_is_read() -> None:
    a = parse_document(
        doc_for(
            title="国务院办公厅关于2027年部分节假日安排的通知",
            notice_number="国办发明电〔2026〕1号",
            notice_date="2026-11-10",
            holidays=[{"name": "春节", "start": "2027-02-06", "end": "2027-02-08"}],
        )
    )
    assert a.year == 2027
    assert a.notice_number == "国办发明电〔2026〕1号"
    assert a.notice_date == D(2026, 11, 10)
    assert dict(a.holidays) == {D(2027, 2, 6): "春节", D(2027, 2, 7): "春节", D(2027, 2, 8): "春节"}
    assert dict(a.workdays) == {D(2027, 1, 2): "元旦"}


def test_year_is_taken_from_the_dates_when_omitted() -> None:
    doc = doc_for()
    del doc["year"]
    assert parse_document(doc).year == 2027


def test_every_problem_is_reported_at_once_with_codes_and_chinese_messages() -> None:
    with pytest.raises(ValidationFailed) as exc:
        parse_document(
            {
                "year": 2027,
                "holiday": [],
                "holidays": [
                    {"date": "2027-02-30"},
                    {"date": "2026-12-31"},
                    {"date": "2027-01-01"},
                    {"date": "2027-01-01"},
                    {"start": "2027-03-05", "end": "2027-03-01"},
                    {"start": "2027-03-01", "end": "2027-05-01"},
                ],
                "workdays": [{"date": "2027-01-01"}, {"date": "2027-01-04"}],
            }
        )
    assert codes(exc) == {
        "holiday": "unknown_field",
        "holidays.0.date": "invalid_date",
        "holidays.1.date": "wrong_year",
        "holidays.3.date": "duplicate_date",
        "holidays.4.end": "invalid_range",
        "holidays.5.end": "range_too_long",
        "workdays.0.date": "holiday_workday_conflict",
        "workdays.1.date": "workday_not_weekend",
    }
    assert all(re.search(r"[\u4e00-\u9fff]", e.message) for e in exc.value.errors)
    assert exc.value.code == "validation_failed"


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"year": "twenty"}, "year", "invalid_year"),
        ({"year": 1800}, "year", "invalid_year"),
        ({"year": True}, "year", "invalid_year"),
        ({"holidays": []}, "holidays", "required"),
        ({"holidays": "2027-01-01"}, "holidays", "invalid_type"),
        ({"holidays": ["2027-01-01"]}, "holidays.0", "invalid_type"),
        ({"holidays": [{"name": "元旦"}]}, "holidays.0.date", "required"),
        ({"holidays": [{"date": "2027-01-01", "when": "x"}]}, "holidays.0.when", "unknown_field"),
        ({"notice_date": "2026-13-01"}, "notice_date", "invalid_date"),
        ({"title": "通" * 301}, "title", "too_long"),
        ({"holidays": [{"date": "2027-01-01", "name": 5}]}, "holidays.0.name", "invalid_type"),
        ({"holidays": [{"date": "20270101"}]}, "holidays.0.date", "invalid_date"),
    ],
)
def test_malformed_input_is_refused_per_field(overrides: dict[str, object], field: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        parse_document(doc_for(**overrides))
    assert codes(exc).get(field) == code


def test_dates_in_several_years_without_a_year_are_refused() -> None:
    with pytest.raises(ValidationFailed) as exc:
        parse_document({"holidays": [{"date": "2027-01-01"}, {"date": "2028-01-01"}]})
    assert codes(exc) == {"year": "required"}


def test_document_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        parse_document(["2027-01-01"])
    with pytest.raises(ValidationFailed) as exc:
        parse_json("{not json")
    assert codes(exc) == {"file": "invalid_json"}


CSV = """\
# year: 2027
# title：国务院办公厅关于2027年部分节假日安排的通知
# notice_number: 国办发明电〔2026〕1号
date,kind,name
2027-01-01,holiday,元旦
2027/1/2,班,元旦

2027-02-06,放假,春节
"""


def test_csv_with_notice_lines_chinese_kinds_and_spreadsheet_dates_is_read() -> None:
    a = parse_csv(CSV)
    assert a.year == 2027
    assert a.title == "国务院办公厅关于2027年部分节假日安排的通知"
    assert dict(a.holidays) == {D(2027, 1, 1): "元旦", D(2027, 2, 6): "春节"}
    assert dict(a.workdays) == {D(2027, 1, 2): "元旦"}


def test_csv_errors_point_at_line_numbers() -> None:
    text = "date,kind\n2027-01-01,holiday\n2027-01-35,holiday\n2027-01-02,maybe\n2027-01-03\n# colour: red\n"
    with pytest.raises(ValidationFailed) as exc:
        parse_csv(text)
    assert codes(exc) == {
        "line.3.date": "invalid_date",
        "line.4.kind": "invalid_kind",
        "line.5": "invalid_csv",
        "line.6": "unknown_field",
    }


@pytest.mark.parametrize("text", ["", "# year: 2027\n", "day,type\n2027-01-01,holiday\n"])
def test_csv_without_a_proper_header_is_refused(text: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        parse_csv(text)
    assert set(codes(exc).values()) == {"invalid_csv"}


def test_csv_with_chinese_header_is_read() -> None:
    assert parse_csv("日期,类型,名称\n2027-01-01,休,元旦\n").holidays == {D(2027, 1, 1): "元旦"}


@pytest.mark.parametrize("year", [2008, 2015, 2020, 2026])
def test_builtin_years_round_trip_through_json_and_csv(year: int) -> None:
    a = builtin_arrangements()[year]
    for parsed in (parse_json(to_json(a)), parse_csv(to_csv(a)), parse_document(to_document(a))):
        assert parsed.year == year
        assert dict(parsed.holidays) == dict(a.holidays)
        assert dict(parsed.workdays) == dict(a.workdays)


def test_files_are_chosen_by_extension_and_gbk_csv_is_accepted(tmp_path: Path) -> None:
    gbk = tmp_path / "2027.CSV"
    gbk.write_bytes("date,kind,name\n2027-01-01,holiday,元旦\n".encode("gbk"))
    assert load_file(gbk).holidays == {D(2027, 1, 1): "元旦"}
    bom = tmp_path / "2027.json"
    bom.write_bytes(b"\xef\xbb\xbf" + b'{"holidays": [{"date": "2027-01-01"}]}')
    assert load_file(bom).year == 2027


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("2027.txt", b"x", "unsupported_format"),
        ("missing.json", None, "file_unreadable"),
        ("bad.json", b"\xff\xfe{", "invalid_encoding"),
        ("big.csv", b"#" * 1_000_001, "file_too_large"),
    ],
)
def test_unreadable_files_are_refused(tmp_path: Path, name: str, content: bytes | None, code: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ValidationFailed) as exc:
        load_file(path)
    assert codes(exc) == {"file": code}


def test_examples_in_the_documentation_are_valid(tmp_path: Path) -> None:
    text = DOC.read_text(encoding="utf-8")
    blocks = dict(re.findall(r"```(json|csv)\n(.*?)```", text, flags=re.DOTALL))
    assert set(blocks) == {"json", "csv"}
    from_json = parse_json(blocks["json"])
    from_csv = parse_csv(blocks["csv"])
    official = builtin_arrangements()[2026]
    for a in (from_json, from_csv):
        assert a.year == 2026
        assert all(official.holidays.get(d, "?") == n for d, n in a.holidays.items())
        assert all(official.workdays.get(d, "?") == n for d, n in a.workdays.items())
