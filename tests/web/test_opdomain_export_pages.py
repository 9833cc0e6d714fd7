"""Export review pages (OPS-26) through the real app: the operator's request form (a query result or a file), the
detail with findings and the manifest, the agency's queue and decision form, downloads only after approval."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from pubdata.crypto import sm3
from pubdata.identity.roles import Role
from pubdata.opdomain import exports
from pubdata.opdomain.models import ExportRequest
from tests.factories import PASSWORD, make_user
from tests.opdomain.platform_support import granted, ran, world
from tests.operation.support import cast
from tests.web.conftest import csrf_from, web_login

BY_COUNTY = "SELECT county_code, count(*) AS n FROM population GROUP BY county_code"
RIC = "11010519491231002X"


@pytest.fixture
def other(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """A second browser: the agency, while ``client`` is the operator."""
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as second:
        yield second


def test_result_export_from_request_to_release(app, client, other, db_session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    c = cast(db_session)
    w = world(db_session, c, tmp_path)
    run = ran(db_session, c, granted(db_session, c, w), BY_COUNTY)
    db_session.commit()
    web_login(client, c.operator.label, PASSWORD)
    listing = client.get("/opdomain/exports")
    assert listing.status_code == 200 and "新建导出申请" in listing.text and "没有导出申请" in listing.text
    form = client.get(f"/opdomain/exports/new?query_run_id={run.id}")
    assert form.status_code == 200 and f'value="{run.id}" id="run-{run.id}" checked' in form.text
    token = csrf_from(form.text)
    bad = client.post("/opdomain/exports/new", data={"csrf_token": token, "kind": "result", "query_run_id": run.id,
                                                    "purpose": "", "product": "保留的产品名"})
    assert bad.status_code == 422 and "请填写导出用途" in bad.text and "保留的产品名" in bad.text
    assert "[required]" in bad.text
    ok = client.post("/opdomain/exports/new", data={"csrf_token": token, "kind": "result", "query_run_id": run.id,
                                                   "purpose": "发布县区人口指数", "product": "路网通行指数"})
    assert ok.status_code == 303, ok.text
    url = ok.headers["location"].split("?")[0]
    export_id = int(url.rsplit("/", 1)[-1])
    detail = client.get(url)
    assert detail.status_code == 200 and "待审核" in detail.text and "未发现问题" in detail.text
    assert "撤回申请" in detail.text and "下载已发布内容" not in detail.text and "提交审核结论" not in detail.text
    assert client.get(f"{url}/content").status_code == 409  # not released: served to nobody
    assert client.get(f"{url}/manifest").status_code == 409

    web_login(other, c.agency.label, PASSWORD)
    queue = other.get("/opdomain/exports")
    assert queue.status_code == 200 and f"导出-{export_id}" in queue.text and "数据导出审核" in queue.text
    review = other.get(url)
    assert "提交审核结论" in review.text and "撤回申请" not in review.text
    assert other.get(f"{url}/content").status_code == 403
    token = csrf_from(review.text)
    version = db_session.get(ExportRequest, export_id).version
    refused = other.post(url, data={"csrf_token": token, "action": "decide", "decision": "refuse", "note": "",
                                    "version": version})
    assert refused.status_code == 422 and "不予导出须说明理由" in refused.text
    stale = other.post(url, data={"csrf_token": token, "action": "decide", "decision": "approve",
                                  "version": version + 3})
    assert stale.status_code == 409 and "stale_version" in stale.text
    approved = other.post(url, data={"csrf_token": token, "action": "decide", "decision": "approve", "note": "同意",
                                     "version": version})
    assert approved.status_code == 303
    again = other.post(url, data={"csrf_token": token, "action": "decide", "decision": "refuse", "note": "再次"})
    assert again.status_code == 409 and "illegal_transition" in again.text

    detail = client.get(url)
    assert "已批准发布" in detail.text and "发布清单" in detail.text and "下载已发布内容" in detail.text
    content = client.get(f"{url}/content")
    assert content.status_code == 200 and content.headers["x-content-sm3"] == sm3.hexdigest(content.content)
    assert content.headers["x-content-type-options"] == "nosniff"
    assert content.headers["content-disposition"].startswith("attachment")
    assert json.loads(content.content)["columns"] == ["county_code", "n"]
    signed = json.loads(client.get(f"{url}/manifest").content)
    assert signed["manifest_sm3"] in detail.text
    with TestClient(app, base_url="http://testserver") as anonymous:  # public: anyone holding the manifest
        check = anonymous.post("/api/v1/opdomain/exports/manifests/verify", json={
            "manifest": signed["manifest"], "signature": signed["signature"], "key_id": signed["key_id"],
            "content_sm3": content.headers["x-content-sm3"]}).json()
    assert check["valid"] is True and check["export_id"] == export_id


def test_file_export_findings_block_approval_and_withdrawal(client, other, db_session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    c = cast(db_session)
    world(db_session, c, tmp_path)
    db_session.commit()
    web_login(client, c.operator.label, PASSWORD)
    token = csrf_from(client.get("/opdomain/exports/new").text)
    fields = {"csrf_token": token, "kind": "file", "purpose": "模型评估报告", "product": "路网通行指数"}
    missing = client.post("/opdomain/exports/new", data=fields)
    assert missing.status_code == 422 and "请选择要导出的文件" in missing.text and "模型评估报告" in missing.text
    wrong = client.post("/opdomain/exports/new", data=fields, files={"file": ("x.exe", b"MZ\x90\x00", "x/y")})
    assert wrong.status_code == 422
    leaky = client.post("/opdomain/exports/new", data=fields,
                        files={"file": ("名单.csv", f"身份证\n{RIC}\n".encode(), "text/csv")})
    assert leaky.status_code == 303
    url = leaky.headers["location"].split("?")[0]
    detail = client.get(url)
    assert "不得导出" in detail.text and "[identifier]" in detail.text and RIC not in detail.text

    web_login(other, c.agency.label, PASSWORD)
    review = other.get(url)
    assert 'value="approve" disabled' in review.text and "该申请不能批准" in review.text
    assert "身份证" in review.text and "110************02X" in review.text  # read on the page, masked
    assert RIC not in review.text
    forced = other.post(url, data={"csrf_token": csrf_from(review.text), "action": "decide", "decision": "approve"})
    assert forced.status_code == 409 and "blocking_findings" in forced.text

    detail = client.get(url)
    withdrawn = client.post(url, data={"csrf_token": csrf_from(detail.text), "action": "withdraw"})
    assert withdrawn.status_code == 303 and "已撤回" in client.get(url).text
    assert client.get(f"{url}/content").status_code == 409
    export_no = "导出-" + url.rsplit("/", 1)[-1]
    assert export_no in client.get("/opdomain/exports?state=withdrawn").text
    assert export_no not in client.get("/opdomain/exports?state=submitted").text


def test_strangers_see_no_export(app, client, db_session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    c = cast(db_session)
    world(db_session, c, tmp_path)
    req = exports.request_file_export(db_session, actor=c.operator, data=b"a,b\n1,2\n", filename="a.csv",
                                      purpose="p", product="路网通行指数")
    stranger = make_user(db_session, Role.OPERATOR)
    industry = make_user(db_session, Role.INDUSTRY_DEPARTMENT)
    other_agency = make_user(db_session, Role.IMPLEMENTING_AGENCY)
    db_session.commit()
    web_login(client, stranger.username, PASSWORD)
    assert client.get(f"/opdomain/exports/{req.id}").status_code == 404
    assert client.get(f"/opdomain/exports/{req.id}/content").status_code == 404
    assert client.get(f"/opdomain/exports/{req.id}/review-content").status_code in (403, 404)
    assert f"导出-{req.id}" not in client.get("/opdomain/exports").text
    for user in (industry, other_agency):
        with TestClient(app, base_url="http://testserver", follow_redirects=False) as browser:
            web_login(browser, user.username, PASSWORD)
            assert browser.get("/workbench").status_code == 200  # logged in: the refusals below are real
            for path in ("", "/content", "/review-content"):
                r = browser.get(f"/opdomain/exports/{req.id}{path}")
                assert r.status_code in (403, 404), (user.username, path, r.status_code)
                assert b"a,b" not in r.content
            listing = browser.get("/opdomain/exports")
            assert listing.status_code in (200, 403) and f"导出-{req.id}" not in listing.text


def test_the_agency_reads_pending_binaries_the_operator_cannot(client, other, db_session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    c = cast(db_session)
    world(db_session, c, tmp_path)
    doc = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + "报告正文".encode("utf-16-le")
    req = exports.request_file_export(db_session, actor=c.operator, data=doc, filename="报告.doc", purpose="p",
                                      product="路网通行指数", declared_type="application/msword")
    db_session.commit()
    assert req.blocked and req.findings[0]["code"] == "unscannable"
    url = f"/opdomain/exports/{req.id}"
    web_login(client, c.operator.label, PASSWORD)
    assert client.get(f"{url}/review-content").status_code == 403
    assert client.get(f"{url}/content").status_code == 409
    assert "下载待审核文件" not in client.get(url).text
    web_login(other, c.agency.label, PASSWORD)
    review = other.get(url)
    assert "下载待审核文件" in review.text
    r = other.get(f"{url}/review-content")
    assert r.status_code == 200 and r.content == doc
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"].startswith("attachment")
    assert r.headers["content-type"] == "application/octet-stream"
    assert "实施机构下载待审核内容审阅" in other.get(url).text  # in the history
