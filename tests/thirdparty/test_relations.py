"""Declared relations and organisation groups: declared by the organisations themselves or the authority,
withdrawn (never deleted), audited."""

from __future__ import annotations

import pytest

from pubdata.audit.service import history
from pubdata.errors import Conflict, PermissionDenied, ValidationFailed
from pubdata.identity.models import Organisation
from pubdata.thirdparty import relations
from tests.supervision.support import authority, subject_in, token
from tests.thirdparty.support import provider


def test_declare_and_withdraw_a_relation(db_session):
    a, b = subject_in(db_session), subject_in(db_session)
    rel = relations.declare_relation(db_session, actor=a, org_id=a.org_id, related_org_id=b.org_id, kind="parent")
    [event] = history(db_session, object_type="organisation_relation", object_id=rel.id)
    assert event.tag == "thirdparty:relation:declared" and event.data["kind"] == "parent"
    # The same relation seen from the other side is a duplicate.
    with pytest.raises(Conflict) as dup:
        relations.declare_relation(db_session, actor=b, org_id=b.org_id, related_org_id=a.org_id, kind="subsidiary")
    assert dup.value.code == "duplicate_relation"
    assert [r.id for r in relations.list_relations(db_session, actor=b)] == [rel.id]
    assert relations.list_relations(db_session, actor=subject_in(db_session)) == []
    with pytest.raises(PermissionDenied) as not_declarer:
        relations.withdraw_relation(db_session, actor=b, relation_id=rel.id, reason="不实")
    assert not_declarer.value.code == "not_declarer"
    with pytest.raises(ValidationFailed):
        relations.withdraw_relation(db_session, actor=a, relation_id=rel.id, reason="")
    relations.withdraw_relation(db_session, actor=a, relation_id=rel.id, reason="股权已转让")
    assert rel.status == "withdrawn" and relations.list_relations(db_session, actor=a) == []
    assert [r.id for r in relations.list_relations(db_session, actor=a, include_withdrawn=True)] == [rel.id]
    with pytest.raises(Conflict):
        relations.withdraw_relation(db_session, actor=a, relation_id=rel.id, reason="again")


def test_relation_input_and_who_may_declare(db_session):
    a, b, c = subject_in(db_session), subject_in(db_session), subject_in(db_session)
    with pytest.raises(PermissionDenied) as other:
        relations.declare_relation(db_session, actor=a, org_id=b.org_id, related_org_id=c.org_id, kind="parent")
    assert other.value.code == "other_organisation"
    with pytest.raises(ValidationFailed) as exc:
        relations.declare_relation(db_session, actor=a, org_id=a.org_id, related_org_id=a.org_id, kind="cousin")
    assert {(e.field, e.code) for e in exc.value.errors} == {("kind", "unknown_kind"),
                                                             ("related_org_id", "same_organisation")}
    with pytest.raises(ValidationFailed) as note:
        relations.declare_relation(db_session, actor=a, org_id=a.org_id, related_org_id=b.org_id,
                                   kind="shared_legal_representative")
    assert note.value.errors[0].field == "note"
    with pytest.raises(ValidationFailed) as missing:
        relations.declare_relation(db_session, actor=a, org_id=a.org_id, related_org_id=10**9, kind="parent")
    assert missing.value.errors[0].code == "organisation_not_found"
    # The authority declares relations between any organisations and may withdraw any declaration.
    province = authority(db_session)
    rel = relations.declare_relation(db_session, actor=province, org_id=b.org_id, related_org_id=c.org_id,
                                     kind="other", note="交叉持股 30%")
    relations.withdraw_relation(db_session, actor=province, relation_id=rel.id, reason="核实不存在")


def test_groups_by_credit_code_prefix(db_session):
    member = subject_in(db_session, prefix8="91620500", serial=12340001)
    sibling = provider(db_session, prefix8="91620500", serial=12340002)
    outsider = subject_in(db_session, prefix8="91620500", serial=56780001)
    code = db_session.get(Organisation, member.org_id).uscc
    group = relations.declare_group(db_session, actor=member, name="甲集团", uscc_prefix=code[:12].lower())
    assert group.uscc_prefix == code[:12]
    assert {o.id for o in relations.group_members(db_session, group.uscc_prefix)} == {member.org_id, sibling.org_id}
    assert outsider.org_id not in {o.id for o in relations.group_members(db_session, group.uscc_prefix)}
    with pytest.raises(PermissionDenied) as not_own:
        relations.declare_group(db_session, actor=outsider, name="乙", uscc_prefix=code[:13])
    assert not_own.value.code == "prefix_not_own"
    with pytest.raises(ValidationFailed) as short:
        relations.declare_group(db_session, actor=member, name="", uscc_prefix=code[:8])
    assert {(e.field, e.code) for e in short.value.errors} == {("name", "required"), ("uscc_prefix", "prefix_length")}
    with pytest.raises(ValidationFailed) as chars:
        relations.declare_group(db_session, actor=member, name="丙", uscc_prefix="91620500123I")
    assert chars.value.errors[0].code == "prefix_format"
    with pytest.raises(Conflict):
        relations.declare_group(db_session, actor=authority(db_session), name="同前缀", uscc_prefix=code[:12])
    relations.withdraw_group(db_session, actor=member, group_id=group.id, reason="已解散")
    assert relations.list_groups(db_session, actor=member) == []


def test_relation_routes(client, db_session):
    a = subject_in(db_session, username="relsubject")
    b = subject_in(db_session)
    db_session.commit()
    h = token(client, "relsubject")
    body = {"org_id": a.org_id, "related_org_id": b.org_id, "kind": "subsidiary"}
    r = client.post("/api/v1/organisation-relations", json=body, headers=h)
    assert r.status_code == 201 and r.json()["kind_label"] == "子公司（下属单位）"
    assert client.post("/api/v1/organisation-relations", json=body, headers=h).status_code == 409
    rel = r.json()
    r = client.post(f"/api/v1/organisation-relations/{rel['id']}/withdraw",
                    json={"reason": "误报", "version": rel["version"]}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
