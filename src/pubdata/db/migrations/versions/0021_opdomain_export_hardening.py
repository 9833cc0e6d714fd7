"""opdomain: per-cell supports of stored query results, for the cell-level differencing check (OPS-26)

Revision ID: 0021_export_hardening
Revises: 0014_opdomain_exports
Create Date: 2026-11-27 08:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0021_export_hardening'
down_revision: str | None = '0014_opdomain_exports'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('opdomain_query_run') as batch:
        batch.add_column(sa.Column(
            'cell_supports', sa.JSON(), nullable=True,
            comment='各单元格涉及的个体数（每行每列，分组键为 null；仅供差分检查，从不显示或导出）'))


def downgrade() -> None:
    with op.batch_alter_table('opdomain_query_run') as batch:
        batch.drop_column('cell_supports')
