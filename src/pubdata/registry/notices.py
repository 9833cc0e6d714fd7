"""Written notices (通知书) to the applicant: every decision produces one, kept and downloadable."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from pubdata.audit import Actor
from pubdata.identity.models import Organisation
from pubdata.registry import codes
from pubdata.registry.models import Application, Notice
from pubdata.registry.workflow import Kind

TITLES = {
    "accepted": "受理通知书",
    "supplement": "补正材料通知书",
    "not_accepted": "不予受理通知书",
    "review_failed": "审查不通过通知书",
    "in_notice": "审查通过及公示通知书",
    "refused": "不予登记决定书",
    "certified": "登记完成及凭证发放通知书",
    "cancelled": "注销登记完成通知书",
    "withdrawn": "撤回申请确认书",
    "renewal_reminder": "凭证续展提醒通知书",
    "expiry_cancelled": "凭证期满注销通知书",
}


def issue(
    session: Session,
    *,
    actor: Actor,
    application: Application,
    kind: str,
    body: str,
    items: Sequence[dict[str, Any]] = (),
) -> Notice:
    """Create the notice in the caller's transaction (its audit event is the caller's transition event)."""
    addressee = session.get(Organisation, application.filed_by_org_id)
    assert addressee is not None
    header = (
        f"{addressee.name}：\n"
        f"你单位（申请编号 {application.number}，{Kind(application.kind).label}，"
        f"登记数据名称“{application.registration.data_name}”）"
    )
    notice = Notice(
        application_id=application.id, kind=kind, addressee_org_id=addressee.id, title=TITLES[kind],
        body=f"{header}{body}", items=list(items), issued_by_user_id=actor.user_id, issued_by_label=actor.label,
    )
    session.add(notice)
    session.flush()
    notice.number = codes.make(codes.NOTICE, notice.issued_at.year, notice.id)
    return notice


def render_text(notice: Notice, institution: str = "甘肃省公共数据资源登记机构") -> str:
    """A plain-text rendering, for download and printing."""
    lines = [notice.title, f"编号：{notice.number}", "", notice.body]
    for i, item in enumerate(notice.items, 1):
        detail = "；".join(f"{v}" for k, v in item.items() if k != "field" and v)
        lines.append(f"  {i}. {detail}")
    from pubdata.clock import SHANGHAI

    lines += ["", institution, notice.issued_at.astimezone(SHANGHAI).strftime("%Y年%m月%d日")]
    return "\n".join(lines) + "\n"
