"""Jinja2 rendering with what every page needs: the actor, its navigation, the CSRF token."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from pubdata.identity.permissions import Permission
from pubdata.identity.roles import ROLE_LABELS, Role, VerificationStatus
from pubdata.web.paging import url_with

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def local_time(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """UTC in the database, Beijing time on the page."""
    return value.astimezone(SHANGHAI).strftime(fmt) if value else ""


def role_label(code: str) -> str:
    try:
        return ROLE_LABELS[Role(code)]
    except ValueError:
        return code


def status_label(code: str) -> str:
    try:
        return VerificationStatus(code).label
    except ValueError:
        return code


def local_date(value: dt.date | None) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


def region_label(code: str | None) -> str:
    """"620102" → "甘肃省 兰州市 城关区"."""
    from pubdata.reference.regions import region_path

    names = [r.name for r in region_path(code or "") if r.level != "country"]
    return " ".join(names) or (code or "")


def vocab_label(code: str | None, vocabulary: str) -> str:
    """A registration-form vocabulary code in Chinese ("data_resource" → "数据资源")."""
    from pubdata.registry import vocab

    return vocab.label(vocabulary, code) or (code or "")


def industry_label(code: str | None) -> str:
    """"54" → "54 道路运输业" (GB/T 4754-2017)."""
    from pubdata.reference.industries import get_industry

    found = get_industry(code or "")
    return f"{found.code} {found.name}" if found else (code or "")


def certificate_status_label(code: str | None) -> str:
    from pubdata.certificates.status import LABELS

    return LABELS.get(code or "", code or "")


TEMPLATES.env.filters["local_time"] = local_time
TEMPLATES.env.filters["vocab_label"] = vocab_label
TEMPLATES.env.filters["industry_label"] = industry_label
TEMPLATES.env.filters["certificate_status_label"] = certificate_status_label
TEMPLATES.env.filters["region_label"] = region_label
TEMPLATES.env.filters["role_label"] = role_label
TEMPLATES.env.filters["status_label"] = status_label
TEMPLATES.env.filters["local_date"] = local_date
TEMPLATES.env.globals["Permission"] = Permission
TEMPLATES.env.globals["url_with"] = url_with


def render(request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200,
           headers: dict[str, str] | None = None) -> HTMLResponse:
    from pubdata.web.deps import csrf_token_for

    ctx = {
        "actor": getattr(request.state, "actor", None),
        "web_session": getattr(request.state, "web_session", None),
        "csrf_token": csrf_token_for(request),
        **(context or {}),
    }
    return TEMPLATES.TemplateResponse(request, name, ctx, status_code=status_code, headers=headers)
