"""Written notices (通知书) of the operation lifecycles, kept and downloadable like the registry's.

Issued in the caller's transaction; the caller's transition event is their audit event (the notice's audit
root is the plan, selection or measure it is about). Numbered ``GSYT-<year>-<id>-<check>`` with the registry's
check-character scheme. Only the addressee and the issuing organisation may read a notice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pubdata.audit import Actor
from pubdata.clock import SHANGHAI
from pubdata.errors import NotFound, PermissionDenied
from pubdata.identity.models import Organisation
from pubdata.operation.models import Agreement, OperationMeasure, OperationNotice
from pubdata.registry import codes

PREFIX = "GSYT"
TITLES = {
    "plan_returned": "实施方案退回修改通知书",
    "plan_approved": "实施方案审议通过通知书",
    "consent_withdrawn": "撤回共享数据使用同意通知书",
    "selected": "运营机构选定通知书",
    "not_selected": "运营机构未选定通知书",
    "rectification": "限期整改通知书",
    "suspension": "暂停授权运营平台使用权限通知书",
    "lift": "恢复授权运营平台使用权限通知书",
    "termination": "终止授权运营协议通知书",
}
#: Measures whose notice goes to the operator (and a copy to the agency when an industry department acts).
MEASURE_KINDS = ("rectification", "suspension", "lift", "termination")


def issue(session: Session, *, actor: Actor, object_type: str, object_id: int, addressee_org_id: int, kind: str,
          body: str, items: Sequence[dict[str, Any]] = ()) -> OperationNotice:
    addressee = session.get(Organisation, addressee_org_id)
    assert addressee is not None
    notice = OperationNotice(
        object_type=object_type, object_id=object_id, kind=kind, addressee_org_id=addressee.id,
        issued_by_org_id=actor.org_id, title=TITLES[kind], body=f"{addressee.name}：\n{body}", items=list(items),
        issued_by_user_id=actor.user_id, issued_by_label=actor.label)
    session.add(notice)
    session.flush()
    notice.number = codes.make(PREFIX, notice.issued_at.year, notice.id)
    return notice


def issue_measure(session: Session, *, actor: Actor, measure: OperationMeasure, kind: str, body: str,
                  items: Sequence[dict[str, Any]] = ()) -> list[OperationNotice]:
    """To the operator; a copy to the implementing agency when another body (an industry department) acts."""
    agreement = session.get(Agreement, measure.agreement_id)
    assert agreement is not None
    text = f"关于授权运营协议“{agreement.title}”（{agreement.number or agreement.id}）：{body}"
    out = [issue(session, actor=actor, object_type="operation_measure", object_id=measure.id,
                 addressee_org_id=measure.operator_org_id, kind=kind, body=text, items=items)]
    if actor.org_id != agreement.agency_org_id:
        out.append(issue(session, actor=actor, object_type="operation_measure", object_id=measure.id,
                         addressee_org_id=agreement.agency_org_id, kind=kind, body=f"（抄送）{text}", items=items))
    return out


def _visible(actor: Actor, notice: OperationNotice) -> bool:
    return actor.kind == "system" or (actor.org_id is not None
                                      and actor.org_id in (notice.addressee_org_id, notice.issued_by_org_id))


def for_org(session: Session, *, actor: Actor, object_type: str | None = None,
            object_ids: Sequence[int] | None = None) -> list[OperationNotice]:
    """The notices the caller's organisation received or issued, newest first."""
    if actor.org_id is None:
        return []
    stmt = select(OperationNotice).where(or_(OperationNotice.addressee_org_id == actor.org_id,
                                             OperationNotice.issued_by_org_id == actor.org_id))
    if object_type is not None:
        stmt = stmt.where(OperationNotice.object_type == object_type)
    if object_ids is not None:
        stmt = stmt.where(OperationNotice.object_id.in_(list(object_ids)))
    return list(session.scalars(stmt.order_by(OperationNotice.id.desc())))


def get_notice(session: Session, *, actor: Actor, notice_id: int) -> OperationNotice:
    notice = session.get(OperationNotice, notice_id)
    if notice is None:
        raise NotFound("通知书不存在。", code="notice_not_found")
    if not _visible(actor, notice):
        raise PermissionDenied("只有收件单位和发文单位可以查看该通知书。", code="other_organisation")
    return notice


def render_text(session: Session, notice: OperationNotice) -> str:
    """A plain-text rendering, for download and printing, signed by the issuing organisation."""
    issuer = session.get(Organisation, notice.issued_by_org_id) if notice.issued_by_org_id else None
    lines = [notice.title, f"编号：{notice.number}", "", notice.body]
    for i, item in enumerate(notice.items, 1):
        lines.append(f"  {i}. " + "；".join(f"{v}" for k, v in item.items() if k != "field" and v))
    lines += ["", issuer.name if issuer else notice.issued_by_label,
              notice.issued_at.astimezone(SHANGHAI).strftime("%Y年%m月%d日")]
    return "\n".join(lines) + "\n"
