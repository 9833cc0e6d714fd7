"""Datasets in the domain (OPS-22, OPS-33): an industry department loads a *registered* data resource from CSV
or Parquet into the platform's own DuckDB file and classifies every column.

Source files are read only from ``var/opdomain/incoming/`` (where uploads are staged), never from a path a
client names freely. The loader is the only writable DuckDB connection; queries go through one read-only
:class:`~pubdata.opdomain.engine.DomainEngine` per file (:func:`engine_for`).
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.audit import Actor, record
from pubdata.config import get_settings
from pubdata.errors import Conflict, FieldError, NotFound, ValidationFailed
from pubdata.identity.access import require
from pubdata.identity.permissions import Permission
from pubdata.opdomain.engine import DomainEngine
from pubdata.opdomain.models import OpDataset
from pubdata.opdomain.schema import Column, Dataset, DisclosureConfig, Grade, Role, Table, TableKind
from pubdata.registry.models import Registration

#: Industry departments provide and classify data (the only role holding this permission).
PROVIDE = Permission.REGISTRY_READ_INDUSTRY
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_SUFFIXES = {".csv": "read_csv", ".parquet": "read_parquet"}


def domain_dir() -> Path:
    return get_settings().var_dir / "opdomain"


def incoming_dir() -> Path:
    return domain_dir() / "incoming"


# --- the engine's schema objects as JSON -------------------------------------------------------------------

def table_json(t: Table) -> dict[str, Any]:
    return {"name": t.name, "kind": t.kind.value, "key": t.key, "label": t.label,
            "columns": [{"name": c.name, "type": c.type, "role": c.role.value, "grade": c.grade.value,
                         "label": c.label} for c in t.columns]}


def table_of(doc: Mapping[str, Any]) -> Table:
    cols = tuple(Column(c["name"], c["type"], Role(c["role"]), Grade(c["grade"]), c.get("label", ""))
                 for c in doc["columns"])
    return Table(doc["name"], cols, TableKind(doc["kind"]), doc["key"], doc.get("label", ""))


def disclosure_json(d: DisclosureConfig) -> dict[str, Any]:
    return {**dataclasses.asdict(d), "dominance": [list(r) for r in d.dominance]}


def disclosure_of(doc: Mapping[str, Any]) -> DisclosureConfig:
    args = dict(doc)
    if "dominance" in args:
        args["dominance"] = tuple((int(n), float(p)) for n, p in args["dominance"])
    return DisclosureConfig(**args)


def dataset_of(row: OpDataset) -> Dataset:
    return Dataset(row.code, tuple(table_of(t) for t in row.tables), disclosure_of(row.disclosure), row.label)


# --- registering a dataset ---------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class TableSpec:
    """One table to load: its source file (name under incoming/) and the classification of its columns."""

    name: str
    source: str
    key: str
    columns: Sequence[Mapping[str, str]]  # name, role, grade, label
    kind: str = TableKind.ENTITY.value
    label: str = ""


def _source_path(spec: TableSpec, i: int, errors: list[FieldError]) -> Path | None:
    base = incoming_dir().resolve()
    path = (base / spec.source).resolve()
    if path.parent != base or path.suffix.lower() not in _SUFFIXES or not path.is_file():
        errors.append(FieldError(f"tables.{i}.source", "source_not_found",
                                 "源文件须为已上传到域内暂存区的 CSV 或 Parquet 文件。"))
        return None
    return path


def _classify(spec: TableSpec, i: int, types: dict[str, str], errors: list[FieldError]) -> Table | None:
    """The engine's Table for ``spec``; every source column must be classified, exactly once."""
    before = len(errors)
    columns: list[Column] = []
    for j, c in enumerate(spec.columns):
        where = f"tables.{i}.columns.{j}"
        name = str(c.get("name", "")).lower()
        if name not in types:
            errors.append(FieldError(f"{where}.name", "unknown_column", f"源文件中没有列 {name}。"))
            continue
        try:
            columns.append(Column(name, types[name], Role(c.get("role")), Grade(c.get("grade")), c.get("label", "")))
        except ValueError:
            errors.append(FieldError(where, "bad_classification", f"列 {name} 的角色或分级无效。"))
    missing = sorted(set(types) - {c.name for c in columns})
    if missing:
        errors.append(FieldError(f"tables.{i}.columns", "unclassified",
                                 "每一列都须分类分级，尚未分类：" + "、".join(missing) + "。"))
    if len(errors) > before:
        return None
    try:
        return Table(spec.name, tuple(columns), TableKind(spec.kind), spec.key, spec.label)
    except ValueError as e:
        errors.append(FieldError(f"tables.{i}", "bad_table", f"表 {spec.name} 定义有误：{e}"))
        return None


def _load(con: duckdb.DuckDBPyConnection, specs: Sequence[TableSpec], errors: list[FieldError]) -> list[Table]:
    tables: list[Table] = []
    for i, spec in enumerate(specs):
        if not _NAME.match(spec.name):
            errors.append(FieldError(f"tables.{i}.name", "bad_name", "表名须为小写字母开头的字母、数字、下划线。"))
            continue
        path = _source_path(spec, i, errors)
        if path is None:
            continue
        reader = _SUFFIXES[path.suffix.lower()]
        try:
            con.execute(f'CREATE TABLE "{spec.name}" AS SELECT * FROM {reader}(?)', [str(path)])
        except duckdb.Error:
            errors.append(FieldError(f"tables.{i}.source", "source_unreadable", "源文件无法读取。"))
            continue
        types = {r[0].lower(): r[1] for r in con.execute(f'DESCRIBE "{spec.name}"').fetchall()}
        table = _classify(spec, i, types, errors)
        if table is None:
            continue
        # Counting rows as entities relies on the declared key being unique (docs/opdomain.md, residual risks).
        total, distinct = con.execute(
            f'SELECT count(*), count(DISTINCT "{table.key}") FROM "{spec.name}"').fetchone()  # type: ignore[misc]
        if total != distinct:
            message = f"表 {spec.name} 的键列 {table.key} 有重复值。"
            errors.append(FieldError(f"tables.{i}.key", "key_not_unique", message))
            continue
        tables.append(table)
    return tables


def register_dataset(session: Session, *, actor: Actor, registration_id: int, code: str, label: str,
                     tables: Sequence[TableSpec], disclosure: Mapping[str, Any] | None = None) -> OpDataset:
    require(actor, PROVIDE)
    reg = session.get(Registration, registration_id)
    if reg is None or reg.status != "registered":
        raise ValidationFailed.single("registration_id", "not_registered", "只有已登记的公共数据资源才能载入运营域。")
    if not _NAME.match(code.replace("-", "_")):
        raise ValidationFailed.single("code", "bad_code", "数据集代码须为小写字母、数字、连字符。")
    if session.scalar(select(OpDataset.id).where(OpDataset.code == code)) is not None:
        raise Conflict("数据集代码已被使用。", code="duplicate_dataset")
    try:
        config = disclosure_of(disclosure or {})
    except (TypeError, ValueError):
        raise ValidationFailed.single("disclosure", "bad_disclosure", "统计披露控制参数无效。") from None
    if not tables:
        raise ValidationFailed.single("tables", "required", "至少载入一张表。")
    path = domain_dir() / f"{code}.duckdb"
    if path.exists():
        raise Conflict("域内已有同名数据文件。", code="duplicate_dataset")
    path.parent.mkdir(parents=True, exist_ok=True)
    errors: list[FieldError] = []
    con = duckdb.connect(str(path))
    try:
        loaded = _load(con, tables, errors)
        counts = {t.name: int(con.execute(f'SELECT count(*) FROM "{t.name}"').fetchone()[0]) for t in loaded}  # type: ignore[index]
    finally:
        con.close()
    if errors:
        path.unlink(missing_ok=True)  # a half-loaded file is no record: nothing refers to it yet
        raise ValidationFailed(errors)
    row = OpDataset(code=code, label=label.strip() or reg.data_name, registration_id=reg.id,
                    provider_org_id=actor.org_id, file_name=path.name, tables=[table_json(t) for t in loaded],
                    disclosure=disclosure_json(config), row_counts=counts)
    session.add(row)
    session.flush()
    record(session, actor=actor, tag="opdomain:dataset:register", object_type="opdomain_dataset", object_id=row.id,
           data={"code": code, "registration_id": reg.id, "tables": counts,
                 "classification": {t.name: {c.name: [c.role.value, c.grade.value] for c in t.columns}
                                    for t in loaded}})
    return row


def get_dataset(session: Session, dataset_id: int) -> OpDataset:
    row = session.get(OpDataset, dataset_id)
    if row is None:
        raise NotFound("数据集不存在。", code="dataset_not_found")
    return row


def list_datasets(session: Session) -> list[OpDataset]:
    return list(session.scalars(select(OpDataset).where(OpDataset.state == "active").order_by(OpDataset.id)))


# --- one read-only engine per file ------------------------------------------------------------------------

_engines: dict[str, DomainEngine] = {}
_lock = threading.Lock()


def engine_for(row: OpDataset) -> DomainEngine:
    """DuckDB refuses a second connection to a file with other settings, so the process keeps one per file."""
    path = str((domain_dir() / row.file_name).resolve())
    with _lock:
        if path not in _engines:
            _engines[path] = DomainEngine(path, dataset_of(row))
        return _engines[path]


def close_engines() -> None:
    with _lock:
        for eng in _engines.values():
            eng.close()
        _engines.clear()
