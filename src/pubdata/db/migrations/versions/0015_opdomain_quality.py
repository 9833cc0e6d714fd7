"""opdomain quality reports (OPS-24)

Revision ID: 0015_opdomain_quality
Revises: 0011_opdomain
Create Date: 2026-11-27 07:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015_opdomain_quality'
down_revision: str | None = '0011_opdomain'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('opdomain_quality_report',
    sa.Column('dataset_id', _ID, nullable=False, comment='数据集'),
    sa.Column('grant_id', _ID, nullable=False, comment='反馈时依据的数据授权'),
    sa.Column('operator_org_id', _ID, nullable=False, comment='反馈的运营机构'),
    sa.Column('provider_org_id', _ID, nullable=False, comment='答复的数据提供单位（行业主管部门）'),
    sa.Column('reported_by_user_id', _ID, nullable=True, comment='反馈人'),
    sa.Column('table_name', sa.String(length=63), nullable=False, comment='涉及的表'),
    sa.Column('columns', sa.JSON(), nullable=False, comment='涉及的列（可为空，表示整表）'),
    sa.Column('kind', sa.String(length=20), nullable=False, comment='问题类型 missing/wrong/stale/inconsistent/other'),
    sa.Column('description', sa.Text(), nullable=False, comment='问题描述'),
    sa.Column('state', sa.String(length=20), nullable=False, comment='opdomain.quality.QUALITY'),
    sa.Column('answer', sa.Text(), nullable=True, comment='提供部门的答复'),
    sa.Column('resolution', sa.Text(), nullable=True, comment='修复说明或不予修复的理由'),
    sa.Column('operator_note', sa.Text(), nullable=True, comment='运营机构确认或重新打开时的说明'),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True, comment='首次答复时间'),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True, comment='最近一次修复或说明不予修复的时间'),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True, comment='运营机构确认关闭的时间'),
    sa.Column('response_workdays', sa.Integer(), nullable=True, comment='反馈到首次答复的工作日数'),
    sa.Column('resolution_workdays', sa.Integer(), nullable=True, comment='反馈到（最近一次）处理完毕的工作日数'),
    sa.Column('reopened', sa.Integer(), nullable=False, comment='被重新打开的次数'),
    sa.Column('reported_on', sa.Date(), nullable=False, comment='反馈日期（北京时间，工作日从次日起算）'),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False, comment='反馈时间'),
    sa.Column('version', sa.Integer(), nullable=False, comment='乐观锁版本号'),
    sa.Column('id', _ID, nullable=False, comment='代理主键 surrogate key'),
    sa.ForeignKeyConstraint(['dataset_id'], ['opdomain_dataset.id'], name=op.f('fk_opdomain_quality_report_dataset_id_opdomain_dataset')),
    sa.ForeignKeyConstraint(['grant_id'], ['opdomain_grant.id'], name=op.f('fk_opdomain_quality_report_grant_id_opdomain_grant')),
    sa.ForeignKeyConstraint(['operator_org_id'], ['organisation.id'], name=op.f('fk_opdomain_quality_report_operator_org_id_organisation')),
    sa.ForeignKeyConstraint(['provider_org_id'], ['organisation.id'], name=op.f('fk_opdomain_quality_report_provider_org_id_organisation')),
    sa.ForeignKeyConstraint(['reported_by_user_id'], ['app_user.id'], name=op.f('fk_opdomain_quality_report_reported_by_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opdomain_quality_report')),
    comment='数据质量问题反馈 (OPS-24)：运营机构反馈缺失或错误，数据提供部门答复与修复'
    )
    with op.batch_alter_table('opdomain_quality_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opdomain_quality_report_dataset_id'), ['dataset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_opdomain_quality_report_grant_id'), ['grant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_opdomain_quality_report_operator_org_id'), ['operator_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_opdomain_quality_report_provider_org_id'), ['provider_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_opdomain_quality_report_state'), ['state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('opdomain_quality_report', schema=None) as batch_op:
        for name in ('state', 'provider_org_id', 'operator_org_id', 'grant_id', 'dataset_id'):
            batch_op.drop_index(batch_op.f(f'ix_opdomain_quality_report_{name}'))
    op.drop_table('opdomain_quality_report')
