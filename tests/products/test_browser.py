"""In a real browser (Chromium): from an approved export to a registered, priced, subscribed data-API product
whose calls are metered through the gateway and shown on the operator's public disclosure page."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from pubdata.audit import Actor
from pubdata.certificates.signing import SETTINGS_INFO
from pubdata.db.session import unit_of_work
from pubdata.identity.access import actor_for
from pubdata.identity.users import user_by_username
from pubdata.opdomain import exports, queries
from pubdata.opdomain.models import DataGrant
from pubdata.products.models import Product
from pubdata.registry import applications as reg_apps
from pubdata.registry.certificates import certify
from tests.browser import shot
from tests.products.support import complete
from tests.web.conftest import login

pytestmark = pytest.mark.browser
SQL = "SELECT county_code, count(*) AS n FROM population GROUP BY county_code"


def _actor(session, name: str) -> Actor:  # type: ignore[no-untyped-def]
    user = user_by_username(session, name)
    assert user is not None
    return actor_for(user)


def _approved_export(engine, settings) -> int:  # type: ignore[no-untyped-def]
    """The demo operator's checked query, exported and approved by the agency (signed release manifest)."""
    with unit_of_work(engine) as s:
        s.info[SETTINGS_INFO] = settings
        operator, agency = _actor(s, "operator"), _actor(s, "agency")
        grant = s.scalar(select(DataGrant).where(DataGrant.operator_org_id == operator.org_id,
                                                 DataGrant.revoked_at.is_(None)).order_by(DataGrant.id))
        assert grant is not None
        run_id = queries.run_query(s, actor=operator, grant_id=grant.id, sql=SQL).query_run_id
        req = exports.request_result_export(s, actor=operator, query_run_id=run_id, purpose="县区人口规模查询接口",
                                            product="物流时效接口")
        exports.decide(s, actor=agency, export_id=req.id, decision="approve", note="聚合结果，可以导出")
        return req.id


def _certify(engine, settings, tmp, product_id: int) -> None:  # type: ignore[no-untyped-def]
    """The operator completes and submits the prefilled registration; the institution registers it."""
    with unit_of_work(engine) as s:
        s.info[SETTINGS_INFO] = settings
        operator, clerk = _actor(s, "operator"), _actor(s, "institution")
        app_id = s.get(Product, product_id).application_id
        complete(s, operator, tmp, app_id)
        reg_apps.submit(s, actor=operator, application_id=app_id)
        reg_apps.accept(s, actor=clerk, application_id=app_id)
        reg_apps.pass_review(s, actor=clerk, application_id=app_id)
        certify(s, actor=Actor.system("test"), application=reg_apps.get_application(s, application_id=app_id))


def test_from_approved_export_to_metered_calls_on_the_disclosure_page(page, server, live_engine, live_settings,
                                                                       tmp_path):  # type: ignore[no-untyped-def]
    export_id = _approved_export(live_engine, live_settings)

    # The operator builds a data-API product from the approved export and applies to register it.
    login(page, server, "operator")
    page.goto(f"{server}/products")
    page.click("a:has-text('基于导出成果创建产品')")
    page.check(f"input[name=export][value='{export_id}']")
    page.fill("#f-name", "县区人口规模查询接口")
    page.select_option("#f-form", "api")
    page.select_option("#f-category", "industry")
    page.fill("#f-purpose", "为物流企业网点规划提供县区人口规模")
    shot(page, "products-new")
    page.click("button:has-text('创建产品')")
    page.wait_for_selector("text=开发完成（未登记）")
    product_id = int(re.search(r"/products/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    shot(page, "products-detail-draft")
    page.click("button:has-text('申请登记')")
    page.wait_for_url(re.compile(r"/applications/\d+/edit"))
    assert page.locator("#f-product\\.purpose, [name='product.purpose']").first.input_value() \
        == "为物流企业网点规划提供县区人口规模"
    shot(page, "products-registration-prefilled")
    _certify(live_engine, live_settings, tmp_path, product_id)

    # The agency caps the price; the operator's price above the cap is refused at the field, at the cap accepted.
    page.context.clear_cookies()
    login(page, server, "agency")
    page.goto(f"{server}/products/{product_id}")
    page.select_option("#cap-form #f-charging_basis", "per_call")
    page.fill("#cap-form #f-cap", "2.00")
    page.fill("#cap-form #f-decision_ref", "甘数价〔2026〕1号")
    page.click("#cap-form button")
    page.wait_for_selector("table.price-caps td:has-text('2.00 元')")
    shot(page, "products-agency-cap")
    page.context.clear_cookies()
    login(page, server, "operator")
    page.goto(f"{server}/products/{product_id}")
    page.select_option("#offer-form #f-mode", "trade")
    page.select_option("#offer-form #f-charging_basis", "per_call")
    page.fill("#offer-form #f-unit_price", "2.50")
    page.click("#offer-form button")
    page.wait_for_selector("[data-code=price_above_cap]")
    assert "上限 2.00 元" in page.locator(".alert-error").inner_text()
    shot(page, "products-price-above-cap")
    page.fill("#offer-form #f-unit_price", "1.50")
    page.click("#offer-form button")
    page.wait_for_selector("[data-state=offered]")
    shot(page, "products-offered")

    # A subscriber subscribes and receives its API key once.
    page.context.clear_cookies()
    login(page, server, "subject")
    page.goto(f"{server}/products/{product_id}")
    page.fill("#subscribe-form #f-purpose", "交通运输规划")
    page.click("#subscribe-form button")
    page.wait_for_selector("text=接口密钥只显示这一次")
    key = page.input_value("#api-key")
    shot(page, "products-api-key")
    with httpx.Client(base_url=server) as http:
        with unit_of_work(live_engine) as s:
            number = s.get(Product, product_id).number
        url = f"/api/v1/gateway/{number}/rows"
        assert http.get(url, headers={"X-API-Key": key, "Idempotency-Key": "c1"}).headers["X-Metered"] == "counted"
        assert http.get(url, headers={"X-API-Key": key, "Idempotency-Key": "c1"}).headers["X-Metered"] == "replayed"
        r = http.get(url, params={"size": 5}, headers={"X-API-Key": key, "Idempotency-Key": "c2"})
        assert r.status_code == 200 and len(r.json()["rows"]) == 5
    page.goto(f"{server}/products/subscriptions/mine")
    shot(page, "products-subscriptions")

    # Anyone sees the operator's product, its price and charging basis, and the two metered calls.
    page.context.clear_cookies()
    page.goto(f"{server}/public/products")
    row = page.locator(f"tr[data-product='{number}']")
    assert row.locator("td.price").inner_text() == "1.50"
    assert row.locator("td.calls").inner_text() == "2"
    assert "按次（每次调用）" in row.inner_text() and "甘肃数据运营集团有限公司" in page.content()
    shot(page, "products-public")

    # The data authority records the year's maximum permitted revenue and sees the revenue against it.
    login(page, server, "authority")
    page.goto(f"{server}/products/pricing/limits")
    with unit_of_work(live_engine) as s:
        agreement_id = s.get(Product, product_id).agreement_id
    page.select_option("#limit-form #f-agreement_id", str(agreement_id))
    page.fill("#limit-form #f-max_revenue", "abc")
    page.fill("#limit-form #f-price_authority", "甘肃省发展和改革委员会")
    page.fill("#limit-form #f-price_authority_ref", "甘发改价格〔2026〕8号")
    page.click("#limit-form button")
    page.wait_for_selector("[data-code=invalid_amount]")
    page.fill("#limit-form #f-max_revenue", "2.00")
    page.click("#limit-form button")
    page.wait_for_selector("text=已办理")
    # 2 metered calls × 1.50 = 3.00 against a maximum of 2.00: 1.00 to be carried into the next year.
    assert page.locator("tr", has_text="3.00").filter(has_text="1.00").count() >= 1
    shot(page, "products-pricing-limits")
