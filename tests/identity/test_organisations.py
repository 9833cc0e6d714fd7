"""Organisations, roles and real-name verification (REG-3, REG-16, REG-36)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from pubdata.audit import AuditEvent
from pubdata.audit.service import history
from pubdata.demo import make_uscc
from pubdata.errors import Conflict, PermissionDenied, ValidationFailed
from pubdata.identity import organisations as orgs
from pubdata.identity.access import require
from pubdata.identity.permissions import Permission
from pubdata.identity.roles import Role
from pubdata.workflow import IllegalTransition
from tests.factories import SYSTEM, actor_of, make_org, make_user


def _create(db, **kw):  # type: ignore[no-untyped-def]
    args = {"name": "甘肃省测试厅", "uscc": make_uscc("11620000", 77777), "kind": "党政机关", "region_code": "620000"}
    args.update(kw)
    return orgs.create_organisation(db, actor=SYSTEM, **args)


def test_organisation_starts_unverified_and_creation_is_audited(db_session):
    org = _create(db_session)
    assert org.verification_status == "unverified"
    [event] = history(db_session, object_type="organisation", object_id=org.id)
    assert event.tag == "identity:organisation:created"
    assert event.changes["uscc"] == [None, org.uscc]


@pytest.mark.parametrize(
    ("uscc", "code"),
    [("91110000600037341X", "uscc_checksum"), ("9111000060003734", "uscc_length"), ("", "uscc_length")],
)
def test_invalid_social_credit_code_is_refused_at_its_field(db_session, uscc, code):
    with pytest.raises(ValidationFailed) as exc:
        _create(db_session, uscc=uscc)
    assert [(e.field, e.code) for e in exc.value.errors] == [("uscc", code)]


def test_every_problem_is_reported_at_once(db_session):
    with pytest.raises(ValidationFailed) as exc:
        _create(db_session, name="", uscc="123", kind="公司", region_code="999999")
    assert {e.field for e in exc.value.errors} == {"name", "uscc", "kind", "region_code"}
    assert all(e.message for e in exc.value.errors)


def test_unknown_region_is_refused(db_session):
    with pytest.raises(ValidationFailed) as exc:
        _create(db_session, region_code="629999")
    assert exc.value.errors[0].code == "unknown_region"


def test_duplicate_organisation_is_refused_and_nothing_half_written(db_session):
    _create(db_session)
    before = db_session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
    with pytest.raises(Conflict) as exc:
        _create(db_session, name="另一个名字")
    assert exc.value.code == "duplicate_organisation"
    assert db_session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) == before


def test_data_authority_needs_level_and_region(db_session):
    with pytest.raises(ValidationFailed) as exc:
        _create(db_session, roles=[orgs.RoleSpec(Role.DATA_AUTHORITY)])
    assert {e.field for e in exc.value.errors} == {"roles.0.authority_level", "roles.0.region_code"}


def test_industry_department_needs_known_industry_codes(db_session):
    with pytest.raises(ValidationFailed) as exc:
        _create(db_session, roles=[orgs.RoleSpec(Role.INDUSTRY_DEPARTMENT, industry_codes=("84", "ZZ"))])
    assert [(e.field, e.code) for e in exc.value.errors] == [("roles.0.industry_codes.1", "unknown_industry")]


def test_reg16_only_the_data_authority_grants_institution_roles(db_session):
    subject = actor_of(make_user(db_session, Role.REGISTRATION_SUBJECT))
    with pytest.raises(PermissionDenied):
        orgs.create_organisation(db_session, actor=subject, name="假登记机构", uscc=make_uscc("12620000", 1),
                                 kind="事业单位", region_code="620000",
                                 roles=[orgs.RoleSpec(Role.REGISTRATION_INSTITUTION)])
    authority = actor_of(make_user(db_session, Role.DATA_AUTHORITY))
    target = make_org(db_session)
    orgs.grant_role(db_session, actor=authority, org_id=target.id, spec=orgs.RoleSpec(Role.REGISTRATION_INSTITUTION))
    assert [r.role for r in target.active_roles] == ["registration_institution"]
    with pytest.raises(Conflict):
        orgs.grant_role(db_session, actor=authority, org_id=target.id,
                        spec=orgs.RoleSpec(Role.REGISTRATION_INSTITUTION))


def test_revoked_role_is_kept_with_its_revocation_time(db_session):
    authority = actor_of(make_user(db_session, Role.DATA_AUTHORITY))
    target = make_org(db_session, Role.OPERATOR)
    orgs.revoke_role(db_session, actor=authority, org_id=target.id, role=Role.OPERATOR, reason="协议终止")
    db_session.refresh(target)
    assert target.active_roles == []
    assert target.roles[0].revoked_at is not None


def test_reg36_unverified_organisation_can_draft_but_not_submit(db_session):
    actor = actor_of(make_user(db_session, Role.REGISTRATION_SUBJECT, verified=False))
    require(actor, Permission.DRAFT_WRITE)
    with pytest.raises(PermissionDenied) as exc:
        require(actor, Permission.SUBMIT)
    assert exc.value.code == "organisation_unverified"


def test_reg36_verification_records_decision_reviewer_and_evidence(db_session):
    institution = actor_of(make_user(db_session, Role.REGISTRATION_INSTITUTION))
    applicant_user = make_user(db_session, Role.REGISTRATION_SUBJECT, verified=False)
    applicant = actor_of(applicant_user)
    org_id = applicant_user.organisation_id
    evidence = {k: f"材料{i}" for i, k in enumerate(orgs.EVIDENCE_FIELDS)}
    orgs.request_verification(db_session, actor=applicant, org_id=org_id, evidence=evidence)
    assert [v.organisation_id for v in orgs.pending_verifications(db_session, actor=institution)] == [org_id]
    org = orgs.decide_verification(db_session, actor=institution, org_id=org_id, action="approve",
                                   checked_evidence="核对营业执照原件")
    assert org.verification_status == "verified" and org.verified_at is not None
    req = orgs.latest_verification(db_session, org_id=org_id)
    assert req is not None
    assert (req.decision, req.reviewer_id, req.reviewer_org_id) == ("verified", institution.user_id, institution.org_id)
    assert req.evidence["checked_by_reviewer"] == "核对营业执照原件"
    tags = [e.tag for e in history(db_session, object_type="organisation", object_id=org_id)]
    assert tags[-2:] == ["identity:organisation:verification_requested", "identity:organisation:verification_approved"]
    require(actor_of(applicant_user), Permission.SUBMIT)


def test_reg36_rejection_needs_a_reason_and_allows_resubmission(db_session):
    institution = actor_of(make_user(db_session, Role.REGISTRATION_INSTITUTION))
    user = make_user(db_session, Role.REGISTRATION_SUBJECT, verified=False)
    evidence = {k: "x" for k in orgs.EVIDENCE_FIELDS}
    orgs.request_verification(db_session, actor=actor_of(user), org_id=user.organisation_id, evidence=evidence)
    with pytest.raises(ValidationFailed):
        orgs.decide_verification(db_session, actor=institution, org_id=user.organisation_id, action="reject")
    orgs.decide_verification(db_session, actor=institution, org_id=user.organisation_id, action="reject",
                             reason="授权书缺少公章")
    orgs.request_verification(db_session, actor=actor_of(user), org_id=user.organisation_id, evidence=evidence)
    assert orgs.get_organisation(db_session, org_id=user.organisation_id).verification_status == "pending"


ILLEGAL = [
    ("unverified", "approve"), ("unverified", "reject"), ("unverified", "suspend"), ("unverified", "reinstate"),
    ("pending", "request"), ("pending", "suspend"), ("pending", "reinstate"),
    ("verified", "request"), ("verified", "approve"), ("verified", "reject"), ("verified", "reinstate"),
    ("rejected", "approve"), ("rejected", "reject"), ("rejected", "suspend"), ("rejected", "reinstate"),
    ("suspended", "approve"), ("suspended", "reject"), ("suspended", "suspend"), ("suspended", "request"),
]


def test_illegal_transition_list_covers_every_pair_outside_the_table():
    states = {"unverified", "pending", "verified", "rejected", "suspended"}
    actions = {"request", "approve", "reject", "suspend", "reinstate"}
    outside = {(s, a) for s in states for a in actions} - set(orgs.VERIFICATION.transitions)
    assert outside == set(ILLEGAL)


@pytest.mark.parametrize(("state", "action"), ILLEGAL)
def test_illegal_verification_transition_is_refused(db_session, state, action):
    institution = actor_of(make_user(db_session, Role.REGISTRATION_INSTITUTION))
    user = make_user(db_session, Role.REGISTRATION_SUBJECT, verified=False)
    org = orgs.get_organisation(db_session, org_id=user.organisation_id)
    path = {"unverified": [], "pending": ["request"], "verified": ["request", "approve"],
            "rejected": ["request", "reject"], "suspended": ["request", "approve", "suspend"]}[state]
    evidence = {k: "x" for k in orgs.EVIDENCE_FIELDS}

    def act(a: str) -> None:
        if a == "request":
            orgs.request_verification(db_session, actor=actor_of(user), org_id=org.id, evidence=evidence)
        else:
            orgs.decide_verification(db_session, actor=institution, org_id=org.id, action=a, reason="理由",
                                     checked_evidence="材料")

    for step in path:
        act(step)
    assert org.verification_status == state
    with pytest.raises(IllegalTransition) as exc:
        act(action)
    assert exc.value.status == 409 and exc.value.code == "illegal_transition"
    assert org.verification_status == state


def test_institution_cannot_verify_itself(db_session):
    user = make_user(db_session, Role.REGISTRATION_INSTITUTION)
    actor = actor_of(user)
    with pytest.raises(PermissionDenied) as exc:
        orgs.decide_verification(db_session, actor=actor, org_id=user.organisation_id, action="suspend", reason="x")
    assert exc.value.code == "self_verification"


def test_only_institutions_verify(db_session):
    subject = actor_of(make_user(db_session, Role.REGISTRATION_SUBJECT))
    other = make_org(db_session, verified=False)
    with pytest.raises(PermissionDenied):
        orgs.decide_verification(db_session, actor=subject, org_id=other.id, action="approve", checked_evidence="x")


def test_stale_version_is_refused(db_session):
    institution = actor_of(make_user(db_session, Role.REGISTRATION_INSTITUTION))
    user = make_user(db_session, Role.REGISTRATION_SUBJECT, verified=False)
    org = orgs.get_organisation(db_session, org_id=user.organisation_id)
    seen = org.version
    orgs.request_verification(db_session, actor=actor_of(user), org_id=org.id,
                              evidence={k: "x" for k in orgs.EVIDENCE_FIELDS}, version=seen)
    with pytest.raises(Conflict) as exc:
        orgs.decide_verification(db_session, actor=institution, org_id=org.id, action="approve",
                                 checked_evidence="x", version=seen)
    assert exc.value.code == "stale_version"


def test_a_subject_sees_only_its_own_organisation(db_session):
    mine = make_user(db_session, Role.REGISTRATION_SUBJECT)
    other = make_org(db_session)
    actor = actor_of(mine)
    assert orgs.view_organisation(db_session, actor=actor, org_id=mine.organisation_id).id == mine.organisation_id
    with pytest.raises(PermissionDenied):
        orgs.view_organisation(db_session, actor=actor, org_id=other.id)
