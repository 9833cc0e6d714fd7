"""Password login with lockout, sessions, API tokens."""

from __future__ import annotations

import datetime as dt

import pytest

from pubdata.audit import Actor
from pubdata.audit.service import history
from pubdata.config import Settings
from pubdata.db.base import utcnow
from pubdata.errors import NotAuthenticated, TooManyRequests, ValidationFailed
from pubdata.identity import auth
from pubdata.identity.passwords import verify_password
from pubdata.identity.roles import Role
from pubdata.identity.users import change_password, deactivate_user
from tests.factories import PASSWORD, SYSTEM, actor_of, make_user

SETTINGS = Settings(login_max_failures=3, login_lockout_minutes=15)
ANON = Actor.anonymous(client_addr="10.0.0.1")


def login(db, username, password):  # type: ignore[no-untyped-def]
    return auth.check_password(db, username=username, password=password, settings=SETTINGS, actor=ANON)


def test_passwords_are_stored_as_argon2id_hashes(db_session):
    user = make_user(db_session, Role.REGISTRATION_SUBJECT)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert verify_password(user.password_hash, PASSWORD)


def test_right_password_logs_in_and_resets_failures(db_session):
    user = make_user(db_session, Role.REGISTRATION_SUBJECT)
    login(db_session, user.username, "wrong")
    outcome = login(db_session, user.username, PASSWORD)
    assert outcome.error is None and outcome.user is user
    assert user.failed_logins == 0 and user.last_login_at is not None


def test_wrong_password_and_unknown_user_get_the_same_answer(db_session):
    user = make_user(db_session, Role.REGISTRATION_SUBJECT)
    a = login(db_session, user.username, "wrong").error
    b = login(db_session, "nobody-here", "wrong").error
    assert isinstance(a, NotAuthenticated) and isinstance(b, NotAuthenticated)
    assert (a.code, a.detail) == (b.code, b.detail) == ("invalid_credentials", "用户名或口令不正确。")


def test_repeated_failures_lock_the_account_with_growing_back_off(db_session):
    user = make_user(db_session, Role.REGISTRATION_SUBJECT)
    for _ in range(2):
        assert isinstance(login(db_session, user.username, "wrong").error, NotAuthenticated)
    err = login(db_session, user.username, "wrong").error
    assert isinstance(err, TooManyRequests) and err.code == "account_locked"
    first_lock = user.locked_until
    assert first_lock is not None and dt.timedelta(minutes=14) < first_lock - utcnow() <= dt.timedelta(minutes=15)
    # Even the right password is refused while locked.
    assert isinstance(login(db_session, user.username, PASSWORD).error, TooManyRequests)
    user.locked_until = utcnow() - dt.timedelta(seconds=1)  # the lock ran out …
    err = login(db_session, user.username, "wrong").error  # … and the next failure locks twice as long
    assert isinstance(err, TooManyRequests)
    assert user.locked_until - utcnow() > dt.timedelta(minutes=29)
    tags = [e.tag for e in history(db_session, object_type="app_user", object_id=user.id)]
    assert tags.count("identity:user:login_failed") == 4


def test_deactivated_user_cannot_log_in(db_session):
    user = make_user(db_session, Role.REGISTRATION_SUBJECT)
    deactivate_user(db_session, actor=SYSTEM, user_id=user.id, reason="离职")
    err = login(db_session, user.username, PASSWORD).error
    assert err is not None and err.code == "account_inactive"


def test_session_expires_after_idle_time(db_session):
    user = make_user(db_session, Role.REGISTRATION_SUBJECT)
    web, raw = auth.start_session(db_session, user=user, actor=actor_of(user))
    assert auth.resolve_session(db_session, raw=raw, settings=SETTINGS) is web
    web.last_seen_at = utcnow() - dt.timedelta(minutes=SETTINGS.session_idle_minutes + 1)
    assert auth.resolve_session(db_session, raw=raw, settings=SETTINGS) is None
    assert web.ended_at is not None
    assert auth.resolve_session(db_session, raw="not-a-token", settings=SETTINGS) is None


def test_session_token_is_stored_only_as_a_hash(db_session):
    user = make_user(db_session, Role.REGISTRATION_SUBJECT)
    web, raw = auth.start_session(db_session, user=user, actor=actor_of(user))
    assert raw not in web.token_hash and len(web.token_hash) == 64


def test_api_token_lifecycle_valid_expired_revoked(db_session):
    user = make_user(db_session, Role.REGISTRATION_SUBJECT)
    actor = actor_of(user)
    token, raw = auth.create_api_token(db_session, actor=actor, name="同步脚本", days=30, settings=SETTINGS)
    assert raw.startswith("pd_") and token.token_hash != raw
    assert auth.resolve_api_token(db_session, raw=raw) is user
    with pytest.raises(NotAuthenticated) as exc:
        auth.resolve_api_token(db_session, raw="pd_unknown")
    assert exc.value.code == "invalid_token"
    token.expires_at = utcnow() - dt.timedelta(seconds=1)
    with pytest.raises(NotAuthenticated) as exc:
        auth.resolve_api_token(db_session, raw=raw)
    assert exc.value.code == "token_expired"
    token.expires_at = utcnow() + dt.timedelta(days=1)
    auth.revoke_api_token(db_session, actor=actor, token_id=token.id)
    with pytest.raises(NotAuthenticated) as exc:
        auth.resolve_api_token(db_session, raw=raw)
    assert exc.value.code == "token_revoked"


def test_password_policy_and_change(db_session):
    user = make_user(db_session, Role.REGISTRATION_SUBJECT)
    actor = actor_of(user)
    with pytest.raises(ValidationFailed) as exc:
        change_password(db_session, actor=actor, current="bad", new="short")
    assert [e.field for e in exc.value.errors] == ["current_password"]
    with pytest.raises(ValidationFailed) as exc:
        change_password(db_session, actor=actor, current=PASSWORD, new="alllowercase")
    assert {e.code for e in exc.value.errors} == {"password_too_simple"}
    change_password(db_session, actor=actor, current=PASSWORD, new="New-Passw0rd!")
    assert verify_password(user.password_hash, "New-Passw0rd!")
