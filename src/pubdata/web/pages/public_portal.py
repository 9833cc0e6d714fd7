"""公开门户：登记公示、公告、业务规则、统计信息、异议."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
