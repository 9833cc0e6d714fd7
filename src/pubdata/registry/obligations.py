"""Subjects' registration obligations (REG-25): from declared events the platform computes when the first
registration or change application is due, and lists the overdue ones for the authority and institution."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import clock, rules
from pubdata.audit import Actor, record
from pubdata.calendar.service import get_calendar
from pubdata.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from pubdata.identity.access import require
from pubdata.identity.permissions import Permission
from pubdata.registry.form import parse_date
from pubdata.registry.models import Application, Obligation, Registration

#: event → (label, application kind it calls for, rule giving the working days)
EVENTS: dict[str, tuple[str, str, rules.Rule]] = {
    "operation_started": ("开展授权运营并提供数据资源", "first", rules.FIRST_REGISTRATION),
    "product_delivered": ("交付数据产品和服务", "first", rules.FIRST_REGISTRATION),
    "running_before_rules": ("细则施行前已开展授权运营（按施行日计算）", "first", rules.FIRST_REGISTRATION_TRANSITIONAL),
    "major_change": ("数据来源、资源情况、产品和服务、存证情况等重要更新或重大变化", "change", rules.CHANGE_MAJOR),
    "name_change_approved": ("登记主体名称等信息变更经有关部门核准", "change", rules.CHANGE_NAME),
}


def compute_due(session: Session, ob: Obligation) -> None:
    rule = EVENTS[ob.event][2]
    deadline = get_calendar(session).add_workdays(ob.event_date, rule.value)
    ob.due_date, ob.provisional = deadline.date, deadline.provisional


def declare_event(session: Session, *, actor: Actor, event: str, event_date: str | dt.date,
                  registration_id: int | None = None, description: str = "") -> Obligation:
    require(actor, Permission.DRAFT_WRITE)
    errors: list[FieldError] = []
    if event not in EVENTS:
        errors.append(FieldError("event", "unknown_event", "请选择申报事项。"))
    day = event_date if isinstance(event_date, dt.date) else parse_date(event_date)
    if day is None:
        errors.append(FieldError("event_date", "bad_date", "日期格式应为 YYYY-MM-DD。"))
    elif day > clock.today():
        errors.append(FieldError("event_date", "future_date", "事项发生日不能晚于今天。"))
    if event in EVENTS and EVENTS[event][1] == "change" and registration_id is None:
        errors.append(FieldError("registration_id", "required", "变更事项须指明所涉登记。"))
    if errors:
        raise ValidationFailed(errors)
    assert day is not None
    if registration_id is not None:
        reg = session.get(Registration, registration_id)
        if reg is None:
            raise NotFound("登记记录不存在。", code="registration_not_found")
        if reg.subject_org_id != actor.org_id:
            raise PermissionDenied("只能申报本单位登记的事项。", code="other_organisation")
    ob = Obligation(subject_org_id=actor.org_id, registration_id=registration_id, event=event, event_date=day,
                    description=description.strip(), required_kind=EVENTS[event][1], due_date=day)
    compute_due(session, ob)
    session.add(ob)
    session.flush()
    record(session, actor=actor, tag="registry:obligation:declared", object_type="registration_obligation",
           object_id=ob.id, data={"event": event, "event_date": day, "due_date": ob.due_date,
                                  "provisional": ob.provisional, "rule": EVENTS[event][2].article})
    return ob


def fulfil(session: Session, *, actor: Actor, app: Application) -> None:
    """A submitted application fulfils the oldest open obligation it answers."""
    stmt = select(Obligation).where(Obligation.status == "open", Obligation.required_kind == app.kind,
                                    Obligation.subject_org_id == app.registration.subject_org_id)
    if app.kind == "change":
        stmt = stmt.where(Obligation.registration_id == app.registration_id)
    ob = session.scalars(stmt.order_by(Obligation.due_date)).first()
    if ob is not None:
        ob.status, ob.fulfilled_by_id = "fulfilled", app.id
        record(session, actor=actor, tag="registry:obligation:fulfilled", object_type="registration_obligation",
               object_id=ob.id, data={"application": app.number, "late": clock.today() > ob.due_date})


def list_obligations(session: Session, *, actor: Actor, overdue_only: bool = False) -> list[Obligation]:
    """The institution, authority and regulators see every subject's; a subject sees its own."""
    stmt = select(Obligation).where(Obligation.status == "open")
    if not (actor.can(Permission.ORG_VERIFY.value) or actor.can(Permission.AUDIT_READ.value)):
        require(actor, Permission.DRAFT_WRITE)
        stmt = stmt.where(Obligation.subject_org_id == actor.org_id)
    if overdue_only:
        stmt = stmt.where(Obligation.due_date < clock.today())
    return list(session.scalars(stmt.order_by(Obligation.due_date)))
