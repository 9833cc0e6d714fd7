"""RFC 9162 proofs with SM3: every proof verifies for random tree sizes, any single-bit change fails."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pubdata.crypto import merkle, sm3

MAX = 300


def leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def flip(data: bytes, bit: int) -> bytes:
    bit %= len(data) * 8
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@st.composite
def index_in_tree(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, MAX))
    return draw(st.integers(0, size - 1)), size


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    second = draw(st.integers(1, MAX))
    return draw(st.integers(1, second)), second


def test_known_shape():
    a, b, c = (merkle.leaf_hash(x) for x in (b"a", b"b", b"c"))
    assert merkle.root([b"a", b"b", b"c"]) == merkle.node_hash(merkle.node_hash(a, b), c)
    assert merkle.root([]) == sm3.digest(b"") == merkle.empty_root()
    assert merkle.inclusion_proof(2, [a, b, c]) == [merkle.node_hash(a, b)]
    assert merkle.consistency_proof(2, [a, b, c]) == [c]


@given(index_in_tree())
def test_inclusion_proof_verifies(case):
    index, size = case
    hs = leaves(size)
    proof = merkle.inclusion_proof(index, hs)
    assert merkle.verify_inclusion(hs[index], index, size, proof, merkle.root_of_leaf_hashes(hs))
    assert len(proof) <= size.bit_length()


@given(index_in_tree(), st.integers(0, 2**16), st.data())
def test_any_single_bit_change_breaks_an_inclusion_proof(case, bit, data):
    index, size = case
    hs = leaves(size)
    proof, root = merkle.inclusion_proof(index, hs), merkle.root_of_leaf_hashes(hs)
    target = data.draw(st.sampled_from(["leaf", "root", *(["proof"] if proof else [])]))
    if target == "leaf":
        assert not merkle.verify_inclusion(flip(hs[index], bit), index, size, proof, root)
    elif target == "root":
        assert not merkle.verify_inclusion(hs[index], index, size, proof, flip(root, bit))
    else:
        i = data.draw(st.integers(0, len(proof) - 1))
        bad = [*proof[:i], flip(proof[i], bit), *proof[i + 1:]]
        assert not merkle.verify_inclusion(hs[index], index, size, bad, root)


@given(index_in_tree(), st.data())
def test_an_inclusion_proof_does_not_verify_for_another_index_or_size(case, data):
    index, size = case
    hs = leaves(size)
    proof, root = merkle.inclusion_proof(index, hs), merkle.root_of_leaf_hashes(hs)
    other = data.draw(st.integers(0, MAX).filter(lambda i: i != index))
    assert not merkle.verify_inclusion(hs[index], other, size, proof, root)
    if size > 1:
        assert not merkle.verify_inclusion(hs[index], index, size, proof[:-1], root)


@given(two_sizes())
def test_consistency_proof_verifies(case):
    first, second = case
    hs = leaves(second)
    proof = merkle.consistency_proof(first, hs)
    assert merkle.verify_consistency(first, second, merkle.root_of_leaf_hashes(hs[:first]),
                                     merkle.root_of_leaf_hashes(hs), proof)


@given(two_sizes(), st.integers(0, 2**16), st.data())
def test_any_single_bit_change_breaks_a_consistency_proof(case, bit, data):
    first, second = case
    hs = leaves(second)
    proof = merkle.consistency_proof(first, hs)
    old, new = merkle.root_of_leaf_hashes(hs[:first]), merkle.root_of_leaf_hashes(hs)
    target = data.draw(st.sampled_from(["old", "new", *(["proof"] if proof else [])]))
    if target == "old":
        assert not merkle.verify_consistency(first, second, flip(old, bit), new, proof)
    elif target == "new":
        assert not merkle.verify_consistency(first, second, old, flip(new, bit), proof)
    else:
        i = data.draw(st.integers(0, len(proof) - 1))
        bad = [*proof[:i], flip(proof[i], bit), *proof[i + 1:]]
        assert not merkle.verify_consistency(first, second, old, new, bad)


@given(two_sizes())
def test_a_rewritten_history_is_not_consistent(case):
    first, second = case
    hs = leaves(second)
    forged = [merkle.leaf_hash(b"forged"), *hs[1:]]
    proof = merkle.consistency_proof(first, forged)
    assert not merkle.verify_consistency(first, second, merkle.root_of_leaf_hashes(hs[:first]),
                                         merkle.root_of_leaf_hashes(forged), proof)


@st.composite
def range_in_tree(draw: st.DrawFn) -> tuple[int, int, int]:
    size = draw(st.integers(1, MAX))
    start = draw(st.integers(0, size - 1))
    return start, draw(st.integers(start + 1, size)), size


@given(range_in_tree(), st.integers(0, 2**16), st.data())
def test_range_proof_verifies_and_any_bit_change_fails(case, bit, data):
    start, end, size = case
    hs = leaves(size)
    root, proof = merkle.root_of_leaf_hashes(hs), merkle.range_proof(start, end, hs)
    assert merkle.root_from_range(start, hs[start:end], size, proof) == root
    if end - start == 1:  # the same subtrees as the inclusion path, left to right instead of bottom-up
        assert sorted(proof) == sorted(merkle.inclusion_proof(start, hs))
    i = data.draw(st.integers(start, end - 1))
    changed = [*hs[start:i], flip(hs[i], bit), *hs[i + 1:end]]
    assert merkle.root_from_range(start, changed, size, proof) != root
    if proof:
        j = data.draw(st.integers(0, len(proof) - 1))
        bad = [*proof[:j], flip(proof[j], bit), *proof[j + 1:]]
        assert merkle.root_from_range(start, hs[start:end], size, bad) != root
    if end - start > 1:
        assert merkle.root_from_range(start, hs[start:end - 1], size, proof) != root  # a dropped leaf


@given(st.integers(0, 2000))
@settings(max_examples=50)
def test_frontier_matches_the_recursive_root_and_reports_completed_subtrees(size):
    hs = leaves(size)
    f = merkle.Frontier()
    for i, h in enumerate(hs):
        completed = f.append(h)
        for level, node in enumerate(completed, start=1):
            start = i + 1 - (1 << level)
            assert node == merkle.root_of_leaf_hashes(hs[start:i + 1])
    assert f.root() == merkle.root_of_leaf_hashes(hs)


@pytest.mark.parametrize(("index", "size"), [(-1, 3), (3, 3), (0, 0)])
def test_out_of_range_inclusion_is_refused(index, size):
    with pytest.raises(ValueError):
        merkle.inclusion_ranges(index, size)
    assert merkle.root_from_inclusion_proof(b"x" * 32, index, size, []) is None


@pytest.mark.parametrize(("first", "second"), [(0, 3), (4, 3), (-1, 2)])
def test_out_of_range_consistency_is_refused(first, second):
    with pytest.raises(ValueError):
        merkle.consistency_ranges(first, second)
    assert not merkle.verify_consistency(first, second, b"x" * 32, b"x" * 32, [b"y" * 32])


def test_perfect_pieces_refuses_a_range_that_is_no_subtree():
    assert merkle.perfect_pieces(4, 7) == [(1, 2), (0, 6)]
    with pytest.raises(ValueError):
        merkle.perfect_pieces(2, 6)
