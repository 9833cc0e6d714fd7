"""Industry departments see the registrations of their industries (REG-18): sections cover their divisions,
a registration filed at section level is seen by the departments of its divisions; drafts stay private."""

from __future__ import annotations

import pytest

from pubdata.errors import PermissionDenied
from pubdata.identity.roles import Role
from pubdata.registry import applications as svc
from pubdata.supervision import industry
from tests.registry.support import registered, resource_content, submitted_first
from tests.supervision.support import R, actor_in, institution, make_org, subject_in, token


def department(db, *codes: str, region: str | None = None, username: str | None = None):  # type: ignore[no-untyped-def]
    org = make_org(db, R(Role.INDUSTRY_DEPARTMENT, region_code=region, industry_codes=codes))
    return actor_in(db, org, username)


def test_department_sees_its_industries(db_session, tmp_path):
    clerk = institution(db_session)
    subject = subject_in(db_session)
    roads = registered(db_session, subject, clerk, tmp_path, basic={"name": "道路数据", "industries": ["54"]})
    health = submitted_first(db_session, subject, tmp_path, basic={"name": "卫生数据", "industries": ["84"]})
    transport = submitted_first(db_session, subject, tmp_path, basic={"name": "交通门类数据", "industries": ["G"]})
    draft = svc.create_application(db_session, actor=subject, kind="first",
                                   content=resource_content(db_session, subject, tmp_path, name="草稿数据"))
    section_g = department(db_session, "G")
    division_54 = department(db_session, "54")
    division_84 = department(db_session, "84")

    def seen(actor):  # type: ignore[no-untyped-def]
        return {r.registration.id for r in industry.industry_registrations(db_session, actor=actor)}

    assert seen(section_g) == {roads.registration_id, transport.registration_id}
    assert seen(division_54) == {roads.registration_id, transport.registration_id}
    assert seen(division_84) == {health.registration_id}
    assert draft.registration_id not in seen(section_g) | seen(division_84)
    [item] = industry.industry_registrations(db_session, actor=division_54, status="registered")
    assert item.matched == ["54"] and item.content["basic"]["name"] == "道路数据"
    assert industry.view_industry_registration(db_session, actor=division_84,
                                               registration_id=health.registration_id).matched == ["84"]
    with pytest.raises(PermissionDenied) as exc:
        industry.view_industry_registration(db_session, actor=division_84, registration_id=roads.registration_id)
    assert exc.value.code == "other_industry"


def test_department_limited_to_its_region(db_session, tmp_path):
    subject_lz, subject_jyg = subject_in(db_session, "620100"), subject_in(db_session, "620200")
    lz = submitted_first(db_session, subject_lz, tmp_path, basic={"name": "兰州道路"})
    submitted_first(db_session, subject_jyg, tmp_path, basic={"name": "嘉峪关道路"})
    city_dept = department(db_session, "54", region="620100")
    assert [r.registration.id for r in industry.industry_registrations(db_session, actor=city_dept)] == [
        lz.registration_id]


def test_industry_routes(client, db_session, tmp_path):
    subject = subject_in(db_session, username="indsubject")
    app = submitted_first(db_session, subject, tmp_path)
    department(db_session, "G", username="transportdept")
    db_session.commit()
    r = client.get("/api/v1/industry/registrations", headers=token(client, "transportdept"))
    assert r.status_code == 200 and [x["id"] for x in r.json()] == [app.registration_id]
    assert client.get("/api/v1/industry/registrations", headers=token(client, "indsubject")).status_code == 403
