"""The platform's evidence service (存证, REG-9, REG-20): receipts over SM3 digests with a Merkle root."""

from pubdata.evidence.models import EvidenceItem, EvidenceReceipt
from pubdata.evidence.numbers import format_receipt_no, parse_receipt_no
from pubdata.evidence.service import (
    ManifestRow,
    UploadedFile,
    find_receipt,
    get_receipt,
    inclusion_proof,
    issue_receipt,
    list_receipts,
    manifest_rows,
    public_receipt,
    receipts_with_digest,
)

__all__ = [
    "EvidenceItem", "EvidenceReceipt", "ManifestRow", "UploadedFile", "find_receipt", "format_receipt_no",
    "get_receipt", "inclusion_proof", "issue_receipt", "list_receipts", "manifest_rows", "parse_receipt_no",
    "public_receipt", "receipts_with_digest",
]
