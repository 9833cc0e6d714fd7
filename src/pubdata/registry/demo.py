"""Demo registrations in every state of the procedure, back-dated through ``clock.frozen`` so that
deadlines, overdue flags and notice periods look as they would in real use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor
from pubdata.files.service import store_upload
from pubdata.identity.access import actor_for
from pubdata.identity.users import user_by_username
from pubdata.registry import applications as svc
from pubdata.registry.certificates import certify
from pubdata.registry.models import Application, Registration
from pubdata.registry.samples import resource_content

#: (data name, summary, industry, how far it goes, the day it was submitted relative to today)
SCENARIOS: tuple[tuple[str, str, str, str, int], ...] = (
    ("全省公路路网运行监测数据", "全省高速公路和国省干线的路况、流量与事件数据。", "54", "certified", -60),
    ("全省道路运输企业经营许可数据", "道路运输经营许可、年审与信用评价信息。", "54", "in_notice", -30),
    ("全省公交与出租车运营数据", "城市公交线路、班次与出租车运营里程数据。", "54", "under_review", -25),
    ("全省港航与水路运输数据", "内河港口、航道与船舶运输数据。", "55", "under_review_overdue", -50),
    ("全省交通建设项目管理数据", "交通基础设施建设项目立项、招投标与验收数据。", "48", "submitted", -1),
    ("全省驾培机构监管数据", "驾驶员培训机构备案与学时数据。", "54", "supplement_requested", -6),
    ("全省治超检测站称重数据", "公路超限检测站的称重与处罚数据。", "54", "review_failed", -40),
    ("全省交通执法案件数据", "交通运输综合执法案件办理数据。", "54", "draft", 0),
    ("全省客运站售票数据", "汽车客运站售票与班线数据。", "54", "not_accepted", -9),
    ("全省物流园区运行数据", "物流园区进出车辆与仓储数据。", "59", "withdrawn", -8),
    ("全省网约车平台订单数据", "网约车平台订单汇总数据。", "54", "refused", -35),
)

#: Further registered records for the public catalog: (data name, summary, industry, covered region, submitted).
REGISTERED: tuple[tuple[str, str, str, str, int], ...] = (
    ("兰州市公交IC卡刷卡客流数据", "兰州市城市公交线路的刷卡客流、换乘与时段分布数据。", "54", "620100", -80),
    ("天水市城区道路交通流量数据", "天水市城区主要路口与路段的机动车流量监测数据。", "54", "620500", -75),
    ("酒泉市国省干线公路养护数据", "酒泉市境内国省干线公路的养护计划、路况评定与工程数据。", "48", "620900", -70),
    ("全省农村公路建设与管护数据", "全省农村公路里程、技术等级、建设项目与管护责任数据。", "48", "620000", -66),
    ("全省道路运输从业人员资格数据", "道路运输驾驶员、危货从业人员的资格证件与继续教育数据。", "54", "620000", -64),
    ("张掖市旅游包车运营数据", "张掖市旅游包车的备案、线路与运营里程数据。", "54", "620700", -62),
)


def _uploader(session: Session, actor: Actor, data_name: str) -> Callable[[str], str]:
    """Stores a small PDF per material and data set (distinct content, so distinct evidence digests)."""

    def upload(label: str) -> str:
        body = f"%PDF-1.7\n% 演示材料：{data_name} {label}\n%%EOF\n".encode()
        return store_upload(session, actor=actor, stream=body, filename=f"{label}.pdf",
                            declared_type="application/pdf").digest

    return upload


def _subject_of(session: Session, app: Application) -> Actor:
    user = user_by_username(session, "subject")
    assert user is not None
    return actor_for(user)


def _back_to(days: int) -> dt.date:
    return clock.today() + dt.timedelta(days=days)


def load(session: Session, *, system: Actor) -> list[str]:
    """Create the demo registrations of the `subject` user, with `institution` as the clerk; idempotent."""
    subject_user, clerk_user = user_by_username(session, "subject"), user_by_username(session, "institution")
    if subject_user is None or clerk_user is None:
        return []
    subject, clerk = actor_for(subject_user), actor_for(clerk_user)
    existing = set(session.scalars(select(Registration.data_name).where(
        Registration.subject_org_id == subject_user.organisation_id)))
    created = []
    scenarios = [(*s, "620000") for s in SCENARIOS]
    scenarios += [(name, summary, industry, "certified", offset, region)
                  for name, summary, industry, region, offset in REGISTERED]
    for name, summary, industry, goal, offset, region in scenarios:
        if name in existing:
            continue
        upload = _uploader(session, subject, name)
        content = resource_content(upload, name=name, summary=summary, industry=industry)
        content["basic"]["regions"] = [region]
        with clock.frozen(_back_to(offset)):
            app = svc.create_application(session, actor=subject, kind="first", content=content,
                                         documents={"identity_proof": upload("统一社会信用代码证书")})
            if goal != "draft":
                svc.submit(session, actor=subject, application_id=app.id)
        _advance(session, app, goal, offset, clerk, system)
        created.append(f"{name}（{app.state}）")
    return created


def _advance(session: Session, app: Application, goal: str, offset: int, clerk: Actor, system: Actor) -> None:
    if goal in {"draft", "submitted"}:
        return
    if goal == "withdrawn":
        with clock.frozen(_back_to(offset + 1)):
            svc.withdraw(session, actor=_subject_of(session, app), application_id=app.id, reason="数据范围调整后重新申请")
        return
    if goal == "not_accepted":
        with clock.frozen(_back_to(offset + 2)):
            svc.not_accept(session, actor=clerk, application_id=app.id,
                           reasons="该数据由交通运输部统一管理，不属于本省公共数据资源登记范围。")
        return
    if goal == "supplement_requested":
        with clock.frozen(_back_to(offset + 1)):
            svc.request_supplement(session, actor=clerk, application_id=app.id, items=[
                {"field": "documents.identity_proof", "item": "登记主体身份证明材料", "reason": "证书复印件不清晰"},
                {"field": "resource.security_assessment", "item": "数据安全评估报告", "reason": "缺少评估机构签章页"}])
        return
    with clock.frozen(_back_to(offset + 2)):
        svc.accept(session, actor=clerk, application_id=app.id)
    if goal in {"under_review", "under_review_overdue"}:
        return
    if goal == "refused":
        with clock.frozen(_back_to(offset + 10)):
            svc.refuse(session, actor=clerk, application_id=app.id, ground="ownership_dispute",
                       reasons="该数据由平台企业采集，与申请单位之间存在权属争议，尚未解决。")
        return
    if goal == "review_failed":
        with clock.frozen(_back_to(offset + 10)):
            svc.fail_review(session, actor=clerk, application_id=app.id,
                            reasons="数据内容简介与存证材料所述范围不一致，请核实后重新申请。")
        return
    with clock.frozen(_back_to(offset + 12)):
        svc.pass_review(session, actor=clerk, application_id=app.id)
    if goal == "certified":
        with clock.frozen(app.notice_end + dt.timedelta(days=1)):  # type: ignore[operator]
            certify(session, actor=system, application=app)
