"""Builders for the product tests: every step through the real services (agreement, registration, offers…).

Approved exports come from the operation domain's export review; ``Releases`` stands in for it (by replacing
``pubdata.products.sources.released``) only where a test is about the product rules, not about the export flow.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from pubdata.audit import Actor
from pubdata.errors import NotFound
from pubdata.identity.roles import Role
from pubdata.operation.models import Agreement
from pubdata.products import offers, pricing, products, registration, sources, subscriptions
from pubdata.products.models import Product, Subscription
from pubdata.registry import applications as reg_apps
from pubdata.registry import samples
from pubdata.registry.certificates import certify
from tests.factories import actor_of, make_user
from tests.operation.support import Cast, cast, signed_agreement
from tests.registry.support import documents, upload

_ids = itertools.count(9000)

ROWS = tuple((f"6201{i:02d}", "男" if i % 2 else "女", 100 + i) for i in range(1, 41))
COLUMNS = ("county_code", "gender", "persons")


@dataclass
class Releases:
    """Approved exports by id, as the export review would hand them out."""

    items: dict[int, sources.Release] = field(default_factory=dict)

    def add(self, agreement: Agreement, *, operator_org_id: int | None = None, kind: str = "result") -> int:
        export_id = next(_ids)
        self.items[export_id] = sources.Release(
            export_id=export_id, agreement_id=agreement.id,
            operator_org_id=operator_org_id or agreement.operator_org_id, manifest_digest=f"{export_id:064x}",
            kind=kind, resource_ids=tuple(agreement.content["resource_ids"]), columns=COLUMNS, rows=ROWS)
        return export_id

    def released(self, session: Session, export_id: int) -> sources.Release:
        if export_id not in self.items:
            raise NotFound("导出申请不存在或未经批准。", code="export_not_released")
        return self.items[export_id]


@dataclass
class World:
    c: Cast
    agreement: Agreement
    releases: Releases
    subscriber: Actor
    other_operator: Actor
    tmp: Path


def world(session: Session, tmp: Path, monkeypatch: Any, *, years: int = 3) -> World:
    c = cast(session)
    agreement = signed_agreement(session, c, tmp)
    if years != 3:  # a shorter authorized operation period (REG-37)
        agreement.end_date = agreement.start_date.replace(year=agreement.start_date.year + years) - dt.timedelta(days=1)
        session.flush()
    rel = Releases()
    monkeypatch.setattr(sources, "released", rel.released)
    return World(c, agreement, rel, actor_of(make_user(session, Role.REGISTRATION_SUBJECT)),
                 actor_of(make_user(session, Role.OPERATOR)), tmp)


def product(session: Session, w: World, *, form: str = "api", category: str = "industry",
            name: str = "县区人口结构接口",
            **extra: Any) -> Product:
    if "export_ids" not in extra and "parent_ids" not in extra:
        extra["export_ids"] = [w.releases.add(w.agreement)]
    return products.create_product(session, actor=w.c.operator, name=name, form=form, category=category,
                                   purpose="为养老服务机构选址提供县区人口结构", **extra)


def complete(session: Session, actor: Actor, tmp: Path, app_id: int) -> None:
    """Fill what the product cannot know (storage, scenario, sharing, legality…) and attach the documents."""
    app = reg_apps.get_application(session, application_id=app_id)
    sample = samples.resource_content(lambda label: upload(session, actor, tmp, label))
    content = dict(app.content)
    for group in ("agency", "storage", "scenario", "sharing", "co_ownership", "legality", "catalog"):
        content[group] = sample[group]
    content["basic"] = {**sample["basic"], **content["basic"]}
    reg_apps.update_draft(session, actor=actor, application_id=app_id, content=content,
                          documents=documents(session, actor, tmp))


def register_as(session: Session, c: Cast, tmp: Path, p: Product) -> Product:
    """Through the registry: prefilled draft, completed, submitted, accepted, reviewed, certified."""
    app = registration.start_registration(session, actor=c.operator, product_id=p.id)
    complete(session, c.operator, tmp, app.id)
    reg_apps.submit(session, actor=c.operator, application_id=app.id)
    reg_apps.accept(session, actor=c.clerk, application_id=app.id)
    reg_apps.pass_review(session, actor=c.clerk, application_id=app.id)
    certify(session, actor=Actor.system("test"), application=app)
    return registration.sync(session, p)


def register(session: Session, w: World, p: Product) -> Product:
    return register_as(session, w.c, w.tmp, p)


def capped(session: Session, w: World, p: Product, basis: str = "per_call", cap: str = "2.00") -> None:
    pricing.set_price_cap(session, actor=w.c.agency, product_id=p.id, charging_basis=basis, cap=cap,
                          decision_ref="甘数价〔2026〕1号")


def offered(session: Session, w: World, *, basis: str = "per_call", price: str = "1.50", cap: str = "2.00",
            **kw: Any) -> Product:
    p = register(session, w, product(session, w, **kw))
    capped(session, w, p, basis, cap)
    offers.offer_product(session, actor=w.c.operator, product_id=p.id, mode="trade", charging_basis=basis,
                         unit_price=price)
    return p


def subscribed(session: Session, w: World, p: Product, actor: Actor | None = None) -> tuple[Subscription, str]:
    return subscriptions.subscribe(session, actor=actor or w.subscriber, product_id=p.id, purpose="养老机构选址",
                                   months=1)


# --- the real export review (opdomain.exports) -----------------------------------------------------------------

# Grouped rows under k are left out of a result whole; the small filtered count keeps a hidden cell in shown rows.
BY_COUNTY = ("SELECT county_code, count(*) AS n, count(*) FILTER (WHERE age BETWEEN 95 AND 130) AS oldest "
             "FROM population GROUP BY county_code")


def real_world(session: Session, tmp: Path) -> tuple[Cast, Agreement, Any]:
    """A signed agreement, a dataset loaded into the domain and a grant to the operator."""
    from tests.opdomain.platform_support import granted
    from tests.opdomain.platform_support import world as domain_world

    c = cast(session)
    dw = domain_world(session, c, tmp)
    return c, dw.agreement, granted(session, c, dw)


def approved_export(session: Session, c: Cast, grant: Any, *, approve: bool = True) -> int:
    """A checked query's protected result, requested for export and approved by the agency (signed manifest)."""
    from pubdata.opdomain import exports
    from tests.opdomain.platform_support import ran

    run = ran(session, c, grant, BY_COUNTY)
    req = exports.request_result_export(session, actor=c.operator, query_run_id=run.id, purpose="发布县区人口指数",
                                        product="路网通行指数")
    if approve:
        exports.decide(session, actor=c.agency, export_id=req.id, decision="approve", note="经审核可以导出")
    return req.id
