"""files and evidence: content-addressed attachments (SM3) and evidence receipts (REG-9, REG-20)

Revision ID: 0004_files_evidence
Revises: 0002_calendar
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_files_evidence"
down_revision: str | None = "0002_calendar"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ID_COMMENT = "代理主键 surrogate key"


def upgrade() -> None:
    op.create_table(
        "stored_file",
        sa.Column("digest", sa.String(length=64), nullable=False, comment="内容的 SM3 摘要（64 位十六进制，小写）"),
        sa.Column("size", sa.BigInteger(), nullable=False, comment="字节数"),
        sa.Column("media_type", sa.String(length=120), nullable=False, comment="按文件内容识别的类型 (MIME)"),
        sa.Column("filename", sa.String(length=255), nullable=False, comment="上传时的原文件名"),
        sa.Column("uploaded_by_id", BigId, nullable=True, comment="上传用户（系统导入时为空）"),
        sa.Column("uploaded_by", sa.String(length=200), nullable=False, comment="上传人（用户名或系统标识的快照）"),
        sa.Column("organisation_id", BigId, nullable=True, comment="上传用户所属单位（可读取该附件的单位）"),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False, comment="上传时间 (UTC)"),
        sa.Column("id", BigId, nullable=False, comment=ID_COMMENT),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisation.id"], name=op.f("fk_stored_file_organisation_id_organisation")
        ),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["app_user.id"], name=op.f("fk_stored_file_uploaded_by_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_file")),
        comment="上传的附件（每次上传一行；内容按 SM3 摘要存储，相同内容只存一份）",
    )
    with op.batch_alter_table("stored_file", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stored_file_digest"), ["digest"], unique=False)
        batch_op.create_index("ix_stored_file_organisation_digest", ["organisation_id", "digest"], unique=False)

    op.create_table(
        "evidence_receipt",
        sa.Column("receipt_no", sa.String(length=24), nullable=False, comment="存证编号 CZ-年份-流水号-校验位"),
        sa.Column("year", sa.Integer(), nullable=False, comment="编号年份（北京时间的存证年份）"),
        sa.Column("serial", sa.Integer(), nullable=False, comment="年度内流水号"),
        sa.Column("organisation_id", BigId, nullable=False, comment="存证单位"),
        sa.Column("requested_by_id", BigId, nullable=True, comment="申请存证的用户"),
        sa.Column("requested_by", sa.String(length=200), nullable=False, comment="申请人（用户名快照）"),
        sa.Column("title", sa.String(length=200), nullable=True, comment="存证说明（如数据名称）"),
        sa.Column("is_public", sa.Boolean(), nullable=False, comment="是否公开文件名与摘要清单"),
        sa.Column("hash_algorithm", sa.String(length=40), nullable=False, comment="摘要算法"),
        sa.Column(
            "merkle_root", sa.String(length=64), nullable=False,
            comment="Merkle 根（RFC 9162，SM3；叶子为各摘要的 32 字节值，按清单顺序）",
        ),
        sa.Column("item_count", sa.Integer(), nullable=False, comment="摘要个数（树的叶子数）"),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False, comment="存证时间 (UTC)"),
        sa.Column(
            "ledger_leaf_index", sa.BigInteger(), nullable=True, comment="存证审计事件在平台账本中的叶子序号（由账本填写）"
        ),
        sa.Column("id", BigId, nullable=False, comment=ID_COMMENT),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisation.id"], name=op.f("fk_evidence_receipt_organisation_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["app_user.id"], name=op.f("fk_evidence_receipt_requested_by_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_receipt")),
        sa.UniqueConstraint("receipt_no", name=op.f("uq_evidence_receipt_receipt_no")),
        sa.UniqueConstraint("year", "serial", name=op.f("uq_evidence_receipt_year")),
        comment="存证回执：一组文件 SM3 摘要、其 Merkle 根与存证时间 (REG-9, REG-20)",
    )
    with op.batch_alter_table("evidence_receipt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_receipt_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "evidence_item",
        sa.Column("receipt_id", BigId, nullable=False, comment="所属存证回执"),
        sa.Column("position", sa.Integer(), nullable=False, comment="叶子序号（从 0 起，即清单顺序）"),
        sa.Column("name", sa.String(length=255), nullable=False, comment="文件名"),
        sa.Column("sm3", sa.String(length=64), nullable=False, comment="文件 SM3 摘要（64 位十六进制，小写）"),
        sa.Column("size", sa.BigInteger(), nullable=False, comment="文件字节数（清单申报或上传实测）"),
        sa.Column("source", sa.String(length=16), nullable=False, comment="upload：平台收到文件；manifest：仅申报摘要"),
        sa.Column("stored_file_id", BigId, nullable=True, comment="上传的文件（清单申报时为空）"),
        sa.Column("id", BigId, nullable=False, comment=ID_COMMENT),
        sa.ForeignKeyConstraint(
            ["receipt_id"], ["evidence_receipt.id"], name=op.f("fk_evidence_item_receipt_id_evidence_receipt")
        ),
        sa.ForeignKeyConstraint(
            ["stored_file_id"], ["stored_file.id"], name=op.f("fk_evidence_item_stored_file_id_stored_file")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_item")),
        sa.UniqueConstraint("receipt_id", "position", name="uq_evidence_item_receipt_position"),
        sa.UniqueConstraint("receipt_id", "sm3", name="uq_evidence_item_receipt_sm3"),
        comment="存证回执中的各文件摘要（按叶子顺序）",
    )
    with op.batch_alter_table("evidence_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_item_receipt_id"), ["receipt_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_item_sm3"), ["sm3"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evidence_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_item_sm3"))
        batch_op.drop_index(batch_op.f("ix_evidence_item_receipt_id"))
    op.drop_table("evidence_item")
    with op.batch_alter_table("evidence_receipt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_receipt_organisation_id"))
    op.drop_table("evidence_receipt")
    with op.batch_alter_table("stored_file", schema=None) as batch_op:
        batch_op.drop_index("ix_stored_file_organisation_digest")
        batch_op.drop_index(batch_op.f("ix_stored_file_digest"))
    op.drop_table("stored_file")
