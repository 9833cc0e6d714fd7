"""Identifier patterns the domain must never let out: 居民身份证号码 (GB 11643), mainland mobile numbers and
统一社会信用代码 (GB 32100). Used by the policy engine (literals in SQL) and the export scanner (files).

Only check-digit-valid numbers count, so that ordinary 18-digit figures are not flagged as ID numbers. A number
is bounded only by non-digits: a letter next to it (``ID110…``, ``Tel13812345678``) does not hide it.
:func:`scan_text` is the scan of free text: NFKC-normalised (full-width digits and hyphens become ASCII) and
read twice, as it is and with separators inside digit runs removed (``138-1234-5678``, ``138 1234 5678``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from stdnum.cn import uscc as stdnum_uscc

RIC_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
RIC_CHECK = "10X98765432"


def ric_check_digit(body17: str) -> str:
    """The GB 11643 check character of the first 17 digits of a resident ID number."""
    return RIC_CHECK[sum(int(d) * w for d, w in zip(body17, RIC_WEIGHTS, strict=True)) % 11]


def is_valid_ric(number: str) -> bool:
    """18 characters, 17 digits and a matching check character (X upper or lower case)."""
    if len(number) != 18 or not number[:17].isdigit() or not number[:17].isascii():
        return False
    return ric_check_digit(number[:17]) == number[17].upper()


def is_valid_uscc(code: str) -> bool:
    return len(code) == 18 and stdnum_uscc.is_valid(code)


class Kind(StrEnum):
    RESIDENT_ID = "resident_id"
    MOBILE = "mobile"
    USCC = "uscc"

    @property
    def label(self) -> str:
        return {"resident_id": "居民身份证号码", "mobile": "手机号码", "uscc": "统一社会信用代码"}[self.value]


# Bounded by non-digits so that digits inside longer numbers are not matched; letters beside are fine.
_RIC = re.compile(rb"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])")
_MOBILE = re.compile(rb"(?<![0-9])(?:\+?86[- ]?)?(1[3-9][0-9]{9})(?![0-9])")
_USCC = re.compile(rb"(?<![0-9A-Z])[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}(?![0-9A-Z])")


@dataclass(frozen=True)
class Match:
    kind: Kind
    offset: int
    #: Masked: the finding must not itself leak the number.
    masked: str


def _mask(value: str) -> str:
    return value[:3] + "*" * (len(value) - 6) + value[-3:]


def find_identifiers(data: bytes | str, base: int = 0) -> Iterator[Match]:
    """Every valid identifier in ``data`` (bytes are searched as they are, text as UTF-8)."""
    raw = data.encode() if isinstance(data, str) else data
    for m in _RIC.finditer(raw):
        value = m.group().decode()
        if is_valid_ric(value):
            yield Match(Kind.RESIDENT_ID, base + m.start(), _mask(value))
    for m in _USCC.finditer(raw):
        value = m.group().decode()
        if is_valid_uscc(value):
            yield Match(Kind.USCC, base + m.start(), _mask(value))
    for m in _MOBILE.finditer(raw):
        yield Match(Kind.MOBILE, base + m.start(1), _mask(m.group(1).decode()))


#: Separators inside a digit run that the second pass of :func:`scan_text` removes.
_SPLIT = re.compile(r"(?<=[0-9])[\s\-\u2010-\u2015\u00b7\u30fb.]+(?=[0-9Xx])")


def normalise(text: str) -> str:
    """NFKC: full-width digits, letters and hyphens as their ASCII forms."""
    return unicodedata.normalize("NFKC", text)


def scan_text(text: str) -> list[Match]:
    """Every identifier in free text after NFKC normalisation, read as it is and again with separators inside
    digit runs removed; offsets are those of the (normalised, UTF-8) text of the pass that found them."""
    flat = normalise(text)
    found: dict[tuple[Kind, str], Match] = {}
    for m in find_identifiers(flat):
        found.setdefault((m.kind, m.masked), m)
    joined = _SPLIT.sub("", flat)
    if joined != flat:
        for m in find_identifiers(joined):
            found.setdefault((m.kind, m.masked), m)
    return sorted(found.values(), key=lambda m: m.offset)


def has_identifier(text: str) -> bool:
    return bool(scan_text(text))


def mask_identifiers(text: str) -> str:
    """``text`` with every valid identifier masked in place (for showing a file to its reviewer)."""
    raw = bytearray(text.encode())
    for m in find_identifiers(bytes(raw)):
        raw[m.offset : m.offset + len(m.masked)] = m.masked.encode()  # masking keeps the length
    return raw.decode(errors="replace")
