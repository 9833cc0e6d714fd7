"""The tokeniser the catalog index and its queries share (fulltext.text)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pubdata.fulltext import text

HAN = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF), min_size=1, max_size=30)


def test_han_text_is_indexed_as_bigrams_plus_its_last_character():
    assert text.terms("路网数据") == {"路网", "网数", "数据", "据"}


def test_latin_words_and_digits_are_whole_lowercase_words_and_full_width_is_folded():
    assert text.terms("ＧＩＳ地图 2024版") == {"gis", "地图", "图", "2024", "版"}


def test_punctuation_and_spaces_separate_runs():
    assert text.runs("医保、参保（兰州）") == ["医保", "参保", "兰州"]


def test_keywords_are_deduplicated_and_longest_first():
    assert text.keywords("医保  交通运输 医保") == ["交通运输", "医保"]


@given(HAN, st.data())
def test_every_substring_of_two_or_more_characters_has_all_its_bigrams_indexed(s: str, data: st.DataObject):
    if len(s) < 2:
        return
    i = data.draw(st.integers(0, len(s) - 2))
    j = data.draw(st.integers(i + 2, len(s)))
    required, prefix = text.query_terms(s[i:j])
    assert prefix is None
    assert set(required) <= text.terms(s)


@given(HAN, st.data())
def test_every_single_character_starts_some_indexed_term(s: str, data: st.DataObject):
    ch = data.draw(st.sampled_from(list(s)))
    required, prefix = text.query_terms(ch)
    assert required == [] and prefix == ch
    assert any(t.startswith(ch) for t in text.terms(s))


def test_weighted_terms_keep_the_best_field():
    weights = text.weighted_terms([("医保数据", text.NAME), ("医保", text.SUMMARY)])
    assert weights["医保"] == text.NAME
