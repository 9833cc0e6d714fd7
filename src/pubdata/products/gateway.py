"""The metered data-API gateway (OPS-28): a subscriber calls a data-API product through the platform with its
subscription's API key; the product's own handler serves the released, disclosure-controlled content of the
product's approved exports (filter by column, page); every call is metered exactly once.

Refused: a missing or unknown key (401), a key of another product, a cancelled subscription (403), a product
whose registration was cancelled or revoked, or that is not offered (409).
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, exists, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.db import batching
from pubdata.errors import Conflict, DomainError, NotAuthenticated, PermissionDenied, ValidationFailed
from pubdata.operation.models import Agreement, OperationMeasure
from pubdata.operation.workflow import EFFECTIVE_STATES
from pubdata.products import metering, sources
from pubdata.products.models import Product, Subscription
from pubdata.products.subscriptions import hash_key
from pubdata.registry.models import Registration

log = logging.getLogger(__name__)

MAX_PAGE_SIZE = 500
#: Seconds a call waits for its count to be committed before it fails (the caller may retry with its key).
COUNT_TIMEOUT = 60.0
MAX_KEY = 100


#: Built once (the hot path): subscriptions by their key digests, each with its product, the product's registration
#: status, and whether the authorization it comes from is still in force and its operator not suspended (OPS-21).
AUTH = (select(Subscription.key_hash, Subscription.id, Subscription.state, Subscription.charging_basis,
               Subscription.unit_price, Product.id, Product.number, Product.state, Product.form, Product.export_ids,
               Product.manifests, Registration.status, Agreement.state, Agreement.end_date,
               exists().where(OperationMeasure.operator_org_id == Agreement.operator_org_id,
                              OperationMeasure.kind == "suspension", OperationMeasure.state == "in_force"))
        .join(Product, Product.id == Subscription.product_id)
        .join(Agreement, Agreement.id == Product.agreement_id)
        .outerjoin(Registration, Registration.id == Product.registration_id)
        .where(Subscription.key_hash.in_(bindparam("key_hashes", expanding=True))))


@dataclass(frozen=True)
class Access:
    subscription_id: int
    product_id: int
    charging_basis: str
    unit_price: int
    export_ids: tuple[int, ...]
    digests: tuple[str, ...]


def _key_hash(raw_key: str | None) -> str:
    return hash_key(raw_key) if raw_key else ""


def _auth_rows(conn: Connection, key_hashes: list[str]) -> dict[str, list[Any]]:
    """The AUTH row of each digest that belongs to a subscription."""
    wanted = sorted({h for h in key_hashes if h})
    if not wanted:
        return {}
    return {h: row for h, *row in conn.execute(AUTH, {"key_hashes": wanted})}


def access_of(rows: Mapping[str, Any], raw_key: str | None, product_number: str) -> Access:
    """What the key may call, from its subscription's row; refused with the reason otherwise."""
    if not raw_key:
        raise NotAuthenticated("请在 X-API-Key 请求头中提供订阅的接口密钥。", code="api_key_missing")
    row = rows.get(hash_key(raw_key))
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
        table = _content.get(key)
        if table is None:
            rel = sources.released(session, export_id)
            if rel.kind != "result":
                continue
            if len(_content) > 1000:
                _content.clear()
            table = _content[key] = (rel.columns, rel.rows)
        return table
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


@dataclass(frozen=True)
class CallRequest:
    """One call as the subscriber made it."""

    raw_key: str | None
    product_number: str
    idempotency_key: str | None
    filters: Mapping[str, str]
    page: int = 1
    size: int = 50


def _respond(session: Session, rows: Mapping[str, Any], req: CallRequest) -> tuple[dict[str, Any], metering.Call]:
    """The handler's answer to an authenticated call, and the call to count for it."""
    access = access_of(rows, req.raw_key, req.product_number)
    columns, released = released_table(session, access)
    payload = handle(columns, released, req.filters, req.page, req.size)
    volume = len(payload["rows"])
    payload["product"] = req.product_number
    return payload, metering.Call(access.subscription_id, access.product_id, str(req.idempotency_key), volume,
                                  metering.amount_for(access.charging_basis, access.unit_price, volume))


def _request(**request: Any) -> CallRequest:
    """The call with its idempotency key settled once, before anything runs: a batch run again after a failed
    commit must count a call without a key of its own under the same generated key."""
    req = CallRequest(**request)
    return dataclasses.replace(req, idempotency_key=clean_key(req.idempotency_key))


def call(session: Session, **request: Any) -> tuple[dict[str, Any], bool]:
    """One metered call (``CallRequest``'s fields) in the caller's transaction: (the answer, whether this call was
    newly counted). The caller commits."""
    return _call(session, _request(**request))


def _call(session: Session, req: CallRequest) -> tuple[dict[str, Any], bool]:
    session.flush()  # pending changes of the caller's unit of work first (Core execution does not autoflush)
    rows = _auth_rows(session.connection(), [_key_hash(req.raw_key)])
    payload, pending = _respond(session, rows, req)
    return payload, metering.record(session.connection(), [pending])[0]


Outcome = tuple[dict[str, Any], bool]


def _call_batch(conn: Connection, reqs: Sequence[CallRequest]) -> list[Outcome | Exception]:
    """The calls waiting together, in one transaction: their subscriptions read in one query, their counts written
    in one statement — in the same transaction, so a call is answered and counted against one state of its
    subscription."""
    if conn.dialect.name == "sqlite":
        # Take SQLite's write lock first (a write that matches nothing): a read snapshot cannot become a write once
        # another process committed, and waiting here uses the busy timeout instead of failing at the INSERT.
        conn.exec_driver_sql("UPDATE product_call SET volume = volume WHERE 0")
    rows = _auth_rows(conn, [_key_hash(r.raw_key) for r in reqs])
    session = Session(bind=conn)  # released content read on a cache miss
    answered: list[tuple[dict[str, Any], metering.Call] | Exception] = []
    for req in reqs:
        try:
            answered.append(_respond(session, rows, req))
        except DomainError as refusal:  # this call alone is refused
            answered.append(refusal)
        except DBAPIError:  # the transaction is lost: the batch fails, and is run again, as a whole
            raise
        except Exception as fault:  # a fault in this call's own data fails this call only
            log.exception("gateway call to %s failed", req.product_number)
            answered.append(fault)
    session.close()
    pending = [a[1] for a in answered if not isinstance(a, Exception)]
    counted = iter(metering.record(conn, pending))
    return [a if isinstance(a, Exception) else (a[0], next(counted)) for a in answered]


def submit(session: Session, **request: Any) -> Future[Outcome]:
    """One metered call (``CallRequest``'s fields) as the HTTP gateway makes it: the answer and whether the call
    was new, once its count is committed — by this process's batcher, with the calls made at the same moment. The
    answer must not leave before the future is done."""
    req = _request(**request)
    bind = session.get_bind()
    if isinstance(bind, Connection):
        # Bound to one connection, the session lives inside an enclosing transaction that another connection
        # could neither see nor wait out: the call runs in it.
        done: Future[Outcome] = Future()
        done.set_result(_call(session, req))
        session.commit()
        return done
    return batching.batcher(bind.engine, "gateway", _call_batch).submit(req)


def serve(session: Session, **request: Any) -> Outcome:
    """``submit``, waiting: returns only once the call's count is committed, so no answer leaves uncounted."""
    return submit(session, **request).result(COUNT_TIMEOUT)
