"""Writing events for ledger tests through the ordinary audit path."""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from pubdata.audit import Actor, AuditEvent, record

ACTOR = Actor.system("ledger-test")


def write(session: Session, n: int, *, label: str = "e") -> list[AuditEvent]:
    """``n`` events in the session's transaction (not committed)."""
    return [record(session, actor=ACTOR, tag="test:ledger:written", object_type="thing", object_id=f"{label}{i}",
                   changes={"n": [i, i + 1]}, data={"说明": "测试", "ratio": i / 7}) for i in range(n)]


def commit_events(maker: sessionmaker[Session], n: int, *, per_transaction: int = 1, label: str = "e") -> list[int]:
    """``n`` events committed in transactions of ``per_transaction``; their ids."""
    ids: list[int] = []
    while len(ids) < n:
        with maker() as s, s.begin():
            ids += [e.id for e in write(s, min(per_transaction, n - len(ids)), label=f"{label}{len(ids)}-")]
    return ids


def run_sql(engine: Engine, *statements: str) -> None:
    """Execute as an attacker: triggers and foreign keys out of the way, autocommit."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER ALL"))
            for s in statements:
                conn.execute(text(s))
            conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER ALL"))
        return
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA foreign_keys=OFF")
        cur.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        cur.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
        for s in statements:
            cur.execute(s)
        raw.commit()
    finally:
        raw.close()
