"""opdomain: the entities of a stored result's rows left out by disclosure control, for differencing (OPS-26)

Revision ID: 0023_hidden_total
Revises: 0022_query_brakes
Create Date: 2026-12-04 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0023_hidden_total'
down_revision: str | None = '0022_query_brakes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('opdomain_query_run') as batch:
        batch.add_column(sa.Column(
            'hidden_total', sa.Integer(), nullable=False, server_default='0',
            comment='因涉及个体过少而未显示的各行个体数之和（仅供差分检查，从不显示或导出）'))


def downgrade() -> None:
    with op.batch_alter_table('opdomain_query_run') as batch:
        batch.drop_column('hidden_total')
