"""数据主管部门看板：统计、时限合规、逾期、统计信息发布审核."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
