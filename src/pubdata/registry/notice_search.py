"""Searching the public notices (REG-28) by data name, subject name or registration code.

The same tokeniser and candidate search as the catalog (pubdata.fulltext): every keyword must occur in the data
or subject name, found through a term index written with the notice; or the query is (the start of) a
registration code. So a search over a hundred thousand notices reads posting lists, not the notices.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, Connection, and_, insert, or_, select
from sqlalchemy.orm import Session

from pubdata.fulltext import postings, text
from pubdata.fulltext.sql import among, has_substring
from pubdata.registry.models import PublicNotice, PublicNoticeTerm, Registration

#: Registration codes are upper-case ASCII ("GSDJ-2026-…"); a query that could be one is also tried as one.
_CODE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


def searchable(data_name: str, subject_name: str) -> str:
    return f"{text.normalise(data_name)}\n{text.normalise(subject_name)}"


def index_rows(conn: Connection, rows: Iterable[tuple[int, str, str]]) -> int:
    """Write the terms of notices given as (id, data name, subject name); returns how many terms."""
    terms = [{"term": t, "notice_id": notice_id} for notice_id, data_name, subject_name in rows
             for t in text.terms(f"{data_name} {subject_name}")]
    if terms:
        conn.execute(insert(PublicNoticeTerm.__table__), terms)
    return len(terms)


def index_notice(session: Session, notice: PublicNotice) -> None:
    """Called once, when the notice opens: what it shows never changes afterwards (REG-28 snapshot)."""
    index_rows(session.connection(), [(notice.id, notice.data_name, notice.subject_name)])


def matching(session: Session, q: str) -> ColumnElement[bool] | None:
    """The condition on PublicNotice for a search box query; None when the query has nothing to search by."""
    keywords = text.keywords(q)
    conditions = []
    if keywords:
        ids = postings.candidates(session, keywords, PublicNoticeTerm.term, PublicNoticeTerm.notice_id)
        conditions.append(and_(among(PublicNotice.id, ids),
                               *(has_substring(PublicNotice.search_text, kw) for kw in postings.needs_check(keywords))))
    code = q.strip().upper()
    if len(code) >= 4 and set(code) <= _CODE_CHARS:
        conditions.append(PublicNotice.registration_id.in_(
            select(Registration.id).where(Registration.code >= code, Registration.code < code + "\x7f")))
    return or_(*conditions) if conditions else None
