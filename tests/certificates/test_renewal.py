"""REG-37 renewal dates at the edges: leap days, the 60-day window, an authorisation ending early."""

from __future__ import annotations

import datetime as dt

import pytest

from pubdata import clock
from pubdata.errors import Conflict
from pubdata.registry import applications as svc
from pubdata.registry.certificates import current_certificate, term_end
from tests.certificates.support import renew
from tests.registry.support import documents

LONG_AUTHORISATION = {"resource": {"authorization_end": "2045-12-31"}}


@pytest.mark.parametrize("start, end", [
    (dt.date(2026, 11, 16), dt.date(2029, 11, 15)),
    (dt.date(2028, 2, 29), dt.date(2031, 2, 28)),  # no 29 February in 2031: the month's last day
    (dt.date(2025, 3, 1), dt.date(2028, 2, 29)),  # the day before 1 March in a leap year
    (dt.date(2028, 3, 1), dt.date(2031, 2, 28)),
    (dt.date(2027, 1, 1), dt.date(2029, 12, 31)),
])
def test_three_years_end_the_day_before_the_anniversary(start, end):
    assert term_end(start, 3) == end


def test_a_certificate_issued_on_29_february(db_session, issue):
    issued = issue(on=dt.date(2028, 2, 29), **LONG_AUTHORISATION)
    assert (issued.cert.valid_from, issued.cert.valid_until) == (dt.date(2028, 2, 29), dt.date(2031, 2, 28))


def test_renewal_of_a_certificate_ending_on_29_february(db_session, issue, subject, clerk, tmp):
    issued = issue(on=dt.date(2025, 3, 1), **LONG_AUTHORISATION)
    assert issued.cert.valid_until == dt.date(2028, 2, 29)
    _, new = renew(db_session, subject, clerk, tmp, issued.cert.registration_id, on=dt.date(2028, 1, 5))
    assert (new.valid_from, new.valid_until) == (dt.date(2028, 3, 1), dt.date(2031, 2, 28))
    assert issued.cert.status == "superseded" and current_certificate(db_session, issued.cert.registration_id) == new


def test_renewal_starting_on_29_february(db_session, issue, subject, clerk, tmp):
    issued = issue(on=dt.date(2025, 3, 1), **LONG_AUTHORISATION)
    _, second = renew(db_session, subject, clerk, tmp, issued.cert.registration_id, on=dt.date(2028, 2, 1))
    _, third = renew(db_session, subject, clerk, tmp, issued.cert.registration_id, on=dt.date(2031, 2, 1))
    assert (third.valid_from, third.valid_until) == (dt.date(2031, 3, 1), dt.date(2034, 2, 28))
    assert second.status == "superseded" and third.status == "valid"


def test_the_window_is_60_calendar_days_up_to_the_expiry_day(db_session, issue, subject, clerk, tmp):
    issued = issue(on=dt.date(2026, 11, 16), **LONG_AUTHORISATION)  # valid until 2029-11-15
    app = svc.create_application(db_session, actor=subject, kind="renewal",
                                 registration_id=issued.cert.registration_id,
                                 documents=documents(db_session, subject, tmp))
    for day in (dt.date(2029, 9, 15), dt.date(2029, 11, 16)):  # 61 days before; the day after expiry
        with clock.frozen(day), pytest.raises(Conflict) as exc:
            svc.submit(db_session, actor=subject, application_id=app.id)
        assert exc.value.code == "outside_renewal_window"
    with clock.frozen(dt.date(2029, 9, 16)):  # exactly 60 days before
        svc.submit(db_session, actor=subject, application_id=app.id)
    assert app.state == "submitted"


def test_renewal_on_the_expiry_day_itself(db_session, issue, subject, clerk, tmp):
    issued = issue(on=dt.date(2026, 11, 16), **LONG_AUTHORISATION)
    _, new = renew(db_session, subject, clerk, tmp, issued.cert.registration_id, on=dt.date(2029, 11, 15))
    assert (new.valid_from, new.valid_until) == (dt.date(2029, 11, 16), dt.date(2032, 11, 15))


def test_renewal_is_cut_short_by_an_authorisation_ending_early(db_session, issue, subject, clerk, tmp):
    issued = issue(on=dt.date(2026, 11, 16), resource={"authorization_end": "2030-06-30"})
    assert issued.cert.valid_until == dt.date(2029, 11, 15)  # a resource's first term is not capped
    _, new = renew(db_session, subject, clerk, tmp, issued.cert.registration_id, on=dt.date(2029, 10, 1))
    assert (new.valid_from, new.valid_until) == (dt.date(2029, 11, 16), dt.date(2030, 6, 30))


def test_no_renewal_once_the_authorisation_has_ended(db_session, issue, subject, clerk, tmp):
    issued = issue(on=dt.date(2026, 11, 16), resource={"authorization_end": "2029-11-15"})
    app = svc.create_application(db_session, actor=subject, kind="renewal",
                                 registration_id=issued.cert.registration_id,
                                 documents=documents(db_session, subject, tmp))
    with clock.frozen(dt.date(2029, 10, 1)), pytest.raises(Conflict) as exc:
        svc.submit(db_session, actor=subject, application_id=app.id)
    assert exc.value.code == "authorization_ended" and "2029-11-15" in exc.value.detail
    assert issued.cert.status == "valid"


def test_a_product_ending_with_its_authorisation_cannot_be_renewed_past_it(db_session, issue, subject, clerk, tmp):
    product = {"product_type": "model", "source_registration_name": "全省公路路网运行监测数据",
               "source_registration_code": "GSDJ-2026-00000001-0", "authorization_start": "2026-01-01",
               "authorization_end": "2028-06-30", "purpose": "拥堵预测"}
    issued = issue(on=dt.date(2026, 11, 16), basic={"registration_type": "data_product", "name": "路况预测模型"},
                   product=product, resource={})
    assert issued.cert.valid_until == dt.date(2028, 6, 30)
    app = svc.create_application(db_session, actor=subject, kind="renewal",
                                 registration_id=issued.cert.registration_id,
                                 documents=documents(db_session, subject, tmp))
    with clock.frozen(dt.date(2028, 6, 1)), pytest.raises(Conflict) as exc:
        svc.submit(db_session, actor=subject, application_id=app.id)
    assert exc.value.code == "authorization_ended"
