"""Registration records, their versions, applications, written notices, public notices, certificates and
subjects' registration obligations. Nothing here is deleted; everything ends in a state."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pubdata.db.base import Base, BigId, IdMixin, utcnow


class Registration(IdMixin, Base):
    __tablename__ = "registration"
    __table_args__ = (
        Index("ix_registration_subject_name", "subject_org_id", "name_key"),
        {"comment": "登记记录（一个登记编码对应一条）"},
    )

    code: Mapped[str | None] = mapped_column(String(40), unique=True, comment="登记编码（提交时赋予，含校验位）")
    national_code: Mapped[str | None] = mapped_column(String(64), comment="国家登记平台赋予的编码")
    subject_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="登记主体")
    registration_type: Mapped[str] = mapped_column(String(20), comment="数据登记类型")
    data_name: Mapped[str] = mapped_column(String(100), comment="登记数据名称（当前）")
    name_key: Mapped[str] = mapped_column(String(100), comment="规范化名称，用于重复登记判断 (REG-30)")
    evidence_key: Mapped[str | None] = mapped_column(String(64), index=True, comment="存证摘要或回执号，用于重复判断")
    status: Mapped[str] = mapped_column(String(20), default="pending",
                                        comment="pending 办理中/registered 已登记/not_registered 未登记/cancelled 已注销/revoked 已撤销")
    current_version: Mapped[int] = mapped_column(Integer, default=0, comment="当前有效版本号（0 = 尚未登记）")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="创建时间")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    versions: Mapped[list[RegistrationVersion]] = relationship(
        back_populates="registration", order_by="RegistrationVersion.version_no", lazy="selectin")

    __mapper_args__ = {"version_id_col": version}


class RegistrationVersion(IdMixin, Base):
    __tablename__ = "registration_version"
    __table_args__ = (
        UniqueConstraint("registration_id", "version_no", name="uq_registration_version_no"),
        {"comment": "登记内容的历史版本（首次、变更、更正各产生一版）"},
    )

    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), comment="登记记录")
    version_no: Mapped[int] = mapped_column(Integer, comment="版本号，从 1 起")
    content: Mapped[dict[str, Any]] = mapped_column(JSON, comment="该版本的登记内容")
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), comment="产生该版本的申请")
    effective_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="生效时间")

    registration: Mapped[Registration] = relationship(back_populates="versions")

    def __audit_root__(self) -> tuple[str, int]:
        return ("registration", self.registration_id)


class Application(IdMixin, Base):
    __tablename__ = "application"
    __table_args__ = (
        Index("ix_application_state_due", "state", "acceptance_due", "review_due"),
        {"comment": "登记申请（首次、变更、更正、注销、续展）"},
    )

    number: Mapped[str | None] = mapped_column(String(40), unique=True, comment="申请编号（插入后按序号赋予）")
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True, comment="所涉登记记录")
    kind: Mapped[str] = mapped_column(String(20), comment="first/change/correction/cancellation/renewal")
    state: Mapped[str] = mapped_column(String(30), default="draft", comment="办理状态")
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, comment="申请表内容（第六至十五条）")
    documents: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, comment="申请材料（第二十五条），SM3 摘要")
    details: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, comment="类型相关事项：注销情形、更正事项、变更原因、原凭证号等")
    filed_by_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="提交单位（主体或代理机构）")
    filed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="经办人")
    joint_org_ids: Mapped[list[int]] = mapped_column(JSON, default=list, comment="共同申请的其他登记主体")
    submitted_at: Mapped[dt.datetime | None] = mapped_column(comment="最近一次提交时间")
    received_on: Mapped[dt.date | None] = mapped_column(Date, comment="收到申请日（补正后重新起算，REG-26）")
    acceptance_due: Mapped[dt.date | None] = mapped_column(Date, comment="受理期限 (REG-26)")
    accepted_on: Mapped[dt.date | None] = mapped_column(Date, comment="受理日")
    review_due: Mapped[dt.date | None] = mapped_column(Date, comment="审查期限 (REG-27) 或注销完成期限 (REG-25(四))")
    notice_start: Mapped[dt.date | None] = mapped_column(Date, comment="公示开始日")
    notice_end: Mapped[dt.date | None] = mapped_column(Date, comment="公示期满日 (REG-28)")
    provisional_dates: Mapped[list[str]] = mapped_column(
        JSON, default=list, comment="按周一至周五暂定的期限字段（该年官方安排未导入）")
    decided_on: Mapped[dt.date | None] = mapped_column(Date, comment="办结日")
    reasons: Mapped[str | None] = mapped_column(Text, comment="不予受理、审查不通过、不予登记的理由")
    refusal_ground: Mapped[str | None] = mapped_column(String(30), comment="不予登记情形 (REG-30)")
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, comment="提示审查人的疑似重复等")
    supplement_rounds: Mapped[int] = mapped_column(Integer, default=0, comment="补正次数")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="创建时间")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    registration: Mapped[Registration] = relationship(lazy="joined", innerjoin=True)
    notices: Mapped[list[Notice]] = relationship(order_by="Notice.id", lazy="selectin", viewonly=True)

    __mapper_args__ = {"version_id_col": version}


class Notice(IdMixin, Base):
    __tablename__ = "notice"
    __table_args__ = {"comment": "书面通知书（受理、补正、不予受理、审查结果、公示、发证、注销等）"}

    number: Mapped[str | None] = mapped_column(String(40), unique=True, comment="通知书编号")
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True, comment="所涉申请")
    kind: Mapped[str] = mapped_column(String(30), comment="通知书类型")
    addressee_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), comment="收件单位")
    title: Mapped[str] = mapped_column(String(100), comment="标题")
    body: Mapped[str] = mapped_column(Text, comment="正文")
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, comment="逐项内容（如须补正的材料）")
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="发出时间")
    issued_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="经办人")
    issued_by_label: Mapped[str] = mapped_column(String(200), comment="发出者（机构经办人或系统）")

    def __audit_root__(self) -> tuple[str, int]:
        return ("application", self.application_id)


class PublicNotice(IdMixin, Base):
    __tablename__ = "public_notice"
    __table_args__ = (
        # The public list is newest first, optionally by status: read in index order, never sorted.
        Index("ix_public_notice_listed", "start_date", "id"),
        Index("ix_public_notice_status_listed", "status", "start_date", "id"),
        {"comment": "登记公示 (REG-28)：公示内容按公示当时的快照保存"},
    )

    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), unique=True, comment="所涉申请")
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True, comment="登记记录")
    subject_name: Mapped[str] = mapped_column(String(200), comment="登记主体名称")
    registration_type: Mapped[str] = mapped_column(String(20), comment="登记类型")
    application_kind: Mapped[str] = mapped_column(String(20), comment="申请类型")
    data_name: Mapped[str] = mapped_column(String(100), comment="登记数据名称")
    summary: Mapped[str] = mapped_column(Text, comment="数据内容简介")
    start_date: Mapped[dt.date] = mapped_column(Date, comment="公示开始日")
    end_date: Mapped[dt.date] = mapped_column(Date, comment="公示期满日")
    status: Mapped[str] = mapped_column(String(20), default="open", comment="open 公示中/ended 期满/closed 终止")
    # Normalised (fulltext.text) data and subject names, for checking a long keyword after the term index.
    search_text: Mapped[str] = mapped_column(Text, default="", comment="规范化的数据名称与主体名称（检索用）")
    closed_at: Mapped[dt.datetime | None] = mapped_column(comment="结束时间")

    def __audit_root__(self) -> tuple[str, int]:
        return ("application", self.application_id)


class PublicNoticeTerm(Base):
    """The public notices' inverted index (fulltext.text terms of the data and subject names), written with the
    notice; a projection like the catalog's, so audit-exempt."""

    __tablename__ = "public_notice_term"
    __table_args__ = (Index("ix_public_notice_term_notice", "notice_id"), {"comment": "公示检索词"})
    __audit_exempt__ = True

    term: Mapped[str] = mapped_column(String(40).with_variant(String(40, collation="C"), "postgresql"),
                                      primary_key=True, comment="检索词")
    notice_id: Mapped[int] = mapped_column(BigId, ForeignKey("public_notice.id"), primary_key=True,
                                           comment="登记公示")


class Certificate(IdMixin, Base):
    __tablename__ = "certificate"
    __table_args__ = {"comment": "登记电子凭证记录（一证一码，REG-29/34/37）"}

    number: Mapped[str | None] = mapped_column(String(40), unique=True, comment="凭证编号（一证一码）")
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True, comment="登记记录")
    version_no: Mapped[int] = mapped_column(Integer, comment="凭证所对应的登记内容版本")
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), comment="发证所依据的申请")
    issued_on: Mapped[dt.date] = mapped_column(Date, comment="发证日")
    valid_from: Mapped[dt.date] = mapped_column(Date, comment="有效期起")
    valid_until: Mapped[dt.date] = mapped_column(Date, comment="有效期止 (REG-37)")
    status: Mapped[str] = mapped_column(String(20), default="valid",
                                        comment="valid 有效/superseded 已换发/cancelled 已注销/revoked 已撤销")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="创建时间")

    def __audit_root__(self) -> tuple[str, int]:
        return ("registration", self.registration_id)


class Obligation(IdMixin, Base):
    __tablename__ = "registration_obligation"
    __table_args__ = {"comment": "登记主体的登记义务 (REG-25)：由申报的事项推算应申请日"}

    subject_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="登记主体")
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registration.id"), comment="所涉登记（变更时）")
    event: Mapped[str] = mapped_column(String(30), comment="申报事项")
    event_date: Mapped[dt.date] = mapped_column(Date, comment="事项发生日")
    description: Mapped[str] = mapped_column(Text, default="", comment="说明")
    required_kind: Mapped[str] = mapped_column(String(20), comment="应提出的申请类型")
    due_date: Mapped[dt.date] = mapped_column(Date, comment="应申请日")
    provisional: Mapped[bool] = mapped_column(Boolean, default=False, comment="期限为暂定")
    status: Mapped[str] = mapped_column(String(20), default="open", comment="open 待履行/fulfilled 已履行")
    fulfilled_by_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"), comment="履行该义务的申请")
    declared_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="申报时间")
