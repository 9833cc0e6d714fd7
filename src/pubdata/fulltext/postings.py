"""Finding the owners of a set of keywords in a posting table (term, owner id): the candidates a search starts
from, so the database reads the shortest posting lists and never scans the owners' table.

A keyword the index decides exactly (text.indexed_exactly) contributes its own posting list; a longer Han
keyword contributes its rarest bigrams, and the caller then checks it as a substring (``needs_check``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, CompoundSelect, Select, and_, func, intersect, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from pubdata.fulltext import text

#: How far a posting list is counted when choosing the rarest terms to drive a search.
_DF_CAP = 20_000
#: How many of a long keyword's rarest bigrams are intersected; the substring check does the rest.
_DRIVERS = 2
_TERM_MAX = "\U0010ffff"


def keyword_match(term: InstrumentedAttribute[str], kw: str) -> ColumnElement[bool]:
    """The postings of a keyword the index decides exactly: its term, or for one Han character the range of
    terms that begin with it (the term column sorts by code point: collation "C" on PostgreSQL)."""
    terms, prefix = text.query_terms(kw)
    if prefix:
        return and_(term >= prefix, term < prefix + _TERM_MAX)
    return term == terms[0]


def needs_check(keywords: Sequence[str]) -> list[str]:
    """The keywords the index cannot decide alone: check these as substrings of the owner's text."""
    return [kw for kw in keywords if not text.indexed_exactly(kw)]


def _frequency(session: Session, term: InstrumentedAttribute[str], owner: InstrumentedAttribute[int],
               value: str) -> int:
    capped = select(owner).where(term == value).limit(_DF_CAP).subquery()
    return int(session.scalar(select(func.count()).select_from(capped)) or 0)


def candidates(session: Session, keywords: Sequence[str], term: InstrumentedAttribute[str],
               owner: InstrumentedAttribute[int], *where: ColumnElement[bool]) -> Select[Any] | CompoundSelect:
    """Owner ids that have every exact keyword's postings and a long keyword's rarest bigrams (a superset of the
    matches only where ``needs_check`` names a keyword); ``where`` narrows every posting list alike."""
    long = needs_check(keywords)
    lists = [select(owner).where(keyword_match(term, kw), *where) for kw in keywords if kw not in long]
    bigrams = {t for kw in long for t in text.query_terms(kw)[0]}
    rarest = sorted(bigrams, key=lambda t: _frequency(session, term, owner, t))[:_DRIVERS]
    lists += [select(owner).where(term == t, *where) for t in rarest]
    return intersect(*lists) if len(lists) > 1 else lists[0].distinct()
