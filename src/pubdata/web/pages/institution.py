"""登记机构工作台：待办队列、申请审查、决定、补正通知、异议."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
