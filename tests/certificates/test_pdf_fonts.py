"""Without a CJK font the PDF is refused with a Chinese message naming the Debian package, never drawn with boxes."""

from __future__ import annotations

import pytest

from pubdata.certificates import pdf


def test_missing_fonts_fail_clearly(monkeypatch):
    monkeypatch.setattr(pdf, "installed_cjk_families", lambda: {"DejaVu Sans", "Noto Sans CJK JP"})
    with pytest.raises(pdf.PdfUnavailable) as exc:
        pdf.check_fonts()
    assert "fonts-noto-cjk" in str(exc.value) and "方框" in str(exc.value)


def test_rendering_stops_before_weasyprint_when_fonts_are_missing(monkeypatch):
    monkeypatch.setattr(pdf.shutil, "which", lambda name: None)  # not even fontconfig's fc-list
    assert pdf.installed_cjk_families() == set()
    monkeypatch.setattr(pdf, "_weasyprint", lambda: pytest.fail("WeasyPrint must not be reached"))
    with pytest.raises(pdf.PdfUnavailable, match="apt-get install fonts-noto-cjk"):
        pdf.render(None)  # type: ignore[arg-type]


def test_the_sweep_reports_missing_fonts_instead_of_failing(monkeypatch, db_session, issue, settings):
    monkeypatch.setattr(pdf, "installed_cjk_families", set)
    issued = issue()
    db_session.commit()
    from pubdata.registry.sweep import run

    result = run(db_session.connection(), settings=settings)
    assert result.pdfs == [] and "fonts-noto-cjk" in (result.pdf_error or "")
    assert any("凭证 PDF 未能生成" in line for line in result.lines())
    db_session.refresh(issued.doc)
    assert issued.doc.pdf_sm3 is None
