"""Ledger tables: the lock row, one row per leaf (with the subtree hashes it completes), checkpoints.

All three are derived from the audit trail — they *are* its tamper evidence — so they are exempt from the
audit guard (a checkpoint recorded as an event would change the tree it signs; see docs/decisions.md).
They are written with Core statements by ``ledger.tree`` and never updated.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from pubdata.db.base import Base, BigId, utcnow


class LedgerHead(Base):
    __tablename__ = "ledger_head"
    __table_args__ = ({"comment": "账本锁行（只有一行，追加叶子前先锁定它，保证全局唯一顺序）"},)
    __audit_exempt__ = True

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False, comment="固定为 1")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="账本建立时间 (UTC)")


class LedgerLeaf(Base):
    __tablename__ = "ledger_leaf"
    __table_args__ = ({"comment": "账本叶子：每个审计事件一行，按叶子序号连续编号"},)
    __audit_exempt__ = True

    leaf_index: Mapped[int] = mapped_column(
        BigId, primary_key=True, autoincrement=False, comment="叶子序号（从 0 起连续）"
    )
    event_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("audit_event.id"), unique=True, comment="审计事件序号"
    )
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary, comment="SM3(0x00 ‖ 事件规范化 JSON)")
    subtree_hashes: Mapped[bytes] = mapped_column(
        LargeBinary,
        comment="本叶子补齐的完整子树的哈希，按层 1,2,… 依次拼接（每个 32 字节）；"
        "第 L 层子树覆盖以本叶子结尾的 2^L 个叶子",
    )


class LedgerCheckpoint(Base):
    __tablename__ = "ledger_checkpoint"
    __table_args__ = (
        Index("ix_ledger_checkpoint_tree_size", "tree_size"),
        {"comment": "签名的树头（检查点）：树大小、根哈希、时间，以平台 SM2 密钥签名；只增不改"},
    )
    __audit_exempt__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True, comment="检查点序号")
    tree_size: Mapped[int] = mapped_column(BigInteger, comment="树大小（叶子数）")
    root_hash: Mapped[bytes] = mapped_column(LargeBinary, comment="树根哈希 (SM3)")
    created_at: Mapped[dt.datetime] = mapped_column(comment="签名时间 (UTC)，包含在签名内容中")
    key_id: Mapped[str] = mapped_column(String(64), comment="签名密钥标识")
    signature: Mapped[bytes] = mapped_column(LargeBinary, comment="SM2 签名（DER），签名内容见 docs/ledger-format.md")
    reason: Mapped[str] = mapped_column(String(16), comment="生成原因：events / interval / demand / export")
