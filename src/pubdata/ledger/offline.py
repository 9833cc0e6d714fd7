"""What an outsider runs: checks of published checkpoints and proofs with nothing but the public keys.

No database, no platform configuration: the inputs are the JSON documents the public API returns
(``/api/v1/public/ledger/...``) or an archive bundle holds, and the public keys document. Each function
raises ``VerificationFailed`` with the reason, in Chinese, or returns quietly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pubdata.crypto import merkle
from pubdata.crypto.keys import PublicKey
from pubdata.ledger.canonical import CanonicalError, parse_event
from pubdata.ledger.checkpoints import FORMAT, ORIGIN, Checkpoint


class VerificationFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _hex(value: Any, what: str, size: int | None = 32) -> bytes:
    try:
        raw = bytes.fromhex(str(value))
    except ValueError as exc:
        raise VerificationFailed(f"{what} 不是十六进制数据。") from exc
    if size is not None and len(raw) != size:
        raise VerificationFailed(f"{what} 长度应为 {size} 字节。")
    return raw


def checkpoint(doc: Mapping[str, Any], keys: Mapping[str, PublicKey]) -> Checkpoint:
    """A published checkpoint, its signature checked; the exact signed text must match its fields."""
    try:
        cp = Checkpoint.from_dict(doc)
    except (KeyError, ValueError, TypeError) as exc:
        raise VerificationFailed(f"检查点格式有误：{exc}") from exc
    if doc.get("format", FORMAT) != FORMAT or doc.get("origin", ORIGIN) != ORIGIN:
        raise VerificationFailed("检查点不是本平台账本的检查点（format/origin 不符）。")
    if "signed" in doc and doc["signed"] != cp.signed_bytes().decode():
        raise VerificationFailed("检查点的签名原文与其字段不一致。")
    if cp.key_id not in keys:
        raise VerificationFailed(f"没有密钥 {cp.key_id} 的公钥，无法验证检查点签名。")
    if not cp.verify(keys):
        raise VerificationFailed(f"检查点（树大小 {cp.tree_size}）的 SM2 签名无效。")
    return cp


def inclusion(proof: Mapping[str, Any], signed: Mapping[str, Any], keys: Mapping[str, PublicKey], *,
              event: bytes | None = None) -> None:
    """The leaf of ``proof`` is in the tree the signed checkpoint describes (and is ``event``, if given).

    ``event`` is the event's canonical bytes (its archive line); without it the proof shows only that the
    leaf hash is in the tree.
    """
    cp = checkpoint(signed, keys)
    leaf = _hex(proof.get("leaf_hash"), "leaf_hash")
    if event is not None:
        try:
            parse_event(event)
        except CanonicalError as exc:
            raise VerificationFailed(f"事件不是规范化 JSON：{exc}") from exc
        if merkle.leaf_hash(event) != leaf:
            raise VerificationFailed("事件内容与证明中的叶子哈希不符。")
    index, size = int(proof["leaf_index"]), int(proof["tree_size"])
    if size != cp.tree_size:
        raise VerificationFailed(f"证明针对大小为 {size} 的树，检查点的树大小为 {cp.tree_size}。")
    hashes = [_hex(h, "证明哈希") for h in proof.get("hashes", [])]
    if not merkle.verify_inclusion(leaf, index, size, hashes, cp.root_hash):
        raise VerificationFailed(f"包含证明不成立：叶子 {index} 不在该检查点的树中。")


def consistency(proof: Mapping[str, Any], old: Mapping[str, Any], new: Mapping[str, Any],
                keys: Mapping[str, PublicKey]) -> None:
    """The tree of checkpoint ``new`` is an append-only extension of the tree of checkpoint ``old``."""
    first, second = checkpoint(old, keys), checkpoint(new, keys)
    if (int(proof["first"]), int(proof["second"])) != (first.tree_size, second.tree_size):
        raise VerificationFailed("一致性证明的树大小与两个检查点不符。")
    hashes = [_hex(h, "证明哈希") for h in proof.get("hashes", [])]
    if not merkle.verify_consistency(first.tree_size, second.tree_size, first.root_hash, second.root_hash, hashes):
        raise VerificationFailed(
            f"一致性证明不成立：大小为 {second.tree_size} 的树不是大小为 {first.tree_size} 的树的追加扩展。"
        )
