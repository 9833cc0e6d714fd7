"""Statistic releases (REG-40): a snapshot of the statistics with a title and period, drafted by the authority
or an institution, public only after the data authority approves it.

draft → approved (public) | rejected; approved → withdrawn (no longer public). The snapshot is computed when the
draft is made and never recomputed, so the authority approves exactly the figures it saw. The approver must be a
different person from the drafter (four eyes), and must administer the release's region (REG-41). Two approvals
at once: the version check lets one win; the other gets 409.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor, record
from pubdata.db.base import utcnow
from pubdata.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from pubdata.identity.access import require
from pubdata.identity.permissions import Permission
from pubdata.supervision.models import StatisticRelease
from pubdata.supervision.scope import authority_scope, require_covers
from pubdata.supervision.stats import compute, resolve_region, statistics_scope
from pubdata.workflow import StateMachine

RELEASE = StateMachine(
    name="统计信息发布",
    transitions={
        ("draft", "approve"): "approved",
        ("draft", "reject"): "rejected",
        ("approved", "withdraw"): "withdrawn",
    },
    labels={"draft": "待同意", "approved": "已同意公开", "rejected": "不同意公开", "withdrawn": "已撤回",
            "approve": "同意公开", "reject": "不同意公开", "withdraw": "撤回"},
)
TAGS = {"approve": "approved", "reject": "rejected", "withdraw": "withdrawn"}


def draft_release(session: Session, *, actor: Actor, title: str, period_start: dt.date, period_end: dt.date,
                  region_code: str | None = None) -> StatisticRelease:
    require(actor, Permission.STATISTICS_DRAFT)
    errors: list[FieldError] = []
    text = (title or "").strip()
    if not text:
        errors.append(FieldError("title", "required", "请填写标题。"))
    elif len(text) > 200:
        errors.append(FieldError("title", "too_long", "标题不超过 200 字。"))
    if period_end < period_start:
        errors.append(FieldError("period_end", "period_reversed", "统计期止不能早于统计期起。"))
    elif period_end > clock.today():
        errors.append(FieldError("period_end", "period_in_future", "统计期尚未结束，不能发布该期统计。"))
    if errors:
        raise ValidationFailed(errors)
    region = resolve_region(session, actor, region_code)
    rel = StatisticRelease(title=text, period_start=period_start, period_end=period_end, region_code=region,
                           snapshot=compute(session, start=period_start, end=period_end, region_code=region),
                           state="draft", drafted_by_org_id=actor.org_id, drafted_by_user_id=actor.user_id)
    session.add(rel)
    session.flush()
    record(session, actor=actor, tag="supervision:statistic_release:drafted", object_type="statistic_release",
           object_id=rel.id, changes={"state": [None, "draft"]},
           data={"title": text, "period_start": period_start, "period_end": period_end, "region_code": region,
                 "total": rel.snapshot["total"]})
    return rel


def _get(session: Session, release_id: int) -> StatisticRelease:
    rel = session.get(StatisticRelease, release_id)
    if rel is None:
        raise NotFound("统计信息发布不存在。", code="release_not_found")
    return rel


def _decide(session: Session, actor: Actor, release_id: int, action: str, version: int | None,
            reason: str = "") -> StatisticRelease:
    require(actor, Permission.STATISTICS_APPROVE)
    rel = _get(session, release_id)
    require_covers(authority_scope(session, actor), rel.region_code, "该统计信息的范围")
    if version is not None and version != rel.version:
        raise Conflict("该统计信息发布已被他人处理，请刷新后重试。", code="stale_version")
    text = (reason or "").strip()
    if action != "approve" and not text:
        raise ValidationFailed.single("reason", "required", "不同意公开或撤回时须说明理由。")
    if action == "approve" and actor.user_id is not None and actor.user_id == rel.drafted_by_user_id:
        raise PermissionDenied("拟定人不能同意自己拟定的统计信息发布，请由其他经办人审核。", code="own_draft")
    before = rel.state
    rel.state = RELEASE.next_state(before, action)
    now = utcnow()
    if action == "withdraw":
        rel.withdrawn_at, rel.reason = now, text
    else:
        rel.decided_at, rel.decided_by_org_id, rel.decided_by_user_id = now, actor.org_id, actor.user_id
        rel.reason = text or None
    session.flush()
    record(session, actor=actor, tag=f"supervision:statistic_release:{TAGS[action]}", object_type="statistic_release",
           object_id=rel.id, changes={"state": [before, rel.state]}, data={"reason": text})
    return rel


def approve_release(session: Session, *, actor: Actor, release_id: int, version: int | None = None) -> StatisticRelease:
    """The authority's consent (REG-40): from now on the release is on the public list."""
    return _decide(session, actor, release_id, "approve", version)


def reject_release(session: Session, *, actor: Actor, release_id: int, reason: str,
                   version: int | None = None) -> StatisticRelease:
    return _decide(session, actor, release_id, "reject", version, reason)


def withdraw_release(session: Session, *, actor: Actor, release_id: int, reason: str,
                     version: int | None = None) -> StatisticRelease:
    """Take an approved release off the public list (the record and its snapshot stay)."""
    return _decide(session, actor, release_id, "withdraw", version, reason)


def list_releases(session: Session, *, actor: Actor, state: str | None = None) -> list[StatisticRelease]:
    require(actor, Permission.STATISTICS_READ)
    scope = statistics_scope(session, actor)
    stmt = select(StatisticRelease).order_by(StatisticRelease.id.desc())
    if state:
        stmt = stmt.where(StatisticRelease.state == state)
    return [r for r in session.scalars(stmt) if scope.covers(r.region_code)]


def view_release(session: Session, *, actor: Actor, release_id: int) -> StatisticRelease:
    require(actor, Permission.STATISTICS_READ)
    rel = _get(session, release_id)
    require_covers(statistics_scope(session, actor), rel.region_code, "该统计信息的范围")
    return rel


def public_releases(session: Session, *, limit: int = 50, offset: int = 0) -> list[StatisticRelease]:
    """Approved releases only — what anyone may see (REG-40)."""
    stmt = (select(StatisticRelease).where(StatisticRelease.state == "approved")
            .order_by(StatisticRelease.decided_at.desc(), StatisticRelease.id.desc()).limit(limit).offset(offset))
    return list(session.scalars(stmt))
