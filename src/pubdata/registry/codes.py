"""Identifiers with a check character: registration codes, application, notice and certificate numbers.

Format ``<PREFIX>-<YYYY>-<NNNNNNNN>-<C>``: a kind prefix, the year of issue, the row's sequence number (so
numbers never collide, even under concurrent writers) and an ISO 7064 MOD 37,36 check character over
prefix, year and number without the dashes. ``GSDJ`` 登记编码, ``GSSQ`` 申请, ``GSTZ`` 通知书,
``GSPZ`` 凭证. A mistyped character or a swap of two neighbours is caught by ``is_valid``.
"""

from __future__ import annotations

import re

from stdnum.iso7064 import mod_37_36

REGISTRATION = "GSDJ"
APPLICATION = "GSSQ"
NOTICE = "GSTZ"
CERTIFICATE = "GSPZ"

CODE_RE = re.compile(r"^(GSDJ|GSSQ|GSTZ|GSPZ)-(\d{4})-(\d{8})-([0-9A-Z])$")


def make(prefix: str, year: int, serial: int) -> str:
    body = f"{prefix}{year:04d}{serial:08d}"
    return f"{prefix}-{year:04d}-{serial:08d}-{mod_37_36.calc_check_digit(body)}"


def is_valid(code: str) -> bool:
    m = CODE_RE.match((code or "").strip().upper())
    return bool(m) and mod_37_36.is_valid("".join(m.groups()))
