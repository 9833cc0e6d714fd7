"""`pubdata ledger verify` catches rows edited, deleted or inserted directly in the database.

The attacker here has full database access: it drops or disables the append-only triggers (and foreign key
checks) first, as anyone with the database password could.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from pubdata.cli import app as cli
from pubdata.crypto import merkle
from pubdata.ledger import checkpoints as cps
from pubdata.ledger.verify import verify_database
from tests.ledger.support import commit_events, run_sql

runner = CliRunner()


@pytest.fixture
def ledger(committed: Engine, maker, keys) -> list[int]:  # type: ignore[no-untyped-def]
    """30 committed events, with checkpoints after 12 and after 30."""
    ids = commit_events(maker, 12, per_transaction=3, label="a")
    with maker() as s, s.begin():
        cps.create(s, keys=keys)
    ids += commit_events(maker, 18, per_transaction=4, label="b")
    with maker() as s, s.begin():
        cps.create(s, keys=keys)
    return ids


def public(keys):  # type: ignore[no-untyped-def]
    return {k.key_id: k for k in keys.public_keys()}


def test_an_untouched_ledger_verifies(committed, ledger, keys, cli_env):
    report = verify_database(committed, keys=public(keys))
    assert report.ok, report.problems
    assert (report.events, report.leaves, report.checkpoints) == (30, 30, 2)
    result = runner.invoke(cli, ["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "账本校验通过" in result.stdout


def test_an_edited_event_is_named(committed, ledger, keys, cli_env):
    victim = ledger[7]
    run_sql(committed, f"UPDATE audit_event SET object_id = 'forged' WHERE id = {victim}")
    report = verify_database(committed, keys=public(keys))
    assert not report.ok
    assert report.first_bad_event is not None
    assert (report.first_bad_event.kind, report.first_bad_event.event_id) == ("event_altered", victim)
    assert {p.kind for p in report.problems} == {"event_altered"}  # reported once, not as a cascade
    result = runner.invoke(cli, ["ledger", "verify"])
    assert result.exit_code == 1
    assert f"第一个不符的事件：#{victim}" in result.stderr


def test_an_edited_json_value_or_timestamp_is_named(committed, ledger, keys):
    run_sql(committed,
            f"UPDATE audit_event SET occurred_at = occurred_at WHERE id = {ledger[0]}",  # a no-op stays valid
            f"UPDATE audit_event SET data = '{{\"说明\": \"改过\", \"ratio\": 0}}' WHERE id = {ledger[20]}")
    report = verify_database(committed, keys=public(keys))
    assert report.first_bad_event is not None and report.first_bad_event.event_id == ledger[20]


def test_a_deleted_event_is_named(committed, ledger, keys, cli_env):
    victim = ledger[15]
    run_sql(committed, f"DELETE FROM audit_event WHERE id = {victim}")
    report = verify_database(committed, keys=public(keys))
    assert (report.first_bad_event.kind, report.first_bad_event.event_id) == ("event_deleted", victim)
    result = runner.invoke(cli, ["ledger", "verify"])
    assert result.exit_code == 1 and f"#{victim}" in result.stderr


def test_an_inserted_event_is_named(committed, ledger, keys, cli_env):
    run_sql(committed,
            "INSERT INTO audit_event (occurred_at, tag, actor_kind, actor_label, actor_roles, object_type, "
            "object_id, changes, data) VALUES ('2026-01-01 00:00:00', 'x:y:z', 'system', 'intruder', '[]', "
            "'thing', 'smuggled', '{}', '{}')")
    report = verify_database(committed, keys=public(keys))
    assert report.first_bad_event.kind == "event_inserted"
    assert report.first_bad_event.event_id > ledger[-1]
    result = runner.invoke(cli, ["ledger", "verify"])
    assert result.exit_code == 1 and f"#{report.first_bad_event.event_id}" in result.stderr


def test_the_first_of_several_edits_is_named(committed, ledger, keys):
    run_sql(committed, *(f"UPDATE audit_event SET tag = 'x:y:z' WHERE id = {i}" for i in (ledger[25], ledger[3])))
    report = verify_database(committed, keys=public(keys))
    assert report.first_bad_event.event_id == ledger[3]


def test_rewriting_the_leaf_too_is_caught_by_the_tree_and_the_checkpoint(committed, ledger, keys):
    from pubdata.audit.models import AuditEvent
    from pubdata.ledger.canonical import event_bytes

    victim = ledger[5]
    run_sql(committed, f"UPDATE audit_event SET object_id = 'forged' WHERE id = {victim}")
    with committed.connect() as conn:
        row = conn.execute(AuditEvent.__table__.select().where(AuditEvent.__table__.c.id == victim)).one()
    forged = merkle.leaf_hash(event_bytes(row)).hex()
    blob = f"X'{forged}'" if committed.dialect.name == "sqlite" else f"'\\x{forged}'::bytea"
    run_sql(committed, f"UPDATE ledger_leaf SET leaf_hash = {blob} WHERE event_id = {victim}")
    report = verify_database(committed, keys=public(keys))
    kinds = {p.kind for p in report.problems}
    assert "event_altered" not in kinds  # the event now matches its (forged) leaf …
    assert {"subtree_mismatch", "checkpoint_mismatch"} <= kinds  # … but not the tree nor the signed roots


def test_a_forged_checkpoint_fails_its_signature(committed, ledger, keys):
    run_sql(committed, "UPDATE ledger_checkpoint SET tree_size = 11 WHERE tree_size = 12")
    report = verify_database(committed, keys=public(keys))
    assert "checkpoint_signature" in {p.kind for p in report.problems}


def test_an_unknown_signing_key_is_reported(committed, ledger, keys, tmp_path):
    from pubdata.crypto.keys import KeyRing

    other = KeyRing(tmp_path / "elsewhere", "ledger")
    other.signing_key()
    report = verify_database(committed, keys={k.key_id: k for k in other.public_keys()})
    assert {p.kind for p in report.problems} == {"checkpoint_key_unknown"}


def test_verify_accepts_an_independently_published_keys_file(committed, ledger, keys, cli_env, tmp_path):
    import json

    from pubdata.crypto.keys import public_keys_document

    published = tmp_path / "published.json"
    published.write_text(json.dumps(public_keys_document(keys.public_keys())))
    assert runner.invoke(cli, ["ledger", "verify", "--public-keys", str(published)]).exit_code == 0
    published.write_text(json.dumps({"keys": []}))
    result = runner.invoke(cli, ["ledger", "verify", "--public-keys", str(published)])
    assert result.exit_code == 1 and "checkpoint_key_unknown" in result.stderr
