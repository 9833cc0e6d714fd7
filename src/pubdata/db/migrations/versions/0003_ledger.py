"""ledger: Merkle tree over the audit trail (leaves with completed subtree hashes), signed checkpoints

Events written before this revision become the first leaves, in event order, so the tree covers the whole
trail from the first day.

Revision ID: 0003_ledger
Revises: 0002_calendar
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pubdata.db.base import UTCDateTime, utcnow

revision: str = "0003_ledger"
down_revision: str | None = "0002_calendar"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    head = op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False, comment="固定为 1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, comment="账本建立时间 (UTC)"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_head")),
        comment="账本锁行（只有一行，追加叶子前先锁定它，保证全局唯一顺序）",
    )
    op.create_table(
        "ledger_leaf",
        sa.Column("leaf_index", BigId, autoincrement=False, nullable=False, comment="叶子序号（从 0 起连续）"),
        sa.Column("event_id", BigId, nullable=False, comment="审计事件序号"),
        sa.Column("leaf_hash", sa.LargeBinary(), nullable=False, comment="SM3(0x00 ‖ 事件规范化 JSON)"),
        sa.Column(
            "subtree_hashes", sa.LargeBinary(), nullable=False,
            comment="本叶子补齐的完整子树的哈希，按层 1,2,… 依次拼接（每个 32 字节）；第 L 层子树覆盖以本叶子结尾的 2^L 个叶子",
        ),
        sa.ForeignKeyConstraint(["event_id"], ["audit_event.id"], name=op.f("fk_ledger_leaf_event_id_audit_event")),
        sa.PrimaryKeyConstraint("leaf_index", name=op.f("pk_ledger_leaf")),
        sa.UniqueConstraint("event_id", name=op.f("uq_ledger_leaf_event_id")),
        comment="账本叶子：每个审计事件一行，按叶子序号连续编号",
    )
    op.create_table(
        "ledger_checkpoint",
        sa.Column("id", BigId, nullable=False, comment="检查点序号"),
        sa.Column("tree_size", sa.BigInteger(), nullable=False, comment="树大小（叶子数）"),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False, comment="树根哈希 (SM3)"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, comment="签名时间 (UTC)，包含在签名内容中"),
        sa.Column("key_id", sa.String(length=64), nullable=False, comment="签名密钥标识"),
        sa.Column("signature", sa.LargeBinary(), nullable=False, comment="SM2 签名（DER），签名内容见 docs/ledger-format.md"),
        sa.Column("reason", sa.String(length=16), nullable=False, comment="生成原因：events / interval / demand / export"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_checkpoint")),
        comment="签名的树头（检查点）：树大小、根哈希、时间，以平台 SM2 密钥签名；只增不改",
    )
    with op.batch_alter_table("ledger_checkpoint", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_checkpoint_tree_size", ["tree_size"], unique=False)

    op.bulk_insert(head, [{"id": 1, "created_at": utcnow()}])
    _backfill()


def _backfill() -> None:
    """Leaves for the events that exist already (same computation as ledger.tree's append)."""
    from pubdata.crypto.merkle import Frontier, leaf_hash
    from pubdata.ledger.canonical import event_bytes

    events = sa.table(
        "audit_event",
        sa.column("id", sa.Integer()), sa.column("occurred_at", UTCDateTime()), sa.column("tag", sa.String()),
        sa.column("actor_kind", sa.String()), sa.column("actor_label", sa.String()),
        sa.column("actor_user_id", sa.Integer()), sa.column("actor_org_id", sa.Integer()),
        sa.column("actor_roles", sa.JSON()), sa.column("object_type", sa.String()),
        sa.column("object_id", sa.String()), sa.column("changes", sa.JSON()), sa.column("data", sa.JSON()),
        sa.column("request_id", sa.String()), sa.column("client_addr", sa.String()),
    )
    leaves = sa.table("ledger_leaf", sa.column("leaf_index"), sa.column("event_id"), sa.column("leaf_hash"),
                      sa.column("subtree_hashes"))
    conn = op.get_bind()
    frontier, batch = Frontier(), []
    for row in conn.execute(sa.select(events).order_by(events.c.id)):
        h = leaf_hash(event_bytes(row))
        index = frontier.size
        batch.append({"leaf_index": index, "event_id": row.id, "leaf_hash": h,
                      "subtree_hashes": b"".join(frontier.append(h))})
        if len(batch) >= 1000:
            conn.execute(leaves.insert(), batch)
            batch = []
    if batch:
        conn.execute(leaves.insert(), batch)


def downgrade() -> None:
    with op.batch_alter_table("ledger_checkpoint", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_checkpoint_tree_size")
    op.drop_table("ledger_checkpoint")
    op.drop_table("ledger_leaf")
    op.drop_table("ledger_head")
