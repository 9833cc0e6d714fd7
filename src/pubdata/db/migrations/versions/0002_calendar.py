"""calendar: imported official holiday arrangements (REG-25..28 deadlines in working days)

Revision ID: 0002_calendar
Revises: 0001_foundation
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_calendar"
down_revision: str | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "calendar_year",
        sa.Column("year", sa.Integer(), nullable=False, comment="年份"),
        sa.Column("title", sa.String(length=300), nullable=True, comment="通知标题，如“国务院办公厅关于…的通知”"),
        sa.Column(
            "notice_number", sa.String(length=100), nullable=True, comment="发文字号，如 国办发明电〔2025〕7号"
        ),
        sa.Column("notice_date", sa.Date(), nullable=True, comment="通知发布日期"),
        sa.Column("source_name", sa.String(length=300), nullable=True, comment="导入文件名"),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False, comment="导入时间 (UTC)"),
        sa.Column(
            "imported_by", sa.String(length=200), nullable=False, comment="导入人（用户名或系统标识的快照）"
        ),
        sa.Column("imported_by_user_id", BigId, nullable=True, comment="导入用户（系统导入时为空）"),
        sa.Column(
            "superseded_at", sa.DateTime(timezone=True), nullable=True, comment="被新版本替代的时间；为空表示现行"
        ),
        sa.Column("id", BigId, nullable=False, comment="代理主键 surrogate key"),
        sa.ForeignKeyConstraint(
            ["imported_by_user_id"], ["app_user.id"], name=op.f("fk_calendar_year_imported_by_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_year")),
        comment="导入的年度节假日安排（每次导入一个版本，旧版本标记为已被替代，不删除）",
    )
    with op.batch_alter_table("calendar_year", schema=None) as batch_op:
        batch_op.create_index(
            "uq_calendar_year_in_force",
            ["year"],
            unique=True,
            postgresql_where=sa.text("superseded_at IS NULL"),
            sqlite_where=sa.text("superseded_at IS NULL"),
        )

    op.create_table(
        "calendar_day",
        sa.Column("calendar_year_id", BigId, nullable=False, comment="所属导入版本"),
        sa.Column("year", sa.Integer(), nullable=False, comment="年份（冗余，便于审计归属）"),
        sa.Column("day", sa.Date(), nullable=False, comment="日期"),
        sa.Column("is_workday", sa.Boolean(), nullable=False, comment="true：调休上班日；false：放假日"),
        sa.Column("name", sa.String(length=50), nullable=True, comment="节日名称，如 春节"),
        sa.Column("id", BigId, nullable=False, comment="代理主键 surrogate key"),
        sa.ForeignKeyConstraint(
            ["calendar_year_id"], ["calendar_year.id"], name=op.f("fk_calendar_day_calendar_year_id_calendar_year")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_day")),
        sa.UniqueConstraint("calendar_year_id", "day", name=op.f("uq_calendar_day_calendar_year_id")),
        comment="年度安排中的放假日与调休上班日（其余日期按周一至周五为工作日）",
    )
    with op.batch_alter_table("calendar_day", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calendar_day_calendar_year_id"), ["calendar_year_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("calendar_day", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_day_calendar_year_id"))
    op.drop_table("calendar_day")
    with op.batch_alter_table("calendar_year", schema=None) as batch_op:
        batch_op.drop_index("uq_calendar_year_in_force")
    op.drop_table("calendar_year")
