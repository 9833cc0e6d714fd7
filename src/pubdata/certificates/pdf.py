"""The A4 PDF of a certificate: WeasyPrint with Noto CJK, the QR code, the signed JSON embedded.

The PDF is made *from the signed envelope only* (no database read), carries that envelope as an embedded
file ``certificate.json`` (so a PDF on its own is verifiable offline), and is stored once in the
content-addressed file store; its SM3 digest is recorded on the document and in the ledger. Rendering runs
outside the public lookup (the sweep renders what is pending; a download renders on first use).

Fonts: WeasyPrint silently falls back to whatever font has a glyph, and with no CJK font at all it draws
boxes. So rendering first asks fontconfig for a Simplified Chinese Noto CJK face and refuses, naming the
Debian package, when there is none.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
import zlib
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from pubdata.certificates import qr
from pubdata.certificates.document import DocumentError, Envelope, envelope_from_json
from pubdata.crypto import sm3

FONT_PACKAGE = "fonts-noto-cjk"
FONT_FAMILIES = ("Noto Serif CJK SC", "Noto Sans CJK SC")
ATTACHMENT_NAME = "certificate.json"
TEMPLATE = "certificate_pdf.html"
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "web" / "templates"
#: Decompressed size accepted for one embedded stream when reading an uploaded PDF (a zip bomb stops here).
MAX_STREAM_BYTES = 256 * 1024
MAX_STREAMS = 2000


class PdfUnavailable(RuntimeError):
    """The PDF cannot be made on this machine; the message says, in Chinese, what to install."""


def installed_cjk_families() -> set[str]:
    """Simplified-Chinese-capable font families fontconfig knows (empty when fc-list is missing)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return set()
    out = subprocess.run([fc_list, ":lang=zh-cn", "family"], capture_output=True, text=True, timeout=30,
                         check=False).stdout
    return {name.strip() for line in out.splitlines() for name in line.split(",") if name.strip()}


def check_fonts() -> str:
    """The family to use; raises ``PdfUnavailable`` naming the Debian package when none is installed.
    Asked on every rendering (a few ms), so installing the fonts takes effect without a restart."""
    families = installed_cjk_families()
    for family in FONT_FAMILIES:
        if family in families:
            return family
    raise PdfUnavailable(f"无法生成凭证 PDF：系统缺少中文字体 Noto CJK。请安装 Debian 软件包 {FONT_PACKAGE}"
                         f"（apt-get install {FONT_PACKAGE}）后重试；为避免出现方框乱码，未生成任何文件。")


def _weasyprint() -> Any:
    try:
        import weasyprint  # type: ignore[import-untyped]
    except (ImportError, OSError) as exc:  # OSError: the Pango libraries WeasyPrint loads are missing
        raise PdfUnavailable("无法生成凭证 PDF：WeasyPrint 或其依赖的 Pango 库不可用（Debian 软件包 "
                             f"libpango-1.0-0、libpangoft2-1.0-0）：{exc}") from exc
    return weasyprint


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    return env.get_template(TEMPLATE)


def _date(value: str) -> str:
    day = dt.date.fromisoformat(value)
    return f"{day.year}年{day.month}月{day.day}日"


def html_for(envelope: Envelope, *, font_family: str = FONT_FAMILIES[0]) -> str:
    cert = envelope.certificate
    return _template().render(
        c=cert, key_id=envelope.key_id, key_name=envelope.key_name, document_sm3=sm3.hexdigest(envelope.signed_bytes),
        qr_src=qr.svg_data_uri(str(cert["verify_url"]), scale=4), font_family=font_family,
        issued_on=_date(cert["issued_on"]), valid_from=_date(cert["valid_from"]),
        valid_until=_date(cert["valid_until"]),
    )


def render(envelope: Envelope) -> bytes:
    """The PDF bytes. Raises ``PdfUnavailable`` (Chinese message) when fonts or libraries are missing."""
    family = check_fonts()
    wp = _weasyprint()
    issued = dt.datetime.fromisoformat(envelope.certificate["issued_on"]).replace(tzinfo=dt.UTC)
    attachment = wp.Attachment(file_obj=io.BytesIO(envelope.to_json()), name=ATTACHMENT_NAME,
                               description="经 SM2 签名的凭证数据（RFC 8785 规范化 JSON）", created=issued,
                               modified=issued, relationship="Source")
    # The page needs nothing but its own data: URI (the QR code): no file or network access, and a failure
    # to load it stops the rendering instead of printing a certificate without its code.
    fetcher = wp.URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    html = wp.HTML(string=html_for(envelope, font_family=family), url_fetcher=fetcher)
    return bytes(html.write_pdf(attachments=[attachment]))


# -- reading the embedded certificate back ------------------------------------------------------------------

_STREAM = re.compile(rb"stream\r?\n")
_OBJ = re.compile(rb"\d+\s+\d+\s+obj\b")


def _embedded_streams(pdf: bytes) -> Iterator[bytes]:
    """Decoded contents of the streams whose dictionary says ``/Type /EmbeddedFile`` (bounded in count and
    size, since the PDF may be anyone's upload)."""
    seen = 0
    for match in _STREAM.finditer(pdf):
        seen += 1
        if seen > MAX_STREAMS:
            return
        start = match.end()
        head_from = max(0, match.start() - 4096)
        heads = list(_OBJ.finditer(pdf, head_from, match.start()))
        head = pdf[heads[-1].start() if heads else head_from:match.start()]
        if b"/EmbeddedFile" not in head:
            continue
        end = pdf.find(b"endstream", start)
        if end < 0:
            return
        raw = pdf[start:end].rstrip(b"\r\n")
        if b"/FlateDecode" in head:
            inflater = zlib.decompressobj()
            try:
                data = inflater.decompress(raw, MAX_STREAM_BYTES)
            except zlib.error:
                continue
            if inflater.unconsumed_tail:
                continue  # larger than any certificate: not ours
            yield data
        elif b"/Filter" not in head:
            yield raw


def extract_envelope(pdf: bytes) -> Envelope:
    """The signed envelope embedded in a certificate PDF; ``DocumentError`` (Chinese) when there is none."""
    if not pdf.startswith(b"%PDF-"):
        raise DocumentError("文件不是 PDF。")
    found: list[bytes] = []
    for data in _embedded_streams(pdf):
        if data.lstrip().startswith(b"{") and b'"certificate"' in data and data not in found:
            found.append(data)
    if not found:
        raise DocumentError(f"PDF 中没有找到凭证数据附件 {ATTACHMENT_NAME}，不是本平台出具的电子凭证。")
    if len(found) > 1:
        raise DocumentError("PDF 中含有多份不同的凭证数据，无法确定以哪一份为准。")
    return envelope_from_json(found[0])
