"""Renewal reminders (REG-37): one per term, also when a change re-issues the certificate inside the window."""

from __future__ import annotations

import datetime as dt

from pubdata import clock
from pubdata.audit import Actor
from pubdata.certificates import expiry
from pubdata.certificates.signing import published_keys
from pubdata.certificates.verify import lookup
from tests.certificates.support import change

SWEEP = Actor.system("sweep")


def test_one_reminder_per_term_even_after_a_change(db_session, issue, subject, clerk, tmp, settings):
    issued = issue(on=dt.date(2026, 11, 16))
    with clock.frozen(dt.date(2029, 9, 20)):
        assert issued.cert.id in expiry.due_reminders(db_session)
        assert expiry.remind(db_session, actor=SWEEP, certificate_id=issued.cert.id)
        assert not expiry.remind(db_session, actor=SWEEP, certificate_id=issued.cert.id)
    new = change(db_session, subject, clerk, tmp, issued.cert.registration_id, on=dt.date(2029, 9, 25))
    assert new.valid_until == issued.cert.valid_until  # a change keeps the term
    with clock.frozen(dt.date(2029, 9, 26)):
        assert expiry.due_reminders(db_session) == []
    old = lookup(db_session, issued.number, keys=published_keys(settings), today=dt.date(2029, 9, 26))
    assert (old.status.label, old.superseded_by) == ("已更新", new.number)
    fresh = lookup(db_session, new.number, keys=published_keys(settings), today=dt.date(2029, 9, 26))
    assert fresh.summary == "新增服务区客流数据。" and fresh.issue_kind_label == "变更登记" and fresh.signature_valid
