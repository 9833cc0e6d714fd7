"""The blob store: content addressing, atomic writes, refusal before storing, type by magic bytes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pubdata.errors import ValidationFailed
from pubdata.files.store import INCOMING, BlobStore
from tests.files import samples


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(root=tmp_path / "files", max_bytes=64 * 1024)


def files_on_disk(store: BlobStore) -> list[Path]:
    return [p for p in store.root.rglob("*") if p.is_file()] if store.root.exists() else []


def put(store: BlobStore, data: bytes, filename: str, chunk: int = 1000, declared: str | None = None):  # type: ignore[no-untyped-def]
    with store.writer(filename=filename, declared_type=declared) as w:
        for i in range(0, len(data), chunk):
            w.write(data[i:i + chunk])
        return w.seal()


def refused(store: BlobStore, data: bytes, filename: str, **kw) -> ValidationFailed:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as info:
        put(store, data, filename, **kw)
    assert files_on_disk(store) == [], "a refused file must leave nothing on disk"
    err = info.value.errors[0]
    assert err.field == "file" and samples.has_chinese(err.message)
    return info.value


def test_blob_is_named_by_its_sm3_digest_in_two_level_fanout(store):
    blob = put(store, samples.PDF, "证明.pdf")
    digest = samples.hexdigest(samples.PDF)
    assert (blob.digest, blob.size, blob.media_type) == (digest, len(samples.PDF), "application/pdf")
    final = store.root / digest[:2] / digest[2:4] / digest
    assert not final.exists(), "nothing appears under the digest name before commit"
    assert blob.commit() == final
    assert final.read_bytes() == samples.PDF
    assert list((store.root / INCOMING).iterdir()) == []


def test_identical_content_is_stored_once(store):
    a = put(store, samples.PNG, "a.png")
    b = put(store, samples.PNG, "b.png")
    a.commit()
    b.commit()
    assert a.digest == b.digest
    assert files_on_disk(store) == [store.path_for(a.digest)]


def test_large_file_over_many_chunks_hashes_the_whole_stream(tmp_path):
    store = BlobStore(root=tmp_path / "files", max_bytes=5 << 20)
    data = samples.PDF + bytes(range(256)) * 12_000  # ~3 MiB
    blob = put(store, data, "big.pdf", chunk=65536)
    assert blob.digest == samples.hexdigest(data)
    assert blob.commit().read_bytes() == data


def test_an_interrupted_write_leaves_nothing(store):
    with pytest.raises(RuntimeError), store.writer(filename="x.pdf") as w:
        w.write(samples.PDF + b"\x00" * 9000)  # past the head: a temporary file exists now
        assert len(list((store.root / INCOMING).iterdir())) == 1
        raise RuntimeError("client went away")
    assert files_on_disk(store) == []


def test_discarding_a_sealed_blob_removes_it(store):
    blob = put(store, samples.PDF, "x.pdf")
    blob.discard()
    assert files_on_disk(store) == []


def test_oversized_file_is_refused_while_streaming(store):
    err = refused(store, samples.PDF + b"0" * (64 * 1024), "big.pdf", chunk=4096)
    assert err.errors[0].code == "file_too_large" and "64" in err.errors[0].message


def test_size_exactly_at_the_limit_is_accepted(store):
    data = samples.PDF + b"0" * (store.max_bytes - len(samples.PDF))
    assert put(store, data, "limit.pdf").size == store.max_bytes


def test_empty_file_is_refused(store):
    assert refused(store, b"", "empty.pdf").errors[0].code == "file_empty"


@pytest.mark.parametrize("data", [samples.EXE, b"\x7fELF\x02\x01\x01" + b"\x00" * 100, b"GIF89a" + b"\x00" * 50])
def test_disallowed_content_is_refused_whatever_its_name(store, data):
    for name in ("report.pdf", "report", "data.csv"):
        err = refused(store, data, name)
        assert err.errors[0].code in {"file_type_not_allowed", "file_type_mismatch"}


def test_disallowed_extension_is_refused_before_reading_content(store):
    with pytest.raises(ValidationFailed) as info:
        store.writer(filename="setup.exe")
    assert info.value.errors[0].code == "file_type_not_allowed"
    assert ".exe" in info.value.errors[0].message


def test_pdf_name_with_png_content_is_a_mismatch(store):
    err = refused(store, samples.PNG, "扫描件.pdf")
    assert err.errors[0].code == "file_type_mismatch"
    assert "PNG" in err.errors[0].message and ".pdf" in err.errors[0].message


@pytest.mark.parametrize(("data", "name", "media_type"), [
    (samples.PDF, "a.PDF", "application/pdf"),
    (samples.PNG, "a.png", "image/png"),
    (samples.PNG, "无扩展名", "image/png"),
    (samples.JPEG, "a.jpeg", "image/jpeg"),
    (samples.JPEG, "a.jpg", "image/jpeg"),
    (samples.OFD, "公文.ofd", "application/ofd"),
    (samples.OFD, "公文", "application/ofd"),
    (samples.DOCX, "a.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (samples.XLSX, "a.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (samples.DOCX, "a.zip", "application/zip"),
    (samples.PLAIN_ZIP, "a.zip", "application/zip"),
    (samples.zip_with("content.xml", mimetype="application/vnd.oasis.opendocument.text"), "a.odt",
     "application/vnd.oasis.opendocument.text"),
    (samples.OLE, "旧版.doc", "application/msword"),
    (samples.OLE, "表格.et", "application/wps-office.et"),
    (samples.CSV_UTF8, "a.csv", "text/csv"),
    (samples.CSV_GBK, "a.csv", "text/csv"),
    (samples.JSON_DOC, "a.json", "application/json"),
    (b"<?xml version='1.0'?><a/>", "a.xml", "application/xml"),
    ("说明".encode(), "readme.txt", "text/plain"),
])
def test_types_are_recognised_from_content(store, data, name, media_type):
    assert put(store, data, name).media_type == media_type


def test_text_without_extension_takes_a_text_declared_type(store):
    assert put(store, samples.CSV_UTF8, "数据", declared="text/csv").media_type == "text/csv"
    assert put(store, samples.CSV_UTF8, "数据2", declared="application/pdf").media_type == "text/plain"


@pytest.mark.parametrize(("data", "name"), [
    (samples.PLAIN_ZIP, "a.docx"),
    (samples.DOCX, "a.ofd"),
    (samples.PDF, "a.zip"),
    (samples.OLE, "a.pdf"),
    (samples.CSV_UTF8, "a.json"),
    (samples.CSV_UTF8, "a.png"),
    (samples.PDF, "a.csv"),
])
def test_extension_must_agree_with_content(store, data, name):
    assert refused(store, data, name).errors[0].code == "file_type_mismatch"


def test_ole_file_needs_an_office_extension(store):
    assert refused(store, samples.OLE, "noext").errors[0].code == "file_type_not_allowed"


def test_corrupt_zip_is_refused(store):
    assert refused(store, b"PK\x03\x04" + b"\x01" * 500, "a.zip").errors[0].code == "file_corrupt"


def test_binary_after_a_text_looking_head_is_refused(store):
    data = b"a,b\n" * 3000 + b"\x00\x01binary"
    assert refused(store, data, "a.csv", chunk=8192).errors[0].code == "file_type_not_allowed"


def test_path_for_rejects_non_digests(store):
    with pytest.raises(ValueError):
        store.path_for("../../etc/passwd")


def test_clean_incoming_removes_only_old_leftovers(store):
    incoming = store.root / INCOMING
    incoming.mkdir(parents=True)
    old, fresh = incoming / "up-old", incoming / "up-fresh"
    old.write_bytes(b"x")
    fresh.write_bytes(b"y")
    a_day_ago = time.time() - 2 * 86400
    os.utime(old, (a_day_ago, a_day_ago))
    assert store.clean_incoming() == 1
    assert not old.exists() and fresh.exists()
    assert BlobStore(root=store.root / "nowhere", max_bytes=1).clean_incoming() == 0
