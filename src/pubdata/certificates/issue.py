"""Signing a certificate record in the transaction that creates it (called by ``registry.certificates``).

The order inside ``certify`` matters and is: the certificate row gets its number, the ``issued`` audit event
is written (and becomes a ledger leaf), then ``sign_certificate`` builds the document naming that event and
its leaf index, signs it, stores it, and writes a ``certificates:certificate:signed`` event carrying the
document's SM3 digest — so the ledger itself holds the fingerprint of every certificate ever issued, and
editing a stored document is detectable even by someone who cannot forge a signature check (REG-42).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pubdata import ledger
from pubdata.audit import Actor, AuditEvent, record
from pubdata.certificates import document, qr, signing
from pubdata.certificates.models import CertificateDocument
from pubdata.crypto import sm3
from pubdata.identity.models import Organisation, OrganisationRole
from pubdata.identity.roles import Role
from pubdata.registry import vocab
from pubdata.registry.models import Application, Certificate, Registration
from pubdata.registry.workflow import Kind

#: Used when no registration institution can be named (a platform-operated procedure, an empty demo).
DEFAULT_ISSUER = "甘肃省公共数据资源登记机构"
#: The institution's acts on an application, latest first decides who issues its certificate.
_DECIDING_TAGS = ("registry:application:pass", "registry:application:accept")


@dataclass(frozen=True)
class Issuer:
    name: str
    uscc: str | None

    @property
    def key_name(self) -> str:
        return signing.key_name_for(self.uscc)


def _is_institution(session: Session, org_id: int) -> bool:
    return session.scalar(select(OrganisationRole.id).where(
        OrganisationRole.organisation_id == org_id, OrganisationRole.role == Role.REGISTRATION_INSTITUTION.value,
        OrganisationRole.revoked_at.is_(None)).limit(1)) is not None


def issuer_for(session: Session, application: Application) -> Issuer:
    """The registration institution that accepted and reviewed the application; else the province's
    (the one verified institution with the lowest id); else the platform's name with no USCC."""
    org_id = session.scalar(
        select(AuditEvent.actor_org_id).where(
            AuditEvent.object_type == "application", AuditEvent.object_id == str(application.id),
            AuditEvent.tag.in_(_DECIDING_TAGS), AuditEvent.actor_org_id.is_not(None))
        .order_by(AuditEvent.id.desc()).limit(1))
    if org_id is None or not _is_institution(session, org_id):
        org_id = session.scalar(
            select(Organisation.id).join(OrganisationRole, OrganisationRole.organisation_id == Organisation.id)
            .where(OrganisationRole.role == Role.REGISTRATION_INSTITUTION.value, OrganisationRole.revoked_at.is_(None),
                   Organisation.verification_status == "verified")
            .order_by(Organisation.id).limit(1))
    org = session.get(Organisation, org_id) if org_id is not None else None
    return Issuer(org.name, org.uscc) if org is not None else Issuer(DEFAULT_ISSUER, None)


def _content_of(reg: Registration, version_no: int) -> dict[str, object]:
    for version in reg.versions:
        if version.version_no == version_no:
            return version.content
    return {}


def sign_certificate(session: Session, *, actor: Actor, certificate: Certificate, event: AuditEvent,
                     supersedes: str | None = None) -> CertificateDocument:
    """Build, sign and store the document of a just-created certificate record."""
    cert = certificate
    assert cert.number is not None, "the certificate needs its number before it is signed"
    app = session.get(Application, cert.application_id)
    reg = session.get(Registration, cert.registration_id)
    assert app is not None and reg is not None
    subject = session.get(Organisation, reg.subject_org_id)
    basic = _content_of(reg, cert.version_no).get("basic") or {}
    assert isinstance(basic, dict)
    reg_type = str(basic.get("registration_type") or reg.registration_type)
    settings = signing.settings_for(session)
    issuer = issuer_for(session, app)
    sequence = session.scalar(select(func.count(Certificate.id)).where(
        Certificate.registration_id == reg.id, Certificate.id <= cert.id)) or 1
    certificate_object = document.build(
        number=cert.number, certificate_version=int(sequence), registration_code=reg.code or "",
        registration_version=cert.version_no, registration_type=reg_type,
        registration_type_label=vocab.label("registration_type", reg_type),
        subject_name=subject.name if subject else "", subject_uscc=subject.uscc if subject else "",
        data_name=str(basic.get("name") or reg.data_name), summary=str(basic.get("summary") or ""),
        issued_on=cert.issued_on.isoformat(), valid_from=cert.valid_from.isoformat(),
        valid_until=cert.valid_until.isoformat(), issuer_name=issuer.name, issuer_uscc=issuer.uscc,
        issue_kind=app.kind, issue_kind_label=Kind(app.kind).label, supersedes=supersedes,
        ledger_event_id=event.id, ledger_leaf_index=ledger.leaf_index_of(session, event),
        verify_url=qr.verify_url(settings, cert.number),
    )
    envelope = signing.sign(settings, certificate_object, key_name=issuer.key_name)
    signed = envelope.signed_bytes
    doc = CertificateDocument(
        certificate_id=cert.id, registration_id=reg.id, format=document.FORMAT, certificate_version=int(sequence),
        signed_json=signed.decode("utf-8"), document_sm3=sm3.hexdigest(signed), signature=envelope.signature,
        key_name=envelope.key_name, key_id=envelope.key_id, ledger_event_id=event.id,
        ledger_leaf_index=certificate_object["ledger"]["leaf_index"],  # type: ignore[index]
    )
    session.add(doc)
    session.flush()
    record(session, actor=actor, tag="certificates:certificate:signed", object_type="registration", object_id=reg.id,
           data={"certificate": cert.number, "document_sm3": doc.document_sm3, "key_name": doc.key_name,
                 "key_id": doc.key_id, "issued_event": event.id, "leaf_index": doc.ledger_leaf_index})
    return doc


def document_of(session: Session, certificate_id: int) -> CertificateDocument | None:
    return session.scalar(select(CertificateDocument).where(CertificateDocument.certificate_id == certificate_id))
