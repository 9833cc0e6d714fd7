"""数据产品和服务 JSON API (OPS-3, OPS-27..32, OPS-34) and the metered data-API gateway — thin: parse, call one
service, commit."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor
from pubdata.errors import PermissionDenied
from pubdata.identity.permissions import Permission
from pubdata.operation.models import Agreement
from pubdata.products import (
    accounting,
    disclosure,
    offers,
    pricing,
    products,
    registration,
    subscriptions,
)
from pubdata.products.models import Product, Subscription
from pubdata.products.workflow import PRODUCT
from pubdata.web.api.schemas import PROBLEM_RESPONSES
from pubdata.web.deps import Db, public, requires, requires_any

router = APIRouter(prefix="/api/v1", tags=["数据产品和服务"], responses=PROBLEM_RESPONSES)
Json = dict[str, Any]
Money = str | int | float


def product_json(db: Session, p: Product) -> Json:
    cols = {c.key: getattr(p, c.key) for c in Product.__table__.columns}
    return jsonable_encoder({
        **cols, "state_label": PRODUCT.labels[p.state],
        "offers": [{c.key: getattr(o, c.key) for c in o.__table__.columns} for o in offers.offers_of(db, p.id)],
        "price_caps": {b: {"cap": c.cap, "decision_ref": c.decision_ref} for b, c in pricing.caps_of(db, p.id).items()},
    })


def subscription_json(s: Subscription, key: str | None = None) -> Json:
    out = {c.key: getattr(s, c.key) for c in Subscription.__table__.columns if c.key != "key_hash"}
    if key is not None:
        out["api_key"] = key  # shown this once; only its digest is stored
    return jsonable_encoder(out)


def _readable(db: Session, actor: Actor, p: Product) -> None:
    """The owner, the agreement's agency, and oversight bodies see a product's internals."""
    agreement = db.get(Agreement, p.agreement_id)
    if actor.org_id == p.owner_org_id or (agreement and actor.org_id == agreement.agency_org_id) \
            or actor.can(Permission.OPERATION_READ.value):
        return
    raise PermissionDenied("只能查看本单位的产品。", code="not_owner")


# -- products --------------------------------------------------------------------------------------------------


class ProductIn(BaseModel):
    name: str
    form: Literal["model", "api", "report", "service"] | str
    category: Literal["governance", "industry"] | str
    purpose: str
    description: str = ""
    export_ids: list[int] = Field(default_factory=list, description="本单位经审核批准导出的申请编号")
    parent_ids: list[int] = Field(default_factory=list, description="再开发所基于的已交付产品（OPS-31）")


class VersionIn(BaseModel):
    version: int | None = None


@router.get("/products", summary="本单位的数据产品")
def list_products(db: Db, actor: Actor = requires(Permission.OPERATION_OPERATE)) -> list[Json]:
    return [product_json(db, registration.sync(db, p, actor=actor)) for p in products.products_of(db, actor.org_id)]


@router.post("/products", status_code=201, summary="基于经审核导出的成果创建产品（OPS-3）")
def create_product(body: ProductIn, db: Db, actor: Actor = requires(Permission.OPERATION_OPERATE)) -> Json:
    p = products.create_product(db, actor=actor, name=body.name, form=body.form, category=body.category,
                                purpose=body.purpose, description=body.description, export_ids=body.export_ids,
                                parent_ids=body.parent_ids)
    db.commit()
    return product_json(db, p)


@router.get("/products/{product_id}", summary="产品详情")
def get_product(product_id: int, db: Db, actor: Actor = requires(Permission.ACCOUNT_SELF)) -> Json:
    p = products.get_product(db, product_id)
    _readable(db, actor, p)
    registration.sync(db, p, actor=actor)
    db.commit()
    return product_json(db, p)


@router.post("/products/{product_id}/registration", status_code=201,
             summary="以“数据产品和服务”类型申请登记（预填登记草稿，OPS-27）")
def start_registration(product_id: int, body: VersionIn, db: Db,
                       actor: Actor = requires(Permission.OPERATION_OPERATE)) -> Json:
    app = registration.start_registration(db, actor=actor, product_id=product_id, version=body.version)
    db.commit()
    return {"application_id": app.id, "application_number": app.number, "registration_id": app.registration_id,
            "edit_url": f"/applications/{app.id}/edit"}


@router.post("/products/{product_id}/retire", summary="停止产品")
def retire(product_id: int, body: VersionIn, db: Db, actor: Actor = requires(Permission.OPERATION_OPERATE)) -> Json:
    p = products.retire(db, actor=actor, product_id=product_id, version=body.version)
    db.commit()
    return product_json(db, p)


# -- offers and pricing ----------------------------------------------------------------------------------------


class OfferIn(BaseModel):
    mode: str = Field(description="public_welfare 公益提供 / trade 交易")
    charging_basis: str = Field(description="free / per_product / per_call / per_time / per_volume")
    unit_price: Money = Field(default=0, description="单价（元）")
    conditions: str = ""
    version: int | None = None


class PriceIn(BaseModel):
    unit_price: Money
    version: int | None = None


class CapIn(BaseModel):
    charging_basis: str
    cap: Money = Field(description="价格上限（元/计费单位）")
    decision_ref: str


class LimitIn(BaseModel):
    agreement_id: int
    year: int
    max_revenue: Money = Field(description="最高准许收入（元）")
    price_authority: str
    price_authority_ref: str


class CloseIn(BaseModel):
    agreement_id: int
    year: int


class RuleIn(BaseModel):
    agreement_id: int
    basis: str = Field(description="revenue 按收入 / net 按净收益")
    agency_percent: Money
    clause: str = ""


@router.post("/products/{product_id}/offers", status_code=201, summary="提供产品（公益或交易，OPS-28/29）")
def offer(product_id: int, body: OfferIn, db: Db, actor: Actor = requires(Permission.OPERATION_OPERATE)) -> Json:
    o = offers.offer_product(db, actor=actor, product_id=product_id, mode=body.mode,
                             charging_basis=body.charging_basis, unit_price=body.unit_price,
                             conditions=body.conditions, version=body.version)
    db.commit()
    return product_json(db, products.get_product(db, o.product_id))


@router.post("/products/offers/{offer_id}/price", summary="调整价格（不得高于上限）")
def reprice(offer_id: int, body: PriceIn, db: Db, actor: Actor = requires(Permission.OPERATION_OPERATE)) -> Json:
    o = offers.reprice(db, actor=actor, offer_id=offer_id, unit_price=body.unit_price, version=body.version)
    db.commit()
    return product_json(db, products.get_product(db, o.product_id))


@router.post("/products/offers/{offer_id}/withdraw", summary="停止提供")
def withdraw_offer(offer_id: int, body: VersionIn, db: Db,
                   actor: Actor = requires(Permission.OPERATION_OPERATE)) -> Json:
    o = offers.withdraw(db, actor=actor, offer_id=offer_id, version=body.version)
    db.commit()
    return product_json(db, products.get_product(db, o.product_id))


@router.post("/products/{product_id}/price-caps", status_code=201, summary="实施机构确定价格上限")
def set_cap(product_id: int, body: CapIn, db: Db, actor: Actor = requires(Permission.PRODUCT_PRICE_CAP)) -> Json:
    pricing.set_price_cap(db, actor=actor, product_id=product_id, charging_basis=body.charging_basis, cap=body.cap,
                          decision_ref=body.decision_ref)
    db.commit()
    return product_json(db, products.get_product(db, product_id))


@router.post("/products/revenue-limits", status_code=201, summary="记录最高准许收入（价格主管部门会同数据主管部门）")
def record_limit(body: LimitIn, db: Db, actor: Actor = requires(Permission.PRODUCT_REVENUE_LIMIT)) -> Json:
    row = pricing.record_revenue_limit(db, actor=actor, agreement_id=body.agreement_id, year=body.year,
                                       max_revenue=body.max_revenue, price_authority=body.price_authority,
                                       price_authority_ref=body.price_authority_ref)
    db.commit()
    return jsonable_encoder({c.key: getattr(row, c.key) for c in row.__table__.columns})


@router.get("/products/periods/{agreement_id}/{year}", summary="周期收入与最高准许收入、结转扣减")
def period(agreement_id: int, year: int, db: Db,
           actor: Actor = requires_any(Permission.OPERATION_OPERATE, Permission.PRODUCT_PRICE_CAP,
                                       Permission.PRODUCT_REVENUE_LIMIT)) -> Json:
    agreement = db.get(Agreement, agreement_id)
    if agreement is not None and actor.can(Permission.OPERATION_OPERATE.value) \
            and actor.org_id != agreement.operator_org_id:
        raise PermissionDenied("只能查看本单位的协议。", code="not_owner")
    return jsonable_encoder(dataclasses.asdict(pricing.period_status(db, agreement_id=agreement_id, year=year)))


@router.post("/products/periods/close", status_code=201, summary="年度结转：超出最高准许收入的部分下期扣减")
def close_period(body: CloseIn, db: Db, actor: Actor = requires(Permission.PRODUCT_REVENUE_LIMIT)) -> Json:
    row = pricing.close_period(db, actor=actor, agreement_id=body.agreement_id, year=body.year)
    db.commit()
    return jsonable_encoder({c.key: getattr(row, c.key) for c in row.__table__.columns})


@router.post("/products/sharing-rules", status_code=201, summary="记录协议约定的收益分配机制（OPS-30）")
def record_rule(body: RuleIn, db: Db, actor: Actor = requires(Permission.PRODUCT_PRICE_CAP)) -> Json:
    row = accounting.record_sharing_rule(db, actor=actor, agreement_id=body.agreement_id, basis=body.basis,
                                         agency_percent=body.agency_percent, clause=body.clause)
    db.commit()
    return jsonable_encoder({c.key: getattr(row, c.key) for c in row.__table__.columns})


# -- accounting ------------------------------------------------------------------------------------------------


class CostIn(BaseModel):
    year: int
    category: str
    amount: Money
    note: str = ""


class VoidIn(BaseModel):
    reason: str
    version: int | None = None


@router.post("/products/{product_id}/costs", status_code=201, summary="记录产品成本（OPS-34）")
def record_cost(product_id: int, body: CostIn, db: Db, actor: Actor = requires(Permission.OPERATION_OPERATE)) -> Json:
    row = accounting.record_cost(db, actor=actor, product_id=product_id, year=body.year, category=body.category,
                                 amount=body.amount, note=body.note)
    db.commit()
    return jsonable_encoder({c.key: getattr(row, c.key) for c in row.__table__.columns})


@router.post("/products/costs/{cost_id}/void", summary="作废成本记录（说明理由）")
def void_cost(cost_id: int, body: VoidIn, db: Db, actor: Actor = requires(Permission.OPERATION_OPERATE)) -> Json:
    row = accounting.void_cost(db, actor=actor, cost_id=cost_id, reason=body.reason, version=body.version)
    db.commit()
    return jsonable_encoder({c.key: getattr(row, c.key) for c in row.__table__.columns})


@router.get("/products/{product_id}/account", summary="产品年度核算：收入、成本、收益分配")
def product_account(product_id: int, db: Db, year: int = Query(default_factory=lambda: clock.today().year),
                    actor: Actor = requires(Permission.ACCOUNT_SELF)) -> Json:
    _readable(db, actor, products.get_product(db, product_id))
    return jsonable_encoder(dataclasses.asdict(accounting.account(db, product_id=product_id, year=year)))


@router.get("/products/annual-report/{operator_org_id}", summary="运营机构产品年度核算报告")
def annual_accounts(operator_org_id: int, db: Db, year: int = Query(default_factory=lambda: clock.today().year),
                    actor: Actor = requires(Permission.ACCOUNT_SELF)) -> Json:
    if actor.org_id != operator_org_id and not actor.can(Permission.OPERATION_READ.value):
        raise PermissionDenied("只能查看本单位的核算报告。", code="not_owner")
    return jsonable_encoder(dataclasses.asdict(accounting.annual_report(db, operator_org_id=operator_org_id,
                                                                        year=year)))


# -- subscriptions ---------------------------------------------------------------------------------------------


class SubscribeIn(BaseModel):
    purpose: str = ""
    months: int | None = None


@router.post("/products/{product_id}/subscriptions", status_code=201,
             summary="订阅或订购（返回接口密钥，仅此一次显示）")
def subscribe(product_id: int, body: SubscribeIn, db: Db,
              actor: Actor = requires(Permission.PRODUCT_SUBSCRIBE)) -> Json:
    sub, key = subscriptions.subscribe(db, actor=actor, product_id=product_id, purpose=body.purpose,
                                       months=body.months)
    db.commit()
    return subscription_json(sub, key)


@router.get("/products/subscriptions/mine", summary="本单位的订阅")
def my_subscriptions(db: Db, actor: Actor = requires(Permission.PRODUCT_SUBSCRIBE)) -> list[Json]:
    return [subscription_json(s) for s in subscriptions.subscriptions_of(db, actor.org_id)]


@router.post("/products/subscriptions/{subscription_id}/cancel", summary="取消订阅")
def cancel(subscription_id: int, body: VersionIn, db: Db,
           actor: Actor = requires(Permission.PRODUCT_SUBSCRIBE)) -> Json:
    sub = subscriptions.cancel(db, actor=actor, subscription_id=subscription_id, version=body.version)
    db.commit()
    return subscription_json(sub)


@router.post("/products/subscriptions/{subscription_id}/key", summary="更换接口密钥（旧密钥立即失效）")
def rotate(subscription_id: int, body: VersionIn, db: Db,
           actor: Actor = requires(Permission.PRODUCT_SUBSCRIBE)) -> Json:
    sub, key = subscriptions.rotate_key(db, actor=actor, subscription_id=subscription_id, version=body.version)
    db.commit()
    return subscription_json(sub, key)


@router.get("/products/subscriptions/{subscription_id}/files/{export_id}", summary="取得报告、模型产品的发布文件")
def delivery(subscription_id: int, export_id: int, db: Db,
             actor: Actor = requires(Permission.PRODUCT_SUBSCRIBE)) -> Response:
    released = subscriptions.delivery(db, actor=actor, subscription_id=subscription_id, export_id=export_id)
    db.commit()
    return Response(released.content, media_type=released.media_type, headers={
        "Content-Disposition": f"attachment; filename=\"export-{released.export_id}\"",
        "X-Manifest-SM3": released.manifest_digest})


# -- public disclosure ---------------------------------------------------------------------------------------


@router.get("/public/products", tags=["公开"], summary="运营机构的产品清单、价格与计费方式、公共数据使用情况（OPS-32）")
def public_products(db: Db, operator: int | None = Query(None), year: int | None = Query(None, ge=2000, le=2100),
                    actor: Actor = public()) -> list[Json]:
    return jsonable_encoder([dataclasses.asdict(o) for o in disclosure.operators(db, operator_org_id=operator,
                                                                                 year=year)])
