"""The public portal in Debian's Chromium: home → notices → notice → objection login prompt → login → objection
form (first with a field error) → my objections; and the other public pages, each with a screenshot."""

from __future__ import annotations

import pytest

from pubdata.demo import DEMO_PASSWORD
from tests.browser import shot

pytestmark = pytest.mark.browser

EVIDENCE = {"name": "数据权属证明.pdf", "mimeType": "application/pdf",
            "buffer": "%PDF-1.7\n% 浏览器测试：权属证明\n%%EOF\n".encode()}


def test_from_the_home_page_to_an_objection(page, server):
    page.goto(server + "/")
    counts = page.locator("#portal-counts .stat-value").all_text_contents()
    assert len(counts) == 4 and all(c.isdigit() for c in counts) and int(counts[2]) >= 1
    shot(page, "public-01-home")

    page.click(".portal-links >> text=登记公示")
    page.wait_for_url(f"{server}/notices")
    page.select_option("#f-status", "open")
    page.click("main form.filters button[type=submit]")
    page.wait_for_url("**/notices?*status=open*")
    rows = page.locator("table.notices tbody tr")
    assert rows.count() >= 1 and "公示中" in rows.first.text_content()
    shot(page, "public-02-notices")

    page.click("table.notices tbody tr >> nth=0 >> a")
    page.wait_for_url("**/notices/*")
    assert "公示期满" in page.text_content("main") and "数据内容简介" in page.text_content("main")
    assert "实名" in page.text_content("#objection")
    shot(page, "public-03-notice-detail")

    page.click("#objection-login")
    page.wait_for_url("**/login?next=*")
    shot(page, "public-04-login-prompt")
    page.fill("#f-username", "agent")
    page.fill("#f-password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/objections/new?registration_id=*")
    assert "实名提出异议" in page.text_content("h1")

    page.select_option("#f-claim", "ownership")
    page.set_input_files("#f-evidence", files=[EVIDENCE])
    page.click("main button[type=submit]")
    assert "请写明异议的事实与理由" in page.text_content("#e-grounds")
    assert "数据权属证明.pdf" in page.text_content(".evidence-list")
    shot(page, "public-05-objection-field-error")

    page.fill("#f-grounds", "该数据中的企业信用评价部分由我公司采集和加工，权属存在争议。")
    page.click("main button[type=submit]")
    page.wait_for_url("**/my/objections?raised=*")
    assert "异议已提交" in page.text_content(".alert-ok")
    assert "待处理" in page.text_content("main table")
    shot(page, "public-06-my-objections")

    page.click("main table >> text=详情")
    page.wait_for_url("**/my/objections/*")
    assert "提出异议，登记机构已收到" in page.text_content("#objection-timeline")
    shot(page, "public-07-my-objection")


def publish_demo_facts(engine, page, server: str) -> None:  # type: ignore[no-untyped-def]
    """What the demo lacks: an approved statistics release, a revocation announcement, a signed checkpoint."""
    from sqlalchemy import select

    from pubdata import clock
    from pubdata.db.session import unit_of_work
    from pubdata.identity.access import actor_for
    from pubdata.identity.users import user_by_username
    from pubdata.objections.revocations import revoke_registration
    from pubdata.registry.models import Registration
    from pubdata.supervision import releases

    with unit_of_work(engine) as s:
        clerk, authority = (actor_for(user_by_username(s, n)) for n in ("institution", "authority"))
        year = clock.today().year
        rel = releases.draft_release(s, actor=clerk, title=f"{year}年登记统计（演示）",
                                     period_start=clock.today().replace(month=1, day=1), period_end=clock.today())
        releases.approve_release(s, actor=authority, release_id=rel.id)
        reg = s.scalars(select(Registration).where(Registration.status == "registered")).first()
        revoke_registration(s, actor=clerk, registration_id=reg.id, ground="forged_materials",
                            reasons="经核实，数据安全评估报告系伪造。")
    # Signed by the server with its own ledger key, as an auditor would ask for one.
    token = page.request.post(f"{server}/api/v1/auth/tokens",
                              data={"username": "regulator", "password": DEMO_PASSWORD, "name": "browser"}).json()
    r = page.request.post(f"{server}/api/v1/ledger/checkpoints", headers={"Authorization": f"Bearer {token['token']}"})
    assert r.status == 201, r.text()


def test_the_other_public_pages(page, server, live_engine):
    publish_demo_facts(live_engine, page, server)
    for path, heading, name in (("/rules", "公共数据资源登记业务规则", "public-08-rules"),
                                ("/announcements", "登记公告", "public-09-announcements"),
                                ("/statistics", "登记统计信息", "public-10-statistics"),
                                ("/ledger", "账本检查点与验证", "public-11-ledger")):
        page.goto(server + path)
        assert heading in page.text_content("h1")
        assert page.locator(".back a").count() == 1
        shot(page, name)
    assert "签名有效" in page.text_content("#latest-checkpoint")
    page.goto(server + "/announcements")
    page.click("main .announcement a.mono")
    page.wait_for_url("**/public/certificates/*")
    assert "已撤销" in page.text_content("main")
    page.goto(server + "/notices?status=bogus")
    assert "信息有误" in page.text_content("main")
    shot(page, "public-12-bad-filter")
