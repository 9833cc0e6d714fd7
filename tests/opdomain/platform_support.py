"""Builders for the platform tests of the operation domain: a signed agreement, a dataset loaded from Parquet."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor
from pubdata.audit.models import AuditEvent
from pubdata.opdomain import applications, datasets, queries, staff
from pubdata.opdomain.models import DataGrant, DesignatedStaff, OpDataset, QueryRun
from pubdata.opdomain.synthetic import POPULATION, REGION, write_demo
from pubdata.operation.models import Agreement
from tests.operation.support import Cast, signed_agreement

_demo: Path | None = None


def demo_file(tmp: Path) -> Path:
    """A small synthetic population (2,000 persons), written once per test session."""
    global _demo
    if _demo is None:
        _demo = tmp / "demo.duckdb"
        write_demo(_demo, persons=2_000, enterprises=200)
    return _demo


def stage(source: Path, table: str, suffix: str = "parquet") -> str:
    """Copies a demo table into the domain's incoming area; returns the file name."""
    datasets.incoming_dir().mkdir(parents=True, exist_ok=True)
    name = f"{table}-{uuid.uuid4().hex[:8]}.{suffix}"
    fmt = "(FORMAT parquet)" if suffix == "parquet" else "(HEADER)"
    con = duckdb.connect(str(source), read_only=True)
    try:
        con.execute(f"COPY {table} TO '{datasets.incoming_dir() / name}' {fmt}")
    finally:
        con.close()
    return name


def spec(table: str, source: str) -> datasets.TableSpec:
    t = {"population": POPULATION, "region": REGION}[table]
    doc = datasets.table_json(t)
    return datasets.TableSpec(name=t.name, source=source, key=t.key, kind=t.kind.value, label=t.label,
                              columns=[{k: c[k] for k in ("name", "role", "grade", "label")} for c in doc["columns"]])


def load(session: Session, c: Cast, registration_id: int, tmp: Path) -> OpDataset:
    src = demo_file(tmp)
    tables = [spec("population", stage(src, "population")), spec("region", stage(src, "region", "csv"))]
    return datasets.register_dataset(session, actor=c.industry, registration_id=registration_id,
                                     code=f"pop-{uuid.uuid4().hex[:8]}", label="人口（合成）", tables=tables)


@dataclass
class World:
    agreement: Agreement
    dataset: OpDataset


def world(session: Session, c: Cast, tmp: Path) -> World:
    agreement = signed_agreement(session, c, tmp)
    designate(session, c.operator, c.agency)
    return World(agreement, load(session, c, agreement.content["resource_ids"][0], tmp))


def designate(session: Session, user: Actor, agency: Actor) -> DesignatedStaff:
    """``user`` nominated by its operator and approved by the agency for the agreement in force (OPS-25)."""
    row = staff.nominate(session, actor=user, user_id=user.user_id or 0, duty="数据分析")
    return staff.decide(session, actor=agency, staff_id=row.id, action="approve")


USES = {"population.county_code": "按县区统计", "population.annual_income": "收入分布", "population.age": "年龄段",
        "region.code": "关联县区名称", "region.name": "县区名称"}
COLUMNS = {"population": ["county_code", "annual_income", "age"], "region": ["code", "name"]}


def apply(session: Session, c: Cast, w: World, columns: dict[str, list[str]] | None = None,
          **extra: object) -> applications.DataApplication:
    args: dict[str, object] = dict(
        dataset_id=w.dataset.id, requested=columns or COLUMNS, uses=USES, purpose="县区收入分析",
        scenario="乡村振兴监测", product="路网通行指数", period_start=clock.today(),
        period_end=clock.today() + dt.timedelta(days=90))
    args.update(extra)
    return applications.submit_application(session, actor=c.operator, **args)  # type: ignore[arg-type]


def granted(session: Session, c: Cast, w: World) -> DataGrant:
    app = apply(session, c, w)
    grant = applications.decide(session, actor=c.industry, application_id=app.id, decision="approve")
    assert grant is not None
    session.flush()
    return grant


def ran(session: Session, c: Cast, grant: DataGrant, sql: str) -> QueryRun:
    """Runs a checked query; returns the protected result it stored (for export requests)."""
    out = queries.run_query(session, actor=c.operator, grant_id=grant.id, sql=sql)
    run = session.get(QueryRun, out.query_run_id)
    assert run is not None
    return run


def events(session: Session, tag: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.tag == tag).order_by(AuditEvent.id)))
