"""Foundation figures: start-up time, calendar arithmetic, password hashing, audited writes. Prints JSON.

Run with `make bench` (or `.venv/bin/python bench/foundation.py`); PUBDATA_DATABASE_URL selects the database.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time

from pubdata.audit import Actor, record
from pubdata.calendar.builtin import builtin_calendar
from pubdata.db.session import session_factory
from pubdata.db.testing import scratch_engine
from pubdata.identity.passwords import hash_password, verify_password


def _timed(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t0) / repeat


def main() -> None:
    figures: dict[str, object] = {}
    # Cold start of a Python process that builds the app (what `pubdata serve` pays before listening).
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from pubdata.web.app import create_app; create_app()"], check=True)
    figures["app_cold_start_s"] = round(time.perf_counter() - t0, 3)

    cal = builtin_calendar()
    start = dt.date(2026, 1, 5)
    cal.add_workdays(start, 20)
    figures["add_workdays_20_us"] = round(_timed(lambda: cal.add_workdays(start, 20), 20000) * 1e6, 2)
    figures["add_workdays_250_us"] = round(_timed(lambda: cal.add_workdays(start, 250), 5000) * 1e6, 2)

    h = hash_password("Bench-Passw0rd!")
    figures["argon2_hash_ms"] = round(_timed(lambda: hash_password("Bench-Passw0rd!"), 10) * 1e3, 1)
    figures["argon2_verify_ms"] = round(_timed(lambda: verify_password(h, "Bench-Passw0rd!"), 10) * 1e3, 1)

    with scratch_engine() as engine:
        figures["database"] = engine.dialect.name
        maker = session_factory(engine)
        actor = Actor.system("bench")
        n = 2000
        t0 = time.perf_counter()
        with maker() as s, s.begin():
            for i in range(n):
                record(s, actor=actor, tag="bench:event:written", object_type="bench", object_id=i)
        figures["audit_events_per_s_one_txn"] = round(n / (time.perf_counter() - t0))
        n = 300
        t0 = time.perf_counter()
        for i in range(n):
            with maker() as s, s.begin():
                record(s, actor=actor, tag="bench:event:written", object_type="bench", object_id=i)
        figures["audit_events_per_s_commit_each"] = round(n / (time.perf_counter() - t0))
    print(json.dumps(figures, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
