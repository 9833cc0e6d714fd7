"""Raising and deciding objections (REG-31..33), with written notices to both sides.

During public notice an open objection holds back certification (registry.public_notices.BLOCKERS); after
registration it marks the record 异议中 at once (certificates.status.OBJECTION_HOOKS) until decided. An upheld
objection refuses the registration during notice (REG-32) or revokes it afterwards (REG-33); where the facts
cannot be verified the case is referred to negotiation, arbitration or court and the outcome is recorded and
carried out the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.cn import ric

from pubdata import clock
from pubdata.audit import Actor, record
from pubdata.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from pubdata.identity.access import require
from pubdata.identity.models import Organisation
from pubdata.identity.permissions import Permission
from pubdata.objections.models import Objection, ObjectionNotice
from pubdata.registry.form import DIGEST_RE
from pubdata.registry.models import Application, Registration
from pubdata.workflow import StateMachine

MACHINE = StateMachine(
    name="异议处理",
    transitions={
        ("open", "refer"): "referred",
        ("open", "uphold"): "upheld",
        ("open", "dismiss"): "dismissed",
        ("open", "withdraw"): "withdrawn",
        ("referred", "uphold"): "upheld",
        ("referred", "dismiss"): "dismissed",
    },
    labels={"open": "待处理", "referred": "已转协商、仲裁或诉讼", "upheld": "异议成立", "dismissed": "异议不成立",
            "withdrawn": "已撤回", "refer": "转协商、仲裁或诉讼", "uphold": "认定异议成立",
            "dismiss": "认定异议不成立", "withdraw": "撤回异议"},
)
UNRESOLVED = ("open", "referred")
CLAIMS = {"ownership": "数据权属", "content": "登记内容有误", "other": "其他"}
VENUES = {"negotiation": "协商", "arbitration": "仲裁", "court": "诉讼"}


def _evidence_errors(session: Session, actor: Actor, evidence: Sequence[str]) -> list[FieldError]:
    from pubdata.files.service import exists

    if not evidence:
        return [FieldError("evidence", "required", "提出异议须提供真实、必要的证明材料（第三十一条）。")]
    return [FieldError(f"evidence.{i}", "attachment_missing", "证明材料不存在，请先上传。")
            for i, d in enumerate(evidence)
            if not isinstance(d, str) or not DIGEST_RE.match(d) or not exists(session, d, organisation_id=actor.org_id)]


def raise_objection(
    session: Session,
    *,
    actor: Actor,
    registration_id: int,
    claim: str,
    grounds: str,
    evidence: Sequence[str],
    as_person: bool = False,
    person_name: str = "",
    person_id_number: str = "",
) -> Objection:
    """Object under one's real name: as one's verified organisation, or as a natural person whose name and
    identity number (GB 11643 check digit) are given."""
    require(actor, Permission.OBJECTION_RAISE)
    errors: list[FieldError] = []
    if claim not in CLAIMS:
        errors.append(FieldError("claim", "unknown_claim", "请选择异议类型：数据权属、登记内容有误或其他。"))
    if not (grounds or "").strip():
        errors.append(FieldError("grounds", "required", "请写明异议的事实与理由。"))
    if as_person:
        if not person_name.strip():
            errors.append(FieldError("person_name", "required", "以自然人名义提出须填写姓名（实名）。"))
        if not ric.is_valid(person_id_number or ""):
            errors.append(FieldError("person_id_number", "id_number_invalid", "身份证号码无效（GB 11643 校验不通过）。"))
    elif not actor.org_verified:
        errors.append(FieldError("as_person", "organisation_unverified",
                                 "本单位尚未实名核验，不能以单位名义提出异议；可以自然人实名提出。"))
    errors += _evidence_errors(session, actor, evidence)
    if errors:
        raise ValidationFailed(errors)
    reg = session.get(Registration, registration_id)
    if reg is None:
        raise NotFound("登记记录不存在。", code="registration_not_found")
    in_notice = session.scalar(select(Application).where(Application.registration_id == reg.id,
                                                         Application.state == "in_notice"))
    if in_notice is None and reg.status != "registered":
        raise Conflict("只能对公示中或已登记的信息提出异议（第三十一条）。", code="not_objectionable")
    if actor.org_id == reg.subject_org_id:
        raise PermissionDenied("登记主体不能对本单位的登记提出异议。", code="own_registration")
    obj = Objection(
        registration_id=reg.id, application_id=in_notice.id if in_notice else None,
        phase="notice" if in_notice else "registered", claim=claim, grounds=grounds.strip(),
        evidence=list(evidence), objector_user_id=actor.user_id, objector_org_id=None if as_person else actor.org_id,
        person_name=person_name.strip() or None if as_person else None,
        person_id_number=ric.compact(person_id_number) if as_person else None,
    )
    session.add(obj)
    session.flush()
    record(session, actor=actor, tag="objections:objection:raised", object_type="objection", object_id=obj.id,
           changes={"state": [None, "open"]},
           data={"registration": reg.code, "phase": obj.phase, "claim": claim, "as_person": as_person})
    record(session, actor=actor, tag="registry:registration:objected", object_type="registration", object_id=reg.id,
           data={"objection_id": obj.id, "phase": obj.phase})
    _notify(session, obj, "异议受理通知书",
            objector=f"你对登记 {reg.code}“{reg.data_name}”提出的异议已收到，登记机构将依法处理。",
            subject=f"有异议人对你单位登记 {reg.code}“{reg.data_name}”提出异议（{CLAIMS[claim]}），"
                    + ("公示期满前暂不发放凭证。" if obj.phase == "notice" else "该登记已标注“异议中”。"))
    return obj


def get_objection(session: Session, *, objection_id: int) -> Objection:
    obj = session.get(Objection, objection_id)
    if obj is None:
        raise NotFound("异议不存在。", code="objection_not_found")
    return obj


def view_objection(session: Session, *, actor: Actor, objection_id: int) -> Objection:
    obj = get_objection(session, objection_id=objection_id)
    reg = session.get(Registration, obj.registration_id)
    parties = {obj.objector_org_id, reg.subject_org_id if reg else None}
    if actor.user_id == obj.objector_user_id or actor.org_id in parties or actor.can(Permission.ORG_VERIFY.value) \
            or actor.can(Permission.AUDIT_READ.value):
        return obj
    raise PermissionDenied("只能查看与本单位有关的异议。", code="other_organisation")


def _institution(session: Session, actor: Actor, objection_id: int, version: int | None) -> Objection:
    require(actor, Permission.ORG_VERIFY)
    obj = get_objection(session, objection_id=objection_id)
    if version is not None and version != obj.version:
        raise Conflict("该异议已被他人处理，请刷新后重试。", code="stale_version")
    return obj


def record_appraisal(session: Session, *, actor: Actor, objection_id: int, appraiser: str, conclusion: str,
                     report: str | None = None, version: int | None = None) -> Objection:
    """技术鉴定 (REG-32): who appraised, what they concluded, their report."""
    obj = _institution(session, actor, objection_id, version)
    if obj.state not in UNRESOLVED:
        raise Conflict("异议已办结。", code="objection_closed")
    errors = [FieldError(f, "required", m) for f, v, m in (("appraiser", appraiser, "请填写鉴定机构。"),
                                                            ("conclusion", conclusion, "请填写鉴定结论。"))
              if not (v or "").strip()]
    if report is not None and not DIGEST_RE.match(report):
        errors.append(FieldError("report", "bad_attachment", "鉴定报告应为已上传文件的 SM3 摘要。"))
    if errors:
        raise ValidationFailed(errors)
    obj.appraisal = {"appraiser": appraiser.strip(), "conclusion": conclusion.strip(), "report": report,
                     "recorded_on": clock.today().isoformat()}
    record(session, actor=actor, tag="objections:objection:appraised", object_type="objection", object_id=obj.id,
           data=obj.appraisal)
    return obj


def refer(session: Session, *, actor: Actor, objection_id: int, venue: str, note: str,
          version: int | None = None) -> Objection:
    """Facts cannot be verified: the parties negotiate, arbitrate or go to court (REG-32/33)."""
    obj = _institution(session, actor, objection_id, version)
    if venue not in VENUES:
        raise ValidationFailed.single("venue", "unknown_venue", "请选择协商、仲裁或诉讼。")
    before = obj.state
    obj.state = MACHINE.next_state(before, "refer")
    obj.referral = {"venue": venue, "note": note.strip(), "on": clock.today().isoformat()}
    record(session, actor=actor, tag="objections:objection:referred", object_type="objection", object_id=obj.id,
           changes={"state": [before, obj.state]}, data=obj.referral)
    _notify(session, obj, "异议处理告知书",
            objector=f"经审查，异议事实暂无法核实，请与登记主体通过{VENUES[venue]}解决。{note.strip()}",
            subject=f"经审查，异议事实暂无法核实，请与异议人通过{VENUES[venue]}解决；结果作出前暂不发证或维持“异议中”标注。")
    return obj


def decide(session: Session, *, actor: Actor, objection_id: int, action: str, reasons: str,
           outcome_document: str | None = None, version: int | None = None) -> Objection:
    """Uphold or dismiss — the institution's own decision, or carrying out a negotiated, arbitral or court
    outcome (``outcome_document``: the agreement, award or judgment, as an uploaded file)."""
    obj = _institution(session, actor, objection_id, version)
    if action not in {"uphold", "dismiss"}:
        raise ValidationFailed.single("action", "unknown_action", "决定应为异议成立或不成立。")
    if not (reasons or "").strip():
        raise ValidationFailed.single("reasons", "required", "须说明理由（将书面通知双方）。")
    if obj.state == "referred" and not (outcome_document and DIGEST_RE.match(outcome_document)):
        raise ValidationFailed.single("outcome_document", "required", "请上传协商协议、仲裁裁决或法院判决。")
    before = obj.state
    obj.state = MACHINE.next_state(before, action)
    obj.decided_on = clock.today()
    obj.outcome = {"action": action, "reasons": reasons.strip(), "document": outcome_document,
                   "venue": obj.referral.get("venue")}
    session.flush()
    record(session, actor=actor, tag=f"objections:objection:{obj.state}", object_type="objection", object_id=obj.id,
           changes={"state": [before, obj.state]}, data=obj.outcome)
    reg = session.get(Registration, obj.registration_id)
    assert reg is not None
    if action == "uphold":
        _carry_out(session, actor, obj, reg, reasons.strip())
    verdict = "异议成立" if action == "uphold" else "异议不成立"
    effect = ("不予登记" if obj.phase == "notice" else "撤销该登记") if action == "uphold" else \
        ("继续办理登记" if obj.phase == "notice" else "维持登记，取消“异议中”标注")
    _notify(session, obj, "异议处理决定书", objector=f"经审查，{verdict}，{effect}。理由：{reasons.strip()}",
            subject=f"经审查，{verdict}，{effect}。理由：{reasons.strip()}")
    return obj


def _carry_out(session: Session, actor: Actor, obj: Objection, reg: Registration, reasons: str) -> None:
    if obj.phase == "notice":
        from pubdata.registry.applications import refuse

        app = session.get(Application, obj.application_id)
        if app is not None and app.state == "in_notice":
            ground = "ownership_dispute" if obj.claim == "ownership" else "other_legal"
            refuse(session, actor=actor, application_id=app.id, ground=ground, reasons=f"异议成立：{reasons}")
    elif reg.status == "registered":
        from pubdata.objections.revocations import revoke_registration

        revoke_registration(session, actor=actor, registration_id=reg.id, ground="objection_upheld", reasons=reasons)


def withdraw(session: Session, *, actor: Actor, objection_id: int, version: int | None = None) -> Objection:
    obj = get_objection(session, objection_id=objection_id)
    if actor.user_id != obj.objector_user_id:
        raise PermissionDenied("只有异议人可以撤回异议。", code="not_objector")
    if version is not None and version != obj.version:
        raise Conflict("该异议已被处理，请刷新后重试。", code="stale_version")
    before = obj.state
    obj.state = MACHINE.next_state(before, "withdraw")
    obj.decided_on = clock.today()
    record(session, actor=actor, tag="objections:objection:withdrawn", object_type="objection", object_id=obj.id,
           changes={"state": [before, obj.state]})
    return obj


def _notify(session: Session, obj: Objection, title: str, *, objector: str, subject: str) -> None:
    reg = session.get(Registration, obj.registration_id)
    assert reg is not None
    session.add_all([
        ObjectionNotice(objection_id=obj.id, addressee="objector", addressee_org_id=obj.objector_org_id,
                        addressee_user_id=obj.objector_user_id, title=title, body=objector),
        ObjectionNotice(objection_id=obj.id, addressee="subject", addressee_org_id=reg.subject_org_id,
                        title=title, body=subject),
    ])
    session.flush()


def notices_of(session: Session, objection_id: int) -> list[ObjectionNotice]:
    stmt = select(ObjectionNotice).where(ObjectionNotice.objection_id == objection_id).order_by(ObjectionNotice.id)
    return list(session.scalars(stmt))


def unresolved(session: Session, *, registration_id: int | None = None,
               application_id: int | None = None) -> Objection | None:
    stmt = select(Objection).where(Objection.state.in_(UNRESOLVED))
    if registration_id is not None:
        stmt = stmt.where(Objection.registration_id == registration_id, Objection.phase == "registered")
    if application_id is not None:
        stmt = stmt.where(Objection.application_id == application_id)
    return session.scalars(stmt.limit(1)).first()


def under_objection(session: Session) -> list[tuple[Registration, Objection, Organisation | None]]:
    """Registered records currently marked 异议中, for the public list (REG-33)."""
    stmt = (select(Registration, Objection, Organisation)
            .join(Objection, Objection.registration_id == Registration.id)
            .join(Organisation, Organisation.id == Registration.subject_org_id)
            .where(Objection.state.in_(UNRESOLVED), Objection.phase == "registered")
            .order_by(Objection.created_at.desc()))
    return [(r, o, g) for r, o, g in session.execute(stmt)]
