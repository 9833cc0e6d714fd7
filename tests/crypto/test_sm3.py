"""SM3 against the GM/T 0004-2012 test vectors, on both backends."""

import io

import pytest

from pubdata.crypto import sm3

VECTORS = [
    (b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
    (b"abcd" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),
]


@pytest.mark.parametrize(("data", "expected"), VECTORS)
def test_sm3_standard_vectors(data, expected):
    assert sm3.hexdigest(data) == expected


@pytest.mark.parametrize(("data", "expected"), VECTORS)
def test_pure_python_fallback_agrees(data, expected):
    h = sm3._GmsslSM3()
    h.update(data[:1])
    h.update(data[1:])
    assert h.hexdigest() == expected


def test_file_digest_equals_bytes_digest():
    data = b"x" * (sm3.CHUNK * 2 + 5)
    assert sm3.digest_file(io.BytesIO(data)) == sm3.digest(data)
