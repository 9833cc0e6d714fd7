"""The operator's CLI: migrations, refusing to serve unmigrated, demo data, organisations, users."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from pubdata.cli import app
from pubdata.config import get_settings
from pubdata.db.session import get_engine
from pubdata.db.testing import scratch_engine
from pubdata.demo import DEMO_ORGS, make_uscc

runner = CliRunner()


def _use(url: str, monkeypatch: pytest.MonkeyPatch, var_dir: str | None = None) -> None:
    monkeypatch.setenv("PUBDATA_DATABASE_URL", url)
    if var_dir:
        monkeypatch.setenv("PUBDATA_VAR_DIR", var_dir)
    get_settings.cache_clear()
    get_engine.cache_clear()


@pytest.fixture
def cli_db(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with scratch_engine() as engine:
        url = engine.url.render_as_string(hide_password=False)
        _use(url, monkeypatch, str(tmp_path))
        yield url
    get_settings.cache_clear()
    get_engine.cache_clear()


def test_serve_refuses_an_unmigrated_database(monkeypatch, tmp_path):
    _use(f"sqlite:///{tmp_path / 'empty.sqlite3'}", monkeypatch)
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "pubdata db upgrade" in result.stderr
    get_engine.cache_clear()


def test_db_upgrade_then_current(monkeypatch, tmp_path):
    _use(f"sqlite:///{tmp_path / 'new.sqlite3'}", monkeypatch)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["db", "current"])
    assert result.exit_code == 0 and "未迁移" not in result.stdout
    get_engine.cache_clear()


def test_demo_is_idempotent_and_creates_every_role(cli_db):
    first = runner.invoke(app, ["demo"])
    assert first.exit_code == 0, first.stderr
    again = runner.invoke(app, ["demo"])
    assert again.exit_code == 0 and "已齐全" in again.stdout
    skip = runner.invoke(app, ["demo", "--if-empty"])
    assert "跳过" in skip.stdout
    from pubdata.identity.roles import Role

    assert {d.role.role for d in DEMO_ORGS if d.role} == set(Role)
    from sqlalchemy import select

    from pubdata.db.session import unit_of_work
    from pubdata.registry.models import Application

    with unit_of_work() as session:
        states = set(session.scalars(select(Application.state)))
    assert states >= {"draft", "submitted", "supplement_requested", "under_review", "review_failed", "in_notice",
                      "certified", "not_accepted", "withdrawn", "refused"}


def test_org_create_with_bad_code_exits_non_zero_with_chinese_message(cli_db):
    result = runner.invoke(app, ["org", "create", "--name", "某单位", "--uscc", "123456789012345679",
                                 "--kind", "企业", "--region", "620100"])
    assert result.exit_code == 2
    assert "uscc" in result.stderr and "统一社会信用代码" in result.stderr


def test_org_create_verify_and_user_create(cli_db):
    code = make_uscc("12620000", 99001)
    result = runner.invoke(app, ["org", "create", "--name", "甘肃省登记中心", "--uscc", code, "--kind", "事业单位",
                                 "--region", "620000", "--role", "registration_institution"])
    assert result.exit_code == 0, result.stderr
    org_id = result.stdout.split("#")[1].split()[0]
    dup = runner.invoke(app, ["org", "create", "--name", "重复", "--uscc", code, "--kind", "事业单位",
                              "--region", "620000"])
    assert dup.exit_code == 2 and "duplicate_organisation" in dup.stderr
    assert runner.invoke(app, ["org", "verify", org_id, "--checked", "事业单位法人证书"]).exit_code == 0
    result = runner.invoke(app, ["user", "create", "--org", org_id, "--username", "clerk1", "--name", "张三",
                                 "--password", "Clerk-Passw0rd"])
    assert result.exit_code == 0, result.stderr
    bad = runner.invoke(app, ["user", "create", "--org", org_id, "--username", "clerk2", "--name", "李四",
                              "--password", "weak"])
    assert bad.exit_code == 2 and "口令至少" in bad.stderr


def test_unknown_role_is_a_clear_error(cli_db):
    result = runner.invoke(app, ["org", "create", "--name", "x", "--uscc", make_uscc("91620100", 5),
                                 "--kind", "企业", "--region", "620100", "--role", "king"])
    assert result.exit_code == 2 and "角色" in result.stderr


def test_sweep_command_runs_and_is_repeatable(cli_db):
    assert runner.invoke(app, ["demo"]).exit_code == 0
    first = runner.invoke(app, ["sweep"])
    assert first.exit_code == 0, first.stderr
    assert "清扫完成" in first.stdout
    again = runner.invoke(app, ["sweep"])
    assert again.exit_code == 0 and "发证 0 件" in again.stdout


def test_catalog_rebuild_lists_the_demo_registrations(cli_db):
    assert runner.invoke(app, ["demo"]).exit_code == 0
    result = runner.invoke(app, ["catalog-rebuild"])
    assert result.exit_code == 0, result.output
    assert "目录已重建" in result.output
    count = int(result.output.split("：")[1].split(" ")[0])
    assert count >= 1


def test_every_session_hook_is_installed_whatever_the_entry_point():
    """A fresh process that only asks for a session (as `pubdata demo` and `pubdata sweep` do) gets every
    context's hooks — the catalog's among them — not just those its own imports happen to pull in."""
    import subprocess
    import sys

    probe = ("import sys; from pubdata.db.session import session_factory; session_factory(); "
             "print('pubdata.catalog.index' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
