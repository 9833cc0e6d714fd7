"""Products and everything that circulates them. Money is kept in integer fen (分): no rounding drift.

Nothing is deleted; every row ends in a state. Rows people edit carry an optimistic-locking ``version``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pubdata.db.base import Base, IdMixin, utcnow

Fen = BigInteger().with_variant(Integer(), "sqlite")


class Product(IdMixin, Base):
    __tablename__ = "product"
    __table_args__ = {"comment": "公共数据产品和服务 (OPS-3)：由授权运营域经审核导出的成果开发形成"}

    number: Mapped[str | None] = mapped_column(String(40), unique=True, comment="产品编号（插入后赋予）")
    owner_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True,
                                              comment="开发单位（运营机构或再开发单位）")
    agreement_id: Mapped[int] = mapped_column(ForeignKey("operation_agreement.id"), index=True,
                                              comment="所依据的授权运营协议（再开发产品沿用来源产品的协议）")
    name: Mapped[str] = mapped_column(String(100), comment="产品名称")
    form: Mapped[str] = mapped_column(String(20),
                                      comment="model 数据模型/api 数据接口/report 数据报告/service 数据服务")
    category: Mapped[str] = mapped_column(String(20),
                                          comment="governance 公共治理、公益事业/industry 产业发展、行业发展")
    purpose: Mapped[str] = mapped_column(Text, comment="产品用途")
    description: Mapped[str] = mapped_column(Text, default="", comment="产品说明")
    export_ids: Mapped[list[int]] = mapped_column(JSON, default=list, comment="所用的已审核导出申请")
    manifests: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, comment="各导出的发布清单摘要（SM3）")
    resource_ids: Mapped[list[int]] = mapped_column(JSON, default=list, comment="被授权数据资源（登记记录）")
    parent_ids: Mapped[list[int]] = mapped_column(JSON, default=list,
                                                  comment="再开发所基于的已交付产品（谱系，OPS-31）")
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registration.id"), index=True,
                                                        comment="产品登记记录 (OPS-27)")
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"), comment="产品登记申请")
    state: Mapped[str] = mapped_column(String(20), default="draft", comment="products.workflow.PRODUCT")
    delivered_on: Mapped[dt.date | None] = mapped_column(Date, comment="首次提供（交付）日")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="创建时间")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    __mapper_args__ = {"version_id_col": version}


class Offer(IdMixin, Base):
    __tablename__ = "product_offer"
    __table_args__ = {"comment": "产品的提供方式与价格 (OPS-28, OPS-29)：公益无偿或按政府指导价交易"}

    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True, comment="产品")
    mode: Mapped[str] = mapped_column(String(20), comment="public_welfare 公益提供/trade 交易")
    conditions: Mapped[str] = mapped_column(Text, default="", comment="有条件无偿使用的条件（公益提供）")
    charging_basis: Mapped[str] = mapped_column(String(20), comment="free 无偿/per_product 按产品/per_call 按次/"
                                                                   "per_time 按时长（月）/per_volume 按量（千条）")
    unit_price: Mapped[int] = mapped_column(Fen, default=0, comment="单价（分）")
    state: Mapped[str] = mapped_column(String(20), default="active", comment="products.workflow.OFFER")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="提供时间")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    __mapper_args__ = {"version_id_col": version}


class PriceCap(IdMixin, Base):
    __tablename__ = "product_price_cap"
    __table_args__ = {"comment": "实施机构确定的价格上限（政府指导定价，OPS-29）"}

    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True, comment="产品")
    charging_basis: Mapped[str] = mapped_column(String(20), comment="计费方式")
    cap: Mapped[int] = mapped_column(Fen, comment="价格上限（分/计费单位）")
    decision_ref: Mapped[str] = mapped_column(String(100), comment="实施机构定价文件号")
    set_by_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), comment="实施机构")
    state: Mapped[str] = mapped_column(String(20), default="in_force", comment="in_force 有效/superseded 已被取代")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="确定时间")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    __mapper_args__ = {"version_id_col": version}


class RevenueLimit(IdMixin, Base):
    __tablename__ = "product_revenue_limit"
    __table_args__ = {"comment": "价格主管部门会同数据主管部门核定的周期最高准许收入"}

    agreement_id: Mapped[int] = mapped_column(ForeignKey("operation_agreement.id"), index=True, comment="授权运营协议")
    year: Mapped[int] = mapped_column(Integer, comment="核算周期（年度）")
    max_revenue: Mapped[int] = mapped_column(Fen, comment="最高准许收入（分）")
    price_authority: Mapped[str] = mapped_column(String(100), comment="价格主管部门（发展改革部门）")
    price_authority_ref: Mapped[str] = mapped_column(String(100), comment="价格主管部门文件号")
    recorded_by_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), comment="数据主管部门")
    state: Mapped[str] = mapped_column(String(20), default="in_force", comment="in_force 有效/superseded 已被取代")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="记录时间")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    __mapper_args__ = {"version_id_col": version}


class PeriodClosing(IdMixin, Base):
    __tablename__ = "product_period_closing"
    __table_args__ = (
        UniqueConstraint("agreement_id", "year", name="uq_product_period_closing_year"),
        {"comment": "年度收入核算结转：超过最高准许收入的部分在下一周期扣减"},
    )

    agreement_id: Mapped[int] = mapped_column(ForeignKey("operation_agreement.id"), index=True, comment="授权运营协议")
    year: Mapped[int] = mapped_column(Integer, comment="核算周期（年度）")
    revenue: Mapped[int] = mapped_column(Fen, comment="本期收入（分）")
    max_revenue: Mapped[int] = mapped_column(Fen, comment="本期最高准许收入（分）")
    deduction_in: Mapped[int] = mapped_column(Fen, comment="上期结转的扣减（分）")
    excess: Mapped[int] = mapped_column(Fen, comment="超出部分，结转下期扣减（分）")
    closed_by_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), comment="结转单位")
    state: Mapped[str] = mapped_column(String(20), default="closed", comment="closed 已结转")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="结转时间")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    __mapper_args__ = {"version_id_col": version}


class SharingRule(IdMixin, Base):
    __tablename__ = "product_sharing_rule"
    __table_args__ = {"comment": "协议约定的收益分配机制（OPS-20(七)、OPS-30）的结构化记录"}

    agreement_id: Mapped[int] = mapped_column(ForeignKey("operation_agreement.id"), index=True, comment="授权运营协议")
    basis: Mapped[str] = mapped_column(String(20), comment="revenue 按收入/net 按收入减成本")
    agency_percent: Mapped[int] = mapped_column(Integer, comment="实施机构（用于数据治理）所得比例（万分之一）")
    clause: Mapped[str] = mapped_column(Text, comment="协议条款原文（第二十条第七项）")
    recorded_by_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"),
                                                           comment="记录单位（实施机构）")
    state: Mapped[str] = mapped_column(String(20), default="in_force", comment="in_force 有效/superseded 已被取代")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="记录时间")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    __mapper_args__ = {"version_id_col": version}


class Subscription(IdMixin, Base):
    __tablename__ = "product_subscription"
    __table_args__ = {"comment": "用户单位的订阅或订购 (OPS-28)；接口密钥只存摘要"}

    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True, comment="产品")
    offer_id: Mapped[int] = mapped_column(ForeignKey("product_offer.id"), comment="订阅时的提供方式与价格")
    subscriber_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="用户单位")
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, comment="接口密钥的 SM3 摘要（密钥本身不保存）")
    key_prefix: Mapped[str] = mapped_column(String(16), comment="密钥前缀（便于辨认）")
    charging_basis: Mapped[str] = mapped_column(String(20), comment="订阅时的计费方式")
    unit_price: Mapped[int] = mapped_column(Fen, default=0, comment="订阅时的单价（分）")
    months: Mapped[int] = mapped_column(Integer, default=0, comment="按时长订购的月数")
    order_amount: Mapped[int] = mapped_column(Fen, default=0, comment="订购金额（按产品、按时长，分）")
    purpose: Mapped[str] = mapped_column(Text, default="", comment="使用用途（公益提供时须符合条件）")
    state: Mapped[str] = mapped_column(String(20), default="active", comment="products.workflow.SUBSCRIPTION")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="订阅时间")
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(comment="取消时间")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    __mapper_args__ = {"version_id_col": version}


class MeteredCall(IdMixin, Base):
    __tablename__ = "product_call"
    __table_args__ = (
        UniqueConstraint("subscription_id", "idempotency_key", name="uq_product_call_idempotency"),
        Index("ix_product_call_product_time", "product_id", "called_at"),
        {"comment": "接口产品的计量调用：同一幂等键只计一次"},
    )

    subscription_id: Mapped[int] = mapped_column(ForeignKey("product_subscription.id"), comment="订阅")
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), comment="产品")
    idempotency_key: Mapped[str] = mapped_column(String(100), comment="幂等键（Idempotency-Key 请求头或平台生成）")
    volume: Mapped[int] = mapped_column(Integer, default=0, comment="返回条数")
    amount: Mapped[int] = mapped_column(Fen, default=0, comment="计费金额（分）")
    called_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="调用时间")


class CostEntry(IdMixin, Base):
    __tablename__ = "product_cost"
    __table_args__ = {"comment": "运营机构记录的产品成本和支出 (OPS-34)"}

    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True, comment="产品")
    year: Mapped[int] = mapped_column(Integer, comment="核算周期（年度）")
    category: Mapped[str] = mapped_column(String(20),
                                          comment="labour 人工/compute 算力与平台/governance 数据治理/other 其他")
    amount: Mapped[int] = mapped_column(Fen, comment="金额（分）")
    note: Mapped[str] = mapped_column(Text, default="", comment="说明")
    state: Mapped[str] = mapped_column(String(20), default="recorded", comment="recorded 已记录/voided 已作废")
    void_reason: Mapped[str | None] = mapped_column(Text, comment="作废理由")
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="记录人")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="记录时间")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    __mapper_args__ = {"version_id_col": version}
