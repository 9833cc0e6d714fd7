"""Demo authorized operation (idempotent): one plan taken to a signed, filed agreement, one plan under review,
and a scenario demand — all through the real services, with the demo users of ``pubdata.demo``."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor
from pubdata.identity.access import actor_for
from pubdata.identity.users import user_by_username
from pubdata.operation import agreements, demands, plans, selection
from pubdata.operation.content import AGREEMENT_TEXTS, PLAN_TEXTS
from pubdata.operation.models import OperationPlan
from pubdata.registry.models import Registration

TITLE = "全省交通运输公共数据分领域授权运营"
REVIEWING = "全省道路运输公共数据依场景授权运营"


def _actor(session: Session, username: str) -> Actor | None:
    user = user_by_username(session, username)
    return actor_for(user) if user else None


def _content(name: str, ids: list[int], demand_ids: list[int]) -> dict[str, object]:
    content: dict[str, object] = {key: f"{label}：按省级统一要求执行，详见方案正文。" for key, label, _, _ in PLAN_TEXTS}
    content.update(name=name, mode="domain", mode_detail="交通运输领域", period_years=3, demand_ids=demand_ids,
                   resources=[{"registration_id": i, "update_frequency": "每日", "quality": "完整率 99%"} for i in ids],
                   products=[{"name": "路网通行指数报告", "category": "governance", "form": "report"},
                             {"name": "物流时效查询接口", "category": "industry", "form": "api"}])
    return content


def load(session: Session, *, system: Actor) -> list[str]:
    cast = {u: _actor(session, u) for u in ("authority", "agency", "justice", "market", "government", "operator")}
    if any(a is None for a in cast.values()) or session.scalar(
            select(OperationPlan.id).where(OperationPlan.title.in_([TITLE, REVIEWING]))) is not None:
        return []
    ids = list(session.scalars(select(Registration.id).where(
        Registration.status == "registered", Registration.registration_type == "data_resource")
        .order_by(Registration.id).limit(2)))
    if not ids:
        return []
    from pubdata.opdomain.demo import resource_ids as opdomain_resources

    # The operation domain's demo datasets (population, enterprises) are provided under this agreement too.
    extra = opdomain_resources(session)
    authority, agency, justice, market, government, operator = (cast[k] for k in cast)
    assert authority and agency and justice and market and government and operator
    demand = demands.submit_demand(session, actor=Actor.anonymous(), title="货车通行时效预测",
                                   scenario="物流企业需要预测跨市货运时效以安排车辆。", data_needed="路网运行监测数据",
                                   expected_product="时效查询接口", contact_name="刘先生", contact="0931-0000000")
    plan = plans.create_plan(session, actor=agency, content=_content(TITLE, ids + extra, [demand.id]))
    plans.submit_plan(session, actor=agency, plan_id=plan.id)
    reviewers = {"feasibility": authority, "legality": justice, "fair_competition": market, "deliberation": government}
    details = {"feasibility": {"experts": [{"name": "马教授", "unit": "兰州交通大学", "opinion": "需求明确，风险可控。"}]},
               "deliberation": {"decision_ref": "省政府常务会议纪要〔2026〕8号", "meeting": "省政府第 8 次常务会议"}}
    for stage, who in reviewers.items():
        plans.review_plan(session, actor=who, plan_id=plan.id, stage=stage, outcome="pass", opinion="同意。",
                          details=details.get(stage, {}))
    plans.file_plan(session, actor=authority, plan_id=plan.id, filed_with="国家数据局", filing_ref="国数备〔2026〕15号")
    sel = selection.open_selection(session, actor=agency, plan_id=plan.id, method="open_tender",
                                   announcement="在省公共资源交易平台公开招标。")
    cand = selection.add_candidate(session, actor=agency, selection_id=sel.id, org_id=operator.org_id or 0,
                                   qualifications={"funds": "注册资本 5 亿元", "management": "通过 ISO 27001 认证",
                                                   "technology": "隐私计算与可信数据空间平台", "service": "7×24 小时运维",
                                                   "security": "等级保护三级", "credit": "无不良信用记录"})
    selection.evaluate_candidate(session, actor=agency, selection_id=sel.id, candidate_id=cand.id, score=92,
                                 evaluation="技术与安全能力突出。")
    selection.decide(session, actor=agency, selection_id=sel.id, candidate_id=cand.id, decision="综合评分第一，确定为运营机构。")
    start = clock.today()
    content: dict[str, object] = {key: f"{label}：按协议正文约定。" for key, label, _, _ in AGREEMENT_TEXTS}
    content.update(resource_ids=ids[:1] + extra,
                   products=[{"name": "路网通行指数报告", "category": "governance", "form": "report"}])
    a = agreements.draft_agreement(session, actor=agency, selection_id=sel.id, title=f"{TITLE}协议", content=content,
                                   start_date=start, end_date=start.replace(year=start.year + 3) - dt.timedelta(days=1))
    agreements.sign_agency(session, actor=agency, agreement_id=a.id, decision_ref="中心党委会〔2026〕5号")
    agreements.sign_operator(session, actor=operator, agreement_id=a.id)
    agreements.file_agreement(session, actor=authority, agreement_id=a.id, filing_ref="甘数备〔2026〕3号")
    second = plans.create_plan(session, actor=agency, content={**_content(REVIEWING, ids[-1:], []), "mode": "scenario",
                                                               "mode_detail": "危险货物道路运输监管场景"})
    plans.submit_plan(session, actor=agency, plan_id=second.id)
    plans.review_plan(session, actor=authority, plan_id=second.id, stage="feasibility", outcome="pass", opinion="可行。",
                      details=details["feasibility"])
    return [f"授权运营：{TITLE}（协议已签署并备案）", f"授权运营：{REVIEWING}（待合法性审查）"]
