"""The product lifecycles as explicit state machines: nothing moves outside these tables."""

from __future__ import annotations

from pubdata.workflow import StateMachine

PRODUCT = StateMachine(
    name="数据产品和服务",
    transitions={
        ("draft", "register"): "registering",
        ("registering", "registration_failed"): "draft",
        ("registering", "certified"): "registered",
        ("registered", "offer"): "offered",
        ("offered", "withdraw_offer"): "registered",
        ("registered", "registration_ended"): "deregistered",
        ("offered", "registration_ended"): "deregistered",
        ("draft", "retire"): "retired",
        ("registered", "retire"): "retired",
    },
    labels={
        "draft": "开发完成（未登记）", "registering": "登记办理中", "registered": "已登记（未提供）",
        "offered": "已登记并提供", "deregistered": "登记已注销或撤销", "retired": "已停止",
        "register": "申请登记", "registration_failed": "登记未成功", "certified": "登记完成", "offer": "提供",
        "withdraw_offer": "停止提供", "registration_ended": "登记终止", "retire": "停止产品",
    },
)

OFFER = StateMachine(
    name="产品提供",
    transitions={("active", "reprice"): "active", ("active", "withdraw"): "withdrawn"},
    labels={"active": "提供中", "withdrawn": "已停止", "reprice": "调整价格", "withdraw": "停止提供"},
)

SUBSCRIPTION = StateMachine(
    name="产品订阅",
    transitions={("active", "rotate_key"): "active", ("active", "cancel"): "cancelled"},
    labels={"active": "有效", "cancelled": "已取消", "rotate_key": "更换密钥", "cancel": "取消订阅"},
)

#: Price caps, revenue limits and sharing rules: a newer record supersedes the one in force.
RECORD = StateMachine(
    name="定价与分配记录",
    transitions={("in_force", "supersede"): "superseded"},
    labels={"in_force": "有效", "superseded": "已被取代", "supersede": "取代"},
)

COST = StateMachine(
    name="成本记录",
    transitions={("recorded", "void"): "voided"},
    labels={"recorded": "已记录", "voided": "已作废", "void": "作废"},
)

FORMS = {"model": "数据模型", "api": "数据接口", "report": "数据报告", "service": "数据服务"}
CATEGORIES = {"governance": "支持公共治理、公益事业", "industry": "支持产业发展、行业发展"}
MODES = {"public_welfare": "公益提供（有条件无偿使用）", "trade": "交易（政府指导价）"}
BASES = {"free": "无偿", "per_product": "按产品（每次订购）", "per_call": "按次（每次调用）",
         "per_time": "按时长（每月）", "per_volume": "按量（每千条）"}
PAID_BASES = ("per_product", "per_call", "per_time", "per_volume")
COST_CATEGORIES = {"labour": "人工", "compute": "算力与平台", "governance": "数据治理", "other": "其他"}
