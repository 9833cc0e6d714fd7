"""The structured contents of an implementation plan (OPS-14) and an agreement (OPS-20), and their checks.

Both are flat JSON documents: text items by key, plus lists (resources, products, demands). A draft may be
incomplete; ``complete=True`` (on submitting or signing) requires every item the article lists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.errors import FieldError
from pubdata.identity.models import Organisation
from pubdata.registry.models import Registration

MAX_TEXT = 4000
MODES = {"whole": "整体授权", "domain": "分领域授权", "scenario": "依场景授权"}
PRODUCT_CATEGORIES = {"governance": "支持公共治理、公益事业", "industry": "支持产业发展、行业发展"}
PRODUCT_FORMS = {"model": "数据模型", "api": "数据接口", "report": "数据报告", "service": "数据服务"}

#: OPS-14 text items: key, label, article item, required.
PLAN_TEXTS: tuple[tuple[str, str, str, bool], ...] = (
    ("necessity", "必要性论证", "（二）", True),
    ("feasibility", "可行性论证", "（二）", True),
    ("criteria_funds", "运营机构选择条件：资金", "（三）", True),
    ("criteria_management", "运营机构选择条件：管理", "（三）", True),
    ("criteria_technology", "运营机构选择条件：技术", "（三）", True),
    ("criteria_service", "运营机构选择条件：服务", "（三）", True),
    ("criteria_security", "运营机构选择条件：安全能力", "（三）", True),
    ("mode_detail", "授权领域或场景说明", "（四）", False),
    ("construction", "建设内容", "（六）", True),
    ("technical_support", "技术保障", "（六）", True),
    ("schedule", "实施进度", "（六）", True),
    ("evaluation_standard", "评价标准", "（六）", True),
    ("exit_mechanism", "退出机制", "（六）", True),
    ("asset_management", "资产管理", "（六）", True),
    ("accounting", "成本和收入核算机制、收益分配机制", "（八）", True),
    ("security", "数据安全、个人信息保护措施和应急处置措施", "（九）", True),
    ("rights_duties", "实施机构、运营机构及相关参与方权利义务", "（十）", True),
    ("supervision", "监督管理及考核评价要求", "（十一）", True),
    ("other", "其他事项", "（十二）", False),
)

#: OPS-20 text items.
AGREEMENT_TEXTS: tuple[tuple[str, str, str, bool], ...] = (
    ("catalog", "数据资源目录说明", "（一）", True),
    ("product_standards", "产品和服务的技术标准", "（三）", True),
    ("security_review", "安全审核要求", "（三）", True),
    ("business_review", "业务规范性审核要求", "（三）", True),
    ("platform", "授权运营的技术支撑平台", "（四）", True),
    ("asset_ownership", "资产权属（软硬件设备、产品和服务）", "（五）", True),
    ("disclosure", "授权运营情况信息披露要求", "（六）", True),
    ("accounting", "成本和收入核算要求、收益分配机制", "（七）", True),
    ("security", "数据安全、个人信息保护要求和风险监测、应急处置措施", "（八）", True),
    ("evaluation_exit", "运营成效评价、续约或退出机制", "（九）", True),
    ("liability", "违约责任", "（十）", True),
    ("disputes", "争议解决方式", "（十一）", True),
    ("change_termination", "协议变更、终止条件", "（十二）", True),
    ("other", "其他事项", "（十三）", False),
)


def _texts(raw: Mapping[str, Any], spec: Sequence[tuple[str, str, str, bool]], complete: bool,
           out: dict[str, Any], errors: list[FieldError]) -> None:
    for key, label, _item, required in spec:
        text = str(raw.get(key) or "").strip()
        if len(text) > MAX_TEXT:
            errors.append(FieldError(key, "too_long", f"{label}不超过 {MAX_TEXT} 字。"))
        elif complete and required and not text:
            errors.append(FieldError(key, "required", f"请填写{label}。"))
        out[key] = text


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def registered_resources(session: Session, ids: Sequence[int]) -> dict[int, Registration]:
    rows = session.scalars(select(Registration).where(Registration.id.in_(list(ids)))) if ids else []
    return {r.id: r for r in rows}


def _products(raw: Any, complete: bool, errors: list[FieldError], *, need_both_classes: bool) -> list[dict[str, str]]:
    products: list[dict[str, str]] = []
    for i, p in enumerate(raw or []):
        name = str(p.get("name") or "").strip()
        if not name:
            continue  # empty form rows
        category, form = str(p.get("category") or ""), str(p.get("form") or "")
        if category not in PRODUCT_CATEGORIES:
            errors.append(FieldError(f"products.{i}.category", "unknown_category",
                                     f"产品“{name}”的类别应为公共治理、公益事业类或产业发展、行业发展类。"))
        if form not in PRODUCT_FORMS:
            errors.append(FieldError(f"products.{i}.form", "unknown_form",
                                     f"产品“{name}”的形式应为数据模型、数据接口、数据报告或数据服务。"))
        products.append({"name": name[:200], "category": category, "form": form})
    if complete and not products:
        errors.append(FieldError("products", "required", "请列出拟提供的公共数据产品和服务。"))
    elif complete and need_both_classes and {p["category"] for p in products} < set(PRODUCT_CATEGORIES):
        errors.append(FieldError("products", "both_classes_required",
                                 "产品和服务清单应包括支持公共治理、公益事业和支持产业发展、行业发展两大类（第十四条第七项）。"))
    return products


def check_resources(session: Session, ids: Sequence[int], errors: list[FieldError], field: str = "resources") -> None:
    """OPS-23: only registered resources (登记状态“已登记”) may be put in scope."""
    found = registered_resources(session, ids)
    for i, rid in enumerate(ids):
        reg = found.get(rid)
        if reg is None:
            errors.append(FieldError(f"{field}.{i}", "resource_not_found", f"数据资源 {rid} 不存在。"))
        elif reg.status != "registered" or reg.registration_type != "data_resource":
            errors.append(FieldError(
                f"{field}.{i}", "resource_not_registered",
                f"“{reg.data_name}”不是已登记的公共数据资源，不能纳入授权运营范围（先登记后运营）。"))


def clean_plan(session: Session, raw: Mapping[str, Any], *, complete: bool) -> tuple[dict[str, Any], list[FieldError]]:
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    name = str(raw.get("name") or "").strip()
    if not name:
        errors.append(FieldError("name", "required", "请填写授权运营名称。"))
    elif len(name) > 200:
        errors.append(FieldError("name", "too_long", "授权运营名称不超过 200 字。"))
    out["name"] = name
    _texts(raw, PLAN_TEXTS, complete, out, errors)
    mode = str(raw.get("mode") or "")
    if mode and mode not in MODES:
        errors.append(FieldError("mode", "unknown_mode", "授权运营模式应为整体授权、分领域授权或依场景授权。"))
    elif complete and not mode:
        errors.append(FieldError("mode", "required", "请选择授权运营模式（第十一条）。"))
    elif complete and mode in ("domain", "scenario") and not out["mode_detail"]:
        errors.append(FieldError("mode_detail", "required", "分领域或依场景授权须写明授权的领域或场景。"))
    out["mode"] = mode
    years = _int(raw.get("period_years")) if raw.get("period_years") not in (None, "") else None
    if raw.get("period_years") not in (None, "") and (years is None or not 1 <= years <= 30):
        errors.append(FieldError("period_years", "invalid", "授权运营期限应为 1 至 30 之间的整数年。"))
    elif complete and years is None:
        errors.append(FieldError("period_years", "required", "请填写授权运营期限（年）。"))
    out["period_years"] = years
    resources: list[dict[str, Any]] = []
    for i, r in enumerate(raw.get("resources") or []):
        rid = _int(r.get("registration_id"))
        if rid is None:
            errors.append(FieldError(f"resources.{i}", "invalid", "数据资源应按登记记录选择。"))
            continue
        provider = _int(r.get("shared_from_org_id")) if r.get("shared_from_org_id") not in (None, "") else None
        resources.append({"registration_id": rid, "update_frequency": str(r.get("update_frequency") or "").strip()[:100],
                          "quality": str(r.get("quality") or "").strip()[:MAX_TEXT], "shared_from_org_id": provider})
    providers = {r["shared_from_org_id"] for r in resources if r["shared_from_org_id"] is not None}
    known = set(session.scalars(select(Organisation.id).where(Organisation.id.in_(providers)))) if providers else set()
    for i, r in enumerate(resources):
        if r["shared_from_org_id"] is not None and r["shared_from_org_id"] not in known:
            errors.append(FieldError(f"resources.{i}", "provider_not_found",
                                     "共享数据提供单位不存在：请选择在平台注册的提供单位（第十二条）。"))
    ids = [r["registration_id"] for r in resources]
    if len(set(ids)) != len(ids):
        errors.append(FieldError("resources", "duplicate", "同一数据资源只能列入一次。"))
    check_resources(session, ids, errors)
    if complete:
        if not resources:
            errors.append(FieldError("resources", "required", "请从已登记的数据资源中选择授权运营的数据资源范围。"))
        for i, r in enumerate(resources):
            if not r["update_frequency"] or not r["quality"]:
                errors.append(FieldError(f"resources.{i}", "resource_details_required",
                                         "请为每项数据资源写明数据更新频率和数据质量情况（第十四条第五项）。"))
    out["resources"] = resources
    out["products"] = _products(raw.get("products"), complete, errors, need_both_classes=True)
    out["demand_ids"] = sorted({d for d in (_int(x) for x in raw.get("demand_ids") or []) if d is not None})
    return out, errors


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def clean_agreement(session: Session, raw: Mapping[str, Any], *, plan_resource_ids: Sequence[int],
                    complete: bool) -> tuple[dict[str, Any], list[FieldError]]:
    """OPS-20 items; the data scope must lie within the approved plan (OPS-19: agreement follows the plan)."""
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    _texts(raw, AGREEMENT_TEXTS, complete, out, errors)
    ids: list[int] = []
    for i, x in enumerate(raw.get("resource_ids") or []):
        rid = _int(x)
        if rid is None:
            errors.append(FieldError(f"resource_ids.{i}", "invalid", "数据资源应按登记记录选择。"))
        elif rid not in ids:
            ids.append(rid)
    outside = [rid for rid in ids if rid not in plan_resource_ids]
    if outside:
        names = registered_resources(session, outside)
        label = "、".join(f"“{names[r].data_name}”" if r in names else str(r) for r in outside)
        errors.append(FieldError("resource_ids", "scope_outside_plan",
                                 f"{label}不在审定同意的实施方案数据资源范围内，协议的授权范围不能超出实施方案。"))
    check_resources(session, [r for r in ids if r not in outside], errors, field="resource_ids")
    if complete and not ids:
        errors.append(FieldError("resource_ids", "required", "请选择授权运营的公共数据资源范围（第二十条第一项）。"))
    out["resource_ids"] = ids
    out["products"] = _products(raw.get("products"), complete, errors, need_both_classes=False)
    return out, errors


def check_term(start: dt.date | None, end: dt.date | None, reason: str, approver: str, max_years: int,
               errors: list[FieldError]) -> None:
    """OPS-20(二): at most ``max_years`` “in principle”; longer only with a recorded reason and approver."""
    if start is None:
        errors.append(FieldError("start_date", "required", "请填写运营期限起始日。"))
    if end is None:
        errors.append(FieldError("end_date", "required", "请填写运营期限终止日。"))
    if start is None or end is None:
        return
    if end <= start:
        errors.append(FieldError("end_date", "period_reversed", "运营期限终止日应晚于起始日。"))
    elif end >= add_years(start, max_years) and not (reason.strip() and approver.strip()):
        errors.append(FieldError(
            "end_date", "term_exceeds_limit",
            f"运营期限原则上最长不超过 {max_years} 年（第二十条第二项）；确需超过的，须记录理由和批准人。"))
