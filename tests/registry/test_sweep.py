"""`pubdata sweep` ends notice periods without objection and certifies; idempotent (REG-29)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from sqlalchemy import select

from pubdata import clock
from pubdata.db.session import session_factory
from pubdata.db.testing import scratch_engine
from pubdata.identity.roles import Role
from pubdata.registry import applications as svc
from pubdata.registry.models import Application, Certificate
from pubdata.registry.sweep import run
from tests.factories import actor_of, make_user
from tests.registry.support import submitted_first


def test_sweep_certifies_after_the_notice_period_and_only_once():
    with scratch_engine() as engine, tempfile.TemporaryDirectory() as tmp:
        maker = session_factory(engine)
        with maker() as s, s.begin(), clock.frozen(dt.date(2026, 11, 2)):
            subject = actor_of(make_user(s, Role.REGISTRATION_SUBJECT))
            clerk = actor_of(make_user(s, Role.REGISTRATION_INSTITUTION))
            app = submitted_first(s, subject, Path(tmp))
            svc.accept(s, actor=clerk, application_id=app.id)
            svc.pass_review(s, actor=clerk, application_id=app.id)
            app_id, notice_end = app.id, app.notice_end
        assert notice_end == dt.date(2026, 11, 16)
        with clock.frozen(notice_end):
            assert run(engine).certified == []  # the last day of the notice period still belongs to it
        with clock.frozen(notice_end + dt.timedelta(days=1)):
            first = run(engine)
            again = run(engine)
        assert len(first.certified) == 1 and again.certified == []
        with maker() as s:
            assert s.get(Application, app_id).state == "certified"
            assert len(s.scalars(select(Certificate)).all()) == 1
