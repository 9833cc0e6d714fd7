"""Datasets in the domain (OPS-22, OPS-33): an industry department loads a *registered* data resource from CSV
or Parquet into the platform's own DuckDB file and classifies every column; it may later reclassify a column
(audited with before and after) or withdraw the dataset (every grant on it stops at once). Nothing is deleted.

Source files are read only from ``var/opdomain/incoming/`` (where uploads are staged), never from a path a
client names freely. The loader is the only writable DuckDB connection; queries go through one read-only
:class:`~pubdata.opdomain.engine.DomainEngine` per file (:func:`engine_for`).
"""

from __future__ import annotations

import dataclasses
import re
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from pubdata.audit import Actor, record
from pubdata.config import get_settings
from pubdata.crypto import sm3
from pubdata.db.base import utcnow
from pubdata.errors import Conflict, FieldError, NotFound, ValidationFailed
from pubdata.identity.access import require, require_same_org
from pubdata.identity.permissions import Permission
from pubdata.opdomain.engine import DomainEngine
from pubdata.opdomain.models import DataApplication, DataGrant, OpDataset
from pubdata.opdomain.schema import Column, Dataset, DisclosureConfig, Grade, Role, Table, TableKind
from pubdata.registry.models import Registration
from pubdata.workflow import StateMachine

#: Industry departments provide and classify data (the only role holding this permission).
PROVIDE = Permission.REGISTRY_READ_INDUSTRY
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_SUFFIXES = {".csv": "read_csv", ".parquet": "read_parquet"}
DATASET = StateMachine(name="运营域数据集", transitions={("active", "withdraw"): "withdrawn"},
                       labels={"active": "可申请", "withdrawn": "已撤下", "withdraw": "撤下"})
ROLE_LABELS = {r.value: r.label for r in Role}
GRADE_LABELS = {g.value: g.label for g in (Grade.GENERAL, Grade.IMPORTANT, Grade.CORE)}


def domain_dir() -> Path:
    return get_settings().var_dir / "opdomain"


def incoming_dir() -> Path:
    return domain_dir() / "incoming"


def staged_files() -> list[str]:
    """CSV and Parquet files waiting in the incoming area, by name (uploads still being written are hidden)."""
    base = incoming_dir()
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir()
                  if p.is_file() and p.suffix.lower() in _SUFFIXES and not p.name.startswith("."))


#: A staged source file's name: letters, digits, Han characters, "_", "-" and "."; no path.
_STAGED_NAME = re.compile(r"^[A-Za-z0-9_\-\u4e00-\u9fff][A-Za-z0-9_.\-\u4e00-\u9fff]{0,119}$")
#: Registers of millions of rows run to gigabytes as CSV.
MAX_STAGED_BYTES = 4 << 30


def stage_file(session: Session, *, actor: Actor, filename: str | None, chunks: Iterable[bytes],
               max_bytes: int = MAX_STAGED_BYTES) -> str:
    """Upload a source file into the incoming area (the web's way to stage a resource for loading).

    Written under a hidden temporary name, size-checked on every chunk, opened by DuckDB to prove it is the CSV
    or Parquet it says, then renamed; a name already staged is refused (nothing is overwritten). Audited with
    its size and SM3 digest, so what was loaded can be traced to what was uploaded."""
    require(actor, PROVIDE)
    name = Path(filename or "").name.strip()
    suffix = Path(name).suffix.lower()
    if not name:
        raise ValidationFailed.single("file", "file_missing", "请选择要上传的 CSV 或 Parquet 文件。")
    if suffix not in _SUFFIXES or not _STAGED_NAME.match(name):
        raise ValidationFailed.single("file", "bad_source_name", "只能上传 .csv 或 .parquet 文件；文件名只能含字母、"
                                      "数字、汉字、下划线、连字符和点，不超过 120 个字符。")
    base = incoming_dir()
    base.mkdir(parents=True, exist_ok=True)
    final = base / name
    if final.exists():
        raise Conflict(f"暂存区已有同名文件“{name}”，请改名后上传。", code="source_exists")
    partial = base / f".{uuid.uuid4().hex}{suffix}"
    digest, size = sm3.new(), 0
    try:
        with partial.open("xb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise ValidationFailed.single("file", "file_too_large",
                                                  f"文件超过 {max_bytes >> 20} MiB 上限。")
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise ValidationFailed.single("file", "file_empty", "文件是空的。")
        _readable(partial)
        partial.rename(final)
    finally:
        partial.unlink(missing_ok=True)  # an unfinished upload, never a staged or loaded file
    record(session, actor=actor, tag="opdomain:staging:upload", object_type="opdomain_staging", object_id=name,
           data={"file": name, "size": size, "sm3": digest.hexdigest()})
    return name


def _readable(path: Path) -> None:
    try:
        with duckdb.connect() as con:
            con.execute(f"DESCRIBE SELECT * FROM {_SUFFIXES[path.suffix.lower()]}(?)", [str(path)]).fetchall()
    except duckdb.Error:
        raise ValidationFailed.single("file", "source_unreadable",
                                      "文件无法按其扩展名读取（CSV 须为 UTF-8 带表头，Parquet 须完整）。") from None


def describe_source(name: str) -> list[tuple[str, str]]:
    """Column names and DuckDB types of a staged file (for the classification form); refused outside incoming/."""
    errors: list[FieldError] = []
    path = _source_path(TableSpec(name="x", source=name, key="", columns=()), 0, errors)
    if path is None:
        raise ValidationFailed(errors)
    try:
        with duckdb.connect() as con:
            rows = con.execute(f"DESCRIBE SELECT * FROM {_SUFFIXES[path.suffix.lower()]}(?)", [str(path)]).fetchall()
    except duckdb.Error:
        raise ValidationFailed.single("source", "source_unreadable", "源文件无法读取。") from None
    return [(str(r[0]).lower(), str(r[1])) for r in rows]


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


def datasets_query(*, state: str | None = None, provider_org_id: int | None = None) -> Select[tuple[OpDataset]]:
    """Datasets, newest first; a provider sees its withdrawn ones too (pages filter by state)."""
    q = select(OpDataset).order_by(OpDataset.id.desc())
    if state:
        q = q.where(OpDataset.state == state)
    if provider_org_id is not None:
        q = q.where(OpDataset.provider_org_id == provider_org_id)
    return q


def _own(session: Session, actor: Actor, dataset_id: int) -> OpDataset:
    require(actor, PROVIDE)
    row = get_dataset(session, dataset_id)
    require_same_org(actor, row.provider_org_id)
    return row


# --- reclassifying a column, withdrawing a dataset -----------------------------------------------------------

def _reclassified(row: OpDataset, table: str, column: str, role: str, grade: str) -> tuple[Table, Column]:
    """The table with one column's role and grade changed, validated as the engine would."""
    doc = next((t for t in row.tables if t["name"] == table), None)
    if doc is None:
        raise ValidationFailed.single("table", "unknown_table", f"数据集中没有表 {table}。")
    old = table_of(doc)
    col = old.column(column)
    if col is None:
        raise ValidationFailed.single("column", "unknown_column", f"表 {table} 中没有列 {column}。")
    errors = []
    if role not in ROLE_LABELS:
        errors.append(FieldError("role", "bad_role", "请选择有效的数据角色。"))
    if grade not in GRADE_LABELS:
        errors.append(FieldError("grade", "bad_grade", "请选择有效的分级（一般、重要、核心）。"))
    if errors:
        raise ValidationFailed(errors)
    new_col = dataclasses.replace(col, role=Role(role), grade=Grade(grade))
    if new_col == col:
        raise ValidationFailed.single("role", "no_change", "角色和分级与现有分类相同，没有变化。")
    try:
        new = dataclasses.replace(old, columns=tuple(new_col if c.name == column else c for c in old.columns))
    except ValueError:
        raise ValidationFailed.single("role", "bad_classification",
                                      f"表 {table} 为代码表，只能包含公开列。") from None
    return new, col


def _narrow_grants(session: Session, actor: Actor, row: OpDataset, table: str, column: str, reason: str) -> list[int]:
    """核心 data can never be granted (OPS-33): a column newly graded core leaves every grant that holds it."""
    narrowed: list[int] = []
    for g in session.scalars(select(DataGrant).where(DataGrant.dataset_id == row.id).order_by(DataGrant.id)):
        if column not in g.columns.get(table, []):
            continue
        before = {t: list(c) for t, c in g.columns.items()}
        after = {t: [c for c in cols if not (t == table and c == column)] for t, cols in before.items()}
        g.columns = {t: cols for t, cols in after.items() if cols}
        narrowed.append(g.id)
        record(session, actor=actor, tag="opdomain:grant:narrow", object_type="opdomain_grant", object_id=g.id,
               changes={"columns": [before, g.columns]}, data={"reason": reason, "column": f"{table}.{column}"})
    return narrowed


def reclassify_column(session: Session, *, actor: Actor, dataset_id: int, table: str, column: str, role: str,
                      grade: str, reason: str) -> OpDataset:
    """The provider changes one column's role or grade; the next query is checked under the new classification."""
    row = _own(session, actor, dataset_id)
    if row.state != "active":
        raise Conflict("该数据集已撤下，不能重新分类。", code="dataset_withdrawn")
    if not reason.strip():
        raise ValidationFailed.single("reason", "required", "重新分类须说明理由。")
    table, column = table.strip().lower(), column.strip().lower()
    new, old_col = _reclassified(row, table, column, role.strip(), grade.strip())
    row.tables = [table_json(new) if t["name"] == table else t for t in row.tables]
    narrowed = _narrow_grants(session, actor, row, table, column, reason.strip()) if grade == Grade.CORE.value else []
    session.flush()
    record(session, actor=actor, tag="opdomain:dataset:reclassify", object_type="opdomain_dataset", object_id=row.id,
           changes={f"{table}.{column}": [[old_col.role.value, old_col.grade.value], [role, grade]]},
           data={"reason": reason.strip(), "narrowed_grants": narrowed})
    return row


def withdraw_dataset(session: Session, *, actor: Actor, dataset_id: int, reason: str) -> OpDataset:
    """Withdrawal stops every grant on the dataset at once and refuses its pending applications; the file and
    every record stay (OPS-37)."""
    row = _own(session, actor, dataset_id)
    if not reason.strip():
        raise ValidationFailed.single("reason", "required", "撤下数据集须说明理由。")
    row.state = DATASET.next_state(row.state, "withdraw")
    now, note = utcnow(), f"数据集已撤下：{reason.strip()}"
    revoked = []
    for g in session.scalars(select(DataGrant).where(DataGrant.dataset_id == row.id, DataGrant.revoked_at.is_(None))
                             .order_by(DataGrant.id)):
        g.revoked_at, g.revoke_reason = now, note
        revoked.append(g.id)
        record(session, actor=actor, tag="opdomain:grant:revoke", object_type="opdomain_grant", object_id=g.id,
               changes={"revoked_at": [None, now.isoformat()]}, data={"reason": note})
    refused = []
    for app in session.scalars(select(DataApplication).where(DataApplication.dataset_id == row.id,
                                                             DataApplication.state == "submitted")):
        app.state, app.decision_note, app.decided_by_org_id, app.decided_at = "refused", note, actor.org_id, now
        refused.append(app.id)
        record(session, actor=actor, tag="opdomain:application:refuse", object_type="opdomain_application",
               object_id=app.id, changes={"state": ["submitted", "refused"]}, data={"grant_id": None, "columns": {}})
    session.flush()
    record(session, actor=actor, tag="opdomain:dataset:withdraw", object_type="opdomain_dataset", object_id=row.id,
           changes={"state": ["active", "withdrawn"]},
           data={"reason": reason.strip(), "revoked_grants": revoked, "refused_applications": refused})
    return row


# --- one read-only engine per file ------------------------------------------------------------------------

_engines: dict[str, DomainEngine] = {}
_lock = threading.Lock()


def engine_for(row: OpDataset) -> DomainEngine:
    """DuckDB refuses a second connection to a file with other settings, so the process keeps one per file."""
    path = str((domain_dir() / row.file_name).resolve())
    with _lock:
        if path not in _engines:
            _engines[path] = DomainEngine(path, dataset_of(row))
        eng = _engines[path]
        eng.dataset = dataset_of(row)  # a reclassification takes effect at the next query
        return eng


def close_engines() -> None:
    with _lock:
        for eng in _engines.values():
            eng.close()
        _engines.clear()
