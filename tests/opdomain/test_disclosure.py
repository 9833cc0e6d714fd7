"""Disclosure control and export checks, with property tests for suppression and the check digits."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric as stdnum_ric

from pubdata.identity.validation import make_uscc
from pubdata.opdomain.disclosure import AggStats, Protected, RawRow, Reason, protect
from pubdata.opdomain.export_checks import Finding, check_result_export, differencing_findings
from pubdata.opdomain.file_scan import scan_bytes, scan_file
from pubdata.opdomain.identifiers import Kind, find_identifiers, is_valid_ric, is_valid_uscc, ric_check_digit
from pubdata.opdomain.schema import DisclosureConfig

CONFIG = DisclosureConfig()
bodies = st.text(alphabet="0123456789", min_size=17, max_size=17)


# --- check digits -------------------------------------------------------------------------------------------


@given(bodies)
def test_ric_check_digit_matches_stdnum(body: str) -> None:
    assert ric_check_digit(body) == stdnum_ric.calc_check_digit(body + "0")
    assert is_valid_ric(body + ric_check_digit(body))


@given(bodies, st.integers(0, 16), st.integers(1, 9))
def test_ric_detects_every_single_digit_error(body: str, pos: int, delta: int) -> None:
    number = body + ric_check_digit(body)
    wrong = number[:pos] + str((int(number[pos]) + delta) % 10) + number[pos + 1 :]
    assert not is_valid_ric(wrong)


@given(st.sampled_from(["9162", "9144", "1211", "5162"]), st.integers(0, 10**6))
def test_uscc_codes_made_by_the_registry_are_found(prefix: str, serial: int) -> None:
    code = make_uscc(prefix + "0102", serial)
    assert is_valid_uscc(code)
    assert Kind.USCC in [m.kind for m in find_identifiers(f"单位：{code}。")]
    bad = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert not is_valid_uscc(bad)


def test_scanner_needs_valid_check_digits_and_masks_what_it_found() -> None:
    good = "11010519491231002X"
    text = f"编号 110105194912310021，身份证 {good}，电话 13912345678，订单 123456789012345678901"
    found = list(find_identifiers(text))
    assert sorted(m.kind for m in found) == [Kind.MOBILE, Kind.RESIDENT_ID]
    assert all(good not in m.masked for m in found)


@given(st.integers(0, 3000))
@settings(max_examples=30)
def test_file_scan_finds_identifiers_across_chunk_boundaries(pad: int) -> None:
    data = b"x" * pad + "身份证:11010519491231002X".encode() + b" 0931-8888888 " + b"y" * 50
    chunks = [data[i : i + 7] for i in range(0, len(data), 7)]
    findings = scan_file(chunks)
    assert [f.code for f in findings] == [Finding.IDENTIFIER]


def test_compressed_files_are_not_passed_unread() -> None:
    assert [f.code for f in scan_bytes(b"PK\x03\x04rest-of-zip")] == [Finding.UNSCANNABLE]
    assert [f.code for f in scan_bytes(b"PAR1....")] == [Finding.UNSCANNABLE]
    assert scan_bytes("城市,人数\n兰州市,120\n".encode()) == []


# --- suppression --------------------------------------------------------------------------------------------

counts = st.integers(0, 60)


@st.composite
def raw_rows(draw: st.DrawFn) -> list[RawRow]:
    rows = []
    for i in range(draw(st.integers(1, 12))):
        n = draw(counts)
        contributions = draw(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=max(n, 1), max_size=max(n, 1)))
        magnitude = AggStats(
            support=sum(1 for c in contributions if c), abs_total=sum(contributions), top=max(contributions)
        )
        rows.append(RawRow((f"k{i}", n, sum(contributions)), n, ((), (AggStats(n, rows=n),), (magnitude,))))
    return rows


@given(raw_rows(), st.integers(1, 20))
def test_no_small_cell_is_shown_and_none_is_dropped(rows: list[RawRow], k: int) -> None:
    config = DisclosureConfig(min_count=k)
    out = protect(["k", "n", "s"], ["key", "count", "sum"], rows, config, population=None, aggregate=True)
    assert len(out.rows) == len(rows)
    for raw, row in zip(rows, out.rows, strict=True):
        assert len(row) == 3
        for cell in row:
            assert (cell.value is None) == cell.suppressed or cell.value is None
        if raw.group_size < k:
            assert all(c.reason is Reason.MIN_COUNT for c in row)
        if not row[2].suppressed:
            assert raw.stats[2][0].support >= k
    hidden = [r for r in out.rows if r[0].suppressed]
    assert len(hidden) != 1 or len(rows) == 1  # one hidden row never stands alone


@given(st.lists(st.floats(0.01, 1e6, allow_nan=False), min_size=10, max_size=40))
def test_dominance_never_suppresses_less_than_the_exact_rule(values: list[float]) -> None:
    ordered = sorted(values, reverse=True)
    total = sum(values)
    exact = any(sum(ordered[:n]) > p * total for n, p in CONFIG.dominance)
    stats = AggStats(support=len(values), abs_total=total, top=ordered[0])
    out = protect(["s"], ["sum"], [RawRow((total,), len(values), ((stats,),))], CONFIG, population=None,
                  aggregate=True)
    if exact:
        assert out.rows[0][0].reason is Reason.DOMINANCE


def test_one_dominant_contributor_is_suppressed() -> None:
    stats = AggStats(support=20, abs_total=1_000_000 + 19 * 100, top=1_000_000)
    out = protect(["s"], ["sum"], [RawRow((1_001_900,), 20, ((stats,),))], CONFIG, population=None, aggregate=True)
    assert out.rows[0][0].reason is Reason.DOMINANCE


def test_secondary_suppression_protects_the_single_hidden_row() -> None:
    rows = [RawRow((k, n), n, ((), (AggStats(n, rows=n),))) for k, n in (("a", 3), ("b", 40), ("c", 12))]
    out = protect(["k", "n"], ["key", "count"], rows, CONFIG, population=55, aggregate=True)
    assert [r[1].reason for r in out.rows] == [Reason.MIN_COUNT, None, Reason.SECONDARY]


def test_complement_rule() -> None:
    rows = [RawRow((995,), 995, ((AggStats(995, rows=995),),))]
    out = protect(["n"], ["count"], rows, CONFIG, population=1000, aggregate=True)
    assert out.rows[0][0].reason is Reason.COMPLEMENT
    whole = protect(["n"], ["count"], [RawRow((1000,), 1000, ((AggStats(1000, rows=1000),),))], CONFIG,
                    population=1000, aggregate=True)
    assert not whole.rows[0][0].suppressed


# --- export checks ------------------------------------------------------------------------------------------


def _release(cells: dict[str, int]) -> Protected:
    rows = [RawRow((k, n), n, ((), (AggStats(n, rows=n),))) for k, n in cells.items()]
    return protect(["k", "n"], ["key", "count"], rows, CONFIG, population=None, aggregate=True)


def test_differencing_against_earlier_releases() -> None:
    first = _release({"兰州市": 120, "天水市": 80})
    assert differencing_findings(_release({"兰州市": 120, "天水市": 80}), [first]) == []
    second = _release({"兰州市": 117, "天水市": 80})  # same table, three people fewer in one cell
    findings = differencing_findings(second, [first])
    assert {f.where for f in findings} == {"key:兰州市", "total"}
    assert all(f.code is Finding.DIFFERENCING for f in findings)
    assert differencing_findings(_release({"兰州市": 150, "天水市": 80}), [first]) == []  # 30 apart: fine
    assert [f.where for f in differencing_findings(_release({"兰州市": 126, "天水市": 77}), [first])] == [
        "key:兰州市", "key:天水市", "total"
    ]


def test_result_export_checks() -> None:
    clean = _release({"兰州市": 120, "天水市": 80})
    assert check_result_export(clean) == []
    leaky = protect(["k", "n"], ["key", "count"], [RawRow(("11010519491231002X", 12), 12, ((), (AggStats(12),)))],
                    CONFIG, population=None, aggregate=True)
    assert [f.code for f in check_result_export(leaky)] == [Finding.IDENTIFIER]
    rows = protect(["name"], ["value"], [RawRow(("兰州市",), 0, ())], CONFIG, population=None, aggregate=False)
    assert [f.code for f in check_result_export(rows)] == [Finding.ROW_LEVEL]


@given(st.lists(st.one_of(st.just(0.0), st.floats(0.01, 1e6, allow_nan=False)), min_size=1, max_size=40),
       st.integers(1, 15))
def test_bound_rule_shows_no_sum_of_fewer_than_k_contributors(values: list[float], k: int) -> None:
    """Without an exact count, a shown sum still has at least k non-zero contributors."""
    config = DisclosureConfig(min_count=k, dominance=())
    stats = AggStats(support=None, abs_total=sum(values), top=max(values))
    out = protect(["s"], ["sum"], [RawRow((sum(values),), 10_000, ((stats,),))], config, population=None,
                  aggregate=True)
    if not out.rows[0][0].suppressed:
        assert sum(1 for v in values if v) >= k
