"""Statistics derived from registrations (REG-40): visible to the authority; public only as releases the
authority approved; two approvals at once — one wins, the other gets 409."""

from __future__ import annotations

import datetime as dt
import tempfile

import pytest

from pubdata import clock
from pubdata.db.session import session_factory
from pubdata.db.testing import scratch_engine
from pubdata.errors import Conflict, PermissionDenied, ValidationFailed
from pubdata.registry import applications as svc
from pubdata.supervision import releases, stats
from pubdata.supervision.models import StatisticRelease
from tests.concurrency import race
from tests.registry.support import registered, submitted_first
from tests.supervision.support import authority, institution, subject_in, token

DAY = dt.date(2026, 9, 22)


def _registrations(db, tmp):  # type: ignore[no-untyped-def]
    clerk = institution(db)
    lz, jyg = subject_in(db, "620102"), subject_in(db, "620200")
    with clock.frozen(DAY):
        registered(db, lz, clerk, tmp, basic={"name": "道路数据", "industries": ["54", "G55"]})
        submitted_first(db, lz, tmp, basic={"name": "卫生数据", "industries": ["84"],
                                            "registration_type": "data_resource"})
        refused = submitted_first(db, jyg, tmp, basic={"name": "嘉峪关数据", "industries": ["54"]})
        svc.not_accept(db, actor=clerk, application_id=refused.id, reasons="非公共数据")
    with clock.frozen(DAY + dt.timedelta(days=60)):
        submitted_first(db, jyg, tmp, basic={"name": "期外数据"})  # outside the period below
    return clerk


def test_statistics_by_type_status_region_and_industry(db_session, tmp_path):
    _registrations(db_session, tmp_path)
    province = authority(db_session, "620000")
    with clock.frozen(DAY + dt.timedelta(days=90)):
        data = stats.statistics(db_session, actor=province, start=dt.date(2026, 9, 1), end=dt.date(2026, 9, 30))
    assert data["total"] == 3
    assert {r["code"]: r["count"] for r in data["by_status"]} == {"registered": 1, "pending": 1, "not_registered": 1}
    assert {r["code"]: r["count"] for r in data["by_type"]} == {"data_resource": 3}
    assert {(r["code"], r["label"], r["count"]) for r in data["by_region"]} == {
        ("620100", "兰州市", 2), ("620200", "嘉峪关市", 1)}
    # Two G divisions on one registration count once for G; a registration is counted in each section.
    assert {r["code"]: r["count"] for r in data["by_industry"]} == {"G": 2, "Q": 1}
    city = authority(db_session, "620100")
    with clock.frozen(DAY + dt.timedelta(days=90)):
        lz = stats.statistics(db_session, actor=city, start=dt.date(2026, 9, 1), end=dt.date(2026, 9, 30))
        assert lz["total"] == 2 and [r["code"] for r in lz["by_region"]] == ["620102"]
        with pytest.raises(PermissionDenied) as exc:
            stats.statistics(db_session, actor=city, region_code="620000")
        assert exc.value.code == "out_of_region"
        with pytest.raises(ValidationFailed):
            stats.statistics(db_session, actor=city, region_code="999999")
    with pytest.raises(PermissionDenied):
        stats.statistics(db_session, actor=subject_in(db_session))


def test_release_is_public_only_after_the_authority_approves(db_session, tmp_path):
    clerk = _registrations(db_session, tmp_path)
    province = authority(db_session, "620000")
    second = authority(db_session, "620000")
    with clock.frozen(DAY + dt.timedelta(days=90)):
        rel = releases.draft_release(db_session, actor=clerk, title="2026年9月登记统计",
                                     period_start=dt.date(2026, 9, 1), period_end=dt.date(2026, 9, 30))
    assert rel.state == "draft" and rel.snapshot["total"] == 3 and rel.region_code == "620000"
    assert releases.public_releases(db_session) == []
    with pytest.raises(PermissionDenied):  # the institution may draft but not consent (REG-40)
        releases.approve_release(db_session, actor=clerk, release_id=rel.id)
    with pytest.raises(PermissionDenied):  # a city authority does not consent for the province
        releases.approve_release(db_session, actor=authority(db_session, "620100"), release_id=rel.id)
    with pytest.raises(Conflict) as stale:
        releases.approve_release(db_session, actor=province, release_id=rel.id, version=rel.version + 1)
    assert stale.value.code == "stale_version"
    releases.approve_release(db_session, actor=province, release_id=rel.id, version=rel.version)
    assert [r.id for r in releases.public_releases(db_session)] == [rel.id]
    with pytest.raises(Conflict) as twice:
        releases.approve_release(db_session, actor=second, release_id=rel.id)
    assert twice.value.code == "illegal_transition"
    with pytest.raises(ValidationFailed):
        releases.withdraw_release(db_session, actor=second, release_id=rel.id, reason="")
    releases.withdraw_release(db_session, actor=second, release_id=rel.id, reason="数据口径有误")
    assert releases.public_releases(db_session) == [] and rel.state == "withdrawn"


def test_release_rules_four_eyes_reasons_and_bad_input(db_session):
    province = authority(db_session, "620000")
    with clock.frozen(dt.date(2026, 10, 1)):
        rel = releases.draft_release(db_session, actor=province, title="三季度", period_start=dt.date(2026, 7, 1),
                                     period_end=dt.date(2026, 9, 30))
        with pytest.raises(ValidationFailed) as exc:
            releases.draft_release(db_session, actor=province, title=" ", period_start=dt.date(2026, 9, 1),
                                   period_end=dt.date(2026, 12, 31))
    assert {(e.field, e.code) for e in exc.value.errors} == {("title", "required"),
                                                              ("period_end", "period_in_future")}
    with pytest.raises(PermissionDenied) as own:
        releases.approve_release(db_session, actor=province, release_id=rel.id)
    assert own.value.code == "own_draft"
    colleague = authority(db_session, "620000")
    with pytest.raises(ValidationFailed):
        releases.reject_release(db_session, actor=colleague, release_id=rel.id, reason="")
    releases.reject_release(db_session, actor=colleague, release_id=rel.id, reason="统计期不完整")
    assert rel.state == "rejected" and releases.public_releases(db_session) == []


def test_public_statistics_route_shows_only_approved_releases(client, db_session, tmp_path):
    _registrations(db_session, tmp_path)
    authority(db_session, "620000", username="statsdrafter")
    authority(db_session, "620000", username="statsapprover")
    db_session.commit()
    drafter, approver = token(client, "statsdrafter"), token(client, "statsapprover")
    with clock.frozen(DAY + dt.timedelta(days=90)):
        live = client.get("/api/v1/statistics?start=2026-09-01&end=2026-09-30", headers=drafter)
        assert live.status_code == 200 and live.json()["total"] == 3
        assert client.get("/api/v1/statistics").status_code == 401
        body = {"title": "九月统计", "period_start": "2026-09-01", "period_end": "2026-09-30"}
        first = client.post("/api/v1/statistics/releases", json=body, headers=drafter).json()
        second = client.post("/api/v1/statistics/releases", json={**body, "title": "另一份"}, headers=drafter).json()
        assert client.get("/api/v1/public/statistics").json() == []
        r = client.post(f"/api/v1/statistics/releases/{first['id']}/approve", json={"version": first["version"]},
                        headers=approver)
        assert r.status_code == 200 and r.json()["state"] == "approved"
        stale = client.post(f"/api/v1/statistics/releases/{first['id']}/approve",
                            json={"version": first["version"]}, headers=approver)
        assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    public = client.get("/api/v1/public/statistics").json()
    assert [p["id"] for p in public] == [first["id"]] and second["id"] not in [p["id"] for p in public]
    assert public[0]["statistics"]["total"] == 3 and public[0]["title"] == "九月统计"


def test_two_approvals_at_once_one_wins_the_other_gets_409():
    with scratch_engine() as engine, tempfile.TemporaryDirectory():
        maker = session_factory(engine)
        with maker() as s, s.begin():
            drafter = authority(s, "620000")
            approvers = [authority(s, "620000") for _ in range(2)]
            with clock.frozen(dt.date(2026, 10, 1)):
                rel = releases.draft_release(s, actor=drafter, title="并发", period_start=dt.date(2026, 7, 1),
                                             period_end=dt.date(2026, 9, 30))
            rel_id, seen = rel.id, rel.version

        outcomes = race(maker, lambda s: s.get(StatisticRelease, rel_id),
                        lambda s, i: releases.approve_release(s, actor=approvers[i], release_id=rel_id, version=seen))
        assert outcomes == ["409", "ok"]
        with maker() as s:
            final = s.get(StatisticRelease, rel_id)
            assert final is not None and final.state == "approved" and final.version == seen + 1
