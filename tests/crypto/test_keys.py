"""Key files: created on first use with 0600, published with an id, rotation keeps old public keys."""

from __future__ import annotations

import json
import stat
import threading

import pytest

from pubdata.crypto import sm2
from pubdata.crypto.keys import KeyFileError, KeyRing, all_public_keys, load_public_keys, public_keys_document


def test_first_use_creates_one_private_key_readable_only_by_the_owner(tmp_path):
    ring = KeyRing(tmp_path / "keys", "ledger")
    assert not ring.exists() and ring.public_keys() == []
    key = ring.signing_key()
    files = sorted(p.name for p in (tmp_path / "keys" / "ledger").iterdir())
    assert files == [".lock", f"{key.key_id}.pem", f"{key.key_id}.pub.pem", "keyring.json"]
    assert stat.S_IMODE((tmp_path / "keys" / "ledger" / f"{key.key_id}.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert ring.signing_key().key_id == key.key_id  # the same key next time
    assert key.key_id == sm2.key_id(key.public.public_key)


def test_sign_and_verify_by_key_id(tmp_path):
    ring = KeyRing(tmp_path, "ledger")
    kid, sig = ring.sign(b"data")
    assert ring.verify(b"data", sig, kid)
    assert not ring.verify(b"other", sig, kid)
    assert not ring.verify(b"data", sig, "0" * 16)


def test_rotation_keeps_old_public_keys_and_destroys_the_old_private_key(tmp_path):
    ring = KeyRing(tmp_path, "ledger")
    old = ring.signing_key()
    old_sig = old.sign(b"before")
    new = ring.rotate()
    assert new.key_id != old.key_id
    keys = {k.key_id: k for k in ring.public_keys()}
    assert keys[old.key_id].retired_at is not None and keys[new.key_id].retired_at is None
    assert ring.verify(b"before", old_sig, old.key_id)
    assert not (tmp_path / "ledger" / f"{old.key_id}.pem").exists()
    assert ring.signing_key().key_id == new.key_id


def test_published_document_round_trips_and_detects_a_swapped_key(tmp_path):
    ring = KeyRing(tmp_path, "ledger")
    ring.signing_key()
    doc = json.loads(json.dumps(public_keys_document(ring.public_keys())))
    loaded = load_public_keys(doc)
    assert set(loaded) == {k.key_id for k in ring.public_keys()}
    other = sm2.public_key_of(sm2.generate_private_key())
    doc["keys"][0]["public_key"] = other.hex()
    with pytest.raises(KeyFileError, match="不符"):
        load_public_keys(doc)


def test_a_private_key_readable_by_others_is_refused(tmp_path):
    ring = KeyRing(tmp_path, "ledger")
    key = ring.signing_key()
    (tmp_path / "ledger" / f"{key.key_id}.pem").chmod(0o644)
    with pytest.raises(KeyFileError, match="权限"):
        ring.signing_key()


def test_processes_starting_at_once_make_one_key(tmp_path):
    ids: list[str] = []
    threads = [threading.Thread(target=lambda: ids.append(KeyRing(tmp_path, "ledger").signing_key().key_id))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 1 and len(KeyRing(tmp_path, "ledger").public_keys()) == 1


def test_all_public_keys_lists_every_name(tmp_path):
    KeyRing(tmp_path, "ledger").signing_key()
    KeyRing(tmp_path, "institution-7").signing_key()
    assert sorted(k.name for k in all_public_keys(tmp_path)) == ["institution-7", "ledger"]
