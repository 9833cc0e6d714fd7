"""operation consent withdrawal: the providing unit of shared data withdraws its OPS-12 consent, with a reason;
agreement filing keeps its materials

Revision ID: 0016_op_consent_withdrawal
Revises: 0012_operation_notices
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# The id is shorter than the file name: alembic_version.version_num is VARCHAR(32) on PostgreSQL.
revision: str = '0016_op_consent_withdrawal'
down_revision: str | None = '0012_operation_notices'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('operation_sharing_consent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True, comment='撤回同意时间'))
        batch_op.add_column(sa.Column('withdrawal_reason', sa.Text(), nullable=True, comment='撤回同意的理由'))
        batch_op.add_column(sa.Column('withdrawn_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                                      nullable=True, comment='撤回经办人'))
        batch_op.create_foreign_key(batch_op.f('fk_operation_sharing_consent_withdrawn_by_user_id_app_user'),
                                    'app_user', ['withdrawn_by_user_id'], ['id'])
    with op.batch_alter_table('operation_agreement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('filing_attachments', sa.JSON(), nullable=False, server_default='[]',
                                      comment='备案材料（SM3 摘要）'))
    with op.batch_alter_table('operation_agreement', schema=None) as batch_op:
        batch_op.alter_column('filing_attachments', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('operation_agreement', schema=None) as batch_op:
        batch_op.drop_column('filing_attachments')
    with op.batch_alter_table('operation_sharing_consent', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_operation_sharing_consent_withdrawn_by_user_id_app_user'),
                                 type_='foreignkey')
        batch_op.drop_column('withdrawn_by_user_id')
        batch_op.drop_column('withdrawal_reason')
        batch_op.drop_column('withdrawn_at')
