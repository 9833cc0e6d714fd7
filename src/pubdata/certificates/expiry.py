"""REG-37 over time, for the periodic sweep: renewal reminders when the window opens, and cancellation with a
public announcement of registrations whose certificate expired without renewal.

Each step is idempotent: a reminder is sent once (``certificate_document.reminded_on``), and a registration is
cancelled once (it must still be ``registered`` under a row lock). A renewal application still open at expiry
(filed in time, decision pending) holds the cancellation back: the subject did apply "按规定".
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from pubdata import clock, rules
from pubdata.audit import Actor, record
from pubdata.certificates import announcements
from pubdata.certificates.models import CertificateDocument
from pubdata.registry import notices
from pubdata.registry.certificates import current_certificate, end_certificates
from pubdata.registry.models import Application, Certificate, Registration
from pubdata.registry.workflow import OPEN_STATES

_OPEN = (*OPEN_STATES, "draft")


def _open_renewal(registration_id: int):  # type: ignore[no-untyped-def]
    return exists().where(Application.registration_id == registration_id, Application.kind == "renewal",
                          Application.state.in_(_OPEN))


# -- reminders ------------------------------------------------------------------------------------------

def due_reminders(session: Session, *, today: dt.date | None = None) -> list[int]:
    """Certificates whose renewal window is open today and whose holder has not been reminded."""
    day = today or clock.today()
    window = dt.timedelta(days=rules.RENEWAL_WINDOW.value)
    # A change inside the window re-issues the certificate with the same end date: one reminder per term.
    sibling, sibling_doc = aliased(Certificate), aliased(CertificateDocument)
    reminded_for_term = exists().where(
        sibling.registration_id == Certificate.registration_id, sibling.valid_until == Certificate.valid_until,
        sibling_doc.certificate_id == sibling.id, sibling_doc.reminded_on.is_not(None))
    stmt = (select(Certificate.id)
            .join(CertificateDocument, CertificateDocument.certificate_id == Certificate.id)
            .join(Registration, Registration.id == Certificate.registration_id)
            .where(Certificate.status == "valid", Registration.status == "registered",
                   Certificate.valid_until >= day, Certificate.valid_until <= day + window,
                   Certificate.valid_from <= day, CertificateDocument.reminded_on.is_(None), ~reminded_for_term,
                   ~_open_renewal(Certificate.registration_id))  # type: ignore[arg-type]
            .order_by(Certificate.valid_until, Certificate.id))
    return list(session.scalars(stmt))


def remind(session: Session, *, actor: Actor, certificate_id: int) -> bool:
    """Send the renewal reminder for one certificate; False when no longer due (another sweep sent it)."""
    cert = session.get(Certificate, certificate_id, with_for_update={"of": Certificate})
    doc = session.scalar(select(CertificateDocument).where(CertificateDocument.certificate_id == certificate_id))
    if cert is None or doc is None or doc.reminded_on is not None or cert.status != "valid":
        return False
    app = session.get(Application, cert.application_id)
    assert app is not None
    day = clock.today()
    opens = cert.valid_until - dt.timedelta(days=rules.RENEWAL_WINDOW.value)
    doc.reminded_on = day
    notice = notices.issue(
        session, actor=actor, application=app, kind="renewal_reminder",
        body=f"所持电子凭证 {cert.number} 有效期至 {cert.valid_until:%Y年%m月%d日}。如需继续使用凭证，请于 "
             f"{opens:%Y年%m月%d日} 至 {cert.valid_until:%Y年%m月%d日} 期间申请续展；续展期自上一届有效期满次日起"
             "计算，最长三年且不超过授权运营期限。期满未按规定续展的，登记机构将予以注销并公告（第三十七条）。")
    record(session, actor=actor, tag="certificates:certificate:renewal_reminded", object_type="registration",
           object_id=cert.registration_id, data={"certificate": cert.number, "valid_until": cert.valid_until})
    record(session, actor=actor, tag="registry:application:notice_issued", object_type="application",
           object_id=app.id, data={"number": app.number, "notice": notice.number, "kind": "renewal_reminder"})
    return True


# -- expiry ---------------------------------------------------------------------------------------------

def due_expiries(session: Session, *, today: dt.date | None = None) -> list[int]:
    """Registrations still registered whose every valid certificate ended before today, with no renewal
    application still open."""
    day = today or clock.today()
    later = aliased(Certificate)  # a second certificate of the same registration (change, renewal) still valid
    still_valid = exists().where(later.registration_id == Registration.id, later.status == "valid",
                                 later.valid_until >= day)
    stmt = (select(Registration.id).distinct()
            .join(Certificate, Certificate.registration_id == Registration.id)
            .where(Registration.status == "registered", Certificate.status == "valid", Certificate.valid_until < day,
                   ~still_valid, ~_open_renewal(Registration.id))  # type: ignore[arg-type]
            .order_by(Registration.id))
    return list(session.scalars(stmt))


def expire(session: Session, *, actor: Actor, registration_id: int) -> str | None:
    """Cancel one registration whose certificate expired unrenewed, announce it and notify the applicant.
    Returns the expired certificate's number, or None when nothing is (any longer) due."""
    reg = session.get(Registration, registration_id, with_for_update={"of": Registration})
    day = clock.today()
    if reg is None or reg.status != "registered":
        return None
    cert = current_certificate(session, reg.id)
    if cert is None or cert.valid_until >= day or session.scalar(select(_open_renewal(reg.id))):
        return None
    issuer = _issuer_name(session, cert)
    end_certificates(session, actor=actor, registration=reg, status="expired", on=day,
                     reason="凭证有效期届满未按规定续展（第三十七条）")
    reg.status = "cancelled"
    record(session, actor=actor, tag="registry:registration:cancelled", object_type="registration",
           object_id=reg.id, changes={"status": ["registered", "cancelled"]},
           data={"ground": "certificate_expired", "certificate": cert.number, "valid_until": cert.valid_until})
    announcements.publish(
        session, actor=actor, kind="expiry_cancellation", issuer_name=issuer, registration_id=reg.id,
        registration_code=reg.code, certificate_number=cert.number, on=day,
        title=f"关于注销“{reg.data_name}”登记的公告",
        body=f"登记编码 {reg.code}（登记数据名称“{reg.data_name}”）的电子凭证 {cert.number} 有效期已于 "
             f"{cert.valid_until:%Y年%m月%d日} 届满，登记主体未按规定续展。依据《甘肃省公共数据资源登记管理实施细则》"
             f"第三十七条，自 {day:%Y年%m月%d日} 起注销该登记，特此公告。")
    app = session.get(Application, cert.application_id)
    if app is not None:
        notice = notices.issue(session, actor=actor, application=app, kind="expiry_cancelled",
                               body=f"所持电子凭证 {cert.number} 有效期已于 {cert.valid_until:%Y年%m月%d日} 届满，"
                                    f"未按规定续展，登记机构已于 {day:%Y年%m月%d日} 注销该登记并公告（第三十七条）。")
        record(session, actor=actor, tag="registry:application:notice_issued", object_type="application",
               object_id=app.id, data={"number": app.number, "notice": notice.number, "kind": "expiry_cancelled"})
    return cert.number


def _issuer_name(session: Session, cert: Certificate) -> str:
    """The institution that issued the certificate, as its signed document names it."""
    import json

    from pubdata.certificates.issue import DEFAULT_ISSUER

    doc = session.scalar(select(CertificateDocument.signed_json).where(CertificateDocument.certificate_id == cert.id))
    if doc is None:
        return DEFAULT_ISSUER
    issuer = json.loads(doc).get("issuer") or {}
    return str(issuer.get("name") or DEFAULT_ISSUER)
