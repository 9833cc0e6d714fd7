"""公共数据资源目录（REG-35）."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
