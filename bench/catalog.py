"""Catalog and public-notice figures at 100,000 registered records (issue 7). Prints JSON.

PUBDATA_DATABASE_URL selects PostgreSQL (a scratch schema, dropped afterwards); default SQLite in a temp dir.

    .venv/bin/python bench/catalog.py                      # SQLite, 100,000 records
    PUBDATA_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/catalog.py
    .venv/bin/python bench/catalog.py --count 10000        # quicker

Loading: one record goes through the real registration path; the others are bulk-inserted with Core statements
as the registry writes them (registration, application, version, certificate, public notice), with varied,
realistic names, summaries, tags, regions and industries; then the catalog index is built with
``catalog.index.rebuild`` (timed). Searches run in-process on the service the pages call (search + the region
facet counts the page shows) and over HTTP through the real pages (TestClient, rendering included).

Ranking quality: for planted records whose exact name is searched, the reciprocal rank of the planted record
(MRR) and how often it is first; for topic keywords, the share of the first page whose name contains the keyword.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.*
sys.path.insert(0, str(Path(__file__).resolve().parent))  # for stats

from stats import pct, summary

from pubdata.catalog.index import rebuild
from pubdata.catalog.search import CatalogQuery, facet_counts, search
from pubdata.config import Settings
from pubdata.db.testing import scratch_engine
from pubdata.identity.models import Organisation
from pubdata.registry import codes, notice_search
from pubdata.registry.models import Application, Certificate, PublicNotice, Registration, RegistrationVersion
from pubdata.web.paging import PageRequest

BATCH = 2000
CITIES = {"620100": "兰州市", "620200": "嘉峪关市", "620300": "金昌市", "620400": "白银市", "620500": "天水市",
          "620600": "武威市", "620700": "张掖市", "620800": "平凉市", "620900": "酒泉市", "621000": "庆阳市",
          "621100": "定西市", "621200": "陇南市", "622900": "临夏回族自治州", "623000": "甘南藏族自治州"}
DEPARTMENTS = [("交通运输局", "54", ["公路", "客运", "货运", "路网", "公交"]),
               ("医疗保障局", "94", ["医保", "参保", "结算", "药品", "定点医疗机构"]),
               ("自然资源局", "74", ["不动产登记", "国土空间", "地籍", "测绘", "耕地"]),
               ("市场监督管理局", "94", ["企业登记", "信用", "食品安全", "特种设备", "抽检"]),
               ("生态环境局", "77", ["空气质量", "水质", "排污许可", "噪声", "固体废物"]),
               ("人力资源和社会保障局", "94", ["社保", "就业", "养老金", "职业技能", "劳动用工"]),
               ("住房和城乡建设局", "47", ["住房公积金", "建筑许可", "房屋交易", "物业", "燃气"]),
               ("水务局", "46", ["供水", "水资源", "河湖", "水文", "灌区"]),
               ("农业农村局", "01", ["农产品", "耕地质量", "农机", "畜牧", "种植结构"]),
               ("教育局", "83", ["学籍", "招生", "校舍", "师资", "学生资助"]),
               ("卫生健康委员会", "84", ["电子病历", "公共卫生", "妇幼保健", "疫苗接种", "医疗机构"]),
               ("公安局", "92", ["户籍", "交通违法", "机动车", "出入境", "治安"]),
               ("税务局", "94", ["纳税", "发票", "税收征管", "减税降费", "出口退税"]),
               ("气象局", "75", ["气象观测", "降水", "气温", "灾害预警", "风速"]),
               ("文化和旅游局", "88", ["景区", "游客", "文物", "演出", "旅行社"])]
KINDS = ["统计数据", "明细数据", "监测数据", "业务数据", "台账", "名录", "指标数据"]
PERIODS = ["2019年以来", "2021—2025年", "年度", "月度", "实时", "历史"]


def _record(rng: random.Random, i: int) -> tuple[str, str, list[str], str, str, str]:
    """(name, summary, tags, region, industry, department name) of one synthetic record."""
    city_code, city = rng.choice(list(CITIES.items()))
    dept, industry, topics = rng.choice(DEPARTMENTS)
    topic = rng.choice(topics)
    other = rng.choice([t for t in topics if t != topic])
    kind = rng.choice(KINDS)
    name = f"{city}{topic}{kind}（{rng.choice(PERIODS)}）{i % 97}"
    summary = (f"{city}{dept}归集的{topic}{kind}，涵盖{other}等相关信息，按{rng.choice(['日', '月', '季度', '年'])}"
               f"更新，用于{rng.choice(['行业监管', '公共服务', '决策分析', '应急管理', '便民服务'])}。")
    tags = [topic, other, city.removesuffix("市")]
    return name, summary, tags, city_code, industry, f"{city}{dept}"


def _first_record(session_maker: sessionmaker[Session], tmp: Path) -> Application:
    from pubdata.identity.roles import Role
    from tests.factories import actor_of, make_user
    from tests.registry.support import registered

    with session_maker() as s:
        subject = actor_of(make_user(s, Role.REGISTRATION_SUBJECT))
        clerk = actor_of(make_user(s, Role.REGISTRATION_INSTITUTION))
        app = registered(s, subject, clerk, tmp)
        s.commit()
        return app


def load(engine: Engine, count: int, seed: int = 7) -> dict[str, Any]:
    from pubdata.identity.validation import make_uscc

    tmp = Path(tempfile.mkdtemp())
    os.environ["PUBDATA_VAR_DIR"] = str(tmp)
    maker = sessionmaker(engine, expire_on_commit=False)
    template = _first_record(maker, tmp)
    rng = random.Random(seed)
    started = time.perf_counter()
    with engine.begin() as conn:
        base_org = conn.execute(select(Organisation.__table__)
                                .where(Organisation.id == template.filed_by_org_id)).one()
        orgs: dict[str, int] = {}
        for n, (city_code, city) in enumerate(CITIES.items()):
            for m, (dept, _, _) in enumerate(DEPARTMENTS):
                row = dict(base_org._mapping)
                row.pop("id")
                row.update(name=f"{city}{dept}", uscc=make_uscc("11620000", 50_000 + n * 100 + m),
                           region_code=city_code)
                orgs[f"{city}{dept}"] = conn.execute(insert(Organisation).values(**row)
                                                     .returning(Organisation.id)).scalar_one()
        reg_t = dict(conn.execute(select(Registration.__table__).where(Registration.id == template.registration_id))
                     .one()._mapping)
        app_t = dict(conn.execute(select(Application.__table__).where(Application.id == template.id)).one()._mapping)
        ver_t = dict(conn.execute(select(RegistrationVersion.__table__)
                                  .where(RegistrationVersion.registration_id == template.registration_id)).one()._mapping)
        cert_t = dict(conn.execute(select(Certificate.__table__)
                                   .where(Certificate.registration_id == template.registration_id)).one()._mapping)
        pn_t = dict(conn.execute(select(PublicNotice.__table__)
                                 .where(PublicNotice.application_id == template.id)).one()._mapping)
        next_id = {t: (conn.scalar(select(func.max(m.id))) or 0) + 1
                   for t, m in (("reg", Registration), ("app", Application), ("ver", RegistrationVersion),
                                ("cert", Certificate), ("pn", PublicNotice))}
        today = dt.date.today()
        planted: list[tuple[str, int]] = []
        for start in range(0, count, BATCH):
            regs, apps, vers, certs, notices = [], [], [], [], []
            for i in range(start, min(count, start + BATCH)):
                name, summary, tags, region, industry, holder = _record(rng, i)
                rid, aid = next_id["reg"] + i, next_id["app"] + i
                day = today - dt.timedelta(days=rng.randint(1, 900))
                content = {**ver_t["content"], "basic": {**ver_t["content"]["basic"], "name": name,
                                                         "summary": summary, "tags": tags, "regions": [region],
                                                         "industries": [industry]}}
                open_notice = i % 50 == 0  # 2 % in notice now
                regs.append({**reg_t, "id": rid, "code": codes.make(codes.REGISTRATION, day.year, rid),
                             "subject_org_id": orgs[holder], "data_name": name, "name_key": name,
                             "evidence_key": None})
                apps.append({**app_t, "id": aid, "number": codes.make(codes.APPLICATION, day.year, aid),
                             "registration_id": rid, "filed_by_org_id": orgs[holder], "content": content})
                vers.append({**ver_t, "id": next_id["ver"] + i, "registration_id": rid, "application_id": aid,
                             "content": content})
                certs.append({**cert_t, "id": next_id["cert"] + i, "registration_id": rid, "application_id": aid,
                              "number": codes.make(codes.CERTIFICATE, day.year, next_id["cert"] + i),
                              "issued_on": day, "valid_from": day})
                notices.append({**pn_t, "id": next_id["pn"] + i, "application_id": aid, "registration_id": rid,
                                "subject_name": holder, "data_name": name, "summary": summary,
                                "search_text": notice_search.searchable(name, holder),
                                "start_date": today - dt.timedelta(days=2) if open_notice else day,
                                "end_date": today + dt.timedelta(days=5) if open_notice else day,
                                "status": "open" if open_notice else "ended"})
                if i % 997 == 0:
                    planted.append((name, rid))
            for model, rows in ((Registration, regs), (Application, apps), (RegistrationVersion, vers),
                                (Certificate, certs), (PublicNotice, notices)):
                conn.execute(insert(model), rows)
            notice_search.index_rows(conn, [(n["id"], n["data_name"], n["subject_name"]) for n in notices])
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    with engine.begin() as conn:
        entries = rebuild(conn)
    indexed = time.perf_counter() - started
    # What autovacuum gives PostgreSQL after a bulk load (statistics, and the visibility map that index-only
    # scans need), or a periodic ANALYZE gives SQLite.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
    return {"records": count + 1, "catalog_entries": entries, "load_s": round(loaded, 1),
            "index_build_s": round(indexed, 1), "planted": planted}


QUERIES = ["医保", "交通运输", "不动产登记", "兰州", "空气质量", "住房公积金", "企业登记 信用", "气象 降水",
           "天水市公交", "学籍", "gis", "水", "监测数据", "定点医疗机构", "排污许可 兰州"]


def timed(fn: Any, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def measure(engine: Engine, planted: list[tuple[str, int]], rounds: int) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from pubdata.web.app import create_app

    maker = sessionmaker(engine)
    first = PageRequest(1, 20)
    out: dict[str, Any] = {}
    with maker() as s:
        for q in QUERIES:  # warm caches once
            search(s, CatalogQuery(q), first)
        lat: list[float] = []
        per_query: dict[str, float] = {}
        for q in QUERIES:
            times = timed(lambda q=q: search(s, CatalogQuery(q), first), rounds)
            per_query[q] = pct(times, 0.95)
            lat += times
        out["search_service"] = summary(lat)
        out["search_service_p95_by_query_ms"] = per_query
        cities = list(CITIES)
        out["search_plus_region_counts"] = summary(
            [t for q in QUERIES for t in timed(lambda q=q: (search(s, CatalogQuery(q), first),
                                                            facet_counts(s, CatalogQuery(q),
                                                                         {"region": cities, "type": None})),
                                               max(3, rounds // 3))])
        out["browse_city_page_5"] = summary(timed(
            lambda: search(s, CatalogQuery("", {"region": "620500"}), PageRequest(5, 20)), rounds))
        # Ranking quality.
        ranks = []
        for name, rid in planted:
            hits = search(s, CatalogQuery(name), PageRequest(1, 50)).items
            ids = [h.entry.registration_id for h in hits]
            ranks.append(ids.index(rid) + 1 if rid in ids else None)
        found = [r for r in ranks if r]
        precision = []
        for q in ("医保", "不动产登记", "空气质量", "学籍", "住房公积金"):
            names = [h.entry.data_name for h in search(s, CatalogQuery(q), first).items]
            precision.append(sum(q in n for n in names) / max(1, len(names)))
        out["ranking"] = {"planted_exact_name_queries": len(ranks),
                          "mrr": round(sum(1 / r for r in found) / max(1, len(ranks)), 3),
                          "first_place_share": round(sum(r == 1 for r in found) / max(1, len(ranks)), 3),
                          "topic_name_precision_at_20": round(statistics.fmean(precision), 3)}
    app = create_app(Settings(var_dir=Path(tempfile.mkdtemp()), secret_key="bench"), session_maker=maker)
    with TestClient(app) as client:
        pages = {"catalog_page": [f"/catalog?q={q}" for q in QUERIES],
                 "notices_page": ["/notices", "/notices?status=ended&page=3", "/notices?q=医保"]}
        for label, urls in pages.items():
            for u in urls:
                assert client.get(u).status_code == 200, u
            out[label] = summary([t for u in urls for t in timed(lambda u=u: client.get(u), rounds)])
    from pubdata.registry.public_notices import in_notice

    with maker() as s:
        out["notices_service_open"] = summary(timed(lambda: in_notice(s, limit=20), rounds))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with scratch_engine() as engine:
        loaded = load(engine, args.count)
        planted = loaded.pop("planted")
        figures = measure(engine, planted, args.rounds)
    print(json.dumps({"database": engine.dialect.name, **loaded, **figures}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
