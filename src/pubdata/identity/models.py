"""Organisations, their platform roles, real-name verification decisions, users, sessions and tokens."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pubdata.db.base import Base, BigId, IdMixin, utcnow


class Organisation(IdMixin, Base):
    __tablename__ = "organisation"
    __table_args__ = {"comment": "单位（法人或非法人组织）organisations on the platform"}

    name: Mapped[str] = mapped_column(String(200), comment="单位名称")
    uscc: Mapped[str] = mapped_column(String(18), unique=True, comment="统一社会信用代码 (GB 32100)")
    kind: Mapped[str] = mapped_column(String(16), comment="单位性质：党政机关/事业单位/企业/社会组织/其他")
    region_code: Mapped[str] = mapped_column(String(6), comment="所在地行政区划代码 (GB/T 2260)")
    verification_status: Mapped[str] = mapped_column(
        String(16), default="unverified", comment="实名核验状态 (REG-36)"
    )
    verified_at: Mapped[dt.datetime | None] = mapped_column(comment="核验通过时间")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="创建时间")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="乐观锁版本号")

    roles: Mapped[list[OrganisationRole]] = relationship(
        back_populates="organisation", lazy="selectin", order_by="OrganisationRole.id"
    )
    users: Mapped[list[User]] = relationship(back_populates="organisation", lazy="raise")

    __mapper_args__ = {"version_id_col": version}

    @property
    def active_roles(self) -> list[OrganisationRole]:
        return [r for r in self.roles if r.revoked_at is None]

    @property
    def is_verified(self) -> bool:
        return self.verification_status == "verified"


class OrganisationRole(IdMixin, Base):
    __tablename__ = "organisation_role"
    __table_args__ = {"comment": "单位在平台上的角色；撤销时记录撤销时间，不删除"}

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="单位")
    role: Mapped[str] = mapped_column(String(40), comment="角色代码 (identity.roles.Role)")
    authority_level: Mapped[str | None] = mapped_column(
        String(16), comment="数据主管部门层级：province/city (REG-16)"
    )
    region_code: Mapped[str | None] = mapped_column(String(6), comment="管辖地区 (GB/T 2260)")
    industry_codes: Mapped[list[str]] = mapped_column(
        JSON, default=list, comment="行业主管部门所管行业 (GB/T 4754-2017)"
    )
    granted_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="授予时间")
    revoked_at: Mapped[dt.datetime | None] = mapped_column(comment="撤销时间")

    organisation: Mapped[Organisation] = relationship(back_populates="roles")

    def __audit_root__(self) -> tuple[str, int]:
        return ("organisation", self.organisation_id)


class OrganisationVerification(IdMixin, Base):
    __tablename__ = "organisation_verification"
    __table_args__ = {"comment": "实名核验申请与决定 (REG-36)"}

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="单位")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="申请人")
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="申请时间")
    evidence: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, comment="核验材料：营业执照/法人证书、经办人、授权书等"
    )
    decision: Mapped[str | None] = mapped_column(String(16), comment="决定：verified/rejected/suspended")
    reason: Mapped[str | None] = mapped_column(Text, comment="决定理由（不通过时必填）")
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="核验人")
    reviewer_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), comment="核验机构")
    decided_at: Mapped[dt.datetime | None] = mapped_column(comment="决定时间")

    def __audit_root__(self) -> tuple[str, int]:
        return ("organisation", self.organisation_id)


class User(IdMixin, Base):
    __tablename__ = "app_user"
    __table_args__ = {"comment": "用户（实名经办人）"}

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="所属单位")
    username: Mapped[str] = mapped_column(String(64), unique=True, comment="登录名")
    full_name: Mapped[str] = mapped_column(String(100), comment="姓名")
    phone: Mapped[str | None] = mapped_column(String(20), comment="手机号")
    password_hash: Mapped[str] = mapped_column(String(200), comment="Argon2id 口令散列")
    is_org_admin: Mapped[bool] = mapped_column(Boolean, default=False, comment="本单位管理员")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, comment="是否启用（停用代替删除）")
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, comment="连续登录失败次数")
    locked_until: Mapped[dt.datetime | None] = mapped_column(comment="锁定至")
    last_login_at: Mapped[dt.datetime | None] = mapped_column(comment="最近登录时间")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="创建时间")

    organisation: Mapped[Organisation] = relationship(back_populates="users", lazy="joined")


class WebSession(Base):
    """A signed-in browser. Login and logout are audit events on the user; the session row itself
    is technical state (last-seen touches), hence exempt from the per-row audit rule."""

    __tablename__ = "web_session"
    __table_args__ = {"comment": "网页登录会话（仅存令牌散列）"}
    __audit_exempt__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True, comment="代理主键")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, comment="会话令牌 SHA-256")
    csrf_token: Mapped[str] = mapped_column(String(64), comment="本会话的 CSRF 令牌")
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True, comment="用户")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="登录时间")
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="最近活动时间")
    ended_at: Mapped[dt.datetime | None] = mapped_column(comment="退出或失效时间")
    client_addr: Mapped[str | None] = mapped_column(String(64), comment="登录地址")
    user_agent: Mapped[str | None] = mapped_column(String(300), comment="浏览器标识")

    user: Mapped[User] = relationship(lazy="joined")


class ApiToken(IdMixin, Base):
    __tablename__ = "api_token"
    __table_args__ = (
        UniqueConstraint("token_hash", name="uq_api_token_token_hash"),
        {"comment": "机器客户端的 Bearer 令牌（仅存散列）"},
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True, comment="令牌所属用户")
    name: Mapped[str] = mapped_column(String(100), comment="用途说明")
    prefix: Mapped[str] = mapped_column(String(16), comment="令牌前缀（用于识别，不可用于认证）")
    token_hash: Mapped[str] = mapped_column(String(64), comment="令牌 SHA-256")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="签发时间")
    expires_at: Mapped[dt.datetime] = mapped_column(comment="到期时间")
    revoked_at: Mapped[dt.datetime | None] = mapped_column(comment="吊销时间")

    user: Mapped[User] = relationship(lazy="joined")

    def __audit_root__(self) -> tuple[str, int]:
        return ("app_user", self.user_id)
