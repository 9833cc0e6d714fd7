"""GB/T 4754-2017 国民经济行业分类 (REG-7 行业分类): 20 sections (门类 A–T) and 97 divisions (大类 01–97).

Codes are accepted as a section letter ("A", "a"), a division ("01") or a division with its section letter
("A01", normalised to "01"; "B01" is refused because division 01 belongs to section A). Groups (中类, "011")
are not shipped, so their codes are unknown. Provenance: ``table().meta`` and docs/reference-data.md.
"""

from __future__ import annotations

from functools import cache
from typing import Final

from pubdata.errors import ValidationFailed
from pubdata.reference.codes import Code, CodeTable

Industry = Code

#: Values of ``Industry.level``, top down.
LEVELS: Final = ("section", "division")


@cache
def table() -> CodeTable:
    return CodeTable.load("industries.json", "industries")


def normalise(code: str) -> str:
    """"a" → "A"; "01" and "A01" → "01". Does not check that the code exists."""
    code = (code or "").strip().upper()
    if len(code) >= 3 and code[0].isalpha() and code[1:].isdigit():
        return code[1:]
    return code


def get_industry(code: str) -> Industry | None:
    raw = (code or "").strip().upper()
    found = table().get(normalise(raw))
    if found is not None and raw[:1].isalpha() and found.level != "section" and found.parent != raw[0]:
        return None  # "B01": division 01 is not in section B
    return found


def require_industry(code: str, field: str = "industry_code") -> Industry:
    """Like :func:`get_industry`, but an unknown code is a validation error at ``field``; store ``.code``."""
    industry = get_industry(code)
    if industry is None:
        raise ValidationFailed.single(field, "unknown_industry", f"行业代码 {code} 不存在（GB/T 4754-2017）。")
    return industry


def industries(level: str | None = None, parent: str | None = None) -> list[Industry]:
    """Filtered by level (section/division) and/or parent section letter, in the standard's order."""
    return table().select(level=level, parent=parent)
