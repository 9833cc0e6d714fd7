"""The ledger over the public API, checked the way an outsider would: with the published keys only."""

from __future__ import annotations

import pytest

from pubdata.crypto.keys import load_public_keys
from pubdata.identity.roles import Role
from pubdata.ledger import checkpoints as cps
from pubdata.ledger import offline, tree
from pubdata.ledger.canonical import parse_event
from tests.factories import PASSWORD, make_user
from tests.ledger.support import write

PROBLEM = "application/problem+json"
BASE = "/api/v1/public/ledger"


@pytest.fixture
def two_checkpoints(session, keys):  # type: ignore[no-untyped-def]
    write(session, 5)
    first = cps.create(session, keys=keys)
    events = write(session, 8)
    second = cps.create(session, keys=keys)
    session.commit()
    return first, second, events


def test_latest_checkpoint_is_published_and_verifies_with_the_published_key(client, two_checkpoints):
    _, second, _ = two_checkpoints
    keys = load_public_keys(client.get(f"{BASE}/keys").json())
    body = client.get(f"{BASE}/checkpoint").json()
    assert body["tree_size"] == second.tree_size and body["root_hash"] == second.root_hash.hex()
    assert offline.checkpoint(body, keys).tree_size == second.tree_size
    history = client.get(f"{BASE}/checkpoints").json()
    assert [c["tree_size"] for c in history][-2:] == [two_checkpoints[0].tree_size, second.tree_size]


def test_inclusion_proof_of_an_event_verifies_offline(client, two_checkpoints):
    _, second, events = two_checkpoints
    keys = load_public_keys(client.get(f"{BASE}/keys").json())
    proof = client.get(f"{BASE}/proof/inclusion", params={"event_id": events[3].id}).json()
    assert proof["tree_size"] == second.tree_size and proof["checkpoint"]["tree_size"] == second.tree_size
    offline.inclusion(proof, proof["checkpoint"], keys)
    by_index = client.get(f"{BASE}/proof/inclusion",
                          params={"leaf_index": proof["leaf_index"], "tree_size": second.tree_size}).json()
    assert by_index == proof
    tampered = {**proof, "leaf_index": proof["leaf_index"] - 1}
    with pytest.raises(offline.VerificationFailed):
        offline.inclusion(tampered, proof["checkpoint"], keys)


def test_consistency_between_two_checkpoints_verifies_offline(client, two_checkpoints):
    first, second, _ = two_checkpoints
    keys = load_public_keys(client.get(f"{BASE}/keys").json())
    proof = client.get(f"{BASE}/proof/consistency", params={"first": first.tree_size,
                                                              "second": second.tree_size}).json()
    offline.consistency(proof, proof["first_checkpoint"], proof["second_checkpoint"], keys)
    with pytest.raises(offline.VerificationFailed):
        offline.consistency({**proof, "hashes": proof["hashes"][1:]}, proof["first_checkpoint"],
                            proof["second_checkpoint"], keys)


@pytest.mark.parametrize(("params", "path", "code"), [
    ({"leaf_index": 10**9}, "inclusion", "ledger_leaf_index_out_of_range"),
    ({"leaf_index": -1}, "inclusion", "ledger_leaf_index_out_of_range"),
    ({"leaf_index": 0, "tree_size": 10**12}, "inclusion", "ledger_tree_size_out_of_range"),
    ({"leaf_index": 0, "tree_size": 0}, "inclusion", "ledger_tree_size_out_of_range"),
    ({"leaf_index": 0, "tree_size": 10**40}, "inclusion", "ledger_tree_size_out_of_range"),
    ({}, "inclusion", "ledger_leaf_required"),
    ({"first": 0}, "consistency", "ledger_tree_size_out_of_range"),
    ({"first": 10**9}, "consistency", "ledger_tree_size_out_of_range"),
    ({"first": 1, "second": 10**9}, "consistency", "ledger_tree_size_out_of_range"),
    ({"first": -5, "second": 3}, "consistency", "ledger_tree_size_out_of_range"),
])
def test_out_of_range_requests_are_400_problems_in_chinese(client, two_checkpoints, params, path, code):
    r = client.get(f"{BASE}/proof/{path}", params=params)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["code"] == code and any("\u4e00" <= ch <= "\u9fff" for ch in body["detail"])


def test_unknown_event_is_404(client, two_checkpoints):
    for event_id in (10**9, -3, 10**30):
        r = client.get(f"{BASE}/proof/inclusion", params={"event_id": event_id})
        assert r.status_code == 404 and r.json()["code"] == "ledger_event_not_found"


def test_no_checkpoint_yet_is_404(client, session):
    if cps.latest(session.connection()) is None:
        r = client.get(f"{BASE}/checkpoint")
        assert r.status_code == 404 and r.json()["code"] == "ledger_no_checkpoint"


def test_an_auditor_gets_an_event_with_its_proof_and_can_request_a_checkpoint(client, session, keys):
    make_user(session, Role.REGULATOR, username="auditor")
    session.commit()
    r = client.post("/api/v1/auth/tokens", json={"username": "auditor", "password": PASSWORD, "name": "t"})
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    created = client.post("/api/v1/ledger/checkpoints", headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["tree_size"] == tree.tree_size(session.connection())
    event_id = client.get(f"{BASE}/proof/inclusion", params={"leaf_index": 0}).json()["event_id"]
    got = client.get(f"/api/v1/ledger/events/{event_id}/proof", headers=headers).json()
    parse_event(got["canonical"].encode())
    offline.inclusion(got["proof"], got["proof"]["checkpoint"], load_public_keys(client.get(f"{BASE}/keys").json()),
                      event=got["canonical"].encode())
    assert client.post("/api/v1/ledger/checkpoints").status_code == 401
