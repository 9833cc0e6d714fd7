"""Accounting per product and period (OPS-30, OPS-34): revenue from metered calls and from orders, the costs the
operator records, the agreement's benefit-sharing rule applied, and the annual report.

Periods are calendar years in Beijing time. The sharing rule is the agreement's clause (OPS-20(七)) recorded
in structured form by the implementing agency: a share for the agency (支持数据治理, OPS-30) of either the
revenue or the net income; the rest is the operator's reasonable income.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pubdata.audit import Actor
from pubdata.errors import FieldError, PermissionDenied, ValidationFailed
from pubdata.identity.access import require, require_same_org
from pubdata.identity.permissions import Permission
from pubdata.operation.models import Agreement
from pubdata.products.common import check_version, event, get, parse_money, year_bounds
from pubdata.products.metering import usage
from pubdata.products.models import CostEntry, Product, SharingRule, Subscription
from pubdata.products.products import get_product
from pubdata.products.workflow import COST, COST_CATEGORIES, RECORD

SHARING_BASES = {"revenue": "按收入", "net": "按收入减成本（净收益）"}


def _year(value: object, errors: list[FieldError]) -> int:
    try:
        year = int(str(value))
    except ValueError:
        year = 0
    if not 2000 <= year <= 2100:
        errors.append(FieldError("year", "invalid_year", "核算年度应为四位年份。"))
    return year


def record_cost(session: Session, *, actor: Actor, product_id: int, year: object, category: str, amount: object,
                note: str = "") -> CostEntry:
    require(actor, Permission.OPERATION_OPERATE)
    product = get_product(session, product_id)
    require_same_org(actor, product.owner_org_id, "只能记录本单位产品的成本。", "not_owner")
    errors: list[FieldError] = []
    y = _year(year, errors)
    if category not in COST_CATEGORIES:
        errors.append(FieldError("category", "unknown_category", "成本类别应为人工、算力与平台、数据治理或其他。"))
    fen = parse_money(amount, "amount", "金额", errors)
    note = (note or "").strip()
    if len(note) > 1000:
        errors.append(FieldError("note", "too_long", "说明不超过 1000 字。"))
    if errors:
        raise ValidationFailed(errors)
    row = CostEntry(product_id=product.id, year=y, category=category, amount=fen or 0, note=note, state="recorded",
                    recorded_by_user_id=actor.user_id)
    session.add(row)
    session.flush()
    event(session, actor, "cost", "recorded", row, None,
          {"product_id": product.id, "year": y, "category": category, "amount": row.amount, "note": note})
    return row


def void_cost(session: Session, *, actor: Actor, cost_id: int, reason: str, version: int | None = None) -> CostEntry:
    """A wrong entry is voided with a reason, never deleted."""
    require(actor, Permission.OPERATION_OPERATE)
    row = get(session, CostEntry, cost_id, "成本记录")
    owner = get_product(session, row.product_id).owner_org_id
    require_same_org(actor, owner, "只能作废本单位产品的成本。", "not_owner")
    check_version(row, version)
    if not (reason or "").strip():
        raise ValidationFailed.single("reason", "required", "请填写作废理由。")
    before, _ = COST.move(row, "void")
    row.void_reason = reason.strip()
    event(session, actor, "cost", "voided", row, before, {"reason": row.void_reason})
    return row


def _percent(value: object, errors: list[FieldError]) -> int:
    """A percentage as typed ("10", "12.5") → basis points."""
    try:
        pct = Decimal(str(value).strip().rstrip("%"))
    except InvalidOperation:
        pct = Decimal(-1)
    if not pct.is_finite() or not 0 <= pct <= 100 or pct != pct.quantize(Decimal("0.01")):
        errors.append(FieldError("agency_percent", "invalid_percent",
                                 "分配比例应为 0–100 之间的百分数，最多两位小数。"))
        return 0
    return int(pct * 100)


def sharing_rule(session: Session, agreement_id: int) -> SharingRule | None:
    return session.scalar(select(SharingRule).where(SharingRule.agreement_id == agreement_id,
                                                    SharingRule.state == "in_force").order_by(SharingRule.id.desc()))


def record_sharing_rule(session: Session, *, actor: Actor, agreement_id: int, basis: str, agency_percent: object,
                        clause: str) -> SharingRule:
    require(actor, Permission.PRODUCT_PRICE_CAP)
    agreement = get(session, Agreement, agreement_id, "授权运营协议")
    if actor.kind != "system" and actor.org_id != agreement.agency_org_id:
        raise PermissionDenied("只有该协议的实施机构可以记录收益分配机制。", code="not_agency")
    errors: list[FieldError] = []
    if basis not in SHARING_BASES:
        errors.append(FieldError("basis", "unknown_basis", "分配基数应为收入或净收益。"))
    bp = _percent(agency_percent, errors)
    clause = (clause or "").strip() or str(agreement.content.get("accounting") or "").strip()
    if not clause:
        errors.append(FieldError("clause", "required", "请填写协议中的收益分配条款。"))
    if errors:
        raise ValidationFailed(errors)
    previous = sharing_rule(session, agreement_id)
    if previous is not None:
        before, _ = RECORD.move(previous, "supersede")
        event(session, actor, "sharing_rule", "superseded", previous, before)
    row = SharingRule(agreement_id=agreement_id, basis=basis, agency_percent=bp, clause=clause[:4000],
                      recorded_by_org_id=actor.org_id, state="in_force")
    session.add(row)
    session.flush()
    event(session, actor, "sharing_rule", "recorded", row, None,
          {"agreement_id": agreement_id, "basis": basis, "agency_percent_bp": bp})
    return row


def order_revenue(session: Session, product_id: int, year: int) -> int:
    start, end = year_bounds(year)
    return int(session.scalar(select(func.coalesce(func.sum(Subscription.order_amount), 0)).where(
        Subscription.product_id == product_id, Subscription.created_at >= start, Subscription.created_at < end)) or 0)


def costs(session: Session, product_id: int, year: int) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(CostEntry.amount), 0)).where(
        CostEntry.product_id == product_id, CostEntry.year == year, CostEntry.state == "recorded")) or 0)


@dataclass(frozen=True)
class ProductAccount:
    product_id: int
    number: str | None
    name: str
    year: int
    calls: int
    call_revenue: int
    order_revenue: int
    revenue: int
    costs: int
    net: int
    rule_basis: str | None
    agency_percent_bp: int | None
    agency_share: int
    operator_income: int
    operator_net: int


def account(session: Session, *, product_id: int, year: int) -> ProductAccount:
    product = get_product(session, product_id)
    used = usage(session, product_id=product.id, year=year)
    orders = order_revenue(session, product.id, year)
    revenue = used.amount + orders
    cost = costs(session, product.id, year)
    rule = sharing_rule(session, product.agreement_id)
    base = 0 if rule is None else (revenue if rule.basis == "revenue" else max(0, revenue - cost))
    share = 0 if rule is None else (base * rule.agency_percent + 5000) // 10000
    return ProductAccount(
        product_id=product.id, number=product.number, name=product.name, year=year, calls=used.calls,
        call_revenue=used.amount, order_revenue=orders, revenue=revenue, costs=cost, net=revenue - cost,
        rule_basis=rule.basis if rule else None, agency_percent_bp=rule.agency_percent if rule else None,
        agency_share=share, operator_income=revenue - share, operator_net=revenue - cost - share)


def agreement_products(session: Session, agreement_id: int) -> list[Product]:
    """The operator's own products under the agreement (re-developed products of others are theirs)."""
    agreement = get(session, Agreement, agreement_id, "授权运营协议")
    return list(session.scalars(select(Product).where(Product.agreement_id == agreement_id,
                                                      Product.owner_org_id == agreement.operator_org_id)
                                .order_by(Product.id)))


def agreement_revenue(session: Session, agreement_id: int, year: int) -> int:
    total = 0
    for p in agreement_products(session, agreement_id):
        total += usage(session, product_id=p.id, year=year).amount + order_revenue(session, p.id, year)
    return total


@dataclass
class AnnualAccounts:
    year: int
    operator_org_id: int
    agreements: list[dict[str, Any]] = field(default_factory=list)
    products: list[ProductAccount] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)


def annual_report(session: Session, *, operator_org_id: int, year: int) -> AnnualAccounts:
    """The operator's accounts for a year: each product, each agreement's permitted revenue and carry-over."""
    from pubdata.products.pricing import period_status

    report = AnnualAccounts(year=year, operator_org_id=operator_org_id)
    products = list(session.scalars(select(Product).where(Product.owner_org_id == operator_org_id)
                                    .order_by(Product.id)))
    report.products = [account(session, product_id=p.id, year=year) for p in products]
    for agreement_id in sorted({p.agreement_id for p in products}):
        status = period_status(session, agreement_id=agreement_id, year=year)
        rule = sharing_rule(session, agreement_id)
        report.agreements.append({"agreement_id": agreement_id, "revenue": status.revenue,
                                  "max_revenue": status.max_revenue, "deduction_in": status.deduction_in,
                                  "allowed": status.allowed, "excess": status.excess, "closed": status.closed,
                                  "sharing_basis": rule.basis if rule else None,
                                  "agency_percent_bp": rule.agency_percent if rule else None})
    for key in ("calls", "call_revenue", "order_revenue", "revenue", "costs", "net", "agency_share",
                "operator_income", "operator_net"):
        report.totals[key] = sum(getattr(a, key) for a in report.products)
    return report
