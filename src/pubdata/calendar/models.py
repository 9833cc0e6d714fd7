"""Imported official arrangements. Rows are never deleted: a re-import supersedes the previous version."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pubdata.db.base import Base, BigId, IdMixin, utcnow


class CalendarYear(IdMixin, Base):
    """One imported version of a year's arrangement; the one without ``superseded_at`` is in force."""

    __tablename__ = "calendar_year"
    __table_args__ = (
        # At most one version in force per year, even when two imports race.
        Index(
            "uq_calendar_year_in_force",
            "year",
            unique=True,
            postgresql_where=text("superseded_at IS NULL"),
            sqlite_where=text("superseded_at IS NULL"),
        ),
        {"comment": "导入的年度节假日安排（每次导入一个版本，旧版本标记为已被替代，不删除）"},
    )

    year: Mapped[int] = mapped_column(comment="年份")
    title: Mapped[str | None] = mapped_column(String(300), comment="通知标题，如“国务院办公厅关于…的通知”")
    notice_number: Mapped[str | None] = mapped_column(String(100), comment="发文字号，如 国办发明电〔2025〕7号")
    notice_date: Mapped[dt.date | None] = mapped_column(Date, comment="通知发布日期")
    source_name: Mapped[str | None] = mapped_column(String(300), comment="导入文件名")
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="导入时间 (UTC)")
    imported_by: Mapped[str] = mapped_column(String(200), comment="导入人（用户名或系统标识的快照）")
    imported_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id"), comment="导入用户（系统导入时为空）"
    )
    superseded_at: Mapped[dt.datetime | None] = mapped_column(comment="被新版本替代的时间；为空表示现行")

    days: Mapped[list[CalendarDay]] = relationship(
        back_populates="calendar_year", order_by="CalendarDay.day", lazy="selectin"
    )

    def __audit_root__(self) -> tuple[str, int]:
        return ("calendar_year", self.year)


class CalendarDay(IdMixin, Base):
    """A date the arrangement changes: a holiday off work, or a weekend made a working day (调休)."""

    __tablename__ = "calendar_day"
    __table_args__ = (
        UniqueConstraint("calendar_year_id", "day"),
        {"comment": "年度安排中的放假日与调休上班日（其余日期按周一至周五为工作日）"},
    )

    calendar_year_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("calendar_year.id"), index=True, comment="所属导入版本"
    )
    year: Mapped[int] = mapped_column(comment="年份（冗余，便于审计归属）")
    day: Mapped[dt.date] = mapped_column(Date, comment="日期")
    is_workday: Mapped[bool] = mapped_column(comment="true：调休上班日；false：放假日")
    name: Mapped[str | None] = mapped_column(String(50), comment="节日名称，如 春节")

    calendar_year: Mapped[CalendarYear] = relationship(back_populates="days")

    def __audit_root__(self) -> tuple[str, int]:
        return ("calendar_year", self.year)
