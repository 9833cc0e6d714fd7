"""Making each certificate's PDF once, keeping it in the file store and recording its SM3 digest.

The bytes handed to the holder are the stored ones, so the recorded digest always describes what they hold.
WeasyPrint output is deterministic for the same envelope, fonts and version (the attachment dates are the
issue date), which lets a lost file be restored by rendering again — but only if the digest still matches.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

from pubdata.audit import Actor, record
from pubdata.certificates import pdf
from pubdata.certificates.document import envelope_from_stored
from pubdata.certificates.models import CertificateDocument
from pubdata.certificates.signing import SETTINGS_INFO
from pubdata.config import Settings
from pubdata.db.base import utcnow
from pubdata.db.session import session_factory
from pubdata.files.store import BlobStore
from pubdata.registry.models import Certificate

log = logging.getLogger("pubdata.certificates")


def _read(store: BlobStore, digest: str) -> bytes | None:
    if not store.has(digest):
        return None
    with store.open(digest) as fh:
        return fh.read()


def ensure_pdf(session: Session, *, actor: Actor, document_id: int, settings: Settings) -> bytes:
    """The certificate's PDF: the stored file, or rendered now, stored and recorded (in the caller's
    transaction, which must commit for the digest to count)."""
    doc = session.get(CertificateDocument, document_id, with_for_update=True)
    if doc is None:
        raise LookupError(f"certificate document {document_id} not found")
    store = BlobStore.from_settings(settings)
    if doc.pdf_sm3 is not None and (stored := _read(store, doc.pdf_sm3)) is not None:
        return stored
    number = session.scalar(select(Certificate.number).where(Certificate.id == doc.certificate_id))
    data = pdf.render(envelope_from_stored(doc.signed_json, doc.key_name, doc.key_id, doc.signature))
    with store.writer(filename=f"{number}.pdf", declared_type="application/pdf", field="pdf") as writer:
        writer.write(data)
        blob = writer.seal()
    if doc.pdf_sm3 is not None and blob.digest != doc.pdf_sm3:
        blob.discard()
        raise pdf.PdfUnavailable(f"凭证 {number} 的 PDF 文件缺失，重新生成的文件与记录的 SM3 摘要不一致，"
                                 "请联系平台运维从备份恢复。")
    blob.commit()
    if doc.pdf_sm3 is None:
        doc.pdf_sm3, doc.pdf_size, doc.pdf_rendered_at = blob.digest, blob.size, utcnow()
        record(session, actor=actor, tag="certificates:certificate:pdf_rendered", object_type="registration",
               object_id=doc.registration_id, data={"certificate": number, "pdf_sm3": blob.digest, "size": blob.size})
    return data


def pending(session: Session, *, limit: int) -> list[tuple[int, str]]:
    """(document id, certificate number) of certificates in force, or about to be, that have no PDF yet."""
    stmt = (select(CertificateDocument.id, Certificate.number)
            .join(Certificate, Certificate.id == CertificateDocument.certificate_id)
            .where(CertificateDocument.pdf_sm3.is_(None), Certificate.status == "valid")
            .order_by(CertificateDocument.id).limit(limit))
    return [(int(i), str(n)) for i, n in session.execute(stmt)]


@dataclass
class RenderResult:
    rendered: list[str] = field(default_factory=list)
    #: Why rendering stopped (fonts or libraries missing), in Chinese; None when all went well.
    error: str | None = None


def render_pending(bind: Engine | Connection | None, *, actor: Actor, settings: Settings, limit: int = 500
                   ) -> RenderResult:
    """Render up to ``limit`` missing PDFs, each in its own transaction (for the sweep)."""
    maker = session_factory(bind)  # type: ignore[arg-type]
    result = RenderResult()
    with maker() as session:
        todo = pending(session, limit=limit)
    for doc_id, number in todo:
        try:
            with maker() as session, session.begin():
                session.info[SETTINGS_INFO] = settings
                ensure_pdf(session, actor=actor, document_id=doc_id, settings=settings)
        except pdf.PdfUnavailable as exc:
            # Missing fonts affect every certificate alike: stop and say so once.
            log.error("certificate PDF not rendered: %s", exc)
            result.error = str(exc)
            break
        result.rendered.append(number)
    return result
