"""Reading posted HTML forms, storing the files they carry, and reporting their errors — one way for every page
module."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from pubdata.audit import Actor
from pubdata.errors import DomainError, FieldError, NotFound
from pubdata.files.service import store_upload
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


def store_files(request: Request, db: Session, actor: Actor, uploads: Sequence[UploadFile],
                field: str) -> tuple[list[str], list[FieldError]]:
    """Store each posted file in the attachment store and commit it on its own, so a later refusal (of a file or
    of the step the files came with) never loses what was already uploaded; refused files are reported at
    ``field`` by name and stored nowhere. Returns the SM3 digests stored."""
    digests: list[str] = []
    errors: list[FieldError] = []
    for upload in uploads:
        try:
            stored = store_upload(db, actor=actor, stream=upload.file, filename=upload.filename,
                                  declared_type=upload.content_type, settings=request.app.state.settings,
                                  field=field)
            db.commit()
            digests.append(stored.digest)
        except DomainError as exc:
            db.rollback()
            errors += [FieldError(field, e.code, f"“{upload.filename}”：{e.message}")
                       for e in exc.errors or [FieldError(field, exc.code, exc.detail)]]
    return digests, errors
