"""Circulation (OPS-28, OPS-29): a registered product is offered for public welfare (free under recorded
conditions) or for trade (priced at or under the agency's cap, by product, call, time or volume).
An unregistered product cannot be offered; a public-governance / public-welfare product cannot be charged for."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor
from pubdata.errors import Conflict, FieldError, ValidationFailed
from pubdata.identity.access import require, require_same_org
from pubdata.identity.permissions import Permission
from pubdata.operation.access import require_not_suspended
from pubdata.products.common import check_version, event, get, parse_money
from pubdata.products.models import Offer, Product
from pubdata.products.pricing import check_price
from pubdata.products.products import get_product
from pubdata.products.registration import require_registered
from pubdata.products.workflow import BASES, MODES, OFFER, PAID_BASES, PRODUCT


def active_offer(session: Session, product_id: int) -> Offer | None:
    return session.scalar(select(Offer).where(Offer.product_id == product_id, Offer.state == "active")
                          .order_by(Offer.id.desc()).limit(1))


def _terms(mode: str, basis: str, price: object, conditions: str, category: str) -> tuple[int, list[FieldError]]:
    errors: list[FieldError] = []
    if mode not in MODES:
        errors.append(FieldError("mode", "unknown_mode", "提供方式应为公益提供或交易。"))
    if basis not in BASES:
        errors.append(FieldError("charging_basis", "unknown_basis", "计费方式应为无偿、按产品、按次、按时长或按量。"))
    amount = parse_money(price if price not in (None, "") else 0, "unit_price", "单价", errors) or 0
    if len(conditions) > 2000:
        errors.append(FieldError("conditions", "too_long", "使用条件不超过 2000 字。"))
    if errors:
        return amount, errors
    if (category == "governance" and mode != "public_welfare") or (mode == "public_welfare" and (
            basis != "free" or amount > 0)):
        errors.append(FieldError("unit_price", "paid_public_welfare",
                                 "用于公共治理、公益事业的产品应有条件无偿使用，不能收费（第二十九条）。"))
    elif mode == "public_welfare" and not conditions:
        errors.append(FieldError("conditions", "required", "公益提供须写明无偿使用的条件（第二十九条）。"))
    elif mode == "trade" and basis not in PAID_BASES:
        errors.append(FieldError("charging_basis", "basis_required", "交易须选择按产品、按次、按时长或按量计费。"))
    return amount, errors


def offer_product(session: Session, *, actor: Actor, product_id: int, mode: str, charging_basis: str,
                  unit_price: object = 0, conditions: str = "", version: int | None = None) -> Offer:
    require(actor, Permission.OPERATION_OPERATE)
    require_not_suspended(session, actor.org_id)
    product = get_product(session, product_id)
    require_same_org(actor, product.owner_org_id, "只能提供本单位的产品。", "not_owner")
    check_version(product, version)
    require_registered(session, product)
    conditions = (conditions or "").strip()
    amount, errors = _terms(mode, charging_basis, unit_price, conditions, product.category)
    if errors:
        raise ValidationFailed(errors)
    if mode == "trade":
        check_price(session, product, charging_basis, amount)
    before, _ = PRODUCT.move(product, "offer")
    if product.delivered_on is None:
        product.delivered_on = clock.today()
    offer = Offer(product_id=product.id, mode=mode, charging_basis=charging_basis, unit_price=amount,
                  conditions=conditions, state="active")
    session.add(offer)
    session.flush()
    event(session, actor, "product", "offered", product, before, {"offer_id": offer.id})
    event(session, actor, "offer", "created", offer, None,
          {"product_id": product.id, "mode": mode, "charging_basis": charging_basis, "unit_price": amount,
           "conditions": conditions})
    return offer


def reprice(session: Session, *, actor: Actor, offer_id: int, unit_price: object, version: int | None = None) -> Offer:
    require(actor, Permission.OPERATION_OPERATE)
    require_not_suspended(session, actor.org_id)
    offer = get(session, Offer, offer_id, "产品提供")
    product = get_product(session, offer.product_id)
    require_same_org(actor, product.owner_org_id, "只能为本单位的产品定价。", "not_owner")
    check_version(offer, version)
    errors: list[FieldError] = []
    amount = parse_money(unit_price, "unit_price", "单价", errors)
    if errors:
        raise ValidationFailed(errors)
    assert amount is not None
    if offer.mode == "public_welfare":
        if amount > 0:
            raise ValidationFailed.single("unit_price", "paid_public_welfare",
                                          "公益提供的产品应有条件无偿使用，不能收费（第二十九条）。")
    else:
        check_price(session, product, offer.charging_basis, amount)
    before, _ = OFFER.move(offer, "reprice")
    old, offer.unit_price = offer.unit_price, amount
    event(session, actor, "offer", "repriced", offer, before, {"unit_price": [old, amount]})
    return offer


def withdraw(session: Session, *, actor: Actor, offer_id: int, version: int | None = None) -> Offer:
    require(actor, Permission.OPERATION_OPERATE)
    offer = get(session, Offer, offer_id, "产品提供")
    product = get_product(session, offer.product_id)
    require_same_org(actor, product.owner_org_id, "只能管理本单位的产品。", "not_owner")
    check_version(offer, version)
    before, _ = OFFER.move(offer, "withdraw")
    event(session, actor, "offer", "withdrawn", offer, before)
    p_before, _ = PRODUCT.move(product, "withdraw_offer")
    event(session, actor, "product", "offer_withdrawn", product, p_before, {"offer_id": offer.id})
    return offer


def end_offers(session: Session, actor: Actor, product: Product) -> None:
    """The registration ended: whatever was offered is withdrawn (the product follows in ``sync``)."""
    for offer in session.scalars(select(Offer).where(Offer.product_id == product.id, Offer.state == "active")):
        before, _ = OFFER.move(offer, "withdraw")
        event(session, actor, "offer", "withdrawn", offer, before, {"reason": "registration_ended"})


def offers_of(session: Session, product_id: int) -> list[Offer]:
    return list(session.scalars(select(Offer).where(Offer.product_id == product_id).order_by(Offer.id.desc())))


def require_offered(session: Session, product: Product) -> Offer:
    require_registered(session, product)
    offer = active_offer(session, product.id)
    if offer is None or product.state != "offered":
        raise Conflict(f"产品“{product.name}”目前未提供。", code="product_not_offered")
    return offer
