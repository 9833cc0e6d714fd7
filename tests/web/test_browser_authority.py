"""The data authority in Chromium: the dashboard with its SVG charts, bad filters, the overdue list, and approving
a statistics release an institution drafted (REG-40)."""

from __future__ import annotations

import datetime as dt

import pytest

from pubdata import clock
from pubdata.db.session import unit_of_work
from pubdata.identity.access import actor_for
from pubdata.identity.users import user_by_username
from pubdata.supervision import releases
from tests.browser import shot
from tests.web.conftest import login

pytestmark = pytest.mark.browser


def _draft_by_institution(engine) -> int:  # type: ignore[no-untyped-def]
    """The demo institution drafts last month's statistics (the authority may not approve its own draft)."""
    first_of_month = clock.today().replace(day=1)
    last_month_end = first_of_month - dt.timedelta(days=1)
    with unit_of_work(engine) as session:
        clerk = user_by_username(session, "institution")
        assert clerk is not None
        rel = releases.draft_release(session, actor=actor_for(clerk), title=f"{last_month_end:%Y年%m月}登记统计",
                                     period_start=last_month_end.replace(day=1) - dt.timedelta(days=90),
                                     period_end=last_month_end)
        return rel.id


def test_authority_views_the_dashboard_and_approves_a_release(page, server, live_engine):
    release_id = _draft_by_institution(live_engine)
    login(page, server, "authority")
    page.click("header >> text=监管看板")
    page.wait_for_url(f"{server}/authority")
    assert page.text_content("h1") == "监管看板"
    # Charts are server-side SVGs with titles; the demo's registrations are counted.
    assert page.locator("svg.chart[role=img]").count() == 5
    assert page.locator("svg#months title").first.text_content().startswith("近 12 个月")
    assert int(page.text_content("[data-figure=total]")) >= 1
    assert page.locator("#compliance tbody tr").count() >= 1
    shot(page, "authority-01-dashboard")

    page.select_option("#f-region", "620100")
    page.click("main button[type=submit]")
    page.wait_for_url("**/authority?*region=620100*")
    assert page.locator("#f-region").input_value() == "620100"
    shot(page, "authority-02-dashboard-lanzhou")

    page.goto(f"{server}/authority?start=2026-05-01&end=2026-04-01")
    assert "统计期止不能早于统计期起" in page.text_content("#e-end")
    shot(page, "authority-03-bad-period")

    page.goto(f"{server}/authority/overdue")
    assert page.locator("#overdue tbody tr").count() >= 1  # the demo's overdue review
    shot(page, "authority-04-overdue")

    page.click("nav.auth-tabs >> text=统计信息发布")
    page.click(f"a[href='/authority/releases/{release_id}']")
    assert page.text_content("#release-state") == "待同意"
    shot(page, "authority-05-release")
    page.click("#reject")  # no reason: refused next to the field, nothing changes
    assert "须说明理由" in page.text_content("#e-reason")
    page.click("#approve")
    page.wait_for_url(f"**/authority/releases/{release_id}?done=approve")
    assert page.text_content("#release-state") == "已同意公开"
    assert "已同意公开" in page.text_content(".alert-ok")
    shot(page, "authority-06-release-approved")
