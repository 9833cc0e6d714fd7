"""Evaluations of operation work (OPS-36): per agreement, led by the data authority (or a commissioned third
party it names); shown whenever the same operator is a candidate again."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor, record
from pubdata.errors import FieldError, ValidationFailed
from pubdata.identity.access import require
from pubdata.identity.permissions import Permission
from pubdata.operation.agreements import get_agreement
from pubdata.operation.common import text
from pubdata.operation.models import OperationEvaluation

GRADES = {"excellent": "优秀", "good": "良好", "pass": "合格", "fail": "不合格"}


def record_evaluation(session: Session, *, actor: Actor, agreement_id: int, period_start: dt.date | None,
                      period_end: dt.date | None, grade: str, comments: str, score: int | None = None,
                      evaluator: str = "") -> OperationEvaluation:
    require(actor, Permission.OPERATION_EVALUATE)
    a = get_agreement(session, agreement_id, actor)
    errors: list[FieldError] = []
    if grade not in GRADES:
        errors.append(FieldError("grade", "unknown_grade", "评价等次应为优秀、良好、合格或不合格。"))
    if score is not None and not 0 <= score <= 100:
        errors.append(FieldError("score", "out_of_range", "得分应在 0 至 100 之间。"))
    note = text(comments, "comments", "评价意见", errors)
    who = text(evaluator or actor.label, "evaluator", "评价单位", errors, limit=200)
    if period_start is None or period_end is None:
        errors.append(FieldError("period_start", "required", "请填写评价期。"))
    elif period_end < period_start:
        errors.append(FieldError("period_end", "period_reversed", "评价期止不能早于评价期起。"))
    elif period_end > clock.today():
        errors.append(FieldError("period_end", "period_in_future", "评价期尚未结束，不能评价。"))
    elif a.signed_on is None or period_end < a.start_date:
        errors.append(FieldError("period_end", "before_operation", "评价期应在协议签署、运营开始之后。"))
    if errors:
        raise ValidationFailed(errors)
    ev = OperationEvaluation(agreement_id=a.id, operator_org_id=a.operator_org_id, period_start=period_start,
                             period_end=period_end, grade=grade, score=score, comments=note, evaluator=who,
                             authority_org_id=actor.org_id, evaluated_by_user_id=actor.user_id)
    session.add(ev)
    session.flush()
    record(session, actor=actor, tag="operation:evaluation:recorded", object_type="operation_evaluation",
           object_id=ev.id, data={"agreement_id": a.id, "operator_org_id": a.operator_org_id, "grade": grade,
                                  "score": score, "period_start": period_start, "period_end": period_end})
    return ev


def for_operator(session: Session, org_id: int) -> list[OperationEvaluation]:
    """Earlier evaluations of an organisation's operation work, newest first (OPS-36: 再次选择的重要依据)."""
    return list(session.scalars(select(OperationEvaluation).where(OperationEvaluation.operator_org_id == org_id)
                                .order_by(OperationEvaluation.period_end.desc(), OperationEvaluation.id.desc())))


def for_agreement(session: Session, agreement_id: int) -> list[OperationEvaluation]:
    return list(session.scalars(select(OperationEvaluation).where(OperationEvaluation.agreement_id == agreement_id)
                                .order_by(OperationEvaluation.id.desc())))
