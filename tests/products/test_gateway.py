"""OPS-28: data-API products served through the platform with an API key per subscription and metered calls.
Refused: cancelled subscriptions, products whose registration was revoked or cancelled; a retried call with
the same Idempotency-Key is counted once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pubdata.errors import Conflict, NotAuthenticated, PermissionDenied, ValidationFailed
from pubdata.objections.revocations import revoke_registration
from pubdata.operation import measures
from pubdata.products import gateway, metering, registration, subscriptions
from pubdata.products.models import MeteredCall, Subscription
from pubdata.registry import applications as reg_apps
from pubdata.registry.certificates import current_certificate
from tests.products.support import ROWS, offered, subscribed
from tests.registry.support import documents


def calls(db_session, sub_id: int) -> int:
    return db_session.scalar(select(func.count(MeteredCall.id)).where(MeteredCall.subscription_id == sub_id))


def test_api_key_is_shown_once_and_stored_only_as_a_hash(db_session, w):
    p = offered(db_session, w)
    sub, key = subscribed(db_session, w, p)
    assert key.startswith("pdk_") and len(key) > 40
    assert sub.key_hash == subscriptions.hash_key(key) and key not in sub.key_hash
    stored = db_session.execute(select(Subscription.__table__)).mappings().all()
    assert all(key not in str(dict(row)) for row in stored)
    assert all(key[:12] == row["key_prefix"] for row in stored if row["id"] == sub.id)


def test_a_call_serves_the_released_content_and_is_metered_with_its_price(db_session, w):
    p = offered(db_session, w, basis="per_call", price="1.50")
    sub, key = subscribed(db_session, w, p)
    payload, counted = gateway.call(db_session, raw_key=key, product_number=p.number, idempotency_key="a",
                                    filters={"gender": "女"}, page=1, size=5)
    assert counted
    assert payload["total"] == sum(1 for r in ROWS if r[1] == "女") and len(payload["rows"]) == 5
    assert payload["columns"] == ["county_code", "gender", "persons"]
    assert metering.usage(db_session, subscription_id=sub.id) == metering.Usage(1, 5, 150)


def test_volume_pricing_charges_per_thousand_records(db_session, w):
    p = offered(db_session, w, basis="per_volume", price="1.00")
    sub, key = subscribed(db_session, w, p)
    gateway.call(db_session, raw_key=key, product_number=p.number, idempotency_key="a", filters={}, size=40)
    assert metering.usage(db_session, subscription_id=sub.id) == metering.Usage(1, 40, 4)  # 40/1000 × 100 fen


def test_retried_call_with_same_idempotency_key_is_counted_once(db_session, w):
    p = offered(db_session, w)
    sub, key = subscribed(db_session, w, p)
    first = gateway.call(db_session, raw_key=key, product_number=p.number, idempotency_key="retry-1", filters={})
    again = gateway.call(db_session, raw_key=key, product_number=p.number, idempotency_key="retry-1", filters={})
    other = gateway.call(db_session, raw_key=key, product_number=p.number, idempotency_key="retry-2", filters={})
    assert (first[1], again[1], other[1]) == (True, False, True)
    assert first[0]["rows"] == again[0]["rows"]
    assert calls(db_session, sub.id) == 2


def test_calls_without_a_key_are_each_counted(db_session, w):
    p = offered(db_session, w)
    sub, key = subscribed(db_session, w, p)
    for _ in range(3):
        gateway.call(db_session, raw_key=key, product_number=p.number, idempotency_key=None, filters={})
    assert calls(db_session, sub.id) == 3


def test_cancelled_subscription_is_refused(db_session, w):
    p = offered(db_session, w)
    sub, key = subscribed(db_session, w, p)
    subscriptions.cancel(db_session, actor=w.subscriber, subscription_id=sub.id)
    with pytest.raises(PermissionDenied) as exc:
        gateway.call(db_session, raw_key=key, product_number=p.number, idempotency_key="x", filters={})
    assert exc.value.code == "subscription_cancelled"
    assert calls(db_session, sub.id) == 0


def test_a_suspended_operators_product_is_not_served_until_the_suspension_is_lifted(db_session, w):
    p = offered(db_session, w)
    sub, key = subscribed(db_session, w, p)
    measure = measures.suspend(db_session, actor=w.c.agency, agreement_id=w.agreement.id, facts="未按期整改数据安全问题")
    with pytest.raises(Conflict) as exc:
        gateway.call(db_session, raw_key=key, product_number=p.number, idempotency_key="s1", filters={})
    assert exc.value.code == "operator_suspended"
    assert calls(db_session, sub.id) == 0
    measures.lift(db_session, actor=w.c.agency, measure_id=measure.id, note="整改完成，恢复权限")
    gateway.call(db_session, raw_key=key, product_number=p.number, idempotency_key="s2", filters={})
    assert calls(db_session, sub.id) == 1


def test_a_product_of_a_terminated_authorization_is_not_served(db_session, w):
    p = offered(db_session, w)
    sub, key = subscribed(db_session, w, p)
    measures.terminate(db_session, actor=w.c.agency, agreement_id=w.agreement.id, ground="security_incident",
                       reason="发生重大数据安全事件")
    with pytest.raises(Conflict) as exc:
        gateway.call(db_session, raw_key=key, product_number=p.number, idempotency_key="t1", filters={})
    assert exc.value.code == "authorization_ended"
    assert calls(db_session, sub.id) == 0


def test_call_on_a_product_whose_registration_was_revoked_is_refused(db_session, w):
    p = offered(db_session, w)
    sub, key = subscribed(db_session, w, p)
    revoke_registration(db_session, actor=w.c.clerk, registration_id=p.registration_id, ground="forged_materials",
                        reasons="登记材料系伪造")
    with pytest.raises(Conflict) as exc:
        gateway.call(db_session, raw_key=key, product_number=p.number, idempotency_key="x", filters={})
    assert exc.value.code == "registration_ended" and "撤销" in exc.value.detail
    assert calls(db_session, sub.id) == 0
    registration.sync(db_session, p)
    assert p.state == "deregistered"
    with pytest.raises(Conflict) as exc:
        subscriptions.subscribe(db_session, actor=w.other_operator, product_id=p.id, purpose="x")
    assert exc.value.code == "registration_ended"
    db_session.commit()  # every change above carried its audit event (audit.guard checks at commit)


def test_call_on_a_product_whose_registration_was_cancelled_is_refused(db_session, w):
    p = offered(db_session, w)
    _, key = subscribed(db_session, w, p)
    cert = current_certificate(db_session, p.registration_id)
    app = reg_apps.create_application(
        db_session, actor=w.c.operator, kind="cancellation", registration_id=p.registration_id,
        details={"ground": "rights_ended", "certificate_number": cert.number},
        documents=documents(db_session, w.c.operator, w.tmp, "ground_evidence"))
    reg_apps.submit(db_session, actor=w.c.operator, application_id=app.id)
    reg_apps.accept(db_session, actor=w.c.clerk, application_id=app.id)
    reg_apps.complete_cancellation(db_session, actor=w.c.clerk, application_id=app.id)
    with pytest.raises(Conflict) as exc:
        gateway.call(db_session, raw_key=key, product_number=p.number, idempotency_key="x", filters={})
    assert exc.value.code == "registration_ended" and "注销" in exc.value.detail


def test_unknown_or_missing_key_and_foreign_product_are_refused(db_session, w):
    p = offered(db_session, w)
    q = offered(db_session, w, name="县区企业分布接口")
    _, key = subscribed(db_session, w, p)
    with pytest.raises(NotAuthenticated) as exc:
        gateway.call(db_session, raw_key=None, product_number=p.number, idempotency_key=None, filters={})
    assert exc.value.code == "api_key_missing"
    with pytest.raises(NotAuthenticated) as exc:
        gateway.call(db_session, raw_key="pdk_forged", product_number=p.number, idempotency_key=None, filters={})
    assert exc.value.code == "invalid_api_key"
    with pytest.raises(PermissionDenied) as exc:
        gateway.call(db_session, raw_key=key, product_number=q.number, idempotency_key=None, filters={})
    assert exc.value.code == "key_product_mismatch"


def test_bad_filters_pages_and_keys_are_refused_at_the_field(db_session, w):
    p = offered(db_session, w)
    _, key = subscribed(db_session, w, p)
    for kwargs, field in (({"filters": {"name": "x"}}, "name"), ({"filters": {}, "size": 0}, "size"),
                          ({"filters": {}, "idempotency_key": "x" * 101}, "Idempotency-Key")):
        args = {"idempotency_key": None, **kwargs}
        with pytest.raises(ValidationFailed) as exc:
            gateway.call(db_session, raw_key=key, product_number=p.number, **args)
        assert exc.value.errors[0].field == field


def test_rotated_key_replaces_the_old_one(db_session, w):
    p = offered(db_session, w)
    sub, old = subscribed(db_session, w, p)
    _, new = subscriptions.rotate_key(db_session, actor=w.subscriber, subscription_id=sub.id)
    with pytest.raises(NotAuthenticated):
        gateway.call(db_session, raw_key=old, product_number=p.number, idempotency_key=None, filters={})
    assert gateway.call(db_session, raw_key=new, product_number=p.number, idempotency_key=None, filters={})[1]


def test_only_the_subscriber_cancels(db_session, w):
    p = offered(db_session, w)
    sub, _ = subscribed(db_session, w, p)
    with pytest.raises(PermissionDenied):
        subscriptions.cancel(db_session, actor=w.other_operator, subscription_id=sub.id)


def test_cancelling_twice_is_an_illegal_transition(db_session, w):
    p = offered(db_session, w)
    sub, _ = subscribed(db_session, w, p)
    subscriptions.cancel(db_session, actor=w.subscriber, subscription_id=sub.id)
    with pytest.raises(Conflict) as exc:
        subscriptions.cancel(db_session, actor=w.subscriber, subscription_id=sub.id)
    assert exc.value.code == "illegal_transition"
    with pytest.raises(Conflict) as exc:
        subscriptions.rotate_key(db_session, actor=w.subscriber, subscription_id=sub.id)
    assert exc.value.code == "illegal_transition"
