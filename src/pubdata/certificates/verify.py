"""Public verification: look a certificate up by its number, or check an uploaded certificate JSON or PDF.

The lookup is the hot path: one indexed query (certificate by number, its document and registration code),
JSON parsing of the stored signed text, and a signature check that is cached per exact bytes (see
``signing.VerificationCache``). No signing, no PDF work, no writes.

What is shown is the signed document's content, so a row edited behind the platform's back shows either a
failed signature or a record that no longer matches what was signed — never silently different values.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.certificates import signing
from pubdata.certificates.document import DocumentError, Envelope, envelope_from_json, envelope_from_stored, sniff
from pubdata.certificates.models import CertificateDocument
from pubdata.certificates.status import PublicStatus, public_status
from pubdata.crypto import sm3
from pubdata.crypto.keys import PublicKey
from pubdata.errors import NotFound
from pubdata.registry import codes
from pubdata.registry.models import Certificate, Registration


@dataclass
class PublicCertificate:
    """Everything the public may see about one certificate (and nothing else)."""

    number: str
    registration_code: str
    subject_name: str
    subject_uscc: str
    data_name: str
    registration_type: str
    registration_type_label: str
    summary: str
    issued_on: dt.date
    valid_from: dt.date
    valid_until: dt.date
    issuer_name: str
    issuer_uscc: str | None
    certificate_version: int
    issue_kind_label: str
    supersedes: str | None
    superseded_by: str | None
    ledger_event_id: int | None
    ledger_leaf_index: int | None
    verify_url: str
    status: PublicStatus
    signature_valid: bool
    record_matches: bool
    problems: list[str] = field(default_factory=list)
    key_id: str | None = None
    key_name: str | None = None
    document_sm3: str | None = None
    pdf_sm3: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number, "registration_code": self.registration_code, "subject_name": self.subject_name,
            "subject_uscc": self.subject_uscc, "data_name": self.data_name,
            "registration_type": self.registration_type, "registration_type_label": self.registration_type_label,
            "summary": self.summary, "issued_on": self.issued_on, "valid_from": self.valid_from,
            "valid_until": self.valid_until, "issuer_name": self.issuer_name, "issuer_uscc": self.issuer_uscc,
            "certificate_version": self.certificate_version, "issue_kind": self.issue_kind_label,
            "supersedes": self.supersedes, "superseded_by": self.superseded_by,
            "ledger_event_id": self.ledger_event_id, "ledger_leaf_index": self.ledger_leaf_index,
            "verify_url": self.verify_url, "status": self.status.label, "status_code": self.status.code,
            "status_date": self.status.date, "status_note": self.status.note,
            "signature_valid": self.signature_valid, "record_matches": self.record_matches,
            "problems": self.problems, "signature_algorithm": "SM2-SM3", "key_id": self.key_id,
            "key_name": self.key_name, "document_sm3": self.document_sm3, "pdf_sm3": self.pdf_sm3,
        }


def normalise_number(raw: str) -> str:
    return (raw or "").strip().upper()


def _not_found(number: str) -> NotFound:
    if not codes.is_valid(number) or not number.startswith(codes.CERTIFICATE):
        return NotFound(f"凭证编号“{number[:60]}”格式不正确（应为 GSPZ-年份-序号-校验位），请核对后重试。",
                        code="certificate_not_found")
    return NotFound(f"未找到编号为 {number} 的电子凭证，请核对编号。", code="certificate_not_found")


def _row(session: Session, number: str) -> tuple[Certificate, CertificateDocument | None, str | None]:
    stmt = (select(Certificate, CertificateDocument, Registration.code)
            .join(Registration, Registration.id == Certificate.registration_id)
            .outerjoin(CertificateDocument, CertificateDocument.certificate_id == Certificate.id)
            .where(Certificate.number == number))
    row = session.execute(stmt).first()
    if row is None:
        raise _not_found(number)
    return row[0], row[1], row[2]


def lookup(session: Session, number: str, *, keys: dict[str, PublicKey], today: dt.date | None = None
           ) -> PublicCertificate:
    """The public view of certificate ``number``; ``NotFound`` (Chinese) for an unknown or malformed one."""
    number = normalise_number(number)
    if not codes.CODE_RE.match(number):
        raise _not_found(number)
    cert, doc, reg_code = _row(session, number)
    superseded_by = None
    if doc is not None and doc.superseded_by_id is not None:
        superseded_by = session.scalar(select(Certificate.number).where(Certificate.id == doc.superseded_by_id))
    if doc is None:
        return _unsigned(session, cert, reg_code, superseded_by, today)
    envelope = envelope_from_stored(doc.signed_json, doc.key_name, doc.key_id, doc.signature)
    checked = signing.check(envelope, keys)
    mismatches = _mismatches(envelope, doc, cert, reg_code)
    problems = ([] if checked.valid else [checked.reason or "签名无效。"]) + mismatches
    view = _view(envelope, cert, doc, superseded_by, signature_valid=checked.valid, record_matches=not mismatches,
                 problems=problems)
    view.status = public_status(session, cert, doc, valid_from=view.valid_from, valid_until=view.valid_until,
                                superseded_by=superseded_by, today=today)
    return view


def _mismatches(envelope: Envelope, doc: CertificateDocument, cert: Certificate, reg_code: str | None) -> list[str]:
    """Differences between what was signed and the rows now in the database (an edit behind our back)."""
    c = envelope.certificate
    out = []
    if sm3.hexdigest(doc.signed_json.encode("utf-8")) != doc.document_sm3:
        out.append("凭证签名文本与签发时记录的 SM3 摘要不一致。")
    pairs = {"凭证编号": (c.get("number"), cert.number), "发证日期": (c.get("issued_on"), cert.issued_on.isoformat()),
             "有效期起": (c.get("valid_from"), cert.valid_from.isoformat()),
             "有效期止": (c.get("valid_until"), cert.valid_until.isoformat()),
             "登记编码": ((c.get("registration") or {}).get("code"), reg_code or "")}
    out += [f"数据库中的{name}（{now}）与签名内容（{signed}）不一致。" for name, (signed, now) in pairs.items()
            if signed != now]
    return out


def _date(value: object, fallback: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return fallback


def _view(envelope: Envelope, cert: Certificate, doc: CertificateDocument | None, superseded_by: str | None, *,
          signature_valid: bool, record_matches: bool, problems: list[str]) -> PublicCertificate:
    c = envelope.certificate
    reg, subject, data = c.get("registration") or {}, c.get("subject") or {}, c.get("data") or {}
    issuer, ledger, issue = c.get("issuer") or {}, c.get("ledger") or {}, c.get("issue") or {}
    return PublicCertificate(
        number=str(c.get("number")), registration_code=str(reg.get("code") or ""),
        subject_name=str(subject.get("name") or ""), subject_uscc=str(subject.get("uscc") or ""),
        data_name=str(data.get("name") or ""), registration_type=str(reg.get("type") or ""),
        registration_type_label=str(reg.get("type_label") or ""), summary=str(data.get("summary") or ""),
        issued_on=_date(c.get("issued_on"), cert.issued_on), valid_from=_date(c.get("valid_from"), cert.valid_from),
        valid_until=_date(c.get("valid_until"), cert.valid_until), issuer_name=str(issuer.get("name") or ""),
        issuer_uscc=issuer.get("uscc"), certificate_version=int(c.get("certificate_version") or 0),
        issue_kind_label=str(issue.get("label") or ""), supersedes=issue.get("supersedes"),
        superseded_by=superseded_by, ledger_event_id=ledger.get("event_id"), ledger_leaf_index=ledger.get("leaf_index"),
        verify_url=str(c.get("verify_url") or ""), status=PublicStatus("valid"), signature_valid=signature_valid,
        record_matches=record_matches, problems=problems, key_id=envelope.key_id, key_name=envelope.key_name,
        document_sm3=doc.document_sm3 if doc is not None else sm3.hexdigest(envelope.signed_bytes),
        pdf_sm3=doc.pdf_sm3 if doc is not None else None,
    )


def _unsigned(session: Session, cert: Certificate, reg_code: str | None, superseded_by: str | None,
              today: dt.date | None) -> PublicCertificate:
    """A record made before certificates were signed: dates only, and said to be unsigned."""
    reg = session.get(Registration, cert.registration_id)
    view = PublicCertificate(
        number=str(cert.number), registration_code=reg_code or "", subject_name="", subject_uscc="",
        data_name=reg.data_name if reg else "", registration_type=reg.registration_type if reg else "",
        registration_type_label="", summary="", issued_on=cert.issued_on, valid_from=cert.valid_from,
        valid_until=cert.valid_until, issuer_name="", issuer_uscc=None, certificate_version=0, issue_kind_label="",
        supersedes=None, superseded_by=superseded_by, ledger_event_id=None, ledger_leaf_index=None, verify_url="",
        status=PublicStatus("valid"), signature_valid=False, record_matches=False,
        problems=["该凭证记录没有签名文本，无法核验其内容。"])
    view.status = public_status(session, cert, None, valid_from=cert.valid_from, valid_until=cert.valid_until,
                                superseded_by=superseded_by, today=today)
    return view


# -- uploads --------------------------------------------------------------------------------------------

@dataclass
class UploadVerdict:
    valid: bool
    reason: str | None
    kind: str
    signature_valid: bool = False
    #: For a PDF: does it equal, byte for byte, the PDF the platform issued (SM3)? None if not a PDF.
    pdf_matches_record: bool | None = None
    certificate: PublicCertificate | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"result": "valid" if self.valid else "invalid", "valid": self.valid, "reason": self.reason,
                "file_type": self.kind, "signature_valid": self.signature_valid,
                "pdf_matches_record": self.pdf_matches_record,
                "certificate": self.certificate.as_dict() if self.certificate else None}


def verify_upload(session: Session, raw: bytes, *, keys: dict[str, PublicKey]) -> UploadVerdict:
    """Check an uploaded certificate JSON or PDF: signature, then agreement with the platform's record."""
    kind = sniff(raw)
    if kind is None:
        return UploadVerdict(False, "文件既不是凭证 JSON 也不是 PDF。", "unknown")
    try:
        envelope = _extract(raw, kind)
    except DocumentError as exc:
        return UploadVerdict(False, str(exc), kind)
    checked = signing.check(envelope, keys)
    if not checked.valid:
        return UploadVerdict(False, checked.reason, kind)
    try:
        record = lookup(session, envelope.number, keys=keys)
    except NotFound:
        return UploadVerdict(False, f"签名有效，但本平台没有编号为 {envelope.number} 的凭证记录。", kind, True)
    stored_sm3 = record.document_sm3
    if stored_sm3 != sm3.hexdigest(envelope.signed_bytes):
        return UploadVerdict(False, "签名有效，但与登记机构留存的凭证内容不一致。", kind, True, certificate=record)
    pdf_ok: bool | None = None
    if kind == "pdf":
        pdf_ok = record.pdf_sm3 is not None and record.pdf_sm3 == sm3.hexdigest(raw)
        if not pdf_ok:
            reason = ("登记机构尚未出具该凭证的 PDF 文件。" if record.pdf_sm3 is None else
                      "PDF 中的凭证数据签名有效，但 PDF 文件本身与登记机构出具的文件（SM3 摘要）不一致，可能已被修改。")
            return UploadVerdict(False, reason, kind, True, False, record)
    return UploadVerdict(True, None, kind, True, pdf_ok, record)


def _extract(raw: bytes, kind: str) -> Envelope:
    if kind == "pdf":
        from pubdata.certificates.pdf import extract_envelope

        return extract_envelope(raw)
    return envelope_from_json(raw)


def document_json(doc: CertificateDocument) -> bytes:
    """The envelope of a stored document, as a downloadable file."""
    return envelope_from_stored(doc.signed_json, doc.key_name, doc.key_id, doc.signature).to_json()
