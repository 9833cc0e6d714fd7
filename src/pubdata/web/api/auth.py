"""API tokens for machine clients, and who am I."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from pubdata.audit import Actor
from pubdata.identity import auth
from pubdata.identity.permissions import Permission
from pubdata.identity.users import get_user
from pubdata.web.api.schemas import PROBLEM_RESPONSES, OrganisationOut, UserOut
from pubdata.web.deps import Db, public, requires

router = APIRouter(prefix="/api/v1", tags=["账户与令牌"], responses=PROBLEM_RESPONSES)


class TokenRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    name: str = Field(min_length=1, max_length=100, description="令牌用途，如“数据同步脚本”")
    days: int = Field(default=90, ge=1, le=366)


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None


class NewToken(TokenOut):
    token: str = Field(description="令牌原文，仅此一次返回，请妥善保存")


def _token_out(t: auth.ApiToken) -> dict[str, object]:
    return {"id": t.id, "name": t.name, "prefix": t.prefix, "created_at": t.created_at,
            "expires_at": t.expires_at, "revoked_at": t.revoked_at}


@router.post("/auth/tokens", response_model=NewToken, status_code=201, summary="以用户名口令换取 API 令牌")
def issue_token(body: TokenRequest, request: Request, db: Db, actor: Actor = public()) -> NewToken:
    settings = request.app.state.settings
    outcome = auth.check_password(db, username=body.username, password=body.password, settings=settings,
                                  actor=actor)
    if outcome.error is not None:
        db.commit()  # failure counters and lockout must persist
        raise outcome.error
    assert outcome.user is not None
    from pubdata.identity.access import actor_for

    user_actor = actor_for(outcome.user, request_id=actor.request_id, client_addr=actor.client_addr)
    token, raw = auth.create_api_token(db, actor=user_actor, name=body.name, days=body.days, settings=settings)
    db.commit()
    return NewToken(token=raw, **_token_out(token))  # type: ignore[arg-type]


@router.get("/auth/tokens", response_model=list[TokenOut], summary="本人的 API 令牌")
def my_tokens(db: Db, actor: Actor = requires(Permission.ACCOUNT_SELF)) -> list[TokenOut]:
    return [TokenOut(**_token_out(t)) for t in auth.list_api_tokens(db, actor=actor)]  # type: ignore[arg-type]


@router.post("/auth/tokens/{token_id}/revoke", response_model=TokenOut, summary="吊销令牌")
def revoke_token(token_id: int, db: Db, actor: Actor = requires(Permission.ACCOUNT_SELF)) -> TokenOut:
    token = auth.revoke_api_token(db, actor=actor, token_id=token_id)
    db.commit()
    return TokenOut(**_token_out(token))  # type: ignore[arg-type]


class Me(BaseModel):
    user: UserOut
    organisation: OrganisationOut
    permissions: list[str]


@router.get("/me", response_model=Me, summary="当前用户、所属单位与权限")
def me(db: Db, actor: Actor = requires(Permission.ACCOUNT_SELF)) -> Me:
    user = get_user(db, user_id=actor.user_id or 0)
    return Me(user=UserOut.model_validate(user), organisation=OrganisationOut.model_validate(user.organisation),
              permissions=sorted(actor.permissions))
