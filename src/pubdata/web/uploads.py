"""Streaming multipart/form-data straight into the attachment store.

Starlette's form parser spools every file part to a temporary file of unbounded size before the route
runs, so an oversized or disallowed upload would be written in full before we could refuse it. Here the
request body is parsed as it arrives (python-multipart, push parser) and each file part goes directly
into a ``BlobWriter``: the type is decided from the first bytes, the size is checked on every chunk, and a
refusal stops reading the request and leaves nothing behind. Routes get sealed blobs back and commit
them (or ``ReceivedForm.discard()`` them) after the service call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from pubdata.errors import DomainError, ValidationFailed
from pubdata.files.service import clean_filename
from pubdata.files.store import BlobStore, BlobWriter, SealedBlob, too_large

#: Room for multipart boundaries, part headers and small text fields around the files.
OVERHEAD = 1 << 20


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


def bad_multipart() -> DomainError:
    return DomainError("上传的表单数据不完整或格式不正确，请重新上传。", code="invalid_multipart")


@dataclass
class FormField:
    name: str
    value: str


@dataclass
class FormFile:
    name: str
    filename: str
    content_type: str | None
    blob: SealedBlob
    #: The field path used in error messages, e.g. ``file`` or ``files.2``.
    error_field: str


@dataclass
class ReceivedForm:
    parts: list[FormField | FormFile] = field(default_factory=list)

    def files(self, name: str) -> list[FormFile]:
        return [p for p in self.parts if isinstance(p, FormFile) and p.name == name]

    def value(self, name: str) -> str | None:
        values = [p.value for p in self.parts if isinstance(p, FormField) and p.name == name]
        return values[-1] if values else None

    def discard(self) -> None:
        """Remove every blob not committed by the service; call it in a ``finally``."""
        for part in self.parts:
            if isinstance(part, FormFile):
                part.blob.discard()


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class _Receiver:
    """python-multipart callbacks: file parts into blob writers, text parts into bounded buffers."""

    def __init__(self, store: BlobStore, *, file_fields: frozenset[str], max_files: int,
                 error_field: Callable[[str, int], str], max_field_bytes: int, max_fields: int) -> None:
        self.store = store
        self.file_fields = file_fields
        self.max_files = max_files
        self.error_field = error_field
        self.max_field_bytes = max_field_bytes
        self.max_fields = max_fields
        self.form = ReceivedForm()
        self.ended = False
        self._headers: dict[bytes, bytes] = {}
        self._header_name = b""
        self._header_value = b""
        self._name = ""
        self._filename = ""
        self._content_type: str | None = None
        self._writer: BlobWriter | None = None
        self._buffer: bytearray | None = None
        self._files = 0
        self._fields = 0
        self._field_bytes = 0

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self.on_part_begin, "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end, "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value, "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished, "on_end": self.on_end,
        }

    def on_part_begin(self) -> None:
        self._headers = {}
        self._writer, self._buffer = None, None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_name.strip().lower()] = self._header_value.strip()
        self._header_name, self._header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if b"name" not in options:
            raise bad_multipart()
        self._name = _decode(options[b"name"])
        ctype = self._headers.get(b"content-type")
        self._content_type = _decode(ctype) if ctype else None
        if b"filename" in options:
            if self._name not in self.file_fields:
                raise ValidationFailed.single(self._name, "unexpected_file", "此处不接受上传文件。")
            if self._files >= self.max_files:
                raise ValidationFailed.single(self._name, "too_many_files",
                                              f"一次最多上传 {self.max_files} 个文件。")
            self._filename = clean_filename(_decode(options[b"filename"]))
            self._writer = self.store.writer(filename=self._filename, declared_type=self._content_type,
                                             field=self.error_field(self._name, self._files))
            self._files += 1
        else:
            self._fields += 1
            if self._fields > self.max_fields:
                raise ValidationFailed.single(self._name, "too_many_fields", "表单字段过多。")
            self._buffer = bytearray()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._writer is not None:
            self._writer.write(data[start:end])
        elif self._buffer is not None:
            self._buffer += data[start:end]
            self._field_bytes += end - start
            if self._field_bytes > self.max_field_bytes:
                raise ValidationFailed.single(self._name, "field_too_large",
                                              f"表单文字内容过长（上限 {self.max_field_bytes} 字节）。")

    def on_part_end(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            blob = writer.seal()
            self.form.parts.append(FormFile(self._name, self._filename, self._content_type, blob, writer.field))
        elif self._buffer is not None:
            self.form.parts.append(FormField(self._name, _decode(bytes(self._buffer))))
            self._buffer = None

    def on_end(self) -> None:
        self.ended = True

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()
        self.form.discard()


async def receive_multipart(
    request: Request,
    *,
    store: BlobStore,
    file_fields: frozenset[str],
    max_files: int,
    error_field: Callable[[str, int], str],
    max_field_bytes: int = 64 << 10,
    max_fields: int = 20,
) -> ReceivedForm:
    """Parse the request body as it streams in; file parts are checked and sealed in the store.

    ``max_field_bytes`` bounds all text fields together, ``max_files`` the file parts (each within the
    store's size limit); a body that cannot fit these is refused from its Content-Length alone.
    """
    ctype, params = parse_options_header(request.headers.get("content-type"))
    if ctype != b"multipart/form-data" or not params.get(b"boundary"):
        raise UnsupportedMediaType("请以 multipart/form-data 方式上传文件。")
    first_file_field = error_field(next(iter(sorted(file_fields))), 0)
    max_body = max_files * store.max_bytes + max_field_bytes + OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_body:
        # Refuse at once, before reading anything: the upload cannot fit whatever it contains.
        raise too_large(first_file_field, store.max_bytes)
    receiver = _Receiver(store, file_fields=file_fields, max_files=max_files, error_field=error_field,
                         max_field_bytes=max_field_bytes, max_fields=max_fields)
    try:
        parser = MultipartParser(params[b"boundary"], receiver.callbacks())  # type: ignore[arg-type]
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_body:
                raise too_large(first_file_field, store.max_bytes)
            # Hashing and disk writes happen in the callbacks: keep them off the event loop.
            await run_in_threadpool(parser.write, chunk)
        await run_in_threadpool(parser.finalize)
        if not receiver.ended:  # the client stopped mid-way: nothing half-received is kept
            raise bad_multipart()
    except FormParserError:
        receiver.abort()
        raise bad_multipart() from None
    except BaseException:
        receiver.abort()
        raise
    return receiver.form
