"""The public status of a certificate, and recording the lifecycle changes the status is derived from.

Status, first match wins (a definitive end outranks a date, a date outranks a pending objection):

=============  ====================  ==================================================================
code           label                 when
=============  ====================  ==================================================================
revoked        已撤销                 the registration was revoked (REG-43); with the date
cancelled      已注销                 cancelled on the subject's application (REG-25(四)); with the date
superseded     已更新                 a change, correction or renewal issued a newer certificate
expired        已过期                 past ``valid_until`` (the sweep then cancels and announces, REG-37)
objection      异议中                 a hook in ``OBJECTION_HOOKS`` reports an open objection
valid          有效                   otherwise (a renewal not yet in force says from when)
=============  ====================  ==================================================================

The dates come from the signed document where it has them (``valid_until``), so an edited row cannot
make an expired certificate look valid; end dates live in ``certificate_document.ended_on``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.certificates.models import CertificateDocument
from pubdata.registry.models import Certificate

LABELS = {"valid": "有效", "expired": "已过期", "cancelled": "已注销", "revoked": "已撤销", "objection": "异议中",
          "superseded": "已更新"}

#: Checks that may put a valid certificate "under objection" (异议中), e.g. an objection after registration
#: (REG-33). Each gets the session and the certificate record and returns a short *public* note, or None.
#: The objections context appends its check here, as it does to ``registry.public_notices.BLOCKERS``.
ObjectionHook = Callable[[Session, Certificate], str | None]
OBJECTION_HOOKS: list[ObjectionHook] = []


@dataclass(frozen=True)
class PublicStatus:
    code: str
    #: The date the status took effect (revoked/cancelled/superseded/expired) or, for a valid certificate
    #: not yet in force, the day it starts.
    date: dt.date | None = None
    note: str | None = None

    @property
    def label(self) -> str:
        return LABELS[self.code]


def public_status(session: Session, cert: Certificate, doc: CertificateDocument | None, *, valid_from: dt.date,
                  valid_until: dt.date, superseded_by: str | None = None, today: dt.date | None = None
                  ) -> PublicStatus:
    day = today or clock.today()
    ended = doc.ended_on if doc is not None else None
    if cert.status == "revoked":
        return PublicStatus("revoked", ended, f"已于 {_d(ended)} 撤销登记（第四十三条）。" if ended else None)
    if cert.status == "cancelled":
        return PublicStatus("cancelled", ended, f"登记已于 {_d(ended)} 注销。" if ended else None)
    if cert.status == "superseded":
        note = f"已由凭证 {superseded_by} 取代，请以新凭证为准。" if superseded_by else "已由新凭证取代。"
        return PublicStatus("superseded", ended, note)
    if cert.status == "expired":
        return PublicStatus("expired", valid_until, f"有效期已于 {_d(valid_until)} 届满，期满未续展，登记已于 "
                                                    f"{_d(ended)} 注销并公告（第三十七条）。" if ended else None)
    if valid_until < day:
        return PublicStatus("expired", valid_until, f"有效期已于 {_d(valid_until)} 届满。")
    for hook in OBJECTION_HOOKS:
        if (objection := hook(session, cert)) is not None:
            return PublicStatus("objection", None, objection)
    if valid_from > day:
        return PublicStatus("valid", valid_from, f"续展凭证，自 {_d(valid_from)} 起生效。")
    return PublicStatus("valid")


def _d(day: dt.date | None) -> str:
    return f"{day:%Y年%m月%d日}" if day else ""


def mark_ended(session: Session, cert: Certificate, *, status: str, on: dt.date | None = None,
               reason: str | None = None, superseded_by: Certificate | None = None) -> None:
    """Set the record's status and note the date (and successor) on its document.

    The caller writes the audit event (the registry's transition event names the registration, which is
    the audit root of both rows). A record without a document (issued before this package) only changes
    status.
    """
    cert.status = status
    doc = session.scalar(select(CertificateDocument).where(CertificateDocument.certificate_id == cert.id))
    if doc is None:
        return
    doc.ended_on = on or clock.today()
    if reason is not None:
        doc.end_reason = reason
    if superseded_by is not None:
        doc.superseded_by_id = superseded_by.id
