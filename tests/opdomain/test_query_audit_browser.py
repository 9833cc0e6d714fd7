"""In a real browser (Chromium): the demo agency opens its query audit at desktop and phone widths — per-grant
counters, flagged patterns, the latest queries with their checked or masked SQL wrapping inside the page —,
resumes a suspended grant with its reason; the operator nominates a colleague on the staff page. Screenshots go
to /tmp (audit_desktop.png, audit_phone.png, …), not into the repository."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from sqlalchemy import select

from pubdata.audit import Actor
from pubdata.certificates.signing import SETTINGS_INFO
from pubdata.db.session import unit_of_work
from pubdata.demo import DEMO_PASSWORD
from pubdata.errors import DomainError
from pubdata.identity.access import actor_for
from pubdata.identity.users import create_user, user_by_username
from pubdata.opdomain import grants, queries
from pubdata.opdomain.models import DataGrant
from tests.web.conftest import live_engine, live_settings, login, server  # noqa: F401 - the live demo server

pytestmark = pytest.mark.browser
NEAR = "SELECT county_code, count(*) AS n FROM population WHERE age > {} GROUP BY county_code"
SECRET = ("SELECT county_code, count(*) AS n FROM population WHERE name = '张三丰' AND annual_income > 987654 "
          "GROUP BY county_code")
FAILING = "SELECT county_code, count(*) AS n FROM population WHERE age % 0 = {} GROUP BY county_code"
DESKTOP, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}


def _actor(session, name: str) -> Actor:  # type: ignore[no-untyped-def]
    user = user_by_username(session, name)
    assert user is not None
    return actor_for(user)


@pytest.fixture(scope="module")
def audited(live_engine, live_settings) -> int:  # type: ignore[no-untyped-def]  # noqa: F811
    """The demo operator's queries on its grant — near-identical ones, a refused one with literals, failing
    ones —, then the grant suspended pending the agency's review; returns the grant's id."""
    with unit_of_work(live_engine) as s:
        s.info[SETTINGS_INFO] = live_settings
        operator = _actor(s, "operator")
        grant = s.scalar(select(DataGrant).where(DataGrant.operator_org_id == operator.org_id,
                                                 DataGrant.revoked_at.is_(None)).order_by(DataGrant.id))
        assert grant is not None
        sqls = [*(NEAR.format(a) for a in (60, 61, 62)), SECRET, *(FAILING.format(n) for n in (1, 2, 3))]
        for sql in sqls:
            with contextlib.suppress(DomainError):  # a refusal is recorded and counted like any query
                queries.run_query(s, actor=operator, grant_id=grant.id, sql=sql)
        grants.suspend(s, actor=Actor.system("test"), grant=grant,
                       facts="60 分钟内被拒绝、出错或限流的查询达到 4 次（阈值 4 次），授权暂停，待实施机构审查。")
        return grant.id


def no_horizontal_overflow(page: Any) -> None:
    """Nothing of the page's content sticks out sideways: <main> needs no horizontal scrolling and none of its
    elements reaches past the viewport. (The site-wide top bar is base.html's, outside these pages.)"""
    width = page.evaluate("document.documentElement.clientWidth")
    main = page.evaluate("[document.querySelector('main').scrollWidth, document.querySelector('main').clientWidth]")
    assert main[0] <= main[1] <= width, main
    wide = page.evaluate("""w => [...document.querySelectorAll('main *')]
        .filter(e => e.getClientRects().length && e.getBoundingClientRect().right > w + 1)
        .map(e => e.tagName + '.' + e.className).slice(0, 5)""", width)
    assert wide == [], wide


def test_agency_audits_queries_at_desktop_and_phone_widths_and_resumes(  # type: ignore[no-untyped-def]
        browser, server, audited) -> None:  # noqa: F811
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = browser.new_context(locale="zh-CN", viewport=viewport)
        page = context.new_page()
        login(page, server, "agency")
        page.goto(f"{server}/opdomain")
        page.click(".od-tabs a:has-text('查询审计')")
        page.wait_for_url(f"{server}/opdomain/audit")
        assert page.locator("h1").inner_text() == "查询审计"
        row = page.locator(f"tr[data-grant='{audited}']")
        assert "已暂停（待审查）" in row.inner_text() and "全省人口基础信息" in row.inner_text()
        assert page.locator("text=近似查询（仅一个条件不同）").first.is_visible()
        assert page.locator("text=反复执行出错").first.is_visible()
        assert page.locator("pre.od-audit-sql").first.is_visible()
        assert "张三丰" not in page.content() and "987654" not in page.content()
        assert "name = ?" in page.locator("pre.od-audit-sql", has_text="name = ?").first.inner_text()
        page.screenshot(path=f"/tmp/audit_{name}.png", full_page=True)
        no_horizontal_overflow(page)

        page.click(f"tr[data-grant='{audited}'] a")
        page.wait_for_selector("h2:has-text('授权已暂停，待实施机构审查')")
        assert page.locator("#f-reason").is_visible() and page.locator(".od-q-flag").count() >= 3
        page.screenshot(path=f"/tmp/audit_grant_{name}.png", full_page=True)
        no_horizontal_overflow(page)
        context.close()

    context = browser.new_context(locale="zh-CN", viewport=PHONE)
    page = context.new_page()
    login(page, server, "agency")
    page.goto(f"{server}/opdomain/audit/grants/{audited}")
    page.click("button:has-text('恢复该数据授权')")
    page.wait_for_selector("text=恢复授权须说明审查结论与理由")
    page.fill("#f-reason", "经核查为调试 SQL 所致，已约谈运营机构。")
    page.click("button:has-text('恢复该数据授权')")
    page.wait_for_selector("text=已恢复该数据授权，查询可继续进行。")
    assert page.locator("button:has-text('恢复该数据授权')").count() == 0
    assert page.locator("td:has-text('经核查为调试 SQL 所致')").first.is_visible()
    no_horizontal_overflow(page)
    context.close()


def test_operator_nominates_a_colleague_and_the_agency_approves_on_the_staff_page(  # type: ignore[no-untyped-def]
        browser, server, live_engine) -> None:  # noqa: F811
    with unit_of_work(live_engine) as s:
        operator = _actor(s, "operator")
        create_user(s, actor=Actor.system("test"), org_id=operator.org_id or 0, username="analyst2",
                    full_name="赵分析", password=DEMO_PASSWORD, is_org_admin=False)
    page = browser.new_context(locale="zh-CN", viewport=PHONE).new_page()
    login(page, server, "operator")
    page.goto(f"{server}/opdomain")
    page.click(".od-tabs a:has-text('指定人员')")
    page.wait_for_selector("h1:has-text('指定人员')")
    assert page.locator(".badge:has-text('已批准')").first.is_visible()  # the demo operator, approved
    page.select_option("#f-user_id", label="赵分析（analyst2）")
    page.click("button:has-text('提名')")
    page.wait_for_selector("text=岗位与职责")
    assert page.locator("#e-duty").inner_text() == "请填写岗位与职责。"
    page.fill("#f-duty", "数据分析师，负责县区收入统计")
    page.click("button:has-text('提名')")
    page.wait_for_selector("text=已提名，待实施机构批准。")
    assert page.locator("tr:has-text('赵分析') .badge").inner_text() == "已提名（待实施机构批准）"
    page.screenshot(path="/tmp/staff_phone.png", full_page=True)
    no_horizontal_overflow(page)
    page.context.close()

    page = browser.new_context(locale="zh-CN", viewport=DESKTOP).new_page()
    login(page, server, "agency")
    page.goto(f"{server}/opdomain/staff")
    row = page.locator("tr:has-text('赵分析')").first
    assert "数据分析师，负责县区收入统计" in row.inner_text()
    page.screenshot(path="/tmp/staff_agency_desktop.png", full_page=True)
    row.locator("button:has-text('批准')").click()
    page.wait_for_selector("text=已批准为指定人员。")
    assert page.locator("tr:has-text('赵分析') .badge").inner_text() == "已批准"
    page.screenshot(path="/tmp/staff_desktop.png", full_page=True)
    no_horizontal_overflow(page)
    page.context.close()
