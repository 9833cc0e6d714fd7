"""Builders for the operation tests: every step goes through the real services."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor
from pubdata.identity.roles import Role
from pubdata.operation import agreements, plans, selection
from pubdata.operation.models import Agreement, OperationPlan, OperatorSelection
from pubdata.operation.content import AGREEMENT_TEXTS, PLAN_TEXTS
from tests.factories import actor_of, make_user
from tests.registry.support import registered


@dataclass
class Cast:
    authority: Actor
    agency: Actor
    justice: Actor
    market: Actor
    government: Actor
    operator: Actor
    industry: Actor
    subject: Actor
    clerk: Actor


def cast(session: Session) -> Cast:
    def a(role: Role) -> Actor:
        return actor_of(make_user(session, role))

    return Cast(a(Role.DATA_AUTHORITY), a(Role.IMPLEMENTING_AGENCY), a(Role.JUSTICE_DEPARTMENT),
                a(Role.MARKET_REGULATION), a(Role.PEOPLES_GOVERNMENT), a(Role.OPERATOR), a(Role.INDUSTRY_DEPARTMENT),
                a(Role.REGISTRATION_SUBJECT), a(Role.REGISTRATION_INSTITUTION))


_seen: dict[tuple[int, str], int] = {}


def resource(session: Session, c: Cast, tmp: Path, name: str = "全省公路路网运行监测数据") -> int:
    """A registered public data resource (OPS-23); a repeated name gets a suffix (no duplicate registrations)."""
    n = _seen[id(c), name] = _seen.get((id(c), name), 0) + 1
    return registered(session, c.subject, c.clerk, tmp,
                      basic={"name": name if n == 1 else f"{name}（{n}）"}).registration_id


def plan_content(resource_ids: list[int], **overrides: Any) -> dict[str, Any]:
    content: dict[str, Any] = {key: f"{label}的具体内容" for key, label, _, _ in PLAN_TEXTS}
    content.update({
        "name": "全省交通运输公共数据授权运营", "mode": "domain", "mode_detail": "交通运输领域", "period_years": 5,
        "resources": [{"registration_id": r, "update_frequency": "每日", "quality": "完整、准确"} for r in resource_ids],
        "products": [{"name": "路网通行指数", "category": "governance", "form": "report"},
                     {"name": "物流时效接口", "category": "industry", "form": "api"}],
    })
    content.update(overrides)
    return content


PASS_DETAILS = {
    "feasibility": {"experts": [{"name": "李教授", "unit": "兰州大学", "opinion": "需求明确，方案可行。"}]},
    "legality": {},
    "fair_competition": {},
    "deliberation": {"decision_ref": "省政府常务会议纪要〔2026〕12号", "meeting": "省政府第 12 次常务会议"},
}


def reviewer(c: Cast, stage: str) -> Actor:
    return {"feasibility": c.authority, "legality": c.justice, "fair_competition": c.market,
            "deliberation": c.government}[stage]


def review_all(session: Session, c: Cast, plan_id: int) -> None:
    for stage in ("feasibility", "legality", "fair_competition", "deliberation"):
        plans.review_plan(session, actor=reviewer(c, stage), plan_id=plan_id, stage=stage, outcome="pass",
                          opinion=f"{stage} 通过", details=PASS_DETAILS[stage])


def approved_plan(session: Session, c: Cast, tmp: Path, *, filed: bool = True) -> tuple[OperationPlan, list[int]]:
    ids = [resource(session, c, tmp, "全省公路路网运行监测数据"), resource(session, c, tmp, "道路运输车辆动态数据")]
    plan = plans.create_plan(session, actor=c.agency, content=plan_content(ids))
    plans.submit_plan(session, actor=c.agency, plan_id=plan.id)
    review_all(session, c, plan.id)
    if filed:
        plans.file_plan(session, actor=c.authority, plan_id=plan.id, filed_with="国家数据局", filing_ref="备 2026-001")
    return plan, ids


def decided_selection(session: Session, c: Cast, plan_id: int, org_id: int | None = None) -> OperatorSelection:
    sel = selection.open_selection(session, actor=c.agency, plan_id=plan_id, method="open_tender", announcement="公告")
    cand = selection.add_candidate(session, actor=c.agency, selection_id=sel.id, org_id=org_id or c.operator.org_id,
                                   qualifications=QUALS)
    selection.evaluate_candidate(session, actor=c.agency, selection_id=sel.id, candidate_id=cand.id, score=90,
                                 evaluation="综合能力强")
    return selection.decide(session, actor=c.agency, selection_id=sel.id, candidate_id=cand.id, decision="综合得分第一")


QUALS = {"funds": "注册资本 1 亿元", "management": "ISO 9001", "technology": "隐私计算平台", "service": "7×24 小时",
         "security": "等保三级", "credit": "无失信记录"}


def agreement_content(resource_ids: list[int]) -> dict[str, Any]:
    content: dict[str, Any] = {key: f"{label}条款" for key, label, _, _ in AGREEMENT_TEXTS}
    content["resource_ids"] = resource_ids
    content["products"] = [{"name": "路网通行指数", "category": "governance", "form": "report"}]
    return content


def draft(session: Session, c: Cast, sel_id: int, resource_ids: list[int], *, start: dt.date | None = None,
          years: int = 3, **extra: Any) -> Agreement:
    start = start or clock.today()
    end = start.replace(year=start.year + years) - dt.timedelta(days=1)
    return agreements.draft_agreement(session, actor=c.agency, selection_id=sel_id, title="交通运输公共数据授权运营协议",
                                      content=agreement_content(resource_ids), start_date=start, end_date=end, **extra)


def signed_agreement(session: Session, c: Cast, tmp: Path, *, filed: bool = True) -> Agreement:
    plan, ids = approved_plan(session, c, tmp)
    sel = decided_selection(session, c, plan.id)
    a = draft(session, c, sel.id, ids[:1])
    agreements.sign_agency(session, actor=c.agency, agreement_id=a.id, decision_ref="中心党委会〔2026〕3号")
    agreements.sign_operator(session, actor=c.operator, agreement_id=a.id)
    if filed:
        agreements.file_agreement(session, actor=c.authority, agreement_id=a.id, filing_ref="甘数备〔2026〕1号")
    return a
