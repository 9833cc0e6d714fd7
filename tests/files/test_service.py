"""Attachment service: upload rows and audit, refusal leaves no trace, object-level read permission."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pubdata.audit import Actor
from pubdata.audit.models import AuditEvent
from pubdata.config import Settings
from pubdata.errors import NotAuthenticated, NotFound, ValidationFailed
from pubdata.files import service as files
from pubdata.files.models import StoredFile
from pubdata.identity.roles import Role
from tests.factories import actor_of, make_user
from tests.files import samples


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path, secret_key="x", upload_max_bytes=64 * 1024)


def upload(db, actor, data: bytes, name: str, settings: Settings) -> StoredFile:  # type: ignore[no-untyped-def]
    return files.store_upload(db, actor=actor, stream=io.BytesIO(data), filename=name, declared_type=None,
                              settings=settings)


def blobs(settings: Settings) -> list[Path]:
    root = settings.var_dir / "files"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_upload_records_who_what_when_and_an_audit_event(db_session, settings):
    user = make_user(db_session, Role.REGISTRATION_SUBJECT)
    row = upload(db_session, actor_of(user), samples.PDF, "C:\\Users\\张三\\合法来源证明.pdf", settings)
    db_session.commit()
    assert row.digest == samples.hexdigest(samples.PDF)
    assert (row.filename, row.media_type, row.size) == ("合法来源证明.pdf", "application/pdf", len(samples.PDF))
    assert (row.uploaded_by_id, row.organisation_id) == (user.id, user.organisation_id)
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.object_type == "stored_file",
                                                        AuditEvent.object_id == str(row.id))).one()
    assert event.tag == "files:file:uploaded" and event.data["digest"] == row.digest


def test_same_content_from_two_organisations_is_one_blob_two_rows(db_session, settings):
    a = make_user(db_session, Role.REGISTRATION_SUBJECT)
    b = make_user(db_session, Role.REGISTRATION_SUBJECT)
    ra = upload(db_session, actor_of(a), samples.PNG, "a.png", settings)
    rb = upload(db_session, actor_of(b), samples.PNG, "b.png", settings)
    db_session.commit()
    assert ra.digest == rb.digest and ra.id != rb.id
    assert len(blobs(settings)) == 1


def test_unverified_organisation_may_upload(db_session, settings):
    user = make_user(db_session, Role.REGISTRATION_SUBJECT, verified=False)
    assert upload(db_session, actor_of(user), samples.PDF, "草稿附件.pdf", settings).id


@pytest.mark.parametrize(("data", "name", "code"), [
    (samples.PDF + b"0" * (64 * 1024), "big.pdf", "file_too_large"),
    (samples.EXE, "innocent.pdf", "file_type_not_allowed"),
    (samples.PNG, "scan.pdf", "file_type_mismatch"),
    (b"", "empty.pdf", "file_empty"),
])
def test_refused_upload_leaves_no_file_no_row_no_event(db_session, settings, data, name, code):
    user = make_user(db_session, Role.REGISTRATION_SUBJECT)
    db_session.commit()
    events_before = db_session.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(ValidationFailed) as info:
        upload(db_session, actor_of(user), data, name, settings)
    assert info.value.errors[0].code == code and info.value.errors[0].field == "file"
    assert blobs(settings) == []
    assert db_session.scalar(select(func.count()).select_from(StoredFile)) == 0
    assert db_session.scalar(select(func.count()).select_from(AuditEvent)) == events_before


def test_anonymous_cannot_upload_or_read(db_session, settings):
    with pytest.raises(NotAuthenticated):
        upload(db_session, Actor.anonymous(), samples.PDF, "a.pdf", settings)
    with pytest.raises(NotAuthenticated):
        files.get_file_meta(db_session, actor=Actor.anonymous(), digest="0" * 64)


def test_other_organisation_cannot_read_but_institution_and_regulator_can(db_session, settings):
    owner = make_user(db_session, Role.REGISTRATION_SUBJECT)
    stranger = make_user(db_session, Role.REGISTRATION_SUBJECT)
    institution = make_user(db_session, Role.REGISTRATION_INSTITUTION)
    regulator = make_user(db_session, Role.REGULATOR)
    row = upload(db_session, actor_of(owner), samples.PDF, "证明.pdf", settings)
    with pytest.raises(NotFound) as info:
        files.get_file_meta(db_session, actor=actor_of(stranger), digest=row.digest)
    assert info.value.code == "file_not_found"
    # "not yours" and "not there" look the same: the store is no oracle for others' documents
    with pytest.raises(NotFound):
        files.get_file_meta(db_session, actor=actor_of(stranger), digest="ab" * 32)
    for reader in (owner, institution, regulator):
        assert files.get_file_meta(db_session, actor=actor_of(reader), digest=row.digest.upper()).id == row.id
    _meta, fh = files.open_blob(db_session, actor=actor_of(institution), digest=row.digest, settings=settings)
    with fh:
        assert fh.read() == samples.PDF


def test_own_organisations_row_is_preferred(db_session, settings):
    a = make_user(db_session, Role.REGISTRATION_INSTITUTION)
    b = make_user(db_session, Role.REGISTRATION_SUBJECT)
    upload(db_session, actor_of(b), samples.PDF, "别人的名字.pdf", settings)
    mine = upload(db_session, actor_of(a), samples.PDF, "我的名字.pdf", settings)
    assert files.get_file_meta(db_session, actor=actor_of(a), digest=mine.digest).filename == "我的名字.pdf"


def test_malformed_digest_is_a_chinese_field_error(db_session):
    user = make_user(db_session, Role.REGISTRATION_SUBJECT)
    with pytest.raises(ValidationFailed) as info:
        files.get_file_meta(db_session, actor=actor_of(user), digest="xyz")
    err = info.value.errors[0]
    assert (err.field, err.code) == ("digest", "invalid_digest") and samples.has_chinese(err.message)


def test_exists(db_session, settings):
    a = make_user(db_session, Role.REGISTRATION_SUBJECT)
    b = make_user(db_session, Role.REGISTRATION_SUBJECT)
    row = upload(db_session, actor_of(a), samples.PDF, "a.pdf", settings)
    assert files.exists(db_session, row.digest)
    assert files.exists(db_session, row.digest.upper())
    assert files.exists(db_session, row.digest, organisation_id=a.organisation_id)
    assert not files.exists(db_session, row.digest, organisation_id=b.organisation_id)
    assert not files.exists(db_session, "cd" * 32)
    assert not files.exists(db_session, "not-a-digest")


@pytest.mark.parametrize(("raw", "clean"), [
    ("/tmp/../证明.pdf", "证明.pdf"),
    ("C:\\fakepath\\报告.docx", "报告.docx"),
    ("invoice\u202efdp.exe", "invoicefdp.exe"),
    ("", "未命名文件"),
    (None, "未命名文件"),
    ("长" * 300 + ".pdf", "长" * 251 + ".pdf"),
])
def test_clean_filename(raw, clean):
    assert files.clean_filename(raw) == clean
