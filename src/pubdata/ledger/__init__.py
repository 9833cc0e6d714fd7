"""The tamper-evident ledger: every audit event a leaf of an RFC 9162 Merkle tree (SM3), signed
checkpoints, inclusion and consistency proofs, an independent verifier and 20-year archive bundles.

Kept import-light (``audit.service`` imports ``ledger.hooks`` while ``pubdata.audit`` is initialising).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session


def leaf_index_of(session: Session, event: Any) -> int:
    """The leaf index of an audit event (or event id): what certificates and evidence receipts carry."""
    from pubdata.ledger.tree import leaf_index_of as _leaf_index_of

    return _leaf_index_of(session, event)


__all__ = ["leaf_index_of"]
