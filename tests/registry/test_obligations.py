"""REG-25: when the first registration or a change application is due, from declared events."""

from __future__ import annotations

import datetime as dt

import pytest

from pubdata import clock
from pubdata.errors import ValidationFailed
from pubdata.registry import applications as svc
from pubdata.registry.obligations import declare_event, list_obligations
from tests.registry.support import documents, registered, submitted_first


@pytest.mark.parametrize(("event", "day", "due"), [
    ("operation_started", "2026-09-25", dt.date(2026, 10, 29)),  # 20 WD
    ("product_delivered", "2026-02-10", dt.date(2026, 3, 16)),  # 20 WD across 春节
    ("running_before_rules", "2026-01-05", dt.date(2026, 2, 14)),  # 30 WD; 02-14 is a 调休 Saturday
])
def test_first_registration_is_due(db_session, subject, event, day, due):
    with clock.frozen(dt.date(2026, 11, 20)):
        ob = declare_event(db_session, actor=subject, event=event, event_date=day)
    assert (ob.required_kind, ob.due_date, ob.provisional) == ("first", due, False)


def test_change_obligations_need_the_registration_and_are_due_in_5_or_10_wd(db_session, subject, clerk, tmp):
    reg = registered(db_session, subject, clerk, tmp).registration
    with pytest.raises(ValidationFailed) as exc:
        declare_event(db_session, actor=subject, event="major_change", event_date="2026-09-28")
    assert exc.value.errors[0].field == "registration_id"
    major = declare_event(db_session, actor=subject, event="major_change", event_date="2026-09-28",
                          registration_id=reg.id)
    name = declare_event(db_session, actor=subject, event="name_change_approved", event_date="2026-09-28",
                         registration_id=reg.id)
    assert (major.due_date, name.due_date) == (dt.date(2026, 10, 10), dt.date(2026, 10, 16))


def test_bad_declarations_are_refused_per_field(db_session, subject):
    with pytest.raises(ValidationFailed) as exc:
        declare_event(db_session, actor=subject, event="party", event_date="2026-02-30")
    assert {e.field for e in exc.value.errors} == {"event", "event_date"}
    with clock.frozen(dt.date(2026, 1, 1)), pytest.raises(ValidationFailed) as exc:
        declare_event(db_session, actor=subject, event="operation_started", event_date="2026-06-01")
    assert exc.value.errors[0].code == "future_date"


def test_overdue_obligations_are_listed_for_the_institution_until_fulfilled(db_session, subject, clerk, tmp):
    with clock.frozen(dt.date(2026, 11, 20)):
        ob = declare_event(db_session, actor=subject, event="operation_started", event_date="2026-09-25")
        assert list_obligations(db_session, actor=clerk, overdue_only=True) == [ob]
        assert list_obligations(db_session, actor=subject) == [ob]
        submitted_first(db_session, subject, tmp)
        assert ob.status == "fulfilled" and list_obligations(db_session, actor=clerk, overdue_only=True) == []


def test_change_application_fulfils_the_change_obligation(db_session, subject, clerk, tmp):
    reg = registered(db_session, subject, clerk, tmp).registration
    ob = declare_event(db_session, actor=subject, event="major_change", event_date=clock.today().isoformat(),
                       registration_id=reg.id)
    change = svc.create_application(db_session, actor=subject, kind="change", registration_id=reg.id,
                                    documents=documents(db_session, subject, tmp, "change_evidence"),
                                    details={"change_reason": "新增数据来源"})
    svc.submit(db_session, actor=subject, application_id=change.id)
    assert ob.status == "fulfilled" and ob.fulfilled_by_id == change.id
