"""Chinese-aware text for the catalog index: one normalisation, one tokeniser, for indexing and querying alike.

Chinese has no spaces, and a search box user types any substring ("医保", "不动产登记"). So Han text is indexed
as overlapping character bigrams: a keyword of n ≥ 2 Han characters can only occur where all its n−1 bigrams
occur, and the candidates are then checked for the exact substring. Each Han run also yields its last character
alone, so every character starts some term and a one-character keyword is a prefix range over the terms. Latin
letters and digits are indexed as whole words ("gis", "2024"). The same index and the same SQL serve SQLite and
PostgreSQL (docs/catalog.md).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

#: Field weights: where a keyword is found decides how high the entry ranks.
NAME, TAGS, SUBJECT, SUMMARY = 8, 4, 3, 2

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(rf"[{_HAN}]+|[a-z0-9]+")
_IS_HAN = re.compile(rf"[{_HAN}]")
MAX_TERM = 40


def normalise(text: str) -> str:
    """Full-width to half-width, one case, no control characters: "ＧＩＳ 数据" → "gis 数据"."""
    return unicodedata.normalize("NFKC", text or "").lower()


def runs(text: str) -> list[str]:
    """The Han runs and Latin/digit words of normalised text; punctuation and spaces separate them."""
    return _RUN.findall(normalise(text))


def run_terms(run: str) -> list[str]:
    if not _IS_HAN.match(run):
        return [run[:MAX_TERM]]
    return [run[i:i + 2] for i in range(len(run) - 1)] + [run[-1]]


def terms(text: str) -> set[str]:
    """Every index term of ``text``."""
    return {t for run in runs(text) for t in run_terms(run)}


def weighted_terms(fields: Iterable[tuple[str, int]]) -> dict[str, int]:
    """term → the highest weight of the fields it occurs in."""
    out: dict[str, int] = {}
    for text, weight in fields:
        for term in terms(text):
            if out.get(term, 0) < weight:
                out[term] = weight
    return out


def keywords(query: str, limit: int = 8) -> list[str]:
    """The keywords of a query (spaces separate them; all must match), normalised, longest first."""
    found = list(dict.fromkeys(runs(query)))
    return sorted(found, key=len, reverse=True)[:limit]


def query_terms(keyword: str) -> tuple[list[str], str | None]:
    """(terms that must all be present, or a one-character prefix every match has a term starting with)."""
    if len(keyword) == 1 and _IS_HAN.match(keyword):
        return [], keyword
    if not _IS_HAN.match(keyword):
        return [keyword[:MAX_TERM]], None
    return sorted({keyword[i:i + 2] for i in range(len(keyword) - 1)}), None


def indexed_exactly(keyword: str) -> bool:
    """Whether the index alone decides a match: one or two Han characters (a term, or a prefix of terms), or one
    Latin/digit word (a whole-word term). Longer Han keywords are checked as substrings after the index."""
    if _IS_HAN.match(keyword):
        return len(keyword) <= 2
    return len(keyword) <= MAX_TERM
