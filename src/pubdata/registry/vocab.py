"""The registration form's controlled vocabularies (REG-6..15), shipped as data in data/vocabularies.json."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

_FILE = Path(__file__).parent / "data" / "vocabularies.json"


@cache
def _all() -> dict[str, dict[str, str]]:
    doc = json.loads(_FILE.read_text(encoding="utf-8"))
    return {name: v["items"] for name, v in doc.items() if isinstance(v, dict) and "items" in v}


def items(vocabulary: str) -> dict[str, str]:
    """code → Chinese label."""
    return _all()[vocabulary]


def label(vocabulary: str, code: str | None) -> str:
    return items(vocabulary).get(code or "", code or "")


def names() -> list[str]:
    return sorted(_all())
