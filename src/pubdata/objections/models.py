"""Objections and the written notices they produce for both sides."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pubdata.db.base import Base, IdMixin, utcnow


class Objection(IdMixin, Base):
    __tablename__ = "objection"
    __table_args__ = {"comment": "异议（实名提出，REG-31..33）"}

    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True, comment="被异议的登记")
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"), comment="公示中的申请（公示期异议）")
    phase: Mapped[str] = mapped_column(String(20), comment="notice 公示期内 / registered 登记后")
    claim: Mapped[str] = mapped_column(String(20), comment="ownership 权属 / content 内容有误 / other 其他")
    grounds: Mapped[str] = mapped_column(Text, comment="异议事实与理由")
    evidence: Mapped[list[str]] = mapped_column(JSON, default=list, comment="证明材料（SM3 摘要）")
    objector_user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), comment="提出人账户")
    objector_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"),
                                                        comment="以单位名义提出时的单位")
    person_name: Mapped[str | None] = mapped_column(String(50), comment="以自然人名义提出时的姓名")
    person_id_number: Mapped[str | None] = mapped_column(String(18), comment="自然人身份证号码（仅登记机构可见）")
    state: Mapped[str] = mapped_column(String(20), default="open", comment="open/referred/upheld/dismissed/withdrawn")
    appraisal: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, comment="技术鉴定：机构、结论、报告摘要")
    referral: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, comment="转协商、仲裁或诉讼：途径、说明")
    outcome: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, comment="决定或协商、仲裁、判决结果")
    decided_on: Mapped[dt.date | None] = mapped_column(Date, comment="办结日")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="提出时间")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    __mapper_args__ = {"version_id_col": version}


class ObjectionNotice(IdMixin, Base):
    __tablename__ = "objection_notice"
    __table_args__ = {"comment": "异议处理的书面通知（异议人与登记主体各一份）"}

    objection_id: Mapped[int] = mapped_column(ForeignKey("objection.id"), index=True, comment="异议")
    addressee: Mapped[str] = mapped_column(String(20), comment="objector 异议人 / subject 登记主体")
    addressee_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), comment="收件单位")
    addressee_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="收件人账户")
    title: Mapped[str] = mapped_column(String(100), comment="标题")
    body: Mapped[str] = mapped_column(Text, comment="正文")
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="发出时间")

    def __audit_root__(self) -> tuple[str, int]:
        return ("objection", self.objection_id)


from pubdata.objections import hooks as _hooks  # noqa: E402  (models load with every database use)

_hooks.install()
