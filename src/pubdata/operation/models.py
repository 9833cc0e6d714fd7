"""授权运营 (OPS-5..21, OPS-32, OPS-36): implementation plans and their versions and reviews, scenario demands,
data-sharing consents, operator selection, agreements, measures and evaluations.

Nothing is deleted; every row ends in a state. Structured contents (OPS-14 plan items, OPS-20 agreement items)
are JSON documents validated by the services (``operation.content``), so each version keeps exactly what was
reviewed or signed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pubdata.db.base import Base, IdMixin, utcnow


class OperationPlan(IdMixin, Base):
    __tablename__ = "operation_plan"
    __table_args__ = {"comment": "授权运营实施方案 (OPS-13..17)：各版本见 operation_plan_version"}

    number: Mapped[str | None] = mapped_column(String(40), unique=True, comment="方案编号（插入后赋予）")
    title: Mapped[str] = mapped_column(String(200), comment="授权运营名称（当前版本）")
    owner_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True,
                                              comment="编制单位（数据主管部门或实施机构）")
    region_code: Mapped[str] = mapped_column(String(6), comment="本级人民政府所在地区 (GB/T 2260)")
    in_force_version_no: Mapped[int | None] = mapped_column(Integer, comment="现行有效（审议通过）的版本号")
    latest_version_no: Mapped[int] = mapped_column(Integer, default=1, comment="最新版本号")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="创建时间")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    versions: Mapped[list[PlanVersion]] = relationship(
        back_populates="plan", order_by="PlanVersion.version_no", lazy="selectin")

    __mapper_args__ = {"version_id_col": version}


class PlanVersion(IdMixin, Base):
    __tablename__ = "operation_plan_version"
    __table_args__ = (
        UniqueConstraint("plan_id", "version_no", name="uq_operation_plan_version_no"),
        {"comment": "实施方案的版本：首版与每次变更各一版，各自经过评审 (OPS-17)"},
    )

    plan_id: Mapped[int] = mapped_column(ForeignKey("operation_plan.id"), index=True, comment="实施方案")
    version_no: Mapped[int] = mapped_column(Integer, comment="版本号，从 1 起")
    state: Mapped[str] = mapped_column(String(30), default="draft", comment="版本状态（operation.workflow.PLAN）")
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, comment="第十四条各项内容（结构化）")
    change_reason: Mapped[str | None] = mapped_column(Text, comment="变更理由（第二版起）")
    submitted_at: Mapped[dt.datetime | None] = mapped_column(comment="提交评审时间")
    approved_on: Mapped[dt.date | None] = mapped_column(Date, comment="本级人民政府审议通过日")
    filed_on: Mapped[dt.date | None] = mapped_column(Date, comment="报上级数据主管部门备案日")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="创建时间")

    plan: Mapped[OperationPlan] = relationship(back_populates="versions")
    reviews: Mapped[list[PlanReview]] = relationship(order_by="PlanReview.id", lazy="selectin")

    def __audit_root__(self) -> tuple[str, int]:
        return ("operation_plan", self.plan_id)


class PlanReview(IdMixin, Base):
    __tablename__ = "operation_plan_review"
    __table_args__ = {"comment": "实施方案的论证、审查、审议与备案记录 (OPS-10, OPS-16, OPS-17)"}

    plan_id: Mapped[int] = mapped_column(ForeignKey("operation_plan.id"), index=True, comment="实施方案")
    plan_version_id: Mapped[int] = mapped_column(ForeignKey("operation_plan_version.id"), index=True,
                                                 comment="所审版本")
    stage: Mapped[str] = mapped_column(
        String(30), comment="feasibility 可行性论证/legality 合法性审查/fair_competition 公平竞争审查/"
                            "deliberation 本级人民政府审议/filing 上级备案")
    outcome: Mapped[str] = mapped_column(String(20), comment="pass 通过/return 退回修改")
    opinion: Mapped[str] = mapped_column(Text, comment="意见或结论")
    details: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, comment="专家意见、三重一大决策记录号、备案机关与备案号等")
    attachments: Mapped[list[str]] = mapped_column(JSON, default=list, comment="附件（SM3 摘要）")
    reviewer_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), comment="审查单位")
    reviewer_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="经办人")
    reviewed_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="记录时间")

    def __audit_root__(self) -> tuple[str, int]:
        return ("operation_plan", self.plan_id)


class ScenarioDemand(IdMixin, Base):
    __tablename__ = "operation_demand"
    __table_args__ = {"comment": "应用场景需求征集 (OPS-15)：单位与社会公众提出"}

    title: Mapped[str] = mapped_column(String(200), comment="场景名称")
    scenario: Mapped[str] = mapped_column(Text, comment="场景描述")
    data_needed: Mapped[str] = mapped_column(Text, comment="所需数据")
    expected_product: Mapped[str] = mapped_column(Text, default="", comment="期望的产品或服务")
    submitter_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), comment="提出单位")
    submitter_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="提出人账户")
    contact_name: Mapped[str] = mapped_column(String(50), comment="联系人（社会公众提出时必填）")
    contact: Mapped[str] = mapped_column(String(100), default="", comment="联系方式（不公开）")
    state: Mapped[str] = mapped_column(String(20), default="open", comment="open 征集中/adopted 已纳入方案/closed 不予采纳")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="提出时间")


class PlanDemandLink(IdMixin, Base):
    __tablename__ = "operation_plan_demand"
    __table_args__ = (
        UniqueConstraint("plan_version_id", "demand_id", name="uq_operation_plan_demand_pair"),
        {"comment": "实施方案版本回应的场景需求"},
    )

    plan_version_id: Mapped[int] = mapped_column(ForeignKey("operation_plan_version.id"), index=True,
                                                 comment="方案版本")
    demand_id: Mapped[int] = mapped_column(ForeignKey("operation_demand.id"), index=True, comment="场景需求")
    plan_id: Mapped[int] = mapped_column(ForeignKey("operation_plan.id"), comment="实施方案")

    def __audit_root__(self) -> tuple[str, int]:
        return ("operation_plan", self.plan_id)


class SharingConsent(IdMixin, Base):
    __tablename__ = "operation_sharing_consent"
    __table_args__ = {"comment": "共享数据提供单位同意用于授权运营的记录 (OPS-12)"}

    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True, comment="登记的数据资源")
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="共享数据提供单位")
    plan_id: Mapped[int] = mapped_column(ForeignKey("operation_plan.id"), index=True, comment="用于的实施方案")
    state: Mapped[str] = mapped_column(String(20), default="granted", comment="granted 已同意/withdrawn 已撤回")
    conditions: Mapped[str] = mapped_column(Text, default="", comment="同意的条件与范围")
    attachments: Mapped[list[str]] = mapped_column(JSON, default=list, comment="书面同意材料（SM3 摘要）")
    granted_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="经办人")
    granted_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="同意时间")
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(comment="撤回同意时间")
    withdrawal_reason: Mapped[str | None] = mapped_column(Text, comment="撤回同意的理由")
    withdrawn_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="撤回经办人")


class OperatorSelection(IdMixin, Base):
    __tablename__ = "operation_selection"
    __table_args__ = {"comment": "运营机构选择 (OPS-18)：依审定的实施方案以公平竞争方式选择"}

    plan_id: Mapped[int] = mapped_column(ForeignKey("operation_plan.id"), index=True, comment="实施方案")
    plan_version_no: Mapped[int] = mapped_column(Integer, comment="所依据的有效方案版本")
    method: Mapped[str] = mapped_column(String(20), comment="open_tender 公开招标/invited_tender 邀请招标/negotiation 谈判")
    agency_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="实施机构")
    announcement: Mapped[str] = mapped_column(Text, default="", comment="公告或邀请说明")
    state: Mapped[str] = mapped_column(String(20), default="open", comment="open 进行中/decided 已确定/cancelled 已终止")
    selected_candidate_id: Mapped[int | None] = mapped_column(Integer, comment="选定的候选单位（candidate.id）")
    decision: Mapped[str | None] = mapped_column(Text, comment="选择决定及理由")
    decided_on: Mapped[dt.date | None] = mapped_column(Date, comment="决定日")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="创建时间")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    candidates: Mapped[list[SelectionCandidate]] = relationship(order_by="SelectionCandidate.id", lazy="selectin")

    __mapper_args__ = {"version_id_col": version}


class SelectionCandidate(IdMixin, Base):
    __tablename__ = "operation_candidate"
    __table_args__ = (
        UniqueConstraint("selection_id", "org_id", name="uq_operation_candidate_org"),
        {"comment": "候选运营机构及其资格材料、评审结果"},
    )

    selection_id: Mapped[int] = mapped_column(ForeignKey("operation_selection.id"), index=True, comment="选择")
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="候选单位")
    qualifications: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, comment="资金、管理、技术、服务、安全能力与信用状况的说明和材料")
    score: Mapped[int | None] = mapped_column(Integer, comment="评审得分（0–100）")
    evaluation: Mapped[str | None] = mapped_column(Text, comment="评审意见")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="登记时间")

    def __audit_root__(self) -> tuple[str, int]:
        return ("operation_selection", self.selection_id)


class Agreement(IdMixin, Base):
    __tablename__ = "operation_agreement"
    __table_args__ = {"comment": "授权运营协议 (OPS-19, OPS-20)"}

    number: Mapped[str | None] = mapped_column(String(40), unique=True, comment="协议编号（插入后赋予）")
    plan_id: Mapped[int] = mapped_column(ForeignKey("operation_plan.id"), index=True, comment="实施方案")
    plan_version_no: Mapped[int] = mapped_column(Integer, comment="所依据的有效方案版本")
    selection_id: Mapped[int] = mapped_column(ForeignKey("operation_selection.id"), comment="运营机构选择")
    agency_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="实施机构")
    operator_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="运营机构")
    title: Mapped[str] = mapped_column(String(200), comment="协议名称")
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, comment="第二十条各项内容（结构化）")
    start_date: Mapped[dt.date] = mapped_column(Date, comment="运营期限起")
    end_date: Mapped[dt.date] = mapped_column(Date, comment="运营期限止")
    term_exception_reason: Mapped[str | None] = mapped_column(Text, comment="超过 5 年的理由（第二十条“原则上”）")
    term_exception_approver: Mapped[str | None] = mapped_column(String(200), comment="超过 5 年的批准人或批准机关")
    state: Mapped[str] = mapped_column(String(30), default="draft", comment="协议状态（operation.workflow.AGREEMENT）")
    agency_decision_ref: Mapped[str | None] = mapped_column(String(100), comment="实施机构三重一大决策记录号 (OPS-19)")
    agency_signed_at: Mapped[dt.datetime | None] = mapped_column(comment="实施机构签署时间")
    agency_signer_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="实施机构签署人")
    operator_signed_at: Mapped[dt.datetime | None] = mapped_column(comment="运营机构签署时间")
    operator_signer_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="运营机构签署人")
    signed_on: Mapped[dt.date | None] = mapped_column(Date, comment="双方签署完成日")
    filed_on: Mapped[dt.date | None] = mapped_column(Date, comment="报数据主管部门备案日")
    filing_ref: Mapped[str | None] = mapped_column(String(100), comment="备案号")
    filing_attachments: Mapped[list[str]] = mapped_column(JSON, default=list, comment="备案材料（SM3 摘要）")
    terminated_on: Mapped[dt.date | None] = mapped_column(Date, comment="终止日")
    termination_reason: Mapped[str | None] = mapped_column(Text, comment="终止理由 (OPS-21)")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="创建时间")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    __mapper_args__ = {"version_id_col": version}


class OperationMeasure(IdMixin, Base):
    __tablename__ = "operation_measure"
    __table_args__ = {"comment": "对运营机构的整改、暂停平台使用权限、终止协议 (OPS-21)"}

    agreement_id: Mapped[int] = mapped_column(ForeignKey("operation_agreement.id"), index=True, comment="协议")
    operator_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="运营机构")
    kind: Mapped[str] = mapped_column(String(20), comment="rectification 整改/suspension 暂停权限/termination 终止协议")
    state: Mapped[str] = mapped_column(String(20), comment="状态（operation.workflow 各措施状态机）")
    facts: Mapped[str] = mapped_column(Text, comment="事实与理由")
    deadline: Mapped[dt.date | None] = mapped_column(Date, comment="整改期限")
    measure_date: Mapped[dt.date] = mapped_column(Date, comment="措施日")
    response: Mapped[str | None] = mapped_column(Text, comment="运营机构的整改情况报告")
    closing_note: Mapped[str | None] = mapped_column(Text, comment="验收、解除或退回的说明")
    closed_on: Mapped[dt.date | None] = mapped_column(Date, comment="结束（验收/解除）日")
    attachments: Mapped[list[str]] = mapped_column(JSON, default=list, comment="材料（SM3 摘要）")
    ordered_by_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"),
                                                          comment="作出措施的实施机构或行业主管部门")
    ordered_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="经办人")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="记录时间")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    __mapper_args__ = {"version_id_col": version}


class OperationEvaluation(IdMixin, Base):
    __tablename__ = "operation_evaluation"
    __table_args__ = {"comment": "授权运营工作评价 (OPS-36)：再次选择运营机构的重要依据"}

    agreement_id: Mapped[int] = mapped_column(ForeignKey("operation_agreement.id"), index=True, comment="协议")
    operator_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="运营机构")
    period_start: Mapped[dt.date] = mapped_column(Date, comment="评价期起")
    period_end: Mapped[dt.date] = mapped_column(Date, comment="评价期止")
    grade: Mapped[str] = mapped_column(String(16), comment="excellent 优秀/good 良好/pass 合格/fail 不合格")
    score: Mapped[int | None] = mapped_column(Integer, comment="得分（0–100）")
    comments: Mapped[str] = mapped_column(Text, comment="评价意见")
    evaluator: Mapped[str] = mapped_column(String(200), comment="评价单位（数据主管部门或受托第三方）")
    authority_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), comment="牵头的数据主管部门")
    evaluated_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="经办人")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="记录时间")


class OperationNotice(IdMixin, Base):
    __tablename__ = "operation_notice"
    __table_args__ = {"comment": "授权运营书面通知书（方案退回/审定、选择结果、整改、暂停、恢复、终止）"}

    number: Mapped[str | None] = mapped_column(String(40), unique=True, comment="通知书编号（插入后赋予）")
    object_type: Mapped[str] = mapped_column(String(40), comment="所涉对象类型（方案、选择、协议或措施）")
    object_id: Mapped[int] = mapped_column(Integer, comment="所涉对象编号")
    kind: Mapped[str] = mapped_column(String(30), comment="通知书类型")
    addressee_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="收件单位")
    issued_by_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True,
                                                         comment="发文单位")
    title: Mapped[str] = mapped_column(String(100), comment="标题")
    body: Mapped[str] = mapped_column(Text, comment="正文")
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, comment="逐项内容")
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="发出时间")
    issued_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="经办人")
    issued_by_label: Mapped[str] = mapped_column(String(200), comment="发出者")

    def __audit_root__(self) -> tuple[str, int]:
        return (self.object_type, self.object_id)
