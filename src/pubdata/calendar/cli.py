"""``pubdata calendar``: count working days, check a date, import and show a year's arrangement.

stdout carries only the answer (a date, ``yes``/``no``) so scripts can use it; notes go to stderr.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from pubdata.audit import Actor
from pubdata.calendar.builtin import SOURCE_LABEL
from pubdata.calendar.core import Arrangement, WorkCalendar
from pubdata.calendar.formats import load_file, parse_date, to_csv, to_json
from pubdata.errors import DomainError

app = typer.Typer(
    help="工作日历：法定节假日与调休上班日。期限按工作日计算，起算日不计入。",
    no_args_is_help=True,
    add_completion=False,
)

WEEKDAYS = "一二三四五六日"
BAD_INPUT, UNAVAILABLE = 2, 1


def _engine() -> Engine:
    """The database the commands use (a seam for tests)."""
    from pubdata.db.session import get_engine

    return get_engine()


def _fail(message: str, code: int = BAD_INPUT) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _report(exc: DomainError) -> NoReturn:
    lines = [f"错误（{exc.code}）：{exc.detail}"]
    lines += [f"  {_where(e.field)}：{e.message}（{e.code}）" for e in exc.errors]
    _fail("\n".join(lines))


def _where(field: str) -> str:
    if field.startswith("line."):
        _, line, *rest = field.split(".")
        return f"第 {line} 行" + (f" {rest[0]}" if rest else "")
    return field or "文件"


def _date_arg(value: str, label: str) -> dt.date:
    d = parse_date(value)
    if d is None:
        _fail(f"错误（invalid_date）：{label}“{value}”不是有效日期，应写作 YYYY-MM-DD，如 2026-09-25")
    return d


def _calendar() -> WorkCalendar:
    from pubdata.calendar.service import calendar_from_database

    try:
        return calendar_from_database(_engine())
    except SQLAlchemyError as exc:
        _fail(f"错误（database_unavailable）：无法读取数据库中的节假日安排：{type(exc).__name__}", UNAVAILABLE)


def _provisional_note(years: tuple[int, ...]) -> str:
    return f"（暂定：{'、'.join(map(str, years))} 年官方安排未导入，按周一至周五计算）"


def _day(d: dt.date) -> str:
    return f"{d.isoformat()} 周{WEEKDAYS[d.weekday()]}"


@app.command("add-workdays", context_settings={"ignore_unknown_options": True})
def add_workdays(
    start: Annotated[str, typer.Argument(metavar="START", help="起算日 YYYY-MM-DD（当日不计入）")],
    n: Annotated[str, typer.Argument(metavar="N", help="工作日数，0 或正整数")],
) -> None:
    """输出起算日之后第 N 个工作日。"""
    day = _date_arg(start, "起算日")
    if not n.strip().isdigit():
        _fail(f"错误（invalid_count）：工作日数“{n}”应为 0 或正整数")
    count = int(n)
    calendar = _calendar()
    try:
        deadline = calendar.add_workdays(day, count)
    except (OverflowError, ValueError):
        _fail("错误（out_of_range）：结果超出可计算的日期范围")
    typer.echo(deadline.date.isoformat())
    if deadline.provisional:
        first = day if count == 0 else day + dt.timedelta(days=1)
        typer.echo(_provisional_note(calendar.unofficial_years(first, deadline.date)), err=True)


@app.command("is-workday")
def is_workday(date: Annotated[str, typer.Argument(metavar="DATE", help="日期 YYYY-MM-DD")]) -> None:
    """输出 yes（工作日，含调休上班日）或 no（周末或法定节假日）。"""
    day = _date_arg(date, "日期")
    calendar = _calendar()
    typer.echo("yes" if calendar.is_workday(day) else "no")
    if not calendar.is_official(day.year):
        typer.echo(_provisional_note((day.year,)), err=True)


def _source(a: Arrangement) -> str:
    if a.source == "builtin":
        return f"内置数据：{SOURCE_LABEL}"
    parts = [p for p in (a.title, a.notice_number) if p]
    if a.notice_date:
        parts.append(f"{a.notice_date.isoformat()} 发布")
    return "导入" + (f"：{'，'.join(parts)}" if parts else "")


def _summary(a: Arrangement) -> str:
    return f"{a.year} 年：放假 {len(a.holidays)} 天，调休上班 {len(a.workdays)} 天"


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="年度安排文件（.csv 或 .json，见 docs/calendar-import.md）")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只检查文件，不导入")] = False,
) -> None:
    """导入一年的官方节假日安排（国务院办公厅通知）；已有的同年安排（含内置数据）被替换并保留历史。"""
    from pubdata.calendar.service import get_calendar, import_arrangement
    from pubdata.db import migrate
    from pubdata.db.session import unit_of_work

    try:
        arrangement = load_file(file)
    except DomainError as exc:
        _report(exc)
    if dry_run:
        typer.echo(f"文件有效（未导入）：{_summary(arrangement)}")
        return
    engine = _engine()
    try:
        if not migrate.is_up_to_date(engine):
            _fail("数据库尚未迁移到最新版本。请先运行：pubdata db upgrade", UNAVAILABLE)
        with unit_of_work(engine) as session:
            before = get_calendar(session).arrangement(arrangement.year)
            import_arrangement(session, actor=Actor.system("cli"), arrangement=arrangement, source_name=file.name)
    except DomainError as exc:
        _report(exc)
    except SQLAlchemyError as exc:
        _fail(f"错误（database_unavailable）：无法写入数据库：{type(exc).__name__}", UNAVAILABLE)
    replaced = f"；已替换此前的安排（{_source(before)}），原版本保留在历史中" if before else ""
    typer.echo(f"已导入 {_summary(arrangement)}{replaced}。")


@app.command("show")
def show(
    year_text: Annotated[str, typer.Argument(metavar="YEAR", help="年份，如 2026")],
    as_json: Annotated[bool, typer.Option("--json", help="按导入格式输出 JSON（可修改后再导入）")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="按导入格式输出 CSV")] = False,
) -> None:
    """列出一年的放假日与调休上班日。"""
    if not (year_text.isdigit() and len(year_text) == 4):
        _fail(f"错误（invalid_year）：年份“{year_text}”应为四位数字，如 2026")
    year = int(year_text)
    a = _calendar().arrangement(year)
    if a is None:
        typer.echo(f"{year} 年官方安排未导入：按周一至周五计算工作日（结果标为暂定）。")
        return
    if as_json:
        typer.echo(to_json(a), nl=False)
        return
    if as_csv:
        typer.echo(to_csv(a), nl=False)
        return
    typer.echo(f"{year} 年节假日安排（{_source(a)}）")
    typer.echo("放假：")
    runs: list[tuple[str | None, dt.date, dt.date]] = []
    for d, name in a.holidays.items():
        if runs and runs[-1][0] == name and runs[-1][2] + dt.timedelta(days=1) == d:
            runs[-1] = (name, runs[-1][1], d)
        else:
            runs.append((name, d, d))
    for name, first, last in runs:
        span = _day(first) if first == last else f"{_day(first)} 至 {_day(last)}"
        typer.echo(f"  {name or '假日'}：{span}（{(last - first).days + 1} 天）")
    typer.echo("调休上班：" + ("" if a.workdays else "无"))
    for d, name in a.workdays.items():
        typer.echo(f"  {_day(d)}" + (f"（{name}）" if name else ""))


@app.command("years")
def years() -> None:
    """列出有官方安排的年份及其来源。"""
    calendar = _calendar()
    for year in calendar.official_years:
        a = calendar.arrangement(year)
        assert a is not None
        typer.echo(f"{year}  {_source(a)}")
