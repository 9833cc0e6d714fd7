"""Receipt numbers: ``CZ-YYYY-NNNNNN-C``.

* ``CZ``     存证 (evidence);
* ``YYYY``   the year of issue in Beijing time;
* ``NNNNNN`` the serial number within that year, from 000001, zero-padded to six digits (a seventh digit
             appears only after 999,999 receipts in one year);
* ``C``      check character, ISO/IEC 7064 MOD 11-2 over the ten-or-more digits ``YYYYNNNNNN`` — the same
             scheme as the resident identity card (GB 11643), so it is ``0``–``9`` or ``X``. It catches every
             single mistyped digit and every swap of two adjacent digits, and lets a typo be rejected
             without a database lookup.

Example: year 2026, serial 123 → digits ``2026000123`` → check ``6`` → ``CZ-2026-000123-6``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum.iso7064 import mod_11_2

from pubdata.errors import ValidationFailed

PREFIX = "CZ"
_PATTERN = re.compile(r"CZ-(\d{4})-(\d{6,9})-([0-9X])")


def check_character(year: int, serial: int) -> str:
    return mod_11_2.calc_check_digit(f"{year:04d}{serial:06d}")


def format_receipt_no(year: int, serial: int) -> str:
    if not (1000 <= year <= 9999 and serial >= 1):
        raise ValueError(f"bad receipt year/serial {year}/{serial}")
    return f"{PREFIX}-{year:04d}-{serial:06d}-{check_character(year, serial)}"


@dataclass(frozen=True)
class ReceiptNo:
    year: int
    serial: int

    def __str__(self) -> str:
        return format_receipt_no(self.year, self.serial)


def parse_receipt_no(value: object, *, field: str = "receipt_no") -> ReceiptNo:
    """Parse and verify a receipt number (case and surrounding spaces forgiven); Chinese errors otherwise."""
    text = value.strip().upper() if isinstance(value, str) else ""
    match = _PATTERN.fullmatch(text)
    if not match:
        raise ValidationFailed.single(field, "invalid_receipt_no", "存证编号格式应为 CZ-年份-六位流水号-校验位，如 CZ-2026-000123-6。")
    year, serial_text, check = int(match[1]), match[2], match[3]
    serial = int(serial_text)
    if serial == 0 or (len(serial_text) > 6 and serial_text.startswith("0")):
        raise ValidationFailed.single(field, "invalid_receipt_no", "存证编号中的流水号不正确。")
    if check_character(year, serial) != check:
        raise ValidationFailed.single(field, "receipt_no_check_failed", "存证编号校验位不符，请核对是否抄错。")
    return ReceiptNo(year, serial)
