"""Canonical JSON (RFC 8785, JCS) and the canonical form of an audit event — the bytes of a ledger leaf.

The canonicaliser handles exactly the JSON types the audit trail stores: null, booleans, integers, finite
floats, strings, arrays and objects with string keys. Its rules are RFC 8785's:

* no whitespace; object members sorted by the UTF-16 code units of their names; no duplicate names;
* strings as UTF-8, escaping only ``"`` and ``\\``, and control characters U+0000–U+001F (``\\b \\t \\n \\f
  \\r`` in short form, the rest as ``\\u00xx`` with lower-case hex); lone surrogates are an error;
* floats as ECMAScript's Number.prototype.toString: shortest round-trip digits, ``1e+21`` / ``1e-7`` from
  those exponents on, ``-0`` as ``0``; NaN and infinities are an error.

One deliberate difference: integers are written exactly, digit for digit, also beyond 2^53 where RFC 8785
(which reads every number as an IEEE double) would round. The audit trail never holds such numbers in
practice, and rounding an integer silently is worse than a documented rule.

``event_bytes`` gives the leaf bytes of one event: the canonical JSON of ``event_object`` (see
docs/ledger-format.md). Its fields are frozen as format version 1; a later version adds a new "v".
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

_encode_string = json.encoder.encode_basestring  # type: ignore[attr-defined]  # C accelerated, ensure_ascii=False

EVENT_FORMAT_VERSION = 1

#: The columns of audit_event that make up a leaf, in the order they appear in the canonical bytes.
EVENT_FIELDS = (
    "actor_kind", "actor_label", "actor_org_id", "actor_roles", "actor_user_id", "changes", "client_addr",
    "data", "id", "object_id", "object_type", "occurred_at", "request_id", "tag",
)


class CanonicalError(ValueError):
    """A value that has no canonical JSON form (NaN, a non-string key, a lone surrogate, an unknown type)."""


def number(value: float) -> str:
    """ECMAScript Number.prototype.toString of a finite double (RFC 8785 §3.2.2.3)."""
    if not math.isfinite(value):
        raise CanonicalError(f"{value!r} has no JSON form")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    mantissa, _, exp_text = repr(abs(value)).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    # value = 0.<digits> × 10^point
    point = len(whole.lstrip("0")) if whole.strip("0") else -(len(frac) - len(frac.lstrip("0")))
    point += int(exp_text) if exp_text else 0
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= point <= 21:
        return sign + digits + "0" * (point - k)
    if 0 < point <= 21:
        return sign + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return sign + "0." + "0" * -point + digits
    exponent = point - 1
    e = f"e{'+' if exponent > 0 else '-'}{abs(exponent)}"
    return sign + (digits if k == 1 else digits[0] + "." + digits[1:]) + e


def _utf16_key(name: str) -> bytes:
    return name.encode("utf-16-be", "surrogatepass")


def _write(value: Any, out: list[str]) -> None:
    kind = type(value)
    if kind is str:
        out.append(_encode_string(value))
    elif kind is dict or (kind is not str and isinstance(value, Mapping)):
        out.append("{")
        first = True
        for key in sorted(value, key=_check_key):
            if not first:
                out.append(",")
            first = False
            out.append(_encode_string(key))
            out.append(":")
            _write(value[key], out)
        out.append("}")
    elif kind is list or kind is tuple:
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(number(value))
    elif isinstance(value, str):
        out.append(_encode_string(value))
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        _write(list(value), out)
    else:
        raise CanonicalError(f"{type(value).__name__} has no canonical JSON form")


def _check_key(key: Any) -> bytes:
    if not isinstance(key, str):
        raise CanonicalError(f"object member names must be strings, got {key!r}")
    return _utf16_key(key)


def dumps(value: Any) -> str:
    out: list[str] = []
    _write(value, out)
    return "".join(out)


def canonical_bytes(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``value``."""
    try:
        return dumps(value).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalError("lone surrogate in a string") from exc


def timestamp(value: dt.datetime) -> str:
    """UTC, microseconds always written: ``2026-11-27T08:30:00.000000Z``."""
    if value.tzinfo is None:
        raise CanonicalError("naive datetime in an audit event")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _event_values(row: Any) -> list[Any]:
    loaded = getattr(row, "__dict__", None)  # an ORM object's loaded values, without attribute machinery
    if loaded is not None and all(name in loaded for name in EVENT_FIELDS):
        values = [loaded[name] for name in EVENT_FIELDS]
    else:
        values = [getattr(row, name) for name in EVENT_FIELDS]
    values[_OCCURRED_AT] = timestamp(values[_OCCURRED_AT])
    return values


_OCCURRED_AT = EVENT_FIELDS.index("occurred_at")
_MEMBER_NAMES = tuple(_encode_string(name) + ":" for name in EVENT_FIELDS)
assert list(EVENT_FIELDS) == sorted(EVENT_FIELDS) and EVENT_FIELDS[-1] < "v"  # already in canonical order


def event_object(row: Any) -> dict[str, Any]:
    """The canonical object of an audit event (an ``AuditEvent`` or a row with the same attributes)."""
    return {**dict(zip(EVENT_FIELDS, _event_values(row), strict=True)), "v": EVENT_FORMAT_VERSION}


def event_bytes(row: Any) -> bytes:
    """The leaf bytes of an audit event: canonical JSON of ``event_object(row)``.

    Written member by member (the names are fixed and already sorted) because it runs for every event
    written and every event verified; a test holds it to ``canonical_bytes(event_object(row))``.
    """
    out = ["{"]
    for name, value in zip(_MEMBER_NAMES, _event_values(row), strict=True):
        out.append(name)
        _write(value, out)
        out.append(",")
    out.append(f'"v":{EVENT_FORMAT_VERSION}}}')
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalError("lone surrogate in a string") from exc


def parse_event(line: bytes) -> dict[str, Any]:
    """An event from its leaf bytes (an archive bundle line), checked to be exactly in canonical form."""
    try:
        obj = json.loads(line.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CanonicalError(f"not JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise CanonicalError("an event is a JSON object")
    if obj.get("v") != EVENT_FORMAT_VERSION or set(obj) != {*EVENT_FIELDS, "v"}:
        raise CanonicalError("fields differ from event format version 1")
    if canonical_bytes(obj) != line:
        raise CanonicalError("not in canonical form")
    return obj


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise CanonicalError("duplicate member name")
    return obj


def _no_constant(name: str) -> Any:
    raise CanonicalError(f"{name} is not JSON")
