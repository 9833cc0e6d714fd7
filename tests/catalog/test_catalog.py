"""REG-35: the public catalog follows the registry in the same transaction, finds Chinese substrings, ranks
name matches first and browses by region, industry, classification and registration type."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from pubdata.audit import Actor
from pubdata.catalog.index import rebuild
from pubdata.catalog.models import CatalogEntry, CatalogFacet, CatalogTerm
from pubdata.catalog.search import CatalogQuery, facet_counts, get_entry, search
from pubdata.certificates.revocation import revoke
from pubdata.errors import NotFound, ValidationFailed
from pubdata.web.paging import PageRequest
from tests.registry.support import registered, submitted_first

FIRST = PageRequest(1, 20)


def _names(session, q: str = "", **filters: str) -> list[str]:  # type: ignore[no-untyped-def]
    status = filters.pop("status", "registered")
    page = search(session, CatalogQuery(q, filters, status=status or None), FIRST)
    return [h.entry.data_name for h in page.items]


def _register(db, subject, clerk, tmp, name: str, summary: str = "公共数据。", **basic):  # type: ignore[no-untyped-def]
    return registered(db, subject, clerk, tmp, basic={"name": name, "summary": summary, **basic})


def test_a_registered_record_enters_the_catalog_in_the_same_transaction(db_session, subject, clerk, tmp):
    app = _register(db_session, subject, clerk, tmp, "全省公路路网运行监测数据")
    db_session.flush()
    entry = get_entry(db_session, app.registration_id)
    assert entry.code == app.registration.code
    assert entry.certificate_number and entry.certificate_status == "valid"
    assert entry.registered_on is not None
    assert entry.details["storage"]["update_frequency"] == "realtime"
    assert "security_assessment" not in entry.details.get("resource", {})  # attachments stay private


def test_an_application_not_yet_registered_is_not_in_the_catalog(db_session, subject, tmp):
    app = submitted_first(db_session, subject, tmp)
    db_session.flush()
    with pytest.raises(NotFound):
        get_entry(db_session, app.registration_id)


def test_regions_are_browsable_at_every_level_and_industries_by_section(db_session, subject, clerk, tmp):
    app = _register(db_session, subject, clerk, tmp, "城关区供水管网数据", regions=["620102"], industries=["46"])
    db_session.flush()
    entry = get_entry(db_session, app.registration_id)
    facets = set(db_session.execute(select(CatalogFacet.facet, CatalogFacet.value)
                                    .where(CatalogFacet.entry_id == entry.id)).all())
    assert {("region", "620000"), ("region", "620100"), ("region", "620102")} <= facets
    assert {("industry", "46"), ("industry", "D")} <= facets
    assert "城关区供水管网数据" in _names(db_session, region="620100")
    assert "城关区供水管网数据" not in _names(db_session, region="620200")
    assert "城关区供水管网数据" in _names(db_session, industry="D", type="data_resource", category="business")


def test_chinese_substrings_are_found_anywhere_in_name_tags_subject_or_summary(db_session, subject, clerk, tmp):
    _register(db_session, subject, clerk, tmp, "全省公路路网运行监测数据", summary="高速公路和国省干线的路况与流量。")
    assert _names(db_session, "路网运行") == ["全省公路路网运行监测数据"]
    assert _names(db_session, "国省干线") == ["全省公路路网运行监测数据"]
    assert _names(db_session, "路") == ["全省公路路网运行监测数据"]
    assert _names(db_session, "路网 流量") == ["全省公路路网运行监测数据"]  # every keyword must match
    assert _names(db_session, "路网 医保") == []


def test_bigrams_present_in_the_wrong_order_are_not_a_match(db_session, subject, clerk, tmp):
    # Has the bigrams 路网, 网监 and 监测, but not the substring 路网监测.
    _register(db_session, subject, clerk, tmp, "路网及网监数据", summary="各类监测数据。")
    assert _names(db_session, "路网监测") == []


def test_name_matches_rank_above_summary_matches(db_session, subject, clerk, tmp):
    _register(db_session, subject, clerk, tmp, "全省气象观测数据", summary="含医保结算时段的气象数据。")
    _register(db_session, subject, clerk, tmp, "城乡居民医保参保数据", summary="参保人员与缴费数据。")
    _register(db_session, subject, clerk, tmp, "医保基金结算数据", summary="基金结算明细。")
    names = _names(db_session, "医保")
    assert names[-1] == "全省气象观测数据"
    assert names[0] == "医保基金结算数据"  # the name starts with the keyword


def test_a_revoked_registration_stays_listed_with_its_status_but_leaves_the_default_list(db_session, subject,
                                                                                           clerk, tmp):
    app = _register(db_session, subject, clerk, tmp, "企业信用评价数据")
    revoke(db_session, actor=clerk, registration_id=app.registration_id, reasons="伪造材料（第四十三条）。",
           date=dt.date.today())
    db_session.flush()
    assert _names(db_session, "信用评价") == []
    assert _names(db_session, "信用评价", status="revoked") == ["企业信用评价数据"]
    assert get_entry(db_session, app.registration_id).certificate_status == "revoked"


def test_facet_counts_follow_the_search(db_session, subject, clerk, tmp):
    _register(db_session, subject, clerk, tmp, "兰州市公交客流数据", regions=["620100"])
    _register(db_session, subject, clerk, tmp, "天水市公交客流数据", regions=["620500"])
    _register(db_session, subject, clerk, tmp, "天水市气象数据", regions=["620500"])
    counts = facet_counts(db_session, CatalogQuery("公交"), {"region": ["620100", "620500", "620200"]})["region"]
    # A city's catalog lists what covers the city and what the city's own bodies hold (the subject is in 兰州).
    assert counts == {"620100": 2, "620500": 1}


def test_each_facet_count_leaves_out_its_own_filter_but_keeps_the_others(db_session, subject, clerk, tmp):
    _register(db_session, subject, clerk, tmp, "兰州市公交客流数据", regions=["620100"])
    _register(db_session, subject, clerk, tmp, "天水市公交客流数据", regions=["620500"])
    query = CatalogQuery("公交", {"region": "620500"})
    counts = facet_counts(db_session, query, {"region": ["620100", "620500"], "type": None})
    assert counts["region"] == {"620100": 2, "620500": 1}  # every city stays choosable
    assert sum(counts["type"].values()) == 1  # only 天水's record, by its type


def test_total_is_counted_past_the_last_page_and_short_keywords_need_no_substring_check(db_session, subject,
                                                                                        clerk, tmp):
    for city in ("兰州", "天水", "武威"):
        _register(db_session, subject, clerk, tmp, f"{city}市医保结算数据")
    db_session.flush()
    assert search(db_session, CatalogQuery("医保"), PageRequest(1, 2)).total == 3
    beyond = search(db_session, CatalogQuery("医保"), PageRequest(5, 2))
    assert beyond.items == [] and beyond.total == 3
    assert _names(db_session, "保") == _names(db_session, "医保")  # one character: a prefix range of terms
    assert _names(db_session, "医保结") and not _names(db_session, "医结")
    assert _names(db_session, "医保 武威") == ["武威市医保结算数据"]  # every keyword must match
    assert _names(db_session, "结算数据 天") == ["天水市医保结算数据"]


def test_rebuild_reproduces_the_index(db_session, subject, clerk, tmp):
    _register(db_session, subject, clerk, tmp, "全省公路路网运行监测数据")
    db_session.flush()
    conn = db_session.connection()
    before = conn.execute(select(CatalogTerm.term, CatalogTerm.weight).order_by(CatalogTerm.term)).all()
    assert rebuild(conn) >= 1
    after = conn.execute(select(CatalogTerm.term, CatalogTerm.weight).order_by(CatalogTerm.term)).all()
    assert before == after
    assert db_session.scalar(select(func.count()).select_from(CatalogEntry)) >= 1


def test_unknown_filters_and_statuses_are_refused_at_their_field(db_session):
    with pytest.raises(ValidationFailed) as exc:
        search(db_session, CatalogQuery("", {"colour": "red"}, status="lost"), FIRST)
    assert {e.field for e in exc.value.errors} == {"colour", "status"}


def test_a_system_actor_sees_nothing_private_in_the_projection(db_session, subject, clerk, tmp):
    app = _register(db_session, subject, clerk, tmp, "全省公路路网运行监测数据")
    db_session.flush()
    entry = get_entry(db_session, app.registration_id)
    assert set(entry.details) <= {"resource", "product", "open_data", "storage", "scenario", "sharing"}
    assert Actor.system("x").kind == "system"
