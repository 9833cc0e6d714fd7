"""Third-party providers, declared organisation relations and groups, engagements and reports.

Nothing here is deleted: relations and groups are withdrawn, engagements end or are declined, a provider is
suspended. Every row is versioned so that two people acting on the same one cannot both win.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pubdata.db.base import Base, IdMixin, utcnow


class ThirdPartyProvider(IdMixin, Base):
    __tablename__ = "third_party_provider"
    __table_args__ = {"comment": "第三方专业服务机构登记信息及服务类型 (REG-21/22)"}

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), unique=True, comment="服务机构单位")
    service_kinds: Mapped[list[str]] = mapped_column(
        JSON, default=list, comment="服务类型：evidence 存证/assessment 评估/audit 审计")
    qualifications: Mapped[str] = mapped_column(Text, default="", comment="资质与能力说明 (REG-22(一))")
    contact_name: Mapped[str] = mapped_column(String(100), default="", comment="联系人")
    contact_phone: Mapped[str] = mapped_column(String(20), default="", comment="联系电话")
    status: Mapped[str] = mapped_column(String(16), default="active", comment="active 正常/suspended 暂停")
    status_reason: Mapped[str | None] = mapped_column(Text, comment="暂停或恢复的理由")
    registered_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="登记时间")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    __mapper_args__ = {"version_id_col": version}


class OrganisationRelation(IdMixin, Base):
    __tablename__ = "organisation_relation"
    __table_args__ = (
        Index("ix_organisation_relation_pair", "org_id", "related_org_id"),
        {"comment": "申报的单位关联关系（母公司、子公司、法定代表人相同、其他），用于回避审查 (REG-22(五)/44)"},
    )

    org_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id"), comment="单位（按 ix_organisation_relation_pair 检索）")
    related_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="关联单位")
    kind: Mapped[str] = mapped_column(
        String(40),
        comment="parent 单位是关联单位的母公司/subsidiary 子公司/shared_legal_representative 法定代表人相同/other")
    note: Mapped[str] = mapped_column(Text, default="", comment="说明（如共同的法定代表人姓名、持股比例）")
    declared_by_org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id"), comment="申报单位（当事单位或数据主管部门）")
    declared_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="申报人")
    declared_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="申报时间")
    status: Mapped[str] = mapped_column(String(16), default="active", comment="active 有效/withdrawn 已撤回")
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(comment="撤回时间")
    withdrawal_reason: Mapped[str | None] = mapped_column(Text, comment="撤回理由")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    __mapper_args__ = {"version_id_col": version}


class OrganisationGroup(IdMixin, Base):
    __tablename__ = "organisation_group"
    __table_args__ = {"comment": "单位集团：统一社会信用代码以同一前缀开头的单位互为关联 (REG-44)"}

    name: Mapped[str] = mapped_column(String(200), comment="集团或体系名称")
    uscc_prefix: Mapped[str] = mapped_column(String(17), index=True, comment="统一社会信用代码前缀（12–17 位）")
    note: Mapped[str] = mapped_column(Text, default="", comment="说明（如组织机构代码成批赋予的依据）")
    declared_by_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), comment="申报单位")
    declared_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="申报人")
    declared_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="申报时间")
    status: Mapped[str] = mapped_column(String(16), default="active", comment="active 有效/withdrawn 已撤回")
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(comment="撤回时间")
    withdrawal_reason: Mapped[str | None] = mapped_column(Text, comment="撤回理由")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    __mapper_args__ = {"version_id_col": version}


class Engagement(IdMixin, Base):
    __tablename__ = "third_party_engagement"
    __table_args__ = {"comment": "登记主体委托第三方专业服务机构（存证、评估、审计）"}

    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True, comment="所涉登记")
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"), comment="所涉申请（可为草稿）")
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="受托服务机构")
    service_kind: Mapped[str] = mapped_column(String(20), comment="委托的服务类型")
    scope: Mapped[str] = mapped_column(Text, default="", comment="委托事项")
    engaged_by_org_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id"), comment="委托单位（登记主体或其代理机构）")
    engaged_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="经办人")
    state: Mapped[str] = mapped_column(
        String(16), default="engaged", comment="engaged 已委托/reported 已出具报告/declined 已拒绝/ended 已终止")
    state_reason: Mapped[str | None] = mapped_column(Text, comment="拒绝或终止的理由")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="委托时间")
    closed_at: Mapped[dt.datetime | None] = mapped_column(comment="拒绝或终止时间")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    __mapper_args__ = {"version_id_col": version}


class Report(IdMixin, Base):
    __tablename__ = "third_party_report"
    __table_args__ = {"comment": "第三方专业服务机构出具的报告（附件按 SM3 摘要引用），附于登记"}

    engagement_id: Mapped[int] = mapped_column(ForeignKey("third_party_engagement.id"), index=True, comment="委托")
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True, comment="所附登记")
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), comment="出具机构")
    kind: Mapped[str] = mapped_column(String(20), comment="报告类型（同委托的服务类型）")
    title: Mapped[str] = mapped_column(String(200), comment="报告名称")
    digest: Mapped[str] = mapped_column(String(64), comment="报告文件的 SM3 摘要")
    conclusion: Mapped[str] = mapped_column(Text, comment="结论摘要")
    filed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="提交人")
    filed_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="提交时间")

    def __audit_root__(self) -> tuple[str, int]:
        return ("third_party_engagement", self.engagement_id)
