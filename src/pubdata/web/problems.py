"""Errors as RFC 9457 problem details (JSON API) or a Chinese error page (web pages)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from pubdata.errors import Conflict, DomainError, FieldError, NotAuthenticated

log = logging.getLogger("pubdata.web")

PROBLEM = "application/problem+json"

#: Pydantic error types in Chinese; unknown ones fall back to a generic message.
PYDANTIC_MESSAGES: dict[str, str] = {
    "missing": "此项为必填项。",
    "string_too_short": "内容过短。",
    "string_too_long": "内容过长。",
    "string_type": "应为文本。",
    "int_parsing": "应为整数。",
    "int_type": "应为整数。",
    "bool_parsing": "应为是或否。",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD。",
    "date_parsing": "日期格式应为 YYYY-MM-DD。",
    "date_type": "日期格式应为 YYYY-MM-DD。",
    "datetime_parsing": "时间格式应为 ISO 8601。",
    "enum": "取值不在允许范围内。",
    "literal_error": "取值不在允许范围内。",
    "greater_than_equal": "数值过小。",
    "less_than_equal": "数值过大。",
    "json_invalid": "请求体不是有效的 JSON。",
    "model_attributes_type": "请求体格式不正确。",
    "dict_type": "应为对象。",
    "list_type": "应为列表。",
    "extra_forbidden": "不允许的字段。",
}

TITLES = {400: "请求有误", 401: "未登录", 403: "无权操作", 404: "未找到", 405: "方法不允许", 409: "冲突",
          422: "信息有误", 429: "请求过多", 500: "服务器内部错误"}


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path in {"/healthz", "/openapi.json"}


def problem(request: Request, status: int, code: str, detail: str, errors: list[FieldError] | None = None,
            headers: dict[str, str] | None = None) -> Response:
    if wants_json(request):
        body: dict[str, Any] = {
            "type": f"https://pubdata.gansu.gov.cn/problems/{code}",
            "title": TITLES.get(status, "错误"),
            "status": status,
            "code": code,
            "detail": detail,
            "instance": request.url.path,
            "request_id": getattr(request.state, "request_id", None),
        }
        if errors:
            body["errors"] = [e.as_dict() for e in errors]
        return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)
    from pubdata.web.templating import render

    return render(request, "error.html", {"status": status, "title": TITLES.get(status, "错误"), "code": code,
                                          "detail": detail, "errors": errors or []}, status_code=status,
                  headers=headers)


async def domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    if isinstance(exc, NotAuthenticated) and not wants_json(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, NotAuthenticated) else None
    return problem(request, exc.status, exc.code, exc.detail, exc.errors, headers=headers)


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie", "form")]
    return ".".join(parts) or "body"


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldError(_field_path(tuple(e.get("loc", ()))), e.get("type", "invalid"),
                   PYDANTIC_MESSAGES.get(e.get("type", ""), "格式不正确。"))
        for e in exc.errors()
    ]
    return problem(request, 422, "validation_failed", "提交的信息有误，请按提示修改。", errors)


async def stale_data(request: Request, exc: Exception) -> Response:
    err = Conflict("该记录已被他人修改，请刷新后重试。", code="stale_version")
    return problem(request, err.status, err.code, err.detail)


def is_write_conflict(exc: Exception) -> bool:
    """SQLite refuses to turn a stale read transaction into a write while another writer committed."""
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


async def operational_error(request: Request, exc: Exception) -> Response:
    if is_write_conflict(exc):
        err = Conflict("其他人正在处理同一记录，请刷新后重试。", code="concurrent_update")
        return problem(request, err.status, err.code, err.detail)
    return await unexpected(request, exc)


def is_out_of_range(exc: Exception) -> bool:
    """An id in a URL larger than any row can have: SQLite's driver overflows, PostgreSQL refuses the value."""
    if isinstance(exc, OverflowError):
        return True
    return isinstance(exc, DataError) and "out of range" in str(exc.orig)


async def out_of_range(request: Request, exc: Exception) -> Response:
    if is_out_of_range(exc):
        return problem(request, 404, "not_found", "您访问的记录不存在。")
    return await unexpected(request, exc)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    detail = {404: "您访问的地址不存在。", 405: "不支持该请求方法。"}.get(exc.status_code, str(exc.detail))
    return problem(request, exc.status_code, code, detail)


async def unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(request, 500, "internal_error",
                   f"系统出现意外错误，已记录。请联系平台运维并提供请求编号 {getattr(request.state, 'request_id', '')}。")


def install(app: Any) -> None:
    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StaleDataError, stale_data)
    app.add_exception_handler(OperationalError, operational_error)
    app.add_exception_handler(DataError, out_of_range)
    app.add_exception_handler(OverflowError, out_of_range)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
