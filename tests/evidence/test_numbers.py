"""Receipt numbers: format, ISO 7064 MOD 11-2 check character, parsing with Chinese errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pubdata.errors import ValidationFailed
from pubdata.evidence.numbers import ReceiptNo, check_character, format_receipt_no, parse_receipt_no

CHECKS = "0123456789X"


def test_documented_example():
    assert format_receipt_no(2026, 123) == "CZ-2026-000123-6"
    assert parse_receipt_no("CZ-2026-000123-6") == ReceiptNo(2026, 123)


def test_x_check_character_and_case_forgiven():
    serial = next(s for s in range(1, 1000) if check_character(2026, s) == "X")
    number = format_receipt_no(2026, serial)
    assert number.endswith("-X")
    assert parse_receipt_no(f"  {number.lower()} ") == ReceiptNo(2026, serial)


def test_serial_beyond_six_digits_grows():
    assert format_receipt_no(2026, 1_234_567).startswith("CZ-2026-1234567-")
    assert parse_receipt_no(format_receipt_no(2026, 1_234_567)).serial == 1_234_567


@given(st.integers(2000, 2199), st.integers(1, 999_999), st.integers(0, 9), st.integers(1, 9))
def test_every_single_digit_error_is_caught(year, serial, position, delta):
    number = format_receipt_no(year, serial)  # CZ-YYYY-NNNNNN-C
    i = [3, 4, 5, 6, 8, 9, 10, 11, 12, 13][position]
    wrong = number[:i] + str((int(number[i]) + delta) % 10) + number[i + 1:]
    with pytest.raises(ValidationFailed):
        parse_receipt_no(wrong)


@given(st.integers(2000, 2199), st.integers(1, 999_999), st.integers(0, 8))
def test_every_adjacent_transposition_is_caught(year, serial, position):
    digits = f"{year:04d}{serial:06d}"
    if digits[position] == digits[position + 1]:
        return
    swapped = digits[:position] + digits[position + 1] + digits[position] + digits[position + 2:]
    assert check_character(int(swapped[:4]), int(swapped[4:])) != check_character(year, serial)


@pytest.mark.parametrize(("value", "code"), [
    ("CZ-2026-000123-7", "receipt_no_check_failed"),
    ("CZ-2026-123-6", "invalid_receipt_no"),
    ("ZC-2026-000123-6", "invalid_receipt_no"),
    ("CZ-2026-000000-" + check_character(2026, 0), "invalid_receipt_no"),
    ("", "invalid_receipt_no"),
    (None, "invalid_receipt_no"),
])
def test_bad_numbers_are_chinese_field_errors(value, code):
    with pytest.raises(ValidationFailed) as info:
        parse_receipt_no(value)
    err = info.value.errors[0]
    assert (err.field, err.code) == ("receipt_no", code)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err.message)


def test_check_characters_are_from_the_documented_alphabet():
    assert {check_character(2026, s) for s in range(1, 200)} <= set(CHECKS)
