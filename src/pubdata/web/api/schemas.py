"""Pydantic shapes of the JSON API shared by several routers."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class FieldErrorOut(BaseModel):
    field: str
    code: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, as every error of this API is returned."""

    type: str
    title: str
    status: int
    code: str = Field(description="稳定的机器可读错误代码")
    detail: str = Field(description="中文说明")
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldErrorOut] = []


PROBLEM_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": Problem, "content": {"application/problem+json": {}}, "description": desc}
    for status, desc in {400: "请求有误", 401: "未登录或令牌无效", 403: "无权操作", 404: "未找到",
                         409: "与当前状态冲突", 422: "输入有误（逐字段说明）", 429: "请求过多或账户锁定"}.items()
}


class RoleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    role: str
    authority_level: str | None
    region_code: str | None
    industry_codes: list[str]
    granted_at: dt.datetime


class OrganisationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    uscc: str
    kind: str
    region_code: str
    verification_status: str
    verified_at: dt.datetime | None
    version: int
    roles: list[RoleOut] = Field(validation_alias="active_roles")


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    full_name: str
    organisation_id: int
    is_org_admin: bool
    is_active: bool


# Public signing keys (ledger and certificates), one shape wherever keys are published.
class KeyOut(BaseModel):
    name: str
    key_id: str
    algorithm: str
    hash: str
    user_id: str
    public_key: str = Field(description="非压缩点 04‖x‖y，十六进制")
    pem: str
    created_at: str
    retired_at: str | None


class KeysOut(BaseModel):
    format: str
    keys: list[KeyOut]
