"""Evidence receipts: numbering, Merkle root over the digests in order, uploads, validation, access."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pubdata.audit import Actor
from pubdata.audit.models import AuditEvent
from pubdata.config import Settings
from pubdata.crypto import merkle
from pubdata.errors import NotFound, PermissionDenied, ValidationFailed
from pubdata.evidence import proof
from pubdata.evidence import service as evidence
from pubdata.evidence.models import EvidenceReceipt
from pubdata.evidence.numbers import parse_receipt_no
from pubdata.files.models import StoredFile
from pubdata.files.store import BlobStore
from pubdata.identity.roles import Role
from tests.factories import actor_of, make_user
from tests.files import samples

NUMBER = re.compile(r"CZ-\d{4}-\d{6}-[0-9X]")


def row(name: str, content: bytes) -> dict[str, object]:
    return {"name": name, "sm3": samples.hexdigest(content), "size": len(content)}


def manifest(*rows: dict[str, object]) -> list[evidence.ManifestRow]:
    return evidence.manifest_rows(list(rows))


@pytest.fixture
def subject(db_session):  # type: ignore[no-untyped-def]
    return make_user(db_session, Role.REGISTRATION_SUBJECT, verified=False)


def test_manifest_receipt_has_number_root_time_and_event(db_session, subject):
    contents = [b"first", b"second", b"third"]
    before = dt.datetime.now(dt.UTC)
    receipt = evidence.issue_receipt(db_session, actor=actor_of(subject), title="人口基础信息库",
                                     entries=manifest(*(row(f"文件{i}.csv", c) for i, c in enumerate(contents))))
    db_session.commit()
    assert NUMBER.fullmatch(receipt.receipt_no) and parse_receipt_no(receipt.receipt_no)
    assert receipt.year == receipt.issued_at.astimezone(evidence.BEIJING).year
    assert before <= receipt.issued_at <= dt.datetime.now(dt.UTC)
    digests = [samples.hexdigest(c) for c in contents]
    assert [i.sm3 for i in receipt.items] == digests and [i.position for i in receipt.items] == [0, 1, 2]
    # leaves are the 32-byte digests, in the order given
    assert receipt.merkle_root == merkle.root([bytes.fromhex(d) for d in digests]).hex()
    assert receipt.item_count == 3 and not receipt.is_public
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.object_type == "evidence_receipt")).one()
    from pubdata.ledger import leaf_index_of

    assert receipt.ledger_leaf_index == leaf_index_of(db_session, event)  # provable inclusion (issue 3)
    assert event.tag == "evidence:receipt:issued" and event.object_id == str(receipt.id)
    assert event.data["receipt_no"] == receipt.receipt_no and event.data["merkle_root"] == receipt.merkle_root


def test_order_matters_for_the_root(db_session, subject):
    a, b = row("a", b"A"), row("b", b"B")
    r1 = evidence.issue_receipt(db_session, actor=actor_of(subject), entries=manifest(a, b))
    r2 = evidence.issue_receipt(db_session, actor=actor_of(subject), entries=manifest(b, a))
    assert r1.merkle_root != r2.merkle_root


def test_serials_increase_within_the_year(db_session, subject):
    numbers = [evidence.issue_receipt(db_session, actor=actor_of(subject), entries=manifest(row("x", bytes([i]))))
               for i in range(3)]
    serials = [n.serial for n in numbers]
    assert serials == list(range(serials[0], serials[0] + 3))
    assert len({n.receipt_no for n in numbers}) == 3


def test_a_serial_taken_concurrently_is_retried(db_session, subject, monkeypatch):
    first = evidence.issue_receipt(db_session, actor=actor_of(subject), entries=manifest(row("a", b"a")))
    real_scalar = db_session.scalar
    stale = iter([first.serial - 1])  # as if the other issuer had not committed when we looked

    def scalar(stmt, *args, **kw):  # type: ignore[no-untyped-def]
        value = next(stale, None)
        return value if value is not None else real_scalar(stmt, *args, **kw)

    monkeypatch.setattr(db_session, "scalar", scalar)
    second = evidence.issue_receipt(db_session, actor=actor_of(subject), entries=manifest(row("b", b"b")))
    assert second.serial == first.serial + 1 and [i.name for i in second.items] == ["b"]
    db_session.commit()  # the audit guard is satisfied after the retried savepoint


def test_uploaded_files_are_stored_and_linked(db_session, subject, tmp_path: Path):
    store = BlobStore.from_settings(Settings(var_dir=tmp_path))
    blobs = []
    for data, name in ((samples.PDF, "证明.pdf"), (samples.PNG, "截图.png")):
        with store.writer(filename=name) as w:
            w.write(data)
            blobs.append(evidence.UploadedFile(f"files.{len(blobs)}", w.seal(), name, None))
    entries = [blobs[0], *manifest(row("清单.csv", b"declared only")), blobs[1]]
    receipt = evidence.issue_receipt(db_session, actor=actor_of(subject), entries=entries)
    assert [i.source for i in receipt.items] == ["upload", "manifest", "upload"]
    assert [i.name for i in receipt.items] == ["证明.pdf", "清单.csv", "截图.png"]
    stored = db_session.get(StoredFile, receipt.items[0].stored_file_id)
    assert stored is not None and stored.digest == samples.hexdigest(samples.PDF)
    assert store.has(stored.digest) and receipt.items[1].stored_file_id is None


def test_every_manifest_problem_is_reported_at_once(db_session, subject):
    good = row("a.csv", b"a")
    rows = [
        good,
        {"name": "b.csv", "sm3": "not-hex", "size": 1},
        {"name": "c.csv", "sm3": samples.hexdigest(b"c"), "size": -5},
        {"name": "dup.csv", "sm3": good["sm3"], "size": 1},
        {"name": "", "sm3": samples.hexdigest(b"e"), "size": True},
        "not an object",
    ]
    with pytest.raises(ValidationFailed) as info:
        evidence.issue_receipt(db_session, actor=actor_of(subject), entries=manifest(*rows), title="长" * 201)
    found = {(e.field, e.code) for e in info.value.errors}
    assert found == {
        ("items.1.sm3", "invalid_digest"), ("items.2.size", "invalid_size"), ("items.3.sm3", "duplicate_digest"),
        ("items.4.name", "missing"), ("items.4.size", "invalid_size"), ("items.5", "dict_type"),
        ("title", "string_too_long"),
    }
    assert all(samples.has_chinese(e.message) for e in info.value.errors)
    assert "第 1 项" in next(e.message for e in info.value.errors if e.code == "duplicate_digest")
    assert db_session.scalar(select(func.count()).select_from(EvidenceReceipt)) == 0


def test_more_than_ten_thousand_items_is_refused(db_session, subject):
    rows = [{"name": f"{i}", "sm3": f"{i:064x}", "size": i} for i in range(evidence.MAX_ITEMS + 1)]
    with pytest.raises(ValidationFailed) as info:
        evidence.issue_receipt(db_session, actor=actor_of(subject), entries=manifest(*rows))
    assert [(e.field, e.code) for e in info.value.errors] == [("items", "too_many_items")]


def test_ten_thousand_items_are_accepted(db_session, subject):
    rows = [{"name": f"{i}", "sm3": f"{i:064x}", "size": i} for i in range(evidence.MAX_ITEMS)]
    receipt = evidence.issue_receipt(db_session, actor=actor_of(subject), entries=manifest(*rows))
    assert receipt.item_count == evidence.MAX_ITEMS
    p = evidence.inclusion_proof(db_session, actor=Actor.anonymous(), receipt_no=receipt.receipt_no,
                                 digest=f"{9999:064x}")
    assert p.leaf_index == 9999 and len(p.audit_path) <= 14
    assert proof.verify_inclusion(bytes.fromhex(p.digest), 9999, 10_000, [bytes.fromhex(h) for h in p.audit_path],
                                  bytes.fromhex(receipt.merkle_root))


def test_empty_evidence_is_refused(db_session, subject):
    with pytest.raises(ValidationFailed) as info:
        evidence.issue_receipt(db_session, actor=actor_of(subject), entries=[])
    assert info.value.errors[0].code == "evidence_empty"


def test_system_actor_without_an_organisation_cannot_issue(db_session):
    with pytest.raises(PermissionDenied):
        evidence.issue_receipt(db_session, actor=Actor.system("test"), entries=manifest(row("a", b"a")))


def test_reading_receipts_is_limited_to_the_owner_and_the_institution(db_session, subject):
    stranger = make_user(db_session, Role.REGISTRATION_SUBJECT)
    institution = make_user(db_session, Role.REGISTRATION_INSTITUTION)
    receipt = evidence.issue_receipt(db_session, actor=actor_of(subject), entries=manifest(row("a", b"a")))
    with pytest.raises(NotFound):
        evidence.get_receipt(db_session, actor=actor_of(stranger), receipt_no=receipt.receipt_no)
    for reader in (subject, institution):
        assert evidence.get_receipt(db_session, actor=actor_of(reader), receipt_no=receipt.receipt_no) is receipt
    mine, total = evidence.list_receipts(db_session, actor=actor_of(subject))
    assert total == 1 and mine == [receipt]
    assert evidence.list_receipts(db_session, actor=actor_of(stranger)) == ([], 0)


def test_public_view_hides_names_unless_public(db_session, subject):
    hidden = evidence.issue_receipt(db_session, actor=actor_of(subject), entries=manifest(row("秘密.csv", b"s")))
    shown = evidence.issue_receipt(db_session, actor=actor_of(subject), entries=manifest(row("公开.csv", b"p")),
                                   public=True)
    assert evidence.public_receipt(db_session, actor=Actor.anonymous(), receipt_no=hidden.receipt_no).holder is None
    view = evidence.public_receipt(db_session, actor=Actor.anonymous(), receipt_no=shown.receipt_no)
    assert view.holder == subject.organisation.name


def test_inclusion_proof_verifies_against_the_receipt_root(db_session, subject):
    contents = [f"文件内容{i}".encode() for i in range(7)]
    receipt = evidence.issue_receipt(db_session, actor=actor_of(subject),
                                     entries=manifest(*(row(str(i), c) for i, c in enumerate(contents))))
    for i, c in enumerate(contents):
        p = evidence.inclusion_proof(db_session, actor=Actor.anonymous(), receipt_no=receipt.receipt_no,
                                     digest=samples.hexdigest(c).upper())
        assert (p.leaf_index, p.tree_size) == (i, 7)
        assert proof.verify_inclusion(bytes.fromhex(p.digest), p.leaf_index, p.tree_size,
                                      [bytes.fromhex(h) for h in p.audit_path], bytes.fromhex(receipt.merkle_root))
    with pytest.raises(NotFound) as info:
        evidence.inclusion_proof(db_session, actor=Actor.anonymous(), receipt_no=receipt.receipt_no,
                                 digest=samples.hexdigest(b"not there"))
    assert info.value.code == "digest_not_in_receipt"


def test_lookups_for_other_contexts(db_session, subject):
    receipt = evidence.issue_receipt(db_session, actor=actor_of(subject), entries=manifest(row("a", b"shared")))
    assert evidence.find_receipt(db_session, receipt.receipt_no.lower()) is receipt
    assert evidence.find_receipt(db_session, "CZ-1999-000001-0") is None
    assert evidence.find_receipt(db_session, "garbage") is None
    assert evidence.receipts_with_digest(db_session, samples.hexdigest(b"shared")) == [receipt]
