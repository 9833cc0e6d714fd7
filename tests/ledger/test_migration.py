"""Events written before the ledger existed become its first leaves when the database is migrated."""

from __future__ import annotations

from sqlalchemy import text

from pubdata.db import migrate
from pubdata.db.testing import scratch_engine
from pubdata.ledger import tree
from pubdata.ledger.verify import verify_database


def test_upgrade_backfills_leaves_for_existing_events():
    with scratch_engine(migrated=False) as engine:
        migrate.upgrade(engine, "0002_calendar")
        with engine.begin() as conn:
            for i in range(37):
                conn.execute(text(
                    "INSERT INTO audit_event (occurred_at, tag, actor_kind, actor_label, actor_roles, object_type, "
                    "object_id, changes, data) VALUES (:t, 'old:event:written', 'system', '迁移前', '[]', 'thing', "
                    ":oid, :changes, '{}')"),
                    {"t": f"2026-0{1 + i % 9}-1{i % 10} 08:00:00.{i:06d}+00:00", "oid": str(i),
                     "changes": f'{{"n": [{i}, {i}.5]}}'})
        migrate.upgrade(engine, "0003_ledger")
        with engine.connect() as conn:
            assert tree.tree_size(conn) == 37
        report = verify_database(engine, keys={})
        assert report.ok, report.problems[:3]
        assert (report.events, report.leaves) == (37, 37)
