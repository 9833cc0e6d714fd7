"""GB/T 4754-2017 industries shipped as data (REG-7 行业分类)."""

from __future__ import annotations

import string

import pytest

from pubdata.errors import ValidationFailed
from pubdata.reference import industries as ind


def test_20_sections_a_to_t():
    sections = ind.industries(level="section")
    assert [s.code for s in sections] == list(string.ascii_uppercase[:20])
    assert all(s.parent is None for s in sections)


def test_97_divisions_01_to_97():
    divisions = ind.industries(level="division")
    assert [d.code for d in divisions] == [f"{n:02d}" for n in range(1, 98)]


# The section ranges of GB/T 4754-2017.
RANGES = {"A": (1, 5), "B": (6, 12), "C": (13, 43), "D": (44, 46), "E": (47, 50), "F": (51, 52), "G": (53, 60),
          "H": (61, 62), "I": (63, 65), "J": (66, 69), "K": (70, 70), "L": (71, 72), "M": (73, 75), "N": (76, 79),
          "O": (80, 82), "P": (83, 83), "Q": (84, 85), "R": (86, 90), "S": (91, 96), "T": (97, 97)}


def test_every_division_has_the_right_section():
    for section, (first, last) in RANGES.items():
        assert [d.code for d in ind.industries(parent=section)] == [f"{n:02d}" for n in range(first, last + 1)]


@pytest.mark.parametrize(("division", "section"), [("01", "A"), ("13", "C"), ("43", "C"), ("65", "I"), ("84", "Q"),
                                                    ("92", "S"), ("96", "S"), ("97", "T")])
def test_division_parents(division, section):
    assert ind.get_industry(division).parent == section


@pytest.mark.parametrize(("code", "name"), [
    ("A", "农、林、牧、渔业"), ("D", "电力、热力、燃气及水生产和供应业"), ("I", "信息传输、软件和信息技术服务业"),
    ("S", "公共管理、社会保障和社会组织"), ("05", "农、林、牧、渔专业及辅助性活动"), ("11", "开采专业及辅助性活动"),
    ("64", "互联网和相关服务"), ("65", "软件和信息技术服务业"), ("79", "土地管理业"), ("96", "基层群众自治组织及其他组织"),
])
def test_2017_names(code, name):
    assert ind.get_industry(code).name == name


@pytest.mark.parametrize(("given", "code"), [("A", "A"), ("a", "A"), (" C ", "C"), ("01", "01"), ("A01", "01"),
                                             ("i65", "65"), ("T97", "97")])
def test_accepted_code_forms(given, code):
    assert ind.get_industry(given).code == code
    assert ind.require_industry(given).code == code


@pytest.mark.parametrize("code", ["B01", "C65", "98", "00", "1", "011", "A011", "U", "AB", ""])
def test_unknown_or_inconsistent_codes(code):
    assert ind.get_industry(code) is None
    with pytest.raises(ValidationFailed) as exc:
        ind.require_industry(code, field="industries.2")
    [error] = exc.value.errors
    assert (error.field, error.code) == ("industries.2", "unknown_industry")
    assert "GB/T 4754-2017" in error.message


def test_default_field_name():
    with pytest.raises(ValidationFailed) as exc:
        ind.require_industry("98")
    assert exc.value.errors[0].field == "industry_code"


def test_normalise():
    assert ind.normalise(" a01 ") == "01"
    assert ind.normalise("q") == "Q"
    assert ind.normalise("84") == "84"
