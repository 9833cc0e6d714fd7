"""What a product is built from: the operation domain's released exports (OPS-26), read through the export
review's own ``get_released`` so that nothing unapproved can become a product.

A release is the disclosure-controlled content the agency approved — a result table (suppressed cells stay
``None``) or a file — with the digest of its signed manifest. Products never read raw domain data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from pubdata.errors import Conflict


@dataclass(frozen=True)
class Release:
    export_id: int
    agreement_id: int
    operator_org_id: int
    manifest_digest: str
    #: "result" (a table of released cells) or "file".
    kind: str
    #: Registered data resources the content was derived from.
    resource_ids: tuple[int, ...] = ()
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[Any, ...], ...] = ()
    file_name: str | None = None
    media_type: str | None = None
    content_digest: str | None = None


def released(session: Session, export_id: int) -> Release:
    """The approved export ``export_id``; the export review raises unless it was approved and released."""
    try:
        from pubdata.opdomain import exports
    except ImportError:  # the export review is built in parallel (issue 9)
        raise Conflict("授权运营域的导出审核尚未启用，暂不能基于导出成果创建产品。",
                       code="exports_unavailable") from None
    export = exports.get_released(session, export_id)
    return _release_of(session, export)


def _release_of(session: Session, export: Any) -> Release:
    from pubdata.opdomain.models import OpDataset, QueryRun

    columns: tuple[str, ...] = ()
    rows: tuple[tuple[Any, ...], ...] = ()
    resources: tuple[int, ...] = ()
    if export.dataset_id is not None:
        dataset = session.get(OpDataset, export.dataset_id)
        resources = (dataset.registration_id,) if dataset is not None else ()
    if export.kind == "result" and export.query_run_id is not None:
        run = session.get(QueryRun, export.query_run_id)
        if run is not None:
            columns = tuple(run.columns)
            # Each cell is [value, suppression reason]; a suppressed value is already null.
            rows = tuple(tuple(cell[0] for cell in row) for row in run.cells)
    return Release(export_id=export.id, agreement_id=export.agreement_id, operator_org_id=export.operator_org_id,
                   manifest_digest=export.manifest_digest or "", kind=export.kind, resource_ids=resources,
                   columns=columns, rows=rows, file_name=export.file_name, media_type=export.media_type,
                   content_digest=export.content_digest)


@dataclass(frozen=True)
class ReleasedFile:
    export_id: int
    content: bytes
    file_name: str
    media_type: str
    manifest_digest: str


def released_file(session: Session, export_id: int) -> ReleasedFile:
    """The exact released bytes of an approved export (checked against the reviewed SM3 digest)."""
    from pubdata.crypto import sm3
    from pubdata.opdomain import exports

    export = exports.get_released(session, export_id)
    content = exports._content_bytes(session, export)
    if sm3.hexdigest(content) != export.content_digest:
        raise Conflict("导出内容与审核时的摘要不符，已停止提供。", code="content_mismatch")
    return ReleasedFile(export.id, content, export.file_name or f"export-{export.id}.json",
                        export.media_type or "application/octet-stream", export.manifest_digest or "")
