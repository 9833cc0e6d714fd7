"""The applicant workspace pages: my applications, the registration form, application and registration
details, obligations (REG-6..15, REG-25..30, REG-36, REG-37)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import select

from pubdata import clock
from pubdata.crypto import sm3
from pubdata.identity.roles import Role
from pubdata.identity.validation import make_uscc
from pubdata.registry import applications as svc
from pubdata.registry.certificates import current_certificate
from pubdata.registry.models import Application
from tests.factories import PASSWORD, actor_of, make_user
from tests.registry import support
from tests.web.conftest import web_login

PDF = b"%PDF-1.7\n% test material\n%%EOF\n"


def form_of(content: dict[str, Any]) -> dict[str, Any]:
    """Flatten registration content into the names the form posts (dotted paths, repeated list values)."""
    out: dict[str, Any] = {}
    for group, values in content.items():
        for key, value in values.items():
            path = f"{group}.{key}"
            if key == "co_owners":
                for i, owner in enumerate(value):
                    out.update({f"{path}.{i}.{k}": v for k, v in owner.items()})
            elif key == "tags":
                out[path] = "，".join(value)
            elif isinstance(value, bool):
                out[path] = "true" if value else "false"
            elif isinstance(value, list | tuple):
                out[path] = [str(v) for v in value]
            else:
                out[path] = str(value)
    return out


def field_block(html: str, path: str) -> str:
    """The HTML of the field container for ``path`` (up to the next field)."""
    start = html.index(f'data-path="{path}"')
    nxt = html.find('data-path="', start + 20)
    return html[start:nxt if nxt > 0 else len(html)]


def post(client: Any, url: str, csrf: str, data: dict[str, Any], files: Any = None) -> Any:
    # Always multipart, like the browser (the form has enctype=multipart/form-data).
    return client.post(url, data={"csrf_token": csrf, **data},
                       files=files or {"file:additional.materials": ("", b"", "application/octet-stream")})


@pytest.fixture
def subject(db_session):  # type: ignore[no-untyped-def]
    user = make_user(db_session, Role.REGISTRATION_SUBJECT, username="applicant1")
    db_session.commit()
    return user


@pytest.fixture
def clerk(db_session):  # type: ignore[no-untyped-def]
    user = make_user(db_session, Role.REGISTRATION_INSTITUTION, username="clerk1")
    db_session.commit()
    return actor_of(user)


def _complete(db_session, user, tmp_path) -> tuple[dict[str, Any], dict[str, str]]:  # type: ignore[no-untyped-def]
    actor = actor_of(user)
    content = support.resource_content(db_session, actor, tmp_path)
    docs = support.documents(db_session, actor, tmp_path)
    db_session.commit()
    return content, docs


def _app_id(location: str) -> int:
    match = re.search(r"/applications/(\d+)", location)
    assert match, location
    return int(match.group(1))


# -- list ------------------------------------------------------------------------------------------------------


def test_list_shows_my_applications_with_state_kind_and_filters(client, db_session, subject, tmp_path):
    me = actor_of(subject)
    draft = svc.create_application(db_session, actor=me, kind="first", content={"basic": {"name": "草稿数据"}})
    sent = support.submitted_first(db_session, me, tmp_path)
    stranger = actor_of(make_user(db_session, Role.REGISTRATION_SUBJECT))
    other = svc.create_application(db_session, actor=stranger, kind="first", content={"basic": {"name": "别人的数据"}})
    db_session.commit()
    web_login(client, "applicant1", PASSWORD)
    page = client.get("/applications")
    assert page.status_code == 200
    assert draft.number in page.text and sent.number in page.text and other.number not in page.text
    assert "草稿" in page.text and "已提交待受理" in page.text and "首次登记" in page.text
    assert "剩 " in page.text and "个工作日" in page.text  # next due date counts working days
    assert "已实名核验" in page.text
    only_drafts = client.get("/applications?state=draft")
    assert draft.number in only_drafts.text and sent.number not in only_drafts.text
    assert 'value="draft" selected' in only_drafts.text
    assert client.get("/applications?state=nonsense&kind=first").status_code == 200  # unknown filter ignored
    assert sent.number not in client.get("/applications?kind=change").text


def test_list_is_paged_and_keeps_the_filter(client, db_session, subject):
    me = actor_of(subject)
    for i in range(7):
        svc.create_application(db_session, actor=me, kind="first", content={"basic": {"name": f"数据{i}"}})
    db_session.commit()
    web_login(client, "applicant1", PASSWORD)
    page = client.get("/applications?state=draft&size=5")
    assert "共 7 条" in page.text and "state=draft" in page.text.split('rel="next"')[0].rsplit("href=", 1)[-1]


def test_unverified_organisation_is_told_and_linked_to_verification(client, db_session):
    make_user(db_session, Role.REGISTRATION_SUBJECT, username="fresh1", verified=False)
    db_session.commit()
    web_login(client, "fresh1", PASSWORD)
    page = client.get("/applications")
    assert 'href="/org/verification"' in page.text and "不能提交" in page.text


# -- form ------------------------------------------------------------------------------------------------------


def test_new_form_renders_every_section_with_type_notes(client, subject):
    web_login(client, "applicant1", PASSWORD)
    page = client.get("/applications/new")
    assert page.status_code == 200
    for title in ("基本信息", "数据资源", "数据产品和服务", "开放数据资源", "委托代理", "存储与更新", "应用场景",
                  "共享开放", "共有数据", "合法来源与承诺", "目录依据", "附加材料", "申请材料"):
        assert f"<legend>{title}" in page.text, title
    assert "仅适用于登记类型“数据产品和服务”" in page.text
    assert 'data-when="basic.registration_type" data-values="data_product"' in page.text
    assert '<select id="f-basic-category" name="basic.category">' in page.text
    assert 'type="date" id="f-resource-coverage_start"' in page.text
    assert 'name="basic.regions" multiple' in page.text and "620100" in page.text  # region picker
    assert 'name="basic.industries" multiple' in page.text and "54 道路运输业" in page.text
    assert "登记主体身份证明材料" in page.text  # REG-25 documents for a first registration
    assert 'enctype="multipart/form-data"' in page.text and 'src="/static/applicant.js"' in page.text
    assert "<script>" not in page.text and " style=" not in page.text and "onclick" not in page.text


def test_draft_is_saved_with_partial_content(client, db_session, subject):
    csrf = web_login(client, "applicant1", PASSWORD)
    r = post(client, "/applications/new", csrf, {"basic.name": "部分填写的数据", "basic.tags": "交通，路网",
                                                 "storage.initial_volume": "12", "action": "save"})
    assert r.status_code == 303, r.text
    app = db_session.get(Application, _app_id(r.headers["location"]))
    assert app.state == "draft"
    assert app.content == {"basic": {"name": "部分填写的数据", "tags": ["交通", "路网"]},
                           "storage": {"initial_volume": 12}, "legality": {"commitment": False}}
    edit = client.get(r.headers["location"])
    assert "草稿已保存" in edit.text and 'value="部分填写的数据"' in edit.text and "交通，路网" in edit.text


def test_bad_values_are_shown_at_their_fields_and_the_values_are_kept(client, db_session, subject):
    csrf = web_login(client, "applicant1", PASSWORD)
    r = post(client, "/applications/new", csrf, {
        "basic.name": "有错误的数据", "basic.registration_type": "data_resource", "resource.authorized": "true",
        "resource.operator_uscc": "91620000ABCDEFGH12", "resource.authorization_start": "2026-05-01",
        "resource.authorization_end": "2026-01-01", "storage.initial_volume": "十二", "action": "save"})
    assert r.status_code == 422
    assert "统一社会信用代码无效" in field_block(r.text, "resource.operator_uscc")
    assert "结束日期不能早于开始日期" in field_block(r.text, "resource.authorization_end")
    assert "应为非负整数" in field_block(r.text, "storage.initial_volume")
    assert 'href="#f-resource-operator_uscc"' in r.text  # the summary links to the input
    assert 'value="91620000ABCDEFGH12"' in r.text and 'value="有错误的数据"' in r.text
    assert db_session.scalars(select(Application)).first() is None  # nothing half-saved


def test_submit_lists_every_problem_at_its_field_and_keeps_the_saved_draft(client, db_session, subject):
    csrf = web_login(client, "applicant1", PASSWORD)
    r = post(client, "/applications/new", csrf, {"basic.name": "未填完的数据",
                                                 "basic.registration_type": "data_resource", "action": "submit"})
    assert r.status_code == 422
    assert "草稿已保存，但未能提交" in r.text
    assert "请填写“数据分类”" in field_block(r.text, "basic.category")
    assert "请填写“数据覆盖时间（起）”" in field_block(r.text, "resource.coverage_start")
    assert "须作出合法合规承诺" in field_block(r.text, "legality.commitment")
    assert "请上传“登记主体身份证明材料”" in field_block(r.text, "documents.identity_proof")
    assert r.text.count("<li><a href=\"#f-") >= 20  # summarised at the top
    app = db_session.scalars(select(Application)).one()
    assert app.state == "draft" and app.content["basic"]["name"] == "未填完的数据"
    assert f'action="/applications/{app.id}/edit"' in r.text


def test_sections_of_other_types_are_ignored_and_validated_by_type(client, db_session, subject):
    csrf = web_login(client, "applicant1", PASSWORD)
    r = post(client, "/applications/new", csrf, {
        "basic.name": "数据产品", "basic.registration_type": "data_product",
        "resource.coverage_start": "not-a-date", "agency.is_agent": "false", "agency.principal_name": "某单位",
        "action": "submit"})
    assert r.status_code == 422
    assert "请填写“数据产品和服务类型”" in field_block(r.text, "product.product_type")
    assert "error-text" not in field_block(r.text, "resource.coverage_start")  # not validated for a product
    app = db_session.scalars(select(Application)).one()
    assert "resource" not in app.content and "principal_name" not in app.content["agency"]


def test_upload_is_stored_and_shown_with_its_sm3_digest(client, db_session, subject):
    csrf = web_login(client, "applicant1", PASSWORD)
    files = [("file:legality.source_proofs", ("来源证明.pdf", PDF, "application/pdf")),
             ("file:documents.identity_proof", ("营业执照.pdf", PDF + b"2", "application/pdf"))]
    r = post(client, "/applications/new", csrf, {"basic.name": "带附件的数据", "action": "save"}, files=files)
    assert r.status_code == 303, r.text
    app = db_session.get(Application, _app_id(r.headers["location"]))
    digest = sm3.hexdigest(PDF)
    assert app.content["legality"]["source_proofs"] == [digest]
    assert app.documents["identity_proof"] == sm3.hexdigest(PDF + b"2")
    edit = client.get(r.headers["location"]).text
    block = field_block(edit, "legality.source_proofs")
    assert "来源证明.pdf" in block and f"SM3 {digest}" in block and f'value="{digest}"' in block
    assert "营业执照.pdf" in field_block(edit, "documents.identity_proof")
    # removing it from the draft keeps the file but drops the reference
    r = post(client, f"/applications/{app.id}/edit", csrf, {
        "basic.name": "带附件的数据", "legality.source_proofs": digest, "remove:legality.source_proofs": digest,
        "documents.identity_proof": app.documents["identity_proof"], "version": str(app.version),
        "action": "save"})
    assert r.status_code == 303
    db_session.refresh(app)
    assert "source_proofs" not in app.content.get("legality", {})


def test_refused_upload_is_reported_at_its_field(client, db_session, subject):
    csrf = web_login(client, "applicant1", PASSWORD)
    files = [("file:resource.security_assessment", ("评估.exe", b"MZ\x90\x00binary", "application/octet-stream"))]
    r = post(client, "/applications/new", csrf, {"basic.name": "数据", "action": "save"}, files=files)
    assert r.status_code in (415, 422)
    assert "error-text" in field_block(r.text, "resource.security_assessment")
    assert 'value="数据"' in r.text


def test_complete_form_submits_and_the_detail_shows_timeline_and_deadline(client, db_session, subject, tmp_path):
    content, docs = _complete(db_session, subject, tmp_path)
    content["co_ownership"] = {"co_owned": True, "co_owners": [{
        "name": "甘肃省公路局", "uscc": make_uscc("12620000", 7), "nature": "事业单位",
        "registered_place": "620100", "authorisation": docs["identity_proof"]}]}
    csrf = web_login(client, "applicant1", PASSWORD)
    data = {**form_of(content), **{f"documents.{k}": v for k, v in docs.items()}, "action": "submit"}
    r = post(client, "/applications/new", csrf, data)
    assert r.status_code == 303, r.text
    assert r.headers["location"].endswith("?submitted=1")
    app = db_session.get(Application, _app_id(r.headers["location"]))
    db_session.refresh(app)
    assert app.state == "submitted" and app.content == content
    detail = client.get(r.headers["location"]).text
    assert "申请已提交" in detail and "已提交待受理" in detail
    assert "创建草稿" in detail and "提交</strong> → 已提交待受理" in detail
    assert "受理期限" in detail and "剩 3 个工作日" in detail
    assert "撤回申请" in detail  # before a decision


def test_co_owner_rows_are_repeatable_and_checked_per_row(client, db_session, subject):
    csrf = web_login(client, "applicant1", PASSWORD)
    r = post(client, "/applications/new", csrf, {
        "basic.name": "共有数据", "co_ownership.co_owned": "true",
        "co_ownership.co_owners.0.name": "甲单位", "co_ownership.co_owners.0.uscc": "123",
        "co_ownership.co_owners.1.name": "", "action": "save"})
    assert r.status_code == 422
    assert "统一社会信用代码无效" in field_block(r.text, "co_ownership.co_owners.0.uscc")
    assert 'name="co_ownership.co_owners.1.name"' in r.text  # a blank row to add another


def test_agent_files_for_a_principal_named_by_its_code(client, db_session, subject):
    agent = make_user(db_session, Role.AGENT, username="agent1")
    db_session.commit()
    csrf = web_login(client, "agent1", PASSWORD)
    form = client.get("/applications/new").text
    assert "授权委托书" in field_block(form, "documents.power_of_attorney")
    r = post(client, "/applications/new", csrf, {"basic.name": "代理的数据", "agency.is_agent": "true",
                                                 "agency.principal_uscc": "91620100MA0000000X", "action": "save"})
    assert r.status_code == 422 and "error-text" in field_block(r.text, "agency.principal_uscc")
    r = post(client, "/applications/new", csrf, {"basic.name": "代理的数据", "agency.is_agent": "true",
                                                 "agency.principal_name": subject.organisation.name,
                                                 "agency.principal_uscc": subject.organisation.uscc, "action": "save"})
    assert r.status_code == 303
    app = db_session.get(Application, _app_id(r.headers["location"]))
    assert app.registration.subject_org_id == subject.organisation_id and app.filed_by_org_id == agent.organisation_id


def test_unverified_organisation_saves_a_draft_but_cannot_submit(client, db_session, tmp_path):
    user = make_user(db_session, Role.REGISTRATION_SUBJECT, username="fresh2", verified=False)
    content, docs = _complete(db_session, user, tmp_path)
    csrf = web_login(client, "fresh2", PASSWORD)
    data = {**form_of(content), **{f"documents.{k}": v for k, v in docs.items()}, "action": "submit"}
    r = post(client, "/applications/new", csrf, data)
    assert r.status_code == 403
    assert "尚未通过登记机构的实名核验" in r.text and "草稿已保存" in r.text
    assert 'href="/org/verification"' in r.text
    app = db_session.scalars(select(Application)).one()
    assert app.state == "draft" and app.content == content


def test_stale_form_is_refused_without_losing_the_saved_draft(client, db_session, subject):
    me = actor_of(subject)
    app = svc.create_application(db_session, actor=me, kind="first", content={"basic": {"name": "原名"}})
    db_session.commit()
    csrf = web_login(client, "applicant1", PASSWORD)
    r = post(client, f"/applications/{app.id}/edit", csrf, {"basic.name": "新名", "version": "999",
                                                             "action": "save"})
    assert r.status_code == 409 and "已被他人处理或修改" in r.text and 'value="新名"' in r.text
    db_session.refresh(app)
    assert app.content["basic"]["name"] == "原名"


# -- detail ----------------------------------------------------------------------------------------------------


def test_withdraw_before_a_decision(client, db_session, subject, tmp_path):
    app = support.submitted_first(db_session, actor_of(subject), tmp_path)
    db_session.commit()
    csrf = web_login(client, "applicant1", PASSWORD)
    r = client.post(f"/applications/{app.id}/withdraw", data={"csrf_token": csrf, "reason": "范围调整",
                                                              "version": str(app.version)})
    assert r.status_code == 303
    detail = client.get(r.headers["location"]).text
    assert "已撤回" in detail and "撤回申请确认书" in detail and "范围调整" in detail
    db_session.refresh(app)
    notice = app.notices[-1]
    assert f'href="/api/v1/notices/{notice.id}/download"' in detail
    download = client.get(f"/api/v1/notices/{notice.id}/download")
    assert download.status_code == 200 and "撤回申请确认书" in download.text


def test_withdraw_in_notice_is_a_chinese_error_not_a_500(client, db_session, subject, clerk, tmp_path):
    app = support.submitted_first(db_session, actor_of(subject), tmp_path)
    svc.accept(db_session, actor=clerk, application_id=app.id)
    svc.pass_review(db_session, actor=clerk, application_id=app.id)
    db_session.commit()
    csrf = web_login(client, "applicant1", PASSWORD)
    detail = client.get(f"/applications/{app.id}").text
    assert "公示中" in detail and "btn-withdraw" not in detail  # not offered
    assert "公示期满" in detail and "审查期限" in detail and "受理期限" in detail
    r = client.post(f"/applications/{app.id}/withdraw", data={"csrf_token": csrf})
    assert r.status_code == 409
    assert "当前状态“公示中”下不能执行“撤回”" in r.text and 'data-code="illegal_transition"' in r.text


def test_supplement_request_shows_its_items_and_the_form_resubmits(client, db_session, subject, clerk, tmp_path):
    app = support.submitted_first(db_session, actor_of(subject), tmp_path)
    svc.request_supplement(db_session, actor=clerk, application_id=app.id, items=[
        {"field": "documents.identity_proof", "item": "登记主体身份证明材料", "reason": "复印件不清晰"}])
    db_session.commit()
    csrf = web_login(client, "applicant1", PASSWORD)
    detail = client.get(f"/applications/{app.id}").text
    assert "须一次性补正的事项" in detail and "复印件不清晰" in detail and "补正材料通知书" in detail
    form = client.get(f"/applications/{app.id}/edit").text
    assert "补正后重新提交" in form
    db_session.refresh(app)
    data = {**form_of(app.content), **{f"documents.{k}": v for k, v in app.documents.items()},
            "version": str(app.version), "action": "submit"}
    r = post(client, f"/applications/{app.id}/edit", csrf, data)
    assert r.status_code == 303, r.text
    db_session.refresh(app)
    assert app.state == "submitted" and app.supplement_rounds == 1
    assert "补正后重新提交" in client.get(f"/applications/{app.id}").text  # in the timeline


def test_someone_elses_application_is_refused(client, db_session, subject):
    stranger = actor_of(make_user(db_session, Role.REGISTRATION_SUBJECT))
    other = svc.create_application(db_session, actor=stranger, kind="first", content={})
    db_session.commit()
    web_login(client, "applicant1", PASSWORD)
    assert client.get(f"/applications/{other.id}").status_code == 403
    assert client.get(f"/applications/{other.id}/edit").status_code == 403
    assert client.get("/applications/999999").status_code == 404


def test_submitted_application_is_not_editable(client, db_session, subject, tmp_path):
    app = support.submitted_first(db_session, actor_of(subject), tmp_path)
    db_session.commit()
    csrf = web_login(client, "applicant1", PASSWORD)
    assert client.get(f"/applications/{app.id}/edit").headers["location"] == f"/applications/{app.id}"
    r = post(client, f"/applications/{app.id}/edit", csrf, {"basic.name": "改名", "action": "save"})
    assert r.status_code == 409 and "只有草稿或待补正的申请可以修改" in r.text


# -- registrations ---------------------------------------------------------------------------------------------


def test_registration_page_offers_what_the_state_allows(client, db_session, subject, clerk, tmp_path):
    app = support.registered(db_session, actor_of(subject), clerk, tmp_path)
    db_session.commit()
    reg = app.registration
    csrf = web_login(client, "applicant1", PASSWORD)
    page = client.get(f"/registrations/{reg.id}").text
    assert reg.code in page and "已登记" in page and "第 1 版" in page
    cert = current_certificate(db_session, reg.id)
    assert f'href="/api/v1/certificates/{cert.number}/pdf"' in page and "下载 PDF" in page
    for kind in ("change", "correction", "cancellation"):
        assert f'id="start-{kind}"' in page
    assert 'id="start-renewal"' not in page and "凭证续展可在" in page  # outside the 60-day window
    r = client.post(f"/registrations/{reg.id}/applications", data={"csrf_token": csrf, "kind": "renewal"})
    assert r.status_code == 409 and "不能办理“凭证续展”" in r.text
    r = client.post(f"/registrations/{reg.id}/applications", data={"csrf_token": csrf, "kind": "change"})
    assert r.status_code == 303
    form = client.get(r.headers["location"]).text
    assert "变更登记申请" in form and "变更事项及原因" in form and 'value="全省公路路网运行监测数据"' in form
    assert "变更内容的相关证明材料" in form
    again = client.get(f"/registrations/{reg.id}").text
    assert 'id="start-change"' not in again and "正在办理的申请" in again


def test_renewal_offered_inside_the_window(client, db_session, subject, clerk, tmp_path):
    app = support.registered(db_session, actor_of(subject), clerk, tmp_path)
    db_session.commit()
    valid = current_certificate(db_session, app.registration_id)
    assert valid is not None
    web_login(client, "applicant1", PASSWORD)
    with clock.frozen(valid.valid_until - dt.timedelta(days=10)):
        page = client.get(f"/registrations/{app.registration_id}").text
    assert 'id="start-renewal"' in page


def test_cancellation_form_has_ground_and_certificate_number(client, db_session, subject, clerk, tmp_path):
    app = support.registered(db_session, actor_of(subject), clerk, tmp_path)
    db_session.commit()
    csrf = web_login(client, "applicant1", PASSWORD)
    r = client.post(f"/registrations/{app.registration_id}/applications", data={"csrf_token": csrf,
                                                                                "kind": "cancellation"})
    url = r.headers["location"]
    form = client.get(url).text
    assert "注销情形" in form and "原登记凭证编号" in form and "注销情形的证明材料" in form
    assert "不修改登记内容" in form and 'name="basic.name"' not in form
    r = post(client, url, csrf, {"details.ground": "lost", "details.certificate_number": "GSPZ-0", "action": "submit"})
    assert r.status_code == 422
    assert "请填写该登记的原登记凭证编号" in r.text and "请上传“注销情形的证明材料”" in r.text


# -- obligations -----------------------------------------------------------------------------------------------


def test_obligations_declare_with_errors_then_listed_with_working_days(client, db_session, subject):
    csrf = web_login(client, "applicant1", PASSWORD)
    page = client.get("/obligations")
    assert page.status_code == 200 and "没有待履行的登记义务" in page.text
    r = client.post("/obligations", data={"csrf_token": csrf, "event": "", "event_date": "2026-13-01"})
    assert r.status_code == 422
    assert "请选择申报事项" in r.text and "日期格式应为 YYYY-MM-DD" in r.text
    r = client.post("/obligations", data={"csrf_token": csrf, "event": "major_change",
                                          "event_date": clock.today().isoformat()})
    assert r.status_code == 422 and "变更事项须指明所涉登记" in r.text
    r = client.post("/obligations", data={"csrf_token": csrf, "event": "operation_started",
                                          "event_date": clock.today().isoformat(), "description": "平台上线"})
    assert r.status_code == 303
    listed = client.get("/obligations").text
    assert "开展授权运营并提供数据资源" in listed and "首次登记" in listed and "平台上线" in listed
    assert "剩 20 个工作日" in listed


def test_pages_need_the_applicant_permission(client, db_session):
    make_user(db_session, Role.REGULATOR, username="looker")
    db_session.commit()
    web_login(client, "looker", PASSWORD)
    for url in ("/applications", "/applications/new", "/obligations"):
        assert client.get(url).status_code == 403, url


def test_anonymous_is_sent_to_login(client):
    r = client.get("/applications")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_csrf_is_required(client, db_session, subject):
    web_login(client, "applicant1", PASSWORD)
    r = client.post("/applications/new", data={"basic.name": "x"}, files={"file:x": ("", b"")})
    assert r.status_code == 403

