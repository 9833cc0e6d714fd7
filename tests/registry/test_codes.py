"""Registration codes and numbers carry a check character (ISO 7064 MOD 37,36)."""

from hypothesis import given
from hypothesis import strategies as st

from pubdata.registry import codes


@given(st.integers(min_value=1, max_value=99_999_999), st.integers(min_value=2024, max_value=2099))
def test_every_made_code_is_valid_and_any_single_change_is_caught(serial, year):
    code = codes.make(codes.REGISTRATION, year, serial)
    assert codes.is_valid(code)
    digits = code[10:18]
    for pos in range(8):
        changed = digits[:pos] + str((int(digits[pos]) + 1) % 10) + digits[pos + 1:]
        assert not codes.is_valid(code[:10] + changed + code[18:])


def test_format():
    assert codes.CODE_RE.match(codes.make(codes.CERTIFICATE, 2026, 123))
    assert not codes.is_valid("GSDJ-2026-00000123")
