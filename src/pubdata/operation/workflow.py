"""The operation lifecycles as explicit state machines (DESIGN.md): nothing moves outside these tables."""

from __future__ import annotations

from pubdata.identity.permissions import Permission
from pubdata.workflow import StateMachine

#: The ordered reviews of a plan version (OPS-16, OPS-10, OPS-17): state while waiting, who records it, label.
REVIEW_STAGES: tuple[tuple[str, Permission, str], ...] = (
    ("feasibility", Permission.OPERATION_FEASIBILITY, "可行性论证"),
    ("legality", Permission.OPERATION_LEGALITY, "合法性审查"),
    ("fair_competition", Permission.OPERATION_FAIR_COMPETITION, "公平竞争审查"),
    ("deliberation", Permission.OPERATION_DELIBERATE, "本级人民政府审议"),
)
STAGE_LABELS = {s: label for s, _, label in REVIEW_STAGES} | {"filing": "报上级数据主管部门备案"}
STAGE_PERMISSION = {s: p for s, p, _ in REVIEW_STAGES}
#: Action that passes each stage.
PASS_ACTION = {"feasibility": "pass_feasibility", "legality": "pass_legality",
               "fair_competition": "pass_fair_competition", "deliberation": "approve"}

PLAN = StateMachine(
    name="授权运营实施方案",
    transitions={
        ("draft", "submit"): "feasibility",
        ("feasibility", "pass_feasibility"): "legality",
        ("legality", "pass_legality"): "fair_competition",
        ("fair_competition", "pass_fair_competition"): "deliberation",
        ("deliberation", "approve"): "approved",
        **{(stage, "return"): "returned" for stage, _, _ in REVIEW_STAGES},
        ("returned", "revise"): "draft",
        ("approved", "file"): "filed",
        ("approved", "supersede"): "superseded",
        ("filed", "supersede"): "superseded",
        ("draft", "withdraw"): "withdrawn",
        ("returned", "withdraw"): "withdrawn",
    },
    labels={
        "draft": "草稿", "feasibility": "待可行性论证", "legality": "待合法性审查",
        "fair_competition": "待公平竞争审查", "deliberation": "待本级人民政府审议", "approved": "审议通过（待备案）",
        "filed": "审议通过并已备案", "returned": "退回修改", "superseded": "已被新版本取代", "withdrawn": "已撤回",
        "submit": "提交评审", "pass_feasibility": "论证通过", "pass_legality": "合法性审查通过",
        "pass_fair_competition": "公平竞争审查通过", "approve": "审议通过", "return": "退回修改",
        "revise": "修改", "file": "备案", "supersede": "被新版本取代", "withdraw": "撤回",
    },
)
#: Versions that are (or were until superseded) the approved plan.
IN_FORCE_STATES = frozenset({"approved", "filed"})
UNDER_REVIEW = frozenset(s for s, _, _ in REVIEW_STAGES)

#: OPS-12 consent of the providing unit of shared data: given, then possibly withdrawn (a new consent is a new row).
CONSENT = StateMachine(
    name="共享数据使用同意",
    transitions={("granted", "withdraw"): "withdrawn"},
    labels={"granted": "已同意", "withdrawn": "已撤回", "withdraw": "撤回同意"},
)

DEMAND = StateMachine(
    name="场景需求",
    transitions={("open", "adopt"): "adopted", ("open", "close"): "closed"},
    labels={"open": "征集中", "adopted": "已纳入实施方案", "closed": "不予采纳", "adopt": "纳入方案", "close": "不予采纳"},
)

SELECTION = StateMachine(
    name="运营机构选择",
    transitions={("open", "decide"): "decided", ("open", "cancel"): "cancelled"},
    labels={"open": "进行中", "decided": "已确定运营机构", "cancelled": "已终止", "decide": "确定运营机构",
            "cancel": "终止选择"},
)

AGREEMENT = StateMachine(
    name="授权运营协议",
    transitions={
        ("draft", "sign_agency"): "agency_signed",
        ("draft", "sign_operator"): "operator_signed",
        ("agency_signed", "sign_operator"): "signed",
        ("operator_signed", "sign_agency"): "signed",
        ("draft", "cancel"): "cancelled",
        ("signed", "file"): "filed",
        ("signed", "terminate"): "terminated",
        ("filed", "terminate"): "terminated",
    },
    labels={
        "draft": "拟定中", "agency_signed": "实施机构已签署", "operator_signed": "运营机构已签署",
        "signed": "双方已签署（待备案）", "filed": "已签署并备案", "cancelled": "已作废", "terminated": "已终止",
        "sign_agency": "实施机构签署", "sign_operator": "运营机构签署", "cancel": "作废", "file": "备案",
        "terminate": "终止协议",
    },
)
#: Agreements in force between the parties (signed by both; filing is a duty recorded afterwards, OPS-19).
EFFECTIVE_STATES = frozenset({"signed", "filed"})

RECTIFICATION = StateMachine(
    name="整改",
    transitions={("ordered", "report"): "reported", ("reported", "accept"): "closed",
                 ("reported", "reject"): "ordered"},
    labels={"ordered": "整改中", "reported": "已报告整改情况", "closed": "整改已验收", "report": "报告整改情况",
            "accept": "验收通过", "reject": "退回继续整改"},
)

SUSPENSION = StateMachine(
    name="暂停授权运营平台使用权限",
    transitions={("in_force", "lift"): "lifted"},
    labels={"in_force": "暂停中", "lifted": "已恢复", "lift": "恢复权限"},
)

MEASURE_KINDS = {"rectification": "督促整改", "suspension": "暂停平台使用权限", "termination": "终止协议"}
MEASURE_MACHINES = {"rectification": RECTIFICATION, "suspension": SUSPENSION}


def measure_state_label(kind: str, state: str) -> str:
    machine = MEASURE_MACHINES.get(kind)
    return machine.labels.get(state, state) if machine else "已终止协议"
