"""Demo data of the operation domain (idempotent), in two steps around the operation demo:

1. ``register_resources``: two public data resources, the (synthetic) population and enterprise registers, are
   registered and certified through the registry services, so that the demo agreement can cover them;
2. ``load``: the synthetic registers are loaded through the real services as datasets of the demo industry
   department, linked to those registrations (or, in an older demo database whose agreement does not cover
   them, to the agreement's first resource), with the demo operator's approved application and live grant (so
   that `operator` can run a query in the console at once), a pending application and an open quality report.

The synthetic rows are generated inside DuckDB (``synthetic.write_population`` …) and staged as Parquet, as an upload
would be; 1,000,000 persons take a few seconds. ``PUBDATA_DEMO_PERSONS`` (or ``persons=``) makes it smaller
for tests.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor
from pubdata.files.service import store_upload
from pubdata.identity.access import actor_for
from pubdata.identity.users import user_by_username
from pubdata.opdomain import applications, datasets, quality, staff, synthetic
from pubdata.opdomain.models import DesignatedStaff, OpDataset
from pubdata.opdomain.schema import Table
from pubdata.opdomain.synthetic import ENTERPRISE, POPULATION, REGION
from pubdata.operation.access import active_agreement, agreement_scope
from pubdata.registry import applications as registry
from pubdata.registry.certificates import certify
from pubdata.registry.models import Registration
from pubdata.registry.samples import resource_content

POPULATION_CODE = "gansu-population"
ENTERPRISE_CODE = "gansu-enterprise"
DEFAULT_PERSONS = 1_000_000
GRANTED = {"population": ["age", "annual_income", "city_code", "county_code", "education", "gender",
                          "household_size", "insured"],
           "region": ["code", "level", "name", "parent_code"]}
USES = {"population.age": "按年龄段统计", "population.annual_income": "收入分布与人均指标",
        "population.city_code": "按市州汇总", "population.county_code": "按县区汇总",
        "population.education": "受教育程度结构", "population.gender": "性别结构",
        "population.household_size": "户规模", "population.insured": "参保率",
        "region.code": "关联县区名称", "region.level": "区分市州与县区", "region.name": "县区名称",
        "region.parent_code": "县区所属市州"}


#: The registered resources behind the two datasets: data name, summary, industry (GB/T 4754).
RESOURCES = (
    ("全省人口基础信息（合成演示数据）",
     "全省常住人口的性别、年龄、常住县区、受教育程度、参保、收入与慢性病等基础信息；为合成数据，不含真实个人。", "84"),
    ("全省法人单位基础信息（合成演示数据）",
     "全省法人单位的登记状态、行业、注册地、注册资本、从业人数与经营规模；为合成数据，不含真实单位。", "72"),
)


def resource_ids(session: Session) -> list[int]:
    """The registered demo resources (for the operation demo's agreement scope), in RESOURCES order."""
    rows = {r.data_name: r.id for r in session.scalars(select(Registration).where(
        Registration.data_name.in_([name for name, _, _ in RESOURCES]), Registration.status == "registered"))}
    return [rows[name] for name, _, _ in RESOURCES if name in rows]


def register_resources(session: Session, *, system: Actor) -> list[str]:
    """Registers and certifies the two resources through the registry, back-dated like the registry demo."""
    subject, clerk = _actor(session, "subject"), _actor(session, "institution")
    if subject is None or clerk is None or resource_ids(session):
        return []
    created = []
    for name, summary, industry in RESOURCES:
        def upload(label: str, name: str = name) -> str:
            body = f"%PDF-1.7\n% 演示材料：{name} {label}\n%%EOF\n".encode()
            return store_upload(session, actor=subject, stream=body, filename=f"{label}.pdf",
                                declared_type="application/pdf").digest

        start = clock.today() - dt.timedelta(days=90)
        with clock.frozen(start):
            app = registry.create_application(
                session, actor=subject, kind="first", content=resource_content(upload, name, summary, industry),
                documents={"identity_proof": upload("统一社会信用代码证书")})
            registry.submit(session, actor=subject, application_id=app.id)
        with clock.frozen(start + dt.timedelta(days=2)):
            registry.accept(session, actor=clerk, application_id=app.id)
        with clock.frozen(start + dt.timedelta(days=12)):
            registry.pass_review(session, actor=clerk, application_id=app.id)
        with clock.frozen(app.notice_end + dt.timedelta(days=1)):  # type: ignore[operator]
            certify(session, actor=system, application=app)
        created.append(f"{name}（已登记）")
    return created


def demo_persons() -> int:
    return int(os.environ.get("PUBDATA_DEMO_PERSONS", DEFAULT_PERSONS))


def _actor(session: Session, username: str) -> Actor | None:
    user = user_by_username(session, username)
    return actor_for(user) if user else None


def _spec(t: Table, source: str) -> datasets.TableSpec:
    doc = datasets.table_json(t)
    return datasets.TableSpec(name=t.name, source=source, key=t.key, kind=t.kind.value, label=t.label,
                              columns=[{k: c[k] for k in ("name", "role", "grade", "label")} for c in doc["columns"]])


def _stage(persons: int) -> dict[str, str]:
    """Generates the registers in an in-memory DuckDB and stages each table as Parquet (names under incoming/)."""
    incoming = datasets.incoming_dir()
    incoming.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    staged = {}
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        synthetic.write_regions(con)
        synthetic.write_population(con, persons)
        synthetic.write_enterprises(con, max(1_000, persons // 10))
        for table in ("population", "enterprise", "region"):
            staged[table] = f"{table}-{tag}.parquet"
            con.execute(f"COPY {table} TO '{incoming / staged[table]}' (FORMAT parquet)")
    return staged


def _clear_stale(code: str) -> None:
    """A file left by a demo load whose transaction was rolled back (no row refers to it) is no record."""
    path = datasets.domain_dir() / f"{code}.duckdb"
    if path.exists():
        datasets.close_engines()
        path.unlink()
        Path(f"{path}.wal").unlink(missing_ok=True)


def load(session: Session, *, system: Actor, persons: int | None = None) -> list[str]:
    industry, operator = _actor(session, "industry"), _actor(session, "operator")
    if industry is None or operator is None or operator.org_id is None:
        return []
    if session.scalar(select(OpDataset.id).where(OpDataset.code == POPULATION_CODE)) is not None:
        return designate(session, operator)  # an older demo database gets its designated staff too
    agreement = active_agreement(session, operator.org_id)
    covered = [r.registration_id for r in agreement_scope(session, agreement) if r.still_registered] \
        if agreement else []
    if agreement is None or not covered:
        return []
    ours = [i for i in resource_ids(session) if i in covered]
    pop_reg, ent_reg = (ours[0], ours[-1]) if ours else (covered[0], covered[-1])
    for code in (POPULATION_CODE, ENTERPRISE_CODE):
        _clear_stale(code)
    staged = _stage(persons or demo_persons())
    try:
        pop = datasets.register_dataset(
            session, actor=industry, registration_id=pop_reg, code=POPULATION_CODE,
            label="全省人口基础信息（合成演示数据）",
            tables=[_spec(POPULATION, staged["population"]), _spec(REGION, staged["region"])])
        ent = datasets.register_dataset(
            session, actor=industry, registration_id=ent_reg, code=ENTERPRISE_CODE,
            label="全省法人单位基础信息（合成演示数据）",
            tables=[_spec(ENTERPRISE, staged["enterprise"]), _spec(REGION, staged["region"])])
    finally:
        for name in staged.values():
            (datasets.incoming_dir() / name).unlink(missing_ok=True)
    product = next((p["name"] for p in agreement.content.get("products", [])), "数据产品")
    today = clock.today()
    app = applications.submit_application(
        session, actor=operator, dataset_id=pop.id, requested=GRANTED, uses=USES,
        purpose="按县区常住人口结构测算人均路网通行指数，用于交通基础设施规划。", scenario="县区交通基础设施规划",
        product=product, period_start=today, period_end=min(agreement.end_date, today + dt.timedelta(days=365)))
    grant = applications.decide(session, actor=industry, application_id=app.id, decision="approve",
                                note="符合最小必要原则，同意。")
    assert grant is not None
    applications.submit_application(
        session, actor=operator, dataset_id=ent.id,
        requested={"enterprise": ["name", "county_code", "industry", "employees", "revenue"]},
        uses={"enterprise.county_code": "按县区汇总", "enterprise.industry": "行业结构",
              "enterprise.employees": "就业规模", "enterprise.revenue": "经营规模"},
        purpose="物流企业分布与规模分析。", scenario="物流园区选址", product=product, period_start=today,
        period_end=min(agreement.end_date, today + dt.timedelta(days=180)))
    quality.report(session, actor=operator, grant_id=grant.id, table="population", columns=["annual_income"],
                   kind="missing", description="部分县区 60 岁以上人员的年收入为 0 或缺失，请核实是否漏采。")
    n = pop.row_counts["population"]
    return [f"运营域：{pop.label}（{n:,} 人）", f"运营域：{ent.label}",
            "运营域：operator 的数据授权（可在查询控制台查询）", *designate(session, operator)]


def designate(session: Session, operator: Actor) -> list[str]:
    """OPS-25: ``operator`` nominated by its organisation and approved by the agreement's agency (idempotent)."""
    agreement = active_agreement(session, operator.org_id or 0)
    agency = _actor(session, "agency")
    if agreement is None or agency is None or agency.org_id != agreement.agency_org_id or session.scalar(
            select(DesignatedStaff.id).where(DesignatedStaff.agreement_id == agreement.id,
                                             DesignatedStaff.user_id == operator.user_id,
                                             DesignatedStaff.state.in_(staff.LIVE))) is not None:
        return []
    row = staff.nominate(session, actor=operator, user_id=operator.user_id or 0, duty="数据分析师（查询控制台）")
    staff.decide(session, actor=agency, staff_id=row.id, action="approve", note="经审核，同意指定。")
    return ["运营域：operator 为实施机构批准的指定人员"]
