"""Government-guided pricing (OPS-29 and the national pricing mechanism).

- The price authority (发展改革部门) and the data authority set a maximum permitted revenue per period (a
  calendar year) for an authorization; the data authority records it with the price authority's document.
- The implementing agency sets a price cap per product and charging basis; operators price at or under it.
- At the end of a period the revenue of the agreement's products is compared with the permitted maximum less
  the deduction carried in; the excess is carried as a deduction into the next period.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor
from pubdata.errors import Conflict, FieldError, PermissionDenied, ValidationFailed
from pubdata.identity.access import require
from pubdata.identity.permissions import Permission
from pubdata.operation.models import Agreement
from pubdata.products.common import event, get, parse_money, yuan
from pubdata.products.models import Offer, PeriodClosing, PriceCap, Product, RevenueLimit
from pubdata.products.products import get_product
from pubdata.products.workflow import BASES, OFFER, PAID_BASES, RECORD


def cap_in_force(session: Session, product_id: int, basis: str) -> PriceCap | None:
    return session.scalar(select(PriceCap).where(PriceCap.product_id == product_id, PriceCap.charging_basis == basis,
                                                 PriceCap.state == "in_force").order_by(PriceCap.id.desc()).limit(1))


def caps_of(session: Session, product_id: int) -> dict[str, PriceCap]:
    rows = session.scalars(select(PriceCap).where(PriceCap.product_id == product_id, PriceCap.state == "in_force"))
    return {c.charging_basis: c for c in rows}


def check_price(session: Session, product: Product, basis: str, price: int, field: str = "unit_price") -> None:
    """A trade price must have a cap for its basis and be at or under it."""
    cap = cap_in_force(session, product.id, basis)
    if cap is None:
        label = BASES.get(basis, basis)
        raise ValidationFailed.single("charging_basis", "no_price_cap",
                                      f"实施机构尚未确定该产品“{label}”的价格上限，暂不能按此方式收费。")
    if price > cap.cap:
        raise ValidationFailed.single(field, "price_above_cap",
                                      f"价格 {yuan(price)} 元高于实施机构确定的上限 {yuan(cap.cap)} 元"
                                      f"（{BASES[basis]}，{cap.decision_ref}），请在上限以内定价。")


def _agency_of(session: Session, agreement_id: int) -> int:
    return get(session, Agreement, agreement_id, "授权运营协议").agency_org_id


def set_price_cap(session: Session, *, actor: Actor, product_id: int, charging_basis: str, cap: object,
                  decision_ref: str) -> PriceCap:
    require(actor, Permission.PRODUCT_PRICE_CAP)
    product = get_product(session, product_id)
    if actor.kind != "system" and actor.org_id != _agency_of(session, product.agreement_id):
        raise PermissionDenied("只有该授权运营协议的实施机构可以确定价格上限。", code="not_agency")
    errors: list[FieldError] = []
    if product.category != "industry":
        errors.append(FieldError("charging_basis", "cap_for_public_welfare",
                                 "公共治理、公益事业类产品有条件无偿使用，不设收费价格上限（第二十九条）。"))
    if charging_basis not in PAID_BASES:
        errors.append(FieldError("charging_basis", "unknown_basis", "计费方式应为按产品、按次、按时长或按量。"))
    amount = parse_money(cap, "cap", "价格上限", errors)
    ref = (decision_ref or "").strip()
    if not ref:
        errors.append(FieldError("decision_ref", "required", "请填写定价文件号。"))
    elif len(ref) > 100:
        errors.append(FieldError("decision_ref", "too_long", "定价文件号不超过 100 字。"))
    if errors:
        raise ValidationFailed(errors)
    assert amount is not None
    previous = cap_in_force(session, product.id, charging_basis)
    if previous is not None:
        before, _ = RECORD.move(previous, "supersede")
        event(session, actor, "price_cap", "superseded", previous, before)
    row = PriceCap(product_id=product.id, charging_basis=charging_basis, cap=amount, decision_ref=ref,
                   set_by_org_id=actor.org_id, state="in_force")
    session.add(row)
    session.flush()
    event(session, actor, "price_cap", "set", row, None,
          {"product_id": product.id, "charging_basis": charging_basis, "cap": amount, "decision_ref": ref})
    # A lower cap binds the price in force at once: the active offer is brought down to it.
    for offer in session.scalars(select(Offer).where(Offer.product_id == product.id, Offer.state == "active",
                                                     Offer.charging_basis == charging_basis)):
        if offer.unit_price > amount:
            old = offer.unit_price
            before, _ = OFFER.move(offer, "reprice")
            offer.unit_price = amount
            event(session, actor, "offer", "capped", offer, before, {"unit_price": [old, amount]})
    return row


def limit_in_force(session: Session, agreement_id: int, year: int) -> RevenueLimit | None:
    return session.scalar(select(RevenueLimit).where(RevenueLimit.agreement_id == agreement_id,
                                                     RevenueLimit.year == year, RevenueLimit.state == "in_force")
                          .order_by(RevenueLimit.id.desc()).limit(1))


def record_revenue_limit(session: Session, *, actor: Actor, agreement_id: int, year: int, max_revenue: object,
                         price_authority: str, price_authority_ref: str) -> RevenueLimit:
    require(actor, Permission.PRODUCT_REVENUE_LIMIT)
    get(session, Agreement, agreement_id, "授权运营协议")
    errors: list[FieldError] = []
    amount = parse_money(max_revenue, "max_revenue", "最高准许收入", errors)
    if not 2000 <= int(year) <= 2100:
        errors.append(FieldError("year", "invalid_year", "核算年度应为四位年份。"))
    for field, value, label in (("price_authority", price_authority, "价格主管部门"),
                                ("price_authority_ref", price_authority_ref, "价格主管部门文件号")):
        if not (value or "").strip():
            errors.append(FieldError(field, "required", f"请填写{label}。"))
        elif len(value.strip()) > 100:
            errors.append(FieldError(field, "too_long", f"{label}不超过 100 字。"))
    if errors:
        raise ValidationFailed(errors)
    if session.scalar(select(PeriodClosing.id).where(PeriodClosing.agreement_id == agreement_id,
                                                     PeriodClosing.year == year)) is not None:
        raise Conflict(f"{year} 年度已结转，不能再修改其最高准许收入。", code="period_closed")
    previous = limit_in_force(session, agreement_id, year)
    if previous is not None:
        before, _ = RECORD.move(previous, "supersede")
        event(session, actor, "revenue_limit", "superseded", previous, before)
    row = RevenueLimit(agreement_id=agreement_id, year=int(year), max_revenue=amount or 0,
                       price_authority=price_authority.strip(), price_authority_ref=price_authority_ref.strip(),
                       recorded_by_org_id=actor.org_id, state="in_force")
    session.add(row)
    session.flush()
    event(session, actor, "revenue_limit", "recorded", row, None,
          {"agreement_id": agreement_id, "year": year, "max_revenue": row.max_revenue,
           "price_authority": row.price_authority, "price_authority_ref": row.price_authority_ref})
    return row


@dataclass(frozen=True)
class PeriodStatus:
    agreement_id: int
    year: int
    revenue: int
    max_revenue: int | None
    deduction_in: int
    #: What may be earned this period: the maximum less the deduction carried in.
    allowed: int | None
    #: Revenue beyond what is allowed: carried into the next period as a deduction.
    excess: int
    closed: bool


def deduction_into(session: Session, agreement_id: int, year: int) -> int:
    prev = session.scalar(select(PeriodClosing).where(PeriodClosing.agreement_id == agreement_id,
                                                      PeriodClosing.year == year - 1))
    return prev.excess if prev is not None else 0


def period_status(session: Session, *, agreement_id: int, year: int) -> PeriodStatus:
    from pubdata.products.accounting import agreement_revenue

    closing = session.scalar(select(PeriodClosing).where(PeriodClosing.agreement_id == agreement_id,
                                                         PeriodClosing.year == year))
    if closing is not None:
        return PeriodStatus(agreement_id, year, closing.revenue, closing.max_revenue, closing.deduction_in,
                            max(0, closing.max_revenue - closing.deduction_in), closing.excess, True)
    limit = limit_in_force(session, agreement_id, year)
    revenue = agreement_revenue(session, agreement_id, year)
    deduction = deduction_into(session, agreement_id, year)
    allowed = None if limit is None else max(0, limit.max_revenue - deduction)
    excess = 0 if allowed is None else max(0, revenue - allowed)
    return PeriodStatus(agreement_id, year, revenue, limit.max_revenue if limit else None, deduction, allowed,
                        excess, False)


def close_period(session: Session, *, actor: Actor, agreement_id: int, year: int) -> PeriodClosing:
    """Close a finished period: revenue above the permitted maximum (less the deduction carried in) becomes
    the next period's deduction."""
    require(actor, Permission.PRODUCT_REVENUE_LIMIT)
    get(session, Agreement, agreement_id, "授权运营协议")
    if year >= clock.today().year:
        raise Conflict(f"{year} 年度尚未结束，不能结转。", code="period_not_ended")
    status = period_status(session, agreement_id=agreement_id, year=year)
    if status.closed:
        raise Conflict(f"{year} 年度已结转。", code="period_closed")
    if status.max_revenue is None:
        raise Conflict(f"尚未记录 {year} 年度的最高准许收入，不能结转。", code="no_revenue_limit")
    row = PeriodClosing(agreement_id=agreement_id, year=year, revenue=status.revenue, max_revenue=status.max_revenue,
                        deduction_in=status.deduction_in, excess=status.excess, closed_by_org_id=actor.org_id,
                        state="closed")
    session.add(row)
    session.flush()
    event(session, actor, "period_closing", "closed", row, None,
          {"agreement_id": agreement_id, "year": year, "revenue": row.revenue, "max_revenue": row.max_revenue,
           "deduction_in": row.deduction_in, "excess_carried": row.excess})
    return row
