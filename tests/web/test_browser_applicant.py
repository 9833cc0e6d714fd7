"""The applicant workspace in Debian's Chromium: a first registration with attachments, a field error fixed,
submitted, its timeline; the registered record and its certificate PDF with the session cookie."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from pubdata import clock
from pubdata.identity.validation import make_uscc
from tests.browser import shot
from tests.web.conftest import login

pytestmark = pytest.mark.browser
_n = itertools.count(1)


def pdf(label: str) -> dict[str, Any]:
    """A distinct small PDF per upload (distinct digests, so no duplicate evidence)."""
    body = f"%PDF-1.7\n% 浏览器测试 {label} {next(_n)}\n%%EOF\n".encode()
    return {"name": f"{label}.pdf", "mimeType": "application/pdf", "buffer": body}


def fill_first_registration(page: Any, name: str) -> None:
    page.fill("#f-basic-name", name)
    page.select_option("#f-basic-registration_type", "data_resource")
    page.select_option("#f-basic-category", "business")
    page.select_option("#f-basic-grade", "general")
    page.select_option("#f-basic-industries", ["54"])
    page.select_option("#f-basic-regions", ["620000"])
    page.fill("#f-basic-summary", "全省高速公路服务区的车流、客流与经营数据。")
    page.fill("#f-basic-tags", "交通，服务区")
    page.fill("#f-resource-coverage_start", "2021-01-01")
    page.check('input[name="resource.authorized"][value="true"]')
    page.fill("#f-resource-operator_name", "甘肃数据运营集团有限公司")
    page.fill("#f-resource-operator_uscc", "91620000ABCDEFGH12")  # wrong on purpose
    page.fill("#f-resource-authorization_start", "2026-01-01")
    page.fill("#f-resource-authorization_end", "2030-12-31")
    page.set_input_files("#f-resource-security_assessment", files=[pdf("数据安全评估报告")])
    page.check('input[name="agency.is_agent"][value="false"]')
    for select, value in (("production_method", "business_system"), ("structure", "structured"),
                          ("delivery_format", "api"), ("storage_method", "government_cloud"),
                          ("volume_unit", "GB"), ("update_frequency", "daily"), ("update_method", "incremental"),
                          ("evidence_method", "third_party")):
        page.select_option(f"#f-storage-{select}", value)
    page.fill("#f-storage-initial_volume", "800")
    page.fill("#f-storage-growth_volume", "5")
    page.fill("#f-storage-subject_count", "120")
    page.check('input[name="storage.contains_sensitive"][value="false"]')
    page.fill("#f-storage-evidence_description", "委托第三方机构对数据集摘要存证。")
    page.set_input_files("#f-storage-evidence_proof", files=[pdf("存证证明")])
    for key, text in (("conditions", "经授权的运营机构"), ("scope", "甘肃省"), ("audience", "出行服务企业"),
                      ("problems", "服务区拥堵预警")):
        page.fill(f"#f-scenario-{key}", text)
    page.select_option("#f-sharing-sharing_type", "unconditional")
    page.select_option("#f-sharing-method", "api")
    page.check('input[name="sharing.open_to_public"][value="false"]')
    page.check('input[name="co_ownership.co_owned"][value="false"]')
    page.set_input_files("#f-legality-source_proofs", files=[pdf("依法获取证明")])
    page.check("#f-legality-commitment")
    page.check('input[name="catalog.based_on_existing"][value="false"]')
    page.set_input_files("#f-documents-identity_proof", files=[pdf("统一社会信用代码证书")])


def test_first_registration_with_attachments_error_fixed_submitted(page, server):
    login(page, server, "subject")
    page.goto(f"{server}/applications")
    assert "我的申请" in page.text_content("h1")
    assert page.locator("table.table tbody tr").count() >= 5  # the demo applications
    shot(page, "applicant-01-list")

    page.click("text=新建首次登记申请")
    page.wait_for_url(f"{server}/applications/new")
    # every type section shows until the type is chosen; then the others hide (applicant.js)
    assert page.is_visible("#s-product") and page.is_visible("#s-open_data")
    fill_first_registration(page, "全省高速公路服务区运营数据")
    assert page.is_hidden("#s-product") and page.is_hidden("#s-open_data") and page.is_visible("#s-resource")
    assert page.is_hidden('[data-path="agency.principal_name"]')
    assert page.is_hidden('[data-path="storage.subjects_involved"]')
    assert page.is_hidden('[data-path="co_ownership.co_owners"]')
    shot(page, "applicant-02-form-filled")

    page.click("#btn-submit")
    page.wait_for_load_state()
    error = page.text_content('[data-path="resource.operator_uscc"] .error-text')
    assert error and "统一社会信用代码无效" in error
    assert "提交的信息有误" in page.text_content(".alert-error")  # malformed: nothing saved, all kept
    # the uploads were kept: each shown with its name and SM3 digest
    kept = page.text_content('[data-path="resource.security_assessment"]')
    assert kept and "数据安全评估报告.pdf" in kept and "SM3 " in kept
    page.locator('[data-path="resource.operator_uscc"]').scroll_into_view_if_needed()
    shot(page, "applicant-03-field-error")

    page.fill("#f-resource-operator_uscc", make_uscc("91620000", 30003))
    page.click("#btn-submit")
    page.wait_for_url("**/applications/*?submitted=1")
    assert "申请已提交" in page.text_content(".alert-ok")
    assert page.text_content("#app-state") == "已提交待受理"
    steps = page.text_content("ol.timeline")
    assert steps and "创建草稿" in steps and "提交" in steps and "已提交待受理" in steps
    assert "受理期限" in page.text_content("table.deadlines")
    shot(page, "applicant-04-submitted")


def test_registered_record_and_certificate_pdf_with_the_session_cookie(page, server):
    login(page, server, "subject")
    page.goto(f"{server}/applications?state=certified")
    page.click("table.table tbody tr >> text=详情")
    page.click("text=登记记录")
    assert "已登记" in page.text_content(".page-head")
    assert page.is_visible("#start-change") and not page.is_visible("#start-renewal")
    link = page.get_attribute("text=下载 PDF", "href")
    assert link and link.startswith("/api/v1/certificates/")
    shot(page, "applicant-05-registration")
    response = page.request.get(server + link)  # the browser context's cookies
    assert response.status == 200, response.text()[:300]
    assert response.headers["content-type"] == "application/pdf" and response.body().startswith(b"%PDF")

    page.goto(f"{server}/obligations")
    page.select_option("#f-event", "operation_started")
    page.click("main form[action='/obligations'] button[type=submit]")
    assert "日期格式应为 YYYY-MM-DD" in page.text_content(".error-text")
    page.fill("#f-event_date", clock.today().isoformat())
    page.click("main form[action='/obligations'] button[type=submit]")
    page.wait_for_url("**/obligations?declared=1")
    assert "剩 20 个工作日" in page.text_content("table.table")
    shot(page, "applicant-06-obligations")
