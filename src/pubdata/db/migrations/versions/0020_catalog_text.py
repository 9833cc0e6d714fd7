"""catalog: the texts a search checks move from catalog_entry to a narrow catalog_text table

Revision ID: 0020_catalog_text
Revises: 0019_public_notice_search
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020_catalog_text'
down_revision: str | None = '0019_public_notice_search'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXTS = ('name_text', 'tag_text', 'subject_text', 'search_text')


def upgrade() -> None:
    op.create_table('catalog_text',
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False, comment='目录条目'),
    sa.Column('status', sa.String(length=20), nullable=False, comment='登记状态（同目录条目）'),
    sa.Column('registered_on', sa.Date(), nullable=True, comment='首次登记日（同目录条目）'),
    sa.Column('name_text', sa.String(length=100), nullable=False, comment='规范化名称'),
    sa.Column('tag_text', sa.Text(), nullable=False, comment='规范化标签'),
    sa.Column('subject_text', sa.String(length=200), nullable=False, comment='规范化主体名称'),
    sa.Column('search_text', sa.Text(), nullable=False, comment='规范化的名称、标签、主体与简介'),
    sa.ForeignKeyConstraint(['entry_id'], ['catalog_entry.id'], name=op.f('fk_catalog_text_entry_id_catalog_entry')),
    sa.PrimaryKeyConstraint('entry_id', name=op.f('pk_catalog_text')),
    comment='目录条目的检索文本（规范化名称、标签、主体与简介）'
    )
    with op.batch_alter_table('catalog_text', schema=None) as batch_op:
        batch_op.create_index('ix_catalog_text_listed', ['status', 'registered_on', 'entry_id'], unique=False)
    op.execute("INSERT INTO catalog_text (entry_id, status, registered_on, name_text, tag_text, subject_text, "
               "search_text) SELECT id, status, registered_on, name_text, tag_text, subject_text, search_text "
               "FROM catalog_entry")
    # Plain DROP COLUMN (SQLite ≥ 3.35): a batch rebuild would drop catalog_entry, which others reference.
    for column in TEXTS:
        op.execute(f"ALTER TABLE catalog_entry DROP COLUMN {column}")


def downgrade() -> None:
    for column, type_ in zip(TEXTS, (sa.String(100), sa.Text(), sa.String(200), sa.Text()), strict=True):
        op.add_column('catalog_entry', sa.Column(column, type_, nullable=False, server_default=''))
    for column in TEXTS:
        op.execute(f"UPDATE catalog_entry SET {column} = (SELECT t.{column} FROM catalog_text t "
                   f"WHERE t.entry_id = catalog_entry.id)")
    op.drop_table('catalog_text')
