"""The attacks of the privacy red team, by class, written out: each either refused or answered harmlessly.

"Harmlessly" is asserted the way an attacker would use the answer: the cell that would carry one person's value
(income, disease, membership) is hidden, or the answers for "the person has it" and "the person has not" are
identical. The person is a real row of the synthetic register singled out by public facts (county, age,
gender, education, marital status), as a neighbour would know them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pubdata.opdomain.engine import DomainEngine
from pubdata.opdomain.policy import QueryRefused, check
from pubdata.opdomain.schema import Grant

from .conftest import NOW
from .test_engine import _one_person_filter, direct


@pytest.fixture(scope="module")
def person(demo_file: Path) -> dict[str, object]:
    c = _one_person_filter(demo_file)
    income, disease = direct(demo_file, f"SELECT annual_income, chronic_disease FROM population WHERE {c}")[0]
    return {"c": c, "income": income, "disease": disease}


def _refusal(sql: str, grant: Grant) -> str | None:
    """The refusal code of a query, or None when the policy accepts it."""
    try:
        check(sql, grant)
    except QueryRefused as e:
        return e.code
    return None


def _cells(engine: DomainEngine, grant: Grant, sql: str) -> list[list[object]] | None:
    """The shown values (None where hidden), or None when the query is refused."""
    try:
        res = engine.run(sql, grant, now=NOW)
    except QueryRefused:
        return None
    return [[cell.value for cell in row] for row in res.result.rows]


# --- 1. name-based lineage --------------------------------------------------------------------------------

LAUNDERING = [
    # two outputs of one name in a derived table: the policy kept one, DuckDB bound the other
    "SELECT max(x) FROM (SELECT household_size AS x, annual_income AS x FROM population WHERE {c}) t",
    "SELECT max(x) FROM (SELECT annual_income AS x, household_size AS x FROM population WHERE {c}) t",
    "WITH w AS (SELECT household_size AS h, annual_income AS H FROM population) SELECT max(h) FROM w WHERE {c}",
    "SELECT quantile_disc(x, 0.5) FROM (SELECT id_number AS x, household_size AS X FROM population) t",
    # case decides nothing in DuckDB
    'SELECT max("HOUSEHOLD_SIZE") FROM (SELECT annual_income AS "HOUSEHOLD_SIZE" FROM population WHERE {c}) t',
    # an alias column list renames by position
    "SELECT max(b) FROM (SELECT household_size, annual_income FROM population WHERE {c}) AS t(a, b)",
    "WITH w(a, b) AS (SELECT annual_income, household_size FROM population) SELECT max(a) FROM w",
    # through a join: two relations offer columns of one name
    "SELECT max(name) FROM (SELECT * FROM population p LEFT JOIN region r ON p.county_code = r.code) t",
    "SELECT count(*) FROM (SELECT * FROM population p LEFT JOIN region r ON p.county_code = r.code) t "
    "WHERE name LIKE '张%'",
]


@pytest.mark.parametrize("template", LAUNDERING)
def test_a_value_cannot_be_laundered_through_a_derived_table_name(
    template: str, domain_engine: DomainEngine, grant: Grant, person: dict[str, object]
) -> None:
    cells = _cells(domain_engine, grant, template.format(c=person["c"]))
    assert cells is None or all(v != person["income"] for row in cells for v in row)


def test_duplicate_names_are_refused_wherever_they_are(grant: Grant) -> None:
    for sql in (
        "SELECT count(*) FROM (SELECT age AS x, gender AS X FROM population) t",
        "WITH w AS (SELECT age, age FROM population) SELECT count(*) FROM w",
        "SELECT gender AS g, age AS G, count(*) FROM population GROUP BY 1, 2",
    ):
        assert _refusal(sql, grant) == "duplicate_name", sql


# --- 2. data-dependent constants --------------------------------------------------------------------------

PADDING = [
    "SELECT sum(CASE WHEN {c} THEN annual_income ELSE 1000 END) FROM population",
    "SELECT avg(CASE WHEN {c} THEN annual_income ELSE 0 END) FROM population",
    "SELECT gender, sum(CASE WHEN {c} THEN annual_income ELSE 7 END) FROM population GROUP BY gender",
    "SELECT sum(coalesce(CASE WHEN {c} THEN annual_income END, 1000)) FROM population",
    "SELECT sum(CASE WHEN NOT ({c}) THEN 1000 ELSE annual_income END) FROM population",
    "SELECT sum(IF({c}, annual_income, 1000)) FROM population",
    "SELECT sum(CASE WHEN {c} THEN annual_income * 2 ELSE 2000 END) / 2 FROM population",
]


@pytest.mark.parametrize("template", PADDING)
def test_constants_padding_one_persons_value_count_for_nothing(
    template: str, domain_engine: DomainEngine, grant: Grant, person: dict[str, object]
) -> None:
    cells = _cells(domain_engine, grant, template.format(c=person["c"]))
    assert cells is None or all(row[-1] is None for row in cells), cells


def test_a_coded_case_over_a_disease_tells_nothing(
    domain_engine: DomainEngine, grant: Grant, person: dict[str, object]
) -> None:
    sql = ("SELECT sum(CASE WHEN {c} AND chronic_disease = '{d}' THEN 2 WHEN {c} THEN 3 ELSE 1 END) "
           "FROM population")
    has = _cells(domain_engine, grant, sql.format(c=person["c"], d=person["disease"] or "高血压"))
    other = _cells(domain_engine, grant, sql.format(c=person["c"], d="不存在的病"))
    assert has == other and all(v is None for row in has or [] for v in row)


@pytest.mark.parametrize("sql", [
    "SELECT sum(1000 + floor(annual_income / 100000)) FROM population",
    "SELECT sum(annual_income * floor(age / 100) + household_size) FROM population",
    "SELECT avg(annual_income - household_size) FROM population",
    "SELECT sum(annual_income / age) FROM population",
    "SELECT sum(annual_income * 1e300) FROM population",
    "SELECT max(CASE WHEN education = '本科' THEN household_size END) FROM population",
])
def test_terms_that_could_hide_a_selection_behind_padding_are_refused(sql: str, grant: Grant) -> None:
    assert _refusal(sql, grant) == "aggregate_expression"


# --- 3. one-query trackers --------------------------------------------------------------------------------

TRACKERS = [
    "SELECT sum(CASE WHEN NOT ({c}) THEN annual_income ELSE 0 END), sum(annual_income) FROM population",
    "SELECT count(*) FILTER (WHERE NOT ({c})), count(*) FROM population",
    "SELECT sum(CASE WHEN NOT ({c}) THEN 1 ELSE 0 END), count(*) FROM population",
    "SELECT gender, sum(annual_income) FILTER (WHERE NOT ({c})), sum(annual_income) FROM population GROUP BY 1",
    "SELECT count(*) FILTER (WHERE chronic_disease = '{d}' OR ({c})), "
    "count(*) FILTER (WHERE chronic_disease = '{d}') FROM population",
    "SELECT avg(CASE WHEN NOT ({c}) THEN annual_income END), avg(annual_income) FROM population",
    "SELECT count(CASE WHEN NOT ({c}) THEN 1 END), count(*) FROM population",
]


@pytest.mark.parametrize("template", TRACKERS)
def test_two_cells_of_one_row_differing_by_one_person_are_not_both_shown(
    template: str, domain_engine: DomainEngine, grant: Grant, person: dict[str, object]
) -> None:
    cells = _cells(domain_engine, grant, template.format(c=person["c"], d=person["disease"] or "高血压"))
    assert cells is not None
    for row in cells:
        values = [v for v in row if not isinstance(v, str)]
        assert sum(v is not None for v in values) <= 1, row


def test_the_same_population_twice_is_no_tracker(domain_engine: DomainEngine, grant: Grant) -> None:
    cells = _cells(domain_engine, grant, "SELECT city_code, count(*) FILTER (WHERE age >= 18), "
                                         "sum(household_size) FILTER (WHERE age >= 18) FROM population GROUP BY 1")
    assert cells and all(None not in row for row in cells if row[0] == "620100")


# --- 4. the shape of the answer ---------------------------------------------------------------------------

@pytest.mark.parametrize("sql", [
    "SELECT CASE WHEN age = 40 THEN annual_income ELSE 0 END AS k, count(*) FROM population GROUP BY 1",
    "SELECT floor(annual_income / 1000) AS band, count(*) FROM population GROUP BY 1",
    "SELECT CASE WHEN chronic_disease = '高血压' AND age = 40 THEN 'a' ELSE county_code END, count(*) "
    "FROM population GROUP BY 1",
    "SELECT chronic_disease IS NULL AS healthy, count(*) FROM population GROUP BY 1",
])
def test_a_group_key_computed_from_a_sensitive_value_is_refused(sql: str, grant: Grant) -> None:
    assert _refusal(sql, grant) == "sensitive_key_expression"


def test_a_sensitive_column_may_be_a_bare_group_key(domain_engine: DomainEngine, grant: Grant) -> None:
    cells = _cells(domain_engine, grant, "SELECT chronic_disease, count(*) FROM population GROUP BY 1")
    assert cells and all(row[1] >= 10 for row in cells)


@pytest.mark.parametrize("template", [
    "SELECT county_code, count(*) FROM population WHERE {c} AND chronic_disease = '{d}' GROUP BY county_code",
    "SELECT CASE WHEN {c} THEN 'a' ELSE 'b' END AS g, count(*) FROM population WHERE chronic_disease = '{d}' "
    "GROUP BY 1 ORDER BY 1",
    "SELECT age, count(*) FROM population WHERE chronic_disease = '{d}' OR ({c}) GROUP BY age ORDER BY age",
    "SELECT county_code, age, count(*) AS n FROM population WHERE chronic_disease = '{d}' OR ({c}) "
    "GROUP BY 1, 2 ORDER BY n LIMIT 5",
])
def test_whether_a_person_has_a_disease_changes_nothing_in_the_shape_of_the_answer(
    template: str, domain_engine: DomainEngine, grant: Grant, person: dict[str, object], demo_file: Path
) -> None:
    """Asked with the person's true disease and with another one that nobody else in the query's groups
    tells apart, the rows shown — their number, their order, their keys — are the same."""
    true = person["disease"] or "高血压"
    others = [d for (d,) in direct(demo_file, "SELECT DISTINCT chronic_disease FROM population "
                                              "WHERE chronic_disease IS NOT NULL") if d != true]
    sql = template.format(c=person["c"], d=true)
    with_person = _cells(domain_engine, grant, sql)
    without = _cells(domain_engine, grant, sql.replace(f"'{true}'", f"'{others[0]}'"))
    assert with_person is not None and without is not None
    # The row the person would sit in is never shown; shown rows are large groups of the asked disease.
    for rows in (with_person, without):
        assert all(all(v is None or not isinstance(v, int) or v >= 10 for v in row[1:]) for row in rows)


# --- 5. errors say nothing --------------------------------------------------------------------------------

@pytest.mark.parametrize(("sql", "code"), [
    ("SELECT count(*) FROM population WHERE county_code IN (1, 2)", "implicit_cast"),
    ("SELECT count(*) FROM population WHERE county_code = 620102", "implicit_cast"),
    ("SELECT count(*) FROM population WHERE nullif(chronic_disease, 1) = 1", "implicit_cast"),
    ("SELECT count(*) FROM population WHERE chronic_disease", "implicit_cast"),
    ("SELECT count(*) FROM population WHERE NOT chronic_disease", "implicit_cast"),
    ("SELECT count(*) FROM population WHERE insured = chronic_disease", "implicit_cast"),
    ("SELECT count(*) FROM population WHERE coalesce(chronic_disease, 0) = 0", "implicit_cast"),
    ("SELECT count(*) FROM population WHERE CASE WHEN age > 3 THEN chronic_disease ELSE 1 END = 1",
     "implicit_cast"),
    ("SELECT count(*) FROM population WHERE date_trunc(CASE WHEN age > 3 THEN 'day' ELSE 'yy' END, birth_date) "
     "> DATE '2000-01-01'", "not_constant"),
    ("SELECT count(*) FROM population WHERE birth_date + INTERVAL (annual_income) DAY > DATE '2000-01-01'",
     "not_constant"),
    ("SELECT count(*) FROM population WHERE " + "(" * 3000 + "age > 1" + ")" * 3000, "too_deep"),
])
def test_a_construct_whose_failure_depends_on_data_is_refused_before_it_runs(
    sql: str, code: str, grant: Grant
) -> None:
    assert _refusal(sql, grant) == code


def test_an_explicit_cast_of_text_runs_and_never_fails(domain_engine: DomainEngine, grant: Grant) -> None:
    cells = _cells(domain_engine, grant, "SELECT count(*) FROM population WHERE CAST(county_code AS INTEGER) < 620200")
    assert cells and cells[0][0] is not None


# --- 6. cost that a hidden value can steer ---------------------------------------------------------------

def test_string_doubling_through_nested_subqueries_is_refused(grant: Grant) -> None:
    inner = "SELECT county_code AS s, age FROM population"
    for level in range(12):
        inner = f"SELECT s || s AS s, age FROM ({inner}) d{level}"
    code = _refusal(f"SELECT length(s) AS n, count(*) FROM ({inner}) t GROUP BY 1", grant)
    assert code in ("too_complex", "too_deep")


def test_a_huge_expression_is_a_refusal_not_an_error(grant: Grant) -> None:
    sql = "SELECT count(*) FROM population WHERE " + " OR ".join(f"age = {i}" for i in range(3000))
    assert _refusal(sql, grant) in ("too_long", "too_complex")


def test_a_hidden_group_and_an_absent_one_look_alike(
    domain_engine: DomainEngine, grant: Grant, person: dict[str, object]
) -> None:
    sql = "SELECT county_code, count(*) FROM population WHERE {c} AND chronic_disease {d} GROUP BY county_code"
    true, false = ("IS NOT NULL", "IS NULL") if person["disease"] else ("IS NULL", "IS NOT NULL")
    has = _cells(domain_engine, grant, sql.format(c=person["c"], d=true))
    has_not = _cells(domain_engine, grant, sql.format(c=person["c"], d=false))
    assert has == has_not == []
