"""OPS-3 / OPS-26: products are created from approved exports and linked to resources and agreement;
OPS-31: no re-development of one's own delivered products, allowed with recorded lineage for others."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from pubdata.audit.models import AuditEvent
from pubdata.errors import Conflict, PermissionDenied, ValidationFailed
from pubdata.opdomain.models import ExportRequest
from pubdata.products import gateway, offers, pricing, products, registration
from pubdata.products.models import Product
from pubdata.products.workflow import COST, OFFER, PRODUCT, RECORD, SUBSCRIPTION
from tests.products.support import (
    approved_export,
    offered,
    product,
    real_world,
    register_as,
    subscribed,
)


def test_product_from_a_real_approved_export_is_linked_to_its_manifest_resources_and_agreement(db_session,
                                                                                               tmp_path: Path):
    c, agreement, grant = real_world(db_session, tmp_path)
    export_id = approved_export(db_session, c, grant)
    req = db_session.get(ExportRequest, export_id)
    p = products.create_product(db_session, actor=c.operator, name="县区人口指数接口", form="api",
                                category="industry", purpose="县区人口规模查询", export_ids=[export_id])
    assert p.agreement_id == agreement.id and p.owner_org_id == c.operator.org_id
    assert p.manifests == [{"export_id": export_id, "manifest_digest": req.manifest_digest, "kind": "result"}]
    assert p.resource_ids == [agreement.content["resource_ids"][0]]
    assert p.state == "draft" and p.number.startswith("GSCP-")
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.tag == "products:product:created"))
    assert event.data["manifests"][0]["manifest_digest"] == req.manifest_digest


def test_api_product_serves_the_released_cells_of_its_export_not_raw_data(db_session, tmp_path: Path):
    from pubdata.opdomain.models import QueryRun
    from pubdata.products import subscriptions

    c, _, grant = real_world(db_session, tmp_path)
    export_id = approved_export(db_session, c, grant)
    run = db_session.get(QueryRun, db_session.get(ExportRequest, export_id).query_run_id)
    p = products.create_product(db_session, actor=c.operator, name="县区人口指数接口", form="api",
                                category="governance", purpose="县区人口规模查询", export_ids=[export_id])
    register_as(db_session, c, tmp_path, p)
    offers.offer_product(db_session, actor=c.operator, product_id=p.id, mode="public_welfare",
                         charging_basis="free", conditions="政府部门公共服务")
    _, key = subscriptions.subscribe(db_session, actor=c.subject, product_id=p.id, purpose="公共服务规划")
    payload, counted = gateway.call(db_session, raw_key=key, product_number=p.number, idempotency_key="1",
                                    filters={}, page=1, size=500)
    assert counted
    assert payload["columns"] == run.columns
    assert payload["rows"] == [[value for value, _ in row] for row in run.cells]
    assert any(v is None for row in payload["rows"] for v in row)  # suppressed cells stay hidden


def test_an_export_not_yet_approved_cannot_become_a_product(db_session, tmp_path: Path):
    c, _, grant = real_world(db_session, tmp_path)
    export_id = approved_export(db_session, c, grant, approve=False)
    with pytest.raises(Conflict) as exc:
        products.create_product(db_session, actor=c.operator, name="县区人口指数", form="report", category="industry",
                                purpose="用途", export_ids=[export_id])
    assert exc.value.code == "export_not_released"


def test_another_operators_export_is_refused(db_session, w):
    foreign = w.releases.add(w.agreement, operator_org_id=w.other_operator.org_id)
    with pytest.raises(PermissionDenied) as exc:
        product(db_session, w, export_ids=[foreign])
    assert exc.value.code == "export_not_yours"


def test_bad_product_input_is_refused_at_each_field(db_session, w):
    with pytest.raises(ValidationFailed) as exc:
        products.create_product(db_session, actor=w.c.operator, name="", form="video", category="x", purpose="")
    assert {e.field: e.code for e in exc.value.errors} == {
        "name": "required", "form": "unknown_form", "category": "unknown_category", "purpose": "required",
        "export_ids": "no_source"}
    assert all(e.message for e in exc.value.errors)


def test_operator_cannot_redevelop_its_own_delivered_product(db_session, w):
    delivered = offered(db_session, w)
    with pytest.raises(Conflict) as exc:
        product(db_session, w, name="县区人口结构接口（增强版）", parent_ids=[delivered.id])
    assert exc.value.code == "redevelopment_forbidden" and "第三十一条" in exc.value.detail


def test_operator_cannot_redevelop_by_reusing_the_exports_of_a_delivered_product(db_session, w):
    delivered = offered(db_session, w)
    with pytest.raises(Conflict) as exc:
        product(db_session, w, name="另一个产品", export_ids=delivered.export_ids)
    assert exc.value.code == "redevelopment_forbidden"


def test_other_organisation_redevelops_a_delivered_product_with_recorded_lineage(db_session, w):
    delivered = offered(db_session, w)
    subscribed(db_session, w, delivered, actor=w.other_operator)
    derived = products.create_product(db_session, actor=w.other_operator, name="养老机构选址评分模型", form="model",
                                      category="industry", purpose="融合多源数据的选址评分", parent_ids=[delivered.id])
    assert derived.parent_ids == [delivered.id] and derived.owner_org_id == w.other_operator.org_id
    assert derived.resource_ids == delivered.resource_ids and derived.agreement_id == delivered.agreement_id
    created = db_session.scalar(select(AuditEvent).where(AuditEvent.tag == "products:product:created",
                                                         AuditEvent.object_id == str(derived.id)))
    assert created.data["parent_ids"] == [delivered.id]


def test_operator_cannot_redevelop_indirectly_through_anothers_derived_product(db_session, w):
    delivered = offered(db_session, w)
    subscribed(db_session, w, delivered, actor=w.other_operator)
    derived = products.create_product(db_session, actor=w.other_operator, name="养老机构选址评分模型", form="model",
                                      category="industry", purpose="融合多源数据的选址评分", parent_ids=[delivered.id])
    derived.delivered_on = delivered.delivered_on  # the other organisation has delivered it in turn
    with pytest.raises(Conflict) as exc:
        products.create_product(db_session, actor=w.c.operator, name="再开发", form="model", category="industry",
                                purpose="用途", parent_ids=[derived.id])
    assert exc.value.code == "redevelopment_forbidden" and delivered.name in exc.value.detail


def test_other_organisation_must_have_obtained_the_product(db_session, w):
    delivered = offered(db_session, w)
    with pytest.raises(PermissionDenied) as exc:
        products.create_product(db_session, actor=w.other_operator, name="模型", form="model", category="industry",
                                purpose="用途", parent_ids=[delivered.id])
    assert exc.value.code == "parent_not_obtained"


def test_undelivered_product_is_no_basis_for_redevelopment(db_session, w):
    draft = product(db_session, w)
    with pytest.raises(ValidationFailed) as exc:
        product(db_session, w, name="再开发", parent_ids=[draft.id])
    assert exc.value.errors[0].code == "parent_not_delivered"


# -- every illegal transition of the product lifecycle is refused with 409 illegal_transition -----------------

MACHINES = {m.name: m for m in (PRODUCT, OFFER, SUBSCRIPTION, RECORD, COST)}


def _cases() -> list[tuple[str, str, str]]:
    out = []
    for name, m in MACHINES.items():
        states = sorted({s for (s, _) in m.transitions} | set(m.transitions.values()))
        actions = sorted({a for (_, a) in m.transitions})
        out += [(name, s, a) for s in states for a in actions]
    return out


@pytest.mark.parametrize(("machine", "state", "action"), _cases())
def test_every_move_outside_each_table_is_an_illegal_transition(machine, state, action):
    m = MACHINES[machine]
    if (state, action) in m.transitions:
        assert m.next_state(state, action) == m.transitions[(state, action)]
    else:
        with pytest.raises(Conflict) as exc:
            m.next_state(state, action)
        assert exc.value.code == "illegal_transition" and exc.value.status == 409
        assert m.labels.get(state, "") in exc.value.detail


def test_services_refuse_illegal_moves(db_session, w):
    p = product(db_session, w)
    p2 = offered(db_session, w, name="第二个产品")
    with pytest.raises(Conflict) as exc:  # offered → retire (withdraw the offer first)
        products.retire(db_session, actor=w.c.operator, product_id=p2.id)
    assert exc.value.code == "illegal_transition"
    with pytest.raises(Conflict) as exc:  # offered → register again
        registration.start_registration(db_session, actor=w.c.operator, product_id=p2.id)
    assert exc.value.code == "illegal_transition"
    offer = offers.active_offer(db_session, p2.id)
    offers.withdraw(db_session, actor=w.c.operator, offer_id=offer.id)
    with pytest.raises(Conflict) as exc:  # withdrawn offer → withdraw / reprice
        offers.withdraw(db_session, actor=w.c.operator, offer_id=offer.id)
    assert exc.value.code == "illegal_transition"
    with pytest.raises(Conflict) as exc:
        offers.reprice(db_session, actor=w.c.operator, offer_id=offer.id, unit_price="1")
    assert exc.value.code == "illegal_transition"
    products.retire(db_session, actor=w.c.operator, product_id=p.id)
    with pytest.raises(Conflict) as exc:  # retired → register
        registration.start_registration(db_session, actor=w.c.operator, product_id=p.id)
    assert exc.value.code == "illegal_transition"
    with pytest.raises(Conflict) as exc:  # a price cap superseded twice
        cap = pricing.cap_in_force(db_session, p2.id, "per_call")
        from pubdata.products.workflow import RECORD

        RECORD.move(cap, "supersede")
        RECORD.move(cap, "supersede")
    assert exc.value.code == "illegal_transition"


def test_stale_version_is_refused(db_session, w):
    p = product(db_session, w)
    db_session.flush()
    with pytest.raises(Conflict) as exc:
        registration.start_registration(db_session, actor=w.c.operator, product_id=p.id, version=p.version + 1)
    assert exc.value.code == "stale_version"


def test_every_state_change_writes_an_audit_event(db_session, w):
    p = offered(db_session, w)
    tags = [e.tag for e in db_session.scalars(select(AuditEvent).where(AuditEvent.object_type == "product",
                                                                      AuditEvent.object_id == str(p.id)))]
    assert tags == ["products:product:created", "products:product:registration_started",
                    "products:product:certified", "products:product:offered"]
    assert db_session.get(Product, p.id).state == "offered"


def test_report_product_is_delivered_as_the_released_file_of_its_export(db_session, tmp_path: Path):
    from pubdata.crypto import sm3
    from pubdata.products import subscriptions

    c, _, grant = real_world(db_session, tmp_path)
    export_id = approved_export(db_session, c, grant)
    req = db_session.get(ExportRequest, export_id)
    p = products.create_product(db_session, actor=c.operator, name="县区人口年度报告", form="report",
                                category="governance", purpose="县区人口年度分析", export_ids=[export_id])
    register_as(db_session, c, tmp_path, p)
    offers.offer_product(db_session, actor=c.operator, product_id=p.id, mode="public_welfare",
                         charging_basis="free", conditions="政府部门公共服务")
    sub, _ = subscriptions.subscribe(db_session, actor=c.subject, product_id=p.id, purpose="规划")
    released = subscriptions.delivery(db_session, actor=c.subject, subscription_id=sub.id, export_id=export_id)
    assert sm3.hexdigest(released.content) == req.content_digest
    assert released.manifest_digest == req.manifest_digest
    subscriptions.cancel(db_session, actor=c.subject, subscription_id=sub.id)
    with pytest.raises(PermissionDenied) as exc:
        subscriptions.delivery(db_session, actor=c.subject, subscription_id=sub.id, export_id=export_id)
    assert exc.value.code == "subscription_cancelled"
