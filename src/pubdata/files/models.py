"""One row per upload (who uploaded what, when); the blob itself is shared by identical uploads."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from pubdata.db.base import Base, IdMixin, utcnow


class StoredFile(IdMixin, Base):
    __tablename__ = "stored_file"
    __table_args__ = (
        Index("ix_stored_file_organisation_digest", "organisation_id", "digest"),
        {"comment": "上传的附件（每次上传一行；内容按 SM3 摘要存储，相同内容只存一份）"},
    )

    digest: Mapped[str] = mapped_column(String(64), index=True, comment="内容的 SM3 摘要（64 位十六进制，小写）")
    size: Mapped[int] = mapped_column(BigInteger, comment="字节数")
    media_type: Mapped[str] = mapped_column(String(120), comment="按文件内容识别的类型 (MIME)")
    filename: Mapped[str] = mapped_column(String(255), comment="上传时的原文件名")
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id"), comment="上传用户（系统导入时为空）"
    )
    uploaded_by: Mapped[str] = mapped_column(String(200), comment="上传人（用户名或系统标识的快照）")
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id"), comment="上传用户所属单位（可读取该附件的单位）"
    )
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="上传时间 (UTC)")
