"""Scan-and-check in a real browser: open the URL the certificate's QR code carries and see the status."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from pubdata import clock
from pubdata.audit import Actor
from pubdata.certificates import qr
from pubdata.certificates.issue import document_of
from pubdata.certificates.revocation import revoke
from pubdata.certificates.signing import SETTINGS_INFO
from pubdata.certificates.verify import document_json
from pubdata.config import Settings
from pubdata.db.testing import scratch_engine
from pubdata.identity.roles import Role
from pubdata.registry.certificates import current_certificate
from tests.browser import free_port, serve, shot
from tests.factories import actor_of, make_user
from tests.registry.support import registered

pytestmark = pytest.mark.browser



class Live:
    def __init__(self, url: str, engine: Engine, settings: Settings, tmp: Path) -> None:
        self.url, self.engine, self.settings, self.tmp = url, engine, settings, tmp

    def session(self) -> Session:
        return sessionmaker(bind=self.engine, expire_on_commit=False, info={SETTINGS_INFO: self.settings})()


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    from pubdata.web.app import create_app

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with scratch_engine() as engine, tempfile.TemporaryDirectory() as tmp:
        # The QR code points at base_url: here, the live server itself.
        settings = Settings(var_dir=Path(tmp) / "var", secret_key="browser", base_url=url)
        app = create_app(settings, session_maker=sessionmaker(bind=engine, expire_on_commit=False,
                                                              info={SETTINGS_INFO: settings}))
        for served in serve(app, port):
            yield Live(served, engine, settings, Path(tmp))


def _issue(live: Live, name: str) -> tuple[int, str, str, bytes]:
    with live.session() as s, s.begin():
        subject = actor_of(make_user(s, Role.REGISTRATION_SUBJECT))
        clerk = actor_of(make_user(s, Role.REGISTRATION_INSTITUTION))
        app = registered(s, subject, clerk, live.tmp, basic={"name": name})
        cert = current_certificate(s, app.registration_id)
        doc = document_of(s, cert.id)
        signed = json.loads(doc.signed_json)
        return app.registration_id, str(cert.number), signed["verify_url"], document_json(doc)


def test_the_qr_codes_url_opens_the_status_page(page, live):
    reg_id, number, url, _ = _issue(live, "酒泉市风电场运行监测数据")
    assert url == f"{live.url}/public/certificates/{number}"
    assert qr.matrix(url) == qr.matrix(qr.verify_url(live.settings, number))  # the code printed on the PDF
    page.goto(url)
    assert page.text_content("#cert-status") == "有效"
    assert page.get_attribute("#cert-signature", "data-valid") == "true"
    assert "酒泉市风电场运行监测数据" in page.text_content("main")
    shot(page, "cert-01-valid")

    with live.session() as s, s.begin():
        revoke(s, actor=Actor.system("objections"), registration_id=reg_id, reasons="伪造材料",
               date=clock.today())
    page.reload()
    assert page.text_content("#cert-status") == "已撤销"
    assert "撤销登记" in page.text_content("#cert-status-note")
    shot(page, "cert-02-revoked")


def test_lookup_by_number_and_upload_a_certificate_file(page, live, tmp_path):
    _, number, _, raw = _issue(live, "白银市工业用电数据")
    page.goto(f"{live.url}/public/certificates")
    page.fill("#f-number", number.lower())
    page.click("form[method=get] button[type=submit]")
    page.wait_for_url(f"**/public/certificates/{number}")
    assert page.text_content("#cert-status") == "有效"

    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_bytes(raw)
    doc = json.loads(raw)
    doc["certificate"]["data"]["name"] = "白银市工业用电数据（全量）"
    bad.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    page.goto(f"{live.url}/public/certificates")
    page.set_input_files("#f-file", str(good))
    page.click("form[method=post] button[type=submit]")
    assert page.get_attribute("#verify-result", "data-result") == "valid"
    shot(page, "cert-03-upload-valid")
    page.goto(f"{live.url}/public/certificates")
    page.set_input_files("#f-file", str(bad))
    page.click("form[method=post] button[type=submit]")
    assert page.get_attribute("#verify-result", "data-result") == "invalid"
    assert "签名验证失败" in page.text_content("#verify-result")
    shot(page, "cert-04-upload-tampered")
