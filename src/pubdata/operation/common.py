"""Small helpers shared by the operation services."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from pubdata.audit import Actor
from pubdata.errors import Conflict, FieldError, NotFound
from pubdata.files.service import exists as file_exists
from pubdata.identity.permissions import Permission

T = TypeVar("T")
MAX_TEXT = 4000


def get(session: Session, model: type[T], obj_id: int, label: str) -> T:
    obj = session.get(model, obj_id)
    if obj is None:
        raise NotFound(f"{label}不存在。", code="not_found")
    return obj


def check_version(obj: Any, version: int | None) -> None:
    """Optimistic locking for forms: the page's version must still be current."""
    if version is not None and version != obj.version:
        raise Conflict("该记录已被他人修改，请刷新页面后重试。", code="stale_version")


def text(value: Any, field: str, label: str, errors: list[FieldError], *, required: bool = True,
         limit: int = MAX_TEXT) -> str:
    out = str(value or "").strip()
    if required and not out:
        errors.append(FieldError(field, "required", f"请填写{label}。"))
    elif len(out) > limit:
        errors.append(FieldError(field, "too_long", f"{label}不超过 {limit} 字。"))
    return out


def attachments(session: Session, actor: Actor, digests: Sequence[str], errors: list[FieldError]) -> list[str]:
    clean = [d.strip().lower() for d in digests if d and d.strip()]
    for i, digest in enumerate(clean):
        if not file_exists(session, digest, organisation_id=actor.org_id):
            errors.append(FieldError(f"attachments.{i}", "file_not_found", "附件未上传或不是本单位上传的文件。"))
    return clean


def number(prefix: str, year: int, obj_id: int) -> str:
    return f"{prefix}-{year}-{obj_id:05d}"


# Who may reach a route several bodies share (the services check which step each may take); everyone else is
# refused before any input is read.
#: Each review stage has its own body (OPS-10, OPS-16, OPS-17).
REVIEWERS = (Permission.OPERATION_FEASIBILITY, Permission.OPERATION_LEGALITY, Permission.OPERATION_FAIR_COMPETITION,
             Permission.OPERATION_DELIBERATE)
#: Units providing data through government data sharing hold it as registration subjects or oversee it as
#: industry departments (OPS-12 consent).
PROVIDERS = (Permission.DRAFT_WRITE, Permission.REGISTRY_READ_INDUSTRY)
PLAN_ACTORS = (Permission.OPERATION_PLAN, *REVIEWERS, Permission.OPERATION_FILE, Permission.OPERATION_SELECT,
               *PROVIDERS)
SIGNERS = (Permission.OPERATION_SELECT, Permission.OPERATION_OPERATE)
MEASURE_ACTORS = (Permission.OPERATION_OPERATE, Permission.OPERATION_SUPERVISE)
AGREEMENT_ACTORS = (*SIGNERS, Permission.OPERATION_FILE, Permission.OPERATION_SUPERVISE,
                    Permission.OPERATION_TERMINATE, Permission.OPERATION_EVALUATE)
