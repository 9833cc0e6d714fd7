"""opdomain: designated staff (OPS-25), query brakes — per-grant counters, rate limits, alerts — and grant
suspension pending the implementing agency's review (OPS-33)

Revision ID: 0022_query_brakes
Revises: 0021_export_hardening
Create Date: 2026-11-28 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0022_query_brakes'
down_revision: str | None = '0021_export_hardening'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('opdomain_designated_staff',
    sa.Column('agreement_id', _ID, nullable=False, comment='授权运营协议'),
    sa.Column('operator_org_id', _ID, nullable=False, comment='运营机构'),
    sa.Column('agency_org_id', _ID, nullable=False, comment='批准的实施机构（协议的实施机构）'),
    sa.Column('user_id', _ID, nullable=False, comment='被提名的用户'),
    sa.Column('duty', sa.String(length=200), nullable=False, comment='岗位与职责'),
    sa.Column('state', sa.String(length=20), nullable=False, comment='opdomain.staff.STAFF'),
    sa.Column('nominated_by_user_id', _ID, nullable=True, comment='提名人'),
    sa.Column('decided_by_user_id', _ID, nullable=True, comment='批准或撤回人'),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True, comment='批准或撤回时间'),
    sa.Column('decision_note', sa.Text(), nullable=True, comment='批准或撤回的说明'),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False, comment='提名时间'),
    sa.Column('version', sa.Integer(), nullable=False, comment='乐观锁版本号'),
    sa.Column('id', _ID, nullable=False, comment='代理主键 surrogate key'),
    sa.ForeignKeyConstraint(['agency_org_id'], ['organisation.id'], name=op.f('fk_opdomain_designated_staff_agency_org_id_organisation')),
    sa.ForeignKeyConstraint(['agreement_id'], ['operation_agreement.id'], name=op.f('fk_opdomain_designated_staff_agreement_id_operation_agreement')),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['app_user.id'], name=op.f('fk_opdomain_designated_staff_decided_by_user_id_app_user')),
    sa.ForeignKeyConstraint(['nominated_by_user_id'], ['app_user.id'], name=op.f('fk_opdomain_designated_staff_nominated_by_user_id_app_user')),
    sa.ForeignKeyConstraint(['operator_org_id'], ['organisation.id'], name=op.f('fk_opdomain_designated_staff_operator_org_id_organisation')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_opdomain_designated_staff_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opdomain_designated_staff')),
    comment='运营机构的指定人员 (OPS-25)：运营机构提名、实施机构批准后方可在该协议的数据授权下查询'
    )
    op.create_index(op.f('ix_opdomain_designated_staff_agency_org_id'), 'opdomain_designated_staff', ['agency_org_id'], unique=False)
    op.create_index(op.f('ix_opdomain_designated_staff_agreement_id'), 'opdomain_designated_staff', ['agreement_id'], unique=False)
    op.create_index(op.f('ix_opdomain_designated_staff_operator_org_id'), 'opdomain_designated_staff', ['operator_org_id'], unique=False)
    op.create_index(op.f('ix_opdomain_designated_staff_state'), 'opdomain_designated_staff', ['state'], unique=False)
    op.create_index(op.f('ix_opdomain_designated_staff_user_id'), 'opdomain_designated_staff', ['user_id'], unique=False)
    op.create_table('opdomain_query_alert',
    sa.Column('grant_id', _ID, nullable=False, comment='数据授权'),
    sa.Column('agreement_id', _ID, nullable=False, comment='授权运营协议'),
    sa.Column('agency_org_id', _ID, nullable=False, comment='告知的实施机构'),
    sa.Column('operator_org_id', _ID, nullable=False, comment='运营机构'),
    sa.Column('level', sa.String(length=20), nullable=False, comment='alert 告警 / suspension 暂停授权'),
    sa.Column('window_bad', sa.Integer(), nullable=False, comment='窗口内被拒绝、出错与限流的查询数'),
    sa.Column('threshold', sa.Integer(), nullable=False, comment='达到的阈值'),
    sa.Column('counts', sa.JSON(), nullable=False, comment='告警时该授权的累计计数'),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False, comment='告警时间'),
    sa.Column('id', _ID, nullable=False, comment='代理主键 surrogate key'),
    sa.ForeignKeyConstraint(['agency_org_id'], ['organisation.id'], name=op.f('fk_opdomain_query_alert_agency_org_id_organisation')),
    sa.ForeignKeyConstraint(['agreement_id'], ['operation_agreement.id'], name=op.f('fk_opdomain_query_alert_agreement_id_operation_agreement')),
    sa.ForeignKeyConstraint(['grant_id'], ['opdomain_grant.id'], name=op.f('fk_opdomain_query_alert_grant_id_opdomain_grant')),
    sa.ForeignKeyConstraint(['operator_org_id'], ['organisation.id'], name=op.f('fk_opdomain_query_alert_operator_org_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opdomain_query_alert')),
    comment='查询异常告警：某数据授权在一个窗口内被拒绝、出错或限流的查询达到阈值'
    )
    op.create_index(op.f('ix_opdomain_query_alert_agency_org_id'), 'opdomain_query_alert', ['agency_org_id'], unique=False)
    op.create_index(op.f('ix_opdomain_query_alert_agreement_id'), 'opdomain_query_alert', ['agreement_id'], unique=False)
    op.create_index(op.f('ix_opdomain_query_alert_grant_id'), 'opdomain_query_alert', ['grant_id'], unique=False)
    op.create_index(op.f('ix_opdomain_query_alert_operator_org_id'), 'opdomain_query_alert', ['operator_org_id'], unique=False)
    op.create_table('opdomain_query_bucket',
    sa.Column('grant_id', _ID, nullable=False, comment='数据授权'),
    sa.Column('user_id', _ID, nullable=False, comment='查询的用户'),
    sa.Column('tat', sa.Float(), server_default='0', nullable=False, comment='理论到达时间（GCRA，Unix 秒）'),
    sa.Column('id', _ID, nullable=False, comment='代理主键 surrogate key'),
    sa.ForeignKeyConstraint(['grant_id'], ['opdomain_grant.id'], name=op.f('fk_opdomain_query_bucket_grant_id_opdomain_grant')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_opdomain_query_bucket_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opdomain_query_bucket')),
    sa.UniqueConstraint('grant_id', 'user_id', name=op.f('uq_opdomain_query_bucket_grant_id')),
    comment='每个用户在每个数据授权下的查询限速状态（GCRA）'
    )
    op.create_table('opdomain_query_counter',
    sa.Column('grant_id', _ID, nullable=False, comment='数据授权'),
    sa.Column('allowed', sa.BigInteger(), server_default='0', nullable=False, comment='允许的查询数'),
    sa.Column('refused', sa.BigInteger(), server_default='0', nullable=False, comment='被拒绝的查询数'),
    sa.Column('failed', sa.BigInteger(), server_default='0', nullable=False, comment='执行出错的查询数'),
    sa.Column('throttled', sa.BigInteger(), server_default='0', nullable=False, comment='因超过限速被拒的查询数'),
    sa.Column('window_start', sa.Float(), server_default='0', nullable=False, comment='当前阈值窗口的起点（Unix 秒）'),
    sa.Column('window_bad', sa.Integer(), server_default='0', nullable=False, comment='当前窗口内被拒绝、出错与限流的查询数'),
    sa.Column('alert_level', sa.Integer(), server_default='0', nullable=False, comment='当前窗口已达的级别：0 无，1 已告警，2 已暂停'),
    sa.Column('tat', sa.Float(), server_default='0', nullable=False, comment='整体限速的理论到达时间（GCRA，Unix 秒）'),
    sa.Column('id', _ID, nullable=False, comment='代理主键 surrogate key'),
    sa.ForeignKeyConstraint(['grant_id'], ['opdomain_grant.id'], name=op.f('fk_opdomain_query_counter_grant_id_opdomain_grant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opdomain_query_counter')),
    sa.UniqueConstraint('grant_id', name=op.f('uq_opdomain_query_counter_grant_id')),
    comment='每个数据授权的查询计数（允许、拒绝、出错、限流）、阈值窗口与整体限速状态'
    )
    op.create_table('opdomain_grant_suspension',
    sa.Column('grant_id', _ID, nullable=False, comment='数据授权'),
    sa.Column('agreement_id', _ID, nullable=False, comment='授权运营协议'),
    sa.Column('agency_org_id', _ID, nullable=False, comment='审查的实施机构'),
    sa.Column('alert_id', _ID, nullable=True, comment='引起暂停的告警'),
    sa.Column('state', sa.String(length=20), nullable=False, comment='operation.workflow.SUSPENSION：in_force 暂停中 / lifted 已恢复'),
    sa.Column('facts', sa.Text(), nullable=False, comment='暂停的事实'),
    sa.Column('closing_note', sa.Text(), nullable=True, comment='恢复的理由'),
    sa.Column('lifted_by_user_id', _ID, nullable=True, comment='恢复人'),
    sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True, comment='恢复时间'),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False, comment='暂停时间'),
    sa.Column('version', sa.Integer(), nullable=False, comment='乐观锁版本号'),
    sa.Column('id', _ID, nullable=False, comment='代理主键 surrogate key'),
    sa.ForeignKeyConstraint(['agency_org_id'], ['organisation.id'], name=op.f('fk_opdomain_grant_suspension_agency_org_id_organisation')),
    sa.ForeignKeyConstraint(['agreement_id'], ['operation_agreement.id'], name=op.f('fk_opdomain_grant_suspension_agreement_id_operation_agreement')),
    sa.ForeignKeyConstraint(['alert_id'], ['opdomain_query_alert.id'], name=op.f('fk_opdomain_grant_suspension_alert_id_opdomain_query_alert')),
    sa.ForeignKeyConstraint(['grant_id'], ['opdomain_grant.id'], name=op.f('fk_opdomain_grant_suspension_grant_id_opdomain_grant')),
    sa.ForeignKeyConstraint(['lifted_by_user_id'], ['app_user.id'], name=op.f('fk_opdomain_grant_suspension_lifted_by_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opdomain_grant_suspension')),
    comment='数据授权的暂停：异常查询超过阈值后暂停，待实施机构审查后恢复'
    )
    op.create_index(op.f('ix_opdomain_grant_suspension_agency_org_id'), 'opdomain_grant_suspension', ['agency_org_id'], unique=False)
    op.create_index(op.f('ix_opdomain_grant_suspension_agreement_id'), 'opdomain_grant_suspension', ['agreement_id'], unique=False)
    op.create_index(op.f('ix_opdomain_grant_suspension_grant_id'), 'opdomain_grant_suspension', ['grant_id'], unique=False)
    op.create_index(op.f('ix_opdomain_grant_suspension_state'), 'opdomain_grant_suspension', ['state'], unique=False)


def downgrade() -> None:
    op.drop_table('opdomain_grant_suspension')
    op.drop_table('opdomain_query_counter')
    op.drop_table('opdomain_query_bucket')
    op.drop_table('opdomain_query_alert')
    op.drop_table('opdomain_designated_staff')
