"""授权运营页面：实施方案、评审、运营机构选择、协议、整改与暂停、公开披露。"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
