"""The institution's periodic report (REG-19(七)): generated from platform data for a chosen period, as JSON and
as plain text / CSV downloads; the institution reads its own, the authority and regulators those in scope."""

from __future__ import annotations

import datetime as dt

import pytest

from pubdata import clock
from pubdata.audit import Actor
from pubdata.errors import PermissionDenied
from pubdata.identity.roles import Role
from pubdata.registry import applications as svc
from pubdata.registry.certificates import certify
from pubdata.supervision import measures, reports
from tests.factories import make_user
from tests.registry.support import submitted_first
from tests.supervision.support import authority, institution, subject_in, token


def _history(db, tmp):  # type: ignore[no-untyped-def]
    clerk = institution(db, "620100", username="rptclerk")
    subject = subject_in(db, "620100")
    with clock.frozen(dt.date(2026, 9, 22)):
        done = submitted_first(db, subject, tmp, basic={"name": "已发证数据"})
        refused = submitted_first(db, subject, tmp, basic={"name": "不予受理数据"})
        waiting = submitted_first(db, subject, tmp, basic={"name": "待受理数据"})
    with clock.frozen(dt.date(2026, 9, 25)):
        svc.accept(db, actor=clerk, application_id=done.id)
        svc.not_accept(db, actor=clerk, application_id=refused.id, reasons="非公共数据")
    with clock.frozen(dt.date(2026, 10, 20)):
        svc.pass_review(db, actor=clerk, application_id=done.id)
    with clock.frozen(dt.date(2026, 11, 16)):
        certify(db, actor=Actor.system("test"), application=done)
    return clerk, waiting


def test_report_figures_for_a_period(db_session, tmp_path):
    clerk, waiting = _history(db_session, tmp_path)
    city = authority(db_session, "620100")
    with clock.frozen(dt.date(2026, 11, 30)):
        measures.record_measure(db_session, actor=city, institution_org_id=clerk.org_id, kind="interview",
                                grounds=["improper_performance"], facts="受理逾期")
        data = reports.periodic_report(db_session, actor=clerk, institution_org_id=clerk.org_id,
                                       start=dt.date(2026, 9, 1), end=dt.date(2026, 11, 30))
    assert data["received"] == {"total": 3, "by_kind": {"first": 3}}
    assert data["acceptance"] == {"decided": 2, "accepted": 1, "not_accepted": 1, "on_time": 2, "late": 0}
    assert data["review"]["decided"] == 1 and data["review"]["passed"] == 1 and data["review"]["on_time"] == 1
    assert data["certificates_issued"] == 1
    assert data["open_now"] == {"submitted": 1}
    [overdue] = data["overdue_now"]
    assert overdue["application_id"] == waiting.id and overdue["step"] == "acceptance"
    assert [m["kind"] for m in data["measures"]] == ["interview"]
    text = reports.render_text(data)
    assert "工作情况报告" in text and "发放电子凭证（份）：1" in text and "当前逾期未办" in text
    csv = reports.render_csv(data)
    assert csv.startswith("\ufeff栏目,项目,数值\r\n") and "受理（第二十六条）,不予受理,1" in csv
    # A period before anything happened has nothing in it but what is open today.
    with clock.frozen(dt.date(2026, 11, 30)):
        empty = reports.periodic_report(db_session, actor=city, institution_org_id=clerk.org_id,
                                        start=dt.date(2026, 1, 1), end=dt.date(2026, 6, 30))
    assert empty["received"]["total"] == 0 and empty["acceptance"]["decided"] == 0 and empty["measures"] == []


def test_who_may_read_the_report(db_session, tmp_path):
    clerk, _ = _history(db_session, tmp_path)
    other_clerk = institution(db_session, "620100")
    with pytest.raises(PermissionDenied) as exc:
        reports.periodic_report(db_session, actor=other_clerk, institution_org_id=clerk.org_id)
    assert exc.value.code == "other_organisation"
    with pytest.raises(PermissionDenied) as region:
        reports.periodic_report(db_session, actor=authority(db_session, "620200"), institution_org_id=clerk.org_id)
    assert region.value.code == "out_of_region"
    regulator = make_user(db_session, Role.REGULATOR)
    from tests.factories import actor_of

    assert reports.periodic_report(db_session, actor=actor_of(regulator), institution_org_id=clerk.org_id)
    with pytest.raises(PermissionDenied):
        reports.periodic_report(db_session, actor=subject_in(db_session), institution_org_id=clerk.org_id)


def test_report_downloads_over_the_api(client, db_session, tmp_path):
    clerk, _ = _history(db_session, tmp_path)
    db_session.commit()
    h = token(client, "rptclerk")
    base = f"/api/v1/supervision/institutions/{clerk.org_id}/report"
    with clock.frozen(dt.date(2026, 11, 30)):
        r = client.get(f"{base}?start=2026-09-01&end=2026-11-30", headers=h)
        assert r.status_code == 200, r.text
        assert r.json()["period"] == {"start": "2026-09-01", "end": "2026-11-30"}
        assert r.json()["certificates_issued"] == 1
        txt = client.get(f"{base}/download?start=2026-09-01&end=2026-11-30", headers=h)
        assert txt.status_code == 200 and txt.headers["content-type"].startswith("text/plain")
        assert 'filename="report-' in txt.headers["content-disposition"] and "【受理（第二十六条）】" in txt.text
        csv = client.get(f"{base}/download?format=csv&start=2026-09-01&end=2026-11-30", headers=h)
        assert csv.headers["content-type"].startswith("text/csv") and csv.content.startswith(b"\xef\xbb\xbf")
        assert client.get(f"{base}?start=2026-12-01&end=2026-11-01", headers=h).status_code == 422
