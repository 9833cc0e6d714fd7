"""Checks of identity input: social credit codes (GB 32100), passwords, user names."""

from __future__ import annotations

import re

from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength, ValidationError

from pubdata.errors import FieldError

USERNAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{2,63}$")
PASSWORD_MIN = 10


def uscc_error(code: str, field: str = "uscc") -> FieldError | None:
    """None if ``code`` is a valid 统一社会信用代码, else the reason in Chinese."""
    try:
        stdnum_uscc.validate(code)
    except InvalidLength:
        return FieldError(field, "uscc_length", "统一社会信用代码应为 18 位。")
    except InvalidFormat:
        return FieldError(field, "uscc_format", "统一社会信用代码含有不允许的字符（不使用 I、O、Z、S、V）。")
    except InvalidChecksum:
        return FieldError(field, "uscc_checksum", "统一社会信用代码校验位不正确（GB 32100），请核对。")
    except InvalidComponent:
        return FieldError(field, "uscc_component", "统一社会信用代码中的组织机构代码部分校验不正确。")
    except ValidationError:
        return FieldError(field, "uscc_invalid", "统一社会信用代码无效。")
    return None


def normalise_uscc(code: str) -> str:
    return stdnum_uscc.compact(code or "")


def password_errors(password: str, field: str = "password") -> list[FieldError]:
    errors: list[FieldError] = []
    if len(password) < PASSWORD_MIN:
        errors.append(FieldError(field, "password_too_short", f"口令至少 {PASSWORD_MIN} 位。"))
    classes = sum(
        bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]")
    )
    if classes < 3:
        errors.append(
            FieldError(field, "password_too_simple", "口令须包含大写字母、小写字母、数字、符号中的至少三类。")
        )
    return errors


def username_error(username: str, field: str = "username") -> FieldError | None:
    if not USERNAME_RE.match(username):
        return FieldError(
            field, "username_format", "登录名为 3–64 位小写字母、数字或 . _ -，以字母开头。"
        )
    return None


def make_uscc(prefix8: str, serial: int) -> str:
    """A valid 统一社会信用代码 (GB 32100): ``prefix8`` = 登记管理部门+机构类别+行政区划, then a
    GB 11714 organisation code built from ``serial`` and both check characters computed."""
    base = f"{serial:08d}"
    for org_check in "0123456789X":
        body = prefix8 + base + org_check
        code = body + stdnum_uscc.calc_check_digit(body)
        if stdnum_uscc.is_valid(code):
            return code
    raise ValueError("no valid organisation code check character")  # unreachable for digit serials
