"""公共数据资源目录（REG-35）: province-wide and per city, browsable by region, industry, classification and
registration type, searchable in Chinese; each entry links to its public detail and certificate status."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup, escape

from pubdata.audit import Actor
from pubdata.catalog.search import STATUSES, CatalogQuery, facet_counts, get_entry, search
from pubdata.catalog.views import sections
from pubdata.errors import DomainError
from pubdata.fulltext import text
from pubdata.reference.industries import industries
from pubdata.reference.regions import get_region, regions
from pubdata.registry import vocab
from pubdata.web.deps import Db, public
from pubdata.web.paging import Page, Paging
from pubdata.web.templating import TEMPLATES, render

router = APIRouter(include_in_schema=False)

PROVINCE = "620000"


def highlight(value: str, keywords: list[str]) -> Markup:
    """Escape, then mark each keyword found (matching is on normalised text, as the search is)."""
    if not keywords:
        return escape(value)
    folded = text.normalise(value)
    marks = [False] * len(value)
    if len(folded) == len(value):  # NFKC kept the length: positions line up
        for kw in keywords:
            start = folded.find(kw)
            while start >= 0:
                for i in range(start, start + len(kw)):
                    marks[i] = True
                start = folded.find(kw, start + 1)
    out = [Markup("<mark>{}</mark>").format(ch) if marked else escape(ch)
           for ch, marked in zip(value, marks, strict=True)]
    return Markup("".join(out)).replace(Markup("</mark><mark>"), Markup(""))


TEMPLATES.env.filters["highlight"] = highlight


def _options() -> dict[str, list[tuple[str, str]]]:
    return {
        "region": [(PROVINCE, "全省")] + [(r.code, r.name) for r in regions(parent=PROVINCE)],
        "type": list(vocab.items("registration_type").items()),
        "category": list(vocab.items("data_category").items()),
        "grade": list(vocab.items("data_grade").items()),
        "industry": [(i.code, f"{i.code} {i.name}") for i in industries(level="section")],
    }


@router.get("/catalog")
def catalog(request: Request, db: Db, paging: Paging, actor: Actor = public(),
            q: str = Query("", max_length=200), region: str = Query("", max_length=12),
            industry: str = Query("", max_length=4), type: str = Query("", max_length=20),
            category: str = Query("", max_length=40), grade: str = Query("", max_length=20),
            status: str = Query("registered", max_length=20)) -> Response:
    chosen = {"region": region, "industry": industry, "type": type, "category": category, "grade": grade}
    query = CatalogQuery(q.strip(), {k: v for k, v in chosen.items() if v}, status=status or None)
    options = _options()
    try:
        page: Page = search(db, query, paging)
        counts = facet_counts(db, query, {f: [code for code, _ in options[f]] for f in ("region", "type")})
    except DomainError as exc:
        return render(request, "catalog.html", {
            "query": query, "chosen": chosen, "q": q, "options": options, "statuses": STATUSES, "status": status,
            "page": None, "counts": {}, "error": exc, "errors": {e.field: e.message for e in exc.errors},
            "title": "公共数据资源目录"}, status_code=exc.status)
    place = get_region(region) if region else None
    title = f"{place.name}公共数据资源目录" if place and region != PROVINCE else "甘肃省公共数据资源目录"
    return render(request, "catalog.html", {
        "query": query, "chosen": chosen, "q": q, "options": options, "statuses": STATUSES, "status": status,
        "page": page, "counts": counts, "keywords": query.keywords(), "errors": {}, "title": title,
    })


@router.get("/catalog/{registration_id}")
def entry(registration_id: int, request: Request, db: Db, actor: Actor = public()) -> Response:
    item = get_entry(db, registration_id)
    return render(request, "catalog_entry.html", {
        "e": item, "sections": sections(item),
        "type_label": vocab.label("registration_type", item.registration_type),
        "category_label": vocab.label("data_category", item.category or ""),
        "grade_label": vocab.label("data_grade", item.grade or ""),
    })
