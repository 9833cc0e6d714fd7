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


# -- attachments, OPS-12 consent, region scoping through the pages ---------------------------------------------

PDF = b"%PDF-1.7\n% operation opinion\n%%EOF\n"


def _login(client, db_session, actor) -> str:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from pubdata.identity.models import User

    return web_login(client, db_session.scalar(select(User.username).where(User.id == actor.user_id)), PASSWORD)


def test_review_opinions_and_filing_take_attachments_shown_with_name_size_and_sm3(client, db_session, tmp_path):
    from pubdata.crypto import sm3
    from pubdata.operation import plans
    from tests.operation.support import PASS_DETAILS, plan_content, resource

    c = cast(db_session)
    plan = plans.create_plan(db_session, actor=c.agency, content=plan_content([resource(db_session, c, tmp_path)]))
    plans.submit_plan(db_session, actor=c.agency, plan_id=plan.id)
    plans.review_plan(db_session, actor=c.authority, plan_id=plan.id, stage="feasibility", outcome="pass",
                      opinion="可行", details=PASS_DETAILS["feasibility"])
    db_session.commit()
    url = f"/operation/plans/{plan.id}"
    _login(client, db_session, c.justice)
    page = client.get(url)
    assert 'enctype="multipart/form-data"' in page.text and "合法性审核意见书" in page.text
    bad = client.post(url, data={"csrf_token": csrf_from(page.text), "action": "review", "stage": "legality",
                                 "outcome": "pass", "opinion": "合法"},
                      files=[("attachments", ("意见.exe", b"MZ\x90\x00not a document", "application/octet-stream"))])
    assert bad.status_code == 422 and "意见.exe" in bad.text and 'data-code="' in bad.text
    assert plans.latest(plans.get_plan(db_session, plan.id)).state == "legality"  # nothing recorded
    ok = client.post(url, data={"csrf_token": csrf_from(page.text), "action": "review", "stage": "legality",
                                "outcome": "pass", "opinion": "合法"},
                     files=[("attachments", ("合法性审核意见书.pdf", PDF, "application/pdf"))])
    assert ok.status_code == 303, ok.text
    digest = sm3.hexdigest(PDF)
    db_session.expire_all()
    review = plans.latest(plans.get_plan(db_session, plan.id)).reviews[-1]
    assert review.stage == "legality" and review.attachments == [digest]
    shown = client.get(url).text
    assert "合法性审核意见书.pdf" in shown and digest in shown and f"{len(PDF)} B" in shown
    # Another body reading the plan (the authority) sees and downloads it; a digest not on the plan is not served.
    client.cookies.clear()
    _login(client, db_session, c.authority)
    got = client.get(f"{url}/files/{digest}")
    assert got.status_code == 200 and got.content == PDF and got.headers["x-content-sm3"] == digest
    assert client.get(f"{url}/files/{'0' * 64}").status_code == 404


def test_plan_form_records_shared_data_and_the_provider_consents_and_withdraws_on_its_page(client, db_session,
                                                                                          tmp_path):
    from pubdata.identity.models import Organisation
    from pubdata.operation import plans
    from tests.operation.support import plan_content, resource

    c = cast(db_session)
    rid = resource(db_session, c, tmp_path)
    provider = db_session.get(Organisation, c.industry.org_id)
    db_session.commit()
    _login(client, db_session, c.agency)
    form = client.get("/operation/plans/new")
    assert f'name="shared_{rid}"' in form.text and provider.name in form.text
    data = {k: (str(v) if not isinstance(v, list) else "") for k, v in plan_content([rid]).items()}
    data.update({"resource": str(rid), f"freq_{rid}": "每日", f"quality_{rid}": "完整",
                 f"shared_{rid}": str(provider.id),
                 "product_name_0": "指数", "product_category_0": "governance", "product_form_0": "report",
                 "product_name_1": "接口", "product_category_1": "industry", "product_form_1": "api"})
    created = client.post("/operation/plans/new", data={"csrf_token": csrf_from(form.text), **data})
    assert created.status_code == 303, created.text
    url = created.headers["location"].split("?")[0]
    plan_id = int(url.rsplit("/", 1)[1])
    detail = client.get(url)
    assert 'data-consent="missing"' in detail.text and provider.name in detail.text
    edit = client.get(f"{url}/edit")
    assert f'<option value="{provider.id}" selected' in edit.text  # the field is kept when editing
    refused = client.post(url, data={"csrf_token": csrf_from(detail.text), "action": "submit"})
    assert refused.status_code == 422 and 'data-code="sharing_consent_missing"' in refused.text

    client.cookies.clear()
    _login(client, db_session, c.industry)
    bench = client.get("/operation")
    assert "共享数据使用同意" in bench.text and 'data-consent="missing"' in bench.text
    granted = client.post(url, data={"csrf_token": csrf_from(bench.text), "action": "consent",
                                     "registration_id": str(rid), "conditions": "仅用于本方案"},
                          files=[("attachments", ("同意函.pdf", PDF, "application/pdf"))])
    assert granted.status_code == 303, granted.text
    bench = client.get("/operation")
    assert 'data-consent="granted"' in bench.text and "同意函.pdf" in bench.text
    consent = plans.consents_of(db_session, plan_id)[0]
    empty = client.post(url, data={"csrf_token": csrf_from(bench.text), "action": "withdraw_consent",
                                   "consent_id": str(consent.id), "withdrawal_reason": ""})
    assert empty.status_code == 422 and "请填写撤回同意的理由" in empty.text and 'data-code="required"' in empty.text
    withdrawn = client.post(url, data={"csrf_token": csrf_from(bench.text), "action": "withdraw_consent",
                                       "consent_id": str(consent.id), "withdrawal_reason": "共享协议到期"})
    assert withdrawn.status_code == 303
    assert 'data-consent="withdrawn"' in client.get("/operation").text

    client.cookies.clear()
    _login(client, db_session, c.agency)
    detail = client.get(url)
    assert 'data-consent="withdrawn"' in detail.text and "共享协议到期" in detail.text
    refused = client.post(url, data={"csrf_token": csrf_from(detail.text), "action": "submit"})
    assert refused.status_code == 422 and 'data-code="sharing_consent_withdrawn"' in refused.text
    api = client.get(f"/api/v1/operation/plans/{plan_id}").json()
    assert [x["state"] for x in api["consents"]] == ["withdrawn"]


def test_city_authority_cannot_see_or_act_on_another_citys_plan_through_pages_or_api(client, db_session, tmp_path):
    from tests.operation.support import approved_plan
    from tests.supervision.support import authority

    c = cast(db_session)
    plan, _ = approved_plan(db_session, c, tmp_path, filed=False)  # an agency in Lanzhou (620100)
    jiayuguan = authority(db_session, "620200", username="jygauthority")
    lanzhou = authority(db_session, "620100", username="lzauthority")
    db_session.commit()
    web_login(client, "jygauthority", PASSWORD)
    bench = client.get("/operation").text
    assert plan.title not in bench and "本行政区域（嘉峪关市）" in bench
    page = client.get(f"/operation/plans/{plan.id}")
    assert page.status_code == 403 and "不属于本单位主管的地区" in page.text
    token = csrf_from(client.get("/operation").text)
    filing = client.post(f"/operation/plans/{plan.id}", data={"csrf_token": token, "action": "file",
                                                              "filed_with": "国家数据局", "filing_ref": "X"})
    assert filing.status_code == 403
    api = client.get(f"/api/v1/operation/plans/{plan.id}")
    assert api.status_code == 403 and api.json()["code"] == "out_of_region"
    assert plan.id not in [p["id"] for p in client.get("/api/v1/operation/plans").json()]
    client.cookies.clear()
    web_login(client, "lzauthority", PASSWORD)
    assert lanzhou.org_id and plan.title in client.get("/operation").text
    assert client.get(f"/operation/plans/{plan.id}").status_code == 200
    assert jiayuguan.org_id != lanzhou.org_id


def test_candidate_evidence_and_agreement_filing_take_attachments(client, db_session, tmp_path):
    from pubdata.crypto import sm3
    from pubdata.operation import selection
    from tests.operation.support import QUALS, approved_plan

    c = cast(db_session)
    a = signed_agreement(db_session, c, tmp_path, filed=False)
    plan, _ = approved_plan(db_session, c, tmp_path)
    sel = selection.open_selection(db_session, actor=c.agency, plan_id=plan.id, method="negotiation")
    db_session.commit()
    _login(client, db_session, c.agency)
    url = f"/operation/selections/{sel.id}"
    page = client.get(url)
    evidence = PDF + b"credit"
    r = client.post(url, data={"csrf_token": csrf_from(page.text), "action": "candidate",
                               "org_id": str(c.operator.org_id), **QUALS},
                    files=[("attachments", ("信用报告.pdf", evidence, "application/pdf"))])
    assert r.status_code == 303, r.text
    shown = client.get(url).text
    assert "信用报告.pdf" in shown and sm3.hexdigest(evidence) in shown
    assert client.get(f"{url}/files/{sm3.hexdigest(evidence)}").content == evidence

    client.cookies.clear()
    _login(client, db_session, c.authority)
    url = f"/operation/agreements/{a.id}"
    page = client.get(url)
    receipt = PDF + b"receipt"
    r = client.post(url, data={"csrf_token": csrf_from(page.text), "action": "file", "filing_ref": "甘数备 9 号",
                               "version": str(a.version)},
                    files=[("attachments", ("备案回执.pdf", receipt, "application/pdf"))])
    assert r.status_code == 303, r.text
    shown = client.get(url).text
    assert "备案回执.pdf" in shown and sm3.hexdigest(receipt) in shown


def test_consent_withdrawal_through_the_api(client, db_session, tmp_path):
    from sqlalchemy import select

    from pubdata.identity.models import User
    from pubdata.operation import plans
    from tests.operation.support import plan_content, resource
    from tests.supervision.support import token

    c = cast(db_session)
    rid = resource(db_session, c, tmp_path)
    content = plan_content([rid])
    content["resources"][0]["shared_from_org_id"] = c.industry.org_id
    plan = plans.create_plan(db_session, actor=c.agency, content=content)
    db_session.commit()
    provider = token(client, db_session.scalar(select(User.username).where(User.id == c.industry.user_id)))
    other = token(client, db_session.scalar(select(User.username).where(User.id == c.subject.user_id)))
    given = client.post(f"/api/v1/operation/plans/{plan.id}/consents", headers=provider,
                        json={"registration_id": rid, "conditions": "仅用于本方案"})
    assert given.status_code == 201 and given.json()["state"] == "granted"
    again = client.post(f"/api/v1/operation/plans/{plan.id}/consents", headers=provider, json={"registration_id": rid})
    assert again.status_code == 409 and again.json()["code"] == "consent_already_granted"
    url = f"/api/v1/operation/consents/{given.json()['id']}/withdrawal"
    blank = client.post(url, headers=provider, json={"reason": ""})
    assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "withdrawal_reason"
    assert client.post(url, headers=other, json={"reason": "x"}).json()["code"] == "not_provider"
    done = client.post(url, headers=provider, json={"reason": "共享协议到期"})
    assert done.status_code == 200 and done.json()["state"] == "withdrawn"
    assert done.json()["withdrawal_reason"] == "共享协议到期"
    twice = client.post(url, headers=provider, json={"reason": "再次"})
    assert twice.status_code == 409 and twice.json()["code"] == "illegal_transition"


def test_a_reviewer_is_told_on_the_page_that_a_withdrawn_consent_stops_the_review(client, db_session, tmp_path):
    from pubdata.operation import plans
    from tests.operation.support import plan_content, resource

    c = cast(db_session)
    rid = resource(db_session, c, tmp_path)
    content = plan_content([rid])
    content["resources"][0]["shared_from_org_id"] = c.industry.org_id
    plan = plans.create_plan(db_session, actor=c.agency, content=content)
    consent = plans.grant_consent(db_session, actor=c.industry, plan_id=plan.id, registration_id=rid)
    plans.submit_plan(db_session, actor=c.agency, plan_id=plan.id)
    plans.withdraw_consent(db_session, actor=c.industry, consent_id=consent.id, reason="共享协议到期")
    db_session.commit()
    _login(client, db_session, c.authority)
    url = f"/operation/plans/{plan.id}"
    page = client.get(url)
    r = client.post(url, data={"csrf_token": csrf_from(page.text), "action": "review", "stage": "feasibility",
                               "outcome": "pass", "opinion": "可行", "expert_name_0": "李", "expert_opinion_0": "同意"})
    assert r.status_code == 409 and 'data-code="sharing_consent_withdrawn"' in r.text and "共享协议到期" in r.text
    r = client.post(url, data={"csrf_token": csrf_from(page.text), "action": "review", "stage": "feasibility",
                               "outcome": "return", "opinion": "提供单位已撤回同意，请修改"})
    assert r.status_code == 303


def test_agreement_form_marks_a_resource_whose_consent_was_withdrawn_and_refuses_it(client, db_session, tmp_path):
    from pubdata.operation import plans
    from tests.operation.support import decided_selection, plan_content, resource, review_all

    c = cast(db_session)
    shared, own = resource(db_session, c, tmp_path, "共享数据"), resource(db_session, c, tmp_path, "本级数据")
    content = plan_content([shared, own])
    content["resources"][0]["shared_from_org_id"] = c.industry.org_id
    plan = plans.create_plan(db_session, actor=c.agency, content=content)
    consent = plans.grant_consent(db_session, actor=c.industry, plan_id=plan.id, registration_id=shared)
    plans.submit_plan(db_session, actor=c.agency, plan_id=plan.id)
    review_all(db_session, c, plan.id)
    plans.withdraw_consent(db_session, actor=c.industry, consent_id=consent.id, reason="共享协议到期")
    sel = decided_selection(db_session, c, plan.id)
    db_session.commit()
    _login(client, db_session, c.agency)
    detail = client.get(f"/operation/plans/{plan.id}")
    assert 'id="consent-flag"' in detail.text and plans.latest(plan).state == "approved"
    url = f"/operation/selections/{sel.id}/agreement"
    form = client.get(url)
    assert 'data-consent="withdrawn"' in form.text
    assert f'value="{shared}" checked' not in form.text and f'value="{own}" checked' in form.text
    r = client.post(url, data={"csrf_token": csrf_from(form.text), "title": "协议", "resource": [str(shared)],
                               "start_date": "2026-12-01", "end_date": "2027-11-30"})
    assert r.status_code == 422 and 'data-code="sharing_consent_withdrawn"' in r.text
