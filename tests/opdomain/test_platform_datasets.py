"""Datasets in the domain: only registered resources, every column classified, unique keys, staged sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from pubdata.errors import PermissionDenied, ValidationFailed
from pubdata.opdomain import datasets
from pubdata.opdomain.schema import Role
from tests.opdomain.platform_support import demo_file, events, load, spec, stage, world
from tests.operation.support import resource


def test_loads_a_registered_resource_with_its_classification(db_session, c, tmp: Path) -> None:
    w = world(db_session, c, tmp)
    ds = w.dataset
    assert ds.row_counts == {"population": 2_000, "region": ds.row_counts["region"]} and ds.row_counts["region"] > 80
    assert (datasets.domain_dir() / ds.file_name).is_file()
    dataset = datasets.dataset_of(ds)
    assert dataset.table("population").column("id_number").role is Role.DIRECT_IDENTIFIER  # type: ignore[union-attr]
    assert dataset.disclosure.min_count == 10
    [event] = [e for e in events(db_session, "opdomain:dataset:register") if e.object_id == str(ds.id)]
    assert event.data["classification"]["population"]["classified_flag"] == ["sensitive", "core"]


def test_only_registered_resources(db_session, c, tmp: Path) -> None:
    src = stage(demo_file(tmp), "region")
    with pytest.raises(ValidationFailed) as e:
        datasets.register_dataset(db_session, actor=c.industry, registration_id=999_999, code="nope", label="x",
                                  tables=[spec("region", src)])
    assert e.value.errors[0].code == "not_registered"


def test_every_column_must_be_classified_and_keys_unique(db_session, c, tmp: Path) -> None:
    reg = resource(db_session, c, tmp, "县区人口数据")
    src = stage(demo_file(tmp), "population")
    full = spec("population", src)
    partial = datasets.TableSpec(name="population", source=src, key="county_code",
                                 columns=[col for col in full.columns if col["name"] != "mobile"])
    with pytest.raises(ValidationFailed) as e:
        datasets.register_dataset(db_session, actor=c.industry, registration_id=reg, code="bad-one", label="x",
                                  tables=[partial])
    assert {err.code for err in e.value.errors} == {"unclassified"}
    dup = datasets.TableSpec(name="population", source=src, key="county_code", columns=full.columns)
    with pytest.raises(ValidationFailed) as e:
        datasets.register_dataset(db_session, actor=c.industry, registration_id=reg, code="bad-two", label="x",
                                  tables=[dup])
    assert [err.code for err in e.value.errors] == ["key_not_unique"]
    assert not (datasets.domain_dir() / "bad-two.duckdb").exists()


def test_sources_only_from_the_incoming_area(db_session, c, tmp: Path) -> None:
    reg = resource(db_session, c, tmp, "行政区划数据")
    outside = tmp / "region.csv"
    outside.write_text("code,name,level,parent_code\n1,a,b,c\n")
    for source in ("../../region.csv", str(outside), "missing.csv"):
        with pytest.raises(ValidationFailed) as e:
            datasets.register_dataset(db_session, actor=c.industry, registration_id=reg, code="bad-src", label="x",
                                      tables=[spec("region", source)])
        assert e.value.errors[0].code == "source_not_found"


def test_only_industry_departments_load(db_session, c, tmp: Path) -> None:
    with pytest.raises(PermissionDenied):
        load(db_session, type(c)(**{**c.__dict__, "industry": c.operator}), 1, tmp)
