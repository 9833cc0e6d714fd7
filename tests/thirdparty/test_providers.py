"""Third-party service organisations register with their service kinds (REG-21, REG-22(一)); the authority may
suspend them."""

from __future__ import annotations

import pytest

from pubdata.audit.service import history
from pubdata.errors import Conflict, PermissionDenied, ValidationFailed
from pubdata.identity.roles import Role
from pubdata.thirdparty import providers
from tests.supervision.support import R, actor_in, authority, make_org, subject_in, token
from tests.thirdparty.support import provider


def test_register_list_and_update(db_session):
    tp = provider(db_session, "evidence", "audit")
    p = providers.get_provider(db_session, org_id=tp.org_id)
    assert p.service_kinds == ["evidence", "audit"] and p.status == "active"
    assert [e.tag for e in history(db_session, object_type="third_party_provider", object_id=p.id)] == [
        "thirdparty:provider:registered"]
    other = provider(db_session, "assessment")
    anyone = subject_in(db_session)
    listed = [o.id for _, o in providers.list_providers(db_session, actor=anyone, kind="audit")]
    assert listed == [tp.org_id] and other.org_id not in listed
    providers.update_provider(db_session, actor=tp, org_id=tp.org_id, service_kinds=["assessment"],
                              qualifications="新资质", version=p.version)
    assert p.service_kinds == ["assessment"]
    with pytest.raises(Conflict) as stale:
        providers.update_provider(db_session, actor=tp, org_id=tp.org_id, service_kinds=["audit"],
                                  qualifications="x", version=1)
    assert stale.value.code == "stale_version"
    with pytest.raises(PermissionDenied):
        providers.update_provider(db_session, actor=other, org_id=tp.org_id, service_kinds=["audit"],
                                  qualifications="x")


def test_bad_registrations_are_refused(db_session):
    org = make_org(db_session, R(Role.THIRD_PARTY))
    tp = actor_in(db_session, org)
    with pytest.raises(ValidationFailed) as exc:
        providers.register_provider(db_session, actor=tp, service_kinds=["evidence", "consulting"],
                                    qualifications=" ", contact_phone="1" * 30)
    assert {(e.field, e.code) for e in exc.value.errors} == {
        ("service_kinds.1", "unknown_kind"), ("qualifications", "required"), ("contact_phone", "too_long")}
    with pytest.raises(ValidationFailed) as none:
        providers.register_provider(db_session, actor=tp, service_kinds=[], qualifications="x")
    assert none.value.errors[0].field == "service_kinds"
    providers.register_provider(db_session, actor=tp, service_kinds=["evidence"], qualifications="资质")
    with pytest.raises(Conflict) as dup:
        providers.register_provider(db_session, actor=tp, service_kinds=["evidence"], qualifications="资质")
    assert dup.value.code == "duplicate_provider"
    unverified = actor_in(db_session, make_org(db_session, R(Role.THIRD_PARTY), verified=False))
    with pytest.raises(PermissionDenied) as unv:
        providers.register_provider(db_session, actor=unverified, service_kinds=["audit"], qualifications="x")
    assert unv.value.code == "organisation_unverified"
    with pytest.raises(PermissionDenied):
        providers.register_provider(db_session, actor=subject_in(db_session), service_kinds=["audit"],
                                    qualifications="x")


def test_authority_suspends_and_reinstates(db_session):
    tp = provider(db_session, region="620100")
    with pytest.raises(PermissionDenied) as region:
        providers.set_status(db_session, actor=authority(db_session, "620200"), org_id=tp.org_id, action="suspend",
                             reason="x")
    assert region.value.code == "out_of_region"
    province = authority(db_session)
    with pytest.raises(ValidationFailed):
        providers.set_status(db_session, actor=province, org_id=tp.org_id, action="suspend", reason="")
    p = providers.set_status(db_session, actor=province, org_id=tp.org_id, action="suspend", reason="报告失实")
    assert p.status == "suspended"
    assert providers.list_providers(db_session, actor=province) == []
    with pytest.raises(Conflict):
        providers.set_status(db_session, actor=province, org_id=tp.org_id, action="suspend", reason="again")
    providers.set_status(db_session, actor=province, org_id=tp.org_id, action="reinstate", reason="已整改")
    assert p.status == "active"


def test_provider_routes(client, db_session):
    org = make_org(db_session, R(Role.THIRD_PARTY))
    actor_in(db_session, org, "tpapi")
    db_session.commit()
    h = token(client, "tpapi")
    r = client.post("/api/v1/third-parties", json={"service_kinds": ["evidence"], "qualifications": "资质"}, headers=h)
    assert r.status_code == 201 and r.json()["service_labels"] == ["存证"]
    r = client.post("/api/v1/third-parties", json={"service_kinds": [], "qualifications": ""}, headers=h)
    assert r.status_code == 422 and {e["field"] for e in r.json()["errors"]} == {"service_kinds", "qualifications"}
    r = client.post("/api/v1/third-parties", json={"service_kinds": ["audit"], "qualifications": "资质"}, headers=h)
    assert r.status_code == 409 and r.json()["code"] == "duplicate_provider"
    listed = client.get("/api/v1/third-parties?kind=evidence", headers=h).json()
    assert [p["organisation_id"] for p in listed] == [org.id]
