"""Statistics derived from registrations (REG-40): counts by registration type, status, region and industry.

What is counted: registrations that were submitted at least once (they have a registration code), whose
subject is located in the chosen region, and whose first-registration application was received in the period
(``received_on``; a resubmission after a supplement request moves it to the resubmission day). Regions are the
subject's, one level below the chosen region (province → 市州); industries are GB/T 4754 sections (门类) of the
registered content, and a registration filed under several sections counts once in each, so that table may sum
to more than the total. These figures are the platform's own; disclosing them needs the authority's consent
(``supervision.releases``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.audit import Actor
from pubdata.db.base import utcnow
from pubdata.errors import ValidationFailed
from pubdata.identity.access import require
from pubdata.identity.models import Organisation
from pubdata.identity.permissions import Permission
from pubdata.identity.roles import Role
from pubdata.reference.industries import get_industry
from pubdata.reference.regions import GANSU, get_region, is_within, region_path
from pubdata.registry import vocab
from pubdata.registry.models import Application, Registration
from pubdata.supervision.industry import effective_content, industries_of
from pubdata.supervision.scope import EVERYWHERE, Scope, active_roles, region_name, require_covers
from pubdata.supervision.workload import check_period

STATUS_LABELS = {"pending": "办理中", "registered": "已登记", "not_registered": "未予登记", "cancelled": "已注销",
                 "revoked": "已撤销"}


def statistics_scope(session: Session, actor: Actor) -> Scope:
    """The authority's regions; an institution's jurisdiction (it holds the data, but may not disclose it)."""
    if actor.kind == "system":
        return EVERYWHERE
    rows = active_roles(session, actor.org_id, [Role.DATA_AUTHORITY, Role.REGISTRATION_INSTITUTION])
    return Scope(tuple(r.region_code or GANSU for r in rows))


def resolve_region(session: Session, actor: Actor, region_code: str | None) -> str:
    scope = statistics_scope(session, actor)
    if not region_code:
        return scope.regions[0] if scope.regions else GANSU
    if get_region(region_code) is None:
        raise ValidationFailed.single("region_code", "unknown_region",
                                      f"行政区划代码 {region_code} 不存在（GB/T 2260）。")
    require_covers(scope, region_code, "所选统计范围")
    return region_code


def _child_of(region: str, code: str) -> str:
    """The region one level below ``region`` on the path to ``code`` (``code`` itself at the bottom)."""
    path = [r.code for r in region_path(code)]
    if region in path and path.index(region) + 1 < len(path):
        return path[path.index(region) + 1]
    return code


def _industry_name(code: str) -> str:
    industry = get_industry(code)
    return industry.name if industry is not None else code


def _table(counts: Counter[str], label: Callable[[str], str]) -> list[dict[str, Any]]:
    return [{"code": code, "label": label(code), "count": n} for code, n in sorted(counts.items())]


def compute(session: Session, *, start: dt.date, end: dt.date, region_code: str) -> dict[str, Any]:
    """The statistics snapshot; pure reading, no permission check (callers check)."""
    stmt = (select(Registration, Organisation.region_code, Application.received_on)
            .join(Organisation, Organisation.id == Registration.subject_org_id)
            .join(Application, (Application.registration_id == Registration.id) & (Application.kind == "first"))
            .where(Registration.code.is_not(None), Application.received_on >= start, Application.received_on <= end)
            .order_by(Registration.id))
    by_type: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    by_region: Counter[str] = Counter()
    by_industry: Counter[str] = Counter()
    total = 0
    for reg, subject_region, _received in session.execute(stmt):
        if not subject_region or not is_within(subject_region, region_code):
            continue
        total += 1
        by_type[reg.registration_type] += 1
        by_status[reg.status] += 1
        by_region[_child_of(region_code, subject_region)] += 1
        sections = set()
        for code in industries_of(effective_content(session, reg)):
            industry = get_industry(code) if isinstance(code, str) else None
            if industry is not None:
                sections.add(industry.code if industry.level == "section" else str(industry.parent))
        by_industry.update(sections)
    region = get_region(region_code)
    return {
        "basis": "登记主体位于统计范围内、首次登记申请于统计期内提交（补正后以重新提交日为准）的登记；"
                 "地区按登记主体所在地，行业按登记内容的国民经济行业门类，一项登记涉及多个门类时分别计数。",
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "region": {"code": region_code, "name": region.name if region else region_code},
        "total": total,
        "by_type": _table(by_type, lambda c: vocab.label("registration_type", c)),
        "by_status": _table(by_status, lambda c: STATUS_LABELS.get(c, c)),
        "by_region": _table(by_region, region_name),
        "by_industry": _table(by_industry, _industry_name),
        "generated_at": utcnow().isoformat(),
    }


def statistics(session: Session, *, actor: Actor, start: dt.date | None = None, end: dt.date | None = None,
               region_code: str | None = None) -> dict[str, Any]:
    """Live statistics for the authority (and the institution, which may not disclose them, REG-40)."""
    require(actor, Permission.STATISTICS_READ)
    start, end = check_period(start, end)
    return compute(session, start=start, end=end, region_code=resolve_region(session, actor, region_code))
