"""Revoking a registration (REG-43, and REG-33 when an objection is upheld): the certificate verifies as
revoked, the subject is told in writing and the reason is announced publicly."""

from __future__ import annotations

from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor
from pubdata.errors import FieldError, ValidationFailed
from pubdata.identity.models import Organisation
from pubdata.registry.models import Registration

#: REG-43 grounds, plus an upheld objection (REG-33).
GROUNDS = {
    "concealment": "登记主体隐瞒有关情况",
    "forged_materials": "伪造登记材料",
    "certificate_tampering": "篡改登记凭证",
    "certificate_misuse": "不当使用登记凭证",
    "objection_upheld": "异议成立",
}


def revoke_registration(session: Session, *, actor: Actor, registration_id: int, ground: str,
                        reasons: str) -> Registration:
    from pubdata.certificates.announcements import publish
    from pubdata.certificates.revocation import revoke

    errors = []
    if ground not in GROUNDS:
        errors.append(FieldError("ground", "unknown_ground", "请选择撤销情形（第四十三条）。"))
    if not (reasons or "").strip():
        errors.append(FieldError("reasons", "required", "须说明撤销登记的理由，理由将公告。"))
    if errors:
        raise ValidationFailed(errors)
    reg = revoke(session, actor=actor, registration_id=registration_id, reasons=f"{GROUNDS[ground]}：{reasons}",
                 date=clock.today())
    issuer = session.get(Organisation, actor.org_id) if actor.org_id else None
    subject = session.get(Organisation, reg.subject_org_id)
    publish(session, actor=actor, kind="revocation", title=f"关于撤销登记 {reg.code} 的公告",
            body=f"{subject.name if subject else ''}登记的“{reg.data_name}”（登记编码 {reg.code}），"
                 f"因{GROUNDS[ground]}，依据《甘肃省公共数据资源登记管理实施细则》第"
                 f"{'三十三' if ground == 'objection_upheld' else '四十三'}条，自 {clock.today():%Y年%m月%d日} 起撤销登记，"
                 "原登记凭证同时失效。",
            issuer_name=issuer.name if issuer else "登记机构", registration_id=reg.id, registration_code=reg.code)
    return reg
