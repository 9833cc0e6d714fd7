"""The registration institution's workbench pages: queues with working-day countdowns (REG-26..28), the
application page with its materials (REG-25), decisions with standard reasons (REG-26/27/30), the one-time
supplement notice (REG-26) and objections (REG-31..33)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from pubdata import clock
from pubdata.identity.roles import Role
from pubdata.objections import service as objections
from pubdata.registry import applications as svc
from pubdata.registry import workbench as wb
from pubdata.registry.models import Application, Certificate, Notice
from tests.factories import PASSWORD, actor_of, make_user
from tests.registry.support import registered, resource_content, submitted_first, upload
from tests.web.conftest import web_login

MON = dt.date(2025, 3, 3)  # an ordinary working week in the official 2025 calendar


@pytest.fixture
def subject(db_session):  # type: ignore[no-untyped-def]
    return actor_of(make_user(db_session, Role.REGISTRATION_SUBJECT))


@pytest.fixture
def clerk_user(db_session):  # type: ignore[no-untyped-def]
    return make_user(db_session, Role.REGISTRATION_INSTITUTION)


@pytest.fixture
def clerk(clerk_user):  # type: ignore[no-untyped-def]
    return actor_of(clerk_user)


@pytest.fixture
def csrf(client, db_session, clerk_user):  # type: ignore[no-untyped-def]
    db_session.commit()
    return web_login(client, clerk_user.username, PASSWORD)


def submit_on(db, subject, tmp, day: dt.date, name: str) -> Application:
    with clock.frozen(day):
        content = resource_content(db, subject, tmp, name=name)
        app = svc.create_application(db, actor=subject, kind="first", content=content,
                                     documents={"identity_proof": upload(db, subject, tmp, "身份证明")})
        return svc.submit(db, actor=subject, application_id=app.id)


def order(html: str, *needles: str) -> list[int]:
    return [html.index(n) for n in needles]


def row_of(html: str, number: str) -> str:
    match = re.search(rf'<tr data-number="{re.escape(number)}">(.*?)</tr>', html, re.S)
    assert match, f"{number} not listed"
    return match.group(1)


# -- countdowns -----------------------------------------------------------------------------------------------


def test_countdown_counts_working_days_and_says_today_or_overdue(db_session):
    thu, fri, mon = dt.date(2025, 3, 6), dt.date(2025, 3, 7), dt.date(2025, 3, 10)
    assert wb.countdown(db_session, mon, today=thu).text == "剩 2 个工作日"  # Fri and Mon; the weekend does not count
    assert wb.countdown(db_session, fri, today=thu).tone == "soon"
    assert (wb.countdown(db_session, thu, today=thu).text, wb.countdown(db_session, thu, today=thu).tone) == \
        ("今日到期", "today")
    late = wb.countdown(db_session, dt.date(2025, 2, 27), today=thu)
    assert (late.text, late.tone) == ("逾期 5 个工作日", "late")
    weekend = wb.countdown(db_session, fri, today=dt.date(2025, 3, 8))
    assert weekend.late and weekend.text == "已逾期"  # past due, though no working day has passed yet
    assert wb.countdown(db_session, thu, today=fri, ends_period=True).text == "已期满 1 个工作日"
    assert wb.countdown(db_session, None).text == "无法定期限"


# -- the queue --------------------------------------------------------------------------------------------------


def test_accept_queue_is_sorted_by_due_date_with_countdowns(client, db_session, subject, csrf, tmp_path):
    late = submit_on(db_session, subject, tmp_path, dt.date(2025, 2, 24), "甲 逾期受理的数据")  # due Thu 27 Feb
    today = submit_on(db_session, subject, tmp_path, MON, "乙 今日到期的数据")  # due Thu 6 Mar
    later = submit_on(db_session, subject, tmp_path, dt.date(2025, 3, 5), "丙 还有时间的数据")  # due Mon 10 Mar
    db_session.commit()
    with clock.frozen(dt.date(2025, 3, 6)):
        html = client.get("/institution/queue?tab=accept").text
        overdue = client.get("/institution/queue?tab=overdue").text
    assert sorted(order(html, late.number, today.number, later.number)) == order(html, late.number, today.number,
                                                                                later.number)
    assert "逾期 5 个工作日" in row_of(html, late.number) and "countdown-late" in row_of(html, late.number)
    assert "今日到期" in row_of(html, today.number)
    assert "剩 2 个工作日" in row_of(html, later.number) and "2025年3月10日" in row_of(html, later.number)
    assert late.number in overdue and today.number not in overdue and later.number not in overdue
    assert re.search(r'data-tab="accept">待受理 <span class="inst-tab-count">3</span>', html)
    assert "/institution/verifications" in html  # the way to the organisation verification queue


def test_review_and_notice_tabs_count_down_to_their_own_deadlines(client, db_session, subject, clerk, csrf, tmp_path):
    reviewing = submit_on(db_session, subject, tmp_path, MON, "审查中的数据")
    noticed = submit_on(db_session, subject, tmp_path, MON, "公示中的数据")
    with clock.frozen(MON):
        svc.accept(db_session, actor=clerk, application_id=reviewing.id)
        svc.accept(db_session, actor=clerk, application_id=noticed.id)
        svc.pass_review(db_session, actor=clerk, application_id=noticed.id)
    db_session.commit()
    with clock.frozen(dt.date(2025, 3, 4)):
        review = client.get("/institution/queue?tab=review").text
        notice = client.get("/institution/queue?tab=notice").text
    assert "剩 19 个工作日" in row_of(review, reviewing.number) and noticed.number not in review
    assert "剩 9 个工作日" in row_of(notice, noticed.number) and reviewing.number not in notice


def test_provisional_deadlines_are_flagged(client, db_session, subject, clerk, csrf, tmp_path):
    with clock.frozen(dt.date(2026, 12, 15)):  # review due in 2027, whose official arrangement is not loaded
        app = submitted_first(db_session, subject, tmp_path)
        svc.accept(db_session, actor=clerk, application_id=app.id)
    db_session.commit()
    with clock.frozen(dt.date(2026, 12, 16)):
        html = client.get("/institution/queue?tab=review").text
        detail = client.get(f"/institution/applications/{app.id}").text
    assert "暂定" in row_of(html, app.number)
    assert "暂定" in detail and "尚未导入" in detail


def test_filters_narrow_the_list_and_survive_tabs_and_paging(client, db_session, subject, csrf, tmp_path):
    a = submit_on(db_session, subject, tmp_path, MON, "全省公路桥梁检测数据")
    b = submit_on(db_session, subject, tmp_path, MON, "全省水运港口吞吐数据")
    db_session.commit()
    with clock.frozen(dt.date(2025, 3, 4)):
        html = client.get("/institution/queue", params={"tab": "accept", "q": "桥梁", "kind": "first",
                                                        "type": "data_resource", "size": 5}).text
        none = client.get("/institution/queue", params={"tab": "accept", "kind": "renewal"}).text
        bad = client.get("/institution/queue", params={"tab": "nonsense", "kind": "x", "type": "y"})
    assert a.number in html and b.number not in html
    tab_link = re.search(r'href="([^"]*)"[^>]*\s+data-tab="review"', html)
    assert tab_link and "q=%E6%A1%A5%E6%A2%81" in tab_link.group(1) and "kind=first" in tab_link.group(1)
    assert 'value="桥梁"' in html and '<option value="first" selected>' in html
    assert a.number not in none and "没有符合条件的事项" in none
    assert bad.status_code == 200 and a.number in bad.text  # unknown filter values are ignored, not a 500


def test_renewals_tab_lists_renewal_applications(client, db_session, subject, clerk, csrf, tmp_path):
    with clock.frozen(dt.date(2025, 1, 6)):
        first = registered(db_session, subject, clerk, tmp_path)
    cert = db_session.query(Certificate).filter_by(registration_id=first.registration_id).one()
    with clock.frozen(cert.valid_until - dt.timedelta(days=30)):  # inside the REG-37 window
        proof = upload(db_session, subject, tmp_path, "身份证明")
        renewal = svc.create_application(db_session, actor=subject, kind="renewal",
                                         registration_id=first.registration_id, documents={"identity_proof": proof})
        svc.submit(db_session, actor=subject, application_id=renewal.id)
        db_session.commit()
        html = client.get("/institution/queue?tab=renewals").text
        accept = client.get("/institution/queue?tab=accept&kind=first").text
    assert renewal.number in html and "凭证续展" in row_of(html, renewal.number)
    assert renewal.number not in accept


def test_queue_pages_through_long_lists(client, db_session, subject, csrf, tmp_path):
    apps = [submit_on(db_session, subject, tmp_path, MON + dt.timedelta(days=i % 3), f"分页测试数据{i}")
            for i in range(6)]
    db_session.commit()
    with clock.frozen(MON):
        first = client.get("/institution/queue?tab=accept&size=5").text
        second = client.get("/institution/queue?tab=accept&size=5&page=2").text
    listed = [a.number for a in apps if a.number in first]
    assert len(listed) == 5 and sum(a.number in second for a in apps) == 1
    assert "第 1–5 条，共 6 条" in first and "tab=accept" in re.search(r'href="([^"]+)" rel="next"', first).group(1)


def test_only_the_institution_sees_the_workbench(client, db_session, subject):
    user = make_user(db_session, Role.REGISTRATION_SUBJECT)
    db_session.commit()
    web_login(client, user.username, PASSWORD)
    assert client.get("/institution/queue").status_code == 403
    assert client.get("/institution/objections").status_code == 403


# -- the application page ---------------------------------------------------------------------------------------


def test_application_page_shows_content_materials_deadlines_and_history(client, db_session, subject, csrf, tmp_path):
    app = submit_on(db_session, subject, tmp_path, MON, "全省公路路网运行监测数据")
    db_session.commit()
    with clock.frozen(MON):
        html = client.get(f"/institution/applications/{app.id}").text
    digest = app.documents["identity_proof"]
    assert "数据基本信息" in html and "数据存储信息" in html and "业务数据" in html  # vocabulary labels, not codes
    assert "数据产品和服务信息" not in html  # the other registration type's section is not shown
    assert "甘肃省（620000）" in html and "委托第三方专业服务机构存证" in html
    assert "登记主体身份证明材料" in html and f"SM3 {digest}" in html and f"/api/v1/files/{digest}/content" in html
    assert "数据安全评估报告" in html and "申请表附件" in html
    assert "受理期限（第二十六条）" in html and "剩 3 个工作日" in html
    assert "提交" in html and "办理记录" in html
    assert client.get(f"/api/v1/files/{digest}/content").status_code == 200  # the clerk can open it


def test_missing_material_and_near_duplicates_are_shown(client, db_session, subject, clerk, csrf, tmp_path):
    registered(db_session, subject, clerk, tmp_path)  # "全省公路路网运行监测数据"
    app = submit_on(db_session, subject, tmp_path, MON, "全省公路路网运行监测数据集")
    agent_docs = dict(app.documents)
    db_session.commit()
    html = client.get(f"/institution/applications/{app.id}").text
    assert "重复登记提示" in html and "名称相似" in html and "同一登记主体" in html
    assert agent_docs and "授权委托书" not in re.search(r'<table class="table inst-materials">(.*?)</table>', html,
                                                       re.S).group(1)


def test_unknown_application_is_a_chinese_404(client, csrf):
    r = client.get("/institution/applications/999999")
    assert r.status_code == 404 and "申请不存在" in r.text


# -- decisions --------------------------------------------------------------------------------------------------


def decide(client, csrf, app: Application, action: str, **data: str):  # type: ignore[no-untyped-def]
    return client.post(f"/institution/applications/{app.id}/decide",
                       data={"csrf_token": csrf, "version": str(app.version), "action": action, **data})


def test_accept_then_pass_from_the_page(client, db_session, subject, csrf, tmp_path):
    app = submit_on(db_session, subject, tmp_path, MON, "受理并审查通过的数据")
    db_session.commit()
    with clock.frozen(MON + dt.timedelta(days=1)):
        r = decide(client, csrf, app, "accept")
        assert r.status_code == 303 and r.headers["location"].endswith("?done=accept")
        db_session.refresh(app)
        assert app.state == "under_review" and app.review_due is not None
        page = client.get(r.headers["location"]).text
        assert "已办理：受理" in page and "受理通知书" in page
        r = decide(client, csrf, app, "pass")
    db_session.refresh(app)
    assert r.status_code == 303 and app.state == "in_notice"


def test_an_illegal_decision_is_refused_in_chinese_and_changes_nothing(client, db_session, subject, csrf, tmp_path):
    app = submit_on(db_session, subject, tmp_path, MON, "不能直接通过的数据")
    db_session.commit()
    version = app.version
    r = decide(client, csrf, app, "pass")
    assert r.status_code == 409
    assert "当前状态“已提交待受理”下不能执行“审查通过”" in r.text and 'data-code="illegal_transition"' in r.text
    db_session.refresh(app)
    assert (app.state, app.version) == ("submitted", version)
    r = decide(client, csrf, app, "launch_rockets")
    assert r.status_code == 422 and "未知的决定" in r.text


def test_stale_version_is_refused(client, db_session, subject, csrf, tmp_path):
    app = submit_on(db_session, subject, tmp_path, MON, "两人同时办理的数据")
    db_session.commit()
    r = client.post(f"/institution/applications/{app.id}/decide",
                    data={"csrf_token": csrf, "version": str(app.version - 1 or 99), "action": "accept"})
    assert r.status_code == 409 and "已被他人处理" in r.text


def test_not_accept_with_a_standard_reason_filled_without_javascript(client, db_session, subject, csrf, tmp_path):
    app = submit_on(db_session, subject, tmp_path, MON, "不属于登记范围的数据")
    db_session.commit()
    template = wb.reason_template("not_accept", "out_of_scope").text
    r = decide(client, csrf, app, "not_accept", op="template", template="out_of_scope", reasons="经核查：")
    assert r.status_code == 200 and f"经核查：\n{template}</textarea>" in r.text  # filled in for editing
    db_session.refresh(app)
    assert app.state == "submitted"
    r = decide(client, csrf, app, "not_accept", template="out_of_scope", reasons="")  # chosen and sent directly
    assert r.status_code == 303
    db_session.refresh(app)
    assert app.state == "not_accepted" and app.reasons == template
    assert template in app.notices[-1].body


def test_decline_without_reasons_shows_the_error_at_the_field(client, db_session, subject, clerk, csrf, tmp_path):
    app = submit_on(db_session, subject, tmp_path, MON, "审查不通过的数据")
    svc.accept(db_session, actor=clerk, application_id=app.id)
    db_session.commit()
    r = decide(client, csrf, app, "fail", reasons="  ")
    assert r.status_code == 422 and '<p class="error-text" id="e-reasons">须说明理由' in r.text
    r = decide(client, csrf, app, "fail", template="no_evidence", reasons="存证证明仅有封面。")
    db_session.refresh(app)
    assert r.status_code == 303 and app.state == "review_failed"
    assert app.reasons.startswith("存证证明仅有封面。\n") and "第二十条第三项" in app.reasons


def test_refuse_takes_its_ground_from_the_standard_reason(client, db_session, subject, clerk, csrf, tmp_path):
    app = submit_on(db_session, subject, tmp_path, MON, "存在权属争议的数据")
    svc.accept(db_session, actor=clerk, application_id=app.id)
    db_session.commit()
    r = decide(client, csrf, app, "refuse", reasons="")
    assert r.status_code == 422 and "请选择不予登记的情形" in r.text and "须说明理由" in r.text
    r = decide(client, csrf, app, "refuse", template="ownership")
    db_session.refresh(app)
    assert r.status_code == 303 and (app.state, app.refusal_ground) == ("refused", "ownership_dispute")


def test_complete_cancellation_from_the_page(client, db_session, subject, clerk, csrf, tmp_path):
    first = registered(db_session, subject, clerk, tmp_path)
    cert = db_session.query(Certificate).filter_by(registration_id=first.registration_id).one()
    app = svc.create_application(db_session, actor=subject, kind="cancellation", registration_id=first.registration_id,
                                 documents={"identity_proof": upload(db_session, subject, tmp_path, "身份证明"),
                                            "ground_evidence": upload(db_session, subject, tmp_path, "灭失证明")},
                                 details={"ground": "lost", "certificate_number": cert.number})
    svc.submit(db_session, actor=subject, application_id=app.id)
    svc.accept(db_session, actor=clerk, application_id=app.id)
    db_session.commit()
    html = client.get(f"/institution/applications/{app.id}").text
    assert "注销完成期限" in html and "公共数据资源不可复原或灭失" in html and 'value="pass"' not in html
    r = decide(client, csrf, app, "complete")
    db_session.refresh(app)
    db_session.refresh(app.registration)
    assert r.status_code == 303 and app.state == "cancelled" and app.registration.status == "cancelled"


# -- the one-time supplement notice (REG-26) -----------------------------------------------------------------------


def supplement(client, csrf, app: Application, op: str, picks: dict[str, tuple[str, str]], **extra: str):  # type: ignore[no-untyped-def]
    data: dict[str, str | list[str]] = {"csrf_token": csrf, "version": str(app.version), "op": op,
                                        "pick": list(picks), **extra}
    for key, (defect, note) in picks.items():
        data |= {f"defect.{key}": defect, f"note.{key}": note}
    return client.post(f"/institution/applications/{app.id}/supplement", data=data)


def test_supplement_builder_previews_sends_once_and_refuses_a_second(client, db_session, subject, csrf, tmp_path):
    app = submit_on(db_session, subject, tmp_path, MON, "须补正材料的数据")
    db_session.commit()
    picks = {"documents.identity_proof": ("unclear", "复印件第二页模糊"),
             "resource.security_assessment": ("unsigned", "")}
    r = supplement(client, csrf, app, "preview", picks)
    assert r.status_code == 200 and "预览：补正材料通知书" in r.text and "确认发送补正通知" in r.text
    assert "登记主体身份证明材料</strong>：不清晰或无法辨认：复印件第二页模糊" in r.text
    db_session.refresh(app)
    assert app.state == "submitted" and not app.notices  # a preview sends nothing
    r = supplement(client, csrf, app, "send", picks,
                   **{"extra_item.0": "数据样例", "extra_note.0": "请提供 10 条脱敏样例"})
    assert r.status_code == 303
    db_session.refresh(app)
    assert app.state == "supplement_requested" and app.acceptance_due is None
    notice = db_session.query(Notice).filter_by(application_id=app.id, kind="supplement").one()
    assert [(i["field"], i["item"], i["reason"]) for i in notice.items] == [
        ("documents.identity_proof", "登记主体身份证明材料", "不清晰或无法辨认：复印件第二页模糊"),
        ("resource.security_assessment", "数据安全评估报告", "缺少签字或盖章"),
        ("", "数据样例", "请提供 10 条脱敏样例")]
    with clock.frozen(MON + dt.timedelta(days=2)):
        svc.submit(db_session, actor=subject, application_id=app.id)  # the subject resubmits
    db_session.commit()
    page = client.get(f"/institution/applications/{app.id}").text
    assert "不能再次要求补正" in page and 'name="pick"' not in page
    r = supplement(client, csrf, app, "send", {"basic.summary": ("inconsistent", "")})
    assert r.status_code == 409 and "已一次性告知补正，不能再次要求补正" in r.text
    db_session.refresh(app)
    assert app.state == "submitted" and app.supplement_rounds == 1


def test_supplement_needs_items_and_a_reason_for_each(client, db_session, subject, csrf, tmp_path):
    app = submit_on(db_session, subject, tmp_path, MON, "补正内容不完整的数据")
    db_session.commit()
    r = supplement(client, csrf, app, "send", {})
    assert r.status_code == 422 and "请勾选须补正的材料或事项" in r.text
    r = supplement(client, csrf, app, "preview",
                   {"basic.summary": ("", ""), "documents.identity_proof": ("missing", "")},
                   **{"extra_note.1": "没有名称的说明"})
    assert r.status_code == 422
    assert "请写明“数据内容简介”须如何补正" in r.text and "请写明须补正的事项名称" in r.text
    assert re.search(r'value="documents.identity_proof" checked', r.text)  # what was ticked is kept
    db_session.refresh(app)
    assert app.state == "submitted"


# -- objections (REG-31..33) ----------------------------------------------------------------------------------------


@pytest.fixture
def objector(db_session):  # type: ignore[no-untyped-def]
    return actor_of(make_user(db_session, Role.REGISTRATION_SUBJECT))


def in_notice(db, subject, clerk, tmp) -> Application:  # type: ignore[no-untyped-def]
    app = submit_on(db, subject, tmp, MON, "公示期内被异议的数据")
    with clock.frozen(MON):
        svc.accept(db, actor=clerk, application_id=app.id)
        svc.pass_review(db, actor=clerk, application_id=app.id)
    return app


def raise_objection(db, objector, tmp, registration_id):  # type: ignore[no-untyped-def]
    return objections.raise_objection(db, actor=objector, registration_id=registration_id, claim="ownership",
                                      grounds="该数据由我单位采集。", evidence=[upload(db, objector, tmp, "权属证明")])


def test_objections_are_listed_with_the_notice_deadline(client, db_session, subject, clerk, objector, csrf, tmp_path):
    app = in_notice(db_session, subject, clerk, tmp_path)
    with clock.frozen(MON + dt.timedelta(days=1)):
        obj = raise_objection(db_session, objector, tmp_path, app.registration_id)
    db_session.commit()
    with clock.frozen(dt.date(2025, 3, 7)):
        listed = client.get("/institution/objections").text
        tab = client.get("/institution/queue?tab=objections").text
        page = client.get(f"/institution/objections/{obj.id}").text
    for html in (listed, tab):
        assert app.registration.code in html and "数据权属" in html and "公示期内" in html
        assert "2025年3月17日" in html and "剩 6 个工作日" in html  # 10 WD from Mon 3 March; Fri 7 → Mon 17
    assert "该数据由我单位采集。" in page and "权属证明.pdf" in page and "记录技术鉴定" in page
    assert client.get("/institution/objections?state=closed").text.count(f"/institution/objections/{obj.id}") == 0


def test_appraisal_referral_and_decision_from_the_page(client, db_session, subject, clerk, objector, csrf, tmp_path):
    app = in_notice(db_session, subject, clerk, tmp_path)
    obj = raise_objection(db_session, objector, tmp_path, app.registration_id)
    db_session.commit()
    base = f"/institution/objections/{obj.id}"
    r = client.post(f"{base}/appraisal", data={"csrf_token": csrf, "appraiser": "", "conclusion": ""})
    assert r.status_code == 422 and "请填写鉴定机构" in r.text and "请填写鉴定结论" in r.text
    r = client.post(f"{base}/appraisal", data={"csrf_token": csrf, "appraiser": "甘肃可信存证技术服务有限公司",
                                               "conclusion": "存证时间无法确定先后。"},
                    files={"report": ("鉴定报告.pdf", b"%PDF-1.7\n% report\n%%EOF\n", "application/pdf")})
    assert r.status_code == 303, r.text
    db_session.refresh(obj)
    assert obj.appraisal["appraiser"] == "甘肃可信存证技术服务有限公司" and len(obj.appraisal["report"]) == 64
    r = client.post(f"{base}/refer", data={"csrf_token": csrf, "venue": "arbitration", "note": "请双方申请仲裁。"})
    db_session.refresh(obj)
    assert r.status_code == 303 and obj.state == "referred"
    page = client.get(base).text
    assert "鉴定报告.pdf" in page and "协商协议、仲裁裁决或法院判决" in page and "转协商、仲裁或诉讼" in page
    r = client.post(f"{base}/decide", data={"csrf_token": csrf, "action": "dismiss", "template": "outcome"})
    assert r.status_code == 422 and "请上传协商协议、仲裁裁决或法院判决" in r.text
    db_session.refresh(obj)
    assert obj.state == "referred"
    r = client.post(f"{base}/decide", data={"csrf_token": csrf, "action": "dismiss", "template": "outcome"},
                    files={"outcome_document": ("仲裁裁决书.pdf", b"%PDF-1.7\n% award\n%%EOF\n", "application/pdf")})
    assert r.status_code == 303, r.text
    db_session.refresh(obj)
    assert obj.state == "dismissed" and "第三十三条" in obj.outcome["reasons"]
    assert "异议处理决定书" in client.get(base).text


def test_objection_reason_template_without_javascript_and_an_illegal_step(client, db_session, subject, clerk,
                                                                          objector, csrf, tmp_path):
    app = in_notice(db_session, subject, clerk, tmp_path)
    obj = raise_objection(db_session, objector, tmp_path, app.registration_id)
    db_session.commit()
    base = f"/institution/objections/{obj.id}"
    r = client.post(f"{base}/decide", data={"csrf_token": csrf, "action": "uphold", "op": "template",
                                            "template": "evidence_supports"})
    assert r.status_code == 200 and wb.reason_template("uphold", "evidence_supports").text + "</textarea>" in r.text
    r = client.post(f"{base}/decide", data={"csrf_token": csrf, "action": "uphold",
                                            "reasons": "存证时间早于登记主体。"})
    db_session.refresh(obj)
    db_session.refresh(app)
    assert r.status_code == 303 and obj.state == "upheld" and app.state == "refused"
    r = client.post(f"{base}/refer", data={"csrf_token": csrf, "venue": "court"})
    assert r.status_code == 409 and "当前状态“异议成立”下不能执行“转协商、仲裁或诉讼”" in r.text
