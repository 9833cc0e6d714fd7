"""Measures against institutions (REG-42), evaluations of their service (REG-39) and statistic releases (REG-40).

Measures and evaluations are records of decisions: written once, never changed. A statistic release is a
snapshot that moves draft → approved (public) | rejected, approved → withdrawn, under optimistic locking.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pubdata.db.base import Base, IdMixin, utcnow


class Measure(IdMixin, Base):
    __tablename__ = "supervision_measure"
    __table_args__ = {"comment": "数据主管部门对登记机构采取的管理措施（约谈/现场指导/取消资格，REG-42）"}

    institution_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="登记机构")
    kind: Mapped[str] = mapped_column(
        String(20), comment="interview 约谈/onsite_guidance 现场指导/disqualification 取消资格")
    grounds: Mapped[list[str]] = mapped_column(JSON, default=list, comment="第四十二条所列情形")
    facts: Mapped[str] = mapped_column(Text, comment="事实与理由")
    measure_date: Mapped[dt.date] = mapped_column(Date, comment="措施实施日")
    rectification_due: Mapped[dt.date | None] = mapped_column(Date, comment="整改期限")
    attachments: Mapped[list[str]] = mapped_column(JSON, default=list, comment="材料（SM3 摘要）")
    role_revoked: Mapped[bool] = mapped_column(Boolean, default=False, comment="是否已撤销登记机构角色")
    authority_org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id"), comment="作出措施的数据主管部门")
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="经办人")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="记录时间")


class Evaluation(IdMixin, Base):
    __tablename__ = "institution_evaluation"
    __table_args__ = {"comment": "登记机构服务水平评价 (REG-39)，附评价时平台数据"}

    institution_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="登记机构")
    period_start: Mapped[dt.date] = mapped_column(Date, comment="评价期起")
    period_end: Mapped[dt.date] = mapped_column(Date, comment="评价期止")
    grade: Mapped[str] = mapped_column(String(16), comment="excellent 优秀/good 良好/pass 合格/fail 不合格")
    score: Mapped[int | None] = mapped_column(Integer, comment="得分（0–100）")
    comments: Mapped[str] = mapped_column(Text, comment="评价意见")
    metrics: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, comment="评价期内的工作量与时限数据（评价依据）")
    authority_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), comment="评价的数据主管部门")
    evaluated_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="经办人")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="记录时间")


class StatisticRelease(IdMixin, Base):
    __tablename__ = "statistic_release"
    __table_args__ = {"comment": "登记统计信息发布：经数据主管部门同意后公开 (REG-40)"}

    title: Mapped[str] = mapped_column(String(200), comment="标题")
    period_start: Mapped[dt.date] = mapped_column(Date, comment="统计期起")
    period_end: Mapped[dt.date] = mapped_column(Date, comment="统计期止")
    region_code: Mapped[str] = mapped_column(String(6), comment="统计范围（登记主体所在地区，GB/T 2260）")
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, comment="拟定时生成的统计数据快照")
    state: Mapped[str] = mapped_column(String(16), default="draft",
                                       comment="draft 待同意/approved 已同意公开/rejected 不同意/withdrawn 已撤回")
    drafted_by_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), comment="拟定单位")
    drafted_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="拟定人")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="拟定时间")
    decided_by_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), comment="决定的数据主管部门")
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="决定人")
    decided_at: Mapped[dt.datetime | None] = mapped_column(comment="同意或不同意的时间")
    reason: Mapped[str | None] = mapped_column(Text, comment="不同意或撤回的理由")
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(comment="撤回时间")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    __mapper_args__ = {"version_id_col": version}
