"""catalog: postings carry the entry's status, registration day and name-start flag, so short-keyword searches
rank and count from the index alone; facets indexed by entry, covering, for a search's facet counts

Revision ID: 0018_catalog_ranked_postings
Revises: 0013_public_notice_listing
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018_catalog_ranked_postings'
down_revision: str | None = '0013_public_notice_listing'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('catalog_facet', schema=None) as batch_op:
        batch_op.drop_index('ix_catalog_facet_entry')
        batch_op.create_index('ix_catalog_facet_entry', ['entry_id', 'facet', 'value'], unique=False)
    with op.batch_alter_table('catalog_term', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=20), nullable=False, server_default='registered',
                                      comment='登记状态（同目录条目）'))
        batch_op.add_column(sa.Column('registered_on', sa.Date(), nullable=True, comment='首次登记日（同目录条目）'))
        batch_op.add_column(sa.Column('leads', sa.SmallInteger(), nullable=False, server_default='0',
                                      comment='名称是否以该词开头 1/0'))
        batch_op.drop_index('ix_catalog_term_rank')
    # Existing postings take their entry's values; "the name begins with the term" is a prefix test.
    position = 'strpos' if op.get_bind().dialect.name == 'postgresql' else 'instr'
    op.execute(f"""UPDATE catalog_term SET
        status = (SELECT e.status FROM catalog_entry e WHERE e.id = catalog_term.entry_id),
        registered_on = (SELECT e.registered_on FROM catalog_entry e WHERE e.id = catalog_term.entry_id),
        leads = (SELECT CASE WHEN {position}(e.name_text, catalog_term.term) = 1 THEN 1 ELSE 0 END
                 FROM catalog_entry e WHERE e.id = catalog_term.entry_id)""")
    # The server defaults stay: removing them would rebuild the whole posting table on SQLite.
    with op.batch_alter_table('catalog_term', schema=None) as batch_op:
        batch_op.create_index('ix_catalog_term_search',
                              ['term', 'status', 'entry_id', 'weight', 'registered_on', 'leads'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('catalog_term', schema=None) as batch_op:
        batch_op.drop_index('ix_catalog_term_search')
        batch_op.create_index('ix_catalog_term_rank', ['term', 'weight', 'entry_id'], unique=False)
        batch_op.drop_column('leads')
        batch_op.drop_column('registered_on')
        batch_op.drop_column('status')
    with op.batch_alter_table('catalog_facet', schema=None) as batch_op:
        batch_op.drop_index('ix_catalog_facet_entry')
        batch_op.create_index('ix_catalog_facet_entry', ['entry_id'], unique=False)
