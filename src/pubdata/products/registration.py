"""Product registration (OPS-27, REG-7): a first registration of type 数据产品和服务, prefilled from the product,
through the registry's own procedure. Its certificate's validity follows REG-37 (``registry.certificates.validity``
ends it with the authorized operation period when that is shorter than three years).

The product follows its registration: ``sync`` moves it to ``registered`` once certified, back to ``draft`` when
the application ended without registration, and to ``deregistered`` when the registration was cancelled or revoked.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from pubdata.audit import Actor
from pubdata.errors import Conflict
from pubdata.identity.access import require, require_same_org
from pubdata.identity.permissions import Permission
from pubdata.operation.access import require_not_suspended
from pubdata.operation.models import Agreement
from pubdata.products.common import check_version, event, get
from pubdata.products.models import Product
from pubdata.products.products import get_product
from pubdata.products.workflow import PRODUCT
from pubdata.registry import applications
from pubdata.registry.models import Application, Registration

#: Application states that end a first registration without registering it.
FAILED = frozenset({"not_accepted", "review_failed", "refused", "withdrawn", "cancelled"})
ENDED = frozenset({"cancelled", "revoked"})


def _join(values: list[str], limit: int) -> str:
    """All values if they fit the form's field, else the first (the rest go to the additional note)."""
    joined = "；".join(values)
    return joined if len(joined) <= limit else (values[0][:limit] if values else "")


def prefill(session: Session, product: Product) -> dict[str, Any]:
    """REG-7's product fields from the product: the authorized resources' registration names and codes, the
    authorized operation period and the purpose; the basic group borrows the first resource's classification."""
    agreement = get(session, Agreement, product.agreement_id, "授权运营协议")
    regs = [r for r in (session.get(Registration, i) for i in product.resource_ids) if r is not None]
    names, codes = [r.data_name for r in regs], [r.code or "" for r in regs]
    source_basic: dict[str, Any] = {}
    if regs and regs[0].versions:
        source_basic = dict(regs[0].versions[-1].content.get("basic", {}))
    content: dict[str, Any] = {
        "basic": {"name": product.name, "registration_type": "data_product",
                  "summary": (product.description or product.purpose)[:2000]},
        "product": {"product_type": product.form, "source_registration_name": _join(names, 100),
                    "source_registration_code": _join(codes, 40),
                    "authorization_start": agreement.start_date.isoformat(),
                    "authorization_end": agreement.end_date.isoformat(), "purpose": product.purpose[:1000]},
    }
    for key in ("category", "grade", "industries", "regions", "tags"):
        if key in source_basic:
            content["basic"][key] = source_basic[key]
    if len(regs) > 1:
        listing = "；".join(f"{r.data_name}（{r.code}）" for r in regs)
        content["additional"] = {"note": f"被授权数据资源：{listing}。产品编号 {product.number}。"[:2000]}
    return content


def start_registration(session: Session, *, actor: Actor, product_id: int, version: int | None = None) -> Application:
    """Open the registration draft for the product; the operator completes and submits it in the applicant
    workspace like any other application."""
    require(actor, Permission.OPERATION_OPERATE)
    require_not_suspended(session, actor.org_id)
    product = get_product(session, product_id)
    require_same_org(actor, product.owner_org_id, "只能登记本单位的产品。", "not_owner")
    check_version(product, version)
    PRODUCT.next_state(product.state, "register")  # refuse before creating anything
    app = applications.create_application(session, actor=actor, kind="first", content=prefill(session, product),
                                          subject_org_id=product.owner_org_id)
    before, _ = PRODUCT.move(product, "register")
    product.application_id = app.id
    product.registration_id = app.registration_id
    event(session, actor, "product", "registration_started", product, before,
          {"application_id": app.id, "application_number": app.number, "registration_id": app.registration_id})
    return app


def sync(session: Session, product: Product, *, actor: Actor | None = None) -> Product:
    """Bring the product's state in line with its registration (idempotent; audited when it moves)."""
    who = actor or Actor.system("products")
    reg = session.get(Registration, product.registration_id) if product.registration_id else None
    app = session.get(Application, product.application_id) if product.application_id else None
    action: str | None = None
    if product.state == "registering":
        if reg is not None and reg.status == "registered":
            action = "certified"
        elif app is not None and app.state in FAILED:
            action = "registration_failed"
    elif product.state in ("registered", "offered") and reg is not None and reg.status in ENDED:
        action = "registration_ended"
    if action is None:
        return product
    before, _ = PRODUCT.move(product, action)
    data: dict[str, Any] = {"registration_id": product.registration_id,
                            "registration_status": reg.status if reg else None,
                            "registration_code": reg.code if reg else None}
    if action == "registration_failed":
        data["application_state"] = app.state if app else None
        product.application_id = None
        product.registration_id = None
    if action == "registration_ended":
        from pubdata.products.offers import end_offers

        end_offers(session, who, product)
    event(session, who, "product", action, product, before, data)
    session.flush()
    return product


def require_registered(session: Session, product: Product) -> Registration:
    """OPS-27/28: only a product whose registration is in force can be offered or used."""
    sync(session, product)
    reg = session.get(Registration, product.registration_id) if product.registration_id else None
    if reg is not None and reg.status in ENDED:
        raise Conflict(f"产品“{product.name}”的登记已{'撤销' if reg.status == 'revoked' else '注销'}，不能提供或使用。",
                       code="registration_ended")
    if reg is None or reg.status != "registered" or product.state not in ("registered", "offered"):
        raise Conflict(f"产品“{product.name}”尚未完成登记（第二十七条），不能提供。", code="product_not_registered")
    return reg
