"""The audit trail is append-only and no change commits without its event."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from pubdata.audit import AuditEvent, record
from pubdata.audit.guard import AuditViolation
from pubdata.identity.models import Organisation
from pubdata.identity.roles import Role
from tests.factories import SYSTEM, actor_of, make_org, make_user


def test_event_records_actor_tag_object_change_time_request_and_address(db_session):
    user = make_user(db_session, Role.REGISTRATION_SUBJECT)
    actor = actor_of(user).with_request(request_id="req-1", client_addr="10.1.2.3")
    event = record(db_session, actor=actor, tag="identity:organisation:renamed", object_type="organisation",
                   object_id=user.organisation_id, changes={"name": ["旧", "新"]})
    assert (event.actor_user_id, event.actor_org_id, event.actor_roles) == (user.id, user.organisation_id,
                                                                            ["registration_subject"])
    assert (event.request_id, event.client_addr) == ("req-1", "10.1.2.3")
    assert event.occurred_at.tzinfo is not None and event.changes == {"name": ["旧", "新"]}


def test_tag_must_be_context_subject_action(db_session):
    with pytest.raises(ValueError):
        record(db_session, actor=SYSTEM, tag="identity.created", object_type="x", object_id=1)


def test_change_without_event_cannot_be_committed(db_session):
    org = make_org(db_session)
    db_session.commit()
    org.name = "悄悄改名"
    with pytest.raises(AuditViolation):
        db_session.commit()
    db_session.rollback()
    assert db_session.get(Organisation, org.id).name != "悄悄改名"


def test_change_with_its_event_commits(db_session):
    org = make_org(db_session)
    db_session.commit()
    org.name = "正式改名"
    record(db_session, actor=SYSTEM, tag="identity:organisation:renamed", object_type="organisation",
           object_id=org.id)
    db_session.commit()


def test_an_event_about_another_object_does_not_cover_a_change(db_session):
    a, b = make_org(db_session), make_org(db_session)
    db_session.commit()
    a.name = "改名"
    record(db_session, actor=SYSTEM, tag="identity:organisation:renamed", object_type="organisation", object_id=b.id)
    with pytest.raises(AuditViolation):
        db_session.commit()
    db_session.rollback()


def test_nothing_is_hard_deleted(db_session):
    org = make_org(db_session)
    db_session.commit()
    db_session.delete(org)
    with pytest.raises(AuditViolation, match="hard delete"):
        db_session.flush()
    db_session.rollback()


def test_orm_cannot_update_an_event(db_session):
    event = record(db_session, actor=SYSTEM, tag="test:thing:done", object_type="thing", object_id=1)
    event.tag = "test:thing:undone"
    with pytest.raises(AuditViolation):
        db_session.flush()
    db_session.rollback()


@pytest.mark.parametrize("statement", ["UPDATE audit_event SET tag = 'x:y:z'", "DELETE FROM audit_event"])
def test_database_refuses_update_and_delete_of_events(db_session, statement):
    record(db_session, actor=SYSTEM, tag="test:thing:done", object_type="thing", object_id=1)
    db_session.commit()
    with pytest.raises(DBAPIError, match="append-only"), db_session.begin_nested():
        db_session.execute(text(statement))
    assert db_session.query(AuditEvent).count() >= 1
