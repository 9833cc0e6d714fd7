"""Measures against registration institutions (REG-42) and evaluations of their service (REG-39).

Only a data authority records them, and only for institutions in its region (REG-41: a city authority for its
city). 取消资格 revokes the institution's role through ``identity.organisations.revoke_role`` in the same
transaction, so the institution can no longer accept or decide anything from the moment it is recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor, record
from pubdata.errors import Conflict, FieldError, NotFound, ValidationFailed
from pubdata.files.service import exists as file_exists
from pubdata.identity import organisations as orgs
from pubdata.identity.access import require
from pubdata.identity.permissions import Permission
from pubdata.identity.roles import Role
from pubdata.supervision.institutions import Institution, get_institution, institutions
from pubdata.supervision.models import Evaluation, Measure
from pubdata.supervision.scope import EVERYWHERE, authority_scope, oversight_scope, require_covers
from pubdata.supervision.workload import compute

MEASURE_KINDS = {"interview": "约谈", "onsite_guidance": "现场指导", "disqualification": "取消登记机构资格"}
#: REG-42 (一)–(五).
GROUNDS = {
    "false_registration": "开展虚假登记",
    "tampering": "擅自复制、篡改、损毁、伪造登记信息或电子凭证",
    "leaking": "私自泄露登记信息或利用登记信息进行不正当获利",
    "improper_performance": "履职不当或拒不履职",
    "other": "其他违反法律法规的情况",
}
GRADES = {"excellent": "优秀", "good": "良好", "pass": "合格", "fail": "不合格"}
MAX_TEXT = 4000


def _institution(session: Session, actor: Actor, org_id: int) -> Institution:
    inst = get_institution(session, org_id)
    if inst is None:
        raise NotFound("该单位不是（也从未是）登记机构。", code="institution_not_found")
    require_covers(authority_scope(session, actor), inst.region_code, f"登记机构“{inst.name}”")
    return inst


def _text(value: str, field: str, label: str, errors: list[FieldError]) -> str:
    text = (value or "").strip()
    if not text:
        errors.append(FieldError(field, "required", f"请填写{label}。"))
    elif len(text) > MAX_TEXT:
        errors.append(FieldError(field, "too_long", f"{label}不超过 {MAX_TEXT} 字。"))
    return text


def record_measure(
    session: Session,
    *,
    actor: Actor,
    institution_org_id: int,
    kind: str,
    grounds: Sequence[str],
    facts: str,
    measure_date: dt.date | None = None,
    rectification_due: dt.date | None = None,
    attachments: Sequence[str] = (),
) -> Measure:
    """约谈 / 现场指导 / 取消资格 (REG-42), with the article's grounds and the facts; all problems at once."""
    require(actor, Permission.SUPERVISE)
    inst = _institution(session, actor, institution_org_id)
    errors: list[FieldError] = []
    if kind not in MEASURE_KINDS:
        errors.append(FieldError("kind", "unknown_kind",
                                 "管理措施应为约谈、现场指导或取消登记机构资格（第四十二条）。"))
    if not grounds:
        errors.append(FieldError("grounds", "required", "请选择第四十二条所列的情形。"))
    for i, g in enumerate(grounds):
        if g not in GROUNDS:
            errors.append(FieldError(f"grounds.{i}", "unknown_ground", f"“{g}”不是第四十二条所列的情形。"))
    text = _text(facts, "facts", "事实与理由", errors)
    day = measure_date or clock.today()
    if rectification_due is not None and rectification_due < day:
        errors.append(FieldError("rectification_due", "before_measure", "整改期限不能早于措施实施日。"))
    for i, digest in enumerate(attachments):
        if not file_exists(session, digest, organisation_id=actor.org_id):
            errors.append(FieldError(f"attachments.{i}", "file_not_found", "附件未上传或不是本单位上传的文件。"))
    if errors:
        raise ValidationFailed(errors)
    revoked = False
    if kind == "disqualification":
        if not inst.active:
            raise Conflict(f"“{inst.name}”已不是登记机构。", code="already_disqualified")
        orgs.revoke_role(session, actor=actor, org_id=inst.org_id, role=Role.REGISTRATION_INSTITUTION,
                         reason=f"取消登记机构资格（第四十二条）：{text}")
        revoked = True
    measure = Measure(institution_org_id=inst.org_id, kind=kind, grounds=list(dict.fromkeys(grounds)), facts=text,
                      measure_date=day, rectification_due=rectification_due,
                      attachments=[d.strip().lower() for d in attachments], role_revoked=revoked,
                      authority_org_id=actor.org_id, decided_by_user_id=actor.user_id)
    session.add(measure)
    session.flush()
    data = {"institution_org_id": inst.org_id, "kind": kind, "grounds": measure.grounds, "facts": text,
            "measure_date": day, "rectification_due": rectification_due, "role_revoked": revoked}
    record(session, actor=actor, tag="supervision:measure:recorded", object_type="supervision_measure",
           object_id=measure.id, data=data)
    # The institution's own history shows the measure too.
    record(session, actor=actor, tag="supervision:institution:measure_taken", object_type="organisation",
           object_id=inst.org_id, data={"measure_id": measure.id, "kind": kind})
    return measure


def record_evaluation(
    session: Session,
    *,
    actor: Actor,
    institution_org_id: int,
    period_start: dt.date,
    period_end: dt.date,
    grade: str,
    comments: str,
    score: int | None = None,
) -> Evaluation:
    """An evaluation of an institution's service (REG-39), with the period's platform figures kept beside it."""
    require(actor, Permission.SUPERVISE)
    inst = _institution(session, actor, institution_org_id)
    errors: list[FieldError] = []
    if grade not in GRADES:
        errors.append(FieldError("grade", "unknown_grade", "评价等次应为优秀、良好、合格或不合格。"))
    if score is not None and not 0 <= score <= 100:
        errors.append(FieldError("score", "out_of_range", "得分应在 0 至 100 之间。"))
    text = _text(comments, "comments", "评价意见", errors)
    if period_end < period_start:
        errors.append(FieldError("period_end", "period_reversed", "评价期止不能早于评价期起。"))
    if period_end > clock.today():
        errors.append(FieldError("period_end", "period_in_future", "评价期尚未结束，不能评价。"))
    if errors:
        raise ValidationFailed(errors)
    loads = compute(session, start=period_start, end=period_end, scope=EVERYWHERE, institution_org_id=inst.org_id)
    metrics = loads[0].summary() if loads else {}
    ev = Evaluation(institution_org_id=inst.org_id, period_start=period_start, period_end=period_end, grade=grade,
                    score=score, comments=text, metrics=metrics, authority_org_id=actor.org_id,
                    evaluated_by_user_id=actor.user_id)
    session.add(ev)
    session.flush()
    record(session, actor=actor, tag="supervision:evaluation:recorded", object_type="institution_evaluation",
           object_id=ev.id, data={"institution_org_id": inst.org_id, "period_start": period_start,
                                  "period_end": period_end, "grade": grade, "score": score, "metrics": metrics})
    return ev


def _visible(session: Session, actor: Actor) -> set[int]:
    scope = oversight_scope(session, actor)
    return {i.org_id for i in institutions(session) if scope.covers(i.region_code)}


def list_measures(session: Session, *, actor: Actor, institution_org_id: int | None = None) -> list[Measure]:
    require(actor, Permission.SUPERVISE_READ)
    stmt = select(Measure).where(Measure.institution_org_id.in_(_visible(session, actor)))
    if institution_org_id is not None:
        stmt = stmt.where(Measure.institution_org_id == institution_org_id)
    return list(session.scalars(stmt.order_by(Measure.id.desc())))


def list_evaluations(session: Session, *, actor: Actor, institution_org_id: int | None = None) -> list[Evaluation]:
    require(actor, Permission.SUPERVISE_READ)
    stmt = select(Evaluation).where(Evaluation.institution_org_id.in_(_visible(session, actor)))
    if institution_org_id is not None:
        stmt = stmt.where(Evaluation.institution_org_id == institution_org_id)
    return list(session.scalars(stmt.order_by(Evaluation.id.desc())))
