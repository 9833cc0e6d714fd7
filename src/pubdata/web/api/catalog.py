"""公共数据资源目录 API (REG-35), no login: search and browse, and one entry's public information."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from pubdata.catalog.search import CatalogQuery, get_entry, search
from pubdata.web.api.schemas import PROBLEM_RESPONSES
from pubdata.web.deps import Db, public
from pubdata.web.paging import Paging

router = APIRouter(prefix="/api/v1/public/catalog", tags=["公开"], responses=PROBLEM_RESPONSES)


class EntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    registration_id: int
    code: str | None
    data_name: str
    summary: str
    tags: list[str]
    subject_name: str
    registration_type: str
    category: str | None
    grade: str | None
    regions: list[str]
    industries: list[str]
    status: str
    certificate_number: str | None
    certificate_status: str | None
    registered_on: dt.date | None
    version_no: int


class HitOut(EntryOut):
    score: int


class CatalogPage(BaseModel):
    items: list[HitOut]
    total: int
    page: int
    size: int


class EntryDetailOut(EntryOut):
    details: dict[str, Any]


@router.get("", response_model=CatalogPage, dependencies=[public()],
            summary="检索与浏览目录（中文任意片段；多个检索词以空格分隔，须全部命中）")
def catalog(db: Db, paging: Paging, q: str = Query("", max_length=200),
            region: str = Query("", max_length=12, description="行政区划代码，含下级（如 620100 兰州市）"),
            industry: str = Query("", max_length=4, description="行业门类字母或大类代码（GB/T 4754-2017）"),
            type: str = Query("", max_length=20, description="登记类型"),
            category: str = Query("", max_length=40, description="数据分类"),
            grade: str = Query("", max_length=20, description="数据分级"),
            status: Literal["registered", "cancelled", "revoked", "all"] = "registered") -> CatalogPage:
    filters = {k: v for k, v in (("region", region), ("industry", industry), ("type", type),
                                 ("category", category), ("grade", grade)) if v}
    page = search(db, CatalogQuery(q.strip(), filters, status=None if status == "all" else status), paging)
    items = [HitOut.model_validate({**EntryOut.model_validate(h.entry).model_dump(), "score": h.score})
             for h in page.items]
    return CatalogPage(items=items, total=page.total, page=page.number, size=page.size)


@router.get("/{registration_id}", response_model=EntryDetailOut, dependencies=[public()],
            summary="目录条目：公开的登记信息与凭证状态")
def catalog_entry(registration_id: int, db: Db) -> EntryDetailOut:
    return EntryDetailOut.model_validate(get_entry(db, registration_id))
