"""The catalog's tables: one entry per registration ever registered, its search text, facets and search terms.

All four are a projection of the registry, rebuilt from it at any time (``pubdata catalog-rebuild``); they are
audit-exempt because the registration's own events already record every change they mirror. An entry is never
removed: a cancelled or revoked registration stays listed with its status.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pubdata.db.base import Base, BigId, IdMixin, utcnow


class CatalogEntry(IdMixin, Base):
    __tablename__ = "catalog_entry"
    __table_args__ = (
        Index("ix_catalog_entry_listed", "registered_on", "id"),
        {"comment": "公共数据资源目录条目（登记记录的公开投影）"},
    )
    __audit_exempt__ = True

    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), unique=True, comment="登记记录")
    code: Mapped[str | None] = mapped_column(String(40), comment="登记编码")
    data_name: Mapped[str] = mapped_column(String(100), comment="登记数据名称")
    summary: Mapped[str] = mapped_column(Text, default="", comment="数据内容简介")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list, comment="数据标签")
    subject_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), comment="登记主体")
    subject_name: Mapped[str] = mapped_column(String(200), comment="登记主体名称")
    registration_type: Mapped[str] = mapped_column(String(20), comment="数据登记类型")
    category: Mapped[str | None] = mapped_column(String(40), comment="数据分类")
    grade: Mapped[str | None] = mapped_column(String(20), comment="数据分级")
    regions: Mapped[list[str]] = mapped_column(JSON, default=list, comment="资源覆盖地区")
    industries: Mapped[list[str]] = mapped_column(JSON, default=list, comment="行业分类")
    status: Mapped[str] = mapped_column(String(20), comment="登记状态 registered/cancelled/revoked")
    certificate_number: Mapped[str | None] = mapped_column(String(40), comment="现行凭证编号")
    certificate_status: Mapped[str | None] = mapped_column(String(20), comment="现行凭证状态")
    registered_on: Mapped[dt.date | None] = mapped_column(Date, comment="首次登记日")
    version_no: Mapped[int] = mapped_column(Integer, comment="目录所据的登记版本")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, comment="公开的其他登记信息")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="最近同步时间")


class CatalogText(Base):
    """What a search reads of an entry, apart from what it shows: the normalised (fulltext.text) texts keywords
    are checked and ranked against, with the status and day it filters and orders by. A narrow table, so that
    checking thousands of candidates reads a few pages rather than every entry's published form."""

    __tablename__ = "catalog_text"
    __table_args__ = (
        # Browsing without keywords: newest first within a status, read in index order; counted from it too.
        Index("ix_catalog_text_listed", "status", "registered_on", "entry_id"),
        {"comment": "目录条目的检索文本（规范化名称、标签、主体与简介）"},
    )
    __audit_exempt__ = True

    entry_id: Mapped[int] = mapped_column(BigId, ForeignKey("catalog_entry.id"), primary_key=True, comment="目录条目")
    status: Mapped[str] = mapped_column(String(20), comment="登记状态（同目录条目）")
    registered_on: Mapped[dt.date | None] = mapped_column(Date, comment="首次登记日（同目录条目）")
    name_text: Mapped[str] = mapped_column(String(100), comment="规范化名称")
    tag_text: Mapped[str] = mapped_column(Text, comment="规范化标签")
    subject_text: Mapped[str] = mapped_column(String(200), comment="规范化主体名称")
    search_text: Mapped[str] = mapped_column(Text, comment="规范化的名称、标签、主体与简介")


class CatalogFacet(Base):
    """(facet, value) pairs an entry can be browsed by; regions and industries with their ancestors."""

    __tablename__ = "catalog_facet"
    # By entry, covering: a search's facet counts look up each matching entry's values without the table.
    __table_args__ = (Index("ix_catalog_facet_entry", "entry_id", "facet", "value"),
                      {"comment": "目录分面（地区、行业、分类、类型）"})
    __audit_exempt__ = True

    facet: Mapped[str] = mapped_column(String(20), primary_key=True, comment="分面 region/industry/category/type/grade")
    value: Mapped[str] = mapped_column(String(40), primary_key=True, comment="分面取值")
    entry_id: Mapped[int] = mapped_column(BigId, ForeignKey("catalog_entry.id"), primary_key=True, comment="目录条目")


class CatalogTerm(Base):
    """The inverted index: character bigrams of Chinese text and whole Latin/digit words (see fulltext.text)."""

    __tablename__ = "catalog_term"
    __table_args__ = (
        # Covers a one-word search entirely (match, status, rank, newest first, count): no entry is read.
        Index("ix_catalog_term_search", "term", "status", "entry_id", "weight", "registered_on", "leads"),
        Index("ix_catalog_term_entry", "entry_id"),
        {"comment": "目录检索词（中文二元组与英文数字词）"},
    )
    __audit_exempt__ = True

    # Byte order on PostgreSQL too, so that a one-character prefix is one index range (fulltext.text).
    term: Mapped[str] = mapped_column(String(40).with_variant(String(40, collation="C"), "postgresql"),
                                      primary_key=True, comment="检索词")
    entry_id: Mapped[int] = mapped_column(BigId, ForeignKey("catalog_entry.id"), primary_key=True, comment="目录条目")
    weight: Mapped[int] = mapped_column(Integer, comment="出现字段的最高权重（名称 8、标签 4、主体 3、简介 2）")
    # Copies of the entry's status and first registration day, and whether the name begins with the term, so
    # that ranking and counting a search of short keywords never reads an entry (catalog.search). The index
    # rows of an entry are rewritten whenever the entry is, so the copies cannot drift.
    status: Mapped[str] = mapped_column(String(20), comment="登记状态（同目录条目）")
    registered_on: Mapped[dt.date | None] = mapped_column(Date, comment="首次登记日（同目录条目）")
    leads: Mapped[int] = mapped_column(SmallInteger, default=0, comment="名称是否以该词开头 1/0")
