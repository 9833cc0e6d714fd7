"""Helpers the product services share: lookups, optimistic locking, money, audit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from pubdata.audit import Actor, record
from pubdata.errors import FieldError
from pubdata.operation.common import check_version, get  # noqa: F401  (one lookup and locking rule)

#: Larger than any plausible price or revenue (10^13 fen = 1000 亿元), small enough for every backend.
MAX_FEN = 10**13


def event(session: Session, actor: Actor, subject: str, action: str, obj: Any, before: str | None = None,
          data: Mapping[str, Any] | None = None) -> None:
    changes = {"state": [before, obj.state]} if before != getattr(obj, "state", before) else {}
    record(session, actor=actor, tag=f"products:{subject}:{action}", object_type=f"product_{subject}"
           if subject != "product" else "product", object_id=obj.id, changes=changes, data=dict(data or {}))


def parse_money(value: Any, field: str, label: str, errors: list[FieldError], *, required: bool = True) -> int | None:
    """Yuan as typed (``"12.5"``, ``12``) → fen. Two decimals at most, not negative."""
    if isinstance(value, int) and not isinstance(value, bool):
        raw = Decimal(value)
    else:
        text = str(value if value is not None else "").strip().replace(",", "").replace("，", "")
        if not text:
            if required:
                errors.append(FieldError(field, "required", f"请填写{label}。"))
            return None
        try:
            raw = Decimal(text)
        except InvalidOperation:
            errors.append(FieldError(field, "invalid_amount", f"{label}应为金额（元），如 12.50。"))
            return None
    if not raw.is_finite() or raw < 0:
        errors.append(FieldError(field, "invalid_amount", f"{label}不能为负数。"))
        return None
    if raw != raw.quantize(Decimal("0.01")):
        errors.append(FieldError(field, "invalid_amount", f"{label}最多保留两位小数（精确到分）。"))
        return None
    fen = int(raw * 100)
    if fen > MAX_FEN:
        errors.append(FieldError(field, "too_large", f"{label}超出允许范围。"))
        return None
    return fen


def yuan(fen: int | None) -> str:
    """Fen as 元 with two decimals, for messages and pages."""
    if fen is None:
        return "—"
    return f"{Decimal(fen) / 100:,.2f}"


def year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """A period (calendar year) in Beijing time, as UTC instants [start, end)."""
    from pubdata.clock import SHANGHAI

    return (dt.datetime(year, 1, 1, tzinfo=SHANGHAI).astimezone(dt.UTC),
            dt.datetime(year + 1, 1, 1, tzinfo=SHANGHAI).astimezone(dt.UTC))
