"""The security suite: escape and leak attempts, each refused with a stated rule (policy only, no data).

Add every new idea here. Each case names the rule (machine code) that must refuse it, so a refusal for
an unrelated reason (a typo in the attack) does not count as a pass.
"""

from __future__ import annotations

import pytest

from pubdata.opdomain.policy import QueryRefused, check
from pubdata.opdomain.schema import Grant

ATTACKS: list[tuple[str, str, str]] = [
    # --- statements other than one SELECT
    ("insert", "INSERT INTO population SELECT * FROM population", "not_select"),
    ("copy_out", "COPY population TO '/tmp/out.csv'", "not_select"),
    ("copy_query_out", "COPY (SELECT * FROM population) TO '/tmp/out.parquet' (FORMAT parquet)", "not_select"),
    ("attach", "ATTACH '/tmp/other.duckdb' AS other", "not_select"),
    ("pragma", "PRAGMA database_list", "not_select"),
    ("set", "SET enable_external_access = true", "not_select"),
    ("reset", "RESET lock_configuration", "not_select"),
    ("install", "INSTALL httpfs", "not_select"),
    ("load", "LOAD httpfs", "not_select"),
    ("create_view", "CREATE TEMP VIEW v AS SELECT * FROM population", "not_select"),
    ("export_db", "EXPORT DATABASE '/tmp/x'", "syntax"),
    ("call", "CALL pragma_version()", "not_select"),
    ("describe", "DESCRIBE population", "not_select"),
    ("two_statements", "SELECT count(*) FROM population; SELECT id_number FROM population", "multiple_statements"),
    ("statement_after_comment", "SELECT count(*) FROM population; -- harmless\nCOPY population TO 'x.csv'",
     "multiple_statements"),
    ("empty", "   ", "multiple_statements"),
    ("only_comment", "-- SELECT 1", "multiple_statements"),
    # --- files, URLs, table functions, catalogs, settings
    ("read_csv", "SELECT * FROM read_csv('/etc/passwd')", "table_function"),
    ("read_csv_auto", "SELECT * FROM read_csv_auto('/etc/passwd')", "table_function"),
    ("read_parquet", "SELECT count(*) FROM read_parquet('/data/*.parquet')", "table_function"),
    ("read_json", "SELECT * FROM read_json('https://example.invalid/x.json')", "table_function"),
    ("read_text", "SELECT * FROM read_text('/etc/hostname')", "table_function"),
    ("glob", "SELECT * FROM glob('/work/*')", "table_function"),
    ("file_as_table", "SELECT * FROM '/etc/passwd'", "table_not_granted"),
    ("url_as_table", "SELECT * FROM 'https://example.invalid/a.csv'", "table_not_granted"),
    ("duckdb_settings", "SELECT * FROM duckdb_settings()", "table_function"),
    ("duckdb_tables", "SELECT * FROM duckdb_tables()", "table_function"),
    ("information_schema", "SELECT * FROM information_schema.columns", "table_not_granted"),
    ("pg_catalog", "SELECT * FROM pg_catalog.pg_tables", "table_not_granted"),
    ("qualified_main", "SELECT count(*) FROM main.population", "table_not_granted"),
    ("other_catalog", "SELECT count(*) FROM other.main.population", "table_not_granted"),
    ("current_setting", "SELECT current_setting('memory_limit')", "not_allowed"),
    ("getenv", "SELECT getenv('HOME')", "not_allowed"),
    ("version", "SELECT version()", "not_allowed"),
    ("setting_in_where", "SELECT count(*) FROM population WHERE current_setting('threads') = '2'", "not_allowed"),
    ("range_rows", "SELECT count(*) FROM range(10)", "table_function"),
    ("unnest", "SELECT unnest([1, 2, 3])", "not_allowed"),
    ("values_table", "SELECT * FROM (VALUES (1)) v(a)", "values"),
    ("placeholder", "SELECT count(*) FROM population WHERE age = ?", "parameter"),
    ("dollar_parameter", "SELECT count(*) FROM population WHERE age = $1", "parameter"),
    ("ungranted_table", "SELECT count(*) FROM secret_table", "table_not_granted"),
    # --- comment and quoting tricks
    ("quoted_upper_identifier", 'SELECT "ID_NUMBER" FROM population', "identifier_in_output"),
    ("comment_inside", "SELECT /* count(*) */ id_number FROM population", "identifier_in_output"),
    ("comment_hides_nothing", "SELECT id_number -- , count(*)\nFROM population", "identifier_in_output"),
    ("string_not_identifier", "SELECT count(*) FROM population WHERE gender = 'id_number'", None),
    ("quoted_alias_as_key", 'SELECT id_number AS "gender" FROM population GROUP BY "gender"', "identifier_in_output"),
    ("unicode_lookalike", "SELECT count(*) FROM populatіon", "table_not_granted"),  # Cyrillic і
    ("identifier_literal",
     "SELECT count(*) FROM population WHERE gender = '11010519491231002X'", "identifier_literal"),
    ("mobile_literal", "SELECT count(*) FROM population WHERE county_code = '13912345678'", "identifier_literal"),
    # --- direct identifiers in output, group by, filters, functions
    ("select_id", "SELECT id_number FROM population", "identifier_in_output"),
    ("select_star", "SELECT * FROM population", "identifier_in_output"),
    ("star_exclude", "SELECT * EXCLUDE (id_number, name, mobile) FROM population", "row_level_output"),
    ("group_by_id", "SELECT id_number, count(*) FROM population GROUP BY id_number", "identifier_in_group_by"),
    ("group_by_name", "SELECT name, avg(annual_income) FROM population GROUP BY name", "identifier_in_group_by"),
    ("group_by_ordinal_id", "SELECT id_number, count(*) FROM population GROUP BY 1", "identifier_in_group_by"),
    ("group_by_alias_id", "SELECT substr(id_number, 1, 6) AS r, count(*) FROM population GROUP BY r",
     "identifier_in_group_by"),
    ("where_id", "SELECT avg(annual_income) FROM population WHERE id_number = '620102198001010012'",
     "identifier_in_filter"),
    ("where_id_like", "SELECT avg(annual_income) FROM population WHERE id_number LIKE '620102%'",
     "identifier_in_filter"),
    ("where_name", "SELECT avg(annual_income) FROM population WHERE name = '张伟'", "identifier_in_filter"),
    ("substring_id", "SELECT substring(id_number, 7, 8), count(*) FROM population GROUP BY 1",
     "identifier_in_group_by"),
    ("md5_id", "SELECT md5(id_number) FROM population", "not_allowed"),
    ("hash_id", "SELECT hash(id_number) FROM population", "not_allowed"),
    ("sha256_in_agg", "SELECT count(DISTINCT sha256(id_number)) FROM population", "not_allowed"),
    ("concat_id", "SELECT county_code || id_number, count(*) FROM population GROUP BY 1", "identifier_in_group_by"),
    ("cast_id", "SELECT CAST(id_number AS BIGINT) % 1000 AS x, count(*) FROM population GROUP BY x",
     "identifier_in_group_by"),
    ("cast_blob", "SELECT count(*) FROM population WHERE CAST(gender AS BLOB) IS NOT NULL", "cast_not_allowed"),
    ("length_id_in_sum", "SELECT sum(length(id_number)) FROM population", "identifier_function"),
    ("case_on_id", "SELECT sum(CASE WHEN id_number LIKE '6201%' THEN annual_income END) FROM population",
     "identifier_function"),
    ("count_case_id", "SELECT count(CASE WHEN name = '张伟' THEN 1 END) FROM population", "identifier_function"),
    ("filter_on_id", "SELECT count(*) FILTER (WHERE mobile LIKE '139%') FROM population", "identifier_function"),
    ("order_by_id", "SELECT count(*) FROM population ORDER BY max(id_number)", "identifier_function"),
    # --- identifiers hidden in CTEs, subqueries, unions
    ("cte_passthrough", "WITH x AS (SELECT id_number AS k FROM population) SELECT k FROM x", "identifier_in_output"),
    ("cte_rename_group", "WITH x AS (SELECT name AS region FROM population) "
     "SELECT region, count(*) FROM x GROUP BY region",
     "identifier_in_group_by"),
    ("cte_function", "WITH x AS (SELECT left(id_number, 6) AS area FROM population) "
     "SELECT area, count(*) FROM x GROUP BY area",
     "identifier_function"),
    ("subquery_passthrough", "SELECT s.k FROM (SELECT mobile AS k FROM population) s", "identifier_in_output"),
    ("nested_subqueries", "SELECT t.z FROM (SELECT s.k AS z FROM (SELECT name AS k FROM population) s) t",
     "identifier_in_output"),
    ("union_id", "SELECT code FROM region UNION ALL SELECT id_number FROM population", "identifier_in_output"),
    ("union_agg_id", "SELECT gender, count(*) FROM population GROUP BY gender UNION ALL "
     "SELECT id_number, count(*) FROM population GROUP BY id_number", "identifier_in_group_by"),
    ("union_in_subquery", "SELECT count(*) FROM (SELECT age FROM population UNION ALL SELECT age FROM population) u",
     "union_in_subquery"),
    ("scalar_subquery", "SELECT (SELECT max(annual_income) FROM population)", "subquery_in_expression"),
    ("in_subquery", "SELECT count(*) FROM population WHERE county_code IN (SELECT county_code FROM population "
     "WHERE annual_income > 1000000)", "subquery_in_expression"),
    ("exists_oracle", "SELECT count(*) FROM population WHERE EXISTS "
     "(SELECT 1 FROM population WHERE annual_income > 1e6)",
     "subquery_in_expression"),
    ("nested_with_shadow", "WITH x AS (SELECT annual_income AS k FROM population), "
     "y AS (WITH x AS (SELECT household_size AS k FROM population) SELECT k FROM x) SELECT max(k) FROM x",
     "nested_with"),
    ("with_in_subquery", "SELECT max(s.k) FROM (WITH x AS (SELECT household_size AS k FROM population) "
     "SELECT k FROM x) s", "nested_with"),
    ("duplicate_cte", "WITH x AS (SELECT age FROM population), x AS (SELECT gender FROM population) "
     "SELECT count(*) FROM x", "nested_with"),
    ("cte_shadow", "WITH population AS (SELECT 1 AS a) SELECT a FROM population", "cte_shadows_table"),
    ("recursive_cte", "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
     "union_in_subquery"),
    ("intersect", "SELECT gender FROM population INTERSECT SELECT gender FROM population", "set_operation"),
    # --- row-level output of non-public data
    ("row_level_income", "SELECT annual_income FROM population", "row_level_output"),
    ("row_level_dimension", "SELECT education FROM population", "row_level_output"),
    ("distinct_rows", "SELECT DISTINCT age, gender, county_code FROM population", "row_level_output"),
    ("constant_rows_filtered", "SELECT 1 FROM population WHERE annual_income > 500000", "row_level_output"),
    ("ungrouped_with_agg", "SELECT annual_income, count(*) FROM population", "row_level_output"),
    ("agg_plus_raw", "SELECT age, count(*) FROM population GROUP BY gender", "row_level_output"),
    ("window_row_number", "SELECT row_number() OVER (ORDER BY annual_income) FROM population", "not_allowed"),
    ("window_over_income", "SELECT gender, sum(annual_income) OVER (PARTITION BY gender) FROM population",
     "window_not_allowed"),
    ("window_in_agg_query", "SELECT gender, count(*), sum(count(*)) OVER () FROM population GROUP BY gender",
     "window_not_allowed"),
    ("window_lag", "SELECT gender, count(*), lag(count(*)) OVER (ORDER BY gender) FROM population GROUP BY gender",
     "not_allowed"),
    ("qualify_single_row", "SELECT gender FROM population QUALIFY row_number() OVER () = 1", "qualify"),
    ("enterprise_revenue_rows", "SELECT revenue FROM enterprise", "row_level_output"),
    ("important_public_row", "SELECT e.industry FROM enterprise e", "row_level_output"),
    # --- aggregates that leak raw values
    ("list", "SELECT list(annual_income) FROM population", "raw_value_aggregate"),
    ("array_agg", "SELECT gender, array_agg(age) FROM population GROUP BY gender", "raw_value_aggregate"),
    ("string_agg_names", "SELECT string_agg(name, ',') FROM population", "raw_value_aggregate"),
    ("group_concat", "SELECT group_concat(mobile) FROM population", "raw_value_aggregate"),
    ("first", "SELECT first(annual_income) FROM population", "raw_value_aggregate"),
    ("last", "SELECT last(annual_income) FROM population", "raw_value_aggregate"),
    ("any_value", "SELECT gender, any_value(name) FROM population GROUP BY gender", "raw_value_aggregate"),
    ("arg_max", "SELECT arg_max(name, annual_income) FROM population", "raw_value_aggregate"),
    ("arg_min", "SELECT arg_min(county_code, annual_income) FROM population", "raw_value_aggregate"),
    ("max_by", "SELECT max_by(name, annual_income) FROM population", "raw_value_aggregate"),
    ("mode", "SELECT mode(annual_income) FROM population", "raw_value_aggregate"),
    ("max_income", "SELECT county_code, max(annual_income) FROM population GROUP BY county_code",
     "aggregate_not_allowed"),
    ("min_income", "SELECT min(annual_income) FROM population", "aggregate_not_allowed"),
    ("max_id", "SELECT max(id_number) FROM population", "identifier_function"),
    ("min_name", "SELECT gender, min(name) FROM population GROUP BY gender", "identifier_function"),
    ("max_birth_date", "SELECT max(birth_date) FROM population", "aggregate_not_allowed"),
    ("max_age", "SELECT county_code, max(age) FROM population GROUP BY county_code", "aggregate_not_allowed"),
    ("max_top_n", "SELECT max(household_size, 3) FROM population", "raw_value_aggregate"),
    ("max_of_case", "SELECT max(CASE WHEN gender = '女' THEN annual_income END) FROM population",
     "aggregate_not_allowed"),
    ("max_case_quasi", "SELECT max(CASE WHEN age = 37 THEN household_size END) FROM population",
     "aggregate_not_allowed"),
    ("median_income", "SELECT median(annual_income) FROM population", "aggregate_not_allowed"),
    ("quantile_income", "SELECT quantile_cont(annual_income, 0.99) FROM population", "aggregate_not_allowed"),
    ("quantile_disc_income", "SELECT quantile_disc(annual_income, 0.5) FROM population", "aggregate_not_allowed"),
    ("approx_quantile", "SELECT approx_quantile(annual_income, 0.5) FROM population", "not_allowed"),
    ("quantile_list", "SELECT quantile_disc(household_size, [0.1, 0.5, 0.9]) FROM population", "raw_value_aggregate"),
    ("arg_max_n", "SELECT arg_max(age, household_size, 3) FROM population", "raw_value_aggregate"),
    ("histogram", "SELECT histogram(annual_income) FROM population", "not_allowed"),
    ("sum_of_id", "SELECT sum(CAST(id_number AS BIGINT)) FROM population", "identifier_function"),
    ("nested_agg", "SELECT max(count(*)) FROM population GROUP BY county_code", "nested_aggregate"),
    ("subquery_aggregate", "SELECT min(c) FROM (SELECT county_code, count(*) AS c FROM population "
     "GROUP BY county_code) t",
     "subquery_shape"),
    ("count_distinct_function_of_id", "SELECT count(DISTINCT left(id_number, 6)) FROM population",
     "identifier_function"),
    ("quantile_column_fraction", "SELECT quantile_cont(household_size, age) FROM population", "raw_value_aggregate"),
    # --- singling out: ORDER BY / LIMIT / sampling / grouping sets
    ("limit_in_subquery", "SELECT sum(t.annual_income) FROM (SELECT annual_income FROM population "
     "ORDER BY annual_income DESC LIMIT 10) t", "subquery_shape"),
    ("offset_in_cte", "WITH t AS (SELECT annual_income FROM population LIMIT 11 OFFSET 1) "
     "SELECT sum(annual_income) FROM t",
     "subquery_shape"),
    ("sample", "SELECT avg(annual_income) FROM population USING SAMPLE 1 ROWS", "sample"),
    ("tablesample", "SELECT avg(annual_income) FROM population TABLESAMPLE 1%", "sample"),
    ("rollup", "SELECT county_code, count(*) FROM population GROUP BY ROLLUP (county_code)", "grouping_sets"),
    ("cube", "SELECT gender, age, count(*) FROM population GROUP BY CUBE (gender, age)", "grouping_sets"),
    ("group_by_all", "SELECT county_code, count(*) FROM population GROUP BY ALL", "group_by_all"),
    ("distinct_in_subquery", "SELECT count(*) FROM (SELECT DISTINCT county_code FROM population) t", "subquery_shape"),
    ("having_sum_bisection", "SELECT county_code, count(*) FROM population GROUP BY county_code "
     "HAVING sum(annual_income) > 1000000", "ranking_not_allowed"),
    ("order_by_sum_limit", "SELECT county_code, sum(annual_income) AS s FROM population GROUP BY county_code "
     "ORDER BY s DESC LIMIT 1", "ranking_not_allowed"),
    ("order_by_position", "SELECT county_code, sum(annual_income) FROM population GROUP BY county_code "
     "ORDER BY 2 DESC LIMIT 1", "ranking_not_allowed"),
    ("union_order_by_position", "SELECT gender AS k, sum(annual_income) FROM population GROUP BY gender "
     "UNION ALL SELECT education, sum(annual_income) FROM population GROUP BY education ORDER BY 2",
     "ranking_not_allowed"),
    ("order_by_all", "SELECT county_code, sum(annual_income) AS s FROM population GROUP BY county_code ORDER BY ALL",
     "not_allowed"),
    ("order_by_avg_expression", "SELECT county_code, count(*) FROM population GROUP BY county_code "
     "ORDER BY avg(annual_income)", "ranking_not_allowed"),
    ("union_order_by_sum", "SELECT gender AS k, sum(annual_income) AS s FROM population GROUP BY gender UNION ALL "
     "SELECT education, sum(annual_income) FROM population GROUP BY education ORDER BY s", "ranking_not_allowed"),
    ("having_count_allowed", "SELECT county_code, count(*) AS n FROM population GROUP BY county_code "
     "HAVING count(*) > 100 ORDER BY n DESC, county_code", None),
    # --- joins that multiply rows or escape the grant
    ("cross_join", "SELECT count(*) FROM population CROSS JOIN region", "join_not_allowed"),
    ("comma_join", "SELECT count(*) FROM population, region", "join_not_allowed"),
    ("self_join_fanout", "SELECT p.county_code, count(*) FROM population p JOIN population q "
     "ON p.county_code = q.county_code GROUP BY p.county_code", "self_join"),
    ("join_not_on_key", "SELECT count(*) FROM population p JOIN region r ON p.city_code = r.parent_code",
     "join_not_on_key"),
    ("join_using", "SELECT count(*) FROM population p JOIN region r USING (county_code)", "join_not_allowed"),
    ("natural_join", "SELECT count(*) FROM population NATURAL JOIN region", "join_not_allowed"),
    ("asof_join", "SELECT count(*) FROM population p ASOF JOIN region r ON p.county_code >= r.code",
     "join_not_allowed"),
    ("right_join", "SELECT count(*) FROM population p RIGHT JOIN region r ON p.county_code = r.code",
     "join_not_allowed"),
    ("join_with_predicate", "SELECT count(*) FROM population p JOIN region r ON p.county_code = r.code AND p.age > 3",
     "join_not_allowed"),
    ("join_subquery", "SELECT count(*) FROM population p JOIN (SELECT code FROM region) r ON p.county_code = r.code",
     "join_not_allowed"),
    ("lookup_driving_padding", "SELECT r.name, count(*) FROM region r LEFT JOIN population p ON r.code = p.id_number "
     "GROUP BY r.name", "lookup_driving"),
    ("joined_entity_sum", "SELECT count(*), sum(e.revenue) FROM population p JOIN enterprise e "
     "ON p.county_code = e.uscc", "joined_entity_aggregate"),
    ("lateral", "SELECT count(*) FROM population p, LATERAL (SELECT p.age) l", "lateral"),
    ("pivot", "SELECT * FROM population PIVOT (count(*) FOR gender IN ('男', '女'))", "pivot"),
    # --- column renaming and DuckDB-specific references
    ("table_column_alias", "SELECT t.g, count(*) FROM population AS t(g) GROUP BY t.g", "column_not_granted"),
    ("subquery_column_alias", "SELECT x.a, count(*) FROM (SELECT gender, id_number FROM population) AS x(b, a) "
     "GROUP BY x.a", "identifier_in_group_by"),
    ("cte_column_alias", "WITH c(a, b) AS (SELECT gender, id_number FROM population) SELECT b, count(*) FROM c "
     "GROUP BY b", "identifier_in_group_by"),
    ("whole_row_struct", "SELECT population FROM population", "not_allowed"),
    ("whole_row_alias", "SELECT p, count(*) FROM population p GROUP BY p", "not_allowed"),
    ("positional_column", "SELECT #1 FROM population", "not_allowed"),
    ("columns_star", "SELECT COLUMNS('.*') FROM population", "not_allowed"),
    ("unicode_escape_identifier", 'SELECT U&"id_number" FROM population', "not_allowed"),
    ("cte_joined_to_its_table", "WITH x AS (SELECT county_code FROM population) SELECT count(*) FROM x "
     "JOIN population p ON x.county_code = p.id_number", "self_join"),
    ("join_two_ctes", "WITH a AS (SELECT county_code FROM population), b AS (SELECT code FROM region) "
     "SELECT count(*) FROM a JOIN b ON a.county_code = b.code", "join_not_allowed"),
    ("random_order", "SELECT name FROM region ORDER BY random()", "not_allowed"),
    ("from_first_control", "FROM population SELECT gender, count(*) GROUP BY gender", None),
    ("swapped_aliases_control", "SELECT count(*) FROM population AS region JOIN region AS population "
     "ON region.county_code = population.code", None),
    ("comment_with_statement_control", "SELECT count(*) FROM population WHERE gender = '女' /* ; COPY x TO 'y' */",
     None),
    ("order_by_measurement", "SELECT county_code, sum(annual_income) FROM population GROUP BY county_code "
     "ORDER BY __sdc_1 DESC LIMIT 1", "reserved_name"),
    ("alias_as_measurement", 'SELECT count(*) AS "__SDC_N" FROM population', "reserved_name"),
    # --- odd syntax
    ("lambda", "SELECT list_transform([1], lambda x: x)", "lambda"),
    ("struct_access", "SELECT {'a': 1}", "not_allowed"),
    ("syntax_error", "SELEC count(*) FROM population", "syntax"),
    ("too_long", "SELECT count(*) FROM population WHERE " + " OR ".join(["age = 1"] * 3000), "too_long"),
    ("regexp", "SELECT count(*) FROM population WHERE regexp_matches(gender, '男')", "not_allowed"),
]


@pytest.mark.parametrize(("sql", "code"), [(s, c) for _, s, c in ATTACKS], ids=[i for i, _, _ in ATTACKS])
def test_attack_is_refused_by_its_rule(sql: str, code: str | None, grant: Grant) -> None:
    if code is None:  # a control case: looks suspicious, is harmless
        check(sql, grant)
        return
    with pytest.raises(QueryRefused) as caught:
        check(sql, grant)
    assert caught.value.code == code, caught.value.detail
    assert caught.value.detail and all(ord(ch) < 0x250 or ch >= "\u4e00" for ch in caught.value.detail[:1])


def test_refusal_reason_is_chinese(grant: Grant) -> None:
    with pytest.raises(QueryRefused) as caught:
        check("SELECT id_number FROM population", grant)
    assert "直接标识符" in caught.value.detail
    assert caught.value.status == 422


@pytest.mark.parametrize("sql", [
    "SELECT gender, count(*) FROM population GROUP BY nonexistent",
    "SELECT nonexistent, count(*) FROM population GROUP BY 1",
    "SELECT p.nonexistent, count(*) FROM population AS p GROUP BY 1",
])
def test_an_unresolvable_column_is_refused_in_chinese_without_the_parsers_english(sql: str, grant: Grant) -> None:
    with pytest.raises(QueryRefused) as caught:
        check(sql, grant)
    assert caught.value.code == "column_not_granted"
    assert "nonexistent" in caught.value.detail and "授权范围" in caught.value.detail
    assert not any(word in caught.value.detail for word in ("could not", "Unknown", "Line:", "resolved"))
