"""OPS-28 / OPS-29: public welfare free under conditions; trade priced at or under the agency's cap; the
permitted maximum revenue per period and the carry-over of any excess as the next period's deduction."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from pubdata import clock
from pubdata.audit.models import AuditEvent
from pubdata.errors import Conflict, PermissionDenied, ValidationFailed
from pubdata.products import gateway, offers, pricing, subscriptions
from pubdata.products.models import Offer
from tests.products.support import capped, offered, product, register, subscribed


def codes(exc: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {e.field: e.code for e in exc.value.errors}


def test_public_welfare_product_is_offered_free_under_recorded_conditions(db_session, w):
    p = register(db_session, w, product(db_session, w, category="governance", form="report"))
    offer = offers.offer_product(db_session, actor=w.c.operator, product_id=p.id, mode="public_welfare",
                                 charging_basis="free", conditions="仅限政府部门和公益组织用于公共服务")
    assert (offer.unit_price, p.state, p.delivered_on) == (0, "offered", clock.today())


def test_paid_offer_for_public_welfare_product_is_refused(db_session, w):
    p = register(db_session, w, product(db_session, w, category="governance"))
    with pytest.raises(ValidationFailed) as exc:
        offers.offer_product(db_session, actor=w.c.operator, product_id=p.id, mode="trade",
                             charging_basis="per_call", unit_price="0.50")
    assert codes(exc) == {"unit_price": "paid_public_welfare"}
    assert "无偿" in exc.value.errors[0].message
    with pytest.raises(ValidationFailed) as exc:
        offers.offer_product(db_session, actor=w.c.operator, product_id=p.id, mode="public_welfare",
                             charging_basis="per_call", unit_price="0.50", conditions="公益")
    assert codes(exc) == {"unit_price": "paid_public_welfare"}
    assert p.state == "registered"


def test_public_welfare_offer_needs_its_conditions(db_session, w):
    p = register(db_session, w, product(db_session, w, category="governance"))
    with pytest.raises(ValidationFailed) as exc:
        offers.offer_product(db_session, actor=w.c.operator, product_id=p.id, mode="public_welfare",
                             charging_basis="free")
    assert codes(exc) == {"conditions": "required"}


def test_public_welfare_offer_cannot_be_repriced_above_zero(db_session, w):
    p = register(db_session, w, product(db_session, w, category="governance"))
    offer = offers.offer_product(db_session, actor=w.c.operator, product_id=p.id, mode="public_welfare",
                                 charging_basis="free", conditions="公益")
    with pytest.raises(ValidationFailed) as exc:
        offers.reprice(db_session, actor=w.c.operator, offer_id=offer.id, unit_price="1")
    assert codes(exc) == {"unit_price": "paid_public_welfare"}


def test_price_above_cap_is_refused_and_at_cap_accepted(db_session, w):
    p = register(db_session, w, product(db_session, w))
    capped(db_session, w, p, "per_call", "2.00")
    with pytest.raises(ValidationFailed) as exc:
        offers.offer_product(db_session, actor=w.c.operator, product_id=p.id, mode="trade",
                             charging_basis="per_call", unit_price="2.01")
    assert codes(exc) == {"unit_price": "price_above_cap"}
    assert "2.00" in exc.value.errors[0].message
    offer = offers.offer_product(db_session, actor=w.c.operator, product_id=p.id, mode="trade",
                                 charging_basis="per_call", unit_price="2.00")
    assert offer.unit_price == 200
    with pytest.raises(ValidationFailed) as exc:
        offers.reprice(db_session, actor=w.c.operator, offer_id=offer.id, unit_price="3")
    assert codes(exc) == {"unit_price": "price_above_cap"}
    assert offers.reprice(db_session, actor=w.c.operator, offer_id=offer.id, unit_price="1.2").unit_price == 120


def test_trade_needs_a_cap_for_its_charging_basis(db_session, w):
    p = register(db_session, w, product(db_session, w))
    capped(db_session, w, p, "per_call", "2.00")
    with pytest.raises(ValidationFailed) as exc:
        offers.offer_product(db_session, actor=w.c.operator, product_id=p.id, mode="trade",
                             charging_basis="per_volume", unit_price="1")
    assert codes(exc) == {"charging_basis": "no_price_cap"}


@pytest.mark.parametrize("basis", ["per_product", "per_call", "per_time", "per_volume"])
def test_every_charging_basis_can_be_priced_under_its_cap(db_session, w, basis):
    p = offered(db_session, w, basis=basis, price="1.00")
    assert offers.active_offer(db_session, p.id).charging_basis == basis


def test_bad_amounts_are_refused_at_the_field(db_session, w):
    p = register(db_session, w, product(db_session, w))
    for bad in ("abc", "-1", "1.234", ""):
        with pytest.raises(ValidationFailed) as exc:
            pricing.set_price_cap(db_session, actor=w.c.agency, product_id=p.id, charging_basis="per_call", cap=bad,
                                  decision_ref="文号")
        assert "cap" in codes(exc), bad


def test_only_the_agreements_agency_sets_the_cap(db_session, w):
    p = register(db_session, w, product(db_session, w))
    with pytest.raises(PermissionDenied):
        pricing.set_price_cap(db_session, actor=w.c.operator, product_id=p.id, charging_basis="per_call", cap="1",
                              decision_ref="文号")


def test_no_cap_for_public_welfare_products(db_session, w):
    p = register(db_session, w, product(db_session, w, category="governance"))
    with pytest.raises(ValidationFailed) as exc:
        capped(db_session, w, p)
    assert codes(exc) == {"charging_basis": "cap_for_public_welfare"}


def test_a_lower_cap_brings_the_price_in_force_down_to_it(db_session, w):
    p = offered(db_session, w, basis="per_call", price="1.50")
    capped(db_session, w, p, "per_call", "1.00")
    offer = offers.active_offer(db_session, p.id)
    assert offer.unit_price == 100
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.tag == "products:offer:capped",
                                                      AuditEvent.object_id == str(offer.id))) is not None


def _metered(db_session, w, calls: int) -> None:
    p = offered(db_session, w, basis="per_call", price="2.00")
    _, key = subscribed(db_session, w, p)
    for i in range(calls):
        gateway.call(db_session, raw_key=key, product_number=p.number, idempotency_key=f"k{i}", filters={})


def test_revenue_over_the_permitted_maximum_is_deducted_in_the_next_period(db_session, w):
    year = clock.today().year
    pricing.record_revenue_limit(db_session, actor=w.c.authority, agreement_id=w.agreement.id, year=year,
                                 max_revenue="5.00", price_authority="甘肃省发展和改革委员会",
                                 price_authority_ref="甘发改价格〔2026〕8号")
    _metered(db_session, w, 4)  # 4 calls × 2.00 = 8.00 > 5.00
    status = pricing.period_status(db_session, agreement_id=w.agreement.id, year=year)
    assert (status.revenue, status.allowed, status.excess) == (800, 500, 300)
    with clock.frozen(dt.date(year + 1, 1, 5)):
        with pytest.raises(Conflict) as exc:
            pricing.close_period(db_session, actor=w.c.authority, agreement_id=w.agreement.id, year=year + 1)
        assert exc.value.code == "period_not_ended"
        closing = pricing.close_period(db_session, actor=w.c.authority, agreement_id=w.agreement.id, year=year)
        assert (closing.revenue, closing.excess) == (800, 300)
        with pytest.raises(Conflict) as exc:
            pricing.close_period(db_session, actor=w.c.authority, agreement_id=w.agreement.id, year=year)
        assert exc.value.code == "period_closed"
        pricing.record_revenue_limit(db_session, actor=w.c.authority, agreement_id=w.agreement.id, year=year + 1,
                                     max_revenue="10.00", price_authority="甘肃省发展和改革委员会",
                                     price_authority_ref="甘发改价格〔2027〕1号")
        nxt = pricing.period_status(db_session, agreement_id=w.agreement.id, year=year + 1)
        assert (nxt.max_revenue, nxt.deduction_in, nxt.allowed) == (1000, 300, 700)
    db_session.commit()  # every change above carried its audit event (audit.guard checks at commit)


def test_closing_needs_a_recorded_limit(db_session, w):
    year = clock.today().year
    with clock.frozen(dt.date(year + 1, 1, 5)), pytest.raises(Conflict) as exc:
        pricing.close_period(db_session, actor=w.c.authority, agreement_id=w.agreement.id, year=year)
    assert exc.value.code == "no_revenue_limit"


def test_a_new_limit_supersedes_the_old_one(db_session, w):
    year = clock.today().year
    first = pricing.record_revenue_limit(db_session, actor=w.c.authority, agreement_id=w.agreement.id, year=year,
                                         max_revenue="100", price_authority="省发改委", price_authority_ref="1号")
    pricing.record_revenue_limit(db_session, actor=w.c.authority, agreement_id=w.agreement.id, year=year,
                                 max_revenue="200", price_authority="省发改委", price_authority_ref="2号")
    assert first.state == "superseded"
    assert pricing.limit_in_force(db_session, w.agreement.id, year).max_revenue == 20000


def test_only_the_data_authority_records_the_permitted_revenue(db_session, w):
    with pytest.raises(PermissionDenied):
        pricing.record_revenue_limit(db_session, actor=w.c.agency, agreement_id=w.agreement.id, year=2026,
                                     max_revenue="1", price_authority="省发改委", price_authority_ref="1号")


def test_withdrawn_offer_stops_subscriptions_and_calls(db_session, w):
    p = offered(db_session, w)
    _, key = subscribed(db_session, w, p)
    offer = db_session.scalar(select(Offer).where(Offer.product_id == p.id))
    offers.withdraw(db_session, actor=w.c.operator, offer_id=offer.id)
    assert p.state == "registered"
    with pytest.raises(Conflict) as exc:
        subscriptions.subscribe(db_session, actor=w.subscriber, product_id=p.id, purpose="x")
    assert exc.value.code == "product_not_offered"
    with pytest.raises(Conflict) as exc:
        gateway.call(db_session, raw_key=key, product_number=p.number, idempotency_key=None, filters={})
    assert exc.value.code == "product_not_offered"
