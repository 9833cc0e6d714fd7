"""`pubdata ledger checkpoint | status | keys | rotate-key`."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from pubdata.cli import app as cli
from pubdata.crypto.keys import load_public_keys
from pubdata.ledger import checkpoints as cps
from tests.ledger.support import commit_events

runner = CliRunner()


def test_checkpoint_on_demand_and_when_due(committed, maker, cli_env, monkeypatch):
    commit_events(maker, 4, per_transaction=2)
    monkeypatch.setenv("PUBDATA_LEDGER_CHECKPOINT_EVENTS", "10")
    monkeypatch.setenv("PUBDATA_LEDGER_CHECKPOINT_SECONDS", "0")
    from pubdata.config import get_settings

    get_settings.cache_clear()
    not_due = runner.invoke(cli, ["ledger", "checkpoint", "--if-due"])
    assert not_due.exit_code == 0 and "未到期" in not_due.stdout
    made = runner.invoke(cli, ["ledger", "checkpoint"])
    assert made.exit_code == 0, made.output
    assert "树大小 4" in made.stdout
    status = runner.invoke(cli, ["ledger", "status"])
    assert "账本共有 4 个叶子" in status.stdout and "未覆盖 0 个叶子" in status.stdout


def test_keys_are_printed_and_rotation_keeps_old_signatures_valid(committed, maker, cli_env):
    commit_events(maker, 3)
    assert runner.invoke(cli, ["ledger", "checkpoint"]).exit_code == 0
    before = load_public_keys(json.loads(runner.invoke(cli, ["ledger", "keys"]).stdout))
    rotated = runner.invoke(cli, ["ledger", "rotate-key"])
    assert rotated.exit_code == 0, rotated.output
    after = load_public_keys(json.loads(runner.invoke(cli, ["ledger", "keys"]).stdout))
    assert set(before) < set(after) and len(after) == 2
    commit_events(maker, 2, label="later")
    assert runner.invoke(cli, ["ledger", "checkpoint"]).exit_code == 0
    with committed.connect() as conn:
        history = cps.history(conn)
    assert len({cp.key_id for cp in history}) == 2 and all(cp.verify(after) for cp in history)
    verified = runner.invoke(cli, ["ledger", "verify"])
    assert verified.exit_code == 0, verified.output  # the rotation itself is an audit event, and a leaf


def test_commands_refuse_an_unmigrated_database(tmp_path, monkeypatch):
    from pubdata.config import get_settings
    from pubdata.db.session import get_engine

    monkeypatch.setenv("PUBDATA_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        result = runner.invoke(cli, ["ledger", "verify"])
        assert result.exit_code == 2 and "pubdata db upgrade" in result.stderr
    finally:
        get_settings.cache_clear()
        get_engine.cache_clear()
