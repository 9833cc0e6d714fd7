"""The authority sees every institution's workload, deadline compliance and overdue work (REG-16(五), REG-41);
a city authority only its region's institutions."""

from __future__ import annotations

import datetime as dt

import pytest

from pubdata import clock
from pubdata.errors import PermissionDenied, ValidationFailed
from pubdata.identity.roles import Role
from pubdata.registry import applications as svc
from pubdata.supervision import workload
from tests.factories import actor_of, make_user
from tests.registry.support import submitted_first
from tests.supervision.support import authority, institution, subject_in, token


def _scenario(db, tmp):  # type: ignore[no-untyped-def]
    lanzhou = institution(db, "620100", username="lzclerk")
    jiayuguan = institution(db, "620200", username="jygclerk")
    s1, s2 = subject_in(db, "620100"), subject_in(db, "620200")
    with clock.frozen(dt.date(2026, 9, 22)):
        a1 = submitted_first(db, s1, tmp, basic={"name": "兰州公交客流数据"})
        a2 = submitted_first(db, s1, tmp, basic={"name": "兰州出租车运行数据"})
        a3 = submitted_first(db, s2, tmp, basic={"name": "嘉峪关路网数据"})
    assert a1.acceptance_due == dt.date(2026, 9, 28)
    with clock.frozen(dt.date(2026, 9, 25)):
        svc.accept(db, actor=lanzhou, application_id=a1.id)  # on time
    with clock.frozen(dt.date(2026, 9, 29)):
        svc.accept(db, actor=lanzhou, application_id=a2.id)  # one day late
    with clock.frozen(dt.date(2026, 10, 30)):
        svc.pass_review(db, actor=lanzhou, application_id=a1.id)  # review due 10-29: one day late
    return lanzhou, jiayuguan, a1, a2, a3


def test_province_authority_sees_every_institution_with_compliance_and_overdue(db_session, tmp_path):
    lanzhou, jiayuguan, a1, a2, a3 = _scenario(db_session, tmp_path)
    province = authority(db_session, "620000")
    with clock.frozen(dt.date(2026, 10, 30)):
        start, end, loads = workload.workload(db_session, actor=province)
    assert (start, end) == (dt.date(2026, 1, 1), dt.date(2026, 10, 30))
    by_org = {w.institution_org_id: w for w in loads}
    lz, jyg = by_org[lanzhou.org_id], by_org[jiayuguan.org_id]
    assert lz.received == 2 and lz.open_by_state == {"in_notice": 1, "under_review": 1}
    assert (lz.decided, lz.on_time, lz.late) == (3, 1, 2) and lz.on_time_rate == pytest.approx(1 / 3, abs=1e-4)
    late = sorted((d.application_id, d.step, d.days_late) for d in lz.decisions if not d.on_time)
    assert late == sorted([(a2.id, "acceptance", 1), (a1.id, "review", 1)])
    assert lz.overdue == []
    # Nobody touched a3: it belongs to the institution competent for the subject's region, and it is overdue.
    assert jyg.open_by_state == {"submitted": 1} and jyg.decided == 0
    [item] = jyg.overdue
    assert (item.application_id, item.step, item.due, item.days_overdue) == (a3.id, "acceptance",
                                                                             dt.date(2026, 9, 28), 32)
    with clock.frozen(dt.date(2026, 10, 30)):
        [(owner, overdue)] = workload.overdue_work(db_session, actor=province)
    assert owner.institution_org_id == jiayuguan.org_id and overdue.application_id == a3.id


def test_city_authority_sees_only_its_region(db_session, tmp_path):
    lanzhou, *_ = _scenario(db_session, tmp_path)
    city = authority(db_session, "620100")
    with clock.frozen(dt.date(2026, 10, 30)):
        _, _, loads = workload.workload(db_session, actor=city)
    assert [w.institution_org_id for w in loads] == [lanzhou.org_id]


def test_period_filters_decisions_and_regulator_reads(db_session, tmp_path):
    lanzhou, *_ = _scenario(db_session, tmp_path)
    regulator = actor_of(make_user(db_session, Role.REGULATOR))
    with clock.frozen(dt.date(2026, 10, 30)):
        _, _, loads = workload.workload(db_session, actor=regulator, start=dt.date(2026, 9, 26),
                                        end=dt.date(2026, 9, 30))
    [lz] = [w for w in loads if w.institution_org_id == lanzhou.org_id]
    assert (lz.decided, lz.late, lz.received) == (1, 1, 0)


def test_bad_period_and_wrong_actor_are_refused(db_session):
    province = authority(db_session, "620000")
    with pytest.raises(ValidationFailed) as exc:
        workload.workload(db_session, actor=province, start=dt.date(2026, 5, 1), end=dt.date(2026, 4, 1))
    assert exc.value.errors[0].field == "end" and exc.value.errors[0].code == "period_reversed"
    subject = subject_in(db_session)
    with pytest.raises(PermissionDenied):
        workload.workload(db_session, actor=subject)


def test_decisions_of_every_ending(db_session, tmp_path):
    clerk = institution(db_session)
    subject = subject_in(db_session)
    with clock.frozen(dt.date(2026, 9, 22)):
        refused = submitted_first(db_session, subject, tmp_path, basic={"name": "甲数据"})
        failed = submitted_first(db_session, subject, tmp_path, basic={"name": "乙数据"})
    with clock.frozen(dt.date(2026, 9, 30)):
        svc.not_accept(db_session, actor=clerk, application_id=refused.id, reasons="材料不全")
        svc.accept(db_session, actor=clerk, application_id=failed.id)
    with clock.frozen(dt.date(2026, 10, 9)):
        svc.fail_review(db_session, actor=clerk, application_id=failed.id, reasons="内容不实")
    [d] = workload.decisions_of(refused)
    assert (d.step, d.decided_on, d.on_time, d.days_late) == ("acceptance", dt.date(2026, 9, 30), False, 2)
    steps = [(d.step, d.on_time) for d in workload.decisions_of(failed)]
    assert steps == [("acceptance", False), ("review", True)]


def test_workload_over_the_api(client, db_session, tmp_path):
    lanzhou, *_ = _scenario(db_session, tmp_path)
    authority(db_session, "620100", username="cityauth")
    subject_in(db_session, username="plainsubject")
    db_session.commit()
    with clock.frozen(dt.date(2026, 10, 30)):
        r = client.get("/api/v1/supervision/institutions", headers=token(client, "cityauth"))
        assert r.status_code == 200, r.text
        assert [i["institution_org_id"] for i in r.json()["institutions"]] == [lanzhou.org_id]
        assert r.json()["institutions"][0]["late"] == 2
        r = client.get("/api/v1/supervision/institutions?start=2026-05-01&end=2026-04-01",
                       headers=token(client, "cityauth"))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "end"
        assert client.get("/api/v1/supervision/overdue", headers=token(client, "plainsubject")).status_code == 403
