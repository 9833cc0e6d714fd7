"""Password login with lockout, web sessions and API tokens. Only hashes of secrets are stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.audit import Actor, record
from pubdata.config import Settings
from pubdata.db.base import utcnow
from pubdata.errors import DomainError, NotAuthenticated, NotFound, TooManyRequests, ValidationFailed
from pubdata.identity.access import require
from pubdata.identity.models import ApiToken, User, WebSession
from pubdata.identity.passwords import dummy_hash, hash_password, needs_rehash, verify_password
from pubdata.identity.permissions import Permission
from pubdata.identity.users import user_by_username

TOKEN_PREFIX = "pd_"
_TOUCH_EVERY = dt.timedelta(minutes=1)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class LoginOutcome:
    """The result of a password check. Failures are still state changes (counters, lockout) that
    the caller commits before it reports ``error``."""

    user: User | None
    error: DomainError | None = None


def check_password(
    session: Session, *, username: str, password: str, settings: Settings, actor: Actor
) -> LoginOutcome:
    now = utcnow()
    user = user_by_username(session, username)
    if user is None:
        verify_password(dummy_hash(), password)
        record(session, actor=actor, tag="identity:login:failed", object_type="login", object_id=username[:64],
               data={"reason": "unknown_user"})
        return LoginOutcome(None, NotAuthenticated("用户名或口令不正确。", code="invalid_credentials"))
    if user.locked_until is not None and user.locked_until > now:
        return LoginOutcome(None, _locked_error(user.locked_until))
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        over = user.failed_logins - settings.login_max_failures
        data: dict[str, object] = {"failed_logins": user.failed_logins}
        if over >= 0:
            # Back-off: the lock doubles with every further failure, capped at one day.
            minutes = min(settings.login_lockout_minutes * 2**over, 24 * 60)
            user.locked_until = now + dt.timedelta(minutes=minutes)
            data["locked_until"] = user.locked_until
        record(session, actor=actor, tag="identity:user:login_failed", object_type="app_user", object_id=user.id,
               data=data)
        if user.locked_until is not None and user.locked_until > now:
            return LoginOutcome(None, _locked_error(user.locked_until))
        return LoginOutcome(None, NotAuthenticated("用户名或口令不正确。", code="invalid_credentials"))
    if not user.is_active:
        record(session, actor=actor, tag="identity:user:login_failed", object_type="app_user", object_id=user.id,
               data={"reason": "inactive"})
        return LoginOutcome(None, NotAuthenticated("该账户已停用，请联系本单位管理员。", code="account_inactive"))
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return LoginOutcome(user)


def _locked_error(until: dt.datetime) -> TooManyRequests:
    local = until.astimezone(dt.timezone(dt.timedelta(hours=8)))
    return TooManyRequests(
        f"登录失败次数过多，账户已锁定至 {local:%Y-%m-%d %H:%M}（北京时间），请稍后再试。", code="account_locked"
    )


def start_session(
    session: Session, *, user: User, actor: Actor, user_agent: str | None = None
) -> tuple[WebSession, str]:
    """A new browser session; returns the row and the raw cookie value (shown once, stored hashed)."""
    raw = secrets.token_urlsafe(32)
    web = WebSession(
        token_hash=_digest(raw), csrf_token=secrets.token_urlsafe(32), user_id=user.id,
        client_addr=actor.client_addr, user_agent=(user_agent or "")[:300] or None,
    )
    session.add(web)
    session.flush()
    record(session, actor=actor, tag="identity:user:logged_in", object_type="app_user", object_id=user.id,
           data={"session_id": web.id, "user_agent": web.user_agent})
    return web, raw


def resolve_session(session: Session, *, raw: str, settings: Settings) -> WebSession | None:
    web = session.scalar(select(WebSession).where(WebSession.token_hash == _digest(raw)))
    if web is None or web.ended_at is not None or not web.user.is_active:
        return None
    now = utcnow()
    if now - web.last_seen_at > dt.timedelta(minutes=settings.session_idle_minutes):
        web.ended_at = now
        return None
    if now - web.last_seen_at > _TOUCH_EVERY:
        web.last_seen_at = now
    return web


def end_session(session: Session, *, web: WebSession, actor: Actor) -> None:
    if web.ended_at is None:
        web.ended_at = utcnow()
        record(session, actor=actor, tag="identity:user:logged_out", object_type="app_user", object_id=web.user_id,
               data={"session_id": web.id})


def create_api_token(
    session: Session, *, actor: Actor, name: str, days: int, settings: Settings
) -> tuple[ApiToken, str]:
    """Issue a bearer token for the acting user; the raw value is returned once and never stored."""
    require(actor, Permission.ACCOUNT_SELF)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed.single("name", "required", "请填写令牌用途。")
    if not 1 <= days <= 366:
        raise ValidationFailed.single("days", "out_of_range", "有效期应为 1–366 天。")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=actor.user_id, name=name[:100], prefix=raw[:10], token_hash=_digest(raw),
        expires_at=utcnow() + dt.timedelta(days=days),
    )
    session.add(token)
    session.flush()
    record(session, actor=actor, tag="identity:api_token:created", object_type="app_user",
           object_id=actor.user_id, data={"token_id": token.id, "name": token.name, "prefix": token.prefix,
                                          "expires_at": token.expires_at})
    return token, raw


def resolve_api_token(session: Session, *, raw: str) -> User:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(raw)))
    if token is None:
        raise NotAuthenticated("API 令牌无效。", code="invalid_token")
    if token.revoked_at is not None:
        raise NotAuthenticated("API 令牌已被吊销。", code="token_revoked")
    if token.expires_at <= utcnow():
        raise NotAuthenticated("API 令牌已过期，请重新申请。", code="token_expired")
    if not token.user.is_active:
        raise NotAuthenticated("该账户已停用。", code="account_inactive")
    return token.user


def list_api_tokens(session: Session, *, actor: Actor) -> list[ApiToken]:
    require(actor, Permission.ACCOUNT_SELF)
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == actor.user_id).order_by(ApiToken.id)))


def revoke_api_token(session: Session, *, actor: Actor, token_id: int) -> ApiToken:
    require(actor, Permission.ACCOUNT_SELF)
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != actor.user_id:
        raise NotFound("令牌不存在。", code="token_not_found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(session, actor=actor, tag="identity:api_token:revoked", object_type="app_user",
               object_id=actor.user_id, data={"token_id": token.id})
    return token
