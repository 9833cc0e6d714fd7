"""登记主体（及代理机构）的申请工作区."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
