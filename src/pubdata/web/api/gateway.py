"""The metered data-API gateway (OPS-28) over HTTP — the platform's hot path.

Its own router so that the application can match it before every other route: FastAPI tries routes in order,
and trying the platform's ~230 other routes first cost more than the gateway's own work (issue 10).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from pubdata.db import batching
from pubdata.errors import ServiceUnavailable
from pubdata.products import gateway
from pubdata.web.api.schemas import PROBLEM_RESPONSES
from pubdata.web.deps import ACCESS_ATTR

router = APIRouter(prefix="/api/v1", tags=["数据接口网关"], responses=PROBLEM_RESPONSES)


def _api_key_access() -> Any:
    """Route access for the gateway: no user session — ``gateway.access_of`` checks the subscription's API key.
    Declared public for the route check; it opens no database session of its own (the hot path stays lean)."""

    async def dependency() -> None:
        return None

    setattr(dependency, ACCESS_ATTR, "public")
    return Depends(dependency)


@router.get("/gateway/{product_number}/rows", dependencies=[_api_key_access()],
            summary="调用数据接口产品（X-API-Key 认证，按次计量；Idempotency-Key 使重试不重复计量）")
async def gateway_rows(product_number: str, request: Request, page: int = Query(1, ge=1, le=1_000_000),
                       size: int = Query(50, ge=1, le=gateway.MAX_PAGE_SIZE),
                       x_api_key: str | None = Header(None), idempotency_key: str | None = Header(None)) -> Response:
    # On the event loop, not in the thread pool: the call is handed to the gateway's batcher and awaited, so no
    # thread waits for it (docs/decisions.md, "The metered gateway").
    key = gateway.clean_key(idempotency_key)  # settled here, so that the answer can name a generated one
    filters = {k: v for k, v in request.query_params.items() if k not in ("page", "size")}
    session: Session = request.app.state.sessionmaker()
    try:
        outcome = gateway.submit(session, raw_key=x_api_key, product_number=product_number,
                                 idempotency_key=key, filters=filters, page=page, size=size)
    finally:
        session.close()
    payload, new = await _counted(outcome, key)
    return JSONResponse(payload, headers={"X-Metered": "counted" if new else "replayed", "Idempotency-Key": key})


async def _counted(outcome: Future[gateway.Outcome], key: str) -> gateway.Outcome:
    """The call's outcome once its count is committed. A call still waiting for its batch after COUNT_TIMEOUT, or
    whose caller went away, is withdrawn — never counted, never answered; one whose batch has started is waited
    for, because it will be counted."""
    unavailable = ServiceUnavailable(
        f"本次调用的计量暂时无法完成，未返回数据，也未计量。请稍后用同一幂等键（Idempotency-Key: {key}）重试，"
        "同一调用只计量一次。", code="metering_unavailable")
    try:
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(outcome)), gateway.COUNT_TIMEOUT)
        except TimeoutError:
            if outcome.cancel():
                raise unavailable from None
            return await asyncio.wrap_future(outcome)
    except asyncio.CancelledError:
        outcome.cancel()
        raise
    except batching.BatchFailed:  # the batch failed as a whole, after its retries: nothing was committed
        raise unavailable from None
