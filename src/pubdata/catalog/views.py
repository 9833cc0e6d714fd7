"""What a catalog entry shows the public: the published form fields with their Chinese labels and values."""

from __future__ import annotations

from pubdata.catalog.models import CatalogEntry
from pubdata.registry import wording
from pubdata.registry.form import FIELDS

SECTIONS = {"resource": "数据资源信息", "product": "数据产品和服务信息", "open_data": "开放信息",
            "storage": "数据存储与更新", "scenario": "数据应用场景", "sharing": "共享开放"}
_FIELDS = {f.path: f for f in FIELDS}


def sections(entry: CatalogEntry) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(section label, [(field label, shown value)])] in the form's order."""
    out = []
    for key, label in SECTIONS.items():
        values = entry.details.get(key) or {}
        rows = [(f.label, wording.text(f.kind, values[name]))
                for path, f in _FIELDS.items() if path.startswith(key + ".")
                and (name := path.split(".", 1)[1]) in values]
        if rows:
            out.append((label, rows))
    return out
