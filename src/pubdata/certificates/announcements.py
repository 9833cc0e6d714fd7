"""Public announcements (公告) of the registration institution: cancellations after expiry (REG-37) and, for
other contexts, whatever else the rules require to be announced. Listed publicly, newest first."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor, record
from pubdata.certificates.models import Announcement

KINDS = {"expiry_cancellation": "期满未续展注销公告", "revocation": "撤销登记公告"}


def publish(session: Session, *, actor: Actor, kind: str, title: str, body: str, issuer_name: str,
            registration_id: int | None = None, registration_code: str | None = None,
            certificate_number: str | None = None, on: dt.date | None = None) -> Announcement:
    """Publish one announcement in the caller's transaction, with its audit event. Only public facts belong
    in ``title`` and ``body``: they are shown to anyone."""
    if kind not in KINDS:
        raise ValueError(f"unknown announcement kind {kind!r}")
    item = Announcement(kind=kind, title=title, body=body, issuer_name=issuer_name, registration_id=registration_id,
                        registration_code=registration_code, certificate_number=certificate_number,
                        published_on=on or clock.today())
    session.add(item)
    session.flush()
    record(session, actor=actor, tag="certificates:announcement:published", object_type="announcement",
           object_id=item.id, data={"kind": kind, "title": title, "registration_code": registration_code,
                                    "certificate": certificate_number, "published_on": item.published_on})
    return item


def public_list(session: Session, *, kind: str | None = None, limit: int = 50, offset: int = 0) -> list[Announcement]:
    stmt = select(Announcement).order_by(Announcement.published_on.desc(), Announcement.id.desc())
    if kind is not None:
        stmt = stmt.where(Announcement.kind == kind)
    return list(session.scalars(stmt.limit(limit).offset(offset)))
