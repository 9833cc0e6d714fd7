"""Identifier patterns the domain must never let out: 居民身份证号码 (GB 11643), mainland mobile numbers and
统一社会信用代码 (GB 32100). Used by the policy engine (literals in SQL) and the export scanner (files).

Only check-digit-valid numbers count, so that ordinary 18-digit figures are not flagged as ID numbers. A number
is bounded only by non-digits: a letter next to it (``ID110…``, ``Tel13812345678``) does not hide it.

:func:`scan_text` is the scan of free text (export files, purposes, file names). It normalises first — NFKC
(full-width digits, letters and punctuation become ASCII), invisible format characters removed (zero-width
space and joiners, word joiner, BOM, soft hyphen, bidi marks) — and reads the text twice: as it is, and as
*chains* of digit groups written with separators between them (``138-1234-5678``, ``110105 1949 1231 002X``,
``1.3.8.1.2…``, ``138／1234＿5678``, ``138、1234。5678``). A separator between two groups is one to three of
space, ``- _ . / · ・ 、 。 ~``, backslash, dashes and minus signs, Chinese ``，；：`` (kept apart from ASCII ``, ; :``,
the delimiters of a CSV file, which end a chain, as do tabs, line breaks and two spaces in a row — the
columns and records of a table are not digits of one number). A candidate is a run of whole consecutive
groups of the identifier's length, and a separated candidate must pass more than a contiguous one, so that
the rows of a statistics table (``12 15 18 20 11 9``, ``1,234,567.89``) are not taken for identifiers:

* ID number: check character, and a province code and a real birth date (1900–2099) where they belong;
* mobile number (no check digit): ``1[3-9]``, the whole run of separated figures (or all of it after a
  country code ``86``/``0086``), grouped as phone numbers are written — 3-4-4, 3-8, 7-4, 4-7, 4-4-3 — or one
  digit per group (a digit-by-digit disguise); eleven digits inside a longer row of figures, or grouped
  otherwise (``13 81 23 45 67 8``), are not read as one;
* credit code: GB 32100 and GB 11714 check characters, a province code, and groups split only at the code's
  own fields (1 | 1 | 6 | 9 | 1), or one character per group over the whole run;
* a dot among other separators is a decimal point (``4541 19 200.70 10 810.42`` is no ID number): dots
  count only where every separator of the candidate is one dot (``138.1234.5678``).

Letters between digits (``1a3b8…``) are not separators: ordinary text and codes mix them too often. Escapes
(HTML entities, percent-encoding) are not decoded. Findings of the second reading carry the offset of the
candidate in the normalised text; they are reported by kind and masked value, not mapped back.
"""

from __future__ import annotations

import datetime as dt
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


#: Invisible format characters (Unicode Cf): removed everywhere before matching, a reader sees one number.
_FORMAT = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]")
#: Chinese comma, semicolon and colon are punctuation inside running text; NFKC would make them the ASCII
#: delimiters of a CSV file, which end a chain. Mapped to the enumeration comma first, which NFKC keeps.
_CJK_PUNCTUATION = str.maketrans({"，": "、", "；": "、", "：": "、"})
#: Between two groups of one number: one to three separators, never two spaces in a row (a table's column gap).
_LINK = r"(?:[\-_./\\·・、。~\u2010-\u2015\u2027\u2212\u30fc]| (?! )){1,3}"
_GAP = rf"(?:{_LINK})?"
_PROVINCES = (
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43",
    "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82", "83", "91")
_CODE_CHAR = "[0-9A-HJ-NPQRTUWXY]"


def _province(gap: str) -> str:
    """The province codes as a pattern, ``gap`` allowed between the two digits (one branch per first digit:
    the pattern is tried at every group start of a large table)."""
    firsts = sorted({p[0] for p in _PROVINCES})
    return "(?:" + "|".join(f"{d}{gap}[{''.join(p[1] for p in _PROVINCES if p[0] == d)}]" for d in firsts) + ")"


def _grouped(lengths: tuple[int, ...]) -> str:
    """A mobile number written in groups of ``lengths`` (the first group starts with 1[3-9])."""
    groups = [f"[0-9]{{{n}}}" for n in lengths]
    groups[0] = f"1[3-9][0-9]{{{lengths[0] - 2}}}"
    return _LINK.join(groups)


# Separated identifiers are found by patterns that already demand what a chance row of figures seldom has
# (a province code, a 19xx/20xx birth year, a phone layout), so that a large table costs one regex pass;
# check characters, dates and the groups around a match are then checked on the few matches.
_RIC_SEPARATED = re.compile(
    rf"(?<![0-9])(?=({_province(_GAP)})"
    + rf"((?:{_GAP}[0-9]){{4}}{_GAP}(?:1{_GAP}9|2{_GAP}0)(?:{_GAP}[0-9]){{9}}{_GAP}(?:[0-9]|[Xx](?![A-Za-z])))"
    + r"(?![0-9]))")
_MOBILE_LAYOUTS = ((3, 4, 4), (3, 8), (7, 4), (4, 7), (4, 4, 3))
_MOBILE_SEPARATED = re.compile(
    rf"(?<![0-9])(?:(?:00)?86{_LINK})?("
    + "|".join([*map(_grouped, _MOBILE_LAYOUTS), rf"1{_LINK}[3-9](?:{_LINK}[0-9]){{9}}"]) + r")(?![0-9])")
#: Credit codes split only between the code's own fields (1 | 1 | 6 | 9 | 1), or one character a group.
_USCC_SEPARATED = re.compile(
    rf"(?<![0-9A-Za-z])(?=([0-9]{_GAP}[0-9]{_GAP}{_province('')}[0-9]{{4}}{_GAP}{_CODE_CHAR}{{9}}"
    rf"{_GAP}{_CODE_CHAR}|[0-9](?:{_LINK}[0-9]){{7}}(?:{_LINK}{_CODE_CHAR}){{10}})(?![0-9A-Za-z]))")
_DIGITS_BEFORE, _DIGITS_AFTER = re.compile(rf"[0-9]{_LINK}\Z"), re.compile(rf"{_LINK}[0-9]")
_CODE_BEFORE, _CODE_AFTER = re.compile(rf"[0-9A-Z]{_LINK}\Z"), re.compile(rf"{_LINK}[0-9A-Z]")
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def normalise(text: str) -> str:
    """NFKC (full-width digits, letters and punctuation as ASCII), invisible format characters removed."""
    return _FORMAT.sub("", unicodedata.normalize("NFKC", text.translate(_CJK_PUNCTUATION)))


def _birth_date(digits: str) -> bool:
    try:
        return 1900 <= dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8])).year <= 2099
    except ValueError:
        return False


def _org_code_valid(code: str) -> bool:
    """GB 11714 check character of an organisation code (8 characters and its check)."""
    total = sum(int(ch, 36) * w for ch, w in zip(code[:8], _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return code[8] == {10: "X", 11: "0"}.get(check, str(check))


def _characters(written: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", written).upper()


def _reads_as_one(written: str) -> bool:
    """A dot among other separators is a decimal point in a row of figures (``19 200.70 10``): dots count
    only where every separator is one dot (``138.1234.5678``)."""
    gaps = re.findall(r"[^0-9A-Za-z]+", written)
    return not any("." in g for g in gaps) or all(g == "." for g in gaps)


def _whole_chain(text: str, start: int, end: int, code: bool = False) -> bool:
    """Nothing joined on by a separator either side: eleven digits inside a longer row of figures (``2020 1231
    100 …``, single-digit counts) are chance, not a number without a check digit."""
    before, after = (_CODE_BEFORE, _CODE_AFTER) if code else (_DIGITS_BEFORE, _DIGITS_AFTER)
    return not before.search(text, max(0, start - 4), start) and not after.match(text, end)


def _separated(text: str) -> Iterator[tuple[Kind, int, str]]:
    """(kind, offset in ``text``, value) of every identifier written as separated groups."""
    for m in _RIC_SEPARATED.finditer(text):
        written = m.group(1) + m.group(2)
        number = _characters(written)
        if is_valid_ric(number) and _birth_date(number[6:14]) and _reads_as_one(written):
            yield Kind.RESIDENT_ID, m.start(1), number
    for m in _MOBILE_SEPARATED.finditer(text):
        if _reads_as_one(m.group(1)) and _whole_chain(text, m.start(), m.end()):
            yield Kind.MOBILE, m.start(1), _characters(m.group(1))
    for m in _USCC_SEPARATED.finditer(text):
        code, end = _characters(m.group(1)), m.end(1)
        one_a_group = len(m.group(1)) > 18 and not re.search("[0-9A-Z]{2}", m.group(1))
        if is_valid_uscc(code) and _org_code_valid(code[8:17]) and _reads_as_one(m.group(1)) \
                and (not one_a_group or _whole_chain(text, m.start(1), end, code=True)):
            yield Kind.USCC, m.start(1), code


def scan_text(text: str) -> list[Match]:
    """Every identifier in free text after normalisation, read as it is and as separated groups (see the module
    docstring); offsets are UTF-8 byte offsets in the normalised text."""
    flat = normalise(text)
    found: dict[tuple[Kind, str], Match] = {}
    for m in find_identifiers(flat):
        found.setdefault((m.kind, m.masked), m)
    for kind, at, value in _separated(flat):
        found.setdefault((kind, _mask(value)), Match(kind, len(flat[:at].encode()), _mask(value)))
    return sorted(found.values(), key=lambda m: m.offset)


def has_identifier(text: str) -> bool:
    return bool(scan_text(text))


def mask_identifiers(text: str) -> str:
    """``text`` with every valid identifier masked in place (for showing a file to its reviewer)."""
    raw = bytearray(text.encode())
    for m in find_identifiers(bytes(raw)):
        raw[m.offset : m.offset + len(m.masked)] = m.masked.encode()  # masking keeps the length
    return raw.decode(errors="replace")
