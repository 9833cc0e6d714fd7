"""Public, no-login API: health, statutory numbers, reference codes, the working-day calendar."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import text

from pubdata import __version__, rules
from pubdata.calendar.service import get_calendar
from pubdata.errors import ValidationFailed
from pubdata.reference import industries as industry_ref
from pubdata.reference import regions as region_ref
from pubdata.web.api.schemas import PROBLEM_RESPONSES
from pubdata.web.deps import Db, public

router = APIRouter(responses=PROBLEM_RESPONSES)


class Health(BaseModel):
    status: str
    version: str
    database: str


@router.get("/healthz", response_model=Health, tags=["运维"], summary="健康检查", dependencies=[public()])
def healthz(db: Db) -> Health:
    db.execute(text("SELECT 1"))
    return Health(status="ok", version=__version__, database=db.get_bind().dialect.name)


class RuleOut(BaseModel):
    key: str
    article: str
    value: int
    unit: str
    text: str


@router.get("/api/v1/public/rules", response_model=list[RuleOut], tags=["公开"], summary="法定时限与数值",
            dependencies=[public()])
def list_rules() -> list[RuleOut]:
    return [RuleOut(key=r.key, article=r.article, value=r.value, unit=r.unit.value, text=r.text) for r in rules.ALL]


class RegionOut(BaseModel):
    code: str
    name: str
    level: str
    parent: str | None


@router.get("/api/v1/public/regions", response_model=list[RegionOut], tags=["公开"],
            summary="行政区划代码（GB/T 2260）", dependencies=[public()])
def list_regions(parent: str | None = None, level: str | None = None) -> list[RegionOut]:
    return [RegionOut(code=r.code, name=r.name, level=r.level, parent=r.parent)
            for r in region_ref.regions(level=level, parent=parent)]


class IndustryOut(BaseModel):
    code: str
    name: str
    level: str
    parent: str | None


@router.get("/api/v1/public/industries", response_model=list[IndustryOut], tags=["公开"],
            summary="国民经济行业分类（GB/T 4754-2017）", dependencies=[public()])
def list_industries(parent: str | None = None, level: str | None = None) -> list[IndustryOut]:
    return [IndustryOut(code=i.code, name=i.name, level=i.level, parent=i.parent)
            for i in industry_ref.industries(level=level, parent=parent)]


class WorkdayOut(BaseModel):
    start: dt.date
    workdays: int
    date: dt.date
    provisional: bool


@router.get("/api/v1/public/calendar/add-workdays", response_model=WorkdayOut, tags=["公开"],
            summary="按官方工作日历推算期限（起算日不计入）", dependencies=[public()])
def add_workdays(db: Db, start: dt.date, n: int = Query(ge=0, le=3650)) -> WorkdayOut:
    _check_range(start, "start")
    deadline = get_calendar(db).add_workdays(start, n)
    return WorkdayOut(start=start, workdays=n, date=deadline.date, provisional=deadline.provisional)


def _check_range(value: dt.date, field: str) -> None:
    if not dt.date(1900, 1, 1) <= value <= dt.date(2199, 12, 31):
        raise ValidationFailed.single(field, "out_of_range", "日期应在 1900-01-01 至 2199-12-31 之间。")


class IsWorkdayOut(BaseModel):
    date: dt.date
    workday: bool
    provisional: bool


@router.get("/api/v1/public/calendar/is-workday", response_model=IsWorkdayOut, tags=["公开"],
            summary="某日是否为工作日", dependencies=[public()])
def is_workday(db: Db, date: dt.date) -> IsWorkdayOut:
    _check_range(date, "date")
    cal = get_calendar(db)
    return IsWorkdayOut(date=date, workday=cal.is_workday(date), provisional=not cal.is_official(date.year))
