"""The audit shows the whole query: the ORDER BY / LIMIT / OFFSET the runner applies after protection are
recorded beside the checked SQL, which no longer holds them."""

from __future__ import annotations

import datetime as dt

from pubdata.opdomain.engine import DomainEngine, arranged_text
from pubdata.opdomain.policy import check
from pubdata.opdomain.query_audit import entry
from pubdata.opdomain.schema import Grant

NOW = dt.datetime(2026, 6, 1, 9, 0)
SQL = "SELECT county_code, count(*) AS n FROM population GROUP BY county_code ORDER BY n DESC LIMIT 5 OFFSET 2"


def test_the_arranged_order_and_limit_are_recorded_for_the_audit(domain_engine: DomainEngine, grant: Grant) -> None:
    checked = check(SQL, grant)
    assert "LIMIT" not in checked.sql and "ORDER BY" not in checked.sql
    assert arranged_text(checked) == 'ORDER BY "n" DESC NULLS LAST LIMIT 5 OFFSET 2'
    payload = domain_engine.run(SQL, grant, now=NOW).audit_payload()
    assert payload["arranged"] == arranged_text(checked)


def test_a_query_without_order_or_limit_arranges_nothing(grant: Grant) -> None:
    assert arranged_text(check("SELECT county_code, count(*) AS n FROM population GROUP BY county_code", grant)) == ""


def test_the_audit_entry_shows_the_checked_sql_with_what_was_arranged() -> None:
    class Event:
        id, occurred_at, object_id, actor_label, actor_user_id, actor_org_id = 1, NOW, "7", "operator", 1, 2
        tag = "opdomain:query:run"
        data = {"sql": 'SELECT "n" FROM "population"', "arranged": 'ORDER BY "n" DESC NULLS LAST LIMIT 5',
                "outcome": "allowed"}

    assert entry(Event())["sql"] == 'SELECT "n" FROM "population" ORDER BY "n" DESC NULLS LAST LIMIT 5'  # type: ignore[arg-type]
