"""The product pages and API over HTTP: problems with machine codes at the field, the gateway's headers and
refusals, pages for each role rendering without errors, the public disclosure without login."""

from __future__ import annotations

from fastapi.testclient import TestClient

from pubdata.products import subscriptions
from tests.factories import PASSWORD
from tests.products.support import offered, product, register, subscribed
from tests.web.conftest import csrf_from, web_login


def _login(client: TestClient, actor) -> str:  # type: ignore[no-untyped-def]
    return web_login(client, actor.label, PASSWORD)


def test_public_disclosure_page_needs_no_login_and_shows_prices_and_usage(db_session, client, w):
    p = offered(db_session, w, price="1.50")
    _, key = subscribed(db_session, w, p)
    db_session.commit()
    r = client.get(f"/api/v1/gateway/{p.number}/rows", headers={"X-API-Key": key, "Idempotency-Key": "a"})
    assert r.status_code == 200, r.text
    page = client.get("/public/products")
    assert page.status_code == 200
    assert p.name in page.text and "1.50" in page.text and "按次（每次调用）" in page.text
    assert f'data-product="{p.number}"' in page.text
    data = client.get("/api/v1/public/products").json()
    [row] = [x for o in data for x in o["products"] if x["number"] == p.number]
    assert row["calls"] == 1 and row["price_yuan"] == "1.50"


def test_gateway_over_http_meters_once_per_idempotency_key_and_refuses_with_codes(db_session, client, w):
    p = offered(db_session, w)
    sub, key = subscribed(db_session, w, p)
    db_session.commit()
    url = f"/api/v1/gateway/{p.number}/rows"
    first = client.get(url, params={"gender": "女", "size": 3}, headers={"X-API-Key": key, "Idempotency-Key": "k1"})
    again = client.get(url, params={"gender": "女", "size": 3}, headers={"X-API-Key": key, "Idempotency-Key": "k1"})
    assert (first.status_code, first.headers["X-Metered"], again.headers["X-Metered"]) == (200, "counted", "replayed")
    assert len(first.json()["rows"]) == 3
    missing = client.get(url)
    assert missing.status_code == 401 and missing.json()["code"] == "api_key_missing"
    assert missing.headers["content-type"].startswith("application/problem+json")
    bad = client.get(url, params={"nope": "1"}, headers={"X-API-Key": key})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "nope"
    subscriptions.cancel(db_session, actor=w.subscriber, subscription_id=sub.id)
    db_session.commit()
    cancelled = client.get(url, headers={"X-API-Key": key})
    assert cancelled.status_code == 403 and cancelled.json()["code"] == "subscription_cancelled"
    assert "取消" in cancelled.json()["detail"]


def test_api_refuses_a_price_above_the_cap_at_the_field(db_session, client, w):
    p = register(db_session, w, product(db_session, w))
    from tests.products.support import capped

    capped(db_session, w, p, "per_call", "2.00")
    db_session.commit()
    token = _login(client, w.c.operator)
    r = client.post(f"/api/v1/products/{p.id}/offers", headers={"X-CSRF-Token": token},
                    json={"mode": "trade", "charging_basis": "per_call", "unit_price": "9.99"})
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "unit_price", "code": "price_above_cap",
                                   "message": r.json()["errors"][0]["message"]}]
    assert "2.00" in r.json()["errors"][0]["message"]


def test_offer_form_shows_the_cap_and_the_error_at_the_field(db_session, client, w):
    p = register(db_session, w, product(db_session, w))
    from tests.products.support import capped

    capped(db_session, w, p, "per_call", "2.00")
    db_session.commit()
    _login(client, w.c.operator)
    page = client.get(f"/products/{p.id}")
    assert page.status_code == 200 and "2.00 元" in page.text and 'id="offer-form"' in page.text
    r = client.post(f"/products/{p.id}", data={"csrf_token": csrf_from(page.text), "action": "offer",
                                              "version": str(p.version), "mode": "trade",
                                              "charging_basis": "per_call", "unit_price": "3"})
    assert r.status_code == 422 and "高于实施机构确定的上限" in r.text and 'aria-invalid="true"' in r.text
    r = client.post(f"/products/{p.id}", data={"csrf_token": csrf_from(page.text), "action": "offer",
                                              "version": str(p.version), "mode": "trade",
                                              "charging_basis": "per_call", "unit_price": "2"})
    assert r.status_code == 303


def test_subscribing_in_the_page_shows_the_key_once(db_session, client, w):
    p = offered(db_session, w)
    db_session.commit()
    _login(client, w.subscriber)
    page = client.get(f"/products/{p.id}")
    assert 'id="subscribe-form"' in page.text
    r = client.post(f"/products/{p.id}", data={"csrf_token": csrf_from(page.text), "action": "subscribe",
                                              "purpose": "选址"})
    assert r.status_code == 200 and "只显示这一次" in r.text and r.headers["cache-control"] == "private, no-store"
    mine = client.get("/products/subscriptions/mine")
    assert mine.status_code == 200 and p.name in mine.text and "pdk_" in mine.text  # the prefix only
    key_start = r.text.index('value="pdk_') + 7
    key = r.text[key_start:r.text.index('"', key_start)]
    assert key not in mine.text


def test_every_role_sees_its_product_pages(db_session, client, w):
    p = offered(db_session, w)
    subscribed(db_session, w, p)
    db_session.commit()
    for actor, paths in ((w.c.operator, ["/products", "/products/new", f"/products/{p.id}"]),
                         (w.c.agency, ["/products", f"/products/{p.id}"]),
                         (w.c.authority, ["/products", "/products/pricing/limits"]),
                         (w.subscriber, ["/products", "/products/subscriptions/mine", f"/products/{p.id}"])):
        client.cookies.clear()
        _login(client, actor)
        for path in paths:
            r = client.get(path)
            assert r.status_code == 200, (actor.label, path, r.status_code)


def test_revenue_limit_form_reports_bad_input_at_the_field(db_session, client, w):
    db_session.commit()
    _login(client, w.c.authority)
    page = client.get("/products/pricing/limits")
    r = client.post("/products/pricing/limits", data={"csrf_token": csrf_from(page.text), "action": "limit",
                                                      "agreement_id": str(w.agreement.id), "year": "2026",
                                                      "max_revenue": "abc", "price_authority": "",
                                                      "price_authority_ref": "甘发改价格〔2026〕8号"})
    assert r.status_code == 422 and "金额" in r.text and "请填写价格主管部门" in r.text


def test_annual_disclosure_report_page_lists_the_products(db_session, client, w):
    from pubdata import clock

    p = offered(db_session, w, price="1.50")
    db_session.commit()
    page = client.get("/public/authorizations/report", params={"year": clock.today().year})
    assert page.status_code == 200 and "运营机构的产品和服务及公共数据使用情况" in page.text
    assert p.name in page.text and "1.50" in page.text
    data = client.get("/api/v1/public/authorizations/annual-report", params={"year": clock.today().year}).json()
    assert any(x["name"] == p.name for o in data["products"] for x in o["products"])


def test_authority_closes_a_finished_year_in_the_page(db_session, client, w):
    from pubdata import clock
    from pubdata.products import pricing
    from pubdata.products.models import PeriodClosing

    last = clock.today().year - 1
    pricing.record_revenue_limit(db_session, actor=w.c.authority, agreement_id=w.agreement.id, year=last,
                                 max_revenue="100", price_authority="省发改委", price_authority_ref="1号")
    db_session.commit()
    _login(client, w.c.authority)
    page = client.get("/products/pricing/limits", params={"year": last})
    assert "年度结转" in page.text
    r = client.post("/products/pricing/limits", data={"csrf_token": csrf_from(page.text), "action": "close",
                                                      "agreement_id": str(w.agreement.id), "year": str(last)})
    assert r.status_code == 303
    closing = db_session.query(PeriodClosing).filter_by(agreement_id=w.agreement.id, year=last).one()
    assert (closing.revenue, closing.excess) == (0, 0)
    again = client.post("/products/pricing/limits", data={"csrf_token": csrf_from(page.text), "action": "close",
                                                          "agreement_id": str(w.agreement.id), "year": str(last)})
    assert again.status_code == 409 and "已结转" in again.text


def test_illegal_transition_over_the_api_is_409_with_its_code(db_session, client, w):
    p = product(db_session, w)
    db_session.commit()
    token = _login(client, w.c.operator)
    first = client.post(f"/api/v1/products/{p.id}/registration", headers={"X-CSRF-Token": token}, json={})
    assert first.status_code == 201 and first.json()["edit_url"].startswith("/applications/")
    again = client.post(f"/api/v1/products/{p.id}/registration", headers={"X-CSRF-Token": token}, json={})
    assert again.status_code == 409 and again.json()["code"] == "illegal_transition"
    assert again.headers["content-type"].startswith("application/problem+json")


def test_a_call_whose_count_cannot_be_committed_gets_503_and_no_data(db_session, client, w, monkeypatch):
    """Nothing is answered uncounted, and a 503 is never counted: a batch that failed as a whole (after its
    retries) or a call still queued when the wait runs out gets a retryable problem naming its key; a call whose
    batch has started is waited for and answered."""
    import threading
    from concurrent.futures import Future

    from pubdata.db.batching import BatchFailed
    from pubdata.products import gateway

    p = offered(db_session, w)
    _, key = subscribed(db_session, w, p)
    db_session.commit()
    failed: Future = Future()
    failed.set_exception(BatchFailed("gateway: the batch could not be committed"))
    queued: Future = Future()
    monkeypatch.setattr(gateway, "COUNT_TIMEOUT", 0.05)
    url = f"/api/v1/gateway/{p.number}/rows"
    for outcome in (failed, queued):
        monkeypatch.setattr(gateway, "submit", lambda *_a, _o=outcome, **_k: _o)
        r = client.get(url, headers={"X-API-Key": key, "Idempotency-Key": "k"})
        assert r.status_code == 503 and r.json()["code"] == "metering_unavailable", r.text
        assert "rows" not in r.json() and "Idempotency-Key: k" in r.json()["detail"]
    assert queued.cancelled()  # withdrawn before its batch: it can never be counted now

    started: Future = Future()
    assert started.set_running_or_notify_cancel()
    threading.Timer(0.3, started.set_result, args=(({"rows": [[1]], "product": p.number}, True),)).start()
    monkeypatch.setattr(gateway, "submit", lambda *_a, **_k: started)
    r = client.get(url, headers={"X-API-Key": key})
    assert r.status_code == 200 and r.headers["X-Metered"] == "counted" and r.json()["rows"] == [[1]]
    assert len(r.headers["Idempotency-Key"]) == 32  # the generated key, for a safe retry
