"""Archive bundles: export a period, verify it with no database, and see every kind of tampering fail."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pubdata.audit import AuditEvent
from pubdata.cli import app as cli
from pubdata.crypto.keys import KeyRing, public_keys_document
from pubdata.ledger import bundle
from pubdata.ledger import checkpoints as cps
from tests.ledger.support import run_sql

runner = CliRunner()
DAYS = {dt.date(2026, 3, 1): 5, dt.date(2026, 3, 2): 7, dt.date(2026, 3, 3): 4}


def at(day: dt.date, i: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(9, i), bundle.SHANGHAI)


@pytest.fixture
def history(maker, keys):  # type: ignore[no-untyped-def]
    """Events on three days, a checkpoint after each day; returns event ids by day."""
    ids: dict[dt.date, list[int]] = {}
    for day, n in DAYS.items():
        with maker() as s, s.begin():
            events = [AuditEvent(occurred_at=at(day, i), tag="test:bundle:written", actor_kind="system",
                                 actor_label="归档测试", actor_roles=[], object_type="thing", object_id=f"{day}-{i}",
                                 changes={"n": [i, i + 0.5]}, data={"日期": day.isoformat()}) for i in range(n)]
            s.add_all(events)
            s.flush()
            ids[day] = [e.id for e in events]
            cps.create(s, keys=keys)
    return ids


def export_middle(committed, keys, out: Path) -> dict:  # type: ignore[no-untyped-def]
    return bundle.export(committed, date_from=dt.date(2026, 3, 2), date_to=dt.date(2026, 3, 2), out=out, keys=keys)


def test_round_trip(committed, history, keys, tmp_path):
    out = tmp_path / "bundle-2026-03-02"
    manifest = export_middle(committed, keys, out)
    assert manifest["leaves"] == {"first": 5, "count": 7}
    assert sorted(p.name for p in out.iterdir()) == sorted([*bundle.FILES, "manifest.json"])
    lines = (out / "events.jsonl").read_bytes().splitlines()
    assert [json.loads(line)["id"] for line in lines] == history[dt.date(2026, 3, 2)]
    report = bundle.verify_bundle(out)
    assert report.ok, report.problems
    assert (report.events, report.first_leaf, report.outside_period) == (7, 5, 0)
    assert report.checkpoints >= 1  # the checkpoint after day 2, linked to the anchor by consistency
    trusted = {k.key_id: k for k in keys.public_keys()}
    assert bundle.verify_bundle(out, trusted_keys=trusted).ok


def edit_line(out: Path, number: int, old: bytes, new: bytes) -> None:
    path = out / "events.jsonl"
    lines = path.read_bytes().split(b"\n")
    assert old in lines[number]
    lines[number] = lines[number].replace(old, new)
    path.write_bytes(b"\n".join(lines))


def delete_line(out: Path, number: int) -> None:
    path = out / "events.jsonl"
    lines = path.read_bytes().split(b"\n")
    del lines[number]
    path.write_bytes(b"\n".join(lines))


def swap_lines(out: Path, a: int, b: int) -> None:
    path = out / "events.jsonl"
    lines = path.read_bytes().split(b"\n")
    lines[a], lines[b] = lines[b], lines[a]
    path.write_bytes(b"\n".join(lines))


def fix_manifest_digests(out: Path) -> None:
    """What a careful forger does: recompute the file digests so only the cryptography can object."""
    manifest = json.loads((out / "manifest.json").read_text())
    for name in manifest["files"]:
        manifest["files"][name] = {"sm3": bundle._file_sm3(out / name), "bytes": (out / name).stat().st_size}
    (out / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("tamper", [
    lambda out: edit_line(out, 2, b'"object_id":"2026-03-02-2"', b'"object_id":"2026-03-02-X"'),
    lambda out: delete_line(out, 3),
    lambda out: swap_lines(out, 1, 2),
    lambda out: edit_line(out, 0, b'"n":[0,0.5]', b'"n": [0,0.5]'),  # not canonical any more
])
def test_any_change_to_the_events_fails(committed, history, keys, tmp_path, tamper):
    out = tmp_path / "b"
    export_middle(committed, keys, out)
    tamper(out)
    assert not bundle.verify_bundle(out).ok  # the manifest digests already object …
    fix_manifest_digests(out)
    report = bundle.verify_bundle(out)  # … and so does the proof when they are recomputed
    assert not report.ok, "tampering went unnoticed"


def test_a_forged_key_file_does_not_help_and_trusted_keys_decide(committed, history, keys, tmp_path):
    out = tmp_path / "b"
    export_middle(committed, keys, out)
    forger = KeyRing(tmp_path / "forger", "ledger")
    forger.signing_key()
    (out / "keys.json").write_text(json.dumps(public_keys_document(forger.public_keys())))
    fix_manifest_digests(out)
    report = bundle.verify_bundle(out)
    assert not report.ok and any("公钥" in p for p in report.problems)
    fresh = tmp_path / "c"
    export_middle(committed, keys, fresh)
    assert not bundle.verify_bundle(fresh, trusted_keys={k.key_id: k for k in forger.public_keys()}).ok


def test_a_truncated_bundle_fails(committed, history, keys, tmp_path):
    out = tmp_path / "b"
    export_middle(committed, keys, out)
    (out / "proofs.json").unlink()
    assert not bundle.verify_bundle(out).ok


def test_export_refuses_a_ledger_that_does_not_verify(committed, history, keys, tmp_path):
    victim = history[dt.date(2026, 3, 2)][1]
    run_sql(committed, f"UPDATE audit_event SET actor_label = '篡改' WHERE id = {victim}")
    with pytest.raises(bundle.BundleError, match=f"#{victim}"):
        export_middle(committed, keys, tmp_path / "b")
    assert not (tmp_path / "b").exists()


def test_export_of_an_empty_period_or_into_a_used_directory_is_refused(committed, history, keys, tmp_path):
    with pytest.raises(bundle.BundleError, match="没有审计事件"):
        bundle.export(committed, date_from=dt.date(2025, 1, 1), date_to=dt.date(2025, 1, 2), out=tmp_path / "x",
                      keys=keys)
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "f").write_text("x")
    with pytest.raises(bundle.BundleError, match="已存在"):
        export_middle(committed, keys, tmp_path / "used")


def test_export_signs_a_fresh_checkpoint_when_none_covers_the_period(committed, maker, keys, tmp_path):
    with maker() as s, s.begin():
        s.add(AuditEvent(occurred_at=at(dt.date(2026, 4, 1), 0), tag="test:bundle:written", actor_kind="system",
                         actor_label="x", actor_roles=[], object_type="thing", object_id="1", changes={}, data={}))
    manifest = bundle.export(committed, date_from=dt.date(2026, 4, 1), date_to=dt.date(2026, 4, 1),
                             out=tmp_path / "b", keys=keys)
    assert manifest["anchor"]["tree_size"] == 1
    with committed.connect() as conn:
        assert cps.latest(conn).reason == "export"
    assert bundle.verify_bundle(tmp_path / "b").ok


def test_cli_round_trip(committed, history, keys, tmp_path, cli_env):
    out = tmp_path / "archive"
    result = runner.invoke(cli, ["ledger", "export", "--from", "2026-03-01", "--to", "2026-03-03", str(out)])
    assert result.exit_code == 0, result.output
    assert "已导出 16 个事件" in result.stdout
    checked = runner.invoke(cli, ["ledger", "verify-bundle", str(out)])
    assert checked.exit_code == 0, checked.output
    assert "归档包校验通过" in checked.stdout
    keys_file = tmp_path / "published.json"
    keys_file.write_text(runner.invoke(cli, ["ledger", "keys"]).stdout)
    assert runner.invoke(cli, ["ledger", "verify-bundle", str(out), "--public-keys", str(keys_file)]).exit_code == 0
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    edit_line(copy, 0, b'"actor_label":"\xe5\xbd\x92', b'"actor_label":"\xe6\x94\xb9')
    failed = runner.invoke(cli, ["ledger", "verify-bundle", str(copy)])
    assert failed.exit_code == 1 and "校验失败" in failed.stderr
    bad = runner.invoke(cli, ["ledger", "export", "--from", "2026-13-01", "--to", "2026-03-03", str(tmp_path / "z")])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.stderr


def test_bundle_readme_is_shipped(committed, history, keys, tmp_path):
    out = tmp_path / "b"
    export_middle(committed, keys, out)
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "SM3(0x00" in readme and "distid:1234567812345678" in readme
