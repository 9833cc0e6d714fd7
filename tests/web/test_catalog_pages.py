"""The catalog's pages and API (REG-35), no login."""

from __future__ import annotations

import pytest

from pubdata.identity.roles import Role
from tests.factories import actor_of, make_user
from tests.registry.support import registered


@pytest.fixture
def records(db_session, tmp_path):  # type: ignore[no-untyped-def]
    subject = actor_of(make_user(db_session, Role.REGISTRATION_SUBJECT))
    clerk = actor_of(make_user(db_session, Role.REGISTRATION_INSTITUTION))
    apps = [registered(db_session, subject, clerk, tmp_path, basic={"name": name, "regions": [region], "summary": s})
            for name, region, s in (("兰州市城乡居民医保参保数据", "620100", "参保人员与缴费。"),
                                    ("天水市公交客流数据", "620500", "公交刷卡客流。"),
                                    ("全省气象观测数据", "620000", "含医保结算时段的气温降水。"))]
    db_session.commit()
    return apps


def test_the_catalog_lists_registered_records_newest_first_without_login(client, records):
    r = client.get("/catalog")
    assert r.status_code == 200
    assert "甘肃省公共数据资源目录" in r.text
    for app in records:
        assert app.content["basic"]["name"] in r.text


def test_a_chinese_keyword_finds_substrings_and_marks_them(client, records):
    r = client.get("/catalog", params={"q": "医保"})
    assert r.status_code == 200
    assert "<mark>医保</mark>" in r.text
    assert r.text.index("兰州市城乡居民") < r.text.index("全省气象观测数据")  # name match ranks first
    assert "天水市公交客流数据" not in r.text


def test_a_city_catalog_keeps_its_filter_in_every_link(client, records):
    r = client.get("/catalog", params={"region": "620500", "q": "客流"})
    assert "天水市公共数据资源目录" in r.text
    assert f'href="/catalog/{records[1].registration_id}"' in r.text
    assert f'href="/catalog/{records[0].registration_id}"' not in r.text
    assert "region=620500" in r.text.split("登记类型")[1]  # the type links keep the region


def test_paging_keeps_the_filters(client, records):
    r = client.get("/catalog", params={"q": "数据", "size": 5, "type": "data_resource"})
    assert r.status_code == 200
    r = client.get("/catalog", params={"q": "数据", "size": 5, "page": 2, "type": "data_resource"})
    assert r.status_code == 200


def test_an_unknown_region_is_a_chinese_error_at_its_field_not_an_empty_list(client, records):
    r = client.get("/catalog", params={"region": "990000"})
    assert r.status_code == 422
    assert "地区“990000”不存在" in r.text


def test_a_bad_page_number_is_a_chinese_422_page(client):
    r = client.get("/catalog", params={"page": "0"})
    assert r.status_code == 422
    assert "<html" in r.text


def test_the_entry_page_shows_public_information_and_links_its_certificate_and_an_objection(client, records):
    app = records[1]
    r = client.get(f"/catalog/{app.registration_id}")
    assert r.status_code == 200
    assert "天水市公交客流数据" in r.text and "数据存储与更新" in r.text
    assert "/public/certificates/GSPZ-" in r.text
    assert f"/objections/new?registration_id={app.registration_id}" in r.text
    assert "数据安全评估报告" not in r.text  # attachments are not published


def test_an_unregistered_id_is_a_404_page_in_chinese(client):
    r = client.get("/catalog/999999")
    assert r.status_code == 404
    assert "目录中没有这条登记记录" in r.text


def test_the_api_searches_and_pages(client, records):
    r = client.get("/api/v1/public/catalog", params={"q": "医保", "size": 5})
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 2 and body["items"][0]["data_name"] == "兰州市城乡居民医保参保数据"
    assert body["items"][0]["score"] > body["items"][1]["score"]
    detail = client.get(f"/api/v1/public/catalog/{records[0].registration_id}").json()
    assert detail["details"]["storage"]["update_frequency"] == "realtime"


def test_the_api_refuses_an_unknown_filter_value_with_a_field_error(client):
    r = client.get("/api/v1/public/catalog", params={"type": "painting"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "type"


@pytest.mark.parametrize("path", ["/catalog/99999999999999999999", "/api/v1/public/catalog/99999999999999999999"])
def test_an_id_larger_than_any_row_is_a_404_not_a_500(client, path):
    r = client.get(path)
    assert r.status_code == 404
    assert "不存在" in r.text
