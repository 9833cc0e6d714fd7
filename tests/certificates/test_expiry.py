"""`pubdata sweep` for REG-37: a reminder when the renewal window opens, cancellation and an announcement when
a certificate expires without renewal — each exactly once."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from pubdata import clock
from pubdata.audit.service import history
from pubdata.certificates.models import Announcement
from pubdata.certificates.signing import SETTINGS_INFO, published_keys
from pubdata.certificates.verify import lookup
from pubdata.config import Settings
from pubdata.db.testing import scratch_engine
from pubdata.identity.roles import Role
from pubdata.registry.models import Certificate, Notice, Registration
from pubdata.registry.sweep import run
from pubdata.web.app import create_app
from tests.certificates.conftest import BASE_URL
from tests.certificates.support import renew
from tests.factories import actor_of, make_user
from tests.registry.support import registered


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Engine, Settings, Path]]:
    with scratch_engine() as engine, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(var_dir=Path(tmp) / "var", secret_key="t", base_url=BASE_URL)
        yield engine, settings, Path(tmp)


def _maker(engine: Engine, settings: Settings) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, info={SETTINGS_INFO: settings})


def _register(engine: Engine, settings: Settings, tmp: Path, name: str, on: dt.date,
              renew_on: dt.date | None = None) -> tuple[int, str]:
    with _maker(engine, settings)() as s, s.begin():
        subject = actor_of(make_user(s, Role.REGISTRATION_SUBJECT))
        clerk = actor_of(make_user(s, Role.REGISTRATION_INSTITUTION))
        with clock.frozen(on):
            app = registered(s, subject, clerk, tmp, basic={"name": name},
                             resource={"authorization_end": "2045-12-31"})
        if renew_on is not None:
            renew(s, subject, clerk, tmp, app.registration_id, on=renew_on)
        cert = s.scalar(select(Certificate).where(Certificate.registration_id == app.registration_id)
                        .order_by(Certificate.id))
        return app.registration_id, str(cert.number)


def test_reminder_then_expiry_cancellation_and_announcement_once(world):
    engine, settings, tmp = world
    reg_id, number = _register(engine, settings, tmp, "甘南州草原生态监测数据", dt.date(2026, 11, 16))
    renewed_id, _ = _register(engine, settings, tmp, "定西市马铃薯种植数据", dt.date(2026, 11, 16),
                              renew_on=dt.date(2029, 10, 8))
    sweep = {"settings": settings, "render_pdfs": False}

    with clock.frozen(dt.date(2029, 9, 15)):  # 61 days before expiry
        assert run(engine, **sweep).reminded == []
    with clock.frozen(dt.date(2029, 9, 16)):  # the window opens (60 days before 2029-11-15)
        first, again = run(engine, **sweep), run(engine, **sweep)
    assert first.reminded == [number] and again.reminded == []
    with _maker(engine, settings)() as s:
        reminders = s.scalars(select(Notice).where(Notice.kind == "renewal_reminder")).all()
        assert len(reminders) == 1 and "2029年09月16日 至 2029年11月15日" in reminders[0].body
        assert reminders[0].title == "凭证续展提醒通知书"

    with clock.frozen(dt.date(2029, 11, 15)):  # the last day still belongs to the term
        assert run(engine, **sweep).expired == []
    with clock.frozen(dt.date(2029, 11, 16)):
        first, again = run(engine, **sweep), run(engine, **sweep)
    assert first.expired == [number] and again.expired == []
    assert "期满注销 1 件" in first.lines()[-1]

    with _maker(engine, settings)() as s:
        reg = s.get(Registration, reg_id)
        assert reg.status == "cancelled"
        assert s.get(Registration, renewed_id).status == "registered"  # renewed in time: untouched
        [ann] = s.scalars(select(Announcement)).all()
        assert (ann.kind, ann.certificate_number, ann.published_on) == ("expiry_cancellation", number,
                                                                        dt.date(2029, 11, 16))
        assert "第三十七条" in ann.body and reg.code in ann.body
        tags = [e.tag for e in history(s, object_type="registration", object_id=reg_id)]
        assert "registry:certificate:expired" in tags and "registry:registration:cancelled" in tags
        assert [n.kind for n in s.scalars(select(Notice).where(Notice.kind == "expiry_cancelled"))] == [
            "expiry_cancelled"]
        view = lookup(s, number, keys=published_keys(settings), today=dt.date(2029, 11, 20))
        assert (view.status.label, view.status.date) == ("已过期", dt.date(2029, 11, 15))
        assert "注销并公告" in (view.status.note or "")

    app = create_app(settings, session_maker=_maker(engine, settings))
    with TestClient(app) as client:
        listed = client.get("/api/v1/public/announcements").json()
    assert [a["certificate_number"] for a in listed] == [number]
    assert listed[0]["kind_label"] == "期满未续展注销公告"


def test_an_open_renewal_application_holds_the_cancellation_back(world):
    engine, settings, tmp = world
    with _maker(engine, settings)() as s, s.begin():
        subject = actor_of(make_user(s, Role.REGISTRATION_SUBJECT))
        clerk = actor_of(make_user(s, Role.REGISTRATION_INSTITUTION))
        with clock.frozen(dt.date(2026, 12, 1)):
            app = registered(s, subject, clerk, tmp, basic={"name": "张掖市湿地水文数据"},
                             resource={"authorization_end": "2045-12-31"})
        from pubdata.registry import applications as svc
        from tests.registry.support import documents

        with clock.frozen(dt.date(2029, 11, 1)):  # filed in time, not yet decided
            renewal = svc.create_application(s, actor=subject, kind="renewal", registration_id=app.registration_id,
                                             documents=documents(s, subject, tmp))
            svc.submit(s, actor=subject, application_id=renewal.id)
        reg_id = app.registration_id
        number = s.scalar(select(Certificate.number).where(Certificate.registration_id == reg_id))
    with clock.frozen(dt.date(2029, 12, 5)):
        result = run(engine, settings=settings, render_pdfs=False)
    assert number not in result.expired
    with _maker(engine, settings)() as s:
        assert s.get(Registration, reg_id).status == "registered"
