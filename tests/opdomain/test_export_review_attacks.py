"""Export review (OPS-26) against what the query domain let through: populations of several releases combined
by inclusion–exclusion, trackers inside one result, identifiers written in disguise."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pubdata.errors import ValidationFailed
from pubdata.opdomain import exports, file_scan
from pubdata.opdomain.disclosure import Cell, Protected, Reason
from pubdata.opdomain.export_checks import (
    CONFIRM,
    MAX_EARLIER,
    Finding,
    check_result_export,
    combination_findings,
    differencing_findings,
    small_combination,
)
from pubdata.opdomain.identifiers import Kind, is_valid_ric, scan_text
from pubdata.opdomain.models import ExportRequest
from tests.opdomain.platform_support import events, granted, ran, world

K = 10
RIC = "11010519491231002X"
MOBILE = "13812345678"
USCC = "91620104000123457C"  # a synthetic enterprise's code: GB 32100 and GB 11714 check characters valid


def total(*sizes: int, k: int = K, suppressed: tuple[int, ...] = ()) -> Protected:
    """A grand-total result (no key): one count column per size, each cell covering that many entities."""
    cells = tuple(Cell(None, Reason.OVERLAP) if j in suppressed else Cell(s) for j, s in enumerate(sizes))
    return Protected(tuple(f"n{j}" for j in range(len(sizes))), ("count",) * len(sizes), (cells,), (max(sizes),),
                     True, min_count=k, cell_supports=(sizes,))


def by_county(groups: dict[str, tuple[int, ...]], k: int = K) -> Protected:
    """A result grouped by county: per county the group size first, then one cell support per column."""
    width = len(next(iter(groups.values()))) - 1
    rows = tuple((Cell(c), *(Cell(s) for s in sizes[1:])) for c, sizes in groups.items())
    return Protected(("county", *(f"n{j}" for j in range(width))), ("key",) + ("count",) * width, rows,
                     tuple(sizes[0] for sizes in groups.values()), True, min_count=k,
                     cell_supports=tuple((None, *sizes[1:]) for sizes in groups.values()))


def codes(result: Protected, earlier: list[Protected] | None = None) -> list[Finding]:
    return [f.code for f in check_result_export(result, earlier or [])]


def brute_force_small(sizes: list[int], k: int, max_terms: int = 4) -> bool:
    """Whether any ±1 combination of two to ``max_terms`` distinct sizes comes to 1…k−1 (the reference)."""
    for n in range(2, max_terms + 1):
        for chosen in itertools.combinations(sizes, n):
            for signs in itertools.product((1, -1), repeat=n - 1):
                if 0 < abs(chosen[0] + sum(s * v for s, v in zip(signs, chosen[1:], strict=True))) < k:
                    return True
    return False


# --- inclusion–exclusion across releases --------------------------------------------------------------------


def test_three_releases_that_isolate_one_age_by_inclusion_exclusion_must_be_confirmed_by_the_reviewer() -> None:
    """age <= 62 (1,203 persons), age >= 62 (803), all ages (2,000): 1,203 + 803 − 2,000 = 6 persons aged 62,
    and every count and sum over them follows. No two of the three are close."""
    younger, older, everyone = total(1203), total(803), total(2000)
    assert not differencing_findings(older, [younger])  # two releases alone isolate nobody
    for new, earlier in ((everyone, [younger, older]), (older, [younger, everyone]), (younger, [everyone, older])):
        findings = differencing_findings(new, earlier)
        assert [(f.code, f.where) for f in findings] == [(Finding.DIFFERENCING_COMBINATION, "total")]
        assert "容斥" in findings[0].detail and "第 1、2 项已发布结果" in findings[0].detail
        # sizes alone cannot tell this from chance: not blocking, but an approval must answer it (CONFIRM)
        assert all(f.code in CONFIRM and not f.blocking for f in check_result_export(new, earlier))


def test_inclusion_exclusion_of_one_group_across_grouped_releases_is_blocked() -> None:
    """The same three populations, per county: 城关区 alone isolates 3 persons; the totals do not."""
    younger = by_county({"城关区": (130, 130), "七里河区": (400, 400)})
    older = by_county({"城关区": (73, 73), "七里河区": (380, 380)})
    everyone = by_county({"城关区": (200, 200), "七里河区": (700, 700)})
    findings = differencing_findings(everyone, [younger, older])
    assert [f.where for f in findings] == ["key:城关区"]
    assert "第 1、2 项已发布结果" in findings[0].detail


def test_a_coincidence_in_one_group_that_the_other_groups_contradict_passes() -> None:
    """130 + 73 − 200 = 3 in 城关区, but 400 + 200 − 700 = −100 in 七里河区: no set has a negative size, so the
    three releases are not two populations and their union; the few in 城关区 are chance."""
    younger = by_county({"城关区": (130, 130), "七里河区": (400, 400)})
    older = by_county({"城关区": (73, 73), "七里河区": (200, 200)})
    everyone = by_county({"城关区": (200, 200), "七里河区": (700, 700)})
    assert differencing_findings(everyone, [younger, older]) == []
    one_group = [by_county({"城关区": sizes}) for sizes in ((130, 130), (73, 73))]
    assert "key:城关区" in {f.where for f in differencing_findings(by_county({"城关区": (200, 200)}), one_group)}


def test_sums_over_the_same_populations_are_caught_like_counts() -> None:
    """Cell supports are what is compared: sums of income over the three populations leak the same way."""
    def income(support: int) -> Protected:
        return Protected(("income",), ("sum",), ((Cell(123456.0 * support),),), (support,), True,
                         cell_supports=((support,),))
    assert [f.where for f in differencing_findings(income(2000), [income(1203), income(803)])] == ["total"]


def test_four_parts_of_a_whole_that_leave_a_few_are_blocked() -> None:
    parts = [total(700), total(650), total(548)]
    assert [f.where for f in differencing_findings(total(1900), parts)] == ["total"]  # 700 + 650 + 548 − 1900 = −2


def test_a_grouped_release_summed_up_is_combined_with_grand_totals() -> None:
    """Column totals of grouped releases are populations too: Σ(age <= 62 by county) + (age >= 62) − all."""
    younger = by_county({"城关区": (600, 600), "七里河区": (603, 603)})
    assert [f.where for f in differencing_findings(total(2000), [younger, total(803)])] == ["total"]


def test_unrelated_releases_with_large_differences_pass() -> None:
    sizes = [1000, 2500, 4700, 800, 3300, 12000]
    assert not brute_force_small(sizes, K)  # every combination is 0 or at least k apart
    releases = [total(s) for s in sizes[:-1]]
    assert differencing_findings(total(sizes[-1]), releases) == []
    grouped = [by_county({"城关区": (s, s), "七里河区": (2 * s + 50, 2 * s + 50)}) for s in (300, 1100, 2600)]
    assert differencing_findings(by_county({"城关区": (4100, 4100), "七里河区": (9000, 9000)}), grouped) == []


def test_identical_populations_and_exact_partitions_are_not_findings() -> None:
    """A difference of 0 is one population described twice; A + B − N = 0 is a partition, nobody isolated."""
    assert differencing_findings(total(2000), [total(2000), total(1200), total(800)]) == []
    same = by_county({"城关区": (200, 200), "七里河区": (700, 700)})
    assert differencing_findings(same, [same, same]) == []


def test_suppressed_cells_are_not_released_populations() -> None:
    """A hidden cell told nobody its population: it cannot complete a combination, nor be a tracker."""
    assert differencing_findings(total(2000), [total(1203), total(803, suppressed=(0,))]) == []
    hidden_filter = total(100, 97, suppressed=(1,))
    assert differencing_findings(hidden_filter, []) == []


def test_combinations_are_searched_among_the_latest_releases_only() -> None:
    """The bound on work: sizes of the latest releases, MAX_EARLIER of them; pairs with every release are still
    compared (the pairwise check), so an old close pair is found however many releases came since."""
    filler = [total(100_000 + 1000 * i) for i in range(MAX_EARLIER)]
    assert differencing_findings(total(2000), [total(1203), total(803), *filler]) == []
    assert differencing_findings(total(2000), [*filler, total(1203), total(803)])
    assert {f.where for f in differencing_findings(total(2000), [total(1995), *filler])} == {"key:", "total"}


@st.composite
def releases(draw: st.DrawFn) -> tuple[int, list[list[int]], list[int]]:
    """k, the sizes of earlier grand-total releases and of the new one: all multiples of k."""
    k = draw(st.integers(2, 15))
    multiple = st.integers(2, 400).map(lambda m: m * k)
    earlier = draw(st.lists(st.lists(multiple, min_size=1, max_size=2), min_size=2, max_size=10))
    return k, earlier, draw(st.lists(multiple, min_size=1, max_size=2))


@given(releases(), st.data())
@settings(max_examples=150, deadline=None)
def test_a_planted_combination_is_always_found_and_none_is_invented(
        drawn: tuple[int, list[list[int]], list[int]], data: st.DataObject) -> None:
    """Releases whose every ±1 combination is 0 or at least k (all multiples of k) give no differencing
    finding; change one so that A + B − N is 1…k−1 (the new result playing any of the three parts) and it is
    always found."""
    k, earlier, new = drawn
    assert differencing_findings(total(*new, k=k), [total(*s, k=k) for s in earlier]) == []
    n = new[0] if new[0] >= 3 * k else 3 * k
    a = k * data.draw(st.integers(1, n // k - 2))
    b = n - a + data.draw(st.integers(1, k - 1))  # A + B − N = d, a few entities
    role = data.draw(st.sampled_from(["N", "A", "B"]))
    i, j = data.draw(st.lists(st.integers(0, len(earlier) - 1), min_size=2, max_size=2, unique=True))
    mine, (ours_i, ours_j) = {"N": (n, (a, b)), "A": (a, (n, b)), "B": (b, (n, a))}[role]
    earlier[i][0], earlier[j][0], new[0] = ours_i, ours_j, mine
    findings = differencing_findings(total(*new, k=k), [total(*s, k=k) for s in earlier])
    assert findings and all(f.code in {Finding.DIFFERENCING, Finding.DIFFERENCING_COMBINATION} for f in findings)


def test_small_combination_returns_the_fewest_terms_and_needs_an_earlier_release_when_asked() -> None:
    assert small_combination([100, 95], 1, K) == ((1, 0), (-1, 1))
    assert small_combination([2000, 1203, 803], 1, K) == ((1, 0), (-1, 1), (-1, 2))
    assert small_combination([2000, 1203, 803], 3, K, with_earlier=True) is None  # all three are the result's
    assert small_combination([2000, 1000, 1000 + K], 1, K) is None  # exactly k apart is not fewer than k
    assert small_combination([700, 650, 548, 1900], 1, K, max_terms=3) is None
    assert small_combination([700, 650, 548, 1900], 1, K) is not None


@given(st.lists(st.integers(1, 300), min_size=2, max_size=9, unique=True), st.integers(2, 12))
@settings(max_examples=200, deadline=None)
def test_small_combination_agrees_with_brute_force(sizes: list[int], k: int) -> None:
    found = small_combination(sizes, len(sizes), k)
    assert (found is not None) == brute_force_small(sizes, k)
    if found is not None:
        assert 0 < abs(sum(sign * sizes[i] for sign, i in found)) < k
        assert len({i for _, i in found}) == len(found) <= 4


# --- trackers inside one result -----------------------------------------------------------------------------


def test_a_filtered_count_next_to_the_plain_count_in_one_result_is_blocked() -> None:
    """``count(*)`` = 100 beside ``count(*) FILTER (WHERE …)`` = 97 in one row: the difference is 3 persons."""
    tracker = by_county({"城关区": (100, 100, 97), "七里河区": (400, 400, 300)})
    findings = differencing_findings(tracker, [])
    assert [(f.code, f.where) for f in findings] == [(Finding.DIFFERENCING, "row:0")]
    assert "第 1 行" in findings[0].detail and "「n0」" in findings[0].detail and "「n1」" in findings[0].detail
    assert Finding.DIFFERENCING in codes(tracker)


def test_a_case_sum_next_to_the_plain_sum_in_one_result_is_blocked() -> None:
    """``sum(CASE WHEN NOT <few> THEN x ELSE 0 END)`` beside ``sum(x)``: the CASE branch covers fewer rows."""
    row = (Cell("城关区"), Cell(5_000_000.0), Cell(4_900_000.0))
    tracker = Protected(("county", "income", "income_but_few"), ("key", "sum", "sum"), (row,), (120,), True,
                        cell_supports=((None, 120, 116),))
    assert [f.where for f in differencing_findings(tracker, [])] == ["row:0"]


def test_two_filtered_counts_and_the_plain_count_of_one_row_isolate_a_small_group() -> None:
    """age <= 62 and age >= 62 counted beside count(*) in one row: 61 + 44 − 100 = 5 persons aged 62."""
    tracker = by_county({"城关区": (100, 100, 61, 44)})
    findings = differencing_findings(tracker, [])
    assert [f.where for f in findings] == ["row:0"]
    assert findings[0].detail.count("本结果") == 3


def test_a_filtered_count_next_to_the_grand_total_is_blocked() -> None:
    """``SELECT count(*), count(*) FILTER (WHERE NOT <four persons>)``: no key, the row is the population."""
    assert [f.where for f in differencing_findings(total(2000, 1996), [])] == ["row:0"]


def test_what_a_row_leaves_outside_two_of_its_cells_is_a_small_group() -> None:
    """Men 503 and women 498 of a county of 1,004: the 3 persons of neither are isolated (and their sums)."""
    assert [f.where for f in differencing_findings(by_county({"城关区": (1004, 1004, 503, 498)}), [])] == ["row:0"]


def test_two_cells_of_one_row_are_compared_only_through_their_group() -> None:
    """Men 503 and women 498 of 1,001 persons: 5 apart, but disjoint as far as sizes tell; nobody isolated.
    (Nested populations this close are hidden by the query domain, which measures their overlap.)"""
    assert differencing_findings(by_county({"城关区": (1001, 1001, 503, 498)}), []) == []
    assert differencing_findings(by_county({"城关区": (1001, 503, 498), "七里河区": (300, 160, 140)}), []) == []


def test_a_group_the_row_does_not_show_is_compared_across_releases_only() -> None:
    """``count(*) FILTER (WHERE age >= 5)`` alone does not show the county's size; a release that does makes
    the pair (the pairwise check)."""
    only_filtered = by_county({"城关区": (100, 97), "七里河区": (400, 390)})
    assert differencing_findings(only_filtered, []) == []
    counts = by_county({"城关区": (100, 100), "七里河区": (400, 400)})
    assert "key:城关区" in {f.where for f in differencing_findings(only_filtered, [counts])}


def test_disjoint_groups_of_one_result_differing_by_a_few_are_not_flagged() -> None:
    """Rows of one GROUP BY are disjoint: counties of 53, 52 and 51 persons isolate nobody."""
    counties = by_county({"620123": (53, 53), "620105": (52, 52), "620102": (51, 51), "620111": (105, 105)})
    assert differencing_findings(counties, []) == []
    assert codes(counties) == []


def test_combinations_already_reported_as_a_pair_are_not_repeated() -> None:
    first = by_county({"兰州市": (120, 120), "天水市": (80, 80)})
    findings = combination_findings(by_county({"兰州市": (126, 126), "天水市": (77, 77)}), [first],
                                    reported={"key:兰州市", "key:天水市", "total"})
    assert findings == []


# --- identifiers in disguise --------------------------------------------------------------------------------


@pytest.mark.parametrize("written", [
    "138 1234 5678", "138-1234-5678", "138.1234.5678", "138/1234/5678", "138_1234_5678", "138 - 1234 - 5678",
    "1-3-8-1-2-3-4-5-6-7-8", "1 3 8 1 2 3 4 5 6 7 8", "138、1234。5678", "138，1234，5678", "138—1234—5678",
    "+86 138 1234 5678", "0086-138-1234-5678", "电话:138·1234·5678。"])
def test_mobile_number_with_interleaved_separators_is_found(written: str) -> None:
    assert [m.kind for m in scan_text(f"联系人 {written} 备注")] == [Kind.MOBILE]


@pytest.mark.parametrize("written", [
    "110105 19491231 002X", "110105-1949-1231-002X", "110105/19491231/002X", "110105_19491231_002X",
    "110105.19491231.002X", "1-1-0-1-0-5-1-9-4-9-1-2-3-1-0-0-2-X", "110105 19491231 002 X", "110105 19491231 002x",
    "110105、19491231、002X", "11 01 05 19 49 12 31 00 2X"])
def test_identifier_with_interleaved_separators_is_found(written: str) -> None:
    assert [m.kind for m in scan_text(f"身份证号 {written} 已核验")] == [Kind.RESIDENT_ID]


@pytest.mark.parametrize("written", [
    f"{USCC[:2]} {USCC[2:8]} {USCC[8:17]} {USCC[17]}", f"{USCC[:2]}-{USCC[2:8]}-{USCC[8:]}", "-".join(USCC),
    f"{USCC[0]} {USCC[1]} {USCC[2:8]}/{USCC[8:]}"])
def test_credit_code_with_separators_between_its_fields_is_found(written: str) -> None:
    assert [m.kind for m in scan_text(f"统一社会信用代码 {written}")] == [Kind.USCC]


def test_an_id_number_and_a_mobile_number_in_one_line_are_both_found() -> None:
    found = scan_text(f"ID: 110105 19491231 002X 电话 138 1234 5678，另 {MOBILE}")
    assert sorted(m.kind for m in found) == [Kind.MOBILE, Kind.RESIDENT_ID]  # one mobile: the same number twice
    assert all(RIC not in m.masked and MOBILE not in m.masked for m in found)


@pytest.mark.parametrize("written", [
    "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits and X
    "1\u200b1\u200b0\u200b1\u200b0\u200b5\u200b19491231002X",  # zero-width spaces
    "110105\u200c1949\u200d1231\u2060002\ufeffX",  # non-joiner, joiner, word joiner, BOM
    "１１０１０５\u200b－１９４９１２３１－００２Ｘ",  # full-width hyphens and a zero-width space
    "110105\u00ad19491231\u00ad002X",  # soft hyphens
    "110105\u300019491231\u3000002X",  # ideographic spaces (NFKC: one space each)
    "\u202e110105-19491231-002X\u202c",  # bidi override around it
])
def test_full_width_and_zero_width_characters_do_not_hide_an_id_number(written: str) -> None:
    found = scan_text(f"备注：{written}")
    assert [m.kind for m in found] == [Kind.RESIDENT_ID], written
    assert found[0].masked == "110************02X"


def test_disguised_identifiers_in_files_and_result_cells_are_found() -> None:
    text = "姓名,证件\n张三,１１０１０５\u200b１９４９１２３１\u200b００２Ｘ\n李四,1 3 8 1 2 3 4 5 6 7 8\n"
    found = file_scan.scan_document(text.encode("utf-16"), "text/csv")
    assert {f.code for f in found} == {Finding.IDENTIFIER} and len(found) == 2
    keyed = Protected(("k", "n"), ("key", "count"), ((Cell("户主 110105 1949 1231 002X"), Cell(40)),), (40,), True)
    assert codes(keyed) == [Finding.IDENTIFIER]


@pytest.mark.parametrize("row", [
    "1,234,567.89", "12 15 18 20", "人数 12 15 18 20 11 9 13 17 16 14",
    "13 25 18 20 11 9",  # eleven digits from 13: read as one number before, a row of counts now
    "1 5 3 2 0 4 1 1 2 3 5 6",  # single-digit counts: eleven in a row inside a longer row
    "2020 1231 100 150",  # a 4-4-3 grouping inside a longer row
    "4541 19 200.70 10 810.42",  # a valid-looking ID number across decimals: the dots are decimal points
    "城关区,150,1200,3400", "城关区\t150\t1200\t3400", "城关区  150  1200  3400",  # table columns
    "合计 19291.13 元，均值 1,234.56，占比 13.5%",
    "1a3b8c1d2e3f4g5h6i7j8",  # letters between digits are not separators
])
def test_ordinary_statistics_table_is_not_flagged(row: str) -> None:
    assert scan_text(row) == []


def test_a_row_of_counts_with_a_valid_check_digit_is_not_an_id_number() -> None:
    """Separated digits need a real province and birth date as well: one row of counts in eleven passes the
    check digit alone."""
    rows = (" ".join(f"{(7 * i + 13 * j) % 90 + 10}" for j in range(9)) for i in range(2000))
    passing = [r for r in rows if is_valid_ric(r.replace(" ", "")[:17] + r.replace(" ", "")[17:].upper())]
    assert len(passing) > 50
    assert [r for r in passing if scan_text(r)] == []


def test_a_statistics_file_is_not_flagged() -> None:
    rows = ["县区,人数,户数,平均收入,男,女"] + [
        f"6201{i:02d},{1000 + 37 * i},{300 + 11 * i},{19291.13 + i * 7.31:.2f},{500 + 13 * i},{500 + 24 * i}"
        for i in range(60)]
    text = "\n".join(rows) + "\n" + "\n".join(" ".join(str((i * j) % 97) for j in range(12)) for i in range(60))
    assert file_scan.scan_document(text.encode(), "text/csv") == []


# --- through the platform -----------------------------------------------------------------------------------


YOUNGER = "SELECT count(*) AS n FROM population WHERE age <= 62"
OLDER = "SELECT count(*) AS n FROM population WHERE age >= 62"
EVERYONE = "SELECT count(*) AS n FROM population"


def _request(db, c, run) -> ExportRequest:  # type: ignore[no-untyped-def]
    return exports.request_result_export(db, actor=c.operator, query_run_id=run.id, purpose="发布年龄结构指数",
                                         product="路网通行指数")


def test_three_released_results_isolating_one_age_hold_the_third_for_a_written_check(  # type: ignore[no-untyped-def]
        db_session, c, tmp: Path) -> None:
    """Each query passes disclosure control on its own and the first two are released; the third, all persons,
    would give the persons aged exactly 62 (a few in the synthetic population) as 1 + 2 − 3."""
    grant = granted(db_session, c, world(db_session, c, tmp))
    runs = [ran(db_session, c, grant, sql) for sql in (YOUNGER, OLDER, EVERYONE)]
    sizes = [run.cell_supports[0][0] for run in runs]
    assert 0 < sizes[0] + sizes[1] - sizes[2] < K and all(run.cells[0][0][1] is None for run in runs)
    for run in runs[:2]:
        req = _request(db_session, c, run)
        assert not req.blocked, req.findings
        exports.decide(db_session, actor=c.agency, export_id=req.id, decision="approve")
    third = _request(db_session, c, runs[2])
    assert [(f["code"], f["detail"], f["blocking"]) for f in third.findings] == [
        ("differencing_combination", "total", False)]
    assert "容斥" in third.findings[0]["message"] and str(sizes[0]) not in third.findings[0]["message"]
    with pytest.raises(ValidationFailed) as e:
        exports.decide(db_session, actor=c.agency, export_id=third.id, decision="approve")
    assert e.value.errors[0].field == "note" and e.value.errors[0].code == "confirmation_required"
    assert db_session.get(ExportRequest, third.id).state == "submitted"  # type: ignore[union-attr]
    checked = "已核查：三次查询的人群按年龄包含，62 岁人群不足阈值；经运营机构说明用途后仍同意发布总人数。"
    exports.decide(db_session, actor=c.agency, export_id=third.id, decision="approve", note=checked)
    assert db_session.get(ExportRequest, third.id).state == "approved"  # type: ignore[union-attr]
    assert events(db_session, "opdomain:export:approve")[-1].data["note"] == checked  # the answer is audited
