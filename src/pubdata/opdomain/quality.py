"""Data quality (OPS-24): an operator with a grant reports a gap or error in the data; the providing industry
department answers and fixes it or explains why not; the operator confirms or reopens. Response times are
working days on the platform calendar, shown per dataset and per provider to the implementing agency.

States (``QUALITY``)::

    open --answer--> answered --fix--> fixed ------confirm--> closed
                              \\--decline--> not_fixed --confirm--> closed
    fixed | not_fixed --reopen--> open

Every step is an audit event (``opdomain:quality:<action>``) in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor, record
from pubdata.calendar import get_calendar
from pubdata.db.base import utcnow
from pubdata.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from pubdata.identity.access import require, require_same_org
from pubdata.identity.permissions import Permission
from pubdata.opdomain import datasets, grants
from pubdata.opdomain.models import OpDataset, QualityReport
from pubdata.operation.access import require_not_suspended
from pubdata.workflow import StateMachine

KINDS = {"missing": "缺失", "wrong": "错误", "stale": "过时", "inconsistent": "不一致", "other": "其他"}
QUALITY = StateMachine(
    name="数据质量问题",
    transitions={("open", "answer"): "answered", ("answered", "fix"): "fixed", ("answered", "decline"): "not_fixed",
                 ("fixed", "confirm"): "closed", ("not_fixed", "confirm"): "closed",
                 ("fixed", "reopen"): "open", ("not_fixed", "reopen"): "open"},
    labels={"open": "待答复", "answered": "已答复待处理", "fixed": "已修复", "not_fixed": "不予修复",
            "closed": "已关闭",
            "answer": "答复", "fix": "标记已修复", "decline": "说明不予修复", "confirm": "确认关闭",
            "reopen": "重新打开"},
)
#: Who takes each action: the providing department or the reporting operator.
PROVIDER_ACTIONS = frozenset({"answer", "fix", "decline"})
OPERATOR_ACTIONS = frozenset({"confirm", "reopen"})
QUALITY_ACTIONS = PROVIDER_ACTIONS | OPERATOR_ACTIONS
SUPERVISE = Permission.OPERATION_SUPERVISE


def get_report(session: Session, report_id: int) -> QualityReport:
    row = session.get(QualityReport, report_id)
    if row is None:
        raise NotFound("数据质量问题不存在。", code="quality_report_not_found")
    return row


def _text(value: str, field: str, label: str, limit: int, errors: list[FieldError]) -> str:
    value = (value or "").strip()
    if not value:
        errors.append(FieldError(field, "required", f"请填写{label}。"))
    elif len(value) > limit:
        errors.append(FieldError(field, "too_long", f"{label}不能超过 {limit} 字。"))
    return value


def report(session: Session, *, actor: Actor, grant_id: int, table: str, columns: Sequence[str], kind: str,
           description: str) -> QualityReport:
    """An operator reports a problem in a dataset it holds a live grant on."""
    require(actor, Permission.OPERATION_OPERATE)
    grant = grants.get_grant(session, grant_id)
    require_same_org(actor, grant.operator_org_id)
    require_not_suspended(session, actor.org_id)
    if not grants.is_active(grant, utcnow()):
        raise PermissionDenied("该数据授权已撤销或已过期，不能据此反馈。", code="grant_inactive")
    ds = datasets.get_dataset(session, grant.dataset_id)
    errors: list[FieldError] = []
    table = (table or "").strip().lower()
    doc = next((t for t in ds.tables if t["name"] == table), None)
    cols = sorted({c.strip().lower() for c in columns if c and c.strip()})
    if doc is None:
        errors.append(FieldError("table", "unknown_table", "请选择数据集中的表。"))
    else:
        unknown = [c for c in cols if c not in {x["name"] for x in doc["columns"]}]
        if unknown:
            errors.append(FieldError("columns", "unknown_column", f"表 {table} 中没有列：" + "、".join(unknown) + "。"))
    if kind not in KINDS:
        errors.append(FieldError("kind", "bad_kind", "请选择问题类型（缺失、错误、过时、不一致、其他）。"))
    text = _text(description, "description", "问题描述", 4000, errors)
    if errors:
        raise ValidationFailed(errors)
    row = QualityReport(dataset_id=ds.id, grant_id=grant.id, operator_org_id=grant.operator_org_id,
                        provider_org_id=ds.provider_org_id, reported_by_user_id=actor.user_id, table_name=table,
                        columns=cols, kind=kind, description=text, reported_on=clock.today())
    session.add(row)
    session.flush()
    record(session, actor=actor, tag="opdomain:quality:report", object_type="opdomain_quality_report",
           object_id=row.id, data={"dataset_id": ds.id, "grant_id": grant.id, "table": table, "columns": cols,
                                   "kind": kind})
    return row


def _workdays(session: Session, since: dt.date) -> int:
    return max(0, get_calendar(session).workdays_between(since, clock.today()))


def act(session: Session, *, actor: Actor, report_id: int, action: str, note: str = "",
        version: int | None = None) -> QualityReport:
    """One step of the state machine; the provider answers, fixes or declines, the operator confirms or reopens."""
    row = get_report(session, report_id)
    if action in PROVIDER_ACTIONS:
        require(actor, datasets.PROVIDE)
        require_same_org(actor, row.provider_org_id)
    elif action in OPERATOR_ACTIONS:
        require(actor, Permission.OPERATION_OPERATE)
        require_same_org(actor, row.operator_org_id)
    else:
        raise ValidationFailed.single("action", "unknown_action", "未知的操作。")
    if version is not None and version != row.version:
        raise Conflict("该问题已被他人处理，请刷新后重试。", code="stale_version")
    before = row.state
    after = QUALITY.next_state(before, action)  # 409 illegal_transition before anything changes
    errors: list[FieldError] = []
    required = action in PROVIDER_ACTIONS or action == "reopen"
    text = _text(note, "note", "说明", 4000, errors) if required else (note or "").strip()[:4000]
    if errors:
        raise ValidationFailed(errors)
    row.state = after
    _apply(session, row, action, text)
    session.flush()
    record(session, actor=actor, tag=f"opdomain:quality:{action}", object_type="opdomain_quality_report",
           object_id=row.id, changes={"state": [before, row.state]},
           data={"note": text, "response_workdays": row.response_workdays,
                 "resolution_workdays": row.resolution_workdays})
    return row


def _apply(session: Session, row: QualityReport, action: str, text: str) -> None:
    now = utcnow()
    if action == "answer":
        row.answer = text
        if row.answered_at is None:  # the response time is the first answer's
            row.answered_at, row.response_workdays = now, _workdays(session, row.reported_on)
    elif action in ("fix", "decline"):
        row.resolution, row.resolved_at = text, now
        row.resolution_workdays = _workdays(session, row.reported_on)
    elif action == "confirm":
        row.operator_note, row.closed_at = text or None, now
    elif action == "reopen":
        row.operator_note, row.reopened = text, row.reopened + 1


def reports_query(*, actor: Actor, state: str | None = None,
                  dataset_id: int | None = None) -> Select[tuple[QualityReport]]:
    """What the caller may see: its own reports (operator), those on its datasets (provider), all (supervisor)."""
    q = select(QualityReport).order_by(QualityReport.id.desc())
    if actor.can(Permission.OPERATION_OPERATE.value):
        q = q.where(QualityReport.operator_org_id == actor.org_id)
    elif actor.can(datasets.PROVIDE.value):
        q = q.where(QualityReport.provider_org_id == actor.org_id)
    else:
        require(actor, SUPERVISE)
    if state:
        q = q.where(QualityReport.state == state)
    if dataset_id is not None:
        q = q.where(QualityReport.dataset_id == dataset_id)
    return q


def can_see(actor: Actor, row: QualityReport) -> bool:
    return (actor.org_id in (row.operator_org_id, row.provider_org_id) or actor.can(SUPERVISE.value))


# --- response times (per dataset, per provider) ---------------------------------------------------------------

@dataclass(frozen=True)
class ResponseStats:
    key: int
    reports: int
    unanswered: int
    unresolved: int
    #: working days from report to first answer: mean and worst, over answered reports
    mean_response: float | None
    max_response: int | None
    mean_resolution: float | None
    #: the longest wait of a report not yet answered, in working days so far
    oldest_waiting: int | None


def _stats(session: Session, key: int, rows: Sequence[QualityReport]) -> ResponseStats:
    answered = [r.response_workdays for r in rows if r.response_workdays is not None]
    resolved = [r.resolution_workdays for r in rows if r.resolution_workdays is not None and r.state != "open"]
    waiting = [_workdays(session, r.reported_on) for r in rows if r.answered_at is None]
    return ResponseStats(
        key, len(rows), sum(r.answered_at is None for r in rows),
        sum(r.state in ("open", "answered") for r in rows),
        round(statistics.fmean(answered), 1) if answered else None, max(answered) if answered else None,
        round(statistics.fmean(resolved), 1) if resolved else None, max(waiting) if waiting else None)


def _grouped(session: Session, rows: Iterable[QualityReport], attr: str) -> list[ResponseStats]:
    groups: dict[int, list[QualityReport]] = {}
    for r in rows:
        groups.setdefault(getattr(r, attr), []).append(r)
    return [_stats(session, k, v) for k, v in sorted(groups.items())]


def response_times(session: Session, *, actor: Actor) -> dict[str, list[ResponseStats]]:
    """Per dataset and per provider (OPS-24 monitoring), for the implementing agency."""
    require(actor, SUPERVISE)
    rows = list(session.scalars(select(QualityReport).order_by(QualityReport.id)))
    return {"datasets": _grouped(session, rows, "dataset_id"), "providers": _grouped(session, rows, "provider_org_id")}


def dataset_labels(session: Session, ids: Iterable[int]) -> dict[int, OpDataset]:
    ids = set(ids)
    return {d.id: d for d in session.scalars(select(OpDataset).where(OpDataset.id.in_(ids)))} if ids else {}
