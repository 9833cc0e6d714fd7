"""Small files of every kind the store must recognise (or refuse) by content, and API helpers."""

from __future__ import annotations

import io
import zipfile

from pubdata.crypto import sm3
from tests.factories import PASSWORD

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 2 + b"\xff\xd9"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200 + b"This program cannot be run in DOS mode."
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
CSV_UTF8 = "数据项,数量\n人口,1\n".encode()
CSV_GBK = "数据项,数量\n人口,1\n".encode("gbk")
JSON_DOC = '{"名称": "公共数据"}'.encode()


def zip_with(*names: str, mimetype: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        if mimetype:
            zf.writestr("mimetype", mimetype)
        for name in names:
            zf.writestr(name, f"<x>{name}</x>")
    return buf.getvalue()


OFD = zip_with("OFD.xml", "Doc_0/Document.xml")
DOCX = zip_with("[Content_Types].xml", "word/document.xml", "_rels/.rels")
XLSX = zip_with("[Content_Types].xml", "xl/workbook.xml")
PLAIN_ZIP = zip_with("说明.txt", "数据.csv")


def hexdigest(data: bytes) -> str:
    return sm3.hexdigest(data)


def token_headers(client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/auth/tokens", json={"username": username, "password": PASSWORD, "name": "测试"})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)
