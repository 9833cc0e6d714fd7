"""Searching and browsing the catalog: keywords (all must match, as substrings), facet filters, ranking.

Ranking, highest first: the number of keywords found in the name, then in tags, subject and summary — weighted
8/4/3/2 per field —, a name that starts with the first keyword, then the most recently registered. Keywords the
index decides alone (one or two Han characters, a Latin word) are ranked and counted from the postings; longer
ones are checked in catalog_text. One SQL for SQLite and PostgreSQL; see docs/catalog.md for the measured speed
and ranking quality.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, literal, select
from sqlalchemy.orm import Session

from pubdata.catalog.models import CatalogEntry, CatalogFacet, CatalogTerm, CatalogText
from pubdata.errors import FieldError, ValidationFailed
from pubdata.fulltext import postings, text
from pubdata.fulltext.sql import among, has_prefix, has_substring
from pubdata.web.paging import Page, PageRequest

FACETS = ("region", "industry", "type", "category", "grade")
STATUSES = {"registered": "已登记", "cancelled": "已注销", "revoked": "已撤销"}


@dataclass(frozen=True)
class CatalogQuery:
    q: str = ""
    filters: dict[str, str] = field(default_factory=dict)
    #: None lists every status; the public default is current registrations only.
    status: str | None = "registered"

    def keywords(self) -> list[str]:
        return text.keywords(self.q)

    def without(self, facet: str) -> CatalogQuery:
        return CatalogQuery(self.q, {k: v for k, v in self.filters.items() if k != facet}, self.status)


@dataclass(frozen=True)
class Hit:
    entry: CatalogEntry
    score: int


FACET_LABELS = {"region": "地区", "industry": "行业", "type": "登记类型", "category": "数据分类", "grade": "数据分级"}
_VOCABULARY = {"type": "registration_type", "category": "data_category", "grade": "data_grade"}


def facet_error(facet: str, value: str) -> FieldError | None:
    """A filter value that names nothing: said at its field, rather than an empty list that looks like no data."""
    from pubdata.reference.industries import get_industry
    from pubdata.reference.regions import get_region
    from pubdata.registry import vocab

    if facet == "region":
        known = get_region(value) is not None and value.startswith("62")
    elif facet == "industry":
        known = get_industry(value) is not None
    else:
        known = value in vocab.items(_VOCABULARY[facet])
    return None if known else FieldError(facet, f"unknown_{facet}", f"{FACET_LABELS[facet]}“{value[:20]}”不存在。")


def check(query: CatalogQuery) -> None:
    errors = [FieldError(k, "unknown_facet", f"不支持按“{k[:20]}”筛选。") for k in query.filters if k not in FACETS]
    errors += [e for k, v in query.filters.items() if k in FACETS and v and (e := facet_error(k, v))]
    if query.status is not None and query.status not in STATUSES:
        errors.append(FieldError("status", "unknown_status", "登记状态只能是已登记、已注销或已撤销。"))
    if len(query.q) > 100:
        errors.append(FieldError("q", "too_long", "检索词不能超过 100 个字。"))
    if errors:
        raise ValidationFailed(errors, detail="检索条件有误，请按提示修改。")


def _score(keywords: Sequence[str]) -> ColumnElement[int]:
    """Per keyword, the weight of the best field it is found in; plus a bonus for a name starting with it."""
    total: ColumnElement[int] = literal(0)
    for kw in keywords:
        total = total + case(
            (has_substring(CatalogText.name_text, kw), literal(text.NAME)),
            (has_substring(CatalogText.tag_text, kw), literal(text.TAGS)),
            (has_substring(CatalogText.subject_text, kw), literal(text.SUBJECT)),
            else_=literal(text.SUMMARY))  # the keyword conditions already require it somewhere
    if keywords:
        total = total + case((has_prefix(CatalogText.name_text, keywords[0]), literal(1)), else_=literal(0))
    return total


def _in_facets(stmt: Select[Any], entry_id: Any, query: CatalogQuery) -> Select[Any]:
    # Each filter is a set of ids from an index (never a per-row lookup), so the database starts from the
    # smallest set instead of scanning the catalog.
    for facet, value in query.filters.items():
        if value:
            stmt = stmt.where(among(entry_id, select(CatalogFacet.entry_id).where(
                CatalogFacet.facet == facet, CatalogFacet.value == value)))
    return stmt


def _browsed(query: CatalogQuery, *columns: Any) -> Select[Any]:
    """Entries by facet and status alone (no keywords), from catalog_text: newest first is its index order."""
    stmt = _in_facets(select(*columns), CatalogText.entry_id, query)
    return stmt.where(CatalogText.status == query.status) if query.status is not None else stmt


def _candidates(session: Session, query: CatalogQuery, keywords: Sequence[str]) -> Any:
    status = () if query.status is None else (CatalogTerm.status == query.status,)
    return postings.candidates(session, keywords, CatalogTerm.term, CatalogTerm.entry_id, *status)


def _checked(session: Session, query: CatalogQuery, keywords: Sequence[str], *columns: Any) -> Select[Any]:
    """Entries found by keywords that need their text checked, as ``select(*columns)`` over catalog_text.

    A keyword of one or two Han characters, or one Latin word, is found exactly where its term is; a longer one
    is checked as a substring after the index, since bigrams can coincide ("路网监测" from "路网…网监…监测")."""
    checks = [has_substring(CatalogText.search_text, kw) for kw in postings.needs_check(keywords)]
    stmt = select(*columns).where(among(CatalogText.entry_id, _candidates(session, query, keywords)), *checks)
    stmt = _in_facets(stmt, CatalogText.entry_id, query)
    return stmt.where(CatalogText.status == query.status) if query.status is not None else stmt


def _matching_ids(session: Session, query: CatalogQuery) -> Select[Any]:
    """The ids a query finds; from the postings alone when the index decides every keyword."""
    keywords = query.keywords()
    if not keywords:
        return _browsed(query, CatalogText.entry_id)
    if postings.needs_check(keywords):
        return _checked(session, query, keywords, CatalogText.entry_id)
    ids = _candidates(session, query, keywords).subquery("candidates").c.entry_id
    return _in_facets(select(ids), ids, query)


def _ranked_from_postings(query: CatalogQuery, keywords: Sequence[str]) -> Select[Any]:
    """(id, score, total) of a search whose keywords the index decides exactly, read from the postings alone.

    Each keyword's postings give the entry's best field weight for it, whether the name begins with it, and the
    entry's status and registration day; so ranking and counting never read an entry — a one-word search over
    a hundred thousand records touches only its posting list."""
    per_keyword = []
    for n, kw in enumerate(keywords):
        found = (select(CatalogTerm.entry_id, func.max(CatalogTerm.weight).label("w"),
                        func.max(CatalogTerm.leads).label("leads"), func.max(CatalogTerm.registered_on).label("day"))
                 .where(postings.keyword_match(CatalogTerm.term, kw)).group_by(CatalogTerm.entry_id))
        if query.status is not None:
            found = found.where(CatalogTerm.status == query.status)
        per_keyword.append(found.subquery(f"k{n}"))
    first = per_keyword[0]
    score = first.c.leads
    for k in per_keyword:
        score = score + k.c.w
    stmt = select(first.c.entry_id.label("id"), score.label("score"), func.count().over().label("total"))
    stmt = stmt.select_from(first)
    for k in per_keyword[1:]:
        stmt = stmt.join(k, k.c.entry_id == first.c.entry_id)
    return _in_facets(stmt, first.c.entry_id, query).order_by(score.desc(), first.c.day.desc(), first.c.entry_id.desc())


def _ranked(session: Session, query: CatalogQuery) -> Select[Any]:
    """(id, score, total) of every match, best first; the total counted in the same pass (a window)."""
    keywords = query.keywords()
    total = func.count().over().label("total")
    if not keywords:  # no window: the newest page is read straight off the index, the total counted apart
        return _browsed(query, CatalogText.entry_id.label("id"), literal(0).label("score")).order_by(
            CatalogText.registered_on.desc(), CatalogText.entry_id.desc())
    if not postings.needs_check(keywords):
        return _ranked_from_postings(query, keywords)
    score = _score(keywords).label("score")
    return _checked(session, query, keywords, CatalogText.entry_id.label("id"), score, total).order_by(
        score.desc(), CatalogText.registered_on.desc(), CatalogText.entry_id.desc())


def search(session: Session, query: CatalogQuery, paging: PageRequest) -> Page[Hit]:
    check(query)
    # Rank ids only; load the page's entries afterwards (sorting whole rows is what costs).
    ranked = session.execute(_ranked(session, query).limit(paging.size).offset(paging.offset)).all()
    if ranked and "total" in ranked[0]._fields:
        total = int(ranked[0].total)
    elif ranked or paging.offset or not query.keywords():
        # Browsing, or past the last page (the window had no row to report on): counted from the index.
        total = int(session.scalar(select(func.count()).select_from(_matching_ids(session, query).subquery())) or 0)
    else:
        total = 0
    ids = [r.id for r in ranked]
    entries = {e.id: e for e in session.scalars(select(CatalogEntry).where(CatalogEntry.id.in_(ids)))}
    return Page([Hit(entries[r.id], int(r.score)) for r in ranked], total, paging.number, paging.size)


def facet_counts(session: Session, query: CatalogQuery, wanted: Mapping[str, Sequence[str] | None]
                 ) -> dict[str, dict[str, int]]:
    """Per facet, how many entries the current search has per value (the facet's own filter left out, so the
    other values stay choosable); ``wanted`` maps each facet to the values to count (None: all).

    Facets whose own filter is not set share one search, so a page pays one pass for all of them."""
    groups: dict[tuple[tuple[str, str], ...], list[str]] = {}
    for facet in wanted:
        others = query.without(facet)
        groups.setdefault(tuple(sorted(others.filters.items())), []).append(facet)
    out: dict[str, dict[str, int]] = {f: {} for f in wanted}
    for filters, facets in groups.items():
        matching = _matching_ids(session, CatalogQuery(query.q, dict(filters), query.status))
        stmt = (select(CatalogFacet.facet, CatalogFacet.value, func.count())
                .where(CatalogFacet.facet.in_(facets), CatalogFacet.entry_id.in_(matching.scalar_subquery()))
                .group_by(CatalogFacet.facet, CatalogFacet.value))
        for facet, value, n in session.execute(stmt):
            values = wanted[facet]
            if values is None or value in values:
                out[facet][value] = int(n)
    return out


def get_entry(session: Session, registration_id: int) -> CatalogEntry:
    from pubdata.errors import NotFound

    entry = session.scalar(select(CatalogEntry).where(CatalogEntry.registration_id == registration_id))
    if entry is None:
        raise NotFound("目录中没有这条登记记录（尚未登记完成的申请不进入目录）。", code="catalog_entry_not_found")
    return entry
