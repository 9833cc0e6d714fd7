"""GB/T 4754-2017 national economic industry classification: 20 sections (门类) and 97 divisions (大类)."""

from __future__ import annotations

from functools import cache

from pubdata.errors import ValidationFailed
from pubdata.reference.codes import Code, CodeTable

Industry = Code


@cache
def table() -> CodeTable:
    return CodeTable.load("industries.json", "industries")


def normalise(code: str) -> str:
    """"A", "a" → "A"; "01", "A01" → "01" (divisions are often written with their section letter)."""
    code = (code or "").strip().upper()
    if len(code) == 3 and code[0].isalpha() and code[1:].isdigit():
        return code[1:]
    return code


def get_industry(code: str) -> Industry | None:
    found = table().get(normalise(code))
    if found is not None and len(code.strip()) == 3 and found.parent != code.strip().upper()[0]:
        return None  # "B01": division 01 is not in section B
    return found


def require_industry(code: str, field: str = "industry_code") -> Industry:
    industry = get_industry(code)
    if industry is None:
        raise ValidationFailed.single(field, "unknown_industry", f"行业代码 {code} 不存在（GB/T 4754-2017）。")
    return industry


def industries(level: str | None = None, parent: str | None = None) -> list[Industry]:
    return table().select(level=level, parent=parent)
