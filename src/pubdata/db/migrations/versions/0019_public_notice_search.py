"""registry: a term index for searching the public notices, and their normalised names

Revision ID: 0019_public_notice_search
Revises: 0018_catalog_ranked_postings
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019_public_notice_search'
down_revision: str | None = '0018_catalog_ranked_postings'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2000


def upgrade() -> None:
    with op.batch_alter_table('public_notice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.Text(), nullable=False, server_default='',
                                      comment='规范化的数据名称与主体名称（检索用）'))
    op.create_table('public_notice_term',
    sa.Column('term', sa.String(length=40).with_variant(sa.String(length=40, collation='C'), 'postgresql'), nullable=False, comment='检索词'),
    sa.Column('notice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False, comment='登记公示'),
    sa.ForeignKeyConstraint(['notice_id'], ['public_notice.id'], name=op.f('fk_public_notice_term_notice_id_public_notice')),
    sa.PrimaryKeyConstraint('term', 'notice_id', name=op.f('pk_public_notice_term')),
    comment='公示检索词'
    )
    with op.batch_alter_table('public_notice_term', schema=None) as batch_op:
        batch_op.create_index('ix_public_notice_term_notice', ['notice_id'], unique=False)
    _index_existing_notices()  # the server default stays: altering it would rebuild the table on SQLite


def _index_existing_notices() -> None:
    # The tokeniser is the application's own (pure functions of the text), so old and new notices index alike.
    from pubdata.fulltext import text

    conn = op.get_bind()
    notice = sa.table('public_notice', sa.column('id', sa.Integer), sa.column('data_name', sa.String),
                      sa.column('subject_name', sa.String), sa.column('search_text', sa.Text))
    term = sa.table('public_notice_term', sa.column('term', sa.String), sa.column('notice_id', sa.Integer))
    last = 0
    while rows := conn.execute(sa.select(notice.c.id, notice.c.data_name, notice.c.subject_name)
                               .where(notice.c.id > last).order_by(notice.c.id).limit(BATCH)).all():
        last = rows[-1].id
        conn.execute(notice.update().where(notice.c.id == sa.bindparam('_id')),
                     [{'_id': r.id, 'search_text': f"{text.normalise(r.data_name)}\n{text.normalise(r.subject_name)}"}
                      for r in rows])
        terms = [{'term': t, 'notice_id': r.id} for r in rows for t in text.terms(f"{r.data_name} {r.subject_name}")]
        if terms:
            conn.execute(term.insert(), terms)


def downgrade() -> None:
    with op.batch_alter_table('public_notice_term', schema=None) as batch_op:
        batch_op.drop_index('ix_public_notice_term_notice')
    op.drop_table('public_notice_term')
    with op.batch_alter_table('public_notice', schema=None) as batch_op:
        batch_op.drop_column('search_text')
