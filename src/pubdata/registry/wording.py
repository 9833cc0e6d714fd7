"""A registration-form value in words — vocabulary labels, 是/否, region and industry names — the one way every
page (applicant, institution, public catalog) shows the content of REG-7..15."""

from __future__ import annotations

from typing import Any

from pubdata.reference.industries import get_industry
from pubdata.reference.regions import region_path
from pubdata.registry import vocab


def region_words(code: str) -> str:
    """"620102" → "甘肃省 兰州市 城关区（620102）"."""
    names = [r.name for r in region_path(code) if r.level != "country"]
    return f"{' '.join(names) or ('全国' if code == '000000' else code)}（{code}）"


def industry_words(code: str) -> str:
    found = get_industry(code)
    return f"{found.code} {found.name}" if found else code


def words(kind: str, value: Any) -> list[str]:
    """One string per item of ``value`` for a field of ``kind`` (form.Field.kind); [] when empty."""
    if value is None or value == "" or value == [] or value == {}:
        return []
    items = value if isinstance(value, list) else [value]
    if kind == "bool":
        return ["是" if v is True else "否" if v is False else str(v) for v in items]
    if kind.startswith("enum:"):
        return [vocab.label(kind.split(":", 1)[1], str(v)) for v in items]
    if kind in {"regions", "regions1"}:
        return [region_words(str(v)) for v in items]
    if kind == "industries":
        return [industry_words(str(v)) for v in items]
    return [str(v) for v in items]


def text(kind: str, value: Any) -> str:
    return "、".join(words(kind, value))
