"""Whole journeys across roles in Debian's Chromium (issue 7): a first registration from sign-up to the public
checking its certificate through the QR link, and a renewal started from the registered record."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from pubdata import clock
from pubdata.db.session import unit_of_work
from pubdata.demo import DEMO_PASSWORD, make_uscc
from pubdata.registry.models import Application, Certificate, Registration
from pubdata.registry.sweep import run as sweep
from tests.browser import new_page, shot
from tests.web.conftest import login
from tests.web.test_browser_applicant import fill_first_registration

pytestmark = pytest.mark.browser

DATA_NAME = "酒泉市公共交通刷卡数据"


def _second_page(browser):  # type: ignore[no-untyped-def]
    return next(new_page(browser))


def scan_qr(pdf_bytes: bytes, tmp: Path) -> str:
    """What a phone reads from the printed certificate: page 1 rendered, its QR code decoded (zbar)."""
    if shutil.which("zbarimg") is None or shutil.which("pdftoppm") is None:
        pytest.skip("zbar-tools or poppler-utils not installed")
    (tmp / "cert.pdf").write_bytes(pdf_bytes)
    subprocess.run(["pdftoppm", "-png", "-r", "200", "-f", "1", "-l", "1", str(tmp / "cert.pdf"), str(tmp / "page")],
                   check=True)
    page_png = next(tmp.glob("page-*1.png"))
    return subprocess.run(["zbarimg", "-q", "--raw", str(page_png)], capture_output=True, text=True).stdout.strip()


def test_a_first_registration_from_sign_up_to_the_public_checking_its_certificate(page, browser, server,
                                                                                   live_engine, live_settings,
                                                                                   tmp_path):
    # 1. The applicant's organisation signs up and asks for real-name verification (REG-36).
    page.goto(f"{server}/signup")
    page.fill("#f-org_name", "酒泉市交通运输局")
    page.fill("#f-uscc", make_uscc("11620900", 42424))
    page.select_option("#f-kind", "党政机关")
    page.select_option("#f-region_code", "620900")
    page.select_option("#f-role", "registration_subject")
    page.fill("#f-full_name", "孙八")
    page.fill("#f-username", "jqjt")
    page.fill("#f-password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/login?signed_up=1")
    login(page, server, "jqjt")
    page.goto(f"{server}/org/verification")
    evidence = {"certificate_kind": "统一社会信用代码证书", "legal_representative": "孙八", "contact_name": "孙八",
                "contact_phone": "13900000009", "authorisation": "授权书〔2026〕9号"}
    for field, value in evidence.items():
        page.fill(f"#f-{field}", value)
    page.click("main button[type=submit]")
    assert "核验材料已提交" in page.text_content("main")

    # 2. The institution verifies the organisation.
    clerk = _second_page(browser)
    login(clerk, server, "institution")
    clerk.goto(f"{server}/institution/verifications")
    clerk.locator("tr", has_text="酒泉市交通运输局").locator("text=核验").click()
    clerk.check("input[value=approve]")
    clerk.fill("#f-checked_evidence", "核对统一社会信用代码证书原件与授权书")
    clerk.click("main button[type=submit]")
    assert "核验决定已记录" in clerk.text_content("main")

    # 3. The applicant fills the whole form with attachments and submits.
    page.goto(f"{server}/applications/new")
    fill_first_registration(page, DATA_NAME)
    page.fill("#f-resource-operator_uscc", make_uscc("91620000", 30003))
    page.click("#btn-submit")
    page.wait_for_url("**/applications/*?submitted=1")
    app_id = int(urlsplit(page.url).path.rsplit("/", 1)[1])
    assert page.text_content("#app-state") == "已提交待受理"
    shot(page, "journey-01-submitted")

    # 4. The institution asks, once, for a supplement.
    clerk.goto(f"{server}/institution/queue?tab=accept")
    clerk.locator("tr", has_text=DATA_NAME).locator("text=办理").click()
    clerk.wait_for_url(f"{server}/institution/applications/{app_id}")
    builder = clerk.locator("form.inst-builder")
    builder.locator("input[value='documents.identity_proof']").check()
    builder.locator("select[name='defect.documents.identity_proof']").select_option("unclear")
    builder.locator("input[name='note.documents.identity_proof']").fill("证书扫描件不清晰，请重新上传")
    builder.locator("button[value=preview]").click()
    clerk.locator("form.inst-builder button[value=send]").click()
    clerk.wait_for_url(f"{server}/institution/applications/{app_id}?done=request_supplement")
    shot(clerk, "journey-02-supplement-sent")

    # 5. The applicant sees the notice, replaces the document and resubmits.
    page.goto(f"{server}/applications/{app_id}")
    assert "证书扫描件不清晰" in page.text_content("main")
    shot(page, "journey-03-supplement-received")
    page.goto(f"{server}/applications/{app_id}/edit")
    page.set_input_files("#f-documents-identity_proof", files=[{
        "name": "统一社会信用代码证书（清晰）.pdf", "mimeType": "application/pdf",
        "buffer": b"%PDF-1.7\n% clear scan\n%%EOF\n"}])
    page.click("#btn-submit")
    page.wait_for_url("**/applications/*?submitted=1")
    assert page.text_content("#app-state") == "已提交待受理"

    # 6. The institution accepts and passes the review; the public notice opens (REG-26..28).
    clerk.goto(f"{server}/institution/applications/{app_id}")
    clerk.click("form[data-action=accept] button[type=submit]")
    clerk.wait_for_url(f"{server}/institution/applications/{app_id}?done=accept")
    clerk.click("form[data-action=pass] button[type=submit]")
    clerk.wait_for_url(f"{server}/institution/applications/{app_id}?done=pass")
    assert "公示中" in clerk.text_content(".inst-state")
    page.goto(f"{server}/notices")
    assert DATA_NAME in page.text_content("main")
    shot(page, "journey-04-public-notice")

    # 7. The notice period ends; the sweep issues the certificate (REG-29).
    with unit_of_work(live_engine) as s:
        notice_end = s.get(Application, app_id).notice_end
    with clock.frozen(notice_end + dt.timedelta(days=1)):
        result = sweep(live_engine, settings=live_settings, render_pdfs=False)
    assert any(DATA_NAME in line or "发证" in line for line in result.lines()), result.lines()
    with unit_of_work(live_engine) as s:
        number = s.scalar(select(Certificate.number).join(Registration)
                          .where(Registration.data_name == DATA_NAME, Certificate.status == "valid"))
    assert number

    # 8. The holder downloads the certificate PDF; its printed QR code carries the public verification link.
    document = page.request.get(f"{server}/api/v1/certificates/{number}/json")
    assert document.status == 200, document.text()[:300]
    verify_url = json.loads(document.body())["certificate"]["verify_url"]
    assert urlsplit(verify_url).path == f"/public/certificates/{number}"
    printed = page.request.get(f"{server}/api/v1/certificates/{number}/pdf")
    assert printed.status == 200 and printed.body().startswith(b"%PDF")
    assert scan_qr(printed.body(), tmp_path) == verify_url

    # 9. Anyone, signed in or not, checks it through that link.
    public = _second_page(browser)
    public.goto(server + urlsplit(verify_url).path)
    assert "有效" in public.text_content("main") and DATA_NAME in public.text_content("main")
    assert public.locator(".alert-error").count() == 0  # signature and ledger checks pass
    shot(public, "journey-05-public-verification")
    public.goto(f"{server}/catalog?q=公共交通刷卡")
    assert DATA_NAME in public.text_content(".catalog-results")


def test_a_renewal_started_from_the_registered_record(page, server, live_engine):
    with unit_of_work(live_engine) as s:
        reg_id, until = s.execute(
            select(Registration.id, Certificate.valid_until).join(Certificate, Certificate.registration_id ==
                                                                   Registration.id)
            .where(Registration.data_name == "天水市城区道路交通流量数据", Certificate.status == "valid")).one()
    window = until - dt.timedelta(days=30)  # inside the 60 days before expiry (REG-37)
    with clock.frozen(window):
        login(page, server, "subject")
        page.goto(f"{server}/registrations/{reg_id}")
        assert page.is_visible("#start-renewal")
        shot(page, "journey-06-renewal-window")
        page.click("#start-renewal")
        page.wait_for_url("**/applications/*/edit*")
        app_id = int(urlsplit(page.url).path.split("/")[2])
        page.set_input_files("#f-documents-identity_proof", files=[{
            "name": "统一社会信用代码证书.pdf", "mimeType": "application/pdf",
            "buffer": b"%PDF-1.7\n% renewal identity\n%%EOF\n"}])
        page.click("#btn-submit")
        page.wait_for_url("**/applications/*?submitted=1")
        shot(page, "journey-07-renewal-submitted")

        page.click("header button:has-text('退出')")
        login(page, server, "institution")
        page.goto(f"{server}/institution/queue?tab=renewals")
        assert "天水市城区道路交通流量数据" in page.text_content("main")
        page.goto(f"{server}/institution/applications/{app_id}")
        page.click("form[data-action=accept] button[type=submit]")
        page.wait_for_url(f"{server}/institution/applications/{app_id}?done=accept")
        page.click("form[data-action=pass] button[type=submit]")
        page.wait_for_url(f"{server}/institution/applications/{app_id}?done=pass")
        shot(page, "journey-08-renewed")

    with unit_of_work(live_engine) as s:
        current = s.scalars(select(Certificate).where(Certificate.registration_id == reg_id)
                            .order_by(Certificate.id.desc())).first()
        assert current is not None and current.valid_from == until + dt.timedelta(days=1)
        number = current.number
    page.goto(f"{server}/public/certificates/{number}")
    assert "有效" in page.text_content("main") and page.locator(".alert-error").count() == 0
    shot(page, "journey-09-renewed-certificate")
