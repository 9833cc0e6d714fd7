"""The institution's workbench in Debian's Chromium: from the accept queue through a one-time supplement notice
(REG-26) to acceptance and a passed review with public notice (REG-27/28)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from pubdata.db.session import unit_of_work
from pubdata.identity.access import actor_for
from pubdata.identity.users import user_by_username
from pubdata.registry import applications as svc
from pubdata.registry.models import Application, Notice, Registration
from tests.browser import shot
from tests.web.conftest import login

pytestmark = pytest.mark.browser

DATA_NAME = "全省交通建设项目管理数据"  # the demo application waiting to be accepted


def _application_id(engine) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as s:
        return s.scalar(select(Application.id).join(Registration).where(Registration.data_name == DATA_NAME,
                                                                        Application.kind == "first"))


def test_supplement_then_accept_and_pass_review(page, server, live_engine):
    login(page, server, "institution")
    page.click("header >> text=登记待办")
    page.wait_for_url(f"{server}/institution/queue")
    assert page.get_attribute(".inst-tabs a.active", "data-tab") == "accept"
    row = page.locator("tr", has_text=DATA_NAME)
    assert "剩" in row.locator(".countdown").text_content() or "今日" in row.locator(".countdown").text_content()
    shot(page, "inst-01-accept-queue")

    row.locator("text=办理").click()
    app_id = _application_id(live_engine)
    page.wait_for_url(f"{server}/institution/applications/{app_id}")
    assert DATA_NAME in page.text_content("h1")
    assert "登记主体身份证明材料" in page.text_content(".inst-materials")
    shot(page, "inst-02-application")

    builder = page.locator("form.inst-builder")
    builder.locator("input[value='documents.identity_proof']").check()
    builder.locator("select[name='defect.documents.identity_proof']").select_option("unclear")
    builder.locator("input[name='note.documents.identity_proof']").fill("证书复印件第二页模糊，请重新扫描")
    builder.locator("summary", has_text="数据基本信息").click()
    builder.locator("input[value='basic.summary']").check()
    builder.locator("select[name='defect.basic.summary']").select_option("inconsistent")
    builder.locator("input[name='note.basic.summary']").fill("简介未写明数据覆盖的项目范围")
    builder.locator("button[value=preview]").click()
    preview = page.locator("#supplement-preview")
    assert preview.locator("li").count() == 2
    preview.scroll_into_view_if_needed()
    shot(page, "inst-03-supplement-preview")
    page.locator("form.inst-builder button[value=send]").click()
    page.wait_for_url(f"{server}/institution/applications/{app_id}?done=request_supplement")
    assert "待补正" in page.text_content(".inst-state")
    assert "补正材料通知书" in page.text_content("main")
    shot(page, "inst-04-supplement-sent")

    with unit_of_work(live_engine) as s:  # the demo subject resubmits with the corrections
        subject = user_by_username(s, "subject")
        assert subject is not None
        notice = s.scalars(select(Notice).where(Notice.application_id == app_id, Notice.kind == "supplement")).one()
        assert [i["item"] for i in notice.items] == ["登记主体身份证明材料", "数据内容简介"]
        svc.submit(s, actor=actor_for(subject), application_id=app_id)

    page.goto(f"{server}/institution/queue?tab=accept")
    page.locator("tr", has_text=DATA_NAME).locator("text=办理").click()
    assert "不能再次要求补正" in page.text_content("#supplement")
    page.click("form[data-action=accept] button[type=submit]")
    page.wait_for_url(f"{server}/institution/applications/{app_id}?done=accept")
    assert "已受理审查中" in page.text_content(".inst-state")
    assert "剩 20 个工作日" in page.text_content(".inst-state")
    shot(page, "inst-05-accepted")

    page.select_option("#t-fail", "no_evidence")  # the standard reason fills the text (JavaScript)
    assert "第二十条第三项" in page.input_value("#r-fail")
    page.click("form[data-action=pass] button[type=submit]")
    page.wait_for_url(f"{server}/institution/applications/{app_id}?done=pass")
    assert "公示中" in page.text_content(".inst-state")
    assert "审查通过及公示通知书" in page.text_content("main")
    shot(page, "inst-06-in-notice")

    page.goto(f"{server}/institution/queue?tab=notice")
    assert page.locator("tr", has_text=DATA_NAME).count() == 1
    shot(page, "inst-07-notice-queue")


def test_objection_during_notice_appraised_and_dismissed(page, server, live_engine, tmp_path):
    from pubdata.files.service import store_upload
    from pubdata.objections import service as objections

    with unit_of_work(live_engine) as s:  # a natural person objects, under their real name (REG-31)
        user = user_by_username(s, "thirdparty")
        assert user is not None
        objector = actor_for(user)
        reg_id = s.scalar(select(Registration.id).where(Registration.data_name == "全省道路运输企业经营许可数据"))
        evidence = store_upload(s, actor=objector, stream=b"%PDF-1.7\n% evidence\n%%EOF\n", filename="采集合同.pdf",
                                declared_type="application/pdf").digest
        obj_id = objections.raise_objection(s, actor=objector, registration_id=reg_id, claim="ownership",
                                            grounds="该数据由本人受托采集，权属存在争议。", evidence=[evidence],
                                            as_person=True, person_name="张三",
                                            person_id_number="11010519491231002X").id

    login(page, server, "institution")
    page.goto(f"{server}/institution/queue?tab=objections")
    assert "数据权属" in page.text_content("table")
    shot(page, "inst-08-objection-queue")
    page.locator("tr", has_text="全省道路运输企业经营许可数据").locator("a.btn").click()
    page.wait_for_url(f"{server}/institution/objections/{obj_id}")
    assert "11010519491231002X" in page.text_content("main")  # the full number, for the institution only

    page.fill("#f-appraiser", "甘肃可信存证技术服务有限公司")
    page.fill("#f-conclusion", "存证记录显示数据由登记主体的业务系统产生。")
    report = tmp_path / "鉴定报告.pdf"
    report.write_bytes(b"%PDF-1.7\n% appraisal report\n%%EOF\n")
    page.set_input_files("#f-report", str(report))
    page.click("form[action$='/appraisal'] button[type=submit]")
    page.wait_for_url(f"{server}/institution/objections/{obj_id}?done=appraisal")
    assert "鉴定报告.pdf" in page.text_content("main")

    page.select_option("#t-dismiss", "registration_correct")
    assert "第三十二条" in page.input_value("#r-dismiss")
    shot(page, "inst-09-objection")
    page.click("section[data-decision=dismiss] button[value=decide]")
    page.wait_for_url(f"{server}/institution/objections/{obj_id}?done=dismiss")
    assert "异议不成立" in page.text_content(".inst-state")
    assert "异议处理决定书" in page.text_content("main")
    shot(page, "inst-10-objection-dismissed")
