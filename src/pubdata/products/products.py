"""Creating products from approved exports (OPS-3, OPS-26) and the re-development rule (OPS-31).

A product is linked to the exports it was built from (with their signed manifests' digests), to the authorized
resources those came from and to the agreement. An operator may not base a new product, directly or through
its lineage, on a product it has already delivered within its authorization; other organisations may, and the
lineage is recorded (``parent_ids``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor
from pubdata.errors import Conflict, FieldError, PermissionDenied, ValidationFailed
from pubdata.identity.access import require, require_same_org
from pubdata.identity.permissions import Permission
from pubdata.operation.access import require_active_agreement, require_not_suspended
from pubdata.operation.models import Agreement
from pubdata.products import sources
from pubdata.products.common import event, get
from pubdata.products.models import Product, Subscription
from pubdata.products.workflow import CATEGORIES, FORMS, PRODUCT

NUMBER_PREFIX = "GSCP"


def get_product(session: Session, product_id: int) -> Product:
    return get(session, Product, product_id, "数据产品")


def by_number(session: Session, number: str) -> Product | None:
    return session.scalar(select(Product).where(Product.number == number))


def _fields(name: str, form: str, category: str, purpose: str, description: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if not name.strip():
        errors.append(FieldError("name", "required", "请填写产品名称。"))
    elif len(name.strip()) > 100:
        errors.append(FieldError("name", "too_long", "产品名称不超过 100 字。"))
    if form not in FORMS:
        errors.append(FieldError("form", "unknown_form",
                                 "产品形态应为数据模型、数据接口、数据报告或数据服务（第三条）。"))
    if category not in CATEGORIES:
        errors.append(FieldError("category", "unknown_category",
                                 "产品类别应为公共治理、公益事业类或产业发展、行业发展类。"))
    if not purpose.strip():
        errors.append(FieldError("purpose", "required", "请填写产品用途。"))
    elif len(purpose.strip()) > 1000:
        errors.append(FieldError("purpose", "too_long", "产品用途不超过 1000 字。"))
    if len(description) > 4000:
        errors.append(FieldError("description", "too_long", "产品说明不超过 4000 字。"))
    return errors


def ancestors(session: Session, product: Product) -> list[Product]:
    """Every product this one was (directly or indirectly) re-developed from."""
    seen: dict[int, Product] = {}
    todo = list(product.parent_ids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        parent = session.get(Product, pid)
        if parent is not None:
            seen[pid] = parent
            todo.extend(parent.parent_ids)
    return list(seen.values())


def _delivered_by(session: Session, org_id: int | None) -> list[Product]:
    return list(session.scalars(select(Product).where(Product.owner_org_id == org_id,
                                                      Product.delivered_on.is_not(None))))


def check_redevelopment(session: Session, org_id: int | None, parents: Sequence[Product],
                        export_ids: Sequence[int]) -> None:
    """OPS-31: no new product of this organisation on a product it already delivered, directly, through the
    lineage, or by reusing the exports such a product was delivered from."""
    for parent in parents:
        for p in (parent, *ancestors(session, parent)):
            if p.owner_org_id == org_id and p.delivered_on is not None:
                raise Conflict(f"产品“{p.name}”是本单位在授权范围内已交付的产品，运营机构不得直接或间接参与其再开发"
                               "（第三十一条）；其他经营主体可以再开发。", code="redevelopment_forbidden")
    for delivered in _delivered_by(session, org_id):
        reused = set(delivered.export_ids) & set(export_ids)
        if reused:
            raise Conflict(f"导出成果已用于本单位已交付的产品“{delivered.name}”，不得再开发（第三十一条）。",
                           code="redevelopment_forbidden")


def create_product(session: Session, *, actor: Actor, name: str, form: str, category: str, purpose: str,
                   description: str = "", export_ids: Sequence[int] = (), parent_ids: Sequence[int] = ()) -> Product:
    """A product from the actor's approved exports and/or products of others it obtained (re-development)."""
    require(actor, Permission.OPERATION_OPERATE)
    require_not_suspended(session, actor.org_id)
    name, purpose, description = name.strip(), purpose.strip(), (description or "").strip()
    errors = _fields(name, form, category, purpose, description)
    exports = list(dict.fromkeys(int(x) for x in export_ids))
    parent_list = list(dict.fromkeys(int(x) for x in parent_ids))
    if not exports and not parent_list:
        errors.append(FieldError("export_ids", "no_source", "请至少选择一项经审核导出的成果或一个来源产品。"))
    if errors:
        raise ValidationFailed(errors)

    releases = [sources.released(session, e) for e in exports]
    agreement_ids = {r.agreement_id for r in releases}
    for r in releases:
        if r.operator_org_id != actor.org_id:
            raise PermissionDenied("只能使用本单位申请并经审核导出的成果。", code="export_not_yours")
    if len(agreement_ids) > 1:
        raise ValidationFailed.single("export_ids", "mixed_agreements", "一个产品的导出成果应来自同一授权运营协议。")
    if releases:
        agreement = require_active_agreement(session, actor.org_id or 0)
        if agreement.id not in agreement_ids:
            raise Conflict("导出成果不属于本单位现行有效的授权运营协议。", code="export_outside_agreement")

    parents = [get_product(session, pid) for pid in parent_list]
    for parent in parents:
        if parent.delivered_on is None:
            raise ValidationFailed.single("parent_ids", "parent_not_delivered",
                                          f"产品“{parent.name}”尚未交付，不能作为再开发的来源。")
    check_redevelopment(session, actor.org_id, parents, exports)
    for parent in parents:
        if parent.owner_org_id != actor.org_id and not _obtained(session, actor.org_id, parent.id):
            raise PermissionDenied(f"本单位未订购产品“{parent.name}”，不能基于它再开发。", code="parent_not_obtained")
    if not agreement_ids:
        agreement_ids = {parents[0].agreement_id}
    agreement = get(session, Agreement, next(iter(agreement_ids)), "授权运营协议")

    resources: list[int] = []
    for rid in [*(i for r in releases for i in r.resource_ids), *(i for p in parents for i in p.resource_ids)]:
        if rid not in resources:
            resources.append(rid)
    if not resources:
        resources = list(agreement.content.get("resource_ids", []))
    product = Product(
        owner_org_id=actor.org_id or 0, agreement_id=agreement.id, name=name, form=form, category=category,
        purpose=purpose, description=description, export_ids=exports,
        manifests=[{"export_id": r.export_id, "manifest_digest": r.manifest_digest, "kind": r.kind} for r in releases],
        resource_ids=resources, parent_ids=parent_list, state="draft")
    session.add(product)
    session.flush()
    product.number = f"{NUMBER_PREFIX}-{clock.today().year}-{product.id:06d}"
    event(session, actor, "product", "created", product, None,
          {"number": product.number, "agreement_id": agreement.id, "export_ids": exports,
           "manifests": product.manifests, "parent_ids": parent_list, "resource_ids": resources})
    return product


def _obtained(session: Session, org_id: int | None, product_id: int) -> bool:
    return session.scalar(select(Subscription.id).where(Subscription.product_id == product_id,
                                                        Subscription.subscriber_org_id == org_id).limit(1)) is not None


def retire(session: Session, *, actor: Actor, product_id: int, version: int | None = None) -> Product:
    from pubdata.products.common import check_version

    require(actor, Permission.OPERATION_OPERATE)
    product = get_product(session, product_id)
    require_same_org(actor, product.owner_org_id, "只能管理本单位的产品。", "not_owner")
    check_version(product, version)
    before, _ = PRODUCT.move(product, "retire")
    event(session, actor, "product", "retired", product, before)
    return product


def products_of(session: Session, org_id: int | None) -> list[Product]:
    return list(session.scalars(select(Product).where(Product.owner_org_id == org_id).order_by(Product.id.desc())))
