"""The audit event table. Rows are only ever inserted; see audit.guard and the migration's triggers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from pubdata.db.base import Base, BigId, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_object", "object_type", "object_id", "id"),
        {"comment": "审计事件（只增不改）append-only audit trail"},
    )
    __audit_exempt__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True, comment="事件序号 sequence number")
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="发生时间 (UTC)")
    tag: Mapped[str] = mapped_column(String(120), index=True, comment="context:subject:action")
    actor_kind: Mapped[str] = mapped_column(String(16), comment="user / system / anonymous")
    actor_label: Mapped[str] = mapped_column(String(200), comment="用户名或系统标识的快照")
    actor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id"), index=True, comment="操作用户"
    )
    actor_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), comment="操作用户所属单位")
    actor_roles: Mapped[list[str]] = mapped_column(JSON, default=list, comment="操作时所持角色")
    object_type: Mapped[str] = mapped_column(String(60), comment="对象类型 aggregate type")
    object_id: Mapped[str] = mapped_column(String(64), comment="对象标识 aggregate id")
    changes: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, comment="变更内容 {field: [before, after]}"
    )
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, comment="附加信息 extra context")
    request_id: Mapped[str | None] = mapped_column(String(64), comment="请求标识")
    client_addr: Mapped[str | None] = mapped_column(String(64), comment="客户端地址")
