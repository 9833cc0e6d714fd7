"""The public catalog in Chromium: search in Chinese, narrow by city, open an entry, check its certificate."""

from __future__ import annotations

import pytest

from tests.browser import shot

pytestmark = pytest.mark.browser


def test_search_narrow_open_and_verify_from_the_catalog(page, server):
    page.goto(f"{server}/")
    page.click("header >> text=资源目录")
    assert "甘肃省公共数据资源目录" in page.text_content("h1")
    shot(page, "catalog-01-all")
    page.fill("#f-q", "公路")
    page.click(".catalog-search button[type=submit]")
    assert "公路" in page.text_content(".catalog-results mark")
    assert "按相关度排序" in page.text_content(".result-summary")
    shot(page, "catalog-02-search")
    page.click(".catalog-facets >> text=数据资源")
    assert "q=" in page.url and "type=data_resource" in page.url  # the keyword survives the filter
    page.click(".catalog-item h2 a >> nth=0")
    assert "基本信息" in page.text_content("main")
    shot(page, "catalog-03-entry")
    page.click("text=核验凭证")
    assert "GSPZ-" in page.url
    shot(page, "catalog-04-certificate")


def test_an_unknown_city_code_says_so_next_to_the_search(page, server):
    page.goto(f"{server}/catalog?region=629999")
    assert "不存在" in page.text_content(".alert-error")
    shot(page, "catalog-05-bad-region")
