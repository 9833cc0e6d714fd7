"""The identifier scanner for exported files (OPS-26): text in any of its usual encodings, Office/ODF
packages and PDF streams part by part; what cannot be read whole is a blocking ``unscannable`` finding."""

from __future__ import annotations

import base64
import codecs
import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator

from pubdata.opdomain.export_checks import ExportFinding, Finding
from pubdata.opdomain.identifiers import find_identifiers, scan_text

_COMPRESSED = (b"PAR1", b"PK\x03\x04", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf", b"(\xb5/\xfd", b"Rar!")
#: Archive and compressed-stream signatures searched for anywhere in a file (not only at its start: a ZIP
#: appended to a PDF or an image is still a ZIP). gzip is checked separately (two bytes occur by chance).
_ARCHIVE_ANYWHERE = re.compile(
    rb"PK\x03\x04|PK\x05\x06|PK\x07\x08|7z\xbc\xaf\x27\x1c|Rar!\x1a\x07|\xfd7zXZ\x00|\x28\xb5\x2f\xfd"
    rb"|BZh[1-9]1AY&SY")
_GZIP = re.compile(rb"\x1f\x8b\x08")
CHUNK = 1 << 20
OVERLAP = 64


def _unscannable(message: str, where: str = "") -> ExportFinding:
    return ExportFinding(Finding.UNSCANNABLE, message, where)


def scan_file(chunks: Iterable[bytes]) -> list[ExportFinding]:
    """Scan a file's bytes for identifier patterns (valid check digits only), chunk by chunk with an overlap
    so that nothing on a chunk boundary is missed. A match touching a window edge that is not the file's
    edge may be a fragment of a longer number; it is left to the window that sees it whole. Compressed,
    archived or Parquet content cannot be read this way, so it is a finding rather than a pass — at the
    start of the file or (archive signatures) anywhere in it."""
    found: dict[tuple[str, int], ExportFinding] = {}
    tail, start = b"", 0  # start: file offset of the window's first byte
    iterator = iter(chunks)
    chunk = next(iterator, None)
    archive = chunk is not None and chunk.startswith(_COMPRESSED)
    while chunk is not None:
        following = next(iterator, None)
        window = tail + chunk
        end = start + len(window)
        archive = archive or _ARCHIVE_ANYWHERE.search(window) is not None
        for m in find_identifiers(window, start):
            length = len(m.masked)
            if (m.offset == start and start > 0) or (m.offset + length >= end and following is not None):
                continue
            found.setdefault(
                (m.kind, m.offset),
                ExportFinding(Finding.IDENTIFIER, f"文件中含有{m.kind.label}（{m.masked}）。", f"offset:{m.offset}"),
            )
        tail = window[-OVERLAP:]
        start = end - len(tail)
        chunk = following
    out = list(found.values())
    if archive:
        out.insert(0, _unscannable("文件为压缩、归档或列存格式，或其中含有压缩包，无法自动扫描，"
                                   "请提交可读的明文格式。"))
    return out


def scan_bytes(data: bytes) -> list[ExportFinding]:
    return scan_file(data[i : i + CHUNK] for i in range(0, max(len(data), 1), CHUNK))


# --- documents ----------------------------------------------------------------------------------------------

#: Decompressed content (PDF streams, members of Office/OFD packages) scanned per file; more than this is a
#: finding (a compression bomb or not, the scanner cannot vouch for what it did not read).
MAX_INFLATED = 64 << 20
TEXT_TYPES = ("text/", "application/json", "application/xml")
#: ZIP packages of XML whose members are read (anything in them that is not text makes the file unscannable).
XML_PACKAGES = frozenset({
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation", "application/ofd"})
OLE_TYPES = frozenset({"application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
                       "application/wps-office.wps", "application/wps-office.et", "application/wps-office.dps"})


def _is_gzip_at(data: bytes, at: int) -> bool:
    """A gzip header that really starts a deflate stream (two signature bytes also occur by chance)."""
    if at + 10 > len(data) or data[at + 3] & 0xE0:
        return False
    inflater = zlib.decompressobj(31)
    try:
        out = inflater.decompress(data[at : at + (1 << 16)], 256)
    except zlib.error:
        return False
    return inflater.eof or len(out) >= 64


def has_archive(data: bytes) -> bool:
    """Whether an archive or compressed stream starts anywhere in ``data``."""
    if data.startswith(_COMPRESSED) or _ARCHIVE_ANYWHERE.search(data):
        return True
    return any(_is_gzip_at(data, m.start()) for m in _GZIP.finditer(data))


def decode_text(data: bytes) -> str:
    """Text of a file: UTF-8 or UTF-16 by byte-order mark, UTF-16 by its NUL pattern, else UTF-8, else GB18030."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    sample = data[:8192]
    if sample and sample.count(0) * 4 >= len(sample):
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        return data.decode("utf-16-le" if odd >= even else "utf-16-be", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def _binary_texts(data: bytes) -> Iterator[str]:
    """Readings of a binary file's bytes as text: 8-bit (GB18030) and UTF-16 in both byte orders and
    alignments, so that strings stored by Office (UTF-16LE) are seen too."""
    yield data.decode("gb18030", errors="replace")
    for codec in ("utf-16-le", "utf-16-be"):
        for shift in (0, 1):
            part = data[shift:]
            yield part[: len(part) // 2 * 2].decode(codec, errors="replace")


def _text_findings(texts: Iterable[str], where: str = "") -> list[ExportFinding]:
    out: list[ExportFinding] = []
    for text in texts:
        for m in scan_text(text):
            out.append(ExportFinding(Finding.IDENTIFIER, f"文件中含有{m.kind.label}（{m.masked}）。",
                                     f"{where}offset:{m.offset}"))
    return out


_PDF_STREAM = re.compile(rb"(?<![A-Za-z])stream(?:\r\n|\r|\n)?(.*?)endstream", re.S)
_PDF_FILTER = re.compile(rb"/Filter\s*(\[[^\]]*\]|/[A-Za-z0-9]+)")
_PDF_HEX_STRING = re.compile(rb"<([0-9A-Fa-f\s]{4,})>")
_EOL = re.compile(rb"(\r\n|\r|\n)\Z")


def _pdf_decode(body: bytes, filters: list[bytes], budget: int) -> bytes | None:
    """A stream's body through its filters; None when a filter is not one the scanner reads or fails."""
    out = body
    for f in filters:
        try:
            if f in (b"FlateDecode", b"Fl"):
                inflater = zlib.decompressobj()
                out = inflater.decompress(out, budget + 1)
                if not inflater.eof and len(out) <= budget:
                    return None
            elif f in (b"ASCIIHexDecode", b"AHx"):
                digits = re.sub(rb"\s", b"", out).split(b">", 1)[0]
                out = bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode("ascii"))
            elif f in (b"ASCII85Decode", b"A85"):
                text = re.sub(rb"\s", b"", out)
                text = text[2:] if text.startswith(b"<~") else text
                out = base64.a85decode(text.split(b"~>", 1)[0])
            else:
                return None
        except (zlib.error, ValueError, UnicodeDecodeError):
            return None
    return out


def _pdf_strings(data: bytes) -> Iterator[str]:
    """Hex strings (``<3133…>``) of PDF syntax, decoded: text drawn or stored that way is read too."""
    for m in _PDF_HEX_STRING.finditer(data):
        digits = re.sub(rb"\s", b"", m.group(1))
        raw = bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode("ascii"))
        yield decode_text(raw)


def _scan_pdf(data: bytes) -> list[ExportFinding]:
    findings: list[ExportFinding] = []
    budget = MAX_INFLATED
    skeleton: list[bytes] = []
    last = 0
    for n, m in enumerate(_PDF_STREAM.finditer(data)):
        head = data[last : m.start()]
        skeleton.append(head)
        last = m.end()
        body = _EOL.sub(b"", m.group(1))
        obj = head[head.rfind(b"obj") + 3 :] if b"obj" in head else head[-2048:]
        if re.search(rb"/Subtype\s*/Image", obj):
            findings.append(_unscannable("PDF 中含有图片，图片中的文字无法自动识别。", f"stream:{n}"))
            continue
        spec = _PDF_FILTER.search(obj)
        filters = re.findall(rb"/([A-Za-z0-9]+)", spec.group(1)) if spec else []
        decoded = _pdf_decode(body, filters, budget)
        if decoded is None:
            findings.append(_unscannable("PDF 中有无法解码的内容流（加密、图像编码或不支持的压缩方式），无法完整扫描。",
                                         f"stream:{n}"))
            continue
        budget -= len(decoded)
        if budget < 0:
            findings.append(_unscannable("PDF 解压后的内容过大，无法完整扫描。"))
            return findings
        if has_archive(decoded):
            findings.append(_unscannable("PDF 中嵌有压缩包或归档文件，无法自动扫描。", f"stream:{n}"))
        findings.extend(_text_findings([decode_text(decoded), *_pdf_strings(decoded)], f"stream:{n}/"))
    skeleton.append(data[last:])
    rest = b"".join(skeleton)
    if has_archive(rest):
        findings.append(_unscannable("PDF 文件中（含文件末尾之后）夹带压缩包或归档文件，无法自动扫描。"))
    findings.extend(_text_findings([rest.decode("gb18030", errors="replace"), *_pdf_strings(rest)]))
    findings.append(ExportFinding(
        Finding.MANUAL_REVIEW, "PDF 中的文字可能以字体编码存储，自动扫描不能保证发现全部标识符，请人工审核。"))
    return findings


_XML_TAG = re.compile(r"<[^>]*>")


def _scan_package(data: bytes) -> list[ExportFinding]:
    """An Office Open XML / ODF / OFD package: every member must be XML or text and is scanned (as it is and
    with its tags removed, so that a number split over runs is seen whole); anything else is unscannable."""
    findings: list[ExportFinding] = []
    budget = MAX_INFLATED
    eocd = data.rfind(b"PK\x05\x06")
    if eocd < 0 or eocd + 22 > len(data) or eocd + 22 + int.from_bytes(data[eocd + 20 : eocd + 22], "little") \
            != len(data):
        return [_unscannable("文件包结构异常（文件末尾夹带其他内容），无法自动扫描。")]
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            members = [i for i in z.infolist() if not i.is_dir()]
            if data.count(b"PK\x03\x04") != len(z.infolist()):
                return [_unscannable("文件包中夹带其他压缩内容，无法自动扫描。")]
            for info in members:
                if info.file_size > budget:
                    return [_unscannable("文件包解压后的内容过大，无法完整扫描。")]
                with z.open(info) as fh:
                    content = fh.read(budget + 1)
                budget -= len(content)
                if budget < 0:
                    return [_unscannable("文件包解压后的内容过大，无法完整扫描。")]
                where = f"member:{info.filename}/"
                if has_archive(content):
                    findings.append(_unscannable("文件包中嵌有压缩包或归档文件，无法自动扫描。", where))
                    continue
                if b"\x00" in content[:8192] and not content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                    findings.append(_unscannable("文件包中含有图片或二进制内容，无法自动扫描。", where))
                    continue
                text = decode_text(content)
                if "\ufffd" in text and not info.filename.lower().endswith((".xml", ".rels")):
                    findings.append(_unscannable("文件包中含有图片或二进制内容，无法自动扫描。", where))
                    continue
                findings.extend(_text_findings([text, _XML_TAG.sub("", text)], where))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, NotImplementedError, ValueError, OSError,
            EOFError, zlib.error):
        return [_unscannable("文件包无法解开（加密或已损坏），无法自动扫描。")]
    return findings


def scan_document(data: bytes, media_type: str) -> list[ExportFinding]:
    """Identifier scan of an uploaded file by its type. Only decodable text counts as scanned: text files
    (UTF-8, GB18030, UTF-16) and XML packages (docx/xlsx/pptx/ODF/OFD) are read whole, after NFKC
    normalisation and again with separators inside digit runs removed; PDF content streams are decoded
    (Flate, ASCIIHex, ASCII85) and a stream that cannot be is ``unscannable``, as are images, OLE files
    (doc/xls/ppt/WPS), archives, and an archive signature anywhere in a file. Binary files are still read
    for identifiers (8-bit and UTF-16) so that the reviewer learns what was seen."""
    media_type = (media_type or "").split(";")[0].strip().lower()
    findings: list[ExportFinding] = []
    if media_type.startswith(TEXT_TYPES):
        if has_archive(data):
            findings.append(_unscannable("文件中夹带压缩包或归档文件，无法自动扫描。"))
        findings += _text_findings([decode_text(data)])
    elif media_type in XML_PACKAGES:
        findings += _scan_package(data)
    elif media_type == "application/pdf":
        findings += _scan_pdf(data)
    else:
        if media_type.startswith("image/"):
            findings.append(_unscannable("图片中的文字无法自动识别，不能作为可扫描的内容导出。"))
        elif media_type in OLE_TYPES:
            findings.append(_unscannable(
                "Word/Excel/PowerPoint 97-2003 或 WPS 格式（OLE 复合文件）无法完整解析扫描，"
                "请另存为 docx/xlsx 或文本格式。"))
        else:
            findings.append(_unscannable("文件为压缩、归档或未知的二进制格式，无法自动扫描，请提交可读的明文格式。"))
        if (media_type.startswith("image/") or media_type in OLE_TYPES) and has_archive(data):
            findings.append(_unscannable("文件中夹带压缩包或归档文件，无法自动扫描。"))
        findings += _text_findings(_binary_texts(data))
    seen: set[tuple[Finding, str]] = set()
    out: list[ExportFinding] = []
    for f in findings:
        key = (f.code, f.detail if f.code is not Finding.UNSCANNABLE else f.detail + f.where)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
