"""The periodic sweep (`pubdata sweep`): ends notice periods without objection and certifies (REG-29); reminds
holders when the renewal window opens, cancels and announces registrations whose certificate expired without
renewal (REG-37); renders certificate PDFs not made yet.

Idempotent and safe to run every minute: every step selects only what is still due and re-checks it under a
row lock in its own transaction, so one failure does not hold back the rest and a second run finds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor
from pubdata.config import Settings
from pubdata.db.session import session_factory
from pubdata.registry.certificates import certify
from pubdata.registry.models import Application
from pubdata.registry.public_notices import blocking_reason


@dataclass
class SweepResult:
    certified: list[str] = field(default_factory=list)
    blocked: dict[str, str] = field(default_factory=dict)
    #: Certificate numbers whose holders got the renewal reminder (REG-37).
    reminded: list[str] = field(default_factory=list)
    #: Certificate numbers that expired unrenewed; their registrations were cancelled and announced.
    expired: list[str] = field(default_factory=list)
    #: Certificate numbers whose PDF was rendered, and why rendering stopped (missing fonts), if it did.
    pdfs: list[str] = field(default_factory=list)
    pdf_error: str | None = None

    def lines(self) -> list[str]:
        """Human-readable report, one line per item and a summary (for the CLI)."""
        out = [f"已发证 {line}" for line in self.certified]
        out += [f"暂缓发证 {number}：{reason}" for number, reason in self.blocked.items()]
        out += [f"已发续展提醒 {number}" for number in self.reminded]
        out += [f"期满未续展，已注销并公告 {number}" for number in self.expired]
        if self.pdf_error:
            out.append(f"凭证 PDF 未能生成：{self.pdf_error}")
        out.append(f"清扫完成：发证 {len(self.certified)} 件，暂缓 {len(self.blocked)} 件，续展提醒 "
                   f"{len(self.reminded)} 件，期满注销 {len(self.expired)} 件，生成凭证 PDF {len(self.pdfs)} 份。")
        return out


def due_for_certification(session: Session) -> list[int]:
    stmt = select(Application.id).where(Application.state == "in_notice", Application.notice_end < clock.today())
    return list(session.scalars(stmt.order_by(Application.notice_end, Application.id)))


def run(bind: Engine | Connection | None = None, *, actor: Actor | None = None, settings: Settings | None = None,
        render_pdfs: bool = True) -> SweepResult:
    from pubdata.certificates import expiry
    from pubdata.certificates.pdf_store import render_pending
    from pubdata.certificates.signing import SETTINGS_INFO, settings_for

    actor = actor or Actor.system("sweep")
    maker = session_factory(bind)  # type: ignore[arg-type]
    result = SweepResult()
    with maker() as session:
        settings = settings or settings_for(session)
        ids = due_for_certification(session)
    for app_id in ids:
        with maker() as session, session.begin():
            session.info[SETTINGS_INFO] = settings
            app = session.get(Application, app_id, with_for_update={"of": Application})
            if app is None or app.state != "in_notice":
                continue  # another sweep got there first
            if (reason := blocking_reason(session, app)) is not None:
                result.blocked[app.number or str(app.id)] = reason
                continue
            cert = certify(session, actor=actor, application=app)
            result.certified.append(f"{app.number} → {cert.number}")
    with maker() as session:
        reminders = expiry.due_reminders(session)
        expiries = expiry.due_expiries(session)
    for cert_id in reminders:
        with maker() as session, session.begin():
            if expiry.remind(session, actor=actor, certificate_id=cert_id):
                result.reminded.append(_number(session, cert_id))
    for reg_id in expiries:
        with maker() as session, session.begin():
            if (number := expiry.expire(session, actor=actor, registration_id=reg_id)) is not None:
                result.expired.append(number)
    if render_pdfs:
        rendered = render_pending(bind, actor=actor, settings=settings)
        result.pdfs, result.pdf_error = rendered.rendered, rendered.error
    return result


def _number(session: Session, certificate_id: int) -> str:
    from pubdata.registry.models import Certificate

    return str(session.scalar(select(Certificate.number).where(Certificate.id == certificate_id)))
