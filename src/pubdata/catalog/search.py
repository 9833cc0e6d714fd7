"""Searching and browsing the catalog: keywords (all must match, as substrings), facet filters, ranking.

Ranking, highest first: the number of keywords found in the name, then in tags, subject and summary — weighted
8/4/3/2 per field —, a name that starts with the first keyword, then the most recently registered. One SQL for
SQLite and PostgreSQL; see docs/catalog.md for the measured speed and ranking quality.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, intersect, literal, select
from sqlalchemy.orm import Session

from pubdata.catalog import text
from pubdata.catalog.models import CatalogEntry, CatalogFacet, CatalogTerm
from pubdata.errors import FieldError, ValidationFailed
from pubdata.web.paging import Page, PageRequest

FACETS = ("region", "industry", "type", "category", "grade")
STATUSES = {"registered": "已登记", "cancelled": "已注销", "revoked": "已撤销"}
#: How far a posting list is counted when choosing the rarest term to drive the search.
_DF_CAP = 20_000
_TERM_MAX = "\U0010ffff"


@dataclass(frozen=True)
class CatalogQuery:
    q: str = ""
    filters: dict[str, str] = field(default_factory=dict)
    #: None lists every status; the public default is current registrations only.
    status: str | None = "registered"

    def keywords(self) -> list[str]:
        return text.keywords(self.q)


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


def _postings(term: str) -> Select[Any]:
    return select(CatalogTerm.entry_id).where(CatalogTerm.term == term)


def _has_prefix(prefix: str) -> ColumnElement[bool]:
    return CatalogEntry.id.in_(select(CatalogTerm.entry_id).where(CatalogTerm.term >= prefix,
                                                                  CatalogTerm.term < prefix + _TERM_MAX))


def _frequency(session: Session, term: str) -> int:
    """Postings of ``term``, counted up to a cap: enough to pick the rarest term."""
    capped = select(CatalogTerm.entry_id).where(CatalogTerm.term == term).limit(_DF_CAP).subquery()
    return int(session.scalar(select(func.count()).select_from(capped)) or 0)


def _score(keywords: Sequence[str]) -> ColumnElement[int]:
    """Per keyword, the weight of the best field it is found in; plus a bonus for a name starting with it."""
    parts: list[ColumnElement[int]] = []
    for kw in keywords:
        parts.append(case(
            (CatalogEntry.name_text.contains(kw, autoescape=True), literal(text.NAME)),
            (CatalogEntry.tag_text.contains(kw, autoescape=True), literal(text.TAGS)),
            (CatalogEntry.subject_text.contains(kw, autoescape=True), literal(text.SUBJECT)),
            else_=literal(text.SUMMARY)))  # the keyword conditions already require it somewhere
    if keywords:
        parts.append(case((CatalogEntry.name_text.startswith(keywords[0], autoescape=True), literal(1)),
                          else_=literal(0)))
    total: ColumnElement[int] = literal(0)
    for part in parts:
        total = total + part
    return total


def _filtered(stmt: Select[Any], query: CatalogQuery) -> Select[Any]:
    # Each filter is a set of ids from an index (never a per-row lookup), so the database starts from the
    # smallest set instead of scanning the catalog.
    for facet, value in query.filters.items():
        if value:
            stmt = stmt.where(CatalogEntry.id.in_(select(CatalogFacet.entry_id).where(
                CatalogFacet.facet == facet, CatalogFacet.value == value)))
    if query.status is not None:
        stmt = stmt.where(CatalogEntry.status == query.status)
    return stmt


#: How many of the rarest terms are intersected in the index; the substring check does the rest.
_DRIVERS = 2


def _keyword_conditions(session: Session, keywords: Sequence[str]) -> list[ColumnElement[bool]]:
    """Candidates from the index — the intersection of the rarest terms' posting lists, so the database reads
    the shortest lists and never scans the catalog — then the exact substring check, which also removes bigram
    coincidences ("路网监测" from "路网…网监…监测")."""
    required: list[str] = []
    prefixes: list[str] = []
    for kw in keywords:
        terms, prefix = text.query_terms(kw)
        required += terms
        if prefix:
            prefixes.append(prefix)
    conditions: list[ColumnElement[bool]] = []
    if required:
        rarest = sorted(set(required), key=lambda t: _frequency(session, t))[:_DRIVERS]
        candidates = _postings(rarest[0]) if len(rarest) == 1 else intersect(*(_postings(t) for t in rarest))
        conditions.append(CatalogEntry.id.in_(candidates))
    conditions += [_has_prefix(p) for p in prefixes]
    conditions += [CatalogEntry.search_text.contains(kw, autoescape=True) for kw in keywords]
    return conditions


def search(session: Session, query: CatalogQuery, paging: PageRequest) -> Page[Hit]:
    check(query)
    keywords = query.keywords()
    score = _score(keywords).label("score")
    stmt = _filtered(select(CatalogEntry.id, score), query)
    if keywords:
        stmt = stmt.where(and_(*_keyword_conditions(session, keywords)))
        order = (score.desc(), CatalogEntry.registered_on.desc(), CatalogEntry.id.desc())
    else:
        order = (CatalogEntry.registered_on.desc(), CatalogEntry.id.desc())
    total = int(session.scalar(select(func.count()).select_from(
        stmt.with_only_columns(CatalogEntry.id).order_by(None).subquery())) or 0)
    # Rank ids and scores only; load the page's entries afterwards (sorting whole rows is what costs).
    ranked = session.execute(stmt.order_by(*order).limit(paging.size).offset(paging.offset)).all()
    ids = [r[0] for r in ranked]
    entries = {e.id: e for e in session.scalars(select(CatalogEntry).where(CatalogEntry.id.in_(ids)))}
    return Page([Hit(entries[r[0]], int(r[1])) for r in ranked], total, paging.number, paging.size)


def facet_counts(session: Session, query: CatalogQuery, facet: str, values: Sequence[str] | None = None
                 ) -> dict[str, int]:
    """How many entries the current search has per value of ``facet`` (the facet's own filter left out)."""
    others = CatalogQuery(query.q, {k: v for k, v in query.filters.items() if k != facet}, query.status)
    matching = _filtered(select(CatalogEntry.id), others)
    keywords = others.keywords()
    if keywords:
        matching = matching.where(and_(*_keyword_conditions(session, keywords)))
    stmt = (select(CatalogFacet.value, func.count()).where(CatalogFacet.facet == facet,
                                                           CatalogFacet.entry_id.in_(matching.scalar_subquery()))
            .group_by(CatalogFacet.value))
    if values is not None:
        stmt = stmt.where(CatalogFacet.value.in_(values))
    return {v: int(n) for v, n in session.execute(stmt)}


def get_entry(session: Session, registration_id: int) -> CatalogEntry:
    from pubdata.errors import NotFound

    entry = session.scalar(select(CatalogEntry).where(CatalogEntry.registration_id == registration_id))
    if entry is None:
        raise NotFound("目录中没有这条登记记录（尚未登记完成的申请不进入目录）。", code="catalog_entry_not_found")
    return entry
