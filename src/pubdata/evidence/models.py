"""Evidence receipts (存证回执) and the digests each one covers, in leaf order."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pubdata.db.base import Base, IdMixin, utcnow


class EvidenceReceipt(IdMixin, Base):
    __tablename__ = "evidence_receipt"
    __table_args__ = (
        UniqueConstraint("year", "serial"),
        {"comment": "存证回执：一组文件 SM3 摘要、其 Merkle 根与存证时间 (REG-9, REG-20)"},
    )

    receipt_no: Mapped[str] = mapped_column(String(24), unique=True, comment="存证编号 CZ-年份-流水号-校验位")
    year: Mapped[int] = mapped_column(Integer, comment="编号年份（北京时间的存证年份）")
    serial: Mapped[int] = mapped_column(Integer, comment="年度内流水号")
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, comment="存证单位")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), comment="申请存证的用户")
    requested_by: Mapped[str] = mapped_column(String(200), comment="申请人（用户名快照）")
    title: Mapped[str | None] = mapped_column(String(200), comment="存证说明（如数据名称）")
    is_public: Mapped[bool] = mapped_column(Boolean, default=False, comment="是否公开文件名与摘要清单")
    hash_algorithm: Mapped[str] = mapped_column(String(40), default="SM3", comment="摘要算法")
    merkle_root: Mapped[str] = mapped_column(
        String(64), comment="Merkle 根（RFC 9162，SM3；叶子为各摘要的 32 字节值，按清单顺序）"
    )
    item_count: Mapped[int] = mapped_column(Integer, comment="摘要个数（树的叶子数）")
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="存证时间 (UTC)")
    ledger_leaf_index: Mapped[int | None] = mapped_column(
        BigInteger, comment="存证审计事件在平台账本中的叶子序号（由账本填写）"
    )

    items: Mapped[list[EvidenceItem]] = relationship(
        back_populates="receipt", lazy="selectin", order_by="EvidenceItem.position"
    )


class EvidenceItem(IdMixin, Base):
    __tablename__ = "evidence_item"
    __table_args__ = (
        UniqueConstraint("receipt_id", "position", name="uq_evidence_item_receipt_position"),
        UniqueConstraint("receipt_id", "sm3", name="uq_evidence_item_receipt_sm3"),
        {"comment": "存证回执中的各文件摘要（按叶子顺序）"},
    )

    receipt_id: Mapped[int] = mapped_column(ForeignKey("evidence_receipt.id"), index=True, comment="所属存证回执")
    position: Mapped[int] = mapped_column(Integer, comment="叶子序号（从 0 起，即清单顺序）")
    name: Mapped[str] = mapped_column(String(255), comment="文件名")
    sm3: Mapped[str] = mapped_column(String(64), index=True, comment="文件 SM3 摘要（64 位十六进制，小写）")
    size: Mapped[int] = mapped_column(BigInteger, comment="文件字节数（清单申报或上传实测）")
    source: Mapped[str] = mapped_column(String(16), comment="upload：平台收到文件；manifest：仅申报摘要")
    stored_file_id: Mapped[int | None] = mapped_column(
        ForeignKey("stored_file.id"), comment="上传的文件（清单申报时为空）"
    )

    receipt: Mapped[EvidenceReceipt] = relationship(back_populates="items")

    def __audit_root__(self) -> tuple[str, int]:
        return ("evidence_receipt", self.receipt_id)
