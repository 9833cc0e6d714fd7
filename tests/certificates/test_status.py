"""Every public status: 有效 / 已过期 / 已注销 / 已撤销 / 异议中 / 已更新, through the service and the API."""

from __future__ import annotations

import datetime as dt

import pytest

from pubdata import clock
from pubdata.certificates import status as status_mod
from pubdata.certificates.revocation import revoke
from pubdata.certificates.signing import published_keys
from pubdata.certificates.verify import lookup
from pubdata.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests.certificates.support import cancel, renew


def _status(db_session, settings, number, today):  # type: ignore[no-untyped-def]
    view = lookup(db_session, number, keys=published_keys(settings), today=today)
    return view.status.code, view.status.label, view.status.date


def test_valid_then_expired_by_date(db_session, issue, settings):
    issued = issue(on=dt.date(2026, 11, 16))
    assert _status(db_session, settings, issued.number, dt.date(2029, 11, 15)) == ("valid", "有效", None)
    assert _status(db_session, settings, issued.number, dt.date(2029, 11, 16)) == (
        "expired", "已过期", dt.date(2029, 11, 15))


def test_cancelled_on_the_subjects_application(db_session, issue, settings, subject, clerk, tmp):
    issued = issue(on=dt.date(2026, 11, 16))
    cancel(db_session, subject, clerk, tmp, issued.cert, on=dt.date(2027, 3, 1))
    code, label, day = _status(db_session, settings, issued.number, dt.date(2027, 3, 2))
    assert (code, label, day) == ("cancelled", "已注销", dt.date(2027, 3, 1))


def test_revoked_with_the_date(db_session, issue, settings, clerk, subject):
    issued = issue(on=dt.date(2026, 11, 16))
    with clock.frozen(dt.date(2027, 5, 20)):
        with pytest.raises(PermissionDenied):
            revoke(db_session, actor=subject, registration_id=issued.cert.registration_id, reasons="x",
                   date=dt.date(2027, 5, 20))
        with pytest.raises(ValidationFailed) as exc:
            revoke(db_session, actor=clerk, registration_id=issued.cert.registration_id, reasons=" ",
                   date=dt.date(2027, 5, 21))
        assert {e.field for e in exc.value.errors} == {"reasons", "date"}
        reg = revoke(db_session, actor=clerk, registration_id=issued.cert.registration_id,
                     reasons="登记主体伪造数据来源证明材料", date=dt.date(2027, 5, 18))
        with pytest.raises(Conflict):
            revoke(db_session, actor=clerk, registration_id=reg.id, reasons="再次", date=dt.date(2027, 5, 18))
    assert reg.status == "revoked" and issued.cert.status == "revoked"
    view = lookup(db_session, issued.number, keys=published_keys(settings), today=dt.date(2027, 5, 20))
    assert (view.status.code, view.status.label, view.status.date) == ("revoked", "已撤销", dt.date(2027, 5, 18))
    assert "2027年05月18日" in (view.status.note or "")
    assert "伪造" not in str(view.as_dict())  # the grounds stay with the decision, not on the public page
    assert view.signature_valid  # revoked, but still the authentic certificate


def test_under_objection_through_the_hook(db_session, issue, settings, monkeypatch):
    issued = issue(on=dt.date(2026, 11, 16))
    calls = []

    def open_objection(session, cert):  # type: ignore[no-untyped-def]
        calls.append(cert.number)
        return "登记后有异议正在处理中（第三十三条）。" if cert.number == issued.number else None

    monkeypatch.setattr(status_mod, "OBJECTION_HOOKS", [open_objection])
    code, label, _ = _status(db_session, settings, issued.number, dt.date(2027, 1, 5))
    assert (code, label) == ("objection", "异议中") and calls == [issued.number]
    # A definitive status outranks a pending objection.
    assert _status(db_session, settings, issued.number, dt.date(2030, 1, 1))[0] == "expired"


def test_superseded_by_a_renewal_and_the_new_one_says_from_when(db_session, issue, settings, subject, clerk, tmp):
    issued = issue(on=dt.date(2026, 11, 16))
    _, new = renew(db_session, subject, clerk, tmp, issued.cert.registration_id, on=dt.date(2029, 10, 1))
    old = lookup(db_session, issued.number, keys=published_keys(settings), today=dt.date(2029, 10, 2))
    assert (old.status.code, old.status.label, old.superseded_by) == ("superseded", "已更新", new.number)
    assert old.status.date == dt.date(2029, 10, 1) and new.number in (old.status.note or "")
    fresh = lookup(db_session, new.number, keys=published_keys(settings), today=dt.date(2029, 10, 2))
    assert (fresh.status.code, fresh.status.date) == ("valid", dt.date(2029, 11, 16))
    assert fresh.supersedes == issued.number and fresh.certificate_version == 2 and fresh.signature_valid
    assert "起生效" in (fresh.status.note or "")
    in_force = lookup(db_session, new.number, keys=published_keys(settings), today=dt.date(2029, 11, 16))
    assert in_force.status.note is None


def test_unknown_and_malformed_numbers_are_not_found_in_chinese(db_session, settings):
    with pytest.raises(NotFound) as exc:
        lookup(db_session, "GSPZ-2026-99999999-" + _check("GSPZ202699999999"), keys=published_keys(settings))
    assert exc.value.code == "certificate_not_found" and "未找到" in exc.value.detail
    with pytest.raises(NotFound) as exc:
        lookup(db_session, "not-a-number", keys=published_keys(settings))
    assert "格式不正确" in exc.value.detail


def _check(body: str) -> str:
    from stdnum.iso7064 import mod_37_36

    return mod_37_36.calc_check_digit(body)


def test_the_api_shows_each_status(client, db_session, issue, subject, clerk, tmp):
    issued = issue(on=dt.date(2026, 11, 16))
    other = issue(on=dt.date(2026, 11, 16), basic={"name": "全省道路运输车辆动态监控数据"})
    cancel(db_session, subject, clerk, tmp, other.cert, on=dt.date(2027, 3, 1))
    db_session.commit()
    with clock.frozen(dt.date(2027, 3, 2)):
        body = client.get(f"/api/v1/public/certificates/{issued.number.lower()}").json()
        gone = client.get(f"/api/v1/public/certificates/{other.number}").json()
        missing = client.get("/api/v1/public/certificates/GSPZ-2026-00000999-X")
    assert (body["status"], body["status_code"], body["signature_valid"]) == ("有效", "valid", True)
    assert body["number"] == issued.number and body["subject_uscc"] and body["summary"]
    assert (gone["status"], gone["status_date"]) == ("已注销", "2027-03-01")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["code"] == "certificate_not_found"
    assert {"content", "documents", "details", "end_reason", "reminded_on"}.isdisjoint(body)
