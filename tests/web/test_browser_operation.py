"""A plan walks from draft to a signed, filed agreement in the browser, each step by its own role, and the
authorization then shows on the public disclosure page (no login)."""

from __future__ import annotations

import re

import pytest

from tests.browser import shot
from tests.web.conftest import login

pytestmark = pytest.mark.browser
NAME = "浏览器演示：全省公路出行公共数据授权运营"


def as_user(page, server: str, username: str, url: str) -> None:  # type: ignore[no-untyped-def]
    page.context.clear_cookies()
    login(page, server, username)
    page.goto(url)


def fill_empty_textareas(page, scope: str) -> None:  # type: ignore[no-untyped-def]
    for area in page.locator(f"{scope} textarea").all():
        if area.is_visible() and not area.input_value():
            area.fill("按方案正文执行。")


def test_plan_to_filed_agreement_and_public_disclosure(page, server):  # type: ignore[no-untyped-def]
    login(page, server, "agency")
    page.goto(f"{server}/operation/plans/new")
    page.fill("#f-name", NAME)
    page.select_option("#f-mode", "domain")
    page.fill("#f-period_years", "3")
    first = page.locator("input[name=resource]").first
    first.check()
    rid = first.get_attribute("value")
    page.fill(f"input[name=freq_{rid}]", "每日")
    page.fill(f"input[name=quality_{rid}]", "完整、准确")
    page.fill("input[name=product_name_0]", "出行指数报告")
    page.select_option("select[name=product_category_0]", "governance")
    page.select_option("select[name=product_form_0]", "report")
    page.fill("input[name=product_name_1]", "出行时效接口")
    page.select_option("select[name=product_category_1]", "industry")
    page.select_option("select[name=product_form_1]", "api")
    fill_empty_textareas(page, "form.op-form")
    shot(page, "operation-plan-form")
    page.click("form.op-form button[type=submit]")
    page.wait_for_load_state()
    shot(page, "operation-plan-saved")
    page.wait_for_url(re.compile(r"/operation/plans/\d+\?saved=1"))
    plan_url = page.url.split("?")[0]
    page.click("button:has-text('提交评审')")
    page.wait_for_selector("[data-state=feasibility]")

    as_user(page, server, "authority", plan_url)
    page.fill("#f-opinion", "需求明确，方案可行。")
    page.fill("input[name=expert_name_0]", "马教授")
    page.fill("input[name=expert_opinion_0]", "同意。")
    page.click("button:has-text('记录可行性论证结论')")
    page.wait_for_selector("[data-state=legality]")
    for user, stage in (("justice", "合法性审查"), ("market", "公平竞争审查")):
        as_user(page, server, user, plan_url)
        page.fill("#f-opinion", "通过。")
        if user == "justice":  # the legality opinion is uploaded through the page with the review
            page.set_input_files("form.op-review input[name=attachments]", files=[
                {"name": "合法性审核意见书.pdf", "mimeType": "application/pdf",
                 "buffer": b"%PDF-1.7\n% legality opinion\n%%EOF\n"}])
        page.click(f"button:has-text('记录{stage}结论')")
        page.wait_for_selector("[data-state]:not([data-state=legality])")
        if user == "justice":
            listed = page.locator(".op-files li", has_text="合法性审核意见书.pdf")
            assert listed.count() == 1 and "SM3" in listed.inner_text()
            shot(page, "operation-review-attachment")
    as_user(page, server, "government", plan_url)
    page.fill("#f-opinion", "审议通过。")
    page.fill("#f-decision_ref", "省政府常务会议纪要〔2026〕20号")
    page.click("button:has-text('记录本级人民政府审议结论')")
    page.wait_for_selector("[data-state=approved]")
    as_user(page, server, "authority", plan_url)
    page.fill("#f-filing_ref", "国数备〔2026〕99号")
    page.click("button:has-text('记录备案')")
    page.wait_for_selector("[data-state=filed]")
    shot(page, "operation-plan-filed")

    as_user(page, server, "agency", plan_url)
    page.select_option("#f-method", "negotiation")
    page.click("button:has-text('开始选择')")
    page.wait_for_url(re.compile(r"/operation/selections/\d+"))
    page.select_option("#f-org_id", label="甘肃数据运营集团有限公司")
    for key in ("funds", "management", "technology", "service", "security", "credit"):
        page.fill(f"#f-{key}", "符合条件")
    page.click("button:has-text('登记')")
    page.fill("input[name=score]", "90")
    page.fill("input[name=evaluation]", "能力强")
    page.click("button:has-text('记录评审')")
    page.select_option("#f-candidate_id", label="甘肃数据运营集团有限公司")
    page.fill("#f-decision", "谈判结果最优。")
    page.click("button:has-text('确定运营机构')")
    page.wait_for_selector("[data-state=decided]")
    shot(page, "operation-selection")
    page.click("a:has-text('拟定协议')")
    fill_empty_textareas(page, "form.op-form section")
    page.click("form.op-form button[type=submit]")
    page.wait_for_url(re.compile(r"/operation/agreements/\d+\?saved=1"))
    agreement_url = page.url.split("?")[0]
    page.fill("#f-decision_ref", "中心党委会〔2026〕9号")
    page.click("button:has-text('实施机构签署')")
    page.wait_for_selector("[data-state=agency_signed]")

    as_user(page, server, "operator", agreement_url)
    page.click("button:has-text('运营机构签署')")
    page.wait_for_selector("[data-state=signed]")
    as_user(page, server, "authority", agreement_url)
    page.fill("#f-filing_ref", "甘数备〔2026〕99号")
    page.click("button:has-text('记录备案')")
    page.wait_for_selector("[data-state=filed]")
    shot(page, "operation-agreement-filed")

    page.context.clear_cookies()
    page.goto(f"{server}/public/authorizations")
    card = page.locator(".op-authorization", has_text=NAME)
    assert card.count() == 1
    assert "甘肃数据运营集团有限公司" in card.inner_text() and "运营中" in card.inner_text()
    shot(page, "operation-public-disclosure")
