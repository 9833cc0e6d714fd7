"""Click through the real pages in Debian's Chromium (Playwright), against a live server."""

from __future__ import annotations

import pytest

from pubdata.demo import DEMO_PASSWORD
from tests.browser import shot
from tests.web.conftest import login

pytestmark = pytest.mark.browser



def test_portal_login_and_workbench(page, server):
    page.goto(server + "/")
    assert "公共数据资源登记与授权运营" in page.text_content("h1")
    shot(page, "01-index")
    page.goto(f"{server}/login")
    page.fill("#f-username", "subject")
    page.fill("#f-password", "wrong-password")
    page.click("main button[type=submit]")
    assert "用户名或口令不正确" in page.text_content(".alert-error")
    shot(page, "02-login-error")
    login(page, server, "subject")
    assert "甘肃省交通运输厅" in page.text_content("main")
    shot(page, "03-workbench-subject")
    page.click("text=退出")
    assert "您已安全退出" in page.text_content("main")


def test_signup_then_verification_by_the_institution(page, server, browser):
    page.goto(f"{server}/signup")
    page.fill("#f-org_name", "酒泉市测试数据局")
    page.fill("#f-uscc", "123")
    page.select_option("#f-kind", "党政机关")
    page.select_option("#f-region_code", "620900")
    page.fill("#f-full_name", "钱七")
    page.fill("#f-username", "jiuquan")
    page.fill("#f-password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    assert "统一社会信用代码应为 18 位" in page.text_content(".alert-error")
    shot(page, "04-signup-errors")
    from pubdata.demo import make_uscc

    page.fill("#f-uscc", make_uscc("11620900", 31337))
    page.fill("#f-password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/login?signed_up=1")
    login(page, server, "jiuquan")
    assert "不能提交申请" in page.text_content(".alert-warn")
    page.click(".alert-warn a")
    for field, value in {"certificate_kind": "统一社会信用代码证书", "legal_representative": "钱七",
                         "contact_name": "钱七", "contact_phone": "13900000001", "authorisation": "授权书〔2026〕1号"}.items():
        page.fill(f"#f-{field}", value)
    page.click("main button[type=submit]")
    assert "核验材料已提交" in page.text_content("main")
    shot(page, "05-verification-requested")

    clerk = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 860}).new_page()
    login(clerk, server, "institution")
    clerk.click("text=实名核验 >> nth=0")
    assert "酒泉市测试数据局" in clerk.text_content("table")
    shot(clerk, "06-verification-queue")
    clerk.click("text=核验 >> nth=-1")
    clerk.check("input[value=approve]")
    clerk.click("main button[type=submit]")
    assert "请记录核对了哪些材料" in clerk.text_content(".alert-error")
    clerk.fill("#f-checked_evidence", "核对统一社会信用代码证书原件与授权书")
    shot(clerk, "07-verification-decision")
    clerk.click("main button[type=submit]")
    assert "核验决定已记录" in clerk.text_content("main")
    page.goto(f"{server}/workbench")
    assert "已实名核验" in page.text_content("main")
    assert page.locator(".alert-warn").count() == 0
