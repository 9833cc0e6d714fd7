"""SM2 against the GM/T 0003.5 example and against OpenSSL, an independent implementation."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pubdata.crypto import sm2

# GM/T 0003.5-2012 (GB/T 32918.5) example on the recommended curve, ID = "1234567812345678".
D = 0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8
PUB = bytes.fromhex(
    "04" "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)
ZA = "B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3"
E = 0xF0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640
K = 0x59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21
R = 0xF5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3
S = 0xB1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA
MSG = b"message digest"

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl command not installed")


def test_standard_example_public_key_za_digest_and_signature():
    assert sm2.public_key_of(D) == PUB
    assert sm2.za(PUB).hex().upper() == ZA
    assert sm2.message_digest(PUB, MSG) == E
    sig = sm2.sign(D, MSG, nonce=K)
    assert sm2.decode_signature(sig) == (R, S)
    assert sm2.verify(PUB, MSG, sig)


def test_tampered_message_signature_or_key_fails():
    sig = sm2.sign(D, MSG)
    assert sm2.verify(PUB, MSG, sig)
    assert not sm2.verify(PUB, MSG + b".", sig)
    r, s = sm2.decode_signature(sig)
    assert not sm2.verify(PUB, MSG, sm2.encode_signature(r, (s + 1) % sm2.N))
    other = sm2.public_key_of(sm2.generate_private_key())
    assert not sm2.verify(other, MSG, sig)
    assert not sm2.verify(PUB, MSG, sig, user_id=b"ALICE123@YAHOO.COM")


@pytest.mark.parametrize("bad", [b"", b"\x30\x00", b"garbage", sm2.encode_signature(0, 1),
                                 sm2.encode_signature(1, sm2.N), b"\x30\x06\x02\x01\x01\x02\x01\x01\x00"])
def test_malformed_signatures_are_invalid_not_errors(bad):
    assert not sm2.verify(PUB, MSG, bad)


def test_a_point_off_the_curve_is_refused():
    off = PUB[:-1] + bytes([PUB[-1] ^ 1])
    assert not sm2.verify(off, MSG, sm2.sign(D, MSG))
    with pytest.raises(sm2.SM2Error):
        sm2.decode_point(off)


@given(st.binary(max_size=200))
@settings(max_examples=5, deadline=None)
def test_sign_verify_round_trip(data):
    d = sm2.generate_private_key()
    pub = sm2.public_key_of(d)
    assert sm2.verify(pub, data, sm2.sign(d, data, public_key=pub))


def test_a_public_key_whose_x_starts_with_04_works():
    # gmssl's constructor would strip those digits (lstrip("04")); the backend must not let it.
    for _ in range(3000):
        d = sm2.generate_private_key()
        pub = sm2.public_key_of(d)
        if pub[1:].hex().startswith("04"):
            break
    else:  # pragma: no cover - one in 256 keys, 3000 tries
        pytest.skip("no such key found")
    assert sm2.verify(pub, MSG, sm2.sign(d, MSG, public_key=pub))


def test_pem_round_trips():
    assert sm2.public_key_from_pem(sm2.public_key_pem(PUB)) == PUB
    assert sm2.private_key_from_pem(sm2.private_key_pem(D, PUB)) == (D, PUB)
    with pytest.raises(sm2.SM2Error):
        sm2.public_key_from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")


@needs_openssl
def test_openssl_verifies_our_signature_and_we_verify_openssls(tmp_path):
    key, pub, msg = tmp_path / "k.pem", tmp_path / "p.pem", tmp_path / "m"
    key.write_text(sm2.private_key_pem(D, PUB))
    pub.write_text(sm2.public_key_pem(PUB))
    msg.write_bytes(MSG)
    ours = tmp_path / "ours.der"
    ours.write_bytes(sm2.sign(D, MSG))
    opts = ["-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678"]
    subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(pub), "-in", str(msg),
                    "-sigfile", str(ours), *opts], check=True, capture_output=True)
    theirs = tmp_path / "theirs.der"
    subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", str(key), "-in", str(msg), "-out", str(theirs),
                    *opts], check=True, capture_output=True)
    assert sm2.verify(PUB, MSG, theirs.read_bytes())


@needs_openssl
def test_we_read_keys_openssl_generates(tmp_path):
    key = tmp_path / "k.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "SM2", "-out", str(key)], check=True, capture_output=True)
    d, pub = sm2.private_key_from_pem(key.read_text())
    assert pub == sm2.public_key_of(d)
