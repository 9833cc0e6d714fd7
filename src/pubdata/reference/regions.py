"""GB/T 2260 administrative division codes: provinces and prefectures of the whole country, every county
(Gansu's 86 included), and 000000 for the whole country (REG-7 资源覆盖地区). Source: docs/reference-data.md."""

from __future__ import annotations

from functools import cache

from pubdata.errors import ValidationFailed
from pubdata.reference.codes import Code, CodeTable

Region = Code
WHOLE_COUNTRY = "000000"


@cache
def table() -> CodeTable:
    return CodeTable.load("regions.json", "regions")


def get_region(code: str) -> Region | None:
    return table().get(code)


def require_region(code: str, field: str = "region_code") -> Region:
    region = get_region(code)
    if region is None:
        raise ValidationFailed.single(field, "unknown_region", f"行政区划代码 {code} 不存在（GB/T 2260）。")
    return region


def regions(level: str | None = None, parent: str | None = None) -> list[Region]:
    """Filtered by level (country/province/prefecture/county) and/or parent code, in code order."""
    return table().select(level=level, parent=parent)


def region_path(code: str) -> list[Region]:
    """全国 → province → prefecture → county, for display ("甘肃省 兰州市 城关区")."""
    return table().path(code)


def is_within(code: str, ancestor: str) -> bool:
    """Whether ``code`` lies in ``ancestor`` (a region contains itself; 000000 contains all)."""
    return any(r.code == ancestor for r in region_path(code))
