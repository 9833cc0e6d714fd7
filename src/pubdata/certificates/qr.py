"""The QR code on a certificate: the public verification URL (一证一码 made scannable)."""

from __future__ import annotations

import base64
import io
from urllib.parse import quote

import segno

from pubdata.config import Settings

PAGE_PATH = "/public/certificates/"


def verify_url(settings: Settings, number: str) -> str:
    """``<base_url>/public/certificates/<number>``: the page anyone can open without an account."""
    return settings.base_url.rstrip("/") + PAGE_PATH + quote(number, safe="")


def qr_code(url: str) -> segno.QRCode:
    # Error correction M (15 %) survives a printed copy with a stain or a fold; "Q" would grow the code for
    # little gain at this size. Byte mode: URLs are ASCII, and segno picks the smallest version that fits.
    return segno.make_qr(url, error="m", boost_error=False)


def svg_data_uri(url: str, *, scale: int = 4) -> str:
    """An SVG data: URI of the QR code, for the PDF and the public page (the CSP allows data: images)."""
    buf = io.BytesIO()
    qr_code(url).save(buf, kind="svg", scale=scale, border=2, dark="#000", light="#fff", xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def matrix(url: str) -> tuple[tuple[int, ...], ...]:
    """The module matrix: lets a test compare the printed code with the URL it should carry."""
    return tuple(tuple(row) for row in qr_code(url).matrix)
