"""Click through the real pages in Debian's Chromium (Playwright), against a live server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from pubdata.config import Settings
from pubdata.db.session import session_factory, unit_of_work
from pubdata.db.testing import scratch_engine
from pubdata.demo import DEMO_PASSWORD, load_demo
from tests.browser import free_port, shot

pytestmark = pytest.mark.browser



@pytest.fixture(scope="module")
def live_engine() -> Iterator[Engine]:
    with scratch_engine() as engine:
        with unit_of_work(engine) as session:
            load_demo(session)
        yield engine


@pytest.fixture(scope="module")
def server(live_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import uvicorn

    from pubdata.web.app import create_app

    app = create_app(Settings(var_dir=tmp_path_factory.mktemp("var"), secret_key="browser"),
                     session_maker=session_factory(live_engine))
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(5)


def login(page, server: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server}/login")
    page.fill("#f-username", username)
    page.fill("#f-password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{server}/workbench")


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
