"""Certification: applying the application's content as a new version and creating the certificate record
(REG-29, REG-34 一证一码, REG-37 validity and renewal). The record is signed in the same transaction
(``pubdata.certificates.issue``); its QR code and PDF are made from the signed document."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import clock, rules
from pubdata.audit import Actor, record
from pubdata.errors import Conflict
from pubdata.registry import codes, notices
from pubdata.registry.form import parse_date
from pubdata.registry.models import Application, Certificate, Registration, RegistrationVersion
from pubdata.registry.public_notices import close_public_notice
from pubdata.registry.workflow import MACHINES, Kind


def current_certificate(session: Session, registration_id: int) -> Certificate | None:
    stmt = select(Certificate).where(Certificate.registration_id == registration_id,
                                     Certificate.status == "valid").order_by(Certificate.valid_until.desc())
    return session.scalars(stmt).first()


def term_end(start: dt.date, years: int) -> dt.date:
    """Last day of a term of ``years`` counted from ``start`` inclusive: the day before the anniversary.

    A start on 29 February has no anniversary in a common year; the term then ends on 28 February, the last
    day of the month (民法典第二百零三条), not on the 27th as "28 February minus one day" would give. A start
    on 1 March before a leap year ends on 29 February.
    """
    try:
        anniversary = start.replace(year=start.year + years)
    except ValueError:  # 29 February → the day after 28 February in the target year
        anniversary = dt.date(start.year + years, 3, 1)
    return anniversary - dt.timedelta(days=1)


def validity(content: dict[str, object], start: dt.date, *, renewal: bool = False) -> dt.date:
    """REG-37: three years from the start; a product's certificate ends with its authorised operation period
    if that is shorter, and a renewal never runs past the authorisation of any registration type."""
    until = term_end(start, rules.CERTIFICATE_VALIDITY.value)
    groups = ("product", "resource") if renewal else ("product",)
    for group in groups:
        end = parse_date((content.get(group) or {}).get("authorization_end"))  # type: ignore[union-attr,attr-defined]
        if end is not None and end < until:
            until = end
    return until


def check_renewal_window(session: Session, reg: Registration) -> None:
    """REG-37: renewal is applied for within 60 days before expiry."""
    cert = current_certificate(session, reg.id)
    if cert is None:
        raise Conflict("该登记没有有效凭证，无法续展。", code="no_valid_certificate")
    today = clock.today()
    opens = renewal_window_opens(cert)
    if not opens <= today <= cert.valid_until:
        raise Conflict(f"续展应在凭证期满前 {rules.RENEWAL_WINDOW.value} 日内申请（{opens:%Y-%m-%d} 至 "
                       f"{cert.valid_until:%Y-%m-%d}），第三十七条。", code="outside_renewal_window")
    renewal_term(reg, cert)


def renewal_window_opens(cert: Certificate) -> dt.date:
    """REG-37: the first day a renewal may be filed (60 calendar days before expiry)."""
    return cert.valid_until - dt.timedelta(days=rules.RENEWAL_WINDOW.value)


def renewal_term(reg: Registration, previous: Certificate) -> tuple[dt.date, dt.date]:
    """REG-37: from the day after the previous expiry, at most 3 years and never past the authorisation.
    An authorisation that has already ended by then leaves nothing to renew."""
    start = previous.valid_until + dt.timedelta(days=1)  # 自上一届有效期满次日起计算
    until = validity(reg.versions[-1].content if reg.versions else {}, start, renewal=True)
    if until < start:
        raise Conflict(f"授权运营期限已于 {until:%Y-%m-%d} 届满，续展期不得超过授权运营期限（第三十七条），"
                       "无法续展；如已重新取得授权，请先办理变更登记。", code="authorization_ended")
    return start, until


def end_certificates(session: Session, *, actor: Actor, registration: Registration, status: str,
                     on: dt.date | None = None, reason: str | None = None) -> list[Certificate]:
    """End every valid certificate of the registration (cancelled, revoked, expired), noting the date."""
    from pubdata.certificates.status import mark_ended

    ended = list(session.scalars(select(Certificate).where(Certificate.registration_id == registration.id,
                                                           Certificate.status == "valid")))
    for cert in ended:
        mark_ended(session, cert, status=status, on=on, reason=reason)
        record(session, actor=actor, tag=f"registry:certificate:{status}", object_type="registration",
               object_id=registration.id, data={"certificate": cert.number, "on": on or clock.today()})
    return ended


def _new_certificate(session: Session, app: Application, version_no: int, start: dt.date,
                     until: dt.date) -> Certificate:
    cert = Certificate(registration_id=app.registration_id, version_no=version_no, application_id=app.id,
                       issued_on=clock.today(), valid_from=start, valid_until=until)
    session.add(cert)
    session.flush()
    cert.number = codes.make(codes.CERTIFICATE, cert.issued_on.year, cert.id)
    return cert


def _supersede(session: Session, previous: Certificate, successor: Certificate) -> None:
    from pubdata.certificates.status import mark_ended

    mark_ended(session, previous, status="superseded", superseded_by=successor)


def certify(session: Session, *, actor: Actor, application: Application, already_moved: bool = False) -> Certificate:
    """Register the application's content and issue the certificate record (REG-29)."""
    app = application
    before = app.state
    if not already_moved:
        app.state = MACHINES[Kind(app.kind)].next_state(app.state, "certify")
    reg = app.registration
    today = clock.today()
    previous = current_certificate(session, reg.id)
    if app.kind == Kind.RENEWAL:
        if previous is None:
            raise Conflict("该登记没有有效凭证，无法续展。", code="no_valid_certificate")
        start, until = renewal_term(reg, previous)
        cert = _new_certificate(session, app, reg.current_version, start, until)
        # The renewal supersedes the old certificate at once: whoever checks the old one is sent to the new
        # one, which states the continuous term (the old end date + 1 onwards).
        _supersede(session, previous, cert)
    else:
        version_no = reg.current_version + 1
        reg.versions.append(RegistrationVersion(registration_id=reg.id, version_no=version_no,
                                                content=app.content, application_id=app.id))
        basic = app.content.get("basic") or {}
        reg.current_version = version_no
        reg.data_name = str(basic.get("name") or reg.data_name)[:100]
        reg.registration_type = str(basic.get("registration_type") or reg.registration_type)
        from pubdata.registry.duplicates import evidence_key
        from pubdata.registry.form import normalise_name

        reg.name_key = normalise_name(reg.data_name)
        reg.evidence_key = evidence_key(app.content)
        reg.status = "registered"
        if previous is not None:  # a change or correction: new certificate for the new version, same term
            cert = _new_certificate(session, app, version_no, today, previous.valid_until)
            _supersede(session, previous, cert)
        else:
            cert = _new_certificate(session, app, version_no, today, validity(app.content, today))
        record(session, actor=actor, tag="registry:registration:version_registered", object_type="registration",
               object_id=reg.id, changes={"current_version": [version_no - 1, version_no]},
               data={"application": app.number, "certificate": cert.number})
    issued = record(session, actor=actor, tag="registry:certificate:issued", object_type="registration",
                    object_id=reg.id, data={"certificate": cert.number, "valid_from": cert.valid_from,
                                            "valid_until": cert.valid_until,
                                            "superseded": previous.number if previous is not None else None})
    from pubdata.certificates.issue import sign_certificate

    sign_certificate(session, actor=actor, certificate=cert, event=issued,
                     supersedes=previous.number if previous is not None else None)
    app.decided_on = today
    close_public_notice(session, app, status="ended")
    notices.issue(session, actor=actor, application=app, kind="certified",
                  body=f"登记完成，登记编码 {reg.code}，电子凭证编号 {cert.number}，"
                       f"有效期 {cert.valid_from:%Y年%m月%d日} 至 {cert.valid_until:%Y年%m月%d日}。")
    if not already_moved:
        record(session, actor=actor, tag="registry:application:certify", object_type="application", object_id=app.id,
               changes={"state": [before, app.state]}, data={"number": app.number, "certificate": cert.number})
    return cert
