"""``pubdata calendar``: exact outputs for scripts, Chinese errors with exit code 2, import end to end."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from pubdata.calendar import cli as calendar_cli
from pubdata.calendar import service
from pubdata.calendar.builtin import builtin_calendar
from pubdata.calendar.cli import app
from pubdata.calendar.models import CalendarYear
from pubdata.db.session import make_engine, unit_of_work
from pubdata.db.testing import scratch_engine

UNKNOWN = max(builtin_calendar().official_years) + 1
runner = CliRunner()


@pytest.fixture(autouse=True)
def no_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """By default the commands see a database that does not exist yet (never the developer's var/)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'absent' / 'pubdata.sqlite3'}")
    monkeypatch.setattr(calendar_cli, "_engine", lambda: engine)
    service.invalidate_calendar()
    return engine


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A migrated database of its own: the import command commits for real."""
    with scratch_engine() as engine:
        monkeypatch.setattr(calendar_cli, "_engine", lambda: engine)
        yield engine
    service.invalidate_calendar()


def run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_add_workdays_prints_exactly_the_date() -> None:
    result = run("add-workdays", "2026-09-25", "20")
    assert result.exit_code == 0
    assert result.stdout == "2026-10-29\n"
    assert result.stderr == ""


def test_is_workday_says_yes_for_a_make_up_saturday() -> None:
    result = run("is-workday", "2026-10-10")
    assert (result.exit_code, result.stdout) == (0, "yes\n")


def test_is_workday_says_no_for_a_holiday() -> None:
    assert run("is-workday", "2026-10-08").stdout == "yes\n"
    assert run("is-workday", "2026-10-07").stdout == "no\n"


def test_provisional_result_keeps_stdout_clean_and_explains_on_stderr() -> None:
    result = run("add-workdays", f"{UNKNOWN - 1}-12-20", "20")
    assert result.exit_code == 0
    assert dt.date.fromisoformat(result.stdout.strip()).year == UNKNOWN
    assert result.stderr.strip() == f"（暂定：{UNKNOWN} 年官方安排未导入，按周一至周五计算）"
    assert "暂定" in run("is-workday", f"{UNKNOWN}-03-01").stderr


def test_commands_work_without_a_database_and_do_not_create_one(no_database: Engine) -> None:
    assert run("add-workdays", "2026-09-25", "20").stdout == "2026-10-29\n"
    assert not Path(str(no_database.url.database)).exists()


def test_commands_fall_back_to_builtin_data_when_the_database_is_not_migrated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with scratch_engine(migrated=False) as engine:
        monkeypatch.setattr(calendar_cli, "_engine", lambda: engine)
        assert run("is-workday", "2026-10-10").stdout == "yes\n"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["add-workdays", "2026-02-30", "5"], "invalid_date"),
        (["add-workdays", "26-9-25", "5"], "invalid_date"),
        (["add-workdays", "2026-09-25", "-5"], "invalid_count"),
        (["add-workdays", "2026-09-25", "five"], "invalid_count"),
        (["add-workdays", "9999-12-20", "30"], "out_of_range"),
        (["is-workday", "tomorrow"], "invalid_date"),
        (["show", "26"], "invalid_year"),
    ],
)
def test_bad_input_gives_a_chinese_message_and_exit_code_2(args: list[str], code: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"错误（{code}）" in result.stderr
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("2027.txt", "x", "unsupported_format"),
        ("missing.json", None, "file_unreadable"),
        ("broken.json", "{", "invalid_json"),
        ("bad.csv", "date,kind\n2027-01-01,holiday\n2027-01-01,workday\n", "holiday_workday_conflict"),
    ],
)
def test_bad_import_file_gives_a_chinese_message_and_exit_code_2(
    tmp_path: Path, name: str, content: str | None, code: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = run("import", str(path))
    assert result.exit_code == 2
    assert code in result.stderr
    assert "Traceback" not in result.output


def test_csv_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "y.csv"
    path.write_text("date,kind\n2027-01-01,holiday\n2027-01-40,holiday\n", encoding="utf-8")
    assert "第 3 行 date：" in run("import", str(path)).stderr


def _next_year_file(tmp_path: Path) -> Path:
    saturday = next(dt.date(UNKNOWN, 1, d) for d in range(2, 9) if dt.date(UNKNOWN, 1, d).weekday() == 5)
    path = tmp_path / f"{UNKNOWN}.json"
    path.write_text(json.dumps({
        "year": UNKNOWN,
        "notice_number": f"国办发明电〔{UNKNOWN - 1}〕1号",
        "holidays": [{"name": "元旦", "date": f"{UNKNOWN}-01-01"}],
        "workdays": [{"name": "元旦", "date": saturday.isoformat()}],
    }, ensure_ascii=False), encoding="utf-8")
    return path


def test_import_makes_the_year_official_for_later_commands(database: Engine, tmp_path: Path) -> None:
    path = _next_year_file(tmp_path)
    assert "暂定" in run("is-workday", f"{UNKNOWN}-01-01").stderr

    result = run("import", str(path))
    assert result.exit_code == 0, result.output
    assert f"已导入 {UNKNOWN} 年：放假 1 天，调休上班 1 天" in result.stdout

    after = run("is-workday", f"{UNKNOWN}-01-01")
    assert (after.stdout, after.stderr) == ("no\n", "")
    shown = run("show", str(UNKNOWN))
    assert f"国办发明电〔{UNKNOWN - 1}〕1号" in shown.stdout and "元旦" in shown.stdout
    assert f"{UNKNOWN}  导入" in run("years").stdout

    again = run("import", str(path))
    assert "已替换此前的安排" in again.stdout
    with unit_of_work(database) as session:
        assert session.scalar(select(func.count()).select_from(CalendarYear)) == 2


def test_dry_run_checks_without_importing(database: Engine, tmp_path: Path) -> None:
    result = run("import", "--dry-run", str(_next_year_file(tmp_path)))
    assert result.exit_code == 0 and "未导入" in result.stdout
    with unit_of_work(database) as session:
        assert session.scalar(select(func.count()).select_from(CalendarYear)) == 0


def test_import_into_an_unmigrated_database_is_refused(tmp_path: Path) -> None:
    result = run("import", str(_next_year_file(tmp_path)))
    assert result.exit_code == 1
    assert "pubdata db upgrade" in result.stderr


def test_show_lists_holidays_as_ranges_and_make_up_days() -> None:
    out = run("show", "2026").stdout
    assert "春节：2026-02-15 周日 至 2026-02-23 周一（9 天）" in out
    assert "2026-10-10 周六（国庆节）" in out
    assert "内置数据：chinesecalendar" in out


def test_show_json_output_can_be_imported_back(tmp_path: Path) -> None:
    path = tmp_path / "2026.json"
    path.write_text(run("show", "2026", "--json").stdout, encoding="utf-8")
    assert run("import", "--dry-run", str(path)).stdout.startswith("文件有效（未导入）：2026 年：放假 33 天，调休上班 6 天")


def test_show_unknown_year_says_it_is_not_loaded() -> None:
    result = run("show", str(UNKNOWN))
    assert result.exit_code == 0 and "未导入" in result.stdout


def test_mounted_as_pubdata_calendar() -> None:
    from pubdata.cli import app as pubdata_app

    result = runner.invoke(pubdata_app, ["calendar", "add-workdays", "2026-09-25", "20"])
    assert (result.exit_code, result.stdout) == (0, "2026-10-29\n")
