"""Subscriptions and orders (OPS-28). Each subscription has its own API key, shown once and stored only as its
SM3 digest; an order for a report or model product is paid once (by product) or per month (by time)."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.audit import Actor
from pubdata.crypto import sm3
from pubdata.errors import FieldError, PermissionDenied, ValidationFailed
from pubdata.identity.access import require
from pubdata.identity.permissions import Permission
from pubdata.products.common import check_version, event, get
from pubdata.products.models import Subscription
from pubdata.products.offers import require_offered
from pubdata.products.products import get_product
from pubdata.products.workflow import SUBSCRIPTION

KEY_PREFIX = "pdk_"
MAX_MONTHS = 36


def hash_key(raw: str) -> str:
    return sm3.hexdigest(raw.encode())


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def subscribe(session: Session, *, actor: Actor, product_id: int, purpose: str = "",
              months: int | None = None) -> tuple[Subscription, str]:
    """Returns the subscription and its API key — the only time the key exists in clear."""
    require(actor, Permission.PRODUCT_SUBSCRIBE)
    product = get_product(session, product_id)
    offer = require_offered(session, product)
    purpose = (purpose or "").strip()
    errors: list[FieldError] = []
    if offer.mode == "public_welfare" and not purpose:
        errors.append(FieldError("purpose", "required",
                                 f"公益提供的产品须说明用途，并符合使用条件：{offer.conditions}"))
    if len(purpose) > 1000:
        errors.append(FieldError("purpose", "too_long", "用途不超过 1000 字。"))
    n_months = 0
    if offer.charging_basis == "per_time":
        if months is None or not 1 <= int(months) <= MAX_MONTHS:
            errors.append(FieldError("months", "invalid_months", f"按时长订购请填写 1–{MAX_MONTHS} 个月。"))
        else:
            n_months = int(months)
    if errors:
        raise ValidationFailed(errors)
    order = {"per_product": offer.unit_price, "per_time": offer.unit_price * n_months}.get(offer.charging_basis, 0)
    raw = new_key()
    sub = Subscription(product_id=product.id, offer_id=offer.id, subscriber_org_id=actor.org_id or 0,
                       key_hash=hash_key(raw), key_prefix=raw[:12], charging_basis=offer.charging_basis,
                       unit_price=offer.unit_price, months=n_months, order_amount=order, purpose=purpose,
                       state="active")
    session.add(sub)
    session.flush()
    event(session, actor, "subscription", "created", sub, None,
          {"product_id": product.id, "offer_id": offer.id, "charging_basis": sub.charging_basis,
           "unit_price": sub.unit_price, "months": n_months, "order_amount": order, "key_prefix": sub.key_prefix})
    return sub, raw


def _own(session: Session, actor: Actor, subscription_id: int) -> Subscription:
    sub = get(session, Subscription, subscription_id, "订阅")
    if actor.kind != "system" and actor.org_id != sub.subscriber_org_id:
        raise PermissionDenied("只能管理本单位的订阅。", code="not_subscriber")
    return sub


def cancel(session: Session, *, actor: Actor, subscription_id: int, version: int | None = None) -> Subscription:
    require(actor, Permission.PRODUCT_SUBSCRIBE)
    sub = _own(session, actor, subscription_id)
    check_version(sub, version)
    before, _ = SUBSCRIPTION.move(sub, "cancel")
    sub.cancelled_at = dt.datetime.now(dt.UTC)
    event(session, actor, "subscription", "cancelled", sub, before)
    return sub


def rotate_key(session: Session, *, actor: Actor, subscription_id: int,
               version: int | None = None) -> tuple[Subscription, str]:
    """A new key for a lost or leaked one; the old one stops working at once."""
    require(actor, Permission.PRODUCT_SUBSCRIBE)
    sub = _own(session, actor, subscription_id)
    check_version(sub, version)
    before, _ = SUBSCRIPTION.move(sub, "rotate_key")
    raw = new_key()
    sub.key_hash, sub.key_prefix = hash_key(raw), raw[:12]
    session.flush()
    event(session, actor, "subscription", "key_rotated", sub, before, {"key_prefix": sub.key_prefix})
    return sub, raw


def subscriptions_of(session: Session, org_id: int | None) -> list[Subscription]:
    return list(session.scalars(select(Subscription).where(Subscription.subscriber_org_id == org_id)
                                .order_by(Subscription.id.desc())))


def for_product(session: Session, product_id: int) -> list[Subscription]:
    return list(session.scalars(select(Subscription).where(Subscription.product_id == product_id)
                                .order_by(Subscription.id.desc())))


def delivery(session: Session, *, actor: Actor, subscription_id: int, export_id: int):  # type: ignore[no-untyped-def]
    """Report and model products are delivered as the released files of their approved exports (OPS-28), to an
    active subscriber of a product still registered and offered."""
    from pubdata.errors import NotFound
    from pubdata.products import sources

    require(actor, Permission.PRODUCT_SUBSCRIBE)
    sub = _own(session, actor, subscription_id)
    if sub.state != "active":
        raise PermissionDenied("该订阅已取消，不能再取得产品。", code="subscription_cancelled")
    product = get_product(session, sub.product_id)
    require_offered(session, product)
    if export_id not in product.export_ids:
        raise NotFound("该产品没有这一发布文件。", code="not_found")
    released = sources.released_file(session, export_id)
    event(session, actor, "subscription", "delivered", sub, sub.state,
          {"export_id": export_id, "manifest_digest": released.manifest_digest})
    return released
