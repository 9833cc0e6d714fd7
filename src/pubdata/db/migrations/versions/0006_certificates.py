"""certificates: signed certificate documents and public announcements

Revision ID: 0006_certificates
Revises: 0005_registry
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_certificates"
down_revision: str | None = "0005_registry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "certificate_document",
        sa.Column("certificate_id", ID, nullable=False, comment="凭证记录"),
        sa.Column("registration_id", ID, nullable=False, comment="登记记录"),
        sa.Column("format", sa.String(length=40), nullable=False, comment="凭证格式版本，如 pubdata-certificate/1"),
        sa.Column("certificate_version", sa.Integer(), nullable=False, comment="该登记的第几份凭证（从 1 起）"),
        sa.Column("signed_json", sa.Text(), nullable=False, comment="被签名的凭证内容：RFC 8785 规范化 JSON 原文"),
        sa.Column("document_sm3", sa.String(length=64), nullable=False, comment="signed_json 的 SM3 摘要（十六进制）"),
        sa.Column("signature", sa.LargeBinary(), nullable=False, comment="SM2 签名（DER），SM3 杂凑、默认用户标识"),
        sa.Column("key_name", sa.String(length=80), nullable=False, comment="签名密钥名称（签发机构）"),
        sa.Column("key_id", sa.String(length=16), nullable=False, comment="签名公钥标识"),
        sa.Column("ledger_event_id", ID, nullable=False, comment="签发凭证的审计事件"),
        sa.Column("ledger_leaf_index", sa.BigInteger(), nullable=False, comment="该事件在账本中的叶子序号"),
        sa.Column("pdf_sm3", sa.String(length=64), nullable=True, comment="PDF 文件的 SM3 摘要（生成后记录）"),
        sa.Column("pdf_size", sa.Integer(), nullable=True, comment="PDF 文件字节数"),
        sa.Column("pdf_rendered_at", sa.DateTime(timezone=True), nullable=True, comment="PDF 生成时间"),
        sa.Column("ended_on", sa.Date(), nullable=True, comment="更新、注销、撤销或期满注销之日"),
        sa.Column("end_reason", sa.Text(), nullable=True, comment="撤销或注销的理由（不公开）"),
        sa.Column("superseded_by_id", ID, nullable=True, comment="取代本凭证的新凭证"),
        sa.Column("reminded_on", sa.Date(), nullable=True, comment="已发出续展提醒之日（REG-37）"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, comment="签名时间"),
        sa.Column("id", ID, nullable=False, comment="代理主键 surrogate key"),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificate.id"],
                                name=op.f("fk_certificate_document_certificate_id_certificate")),
        sa.ForeignKeyConstraint(["registration_id"], ["registration.id"],
                                name=op.f("fk_certificate_document_registration_id_registration")),
        sa.ForeignKeyConstraint(["ledger_event_id"], ["audit_event.id"],
                                name=op.f("fk_certificate_document_ledger_event_id_audit_event")),
        sa.ForeignKeyConstraint(["superseded_by_id"], ["certificate.id"],
                                name=op.f("fk_certificate_document_superseded_by_id_certificate")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_document")),
        sa.UniqueConstraint("certificate_id", name=op.f("uq_certificate_document_certificate_id")),
        comment="电子凭证的签名文本、签名、账本位置与 PDF 摘要（REG-29/34/42）",
    )
    with op.batch_alter_table("certificate_document", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificate_document_registration_id"), ["registration_id"], unique=False)

    op.create_table(
        "announcement",
        sa.Column("kind", sa.String(length=40), nullable=False, comment="公告类型：expiry_cancellation 期满注销等"),
        sa.Column("title", sa.String(length=200), nullable=False, comment="标题"),
        sa.Column("body", sa.Text(), nullable=False, comment="正文（仅含公开信息）"),
        sa.Column("registration_id", ID, nullable=True, comment="所涉登记记录"),
        sa.Column("registration_code", sa.String(length=40), nullable=True, comment="所涉登记编码"),
        sa.Column("certificate_number", sa.String(length=40), nullable=True, comment="所涉凭证编号"),
        sa.Column("issuer_name", sa.String(length=200), nullable=False, comment="发布机构"),
        sa.Column("published_on", sa.Date(), nullable=False, comment="公告日期（北京时间）"),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False, comment="发布时间"),
        sa.Column("id", ID, nullable=False, comment="代理主键 surrogate key"),
        sa.ForeignKeyConstraint(["registration_id"], ["registration.id"],
                                name=op.f("fk_announcement_registration_id_registration")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcement")),
        comment="登记机构的公告（如凭证期满未续展的注销公告，REG-37）",
    )
    with op.batch_alter_table("announcement", schema=None) as batch_op:
        batch_op.create_index("ix_announcement_published", ["published_on", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_announcement_registration_id"), ["registration_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("announcement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_announcement_registration_id"))
        batch_op.drop_index("ix_announcement_published")
    op.drop_table("announcement")
    with op.batch_alter_table("certificate_document", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificate_document_registration_id"))
    op.drop_table("certificate_document")
