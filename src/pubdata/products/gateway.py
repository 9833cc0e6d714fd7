"""The metered data-API gateway (OPS-28): a subscriber calls a data-API product through the platform with its
subscription's API key; the product's own handler serves the released, disclosure-controlled content of the
product's approved exports (filter by column, page); every call is metered exactly once.

Refused: a missing or unknown key (401), a key of another product, a cancelled subscription (403), a product
whose registration was cancelled or revoked, or that is not offered (409).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, exists, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.errors import Conflict, NotAuthenticated, PermissionDenied, ValidationFailed
from pubdata.operation.models import Agreement, OperationMeasure
from pubdata.operation.workflow import EFFECTIVE_STATES
from pubdata.products import sources
from pubdata.products.metering import amount_for, meter
from pubdata.products.models import Product, Subscription
from pubdata.products.subscriptions import hash_key
from pubdata.registry.models import Registration

MAX_PAGE_SIZE = 500
MAX_KEY = 100


#: Built once (the hot path): the subscription by its key digest, with its product, the product's registration
#: status, and whether the authorization it comes from is still in force and its operator not suspended (OPS-21).
AUTH = (select(Subscription.id, Subscription.state, Subscription.charging_basis, Subscription.unit_price,
               Product.id, Product.number, Product.state, Product.form, Product.export_ids, Product.manifests,
               Registration.status, Agreement.state, Agreement.end_date,
               exists().where(OperationMeasure.operator_org_id == Agreement.operator_org_id,
                              OperationMeasure.kind == "suspension", OperationMeasure.state == "in_force"))
        .join(Product, Product.id == Subscription.product_id)
        .join(Agreement, Agreement.id == Product.agreement_id)
        .outerjoin(Registration, Registration.id == Product.registration_id)
        .where(Subscription.key_hash == bindparam("key_hash")))


@dataclass(frozen=True)
class Access:
    subscription_id: int
    product_id: int
    charging_basis: str
    unit_price: int
    export_ids: tuple[int, ...]
    digests: tuple[str, ...]


def authenticate(session: Session, raw_key: str | None, product_number: str) -> Access:
    if not raw_key:
        raise NotAuthenticated("请在 X-API-Key 请求头中提供订阅的接口密钥。", code="api_key_missing")
    session.flush()  # pending changes of the caller's unit of work first (Core execution does not autoflush)
    row = session.connection().execute(AUTH, {"key_hash": hash_key(raw_key)}).first()
    if row is None:
        raise NotAuthenticated("接口密钥无效。", code="invalid_api_key")
    (sub_id, sub_state, basis, price, pid, number, p_state, form, export_ids, manifests, reg_status,
     agreement_state, agreement_end, suspended) = row
    if number != product_number:
        raise PermissionDenied("该密钥不是此产品的订阅密钥。", code="key_product_mismatch")
    if sub_state != "active":
        raise PermissionDenied("该订阅已取消，不能再调用此产品。", code="subscription_cancelled")
    if reg_status in ("revoked", "cancelled"):
        raise Conflict(f"该产品的登记已{'撤销' if reg_status == 'revoked' else '注销'}，不能调用。",
                       code="registration_ended")
    if agreement_state not in EFFECTIVE_STATES or agreement_end < clock.today():
        raise Conflict("该产品所依据的授权运营协议已终止或期满，不再提供。", code="authorization_ended")
    if suspended:
        raise Conflict("该产品的运营机构授权运营平台使用权限已被暂停（第二十一条），暂停期间不提供。",
                       code="operator_suspended")
    if reg_status != "registered" or p_state != "offered":
        raise Conflict("该产品目前未提供。", code="product_not_offered")
    if form != "api":
        raise Conflict("该产品不是数据接口产品，请按订购取得发布的文件。", code="not_api_product")
    return Access(sub_id, pid, basis, price, tuple(export_ids), tuple(m.get("manifest_digest", "") for m in manifests))


#: Released content by (export id, manifest digest): approved releases never change, so caching is safe.
_content: dict[tuple[int, str], tuple[tuple[str, ...], tuple[tuple[Any, ...], ...]]] = {}


def released_table(session: Session, access: Access) -> tuple[tuple[str, ...], tuple[tuple[Any, ...], ...]]:
    """The first released result table of the product (its API content)."""
    for export_id, digest in zip(access.export_ids, access.digests, strict=False):
        key = (export_id, digest)
        if key not in _content:
            rel = sources.released(session, export_id)
            if rel.kind != "result":
                continue
            if len(_content) > 1000:
                _content.clear()
            _content[key] = (rel.columns, rel.rows)
        return _content[key]
    return (), ()


def handle(columns: tuple[str, ...], rows: tuple[tuple[Any, ...], ...], filters: Mapping[str, str], page: int,
           size: int) -> dict[str, Any]:
    """The product's own handler: equality filters on released columns, then one page."""
    index = {c: i for i, c in enumerate(columns)}
    unknown = [k for k in filters if k not in index]
    if unknown:
        raise ValidationFailed.single(unknown[0], "unknown_column",
                                      f"没有名为“{unknown[0]}”的字段，可用字段：{'、'.join(columns)}。")
    if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        raise ValidationFailed.single("size", "invalid_page", f"页码从 1 起，每页 1–{MAX_PAGE_SIZE} 条。")
    wanted = [(index[k], v) for k, v in filters.items()]
    matched = [r for r in rows if all(str(r[i]) == v for i, v in wanted)] if wanted else list(rows)
    chunk = matched[(page - 1) * size: page * size]
    return {"columns": list(columns), "rows": [list(r) for r in chunk], "page": page, "size": size,
            "total": len(matched)}


def clean_key(raw: str | None) -> str:
    if raw is None or raw == "":
        return uuid.uuid4().hex
    key = raw.strip()
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise ValidationFailed.single("Idempotency-Key", "invalid_idempotency_key",
                                      f"Idempotency-Key 应为 1–{MAX_KEY} 个可打印字符。")
    return key


def call(session: Session, *, raw_key: str | None, product_number: str, idempotency_key: str | None,
         filters: Mapping[str, str], page: int = 1, size: int = 50) -> tuple[dict[str, Any], bool]:
    """One metered call: (the handler's answer, whether this call was newly counted). The caller commits."""
    key = clean_key(idempotency_key)
    access = authenticate(session, raw_key, product_number)
    columns, rows = released_table(session, access)
    payload = handle(columns, rows, filters, page, size)
    volume = len(payload["rows"])
    counted = meter(session, subscription_id=access.subscription_id, product_id=access.product_id,
                    idempotency_key=key, volume=volume,
                    amount=amount_for(access.charging_basis, access.unit_price, volume))
    payload["product"] = product_number
    return payload, counted


#: SQLite cannot turn a read transaction into a write once another writer committed (``database is locked``);
#: the whole call is then repeated on a fresh snapshot. PostgreSQL waits on the unique index instead.
ATTEMPTS = 20


#: SQLite has one writer at a time; threads of this process queue on a lock rather than on SQLite's busy handler,
#: which polls with sleeps of 1–100 ms and would dominate the latency under concurrent calls.
_sqlite_locks: dict[int, threading.Lock] = {}


def serve(session: Session, **kwargs: Any) -> tuple[dict[str, Any], bool]:
    """``call`` in its own transaction, committed; repeated on SQLite's write conflict."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return _serve(session, **kwargs)
    lock = _sqlite_locks.setdefault(id(conn.engine), threading.Lock())
    with lock:
        return _serve(session, sqlite=True, **kwargs)


def _serve(session: Session, *, sqlite: bool = False, **kwargs: Any) -> tuple[dict[str, Any], bool]:
    for attempt in range(ATTEMPTS):
        try:
            if sqlite:
                # Take SQLite's write lock first (a write that matches nothing): another process's caller then
                # waits on the busy timeout instead of failing to upgrade a read snapshot at the INSERT.
                session.connection().exec_driver_sql("UPDATE product_call SET volume = volume WHERE 0")
            out = call(session, **kwargs)
            session.commit()
            return out
        except OperationalError as exc:
            session.rollback()
            if "database is locked" not in str(exc.orig) or attempt == ATTEMPTS - 1:
                raise
            time.sleep(0.002 * (attempt + 1))
    raise AssertionError("unreachable")
