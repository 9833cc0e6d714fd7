"""Engaging third parties (REG-20, REG-22, REG-44): the 回避 check refuses the same organisation and declared
relations — parent, subsidiary, shared legal representative, groups, chains of them — to the subject (joint
applicants included) or the registration institution; reports attach to the registration."""

from __future__ import annotations

import pytest

from pubdata.audit.service import history
from pubdata.errors import Conflict, PermissionDenied, ValidationFailed
from pubdata.identity.models import Organisation
from pubdata.identity.roles import Role
from pubdata.registry import applications as svc
from pubdata.thirdparty import engagements, providers, relations
from tests.registry.support import resource_content, submitted_first, upload
from tests.supervision.support import R, actor_in, authority, institution, make_org, subject_in, token
from tests.thirdparty.support import provider


def draft(db, subject, tmp, name: str = "公交客流数据"):  # type: ignore[no-untyped-def]
    return svc.create_application(db, actor=subject, kind="first",
                                  content=resource_content(db, subject, tmp, name=name))


def refused(fn, *args, **kwargs) -> Conflict:  # type: ignore[no-untyped-def]
    with pytest.raises(Conflict) as exc:
        fn(*args, **kwargs)
    return exc.value


def test_engagement_for_a_draft_and_its_report_attach_to_the_registration(db_session, tmp_path):
    clerk = institution(db_session)
    subject = subject_in(db_session)
    tp = provider(db_session, "evidence")
    app = draft(db_session, subject, tmp_path)
    eng = engagements.engage(db_session, actor=subject, provider_org_id=tp.org_id, service_kind="evidence",
                             application_id=app.id, scope="对数据集摘要存证")
    assert (eng.state, eng.registration_id, eng.application_id) == ("engaged", app.registration_id, app.id)
    digest = upload(db_session, tp, tmp_path, "存证报告")
    report = engagements.file_report(db_session, actor=tp, engagement_id=eng.id, title="存证报告",
                                     digest=digest, conclusion="数据集摘要与存证一致", version=eng.version)
    assert eng.state == "reported" and report.kind == "evidence"
    tags = [e.tag for e in history(db_session, object_type="registration", object_id=app.registration_id)]
    assert "thirdparty:registration:engaged" in tags and "thirdparty:registration:report_attached" in tags
    for reader in (subject, clerk, tp):
        assert [r.id for r in engagements.reports_for_registration(
            db_session, actor=reader, registration_id=app.registration_id)] == [report.id]
    with pytest.raises(PermissionDenied):
        engagements.reports_for_registration(db_session, actor=subject_in(db_session),
                                             registration_id=app.registration_id)
    engagements.end(db_session, actor=subject, engagement_id=eng.id, reason="服务完成")
    assert eng.state == "ended"
    assert len(engagements.reports_for_registration(db_session, actor=subject,
                                                    registration_id=app.registration_id)) == 1


def test_the_same_organisation_cannot_serve_itself(db_session, tmp_path):
    org = make_org(db_session, R(Role.REGISTRATION_SUBJECT), R(Role.THIRD_PARTY))
    both = actor_in(db_session, org)
    providers.register_provider(db_session, actor=both, service_kinds=["assessment"], qualifications="资质")
    app = draft(db_session, both, tmp_path)
    err = refused(engagements.engage, db_session, actor=both, provider_org_id=org.id, service_kind="assessment",
                  registration_id=app.registration_id)
    assert err.code == "conflict_of_interest" and err.status == 409
    assert [(e.field, e.code) for e in err.errors] == [("provider_org_id", "same_organisation")]
    assert "同一单位" in err.errors[0].message


def test_a_subsidiary_of_the_subject_is_refused_until_the_relation_is_withdrawn(db_session, tmp_path):
    subject = subject_in(db_session, name="甲数据公司")
    tp = provider(db_session, name="甲评估公司")
    app = draft(db_session, subject, tmp_path)
    rel = relations.declare_relation(db_session, actor=tp, org_id=tp.org_id, related_org_id=subject.org_id,
                                     kind="subsidiary")
    err = refused(engagements.engage, db_session, actor=subject, provider_org_id=tp.org_id,
                  service_kind="assessment", registration_id=app.registration_id)
    [fe] = err.errors
    assert fe.code == "related_to_subject"
    assert "“甲评估公司” —隶属关系— “甲数据公司”" in fe.message and "第四十四条" in err.detail
    relations.withdraw_relation(db_session, actor=tp, relation_id=rel.id, reason="已剥离")
    engagements.engage(db_session, actor=subject, provider_org_id=tp.org_id, service_kind="assessment",
                       registration_id=app.registration_id)


def test_related_to_the_competent_or_the_acting_institution(db_session, tmp_path):
    lanzhou_inst = institution(db_session, "620100")
    jiayuguan_inst = institution(db_session, "620200")
    subject = subject_in(db_session, "620100")
    tp1, tp2 = provider(db_session), provider(db_session)
    app = submitted_first(db_session, subject, tmp_path)
    province = authority(db_session)
    relations.declare_relation(db_session, actor=province, org_id=tp1.org_id, related_org_id=lanzhou_inst.org_id,
                               kind="shared_legal_representative", note="法定代表人均为张三")
    err = refused(engagements.engage, db_session, actor=subject, provider_org_id=tp1.org_id,
                  service_kind="audit", registration_id=app.registration_id)
    assert [e.code for e in err.errors] == ["related_to_institution"] and "法定代表人相同" in err.errors[0].message
    # Jiayuguan's institution is not competent for a Lanzhou subject: its relative may serve … until it acts.
    relations.declare_relation(db_session, actor=tp2, org_id=tp2.org_id, related_org_id=jiayuguan_inst.org_id,
                               kind="parent")
    assert engagements.check(db_session, actor=subject, provider_org_id=tp2.org_id,
                             registration_id=app.registration_id) == []
    svc.accept(db_session, actor=jiayuguan_inst, application_id=app.id)
    [reason] = engagements.check(db_session, actor=subject, provider_org_id=tp2.org_id,
                                 registration_id=app.registration_id)
    assert "登记机构" in reason


def test_groups_and_chains_of_relations(db_session, tmp_path):
    subject = subject_in(db_session, name="丙公司")
    parent = subject_in(db_session, name="丙集团", prefix8="91620500", serial=22220001)
    tp = provider(db_session, name="丙审计所", prefix8="91620500", serial=22220002)
    app = draft(db_session, subject, tmp_path)
    code = db_session.get(Organisation, parent.org_id).uscc
    relations.declare_group(db_session, actor=parent, name="丙集团体系", uscc_prefix=code[:12])
    relations.declare_relation(db_session, actor=parent, org_id=parent.org_id, related_org_id=subject.org_id,
                               kind="parent")
    err = refused(engagements.engage, db_session, actor=subject, provider_org_id=tp.org_id, service_kind="audit",
                  registration_id=app.registration_id)
    msg = err.errors[0].message
    assert "“丙审计所” —同属“丙集团体系”" in msg and "“丙集团” —隶属关系— “丙公司”" in msg


def test_joint_applicants_are_subjects_too(db_session, tmp_path):
    subject, partner = subject_in(db_session), subject_in(db_session)
    tp = provider(db_session)
    app = draft(db_session, subject, tmp_path)
    svc.update_draft(db_session, actor=subject, application_id=app.id, joint_org_ids=[partner.org_id])
    relations.declare_relation(db_session, actor=partner, org_id=partner.org_id, related_org_id=tp.org_id,
                               kind="parent")
    err = refused(engagements.engage, db_session, actor=subject, provider_org_id=tp.org_id, service_kind="audit",
                  application_id=app.id)
    assert err.errors[0].code == "related_to_subject"


def test_a_relation_declared_after_engaging_blocks_the_report(db_session, tmp_path):
    subject = subject_in(db_session)
    tp = provider(db_session)
    app = draft(db_session, subject, tmp_path)
    eng = engagements.engage(db_session, actor=subject, provider_org_id=tp.org_id, service_kind="evidence",
                             registration_id=app.registration_id)
    relations.declare_relation(db_session, actor=subject, org_id=subject.org_id, related_org_id=tp.org_id,
                               kind="shared_legal_representative", note="同一法定代表人")
    digest = upload(db_session, tp, tmp_path, "报告")
    err = refused(engagements.file_report, db_session, actor=tp, engagement_id=eng.id, title="存证报告",
                  digest=digest, conclusion="一致")
    assert err.code == "conflict_of_interest" and eng.state == "engaged"


def test_bad_engagements_are_refused_with_reasons(db_session, tmp_path):
    clerk = institution(db_session)
    subject = subject_in(db_session)
    tp = provider(db_session, "evidence")
    app = draft(db_session, subject, tmp_path)
    reg = app.registration_id
    with pytest.raises(ValidationFailed) as exc:
        engagements.engage(db_session, actor=subject, provider_org_id=tp.org_id, service_kind="audit",
                           registration_id=reg)
    assert [(e.field, e.code) for e in exc.value.errors] == [("service_kind", "kind_not_offered")]
    with pytest.raises(ValidationFailed) as none:
        engagements.engage(db_session, actor=subject, provider_org_id=subject.org_id, service_kind="consulting",
                           registration_id=reg)
    assert {(e.field, e.code) for e in none.value.errors} == {("service_kind", "unknown_kind"),
                                                              ("provider_org_id", "provider_not_found")}
    with pytest.raises(ValidationFailed) as target:
        engagements.engage(db_session, actor=subject, provider_org_id=tp.org_id, service_kind="evidence")
    assert target.value.errors[0].field == "registration_id"
    with pytest.raises(PermissionDenied) as stranger:
        engagements.engage(db_session, actor=subject_in(db_session), provider_org_id=tp.org_id,
                           service_kind="evidence", registration_id=reg)
    assert stranger.value.code == "not_applicant"
    engagements.engage(db_session, actor=subject, provider_org_id=tp.org_id, service_kind="evidence",
                       registration_id=reg)
    assert refused(engagements.engage, db_session, actor=subject, provider_org_id=tp.org_id,
                   service_kind="evidence", registration_id=reg).code == "duplicate_engagement"
    providers.set_status(db_session, actor=authority(db_session), org_id=tp.org_id, action="suspend", reason="暂停")
    other = draft(db_session, subject, tmp_path, name="另一数据")
    assert refused(engagements.engage, db_session, actor=subject, provider_org_id=tp.org_id,
                   service_kind="evidence", registration_id=other.registration_id).code == "provider_suspended"
    closed = submitted_first(db_session, subject, tmp_path, basic={"name": "被拒数据"})
    svc.not_accept(db_session, actor=clerk, application_id=closed.id, reasons="非公共数据")
    tp2 = provider(db_session)
    assert refused(engagements.engage, db_session, actor=subject, provider_org_id=tp2.org_id,
                   service_kind="evidence", registration_id=closed.registration_id).code == "registration_closed"


def test_report_rules(db_session, tmp_path):
    subject = subject_in(db_session)
    tp, other_tp = provider(db_session), provider(db_session)
    app = draft(db_session, subject, tmp_path)
    eng = engagements.engage(db_session, actor=subject, provider_org_id=tp.org_id, service_kind="audit",
                             registration_id=app.registration_id)
    not_theirs = upload(db_session, subject, tmp_path, "主体自己的文件")
    with pytest.raises(PermissionDenied) as wrong:
        engagements.file_report(db_session, actor=other_tp, engagement_id=eng.id, title="x", digest=not_theirs,
                                conclusion="x")
    assert wrong.value.code == "not_provider"
    with pytest.raises(ValidationFailed) as exc:
        engagements.file_report(db_session, actor=tp, engagement_id=eng.id, title="", digest=not_theirs,
                                conclusion="")
    assert {(e.field, e.code) for e in exc.value.errors} == {("title", "required"), ("conclusion", "required"),
                                                             ("digest", "file_not_found")}
    with pytest.raises(ValidationFailed):
        engagements.decline(db_session, actor=tp, engagement_id=eng.id, reason=" ")
    engagements.decline(db_session, actor=tp, engagement_id=eng.id, reason="存在未申报的关联")
    assert refused(engagements.file_report, db_session, actor=tp, engagement_id=eng.id, title="x",
                   digest=upload(db_session, tp, tmp_path), conclusion="x").code == "illegal_transition"
    assert refused(engagements.end, db_session, actor=subject, engagement_id=eng.id,
                   reason="x").code == "illegal_transition"


def test_engagements_over_the_api(client, db_session, tmp_path):
    subject = subject_in(db_session, username="engsubject")
    tp = provider(db_session, username="engprovider")
    related = provider(db_session)
    app = draft(db_session, subject, tmp_path)
    relations.declare_relation(db_session, actor=subject, org_id=subject.org_id, related_org_id=related.org_id,
                               kind="parent")
    digest = upload(db_session, tp, tmp_path, "评估报告")
    db_session.commit()
    sh, ph = token(client, "engsubject"), token(client, "engprovider")
    reg = app.registration_id
    check = client.get(f"/api/v1/engagements/conflict-check?provider_org_id={related.org_id}&registration_id={reg}",
                       headers=sh).json()
    assert check["allowed"] is False and check["reasons"]
    r = client.post("/api/v1/engagements", headers=sh,
                    json={"provider_org_id": related.org_id, "service_kind": "assessment", "registration_id": reg})
    assert r.status_code == 409 and r.json()["code"] == "conflict_of_interest"
    assert r.json()["errors"][0] == {"field": "provider_org_id", "code": "related_to_subject",
                                     "message": r.json()["errors"][0]["message"]}
    r = client.post("/api/v1/engagements", headers=sh,
                    json={"provider_org_id": tp.org_id, "service_kind": "assessment", "application_id": app.id})
    assert r.status_code == 201, r.text
    eng = r.json()
    assert eng["state_label"] == "已委托" and "report" in eng["allowed_actions"]
    assert client.post(f"/api/v1/engagements/{eng['id']}/reports", headers=sh,
                       json={"title": "x", "digest": digest, "conclusion": "x"}).status_code == 403
    r = client.post(f"/api/v1/engagements/{eng['id']}/reports", headers=ph,
                    json={"title": "数据质量评估报告", "digest": digest, "conclusion": "质量合格",
                          "version": eng["version"]})
    assert r.status_code == 201, r.text
    listed = client.get(f"/api/v1/registrations/{reg}/third-party-reports", headers=sh).json()
    assert [x["title"] for x in listed] == ["数据质量评估报告"]
    mine = client.get("/api/v1/engagements", headers=ph).json()
    assert [e["id"] for e in mine] == [eng["id"]] and mine[0]["state"] == "reported"


def test_institution_findings_name_engaged_providers_related_to_an_institution(db_session, tmp_path):
    from pubdata.thirdparty.conflicts import institution_findings

    other_region = institution(db_session, "620200")
    subject = subject_in(db_session, "620100")
    tp = provider(db_session)
    app = draft(db_session, subject, tmp_path)
    engagements.engage(db_session, actor=subject, provider_org_id=tp.org_id, service_kind="audit",
                       registration_id=app.registration_id)
    reg = app.registration
    assert institution_findings(db_session, registration=reg, institution_org_id=other_region.org_id) == []
    relations.declare_relation(db_session, actor=tp, org_id=tp.org_id, related_org_id=other_region.org_id,
                               kind="subsidiary")
    [finding] = institution_findings(db_session, registration=reg, institution_org_id=other_region.org_id)
    assert finding.party == "institution" and [link.org_id for link in finding.chain] == [tp.org_id,
                                                                                         other_region.org_id]
