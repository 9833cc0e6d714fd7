"""Content-addressed blob store on the local file system: a file's name is its SM3 digest.

Layout: ``<var_dir>/files/ab/cd/abcd…`` (64 hex digits; two levels of fan-out keep directories small).
Writing goes through ``BlobWriter``:

1. the first ``types.HEAD`` bytes are kept in memory and the content family decided from them, so a
   disallowed file never touches the disk;
2. the rest is streamed to a private temporary file under ``files/.incoming`` while SM3 and the size are
   computed; crossing the size limit stops the stream and removes the temporary file;
3. ``seal()`` fsyncs it and settles the exact type (ZIP containers are told apart by their member names);
4. ``SealedBlob.commit()`` renames it atomically to its digest name (same file system, so ``os.replace``
   is atomic) and fsyncs the directory. If the digest is already present the copy is dropped: identical
   content is stored once.

The temporary directory sits inside the store rather than in each ``ab/cd`` directory because the final
directory is only known once the whole file has been hashed; it is on the same file system, which is what
atomicity needs. A blob committed whose database row then fails to commit is an orphan: harmless (same
content, same name, reused by the next identical upload) and never served, since reads go through rows.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self

from pubdata.config import Settings
from pubdata.crypto import sm3
from pubdata.errors import ValidationFailed
from pubdata.files import types

HEX64 = re.compile(r"[0-9a-f]{64}")
INCOMING = ".incoming"


def human_size(n: int) -> str:
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20} MiB"
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MiB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.1f} KiB"
    return f"{n} 字节"


def too_large(field: str, limit: int) -> ValidationFailed:
    return ValidationFailed.single(field, "file_too_large", f"文件超过大小上限 {human_size(limit)}，未予保存。")


@dataclass(frozen=True)
class BlobStore:
    root: Path
    max_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> BlobStore:
        return cls(root=settings.var_dir / "files", max_bytes=settings.upload_max_bytes)

    def path_for(self, digest_hex: str) -> Path:
        if not HEX64.fullmatch(digest_hex):
            raise ValueError(f"not an SM3 hex digest: {digest_hex!r}")
        return self.root / digest_hex[:2] / digest_hex[2:4] / digest_hex

    def has(self, digest_hex: str) -> bool:
        return self.path_for(digest_hex).is_file()

    def open(self, digest_hex: str) -> BinaryIO:
        return self.path_for(digest_hex).open("rb")

    def writer(self, *, filename: str, declared_type: str | None = None, field: str = "file") -> BlobWriter:
        """Start receiving one file; refuses a disallowed extension before any content is read."""
        return BlobWriter(self, filename=filename, declared_type=declared_type, field=field)

    def clean_incoming(self, *, older_than_seconds: float = 86400) -> int:
        """Remove temporary files a crashed process left behind (for the periodic sweep); returns the count.

        Only old files: a younger one may belong to an upload still streaming in.
        """
        incoming = self.root / INCOMING
        if not incoming.is_dir():
            return 0
        cutoff = time.time() - older_than_seconds
        removed = 0
        for path in incoming.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        return removed


class BlobWriter:
    """Receives one file in chunks; see the module docstring for the steps. Use as a context manager:
    leaving the block by an exception removes whatever was written."""

    def __init__(self, store: BlobStore, *, filename: str, declared_type: str | None, field: str) -> None:
        self.store = store
        self.field = field
        self.declared_type = declared_type
        self.claimed = types.check_extension(filename, field=field)
        self.size = 0
        self._hash = sm3.new()
        self._head = bytearray()
        self._family: str | None = None
        self._type: types.FileType | None = None
        self._fh: BinaryIO | None = None
        self._tmp: Path | None = None
        self._done = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is not None:
            self.abort()

    def write(self, data: bytes) -> None:
        if self._done:
            raise RuntimeError("blob writer already finished")
        if not data:
            return
        self.size += len(data)
        if self.size > self.store.max_bytes:
            self.abort()
            raise too_large(self.field, self.store.max_bytes)
        self._hash.update(data)
        if self._family is None:
            self._head += data
            if len(self._head) >= types.HEAD:
                self._decide(complete=False)
            return
        if self._family == "text" and b"\x00" in data:
            self.abort()
            raise types.not_allowed(self.field, "文件内容含二进制数据，不是文本文件。")
        assert self._fh is not None
        self._fh.write(data)

    def _decide(self, *, complete: bool) -> None:
        """Settle the family from the head, then (only then) open the temporary file and write the head."""
        head = bytes(self._head)
        family = types.sniff_family(head, complete=complete)
        if family is None:
            self.abort()
            raise types.not_allowed(self.field, f"文件内容不是允许的类型（{types.ALLOWED_SUMMARY}）。")
        try:
            self._type = types.resolve(family, head, claimed=self.claimed, declared_type=self.declared_type,
                                       field=self.field)
        except ValidationFailed:
            self.abort()
            raise
        self._family = family
        incoming = self.store.root / INCOMING
        incoming.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=incoming, prefix="up-")
        self._tmp = Path(name)
        self._fh = os.fdopen(fd, "wb")
        self._fh.write(head)
        self._head = bytearray()

    def seal(self) -> SealedBlob:
        """All content received: fsync, settle the exact type, and hand over a blob ready to commit."""
        if self._done:
            raise RuntimeError("blob writer already finished")
        if self.size == 0:
            self.abort()
            raise ValidationFailed.single(self.field, "file_empty", "文件是空的（0 字节），请选择有内容的文件。")
        if self._family is None:
            self._decide(complete=True)
        assert self._fh is not None and self._tmp is not None
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            if self._type is None:  # ZIP family: look at the members now that the file is complete
                self._type = types.resolve_zip(self._tmp, claimed=self.claimed, field=self.field)
        except BaseException:
            self.abort()
            raise
        self._done = True
        return SealedBlob(store=self.store, tmp=self._tmp, digest=self._hash.digest().hex(), size=self.size,
                          media_type=self._type.media_type)

    def abort(self) -> None:
        """Drop everything written so far; idempotent."""
        self._done = True
        if self._fh is not None:
            with contextlib.suppress(OSError):
                self._fh.close()
        if self._tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                self._tmp.unlink()
            self._tmp = None


@dataclass
class SealedBlob:
    """A complete, checked file on the temporary side of the store. ``commit()`` or ``discard()`` it."""

    store: BlobStore
    tmp: Path
    digest: str
    size: int
    media_type: str
    committed: bool = field(default=False)

    def commit(self) -> Path:
        final = self.store.path_for(self.digest)
        if not self.committed:
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.is_file() and final.stat().st_size == self.size:
                self.tmp.unlink(missing_ok=True)  # identical content already stored: keep one copy
            else:
                os.replace(self.tmp, final)
                _fsync_dir(final.parent)
            self.committed = True
        return final

    def discard(self) -> None:
        """Remove the temporary file unless committed; safe to call more than once."""
        if not self.committed:
            self.tmp.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    """Make the rename durable (POSIX); not every platform can open a directory."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
