"""The demo operator logs in, opens the SQL console on its demo grant, runs a query and sees the small cells
hidden and marked with their reason; the provider and the agency see their operation-domain pages."""

from __future__ import annotations

import pytest

from tests.browser import shot
from tests.web.conftest import login

pytestmark = pytest.mark.browser
# Grouped rows under k are left out whole; a small filtered count keeps a hidden cell inside shown rows.
SQL = ("SELECT city_code, gender, count(*) AS n, avg(annual_income) AS mean_income, "
       "count(*) FILTER (WHERE age BETWEEN 100 AND 130) AS centenarians FROM population "
       "GROUP BY city_code, gender ORDER BY city_code, gender")


def test_operator_runs_a_query_and_sees_suppressed_cells_marked(page, server):  # type: ignore[no-untyped-def]
    login(page, server, "operator")
    page.click("nav.topnav a:has-text('运营域')")
    page.wait_for_url(f"{server}/opdomain")
    shot(page, "opdomain-index-operator")
    page.click("a:has-text('在查询控制台中查询')")
    page.wait_for_selector("#f-sql")
    page.fill("#f-sql", SQL)
    page.click("button:has-text('执行查询')")
    page.wait_for_selector(".od-result")
    cell = page.locator("td.od-suppressed").first
    assert cell.is_visible() and "已隐藏" in cell.inner_text() and "min_count" in cell.inner_text()
    assert "单元格涉及的个体少于 10 个" in cell.locator("abbr").get_attribute("title")  # type: ignore[operator]
    assert page.locator(".od-result td.num").count() > 0  # the other cells are shown
    shot(page, "opdomain-console-result")
    page.fill("#f-sql", "SELECT name, annual_income FROM population")
    page.click("button:has-text('执行查询')")
    page.wait_for_selector(".od-refusal")
    assert "column_not_granted" in page.locator(".od-refusal").inner_text()
    assert page.locator("text=已拒绝").first.is_visible()  # the history lists the refusal
    shot(page, "opdomain-console-refused")
    page.goto(f"{server}/opdomain/quality")
    shot(page, "opdomain-quality-operator")
    page.goto(f"{server}/opdomain/quality/new")
    shot(page, "opdomain-quality-form")
    page.goto(f"{server}/opdomain")
    page.click("a:has-text('全省法人单位基础信息')")
    page.click("a:has-text('申请使用本数据集')")
    page.wait_for_selector("h1:has-text('申请使用数据')")
    shot(page, "opdomain-application-form")


def test_provider_and_agency_pages(page, server):  # type: ignore[no-untyped-def]
    login(page, server, "industry")
    page.goto(f"{server}/opdomain")
    page.click("a:has-text('全省人口基础信息')")
    page.wait_for_selector("h2:has-text('重新分类分级')")
    shot(page, "opdomain-dataset-provider")
    page.goto(f"{server}/opdomain/applications?state=submitted")
    page.click("table a >> nth=0")
    page.wait_for_selector("h2:has-text('最小必要提示')")
    shot(page, "opdomain-application-provider")
    page.goto(f"{server}/opdomain/grants")
    shot(page, "opdomain-grants-provider")
    page.goto(f"{server}/opdomain/quality")
    page.click("table a >> nth=0")
    page.fill("#f-note", "已核实，正在补录。")
    page.click("button:has-text('答复')")
    page.wait_for_selector("[data-state=answered]")
    shot(page, "opdomain-quality-answered")
    page.context.clear_cookies()
    login(page, server, "agency")
    page.goto(f"{server}/opdomain/quality/response-times")
    assert page.locator("td:has-text('全省人口基础信息')").first.is_visible()
    shot(page, "opdomain-quality-times")
