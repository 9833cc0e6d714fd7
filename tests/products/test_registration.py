"""OPS-27 / REG-7 / REG-37: a product is registered as 数据产品和服务, prefilled from the product."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from pubdata.errors import Conflict
from pubdata.products import offers, registration
from pubdata.registry import applications as reg_apps
from pubdata.registry.certificates import current_certificate, term_end
from pubdata.registry.models import Registration
from tests.products.support import complete, product, register, world


def test_registration_draft_is_prefilled_from_the_product(db_session, w):
    p = product(db_session, w)
    app = registration.start_registration(db_session, actor=w.c.operator, product_id=p.id)
    prod = app.content["product"]
    resource = db_session.get(Registration, w.agreement.content["resource_ids"][0])
    assert app.content["basic"]["registration_type"] == "data_product"
    assert app.content["basic"]["name"] == p.name
    assert prod["product_type"] == "api"
    assert prod["source_registration_name"] == resource.data_name
    assert prod["source_registration_code"] == resource.code
    assert prod["authorization_start"] == w.agreement.start_date.isoformat()
    assert prod["authorization_end"] == w.agreement.end_date.isoformat()
    assert prod["purpose"] == p.purpose
    assert p.state == "registering" and p.registration_id == app.registration_id


def test_registered_product_follows_its_certificate(db_session, w):
    p = register(db_session, w, product(db_session, w))
    assert p.state == "registered"
    reg = db_session.get(Registration, p.registration_id)
    assert reg.status == "registered" and reg.registration_type == "data_product"


def test_certificate_validity_is_the_operation_period_when_shorter_than_three_years(db_session, tmp_path,
                                                                                     monkeypatch: Any):
    w2 = world(db_session, tmp_path, monkeypatch, years=2)
    p = register(db_session, w2, product(db_session, w2))
    cert = current_certificate(db_session, p.registration_id)
    assert cert.valid_until == w2.agreement.end_date
    assert cert.valid_until < term_end(cert.valid_from, 3)


def test_certificate_validity_is_three_years_when_the_operation_period_is_longer(db_session, tmp_path,
                                                                                  monkeypatch: Any):
    w5 = world(db_session, tmp_path, monkeypatch, years=5)
    p = register(db_session, w5, product(db_session, w5))
    cert = current_certificate(db_session, p.registration_id)
    assert cert.valid_until == term_end(cert.valid_from, 3)


def test_unregistered_product_cannot_be_offered(db_session, w):
    p = product(db_session, w, category="governance")
    with pytest.raises(Conflict) as exc:
        offers.offer_product(db_session, actor=w.c.operator, product_id=p.id, mode="public_welfare",
                             charging_basis="free", conditions="仅用于公益")
    assert exc.value.code == "product_not_registered"


def test_product_in_registration_cannot_be_offered(db_session, w):
    p = product(db_session, w, category="governance")
    app = registration.start_registration(db_session, actor=w.c.operator, product_id=p.id)
    complete(db_session, w.c.operator, w.tmp, app.id)
    reg_apps.submit(db_session, actor=w.c.operator, application_id=app.id)
    with pytest.raises(Conflict) as exc:
        offers.offer_product(db_session, actor=w.c.operator, product_id=p.id, mode="public_welfare",
                             charging_basis="free", conditions="仅用于公益")
    assert exc.value.code == "product_not_registered"


def test_withdrawn_registration_returns_the_product_to_draft(db_session, w):
    p = product(db_session, w)
    app = registration.start_registration(db_session, actor=w.c.operator, product_id=p.id)
    reg_apps.withdraw(db_session, actor=w.c.operator, application_id=app.id)
    registration.sync(db_session, p)
    assert p.state == "draft" and p.registration_id is None
    again = registration.start_registration(db_session, actor=w.c.operator, product_id=p.id)
    assert again.id != app.id


def test_registration_twice_is_an_illegal_transition(db_session, w):
    p = product(db_session, w)
    registration.start_registration(db_session, actor=w.c.operator, product_id=p.id)
    with pytest.raises(Conflict) as exc:
        registration.start_registration(db_session, actor=w.c.operator, product_id=p.id)
    assert exc.value.code == "illegal_transition"
    regs = db_session.scalars(select(Registration).where(Registration.registration_type == "data_product"))
    assert len(list(regs)) == 1
