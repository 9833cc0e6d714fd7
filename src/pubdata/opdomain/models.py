"""Operation-domain records (OPS-22..23, OPS-26, OPS-33): datasets in the domain, data applications, grants,
stored (protected) query results and export requests with their signed release manifests.

The engine's own objects (``schema.Dataset``, ``schema.Grant``) are stored as JSON documents here and rebuilt
on use (``datasets.dataset_of``, ``grants.engine_grant``). Nothing is deleted; every row ends in a state.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
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


class QueryRun(IdMixin, Base):
    """One allowed query's result *after* disclosure control (never raw rows), kept so that the operator can
    later ask to export it and so that later exports can be compared with it (differencing, OPS-26)."""

    __tablename__ = "opdomain_query_run"
    __table_args__ = {"comment": "受检查询的结果（仅存披露控制后的单元格，不存原始数据），供导出申请与差分检查"}

    grant_id: Mapped[int] = mapped_column(ForeignKey("opdomain_grant.id"), index=True, comment="数据授权")
    dataset_id: Mapped[int] = mapped_column(ForeignKey("opdomain_dataset.id"), index=True, comment="数据集")
    operator_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="运营机构")
    agreement_id: Mapped[int] = mapped_column(ForeignKey("operation_agreement.id"), index=True,
                                              comment="授权运营协议")
    run_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="执行查询的用户")
    audit_event_id: Mapped[int] = mapped_column(BigInteger, index=True, comment="该查询的审计事件")
    sql: Mapped[str] = mapped_column(Text, comment="经检查、规范化后执行的 SQL")
    sql_sha256: Mapped[str] = mapped_column(String(64), comment="规范化 SQL 的 SHA-256")
    columns: Mapped[list[str]] = mapped_column(JSON, default=list, comment="输出列名")
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list, comment="输出列类型 key/count/sum/statistic/value")
    sources: Mapped[list[list[str]]] = mapped_column(JSON, default=list, comment="各输出列读取的源列（表.列）")
    cells: Mapped[list[list[list[Any]]]] = mapped_column(
        JSON, default=list, comment="披露控制后的单元格：每行每列 [值, 隐藏原因]，被隐藏的值为 null")
    supports: Mapped[list[int]] = mapped_column(JSON, default=list,
                                                comment="各行涉及的个体数（仅供差分检查，从不显示或导出）")
    cell_supports: Mapped[list[list[int | None]] | None] = mapped_column(
        JSON, comment="各单元格涉及的个体数（每行每列，分组键为 null；仅供差分检查，从不显示或导出）")
    hidden_total: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0",
        comment="因涉及个体过少而未显示的各行个体数之和（仅供差分检查，从不显示或导出）")
    aggregate: Mapped[bool] = mapped_column(Boolean, comment="是否聚合结果")
    truncated: Mapped[bool] = mapped_column(Boolean, default=False, comment="结果是否被截断")
    min_count: Mapped[int] = mapped_column(Integer, comment="数据集的最小单元格阈值 k")
    suppressed_cells: Mapped[int] = mapped_column(Integer, default=0, comment="被隐藏的单元格数")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="执行时间")

    def __audit_root__(self) -> tuple[str, int]:
        """Covered by the query's own event (opdomain:query:run on the grant), written just before."""
        return "opdomain_grant", self.grant_id


class ExportRequest(IdMixin, Base):
    """An operator's request to take a result or a file out of the domain (OPS-26): automatic findings, the
    implementing agency's decision and, once approved, the signed release manifest. See opdomain/exports.py."""

    __tablename__ = "opdomain_export"
    __table_args__ = {"comment": "数据导出申请 (OPS-26)：自动检查结果、实施机构安全审核结论、签名的发布清单"}

    kind: Mapped[str] = mapped_column(String(10), comment="result 查询结果 / file 上传文件")
    operator_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="运营机构")
    agreement_id: Mapped[int] = mapped_column(ForeignKey("operation_agreement.id"), index=True,
                                              comment="申请时有效的授权运营协议")
    agency_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True,
                                               comment="审核的实施机构（协议的实施机构）")
    requested_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="申请人")
    query_run_id: Mapped[int | None] = mapped_column(ForeignKey("opdomain_query_run.id"), index=True,
                                                     comment="导出的查询结果（kind=result）")
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("opdomain_dataset.id"), index=True,
                                                   comment="查询结果所属数据集（kind=result）")
    file_name: Mapped[str | None] = mapped_column(String(255), comment="上传文件名（kind=file）")
    file_size: Mapped[int | None] = mapped_column(BigInteger, comment="上传文件字节数（kind=file）")
    media_type: Mapped[str | None] = mapped_column(String(120), comment="导出内容的类型 (MIME)")
    content_digest: Mapped[str] = mapped_column(String(64),
                                                comment="导出内容的 SM3 摘要（结果为规范 JSON，文件为原字节）")
    purpose: Mapped[str] = mapped_column(Text, comment="导出用途")
    product: Mapped[str] = mapped_column(String(200), comment="用于的数据产品")
    findings: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, comment="自动检查发现：code、message、detail、blocking")
    blocked: Mapped[bool] = mapped_column(Boolean, default=False, comment="是否有阻止批准的发现")
    state: Mapped[str] = mapped_column(String(20), default="submitted", comment="opdomain.exports.EXPORT")
    decision_note: Mapped[str | None] = mapped_column(Text, comment="审核意见（不予批准须说明理由）")
    decided_by_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), comment="审核单位")
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="审核人")
    decided_at: Mapped[dt.datetime | None] = mapped_column(comment="审核或撤回时间")
    manifest: Mapped[dict[str, Any] | None] = mapped_column(JSON, comment="发布清单（批准后生成，已签名的内容）")
    manifest_digest: Mapped[str | None] = mapped_column(String(64), index=True, comment="发布清单规范 JSON 的 SM3 摘要")
    signature: Mapped[str | None] = mapped_column(Text, comment="发布清单的 SM2 签名（十六进制）")
    key_name: Mapped[str | None] = mapped_column(String(100), comment="签名密钥名")
    key_id: Mapped[str | None] = mapped_column(String(100), comment="签名密钥标识")
    released_at: Mapped[dt.datetime | None] = mapped_column(comment="发布时间")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="申请时间")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    __mapper_args__ = {"version_id_col": version}


class QualityReport(IdMixin, Base):
    """A gap or error an operator found in granted data (OPS-24) and the providing department's answer; see
    opdomain/quality.py for the state machine and the response-time measures."""

    __tablename__ = "opdomain_quality_report"
    __table_args__ = {"comment": "数据质量问题反馈 (OPS-24)：运营机构反馈缺失或错误，数据提供部门答复与修复"}

    dataset_id: Mapped[int] = mapped_column(ForeignKey("opdomain_dataset.id"), index=True, comment="数据集")
    grant_id: Mapped[int] = mapped_column(ForeignKey("opdomain_grant.id"), index=True, comment="反馈时依据的数据授权")
    operator_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="反馈的运营机构")
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True,
                                                 comment="答复的数据提供单位（行业主管部门）")
    reported_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="反馈人")
    table_name: Mapped[str] = mapped_column(String(63), comment="涉及的表")
    columns: Mapped[list[str]] = mapped_column(JSON, default=list, comment="涉及的列（可为空，表示整表）")
    kind: Mapped[str] = mapped_column(String(20), comment="问题类型 missing/wrong/stale/inconsistent/other")
    description: Mapped[str] = mapped_column(Text, comment="问题描述")
    state: Mapped[str] = mapped_column(String(20), default="open", index=True, comment="opdomain.quality.QUALITY")
    answer: Mapped[str | None] = mapped_column(Text, comment="提供部门的答复")
    resolution: Mapped[str | None] = mapped_column(Text, comment="修复说明或不予修复的理由")
    operator_note: Mapped[str | None] = mapped_column(Text, comment="运营机构确认或重新打开时的说明")
    answered_at: Mapped[dt.datetime | None] = mapped_column(comment="首次答复时间")
    resolved_at: Mapped[dt.datetime | None] = mapped_column(comment="最近一次修复或说明不予修复的时间")
    closed_at: Mapped[dt.datetime | None] = mapped_column(comment="运营机构确认关闭的时间")
    response_workdays: Mapped[int | None] = mapped_column(Integer, comment="反馈到首次答复的工作日数")
    resolution_workdays: Mapped[int | None] = mapped_column(Integer, comment="反馈到（最近一次）处理完毕的工作日数")
    reopened: Mapped[int] = mapped_column(Integer, default=0, comment="被重新打开的次数")
    reported_on: Mapped[dt.date] = mapped_column(Date, comment="反馈日期（北京时间，工作日从次日起算）")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="反馈时间")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    __mapper_args__ = {"version_id_col": version}


class DesignatedStaff(IdMixin, Base):
    """A user of the operator whom the implementing agency approved to query under the agreement's grants
    (OPS-25); see opdomain/staff.py for the state machine."""

    __tablename__ = "opdomain_designated_staff"
    __table_args__ = {"comment": "运营机构的指定人员 (OPS-25)：运营机构提名、实施机构批准后方可在该协议的数据授权下查询"}

    agreement_id: Mapped[int] = mapped_column(ForeignKey("operation_agreement.id"), index=True,
                                              comment="授权运营协议")
    operator_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="运营机构")
    agency_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True,
                                               comment="批准的实施机构（协议的实施机构）")
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True, comment="被提名的用户")
    duty: Mapped[str] = mapped_column(String(200), comment="岗位与职责")
    state: Mapped[str] = mapped_column(String(20), default="nominated", index=True, comment="opdomain.staff.STAFF")
    nominated_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="提名人")
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="批准或撤回人")
    decided_at: Mapped[dt.datetime | None] = mapped_column(comment="批准或撤回时间")
    decision_note: Mapped[str | None] = mapped_column(Text, comment="批准或撤回的说明")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="提名时间")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    __mapper_args__ = {"version_id_col": version}


class QueryCounter(IdMixin, Base):
    """Per grant: how many queries were allowed, refused, failed and throttled, the current threshold window and
    the grant-wide rate limit (opdomain/brakes.py). Updated by single SQL statements in each query's transaction,
    so every worker process shares it."""

    __tablename__ = "opdomain_query_counter"
    __table_args__ = {"comment": "每个数据授权的查询计数（允许、拒绝、出错、限流）、阈值窗口与整体限速状态"}

    grant_id: Mapped[int] = mapped_column(ForeignKey("opdomain_grant.id"), unique=True, comment="数据授权")
    allowed: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0", comment="允许的查询数")
    refused: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0", comment="被拒绝的查询数")
    failed: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0", comment="执行出错的查询数")
    throttled: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0", comment="因超过限速被拒的查询数")
    window_start: Mapped[float] = mapped_column(Float, default=0.0, server_default="0",
                                                comment="当前阈值窗口的起点（Unix 秒）")
    window_bad: Mapped[int] = mapped_column(Integer, default=0, server_default="0",
                                            comment="当前窗口内被拒绝、出错与限流的查询数")
    alert_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0",
                                             comment="当前窗口已达的级别：0 无，1 已告警，2 已暂停")
    tat: Mapped[float] = mapped_column(Float, default=0.0, server_default="0",
                                       comment="整体限速的理论到达时间（GCRA，Unix 秒）")

    def __audit_root__(self) -> tuple[str, int]:
        """Covered by the query's own event on the grant."""
        return "opdomain_grant", self.grant_id


class QueryBucket(IdMixin, Base):
    """Per user and grant: the rate limit's state (GCRA theoretical arrival time)."""

    __tablename__ = "opdomain_query_bucket"
    __table_args__ = (UniqueConstraint("grant_id", "user_id"),
                      {"comment": "每个用户在每个数据授权下的查询限速状态（GCRA）"})

    grant_id: Mapped[int] = mapped_column(ForeignKey("opdomain_grant.id"), comment="数据授权")
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), comment="查询的用户")
    tat: Mapped[float] = mapped_column(Float, default=0.0, server_default="0",
                                       comment="理论到达时间（GCRA，Unix 秒）")

    def __audit_root__(self) -> tuple[str, int]:
        return "opdomain_grant", self.grant_id


class QueryAlert(IdMixin, Base):
    """A grant's refused, failed or throttled queries reached a threshold within one window: an alert to the
    implementing agency, or (second threshold) the grant's suspension."""

    __tablename__ = "opdomain_query_alert"
    __table_args__ = {"comment": "查询异常告警：某数据授权在一个窗口内被拒绝、出错或限流的查询达到阈值"}

    grant_id: Mapped[int] = mapped_column(ForeignKey("opdomain_grant.id"), index=True, comment="数据授权")
    agreement_id: Mapped[int] = mapped_column(ForeignKey("operation_agreement.id"), index=True,
                                              comment="授权运营协议")
    agency_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="告知的实施机构")
    operator_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="运营机构")
    level: Mapped[str] = mapped_column(String(20), comment="alert 告警 / suspension 暂停授权")
    window_bad: Mapped[int] = mapped_column(Integer, comment="窗口内被拒绝、出错与限流的查询数")
    threshold: Mapped[int] = mapped_column(Integer, comment="达到的阈值")
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict, comment="告警时该授权的累计计数")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="告警时间")

    def __audit_root__(self) -> tuple[str, int]:
        """Its event is on the grant (opdomain:grant:alert), with the alert's id."""
        return "opdomain_grant", self.grant_id


class GrantSuspension(IdMixin, Base):
    """A grant held pending the implementing agency's review (operation.workflow.SUSPENSION: in_force → lifted)."""

    __tablename__ = "opdomain_grant_suspension"
    __table_args__ = {"comment": "数据授权的暂停：异常查询超过阈值后暂停，待实施机构审查后恢复"}

    grant_id: Mapped[int] = mapped_column(ForeignKey("opdomain_grant.id"), index=True, comment="数据授权")
    agreement_id: Mapped[int] = mapped_column(ForeignKey("operation_agreement.id"), index=True,
                                              comment="授权运营协议")
    agency_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="审查的实施机构")
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("opdomain_query_alert.id"), comment="引起暂停的告警")
    state: Mapped[str] = mapped_column(String(20), default="in_force", index=True,
                                       comment="operation.workflow.SUSPENSION：in_force 暂停中 / lifted 已恢复")
    facts: Mapped[str] = mapped_column(Text, comment="暂停的事实")
    closing_note: Mapped[str | None] = mapped_column(Text, comment="恢复的理由")
    lifted_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="恢复人")
    lifted_at: Mapped[dt.datetime | None] = mapped_column(comment="恢复时间")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="暂停时间")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    __mapper_args__ = {"version_id_col": version}

    def __audit_root__(self) -> tuple[str, int]:
        """Its events are on the grant (opdomain:grant:suspend|resume)."""
        return "opdomain_grant", self.grant_id
