"""RFC 9162 inclusion proofs with SM3: every leaf of trees of many sizes proves, tampering does not."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pubdata.crypto import merkle, sm3
from pubdata.evidence import proof


def leaves(n: int) -> list[bytes]:
    return [sm3.digest(f"文件{i}".encode()) for i in range(n)]


def test_every_leaf_proves_for_tree_sizes_1_to_40():
    for n in range(1, 41):
        entries = leaves(n)
        root = merkle.root(entries)
        for m in range(n):
            path = proof.inclusion_proof(entries, m)
            assert proof.verify_inclusion(entries[m], m, n, path, root), (n, m)


def test_single_leaf_tree_has_an_empty_path_and_root_is_the_leaf_hash():
    entry = leaves(1)[0]
    assert proof.inclusion_proof([entry], 0) == []
    assert merkle.root([entry]) == merkle.leaf_hash(entry)


@given(st.integers(2, 300), st.data())
def test_tampered_proofs_fail(n, data):
    entries = leaves(n)
    root = merkle.root(entries)
    m = data.draw(st.integers(0, n - 1))
    path = proof.inclusion_proof(entries, m)
    assert proof.verify_inclusion(entries[m], m, n, path, root)
    other = data.draw(st.integers(0, n - 1).filter(lambda i: i != m))
    assert not proof.verify_inclusion(entries[other], m, n, path, root)  # wrong leaf
    assert not proof.verify_inclusion(entries[m], other, n, path, root)  # wrong position
    assert not proof.verify_inclusion(entries[m], m, n, path[:-1], root)  # shortened path
    assert not proof.verify_inclusion(entries[m], m, n, [*path, path[-1]], root)  # lengthened path
    assert not proof.verify_inclusion(entries[m], n, n, path, root)  # index outside the tree


def test_the_documented_test_vector():
    """docs/evidence.md publishes these values for outsiders to test their verifier against."""
    digests = [sm3.digest(c) for c in (b"alpha", b"beta", b"gamma")]
    assert digests[1].hex() == "0f11573efabbd8aeb2b4eb9c42644e2b461b1fa6741622e233a4ac0f8d4d1c6e"
    root = merkle.root(digests)
    assert root.hex() == "ae55e4388062961da738fb81c4379c59ef530f7a5da0ae59712ac218ccba505e"
    assert [p.hex() for p in proof.inclusion_proof(digests, 1)] == [
        "e85ef1ff0bc78ac23e84436e01d00a2ce14ca2043f13fc72d0c9ddff7e298335",
        "6cc53cc8a1aa8c00a24d73e76f40753556b9e925fe78ff718e7d2447f54fb4c8",
    ]
