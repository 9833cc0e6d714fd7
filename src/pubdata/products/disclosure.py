"""Operators' public disclosure (OPS-32): each operator's product list with prices and charging basis, and
the usage of public data (which authorized resources each product uses, subscribers, metered calls).
No login; nothing personal and no subscriber names are shown. ``annual_summary`` feeds the annual disclosure
report of ``operation.disclosure``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pubdata.identity.models import Organisation
from pubdata.products.common import yuan
from pubdata.products.metering import usage
from pubdata.products.models import Offer, Product, Subscription
from pubdata.products.offers import active_offer
from pubdata.products.workflow import BASES, CATEGORIES, FORMS, MODES, PRODUCT
from pubdata.registry.models import Registration

#: Products the public sees: registered at some point (drafts and registrations in progress are internal).
PUBLIC_STATES = ("registered", "offered", "deregistered", "retired")


@dataclass
class OperatorProducts:
    org_id: int
    name: str
    products: list[dict[str, Any]] = field(default_factory=list)


def _product_row(session: Session, p: Product, year: int | None) -> dict[str, Any]:
    offer: Offer | None = active_offer(session, p.id)
    reg = session.get(Registration, p.registration_id) if p.registration_id else None
    regs = [r for r in (session.get(Registration, i) for i in p.resource_ids) if r is not None]
    used = usage(session, product_id=p.id, year=year)
    subscribers = session.scalar(select(func.count(func.distinct(Subscription.subscriber_org_id))).where(
        Subscription.product_id == p.id)) or 0
    return {
        "product_id": p.id, "number": p.number, "name": p.name, "form": FORMS.get(p.form, p.form),
        "category": CATEGORIES.get(p.category, p.category), "state": p.state, "state_label": PRODUCT.labels[p.state],
        "registration_code": reg.code if reg else None, "registration_status": reg.status if reg else None,
        "mode": MODES.get(offer.mode) if offer else None,
        "charging_basis": BASES.get(offer.charging_basis) if offer else None,
        "price_yuan": yuan(offer.unit_price) if offer else None,
        "conditions": offer.conditions if offer else None,
        "resources": [{"code": r.code, "data_name": r.data_name} for r in regs],
        "lineage": [{"number": q.number, "name": q.name} for q in
                    (session.get(Product, i) for i in p.parent_ids) if q is not None],
        "subscribers": int(subscribers), "calls": used.calls, "records_served": used.volume,
    }


def operators(session: Session, *, operator_org_id: int | None = None,
              year: int | None = None) -> list[OperatorProducts]:
    stmt = select(Product).where(Product.state.in_(PUBLIC_STATES)).order_by(Product.owner_org_id, Product.id)
    if operator_org_id is not None:
        stmt = stmt.where(Product.owner_org_id == operator_org_id)
    out: dict[int, OperatorProducts] = {}
    for p in session.scalars(stmt):
        if p.owner_org_id not in out:
            org = session.get(Organisation, p.owner_org_id)
            out[p.owner_org_id] = OperatorProducts(p.owner_org_id, org.name if org else "")
        out[p.owner_org_id].products.append(_product_row(session, p, year))
    return list(out.values())


def annual_summary(session: Session, *, year: int) -> list[dict[str, Any]]:
    """Per operator: products, prices and charging basis, and the year's usage (for the annual report)."""
    return [{"operator": o.name, "operator_org_id": o.org_id, "products": o.products}
            for o in operators(session, year=year)]
