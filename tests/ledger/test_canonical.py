"""Canonical JSON against RFC 8785's examples, and the leaf bytes of an audit event."""

from __future__ import annotations

import datetime as dt
import json
import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pubdata.ledger.canonical import (
    CanonicalError,
    canonical_bytes,
    dumps,
    event_bytes,
    event_object,
    number,
    parse_event,
)


@pytest.mark.parametrize(("bits", "expected"), [
    # RFC 8785 Appendix B: IEEE 754 bit patterns and their ECMAScript serialisation.
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
])
def test_rfc8785_number_serialisation(bits, expected):
    assert number(struct.unpack(">d", bytes.fromhex(bits))[0]) == expected


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_have_no_form(value):
    with pytest.raises(CanonicalError):
        canonical_bytes({"x": value})


def test_rfc8785_sorting_example():
    # RFC 8785 §3.2.3: names sorted by UTF-16 code units, not by code points.
    obj = {"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
           "1": "One", "\U0001f600": "Emoji: Grinning Face", "\u0080": "Control",
           "\u00f6": "Latin Small Letter O With Diaeresis"}
    names = [k for k in json.loads(dumps(obj))]
    assert names == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_rfc8785_structure_example():
    obj = {"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
           "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/", "literals": [None, True, False]}
    assert dumps(obj) == ('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
                          '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}')


def test_integers_are_exact_and_strings_are_utf8():
    assert canonical_bytes({"n": 2**60 + 1, "s": "甘肃"}) == b'{"n":1152921504606846977,"s":"\xe7\x94\x98\xe8\x82\x83"}'


@pytest.mark.parametrize("bad", [{1: "x"}, {"x": b"bytes"}, {"x": object()}, {"x": "\ud800"}])
def test_values_without_a_canonical_form_are_refused(bad):
    with pytest.raises(CanonicalError):
        canonical_bytes(bad)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_canonical_form_parses_back_to_the_same_value_and_is_a_fixed_point(value):
    try:
        text = dumps(value).encode("utf-8")
    except UnicodeEncodeError:
        return  # lone surrogates from st.text(): refused, tested above
    # Numbers compare as IEEE doubles, as RFC 8785 reads them (1e16-ish floats print as integers).
    assert json.loads(text, parse_int=float) == value
    assert canonical_bytes(json.loads(text)) == text


class Row:
    def __init__(self, **kw):  # type: ignore[no-untyped-def]
        self.__dict__.update(kw)


EVENT = {"id": 7, "occurred_at": dt.datetime(2026, 11, 27, 8, 30, tzinfo=dt.UTC), "tag": "identity:user:created",
         "actor_kind": "user", "actor_label": "张三", "actor_user_id": 3, "actor_org_id": 2, "actor_roles": ["agent"],
         "object_type": "app_user", "object_id": "9", "changes": {"name": [None, "李四"]}, "data": {"ratio": 0.5},
         "request_id": "r1", "client_addr": "10.0.0.1"}


def test_event_leaf_bytes_are_fixed_by_format_version_1():
    line = event_bytes(Row(**EVENT))
    assert line.decode() == (
        '{"actor_kind":"user","actor_label":"张三","actor_org_id":2,"actor_roles":["agent"],"actor_user_id":3,'
        '"changes":{"name":[null,"李四"]},"client_addr":"10.0.0.1","data":{"ratio":0.5},"id":7,"object_id":"9",'
        '"object_type":"app_user","occurred_at":"2026-11-27T08:30:00.000000Z","request_id":"r1",'
        '"tag":"identity:user:created","v":1}'
    )
    assert parse_event(line)["id"] == 7
    assert line == canonical_bytes(event_object(Row(**EVENT)))


def test_other_time_zones_are_written_in_utc():
    local = EVENT["occurred_at"].astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert event_bytes(Row(**{**EVENT, "occurred_at": local})) == event_bytes(Row(**EVENT))


@pytest.mark.parametrize("mutate", [
    lambda s: s.replace(b'"id":7', b'"id": 7'),
    lambda s: s.replace(b'"v":1', b'"v":2'),
    lambda s: s.replace(b'"tag"', b'"tag2"'),
    lambda s: s.replace(b'0.5', b'0.50'),
])
def test_parse_event_refuses_anything_not_exactly_canonical(mutate):
    with pytest.raises(CanonicalError):
        parse_event(mutate(event_bytes(Row(**EVENT))))


@given(st.dictionaries(st.text(max_size=4), json_values, max_size=3), st.text(), st.one_of(st.none(), st.integers()))
def test_event_bytes_equal_the_canonical_form_of_the_event_object(data, label, user):
    try:
        label.encode("utf-8")
        dumps(data).encode("utf-8")
    except UnicodeEncodeError:
        return
    row = Row(**{**EVENT, "data": data, "actor_label": label, "actor_user_id": user})
    assert event_bytes(row) == canonical_bytes(event_object(row))
