"""SM2 signatures (GM/T 0003-2012) with SM3 and the default user id, behind one small interface.

``sign(private_key, data)`` and ``verify(public_key, data, signature)`` are all callers need. The message is
hashed as GM/T 0003.2 prescribes: e = SM3(Z_A ‖ M) with Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A)
and ID = "1234567812345678" (GM/T 0009's default). Encodings are the ones OpenSSL and other 国密 tools read:

* public key: 65 bytes 04 ‖ x ‖ y; as PEM, a SubjectPublicKeyInfo with id-ecPublicKey and the SM2 curve
  (OID 1.2.156.10197.1.301);
* private key: an integer; as PEM, PKCS#8 around an RFC 5915 ECPrivateKey;
* signature: DER SEQUENCE { r INTEGER, s INTEGER } (GM/T 0009).

The curve arithmetic comes from a backend. The default is pure-Python gmssl (about 4 ms to sign and 9 ms to
verify on the reference machine, see bench/ledger.py); a faster one (e.g. a binding to OpenSSL or a
hardware module) can be installed with ``set_backend``. gmssl is used only for point arithmetic: the hashing,
the random nonce (gmssl's default comes from ``random``, not a CSPRNG), range and curve checks, and the
encodings are done here.
"""

from __future__ import annotations

import base64
import secrets
from typing import Protocol

from pubdata.crypto import sm3

DEFAULT_USER_ID = b"1234567812345678"

# The recommended curve of GM/T 0003.5.
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

_OID_EC_PUBLIC_KEY = bytes.fromhex("06072a8648ce3d0201")  # 1.2.840.10045.2.1
_OID_SM2 = bytes.fromhex("06082a811ccf5501822d")  # 1.2.156.10197.1.301
_ALGORITHM = b"\x30\x13" + _OID_EC_PUBLIC_KEY + _OID_SM2


class SM2Error(ValueError):
    """A key or signature that is not well-formed."""


class Backend(Protocol):
    """Curve arithmetic; everything else (hashing, nonces, checks, encodings) stays in this module."""

    name: str

    def public_point(self, d: int) -> tuple[int, int]: ...

    def sign_digest(self, d: int, e: int, k: int) -> tuple[int, int] | None: ...

    def verify_digest(self, point: tuple[int, int], e: int, r: int, s: int) -> bool: ...


class GmsslBackend:
    """gmssl's pure-Python point arithmetic (Jacobian coordinates over hex strings)."""

    name = "gmssl"

    @staticmethod
    def _crypt(d: int | None = None, point: tuple[int, int] | None = None):  # type: ignore[no-untyped-def]
        from gmssl import sm2 as gm  # type: ignore[import-untyped]

        crypt = gm.CryptSM2(private_key=f"{d:064x}" if d is not None else "", public_key="")
        # Set after construction: gmssl's constructor strips a leading "04" with lstrip("04"), which also
        # eats the first hex digits of any x coordinate that begins with 0 or 4.
        crypt.public_key = f"{point[0]:064x}{point[1]:064x}" if point else ""
        return crypt

    def public_point(self, d: int) -> tuple[int, int]:
        crypt = self._crypt(d)
        xy = crypt._kg(d, crypt.ecc_table["g"])
        return int(xy[:64], 16), int(xy[64:], 16)

    def sign_digest(self, d: int, e: int, k: int) -> tuple[int, int] | None:
        out = self._crypt(d).sign(e.to_bytes(32, "big"), f"{k:064x}")
        return (int(out[:64], 16), int(out[64:], 16)) if out else None

    def verify_digest(self, point: tuple[int, int], e: int, r: int, s: int) -> bool:
        return bool(self._crypt(point=point).verify(f"{r:064x}{s:064x}", e.to_bytes(32, "big")))


_backend: Backend = GmsslBackend()


def set_backend(backend: Backend) -> Backend:
    """Install another curve implementation; returns the previous one."""
    global _backend
    previous, _backend = _backend, backend
    return previous


def backend() -> Backend:
    return _backend


# --- Keys ----------------------------------------------------------------------------------------------

def generate_private_key() -> int:
    """A private key d in [1, n-2] from the operating system's CSPRNG."""
    return secrets.randbelow(N - 2) + 1


def on_curve(x: int, y: int) -> bool:
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def encode_point(x: int, y: int) -> bytes:
    return b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")


def decode_point(public_key: bytes) -> tuple[int, int]:
    """(x, y) of an uncompressed public key, checked to lie on the curve."""
    if len(public_key) != 65 or public_key[0] != 4:
        raise SM2Error("SM2 公钥应为 65 字节的非压缩点（04 ‖ x ‖ y）。")
    x, y = int.from_bytes(public_key[1:33], "big"), int.from_bytes(public_key[33:], "big")
    if not on_curve(x, y):
        raise SM2Error("SM2 公钥不在曲线上。")
    return x, y


def public_key_of(private_key: int) -> bytes:
    _check_private(private_key)
    return encode_point(*_backend.public_point(private_key))


def key_id(public_key: bytes) -> str:
    """A short, stable name for a public key: the first 16 hex digits of SM3(04 ‖ x ‖ y)."""
    return sm3.hexdigest(public_key)[:16]


def _check_private(d: int) -> None:
    if not 1 <= d <= N - 2:
        raise SM2Error("SM2 私钥超出范围 [1, n-2]。")


# --- Signing -------------------------------------------------------------------------------------------

def za(public_key: bytes, user_id: bytes = DEFAULT_USER_ID) -> bytes:
    """Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A) (GM/T 0003.2 §5.5)."""
    decode_point(public_key)
    if len(user_id) * 8 > 0xFFFF:
        raise SM2Error("SM2 用户标识过长。")
    parts = [A, B, GX, GY]
    return sm3.digest((len(user_id) * 8).to_bytes(2, "big") + user_id
                      + b"".join(v.to_bytes(32, "big") for v in parts) + public_key[1:])


def message_digest(public_key: bytes, data: bytes, user_id: bytes = DEFAULT_USER_ID) -> int:
    """e = SM3(Z_A ‖ M) as an integer."""
    return int.from_bytes(sm3.digest(za(public_key, user_id) + data), "big")


def sign(private_key: int, data: bytes, *, public_key: bytes | None = None,
         user_id: bytes = DEFAULT_USER_ID, nonce: int | None = None) -> bytes:
    """DER signature of ``data``. ``public_key`` saves one point multiplication; ``nonce`` is for test vectors."""
    _check_private(private_key)
    public_key = public_key if public_key is not None else public_key_of(private_key)
    e = message_digest(public_key, data, user_id)
    while True:
        k = nonce if nonce is not None else secrets.randbelow(N - 1) + 1
        rs = _backend.sign_digest(private_key, e, k)
        if rs is not None:
            return encode_signature(*rs)
        if nonce is not None:
            raise SM2Error("给定的随机数 k 不能产生有效签名。")


def verify(public_key: bytes, data: bytes, signature: bytes, *, user_id: bytes = DEFAULT_USER_ID) -> bool:
    """True when ``signature`` (DER) is ``public_key``'s signature of ``data``. Never raises on bad input."""
    try:
        point = decode_point(public_key)
        r, s = decode_signature(signature)
    except SM2Error:
        return False
    if not (1 <= r < N and 1 <= s < N) or (r + s) % N == 0:
        return False
    return _backend.verify_digest(point, message_digest(public_key, data, user_id), r, s)


# --- DER and PEM ---------------------------------------------------------------------------------------

def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + _der_len(len(value)) + value


def _der_int(v: int) -> bytes:
    raw = v.to_bytes(v.bit_length() // 8 + 1, "big")  # one spare byte keeps the sign bit clear
    if len(raw) > 1 and raw[0] == 0 and raw[1] < 0x80:
        raw = raw[1:]
    return _tlv(0x02, raw)


def _read(buf: bytes, pos: int, tag: int) -> tuple[bytes, int]:
    """The value of the DER element of ``tag`` at ``pos``, and the position after it (strict lengths)."""
    if pos + 2 > len(buf) or buf[pos] != tag:
        raise SM2Error("DER 编码有误。")
    length, pos = buf[pos + 1], pos + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > len(buf) or buf[pos] == 0:
            raise SM2Error("DER 长度编码有误。")
        length, pos = int.from_bytes(buf[pos:pos + count], "big"), pos + count
        if length < 0x80:
            raise SM2Error("DER 长度编码不是最短形式。")
    if pos + length > len(buf):
        raise SM2Error("DER 数据被截断。")
    return buf[pos:pos + length], pos + length


def _read_uint(buf: bytes, pos: int) -> tuple[int, int]:
    raw, pos = _read(buf, pos, 0x02)
    if not raw or raw[0] & 0x80 or (len(raw) > 1 and raw[0] == 0 and not raw[1] & 0x80):
        raise SM2Error("DER 整数编码有误。")
    return int.from_bytes(raw, "big"), pos


def encode_signature(r: int, s: int) -> bytes:
    return _tlv(0x30, _der_int(r) + _der_int(s))


def decode_signature(signature: bytes) -> tuple[int, int]:
    body, end = _read(signature, 0, 0x30)
    if end != len(signature):
        raise SM2Error("签名后有多余数据。")
    r, pos = _read_uint(body, 0)
    s, pos = _read_uint(body, pos)
    if pos != len(body):
        raise SM2Error("签名结构有误。")
    return r, s


def _pem(label: str, der: bytes) -> str:
    b64 = base64.b64encode(der).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


def _unpem(label: str, pem: str) -> bytes:
    head, tail = f"-----BEGIN {label}-----", f"-----END {label}-----"
    start, end = pem.find(head), pem.find(tail)
    if start < 0 or end < start:
        raise SM2Error(f"不是 PEM 格式的 {label}。")
    try:
        return base64.b64decode("".join(pem[start + len(head):end].split()), validate=True)
    except ValueError as exc:
        raise SM2Error("PEM 内容不是有效的 Base64。") from exc


def public_key_der(public_key: bytes) -> bytes:
    decode_point(public_key)
    return _tlv(0x30, _ALGORITHM + _tlv(0x03, b"\x00" + public_key))


def public_key_pem(public_key: bytes) -> str:
    """SubjectPublicKeyInfo PEM, as ``openssl pkey -pubin`` reads it."""
    return _pem("PUBLIC KEY", public_key_der(public_key))


def public_key_from_pem(pem: str) -> bytes:
    der = _unpem("PUBLIC KEY", pem)
    body, end = _read(der, 0, 0x30)
    if end != len(der):
        raise SM2Error("公钥后有多余数据。")
    algorithm, pos = _read(body, 0, 0x30)
    if algorithm != _ALGORITHM[2:]:
        raise SM2Error("不是 SM2 公钥（算法标识应为 id-ecPublicKey 与 SM2 曲线）。")
    bits, pos = _read(body, pos, 0x03)
    if pos != len(body) or not bits or bits[0] != 0:
        raise SM2Error("公钥编码有误。")
    decode_point(bits[1:])
    return bits[1:]


def private_key_pem(private_key: int, public_key: bytes | None = None) -> str:
    """PKCS#8 PEM (RFC 5208 around RFC 5915), as ``openssl pkey`` reads it."""
    _check_private(private_key)
    public_key = public_key if public_key is not None else public_key_of(private_key)
    ec = _tlv(0x30, _der_int(1) + _tlv(0x04, private_key.to_bytes(32, "big"))
              + _tlv(0xA1, _tlv(0x03, b"\x00" + public_key)))
    return _pem("PRIVATE KEY", _tlv(0x30, _der_int(0) + _ALGORITHM + _tlv(0x04, ec)))


def private_key_from_pem(pem: str) -> tuple[int, bytes | None]:
    """The private key and, when the file carries it, the public key."""
    der = _unpem("PRIVATE KEY", pem)
    body, _ = _read(der, 0, 0x30)
    version, pos = _read_uint(body, 0)
    algorithm, pos = _read(body, pos, 0x30)
    if version != 0 or algorithm != _ALGORITHM[2:]:
        raise SM2Error("不是 SM2 私钥（PKCS#8）。")
    octets, _ = _read(body, pos, 0x04)
    ec, _ = _read(octets, 0, 0x30)
    ec_version, pos = _read_uint(ec, 0)
    secret, pos = _read(ec, pos, 0x04)
    if ec_version != 1 or len(secret) != 32:
        raise SM2Error("EC 私钥结构有误。")
    d, public = int.from_bytes(secret, "big"), None
    while pos < len(ec):  # optional [0] parameters, [1] public key
        tag = ec[pos]
        value, pos = _read(ec, pos, tag)
        if tag == 0xA1:
            bits, _ = _read(value, 0, 0x03)
            public = bits[1:]
            decode_point(public)
    _check_private(d)
    return d, public
