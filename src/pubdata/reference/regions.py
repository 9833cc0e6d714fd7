"""GB/T 2260 administrative division codes (REG-7 资源覆盖地区).

Shipped: 000000 全国, every province-, prefecture- and county-level unit of the country (Gansu: 14 prefecture-
level units, 86 county-level units). Districts of municipalities and 省直辖县级行政区划 hang directly under their
province. Source, version and data date: ``table().meta`` and docs/reference-data.md.
"""

from __future__ import annotations

from functools import cache
from typing import Final

from pubdata.errors import ValidationFailed
from pubdata.reference.codes import Code, CodeTable

Region = Code

WHOLE_COUNTRY: Final = "000000"
GANSU: Final = "620000"
#: Values of ``Region.level``, top down.
LEVELS: Final = ("country", "province", "prefecture", "county")


@cache
def table() -> CodeTable:
    return CodeTable.load("regions.json", "regions")


def get_region(code: str) -> Region | None:
    """The region with this 6-digit code, or None. Codes are matched exactly (after trimming blanks)."""
    return table().get((code or "").strip())


def require_region(code: str, field: str = "region_code") -> Region:
    """Like :func:`get_region`, but an unknown code is a validation error at ``field``; store ``.code``."""
    region = get_region(code)
    if region is None:
        raise ValidationFailed.single(field, "unknown_region", f"行政区划代码 {code} 不存在（GB/T 2260）。")
    return region


def regions(level: str | None = None, parent: str | None = None) -> list[Region]:
    """Filtered by level (country/province/prefecture/county) and/or direct parent code, in code order."""
    return table().select(level=level, parent=parent)


def region_path(code: str) -> list[Region]:
    """全国 → province → prefecture → county (empty when unknown); drop level "country" for display."""
    return table().path((code or "").strip())


def is_within(code: str, ancestor: str) -> bool:
    """Whether ``code`` lies in ``ancestor``: a region contains itself, and 000000 contains every region."""
    return any(r.code == ancestor for r in region_path(code))
