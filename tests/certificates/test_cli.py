"""`pubdata cert verify FILE`: offline, against published public keys only; exit 0 valid, 1 invalid."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from pubdata.certificates.verify import document_json
from pubdata.cli import app
from pubdata.crypto.keys import keys_dir

runner = CliRunner()


def test_offline_verification_with_a_keys_directory_or_the_published_keys_file(client, db_session, issue, settings,
                                                                                 tmp_path):
    issued = issue()
    db_session.commit()
    good = tmp_path / "cert.json"
    good.write_bytes(document_json(issued.doc))
    result = runner.invoke(app, ["cert", "verify", str(good), "--keys", str(keys_dir(settings))])
    assert result.exit_code == 0, result.output
    assert f"有效：凭证 {issued.number}" in result.output and "须在线核验" in result.output

    published = tmp_path / "keys.json"  # what anyone can download, with no access to the server's files
    published.write_text(client.get("/api/v1/public/keys").text, encoding="utf-8")
    assert runner.invoke(app, ["cert", "verify", str(good), "--keys", str(published)]).exit_code == 0

    doc = json.loads(good.read_text(encoding="utf-8"))
    doc["certificate"]["valid_until"] = "2099-12-31"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(app, ["cert", "verify", str(bad), "--keys", str(published)])
    assert result.exit_code == 1 and "无效：SM2 签名验证失败" in result.output


def test_garbage_missing_files_and_unusable_keys(db_session, issue, settings, tmp_path):
    issued = issue()
    good = tmp_path / "cert.json"
    good.write_bytes(document_json(issued.doc))
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01garbage")
    result = runner.invoke(app, ["cert", "verify", str(junk), "--keys", str(keys_dir(settings))])
    assert result.exit_code == 1 and "既不是凭证 JSON 也不是 PDF" in result.output
    result = runner.invoke(app, ["cert", "verify", str(tmp_path / "none.json"), "--keys", str(keys_dir(settings))])
    assert result.exit_code == 1 and "无法读取文件" in result.output
    other = tmp_path / "empty-keys"
    other.mkdir()
    assert runner.invoke(app, ["cert", "verify", str(good), "--keys", str(other)]).exit_code == 2
    not_json = tmp_path / "keys.txt"
    not_json.write_text("hello", encoding="utf-8")
    result = runner.invoke(app, ["cert", "verify", str(good), "--keys", str(not_json)])
    assert result.exit_code == 2 and "无法读取公钥" in result.output


def test_rotate_key_and_list_keys(db_session, issue, settings, monkeypatch, tmp_path):
    issued = issue()
    monkeypatch.setattr("pubdata.config.get_settings", lambda: settings)
    uscc = issued.doc.key_name.removeprefix("cert-")
    result = runner.invoke(app, ["cert", "rotate-key", "--issuer", uscc])
    assert result.exit_code == 0 and "已轮换" in result.output
    listed = json.loads(runner.invoke(app, ["cert", "keys"]).output)
    ids = [k["key_id"] for k in listed["keys"]]
    assert issued.doc.key_id in ids and len(ids) == 2
    good = tmp_path / "cert.json"
    good.write_bytes(document_json(issued.doc))
    assert runner.invoke(app, ["cert", "verify", str(good), "--keys", str(keys_dir(settings))]).exit_code == 0
    assert runner.invoke(app, ["cert", "rotate-key", "--issuer", "bad"]).exit_code == 2
