"""Reading posted HTML forms and reporting their errors, one way for every page module."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from pubdata.errors import DomainError, NotFound
from pubdata.identity.models import Organisation


def text(form: FormData, key: str) -> str:
    return str(form.get(key) or "").strip()


def integer(form: FormData, key: str) -> int | None:
    """None for a missing or non-numeric value: the service then reports the field as required or invalid."""
    try:
        return int(text(form, key))
    except ValueError:
        return None


def integers(form: FormData, key: str) -> list[int]:
    return [int(x) for x in form.getlist(key) if str(x).isdigit()]


def date(form: FormData, key: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text(form, key))
    except ValueError:
        return None


def values(form: FormData) -> dict[str, Any]:
    """What was posted, to fill the form again after an error (never the CSRF token)."""
    return {k: str(v) for k, v in form.items() if k != "csrf_token"}


def field_errors(exc: DomainError) -> dict[str, str]:
    """Each error at its field, and also at the field's group ("tables.0.source" → "tables"), so a template can
    show it beside a single input or a whole fieldset."""
    return {e.field: e.message for e in exc.errors} | {e.field.split(".")[0]: e.message for e in exc.errors}


def abandon(exc: DomainError, db: Session) -> None:
    """Roll back a refused step; a missing object is a 404 page, not a form error."""
    db.rollback()
    if isinstance(exc, NotFound):
        raise exc


def org_names(db: Session, ids: set[int]) -> dict[int, str]:
    return {o.id: o.name for o in db.scalars(select(Organisation).where(Organisation.id.in_(ids)))} if ids else {}
