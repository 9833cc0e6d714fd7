"""OPS-30 / OPS-34: per product and period — revenue from metered calls and orders, recorded costs, the
agreement's benefit-sharing rule applied, the annual report; OPS-32: public product list and usage."""

from __future__ import annotations

import pytest

from pubdata import clock
from pubdata.errors import Conflict, PermissionDenied, ValidationFailed
from pubdata.operation import disclosure as op_disclosure
from pubdata.products import accounting, disclosure, gateway, offers, subscriptions
from tests.products.support import capped, offered, product, register, subscribed


def test_account_applies_revenue_costs_and_the_sharing_rule(db_session, w):
    year = clock.today().year
    api = offered(db_session, w, basis="per_call", price="2.00")
    _, key = subscribed(db_session, w, api)
    for i in range(5):
        gateway.call(db_session, raw_key=key, product_number=api.number, idempotency_key=str(i), filters={})
    gateway.call(db_session, raw_key=key, product_number=api.number, idempotency_key="4", filters={})  # a retry
    accounting.record_cost(db_session, actor=w.c.operator, product_id=api.id, year=year, category="compute",
                           amount="3.00", note="接口服务器")
    wrong = accounting.record_cost(db_session, actor=w.c.operator, product_id=api.id, year=year, category="other",
                                   amount="100", note="记错")
    accounting.void_cost(db_session, actor=w.c.operator, cost_id=wrong.id, reason="重复记录")
    accounting.record_sharing_rule(db_session, actor=w.c.agency, agreement_id=w.agreement.id, basis="net",
                                   agency_percent="10", clause="净收益的百分之十用于数据治理")
    acc = accounting.account(db_session, product_id=api.id, year=year)
    assert (acc.calls, acc.call_revenue, acc.order_revenue, acc.revenue) == (5, 1000, 0, 1000)
    assert (acc.costs, acc.net, acc.agency_share, acc.operator_net) == (300, 700, 70, 630)
    db_session.commit()  # every change above carried its audit event (audit.guard checks at commit)


def test_orders_by_product_and_by_time_are_revenue(db_session, w):
    year = clock.today().year
    report = offered(db_session, w, form="report", basis="per_product", price="50.00", cap="80",
                     name="县区人口报告")
    monthly = offered(db_session, w, form="api", basis="per_time", price="20.00", cap="20",
                      name="县区人口月度接口")
    subscribed(db_session, w, report)
    subscriptions.subscribe(db_session, actor=w.subscriber, product_id=monthly.id, months=3)
    assert accounting.account(db_session, product_id=report.id, year=year).order_revenue == 5000
    assert accounting.account(db_session, product_id=monthly.id, year=year).order_revenue == 6000
    accounting.record_sharing_rule(db_session, actor=w.c.agency, agreement_id=w.agreement.id, basis="revenue",
                                   agency_percent="12.5", clause="收入的 12.5%")
    annual = accounting.annual_report(db_session, operator_org_id=w.c.operator.org_id, year=year)
    assert annual.totals["revenue"] == 11000 and annual.totals["agency_share"] == 625 + 750
    assert annual.agreements[0]["agreement_id"] == w.agreement.id


def test_per_time_order_needs_its_months(db_session, w):
    monthly = offered(db_session, w, basis="per_time", price="20.00", cap="30")
    with pytest.raises(ValidationFailed) as exc:
        subscriptions.subscribe(db_session, actor=w.subscriber, product_id=monthly.id, months=0)
    assert exc.value.errors[0].field == "months"


def test_bad_costs_and_rules_are_refused_at_the_field(db_session, w):
    p = product(db_session, w)
    with pytest.raises(ValidationFailed) as exc:
        accounting.record_cost(db_session, actor=w.c.operator, product_id=p.id, year="20x", category="x", amount="-1")
    assert {e.field for e in exc.value.errors} == {"year", "category", "amount"}
    with pytest.raises(ValidationFailed) as exc:
        accounting.record_sharing_rule(db_session, actor=w.c.agency, agreement_id=w.agreement.id, basis="x",
                                       agency_percent="120", clause="")
    assert {e.field for e in exc.value.errors} == {"basis", "agency_percent"}  # the clause falls back to 第七项
    with pytest.raises(PermissionDenied):
        accounting.record_cost(db_session, actor=w.other_operator, product_id=p.id, year=2026, category="other",
                               amount="1")


def test_voiding_twice_is_an_illegal_transition(db_session, w):
    p = product(db_session, w)
    cost = accounting.record_cost(db_session, actor=w.c.operator, product_id=p.id, year=2026, category="labour",
                                  amount="1")
    accounting.void_cost(db_session, actor=w.c.operator, cost_id=cost.id, reason="错")
    with pytest.raises(Conflict) as exc:
        accounting.void_cost(db_session, actor=w.c.operator, cost_id=cost.id, reason="错")
    assert exc.value.code == "illegal_transition"


def test_public_disclosure_lists_products_prices_basis_and_usage(db_session, w):
    api = offered(db_session, w, basis="per_call", price="1.50")
    free = register(db_session, w, product(db_session, w, category="governance", form="report", name="公益报告"))
    offers.offer_product(db_session, actor=w.c.operator, product_id=free.id, mode="public_welfare",
                         charging_basis="free", conditions="公益组织免费使用")
    draft = product(db_session, w, name="未登记的产品")
    _, key = subscribed(db_session, w, api)
    gateway.call(db_session, raw_key=key, product_number=api.number, idempotency_key="1", filters={}, size=7)
    [op] = disclosure.operators(db_session, operator_org_id=w.c.operator.org_id)
    rows = {r["name"]: r for r in op.products}
    assert draft.name not in rows
    assert rows[api.name]["price_yuan"] == "1.50" and rows[api.name]["charging_basis"] == "按次（每次调用）"
    assert (rows[api.name]["calls"], rows[api.name]["records_served"], rows[api.name]["subscribers"]) == (1, 7, 1)
    assert rows[api.name]["resources"][0]["code"]
    assert rows[free.name]["mode"].startswith("公益") and rows[free.name]["conditions"] == "公益组织免费使用"


def test_annual_disclosure_report_includes_the_products(db_session, w):
    api = offered(db_session, w)
    report = op_disclosure.annual_report(db_session, year=clock.today().year)
    names = [p["name"] for o in report.products for p in o["products"]]
    assert api.name in names


def test_cap_can_be_set_on_a_trade_product_before_registration(db_session, w):
    p = product(db_session, w)
    capped(db_session, w, p)  # the agency may cap before the operator offers
