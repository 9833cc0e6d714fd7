"""Operation-domain records (OPS-22..23, OPS-33): datasets in the domain, data applications and grants.

The engine's own objects (``schema.Dataset``, ``schema.Grant``) are stored as JSON documents here and rebuilt
on use (``datasets.dataset_of``, ``grants.engine_grant``). Nothing is deleted; every row ends in a state.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pubdata.db.base import Base, IdMixin, utcnow


class OpDataset(IdMixin, Base):
    __tablename__ = "opdomain_dataset"
    __table_args__ = {"comment": "授权运营域中的数据集：已登记数据资源载入域内 DuckDB 文件，含列分类分级"}

    code: Mapped[str] = mapped_column(String(60), unique=True, comment="数据集代码（DuckDB 文件名）")
    label: Mapped[str] = mapped_column(String(200), comment="数据集名称")
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True,
                                                 comment="对应的已登记公共数据资源")
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True,
                                                 comment="数据提供单位（行业主管部门）")
    file_name: Mapped[str] = mapped_column(String(200), comment="域内 DuckDB 文件名（var/opdomain/ 下）")
    tables: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list,
                                                         comment="表与列的分类分级（schema.Table 的 JSON）")
    disclosure: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, comment="统计披露控制参数")
    row_counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict, comment="各表行数（载入时）")
    state: Mapped[str] = mapped_column(String(20), default="active", comment="active 可申请/withdrawn 已撤下")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="载入时间")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    __mapper_args__ = {"version_id_col": version}


class DataApplication(IdMixin, Base):
    __tablename__ = "opdomain_application"
    __table_args__ = {"comment": "运营机构的数据申请 (OPS-23)：表与列、用途、场景、产品、期限，及最小必要提示"}

    dataset_id: Mapped[int] = mapped_column(ForeignKey("opdomain_dataset.id"), index=True, comment="数据集")
    operator_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="运营机构")
    agreement_id: Mapped[int] = mapped_column(ForeignKey("operation_agreement.id"), index=True,
                                              comment="申请时有效的授权运营协议")
    requested: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict, comment="申请的表 → 列")
    uses: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, comment="各列的用途说明（表.列 → 说明）")
    purpose: Mapped[str] = mapped_column(Text, comment="数据用途")
    scenario: Mapped[str] = mapped_column(String(200), comment="应用场景")
    product: Mapped[str] = mapped_column(String(200), comment="数据产品或服务")
    period_start: Mapped[dt.date] = mapped_column(Date, comment="使用期限起")
    period_end: Mapped[dt.date] = mapped_column(Date, comment="使用期限止")
    flags: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list, comment="不符合最小必要的提示")
    state: Mapped[str] = mapped_column(String(20), default="submitted", comment="opdomain.applications.APPLICATION")
    decision_note: Mapped[str | None] = mapped_column(Text, comment="审核意见")
    decided_by_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), comment="审核单位")
    decided_at: Mapped[dt.datetime | None] = mapped_column(comment="审核时间")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="申请时间")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    __mapper_args__ = {"version_id_col": version}


class DataGrant(IdMixin, Base):
    __tablename__ = "opdomain_grant"
    __table_args__ = {"comment": "数据授权：申请批准后运营机构可查询的表与列及到期时间，每次查询都检查"}

    application_id: Mapped[int] = mapped_column(ForeignKey("opdomain_application.id"), index=True, comment="数据申请")
    dataset_id: Mapped[int] = mapped_column(ForeignKey("opdomain_dataset.id"), index=True, comment="数据集")
    operator_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="运营机构")
    agreement_id: Mapped[int] = mapped_column(ForeignKey("operation_agreement.id"), index=True,
                                              comment="授权运营协议")
    columns: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict, comment="授权的表 → 列")
    expires_at: Mapped[dt.datetime] = mapped_column(comment="到期时间")
    revoked_at: Mapped[dt.datetime | None] = mapped_column(comment="撤销时间")
    revoke_reason: Mapped[str | None] = mapped_column(Text, comment="撤销理由")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="授权时间")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    __mapper_args__ = {"version_id_col": version}
