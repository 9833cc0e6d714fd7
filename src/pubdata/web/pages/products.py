"""数据产品和服务页面：运营机构的产品（基于导出成果创建、登记、提供与定价、成本与核算），实施机构的价格上限与收益
分配，数据主管部门的最高准许收入与年度结转，用户单位的订阅（接口密钥只显示一次），以及公开的产品清单与使用情况。

Each object has one detail page and one POST route whose ``action`` field names the service to call; on a domain
error the page is shown again with the values kept and each message next to its field.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor
from pubdata.audit.service import history
from pubdata.errors import DomainError, NotFound, PermissionDenied
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
from pubdata.products.common import yuan
from pubdata.products.metering import usage
from pubdata.products.models import Product, RevenueLimit, Subscription
from pubdata.products.workflow import BASES, CATEGORIES, COST_CATEGORIES, FORMS, MODES, PAID_BASES, PRODUCT
from pubdata.registry.models import Registration
from pubdata.web.deps import Db, csrf_protect, public, requires, requires_any
from pubdata.web.forms import abandon as _fail
from pubdata.web.forms import field_errors as _errors
from pubdata.web.forms import integer as _int
from pubdata.web.forms import integers as _ints
from pubdata.web.forms import org_names as _orgs
from pubdata.web.forms import text as _s
from pubdata.web.paging import Paging, paginate
from pubdata.web.templating import render

router = APIRouter(include_in_schema=False)
#: The product's audit actions as shown in its history.
EVENT_LABELS = {"created": "创建", "registration_started": "申请登记", "certified": "登记完成",
                "registration_failed": "登记未成功", "offered": "提供", "offer_withdrawn": "停止提供",
                "registration_ended": "登记终止", "retired": "停止产品"}
VOCAB = {"forms": FORMS, "categories": CATEGORIES, "modes": MODES, "bases": BASES, "paid_bases": PAID_BASES,
         "product_labels": PRODUCT.labels, "cost_categories": COST_CATEGORIES,
         "sharing_bases": accounting.SHARING_BASES, "yuan": yuan, "event_labels": EVENT_LABELS,
         "paid_basis_options": {b: BASES[b] for b in PAID_BASES}}
NO_STORE = {"Cache-Control": "private, no-store"}
#: Who may act on a product page (each action's service checks which): owners, agencies, subscribers — never a
#: read-only regulator.
PRODUCT_ACTORS = (Permission.OPERATION_OPERATE, Permission.PRODUCT_PRICE_CAP, Permission.PRODUCT_SUBSCRIBE)


# -- workbench -------------------------------------------------------------------------------------------------


@router.get("/products")
def workbench(request: Request, db: Db, paging: Paging, actor: Actor = requires(Permission.ACCOUNT_SELF)) -> Response:
    mine = None
    if actor.can(Permission.OPERATION_OPERATE.value):
        mine = paginate(db, select(Product).where(Product.owner_org_id == actor.org_id).order_by(Product.id.desc()),
                        paging)
        for p in mine.items:
            registration.sync(db, p, actor=actor)
        db.commit()
    to_cap: list[Product] = []
    if actor.can(Permission.PRODUCT_PRICE_CAP.value):
        to_cap = list(db.scalars(select(Product).join(Agreement, Agreement.id == Product.agreement_id)
                                 .where(Agreement.agency_org_id == actor.org_id, Product.category == "industry",
                                        Product.state.not_in(["retired", "deregistered"]))
                                 .order_by(Product.id.desc()).limit(100)))
    offered = list(db.scalars(select(Product).where(Product.state == "offered").order_by(Product.id.desc())
                              .limit(100))) if actor.can(Permission.PRODUCT_SUBSCRIBE.value) else []
    shown = [*(mine.items if mine else []), *to_cap, *offered]
    return render(request, "products_index.html", {
        "mine": mine, "to_cap": to_cap, "offered": offered,
        "offers": {p.id: offers.active_offer(db, p.id) for p in shown},
        "caps": {p.id: pricing.caps_of(db, p.id) for p in to_cap},
        "orgs": _orgs(db, {p.owner_org_id for p in shown}), **VOCAB})


# -- creating a product from approved exports ------------------------------------------------------------------


def _released_exports(db: Session, actor: Actor) -> list[Any]:
    from pubdata.opdomain.models import ExportRequest

    return list(db.scalars(select(ExportRequest).where(ExportRequest.operator_org_id == actor.org_id,
                                                       ExportRequest.state == "approved")
                           .order_by(ExportRequest.id.desc()).limit(100)))


def _obtained_products(db: Session, actor: Actor) -> list[Product]:
    """Delivered products the organisation may build on: those it subscribed to (OPS-31 re-development)."""
    ids = select(Subscription.product_id).where(Subscription.subscriber_org_id == actor.org_id)
    return list(db.scalars(select(Product).where(Product.id.in_(ids), Product.delivered_on.is_not(None))
                           .order_by(Product.id.desc())))


def _new_form(request: Request, db: Session, actor: Actor, values: dict[str, Any], errors: dict[str, str] | None = None,
              error: DomainError | None = None, status: int = 200) -> Response:
    return render(request, "products_new.html", {
        "values": values, "errors": errors or {}, "error": error, "exports": _released_exports(db, actor),
        "parents": _obtained_products(db, actor), **VOCAB}, status_code=status)


@router.get("/products/new")
def new_product(request: Request, db: Db, actor: Actor = requires(Permission.OPERATION_OPERATE)) -> Response:
    selected = [int(x) for x in request.query_params.getlist("export") if x.isdigit()]
    return _new_form(request, db, actor, {"export_ids": selected, "parent_ids": []})


@router.post("/products/new", dependencies=[Depends(csrf_protect)])
async def create_product(request: Request, db: Db, actor: Actor = requires(Permission.OPERATION_OPERATE)) -> Response:
    form = await request.form()
    values: dict[str, Any] = {k: _s(form, k) for k in ("name", "form", "category", "purpose", "description")}
    values |= {"export_ids": _ints(form, "export"), "parent_ids": _ints(form, "parent")}
    try:
        p = products.create_product(db, actor=actor, name=values["name"], form=values["form"],
                                    category=values["category"], purpose=values["purpose"],
                                    description=values["description"], export_ids=values["export_ids"],
                                    parent_ids=values["parent_ids"])
        db.commit()
    except DomainError as exc:
        _fail(exc, db)
        return _new_form(request, db, actor, values, _errors(exc), exc, exc.status)
    return RedirectResponse(f"/products/{p.id}?saved=1", status_code=303)


# -- a product ---------------------------------------------------------------------------------------------------


def _detail(request: Request, db: Session, actor: Actor, product_id: int, *, values: dict[str, Any] | None = None,
            errors: dict[str, str] | None = None, error: DomainError | None = None, status: int = 200) -> Response:
    p = products.get_product(db, product_id)
    registration.sync(db, p, actor=actor)
    db.commit()
    agreement = db.get(Agreement, p.agreement_id)
    is_owner = actor.org_id == p.owner_org_id and actor.can(Permission.OPERATION_OPERATE.value)
    is_agency = bool(agreement) and actor.org_id == agreement.agency_org_id \
        and actor.can(Permission.PRODUCT_PRICE_CAP.value)
    if not (is_owner or is_agency or p.state == "offered" or actor.can(Permission.OPERATION_READ.value)):
        raise PermissionDenied("该产品目前未提供。", code="not_owner")
    year = clock.today().year
    reg = db.get(Registration, p.registration_id) if p.registration_id else None
    mine = list(db.scalars(select(Subscription).where(Subscription.product_id == p.id,
                                                      Subscription.subscriber_org_id == actor.org_id,
                                                      Subscription.state == "active")))
    return render(request, "products_detail.html", {
        "p": p, "agreement": agreement, "reg": reg, "is_owner": is_owner, "is_agency": is_agency,
        "offer": offers.active_offer(db, p.id), "offer_history": offers.offers_of(db, p.id),
        "caps": pricing.caps_of(db, p.id),
        "resources": [r for r in (db.get(Registration, i) for i in p.resource_ids) if r is not None],
        "parents": [q for q in (db.get(Product, i) for i in p.parent_ids) if q is not None],
        "account": accounting.account(db, product_id=p.id, year=year) if is_owner or is_agency else None,
        "costs": list(db.scalars(select(accounting.CostEntry).where(accounting.CostEntry.product_id == p.id)
                                 .order_by(accounting.CostEntry.id.desc()).limit(50))) if is_owner else [],
        "rule": accounting.sharing_rule(db, p.agreement_id), "year": year,
        "can_subscribe": actor.can(Permission.PRODUCT_SUBSCRIBE.value) and p.state == "offered" and not is_owner,
        "my_subscriptions": mine, "orgs": _orgs(db, {p.owner_org_id}),
        "subscriber_count": len(subscriptions.for_product(db, p.id)) if is_owner else None,
        "usage": usage(db, product_id=p.id),
        "events": history(db, object_type="product", object_id=p.id) if is_owner or is_agency else [],
        "values": values or {}, "errors": errors or {}, "error": error, **VOCAB}, status_code=status)


@router.get("/products/{product_id}")
def product_page(product_id: int, request: Request, db: Db,
                 actor: Actor = requires(Permission.ACCOUNT_SELF)) -> Response:
    return _detail(request, db, actor, product_id)


@router.post("/products/{product_id}", dependencies=[Depends(csrf_protect)])
async def act(product_id: int, request: Request, db: Db,
              actor: Actor = requires_any(*PRODUCT_ACTORS)) -> Response:
    form = await request.form()
    action = _s(form, "action")
    values = {k: _s(form, k) for k in form if k != "csrf_token"}
    version = _int(form, "version")
    try:
        if action == "register":
            app = registration.start_registration(db, actor=actor, product_id=product_id, version=version)
            db.commit()
            return RedirectResponse(f"/applications/{app.id}/edit", status_code=303)
        if action == "offer":
            offers.offer_product(db, actor=actor, product_id=product_id, mode=_s(form, "mode"),
                                 charging_basis=_s(form, "charging_basis") or ("free" if _s(form, "mode") ==
                                                                                "public_welfare" else ""),
                                 unit_price=_s(form, "unit_price") or 0, conditions=_s(form, "conditions"),
                                 version=version)
        elif action == "reprice":
            offers.reprice(db, actor=actor, offer_id=_int(form, "offer_id") or 0, unit_price=_s(form, "unit_price"),
                           version=version)
        elif action == "withdraw_offer":
            offers.withdraw(db, actor=actor, offer_id=_int(form, "offer_id") or 0, version=version)
        elif action == "retire":
            products.retire(db, actor=actor, product_id=product_id, version=version)
        elif action == "cap":
            pricing.set_price_cap(db, actor=actor, product_id=product_id, charging_basis=_s(form, "charging_basis"),
                                  cap=_s(form, "cap"), decision_ref=_s(form, "decision_ref"))
        elif action == "sharing_rule":
            p = products.get_product(db, product_id)
            accounting.record_sharing_rule(db, actor=actor, agreement_id=p.agreement_id, basis=_s(form, "basis"),
                                           agency_percent=_s(form, "agency_percent"), clause=_s(form, "clause"))
        elif action == "cost":
            accounting.record_cost(db, actor=actor, product_id=product_id, year=_s(form, "year"),
                                   category=_s(form, "category"), amount=_s(form, "amount"), note=_s(form, "note"))
        elif action == "void_cost":
            accounting.void_cost(db, actor=actor, cost_id=_int(form, "cost_id") or 0, reason=_s(form, "reason"),
                                 version=version)
        elif action == "subscribe":
            sub, key = subscriptions.subscribe(db, actor=actor, product_id=product_id, purpose=_s(form, "purpose"),
                                               months=_int(form, "months"))
            db.commit()
            return _key_page(request, db, sub, key)
        else:
            raise NotFound("未知的操作。", code="unknown_action")
        db.commit()
    except DomainError as exc:
        _fail(exc, db)
        return _detail(request, db, actor, product_id, values=values | {"form": action}, errors=_errors(exc),
                       error=exc, status=exc.status)
    return RedirectResponse(f"/products/{product_id}?done={action}", status_code=303)


def _key_page(request: Request, db: Session, sub: Subscription, key: str) -> Response:
    """The API key, shown this once (never stored in clear, never put in a URL, not cached)."""
    return render(request, "products_key.html", {"sub": sub, "key": key, "p": products.get_product(db, sub.product_id),
                                                 **VOCAB}, headers=NO_STORE)


# -- subscriptions -----------------------------------------------------------------------------------------------


@router.get("/products/subscriptions/mine")
def my_subscriptions(request: Request, db: Db, paging: Paging,
                     actor: Actor = requires(Permission.PRODUCT_SUBSCRIBE)) -> Response:
    page = paginate(db, select(Subscription).where(Subscription.subscriber_org_id == actor.org_id)
                    .order_by(Subscription.id.desc()), paging)
    prods = {s.product_id: db.get(Product, s.product_id) for s in page.items}
    return render(request, "products_subscriptions.html", {
        "page": page, "prods": prods, "usage": {s.id: usage(db, subscription_id=s.id) for s in page.items},
        "orgs": _orgs(db, {p.owner_org_id for p in prods.values() if p}), **VOCAB})


@router.post("/products/subscriptions/{subscription_id}", dependencies=[Depends(csrf_protect)])
async def act_subscription(subscription_id: int, request: Request, db: Db,
                           actor: Actor = requires(Permission.PRODUCT_SUBSCRIBE)) -> Response:
    form = await request.form()
    action = _s(form, "action")
    try:
        if action == "cancel":
            subscriptions.cancel(db, actor=actor, subscription_id=subscription_id, version=_int(form, "version"))
        elif action == "rotate":
            sub, key = subscriptions.rotate_key(db, actor=actor, subscription_id=subscription_id,
                                                version=_int(form, "version"))
            db.commit()
            return _key_page(request, db, sub, key)
        else:
            raise NotFound("未知的操作。", code="unknown_action")
        db.commit()
    except DomainError as exc:
        _fail(exc, db)
        return RedirectResponse(f"/products/subscriptions/mine?error={exc.code}", status_code=303)
    return RedirectResponse("/products/subscriptions/mine?done=1", status_code=303)


@router.get("/products/subscriptions/{subscription_id}/files/{export_id}")
def download(subscription_id: int, export_id: int, db: Db,
             actor: Actor = requires(Permission.PRODUCT_SUBSCRIBE)) -> Response:
    released = subscriptions.delivery(db, actor=actor, subscription_id=subscription_id, export_id=export_id)
    db.commit()
    return Response(released.content, media_type=released.media_type, headers={
        **NO_STORE, "Content-Disposition": f"attachment; filename=\"export-{released.export_id}\"",
        "X-Manifest-SM3": released.manifest_digest})


# -- the data authority: permitted revenue and period closing ----------------------------------------------------


def _pricing(request: Request, db: Session, year: int, values: dict[str, Any] | None = None,
             errors: dict[str, str] | None = None, error: DomainError | None = None, status: int = 200) -> Response:
    agreements = list(db.scalars(select(Agreement).where(Agreement.state.in_(["signed", "filed", "terminated"]))
                                 .order_by(Agreement.id.desc()).limit(200)))
    limits = list(db.scalars(select(RevenueLimit).order_by(RevenueLimit.id.desc()).limit(100)))
    return render(request, "products_pricing.html", {
        "agreements": agreements, "limits": limits, "year": year, "this_year": clock.today().year,
        "agreement_options": {a.id: f"{a.number or a.id} {a.title}" for a in agreements},
        "statuses": {a.id: pricing.period_status(db, agreement_id=a.id, year=year) for a in agreements},
        "orgs": _orgs(db, {a.operator_org_id for a in agreements}), "values": values or {"year": year},
        "errors": errors or {}, "error": error, **VOCAB}, status_code=status)


@router.get("/products/pricing/limits")
def pricing_page(request: Request, db: Db, year: int = Query(default_factory=lambda: clock.today().year, ge=2000,
                                                             le=2100),
                 actor: Actor = requires(Permission.PRODUCT_REVENUE_LIMIT)) -> Response:
    return _pricing(request, db, year)


@router.post("/products/pricing/limits", dependencies=[Depends(csrf_protect)])
async def pricing_act(request: Request, db: Db, actor: Actor = requires(Permission.PRODUCT_REVENUE_LIMIT)) -> Response:
    form = await request.form()
    values = {k: _s(form, k) for k in form if k != "csrf_token"}
    year = _int(form, "year") or clock.today().year
    try:
        if _s(form, "action") == "close":
            pricing.close_period(db, actor=actor, agreement_id=_int(form, "agreement_id") or 0, year=year)
        else:
            pricing.record_revenue_limit(db, actor=actor, agreement_id=_int(form, "agreement_id") or 0, year=year,
                                         max_revenue=_s(form, "max_revenue"),
                                         price_authority=_s(form, "price_authority"),
                                         price_authority_ref=_s(form, "price_authority_ref"))
        db.commit()
    except DomainError as exc:
        _fail(exc, db)
        return _pricing(request, db, year, values, _errors(exc), exc, exc.status)
    return RedirectResponse(f"/products/pricing/limits?year={year}&done=1", status_code=303)


# -- public disclosure (OPS-32) ----------------------------------------------------------------------------------


@router.get("/public/products")
def public_products(request: Request, db: Db, operator: int | None = Query(None),
                    year: int | None = Query(None, ge=2000, le=2100), actor: Actor = public()) -> Response:
    listing = disclosure.operators(db, operator_org_id=operator, year=year)
    return render(request, "products_public.html", {
        "operators": listing, "operator": operator, "year": year, "this_year": clock.today().year,
        "all_operators": disclosure.operators(db) if operator else listing, **VOCAB})



