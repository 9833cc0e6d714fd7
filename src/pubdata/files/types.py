"""The attachment type allow-list, decided from a file's content (magic bytes), not from its name.

A name can say anything; what is stored and later served is what the bytes are. The extension, when there
is one, must agree with the content: a PNG called ``scan.pdf`` is refused, because whoever opens it later
would be misled (and a browser told ``.pdf`` while sent an image behaves unpredictably).

Families are recognised from the first bytes (``HEAD``): PDF, PNG, JPEG, ZIP containers, OLE2 compound
files (legacy Office and WPS) and plain text. ZIP containers are told apart (OFD, OOXML, ODF, plain ZIP) by
their member names once the whole file is on the temporary side of the store, see ``resolve_zip``.
"""

from __future__ import annotations

import codecs
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pubdata.errors import ValidationFailed

#: Bytes looked at before deciding the family; nothing is written to disk before the decision.
HEAD = 8192


@dataclass(frozen=True)
class FileType:
    media_type: str
    label: str
    extensions: tuple[str, ...]
    family: str


PDF = FileType("application/pdf", "PDF 文档", (".pdf",), "pdf")
OFD = FileType("application/ofd", "OFD 版式文档", (".ofd",), "zip")
PNG = FileType("image/png", "PNG 图片", (".png",), "png")
JPEG = FileType("image/jpeg", "JPEG 图片", (".jpg", ".jpeg"), "jpeg")
ZIP = FileType("application/zip", "ZIP 压缩包", (".zip",), "zip")
DOCX = FileType("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word 文档",
                (".docx",), "zip")
XLSX = FileType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel 表格",
                (".xlsx",), "zip")
PPTX = FileType("application/vnd.openxmlformats-officedocument.presentationml.presentation", "PowerPoint 演示文稿",
                (".pptx",), "zip")
ODT = FileType("application/vnd.oasis.opendocument.text", "ODF 文档", (".odt",), "zip")
ODS = FileType("application/vnd.oasis.opendocument.spreadsheet", "ODF 表格", (".ods",), "zip")
ODP = FileType("application/vnd.oasis.opendocument.presentation", "ODF 演示文稿", (".odp",), "zip")
DOC = FileType("application/msword", "Word 97-2003 文档", (".doc",), "ole")
XLS = FileType("application/vnd.ms-excel", "Excel 97-2003 表格", (".xls",), "ole")
PPT = FileType("application/vnd.ms-powerpoint", "PowerPoint 97-2003 演示文稿", (".ppt",), "ole")
# WPS Office is what many Gansu offices use; its native formats are OLE2 compound files too.
WPS = FileType("application/wps-office.wps", "WPS 文字文档", (".wps",), "ole")
ET = FileType("application/wps-office.et", "WPS 表格", (".et",), "ole")
DPS = FileType("application/wps-office.dps", "WPS 演示文稿", (".dps",), "ole")
CSV = FileType("text/csv", "CSV 表格", (".csv",), "text")
JSON = FileType("application/json", "JSON 数据", (".json",), "text")
XML = FileType("application/xml", "XML 数据", (".xml",), "text")
TXT = FileType("text/plain", "文本文件", (".txt",), "text")

ALLOWED: tuple[FileType, ...] = (PDF, OFD, PNG, JPEG, ZIP, DOCX, XLSX, PPTX, ODT, ODS, ODP, DOC, XLS, PPT,
                                 WPS, ET, DPS, CSV, JSON, XML, TXT)
BY_EXTENSION: dict[str, FileType] = {ext: t for t in ALLOWED for ext in t.extensions}
BY_MEDIA_TYPE: dict[str, FileType] = {t.media_type: t for t in ALLOWED}
ALLOWED_SUMMARY = "PDF、OFD、PNG/JPEG 图片、ZIP、Word/Excel/PowerPoint/WPS/ODF 文档、CSV/JSON/XML/TXT"

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ODF = {"application/vnd.oasis.opendocument.text": ODT, "application/vnd.oasis.opendocument.spreadsheet": ODS,
        "application/vnd.oasis.opendocument.presentation": ODP}
#: Control characters that do not occur in text files (tab, LF, FF, CR and ESC do).
_BINARY_CONTROL = bytes(set(range(32)) - {9, 10, 12, 13, 27})


def not_allowed(field: str, message: str) -> ValidationFailed:
    return ValidationFailed.single(field, "file_type_not_allowed", message)


def extension_of(filename: str) -> str:
    """``.pdf`` for ``报告.PDF``; ``""`` when the name has no extension."""
    return PurePosixPath(filename).suffix.lower()


def check_extension(filename: str, *, field: str) -> FileType | None:
    """The type the name claims; refuses unknown extensions before a byte of content is read."""
    ext = extension_of(filename)
    if not ext:
        return None
    claimed = BY_EXTENSION.get(ext)
    if claimed is None:
        raise not_allowed(field, f"不允许上传扩展名为 {ext} 的文件。允许的类型：{ALLOWED_SUMMARY}。")
    return claimed


def _decodes_as_text(head: bytes, *, complete: bool) -> bool:
    if b"\x00" in head or any(b in _BINARY_CONTROL for b in head):
        return False
    for encoding in ("utf-8-sig", "gb18030"):  # GB18030 covers GBK/GB2312 files from older systems
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=complete)
            return True
        except UnicodeDecodeError:
            continue
    return False


def sniff_family(head: bytes, *, complete: bool) -> str | None:
    """The content family from the first bytes, or None when the content is not an allowed kind."""
    if b"%PDF-" in head[:1024]:  # readers accept a PDF header anywhere in the first KiB
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(_OLE_MAGIC):
        return "ole"
    if head and _decodes_as_text(head, complete=complete):
        return "text"
    return None


def _mismatch(field: str, claimed: FileType, actual: str) -> ValidationFailed:
    return ValidationFailed.single(
        field, "file_type_mismatch",
        f"文件扩展名表明是{claimed.label}（{claimed.extensions[0]}），但文件内容是{actual}；请核对后重新上传。",
    )


_FAMILY_LABELS = {"pdf": PDF.label, "png": PNG.label, "jpeg": JPEG.label, "zip": "ZIP 格式",
                  "ole": "旧版 Office/WPS 格式", "text": "纯文本"}


def _first_char(head: bytes) -> str:
    text = head.removeprefix(codecs.BOM_UTF8).lstrip()
    return chr(text[0]) if text else ""


def resolve(family: str, head: bytes, *, claimed: FileType | None, declared_type: str | None,
            field: str) -> FileType | None:
    """The type for a family that the first bytes settle; None for ZIP (settled by ``resolve_zip``)."""
    if family == "zip":
        if claimed is not None and claimed.family != "zip":
            raise _mismatch(field, claimed, _FAMILY_LABELS["zip"])
        return None
    simple = {"pdf": PDF, "png": PNG, "jpeg": JPEG}
    if family in simple:
        actual = simple[family]
        if claimed is not None and claimed is not actual:
            raise _mismatch(field, claimed, actual.label)
        return actual
    if family == "ole":
        if claimed is None:
            raise not_allowed(field, "旧版 Office/WPS 文件须带扩展名（.doc、.xls、.ppt、.wps、.et、.dps）。")
        if claimed.family != "ole":
            raise _mismatch(field, claimed, _FAMILY_LABELS["ole"])
        return claimed
    # Plain text: the name (or the declared type) says which text format; light checks keep it honest.
    if claimed is None:
        hinted = BY_MEDIA_TYPE.get((declared_type or "").split(";")[0].strip().lower())
        claimed = hinted if hinted is not None and hinted.family == "text" else TXT
    if claimed.family != "text":
        raise _mismatch(field, claimed, _FAMILY_LABELS["text"])
    first = _first_char(head)
    if claimed is JSON and first not in {"{", "["}:
        raise _mismatch(field, claimed, "非 JSON 文本")
    if claimed is XML and first != "<":
        raise _mismatch(field, claimed, "非 XML 文本")
    return claimed


def resolve_zip(path: Path, *, claimed: FileType | None, field: str) -> FileType:
    """OFD, OOXML, ODF or plain ZIP, from the member names (the central directory; nothing is unpacked)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            actual = ZIP
            lower = {n.lower() for n in names}
            if "ofd.xml" in lower:
                actual = OFD
            elif "[content_types].xml" in lower:
                prefixes = {n.split("/", 1)[0] for n in lower if "/" in n}
                actual = DOCX if "word" in prefixes else XLSX if "xl" in prefixes else PPTX if "ppt" in prefixes else ZIP
            elif "mimetype" in names:
                with zf.open("mimetype") as fh:
                    actual = _ODF.get(fh.read(100).decode("ascii", "replace").strip(), ZIP)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError):
        raise ValidationFailed.single(field, "file_corrupt", "压缩格式的文件已损坏或不完整，无法识别其内容。") from None
    if claimed is None or claimed is actual:
        return actual
    if claimed is ZIP:  # an OFD or Office file is a ZIP archive too: accept it under the name given
        return ZIP
    raise _mismatch(field, claimed, actual.label if actual is not ZIP else "普通 ZIP 压缩包")
