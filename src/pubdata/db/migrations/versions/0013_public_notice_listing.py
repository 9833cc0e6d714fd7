"""registry: indexes for the public notice list (newest first, optionally by status)

Revision ID: 0013_public_notice_listing
Revises: 0010_catalog
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0013_public_notice_listing'
down_revision: str | None = '0010_catalog'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('public_notice', schema=None) as batch_op:
        batch_op.create_index('ix_public_notice_listed', ['start_date', 'id'], unique=False)
        batch_op.create_index('ix_public_notice_status_listed', ['status', 'start_date', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('public_notice', schema=None) as batch_op:
        batch_op.drop_index('ix_public_notice_status_listed')
        batch_op.drop_index('ix_public_notice_listed')
