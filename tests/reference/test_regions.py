"""GB/T 2260 regions shipped as data (REG-7 资源覆盖地区)."""

from __future__ import annotations

import pytest

from pubdata.errors import ValidationFailed
from pubdata.reference import regions as reg


def test_every_province_level_unit_of_the_country():
    provinces = reg.regions(level="province")
    assert len(provinces) == 34
    assert all(p.parent == reg.WHOLE_COUNTRY for p in provinces)
    names = {p.code: p.name for p in provinces}
    assert names["620000"] == "甘肃省"
    assert names["110000"] == "北京市"
    assert (names["710000"], names["810000"], names["820000"]) == ("台湾省", "香港特别行政区", "澳门特别行政区")


def test_every_prefecture_level_unit_of_the_country():
    prefectures = reg.regions(level="prefecture")
    assert len(prefectures) == 333  # 293 地级市, 7 地区, 30 自治州, 3 盟 as of the data date
    assert all(reg.get_region(p.parent).level == "province" for p in prefectures)
    assert reg.get_region("440300").name == "深圳市"


def test_gansu_has_14_prefecture_level_units():
    prefectures = reg.regions(level="prefecture", parent=reg.GANSU)
    assert len(prefectures) == 14
    names = {p.code: p.name for p in prefectures}
    assert names["620100"] == "兰州市"
    assert names["620200"] == "嘉峪关市"
    assert names["622900"] == "临夏回族自治州"
    assert names["623000"] == "甘南藏族自治州"


def test_gansu_has_86_county_level_units():
    counties = [r for r in reg.regions(level="county") if reg.is_within(r.code, reg.GANSU)]
    assert len(counties) == 86
    assert all(r.code.startswith("62") for r in counties)
    assert {r.code for r in counties} == {r.code for r in reg.regions(level="county") if r.code.startswith("62")}
    # 嘉峪关市 is a prefecture-level city without counties; 华亭市 became a city in 2018 (was 华亭县 620824).
    assert reg.regions(parent="620200") == []
    assert reg.get_region("620881").name == "华亭市" and reg.get_region("620824") is None
    assert len(reg.regions(level="county", parent="620100")) == 8
    assert len(reg.regions(level="county", parent="623000")) == 8


def test_lanzhou_new_area_is_no_gb_t_2260_code():
    assert not [r for r in reg.regions() if "兰州新区" in r.name]


def test_municipality_districts_hang_under_the_province():
    chaoyang = reg.get_region("110105")
    assert chaoyang is not None and (chaoyang.level, chaoyang.parent) == ("county", "110000")
    assert reg.regions(level="prefecture", parent="110000") == []


def test_lanzhou_path():
    assert [(r.code, r.name) for r in reg.region_path("620102")] == [
        ("000000", "全国"), ("620000", "甘肃省"), ("620100", "兰州市"), ("620102", "城关区")]
    assert [r.level for r in reg.region_path("620100")] == ["country", "province", "prefecture"]
    assert reg.region_path("629999") == []


def test_containment():
    assert reg.is_within("620102", "620100")
    assert reg.is_within("620102", "620000")
    assert reg.is_within("620100", "620100")
    assert not reg.is_within("620102", "620200")
    assert not reg.is_within("620100", "620102")
    assert not reg.is_within("629999", "000000")


def test_whole_country_contains_every_region():
    every = reg.regions()
    assert every[0].code == reg.WHOLE_COUNTRY and every[0].level == "country"
    assert all(reg.is_within(r.code, reg.WHOLE_COUNTRY) for r in every)


def test_every_parent_exists_one_level_up_or_is_the_province():
    rank = {level: i for i, level in enumerate(reg.LEVELS)}
    for r in reg.regions():
        if r.code == reg.WHOLE_COUNTRY:
            assert r.parent is None
            continue
        parent = reg.get_region(r.parent)
        assert parent is not None, r
        assert rank[parent.level] < rank[r.level], r
        assert len(r.code) == 6 and r.code.isdigit()


def test_lookup_trims_blanks_only():
    assert reg.get_region(" 620100 ").code == "620100"
    assert reg.get_region("6201") is None
    assert reg.get_region("") is None


def test_require_region_returns_the_region():
    assert reg.require_region("620100").name == "兰州市"
    assert reg.require_region("000000").name == "全国"


@pytest.mark.parametrize("code", ["629999", "620000000000", "abc", ""])
def test_unknown_region_raises_at_its_field(code):
    with pytest.raises(ValidationFailed) as exc:
        reg.require_region(code, field="coverage.0")
    [error] = exc.value.errors
    assert (error.field, error.code) == ("coverage.0", "unknown_region")
    assert f"行政区划代码 {code} 不存在" in error.message and "GB/T 2260" in error.message
    assert exc.value.status == 422


def test_default_field_name():
    with pytest.raises(ValidationFailed) as exc:
        reg.require_region("629999")
    assert exc.value.errors[0].field == "region_code"
