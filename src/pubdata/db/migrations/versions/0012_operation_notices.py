"""operation notices: written notices of the authorized-operation lifecycles

Revision ID: 0012_operation_notices
Revises: 0009_operation
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012_operation_notices'
down_revision: str | None = '0009_operation'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('operation_notice',
    sa.Column('number', sa.String(length=40), nullable=True, comment='通知书编号（插入后赋予）'),
    sa.Column('object_type', sa.String(length=40), nullable=False, comment='所涉对象类型（方案、选择、协议或措施）'),
    sa.Column('object_id', sa.Integer(), nullable=False, comment='所涉对象编号'),
    sa.Column('kind', sa.String(length=30), nullable=False, comment='通知书类型'),
    sa.Column('addressee_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False, comment='收件单位'),
    sa.Column('issued_by_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True, comment='发文单位'),
    sa.Column('title', sa.String(length=100), nullable=False, comment='标题'),
    sa.Column('body', sa.Text(), nullable=False, comment='正文'),
    sa.Column('items', sa.JSON(), nullable=False, comment='逐项内容'),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False, comment='发出时间'),
    sa.Column('issued_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True, comment='经办人'),
    sa.Column('issued_by_label', sa.String(length=200), nullable=False, comment='发出者'),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False, comment='代理主键 surrogate key'),
    sa.ForeignKeyConstraint(['addressee_org_id'], ['organisation.id'], name=op.f('fk_operation_notice_addressee_org_id_organisation')),
    sa.ForeignKeyConstraint(['issued_by_org_id'], ['organisation.id'], name=op.f('fk_operation_notice_issued_by_org_id_organisation')),
    sa.ForeignKeyConstraint(['issued_by_user_id'], ['app_user.id'], name=op.f('fk_operation_notice_issued_by_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operation_notice')),
    sa.UniqueConstraint('number', name=op.f('uq_operation_notice_number')),
    comment='授权运营书面通知书（方案退回/审定、选择结果、整改、暂停、恢复、终止）'
    )
    with op.batch_alter_table('operation_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_operation_notice_addressee_org_id'), ['addressee_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_operation_notice_issued_by_org_id'), ['issued_by_org_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('operation_notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_operation_notice_issued_by_org_id'))
        batch_op.drop_index(batch_op.f('ix_operation_notice_addressee_org_id'))

    op.drop_table('operation_notice')
