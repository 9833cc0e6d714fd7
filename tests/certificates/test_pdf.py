"""The certificate PDF: A4, real Noto CJK glyphs, the QR code, the signed JSON inside, the digest recorded."""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib

import pytest
from sqlalchemy import select

from pubdata.audit import Actor, AuditEvent
from pubdata.certificates import pdf, pdf_store
from pubdata.certificates.document import DocumentError
from pubdata.certificates.signing import published_keys
from pubdata.certificates.verify import verify_upload
from pubdata.crypto import sm3

pytestmark = pytest.mark.pdf
SYSTEM = Actor.system("test")


@pytest.fixture(autouse=True)
def _needs_pdf_tools() -> None:
    pytest.importorskip("weasyprint")
    try:
        pdf.check_fonts()
    except pdf.PdfUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def rendered(db_session, issue, settings):  # type: ignore[no-untyped-def]
    issued = issue()
    data = pdf_store.ensure_pdf(db_session, actor=SYSTEM, document_id=issued.doc.id, settings=settings)
    return issued, data


def test_the_digest_is_recorded_once(db_session, rendered, settings):
    issued, data = rendered
    assert data.startswith(b"%PDF-") and issued.doc.pdf_sm3 == sm3.hexdigest(data)
    assert issued.doc.pdf_size == len(data) and issued.doc.pdf_rendered_at is not None
    again = pdf_store.ensure_pdf(db_session, actor=SYSTEM, document_id=issued.doc.id, settings=settings)
    assert again == data
    stmt = select(AuditEvent).where(AuditEvent.tag == "certificates:certificate:pdf_rendered")
    events = db_session.scalars(stmt).all()
    assert [e.data["pdf_sm3"] for e in events] == [issued.doc.pdf_sm3]


@pytest.mark.skipif(shutil.which("pdffonts") is None or shutil.which("pdftotext") is None,
                    reason="poppler-utils not installed")
def test_a4_with_chinese_text_set_in_embedded_noto_cjk(rendered, tmp_path):
    issued, data = rendered
    path = tmp_path / "cert.pdf"
    path.write_bytes(data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert "(A4)" in info and re.search(r"Pages:\s+1\n", info)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    names = [line.split()[0] for line in fonts.splitlines()[2:]]
    assert names and all("Noto-" in n and "CJK-SC" in n for n in names), fonts  # no fallback font at all
    assert all(" yes " in line for line in fonts.splitlines()[2:])  # embedded
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    for expected in ("公共数据资源登记电子凭证", issued.number, "全省公路路网运行监测数据", "扫码核验"):
        assert expected in text


@pytest.mark.skipif(shutil.which("zbarimg") is None or shutil.which("pdftoppm") is None,
                    reason="zbar-tools or poppler-utils not installed")
def test_the_printed_qr_code_carries_the_verification_url(rendered, tmp_path):
    issued, data = rendered
    (tmp_path / "cert.pdf").write_bytes(data)
    subprocess.run(["pdftoppm", "-png", "-r", "200", str(tmp_path / "cert.pdf"), str(tmp_path / "page")], check=True)
    out = subprocess.run(["zbarimg", "-q", "--raw", str(tmp_path / "page-1.png")], capture_output=True, text=True)
    assert out.stdout.strip() == f"https://pubdata.example.gov.cn/public/certificates/{issued.number}"


def test_the_pdf_carries_the_signed_json_and_verifies(db_session, rendered, settings):
    issued, data = rendered
    assert pdf.extract_envelope(data).certificate["number"] == issued.number
    verdict = verify_upload(db_session, data, keys=published_keys(settings))
    assert verdict.valid and verdict.pdf_matches_record and verdict.certificate.number == issued.number


def _replace_attachment(data: bytes, change) -> bytes:  # type: ignore[no-untyped-def]
    """Rewrite the embedded certificate.json (recompressed, /Length fixed): what a forger would do."""
    for m in re.finditer(rb"stream\r?\n", data):
        head = data[max(0, m.start() - 600):m.start()]
        if b"/EmbeddedFile" not in head:
            continue
        end = data.index(b"endstream", m.end())
        raw = data[m.end():end].rstrip(b"\r\n")
        new = zlib.compress(change(zlib.decompress(raw)))
        length = re.findall(rb"/Length (\d+)", head)[-1]
        before = data[:m.start()].replace(b"/Length " + length, b"/Length " + str(len(new)).encode(), 1) \
            if data[:m.start()].count(b"/Length " + length) == 1 else data[:m.start()]
        return before + data[m.start():m.end()] + new + b"\n" + data[end:]
    raise AssertionError("no attachment")


def test_a_pdf_with_an_edited_certificate_is_invalid(db_session, rendered, settings):
    _, data = rendered
    forged = _replace_attachment(data, lambda j: j.replace(b"2029-11-15", b"2039-11-15"))
    verdict = verify_upload(db_session, forged, keys=published_keys(settings))
    assert not verdict.valid and "签名验证失败" in (verdict.reason or "")


def test_a_pdf_changed_around_an_intact_certificate_is_invalid(db_session, rendered, settings):
    _, data = rendered
    # An incremental update appended to the file (e.g. a changed visible text) keeps the attachment intact.
    edited = data + b"\n% edited by someone\n"
    verdict = verify_upload(db_session, edited, keys=published_keys(settings))
    assert not verdict.valid and verdict.signature_valid and verdict.pdf_matches_record is False
    assert "PDF 文件本身" in (verdict.reason or "")


def test_a_pdf_without_a_certificate_is_refused_with_a_reason():
    with pytest.raises(DocumentError, match="没有找到凭证数据"):
        pdf.extract_envelope(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n")


def test_a_zip_bomb_attachment_is_not_inflated(db_session, settings):
    bomb = zlib.compress(b"{" + b" " * (50 << 20))
    data = (b"%PDF-1.7\n1 0 obj\n<</Type /EmbeddedFile/Filter /FlateDecode/Length " + str(len(bomb)).encode()
            + b">>\nstream\n" + bomb + b"\nendstream\nendobj\n%%EOF\n")
    verdict = verify_upload(db_session, data, keys=published_keys(settings))
    assert not verdict.valid and "没有找到凭证数据" in (verdict.reason or "")


def test_the_sweep_renders_pending_pdfs(db_session, issue, settings):
    issued = issue()
    db_session.commit()
    from pubdata.registry.sweep import run

    result = run(db_session.connection(), settings=settings)
    assert issued.number in result.pdfs and result.pdf_error is None
    db_session.refresh(issued.doc)
    assert issued.doc.pdf_sm3 is not None
