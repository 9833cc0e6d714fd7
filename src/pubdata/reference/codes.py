"""A code table loaded once from a JSON file shipped in the package."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Code:
    code: str
    name: str
    level: str
    parent: str | None


@dataclass(frozen=True)
class CodeTable:
    meta: dict[str, Any]
    by_code: dict[str, Code]

    @classmethod
    def load(cls, filename: str, key: str) -> CodeTable:
        doc = json.loads((DATA / filename).read_text(encoding="utf-8"))
        rows = [Code(r["code"], r["name"], r["level"], r["parent"]) for r in doc.pop(key)]
        return cls(meta=doc, by_code={r.code: r for r in rows})

    def get(self, code: str) -> Code | None:
        return self.by_code.get(code)

    def select(self, *, level: str | None = None, parent: str | None = None) -> list[Code]:
        return [c for c in self.by_code.values()
                if (level is None or c.level == level) and (parent is None or c.parent == parent)]

    def path(self, code: str) -> list[Code]:
        """From the top of the hierarchy down to ``code`` (empty when unknown)."""
        out: list[Code] = []
        node = self.get(code)
        while node is not None:
            out.append(node)
            node = self.get(node.parent) if node.parent else None
        return out[::-1]
