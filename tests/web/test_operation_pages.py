"""Operation pages through the real app: each role's page renders, bad input is re-shown with its message."""

from __future__ import annotations

from pubdata.identity.roles import Role
from tests.factories import PASSWORD, make_user
from tests.operation.support import cast, signed_agreement
from tests.web.conftest import csrf_from, web_login


def test_public_disclosure_and_demand_form_need_no_login(client, db_session, tmp_path):
    c = cast(db_session)
    a = signed_agreement(db_session, c, tmp_path)
    db_session.commit()
    page = client.get("/public/authorizations")
    assert page.status_code == 200 and a.number in page.text and "运营中" in page.text
    assert "路网通行指数" in page.text and "全省公路路网运行监测数据" in page.text
    report = client.get(f"/public/authorizations/report?year={a.signed_on.year}")
    assert report.status_code == 200 and a.number in report.text
    api = client.get("/api/v1/public/authorizations").json()
    assert api[0]["number"] == a.number and api[0]["resources"][0]["data_name"] == "全省公路路网运行监测数据"
    assert client.get(f"/api/v1/public/authorizations/annual-report?year={a.signed_on.year}").json()[
        "agreements_signed"][0]["number"] == a.number
    form = client.get("/public/demands/new")
    bad = client.post("/public/demands/new", data={"csrf_token": csrf_from(form.text), "title": ""})
    assert bad.status_code == 422 and "请填写场景名称" in bad.text
    ok = client.post("/public/demands/new", data={"csrf_token": csrf_from(form.text), "title": "公交到站",
                                                  "scenario": "出行", "data_needed": "定位", "contact_name": "王",
                                                  "contact": "139"})
    assert ok.status_code == 303


def test_agency_pages_and_a_refused_plan_keeps_its_values(client, db_session):
    user = make_user(db_session, Role.IMPLEMENTING_AGENCY)
    db_session.commit()
    web_login(client, user.username, PASSWORD)
    assert client.get("/operation").status_code == 200
    form = client.get("/operation/plans/new")
    assert form.status_code == 200 and "授权运营模式" in form.text
    bad = client.post("/operation/plans/new", data={"csrf_token": csrf_from(form.text), "name": "",
                                                    "necessity": "保留的内容", "mode": "nonsense"})
    assert bad.status_code == 422 and "请填写授权运营名称" in bad.text and "保留的内容" in bad.text
    ok = client.post("/operation/plans/new", data={"csrf_token": csrf_from(form.text), "name": "测试方案"})
    assert ok.status_code == 303
    detail = client.get(ok.headers["location"])
    assert detail.status_code == 200 and "测试方案" in detail.text and "提交评审" in detail.text
    refused = client.post(ok.headers["location"].split("?")[0], data={"csrf_token": csrf_from(detail.text),
                                                                      "action": "submit"})
    assert refused.status_code == 422 and "请填写必要性论证" in refused.text


def test_operator_sees_only_its_agreement_and_signing_pages_render(client, db_session, tmp_path):
    c = cast(db_session)
    a = signed_agreement(db_session, c, tmp_path, filed=False)
    db_session.commit()
    from pubdata.identity.models import User
    from sqlalchemy import select

    operator = db_session.scalar(select(User).where(User.id == c.operator.user_id))
    web_login(client, operator.username, PASSWORD)
    page = client.get(f"/operation/agreements/{a.id}")
    assert page.status_code == 200 and "双方已签署" in page.text
    assert client.get("/operation/plans/1").status_code == 403
