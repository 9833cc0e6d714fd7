"""Read queries for the public portal: live counts, the searchable public notices (REG-28), announcements,
approved statistics (REG-40), ledger checkpoints, a signed-in user's objections, and the institution's published
business rules (REG-19(三)) assembled from the code's own rules, vocabularies and state machines.

Nothing here changes state; list queries return ordered ``Select`` statements for the caller to page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from pubdata import clock, rules
from pubdata.audit import Actor
from pubdata.audit.models import AuditEvent
from pubdata.audit.service import history
from pubdata.certificates.models import Announcement
from pubdata.errors import Conflict, FieldError, NotFound, ValidationFailed
from pubdata.identity.models import Organisation
from pubdata.identity.roles import ROLE_LABELS, Role
from pubdata.ledger.models import LedgerCheckpoint
from pubdata.objections import service as objections
from pubdata.objections.models import Objection
from pubdata.registry import notice_search, vocab
from pubdata.registry.models import Application, Certificate, PublicNotice, Registration
from pubdata.registry.requirements import DOCUMENT_LABELS, REQUIRED
from pubdata.registry.workflow import KIND_LABELS, Kind
from pubdata.supervision.models import StatisticRelease

#: Public notice status (``PublicNotice.status``) as the portal names it.
NOTICE_STATUS = {"open": "公示中", "ended": "已期满", "closed": "已终止"}
#: Only these application kinds go through a public notice (cancellation and renewal do not, REG-25/37).
NOTICE_KINDS = {k.value: KIND_LABELS[k] for k in (Kind.FIRST, Kind.CHANGE, Kind.CORRECTION)}
REGISTRATION_TYPES = vocab.items("registration_type")
CHECKPOINT_REASONS = {"events": "按事件数", "interval": "按时间间隔", "demand": "按需签发", "export": "归档导出前"}
OBJECTION_PHASES = {"notice": "公示期内（第三十二条）", "registered": "登记后（第三十三条）"}
#: What each step of an objection's audit history means to the objector.
OBJECTION_EVENTS = {
    "objections:objection:raised": "提出异议，登记机构已收到",
    "objections:objection:appraised": "登记机构记录技术鉴定结果",
    "objections:objection:referred": "转由双方协商、仲裁或诉讼解决",
    "objections:objection:upheld": "登记机构认定异议成立",
    "objections:objection:dismissed": "登记机构认定异议不成立",
    "objections:objection:withdrawn": "异议人撤回异议",
}


def choice(value: str | None, allowed: dict[str, str], field: str) -> str | None:
    """A filter value from a query string: empty means "all"; anything not offered is a field error."""
    if value is None or not value.strip():
        return None
    if value not in allowed:
        raise ValidationFailed([FieldError(field, "unknown_choice", f"筛选条件“{value[:20]}”不在可选范围内。")],
                               detail="查询条件有误，请返回列表重新选择。")
    return value


# -- home ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PortalCounts:
    registered: int
    valid_certificates: int
    in_notice: int
    verified_organisations: int


def portal_counts(session: Session, *, today: dt.date | None = None) -> PortalCounts:
    """The home page's live figures, counted from the records (nothing cached)."""
    day = today or clock.today()

    def count(stmt: Select[Any]) -> int:
        return int(session.scalar(stmt) or 0)

    return PortalCounts(
        registered=count(select(func.count()).select_from(Registration).where(Registration.status == "registered")),
        valid_certificates=count(select(func.count()).select_from(Certificate).where(
            Certificate.status == "valid", Certificate.valid_until >= day)),
        in_notice=count(select(func.count()).select_from(PublicNotice).where(PublicNotice.status == "open")),
        verified_organisations=count(select(func.count()).select_from(Organisation).where(
            Organisation.verification_status == "verified")),
    )


# -- public notices (REG-28) --------------------------------------------------------------------------------


def notices_query(session: Session, *, q: str | None = None, registration_type: str | None = None,
                  kind: str | None = None, status: str | None = None) -> tuple[Select[Any], Select[Any]]:
    """(public notices with their registration code, newest first; the same notices' ids, for counting without
    the join). ``q`` matches the data or subject name (every keyword) or a registration code."""
    conditions = []
    if q and q.strip() and (found := notice_search.matching(session, q)) is not None:
        conditions.append(found)
    if registration_type:
        conditions.append(PublicNotice.registration_type == registration_type)
    if kind:
        conditions.append(PublicNotice.application_kind == kind)
    if status:
        conditions.append(PublicNotice.status == status)
    rows = (select(PublicNotice, Registration.code).join(Registration, Registration.id == PublicNotice.registration_id)
            .where(*conditions).order_by(PublicNotice.start_date.desc(), PublicNotice.id.desc()))
    return rows, select(PublicNotice.id).where(*conditions)


@dataclass(frozen=True)
class NoticeView:
    notice: PublicNotice
    registration: Registration
    #: Working days after today up to the last day of the notice (None once the notice is over).
    workdays_left: int | None
    #: The notice's end date falls in a year whose official arrangement is not loaded yet.
    provisional: bool
    under_objection: bool
    certificate_number: str | None
    #: "notice" / "registered" when an objection may be raised now (REG-31), else None.
    objection_phase: str | None

    @property
    def status_label(self) -> str:
        return NOTICE_STATUS.get(self.notice.status, self.notice.status)

    @property
    def type_label(self) -> str:
        return REGISTRATION_TYPES.get(self.notice.registration_type, self.notice.registration_type)

    @property
    def kind_label(self) -> str:
        return NOTICE_KINDS.get(self.notice.application_kind, self.notice.application_kind)


def objection_phase(session: Session, reg: Registration) -> str | None:
    """REG-31: information in public notice or already registered may be objected to (as the service decides)."""
    in_notice = session.scalar(select(Application.id).where(Application.registration_id == reg.id,
                                                            Application.state == "in_notice").limit(1))
    if in_notice is not None:
        return "notice"
    return "registered" if reg.status == "registered" else None


def notice_view(session: Session, *, notice_id: int, today: dt.date | None = None) -> NoticeView:
    from pubdata.calendar.service import get_calendar

    pn = session.get(PublicNotice, notice_id)
    if pn is None:
        raise NotFound("该公示不存在。", code="notice_not_found")
    reg = session.get(Registration, pn.registration_id)
    assert reg is not None
    day = today or clock.today()
    left = None
    provisional = False
    if pn.status == "open":
        cal = get_calendar(session)
        left = max(0, cal.workdays_between(day, pn.end_date))
        provisional = not cal.is_official(pn.end_date.year)
    cert = session.scalar(select(Certificate.number).where(Certificate.application_id == pn.application_id)
                          .order_by(Certificate.id.desc()).limit(1))
    under = objections.unresolved(session, application_id=pn.application_id) is not None
    return NoticeView(pn, reg, left, provisional, under, cert, objection_phase(session, reg))


# -- objections (REG-31..33) --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectionTarget:
    registration: Registration
    subject_name: str
    phase: str


def objection_target(session: Session, *, registration_id: int) -> ObjectionTarget:
    """What an objection form is about; refuses, as the service would, what cannot be objected to."""
    reg = session.get(Registration, registration_id)
    if reg is None:
        raise NotFound("登记记录不存在。", code="registration_not_found")
    phase = objection_phase(session, reg)
    if phase is None:
        raise Conflict("只能对公示中或已登记的信息提出异议（第三十一条）。", code="not_objectionable")
    subject = session.get(Organisation, reg.subject_org_id)
    return ObjectionTarget(reg, subject.name if subject else "", phase)


def objection_target_of(session: Session, *, objection: Objection) -> ObjectionTarget:
    """What an existing objection is about (whatever has become of the registration since)."""
    reg = session.get(Registration, objection.registration_id)
    assert reg is not None
    subject = session.get(Organisation, reg.subject_org_id)
    return ObjectionTarget(reg, subject.name if subject else "", objection.phase)


def objector_label(session: Session, *, objection: Objection) -> str:
    """Under whose real name the objection was raised; a person's identity number masked (REG-31)."""
    if objection.person_name and objection.person_id_number:
        number = objection.person_id_number
        return f"自然人 {objection.person_name}（身份证号 {number[:6]}********{number[-4:]}）"
    org = session.get(Organisation, objection.objector_org_id) if objection.objector_org_id else None
    return f"单位 {org.name}" if org else "—"


def my_objections_query(*, actor: Actor) -> Select[Any]:
    """The objections this user raised, newest first, with the registration they concern."""
    return (select(Objection, Registration)
            .join(Registration, Registration.id == Objection.registration_id)
            .where(Objection.objector_user_id == actor.user_id)
            .order_by(Objection.id.desc()))


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    label: str
    details: list[str]


def _event_details(event: AuditEvent) -> list[str]:
    data = event.data or {}
    details = []
    if event.tag.endswith(":appraised"):
        details.append(f"鉴定机构：{data.get('appraiser', '')}；结论：{data.get('conclusion', '')}")
    if event.tag.endswith(":referred"):
        details.append(f"途径：{objections.VENUES.get(str(data.get('venue')), '')}"
                       + (f"；说明：{data['note']}" if data.get("note") else ""))
    if data.get("reasons"):
        details.append(f"理由：{data['reasons']}")
    return details


def objection_timeline(session: Session, *, objection: Objection) -> list[TimelineEntry]:
    """The objection's audit history in the objector's words (REG-32/33: both sides are told every step)."""
    return [TimelineEntry(e.occurred_at, OBJECTION_EVENTS.get(e.tag, e.tag), _event_details(e))
            for e in history(session, object_type="objection", object_id=objection.id)]


# -- announcements, statistics, ledger ----------------------------------------------------------------------


def announcements_query(*, kind: str | None = None) -> Select[Any]:
    stmt = select(Announcement).order_by(Announcement.published_on.desc(), Announcement.id.desc())
    return stmt.where(Announcement.kind == kind) if kind else stmt


def latest_certificate_numbers(session: Session, *, registration_ids: Sequence[int]) -> dict[int, str]:
    """Each registration's latest certificate number, for announcements that name only the registration."""
    if not registration_ids:
        return {}
    stmt = (select(Certificate.registration_id, Certificate.number)
            .where(Certificate.registration_id.in_(set(registration_ids)), Certificate.number.is_not(None))
            .order_by(Certificate.id))
    return {reg_id: number for reg_id, number in session.execute(stmt)}


def approved_releases_query() -> Select[Any]:
    """REG-40: only releases the data authority agreed to disclose."""
    return (select(StatisticRelease).where(StatisticRelease.state == "approved")
            .order_by(StatisticRelease.decided_at.desc(), StatisticRelease.id.desc()))


def checkpoints_query() -> Select[Any]:
    return select(LedgerCheckpoint).order_by(LedgerCheckpoint.id.desc())


# -- the institution's business rules (REG-19(三)) ---------------------------------------------------------

#: REG-19(三): the institution's rules take effect once the data authority agrees; the fee rule is the
#: institution's own (the registration rules set no fee). Change these here, not in a template.
FEES = ("登记机构办理公共数据资源登记（首次、变更、更正、注销、续展）、提供登记结果查询与电子凭证核验、"
        "受理异议，均不收取费用。")


@dataclass(frozen=True)
class Step:
    name: str
    article: str
    text: str
    limits: tuple[rules.Rule, ...] = ()


def procedure() -> list[Step]:
    """REG-23: 申请、受理、审查、公示、凭证发放, with the statutory limits from ``pubdata.rules``."""
    return [
        Step("申请", "REG-25",
             "登记主体在平台填写登记申请表、上传申请材料并提交；可以自行申请，也可以委托代理机构申请；"
             "涉及多个主体的，可以共同申请。",
             (rules.FIRST_REGISTRATION, rules.FIRST_REGISTRATION_TRANSITIONAL, rules.CHANGE_MAJOR,
              rules.CHANGE_NAME)),
        Step("受理", "REG-26",
             "材料不齐全或不符合规定的，一次性告知须补正的全部内容，"
             "补正后重新提交之日起重新计算受理期限；不予受理的说明理由。",
             (rules.ACCEPTANCE,)),
        Step("审查", "REG-27",
             "对登记材料进行审查；审查未通过的说明原因。注销登记自受理之日起限期完成。",
             (rules.REVIEW, rules.CANCELLATION_COMPLETE)),
        Step("公示", "REG-28",
             "审查通过的，在平台公示登记主体名称、登记类型、登记数据名称和数据内容简介；"
             "公示期内任何人可实名提出异议。",
             (rules.PUBLIC_NOTICE,)),
        Step("凭证发放", "REG-29",
             "公示期满无异议的，按国家统一规范发放电子凭证（一证一码）；期满前可申请续展。",
             (rules.CERTIFICATE_VALIDITY, rules.RENEWAL_WINDOW, rules.RENEWAL_MAX)),
    ]


@dataclass(frozen=True)
class Materials:
    kind: str
    documents: tuple[str, ...]


def materials() -> list[Materials]:
    """REG-25: the documents each application type needs, from ``registry.requirements``."""
    return [Materials(KIND_LABELS[k], tuple(DOCUMENT_LABELS[d] for d in REQUIRED[k])) for k in Kind]


def applicants() -> list[tuple[str, str]]:
    """Who may apply, as (role, condition)."""
    attorney = DOCUMENT_LABELS["power_of_attorney"]
    return [
        (ROLE_LABELS[Role.REGISTRATION_SUBJECT],
         "直接持有或管理公共数据资源的法人或非法人组织，"
         "以及依法对授权范围内公共数据资源进行开发运营的运营机构（第三条、第五条）。"),
        (ROLE_LABELS[Role.AGENT], f"受登记主体委托代为申请，须上传“{attorney}”（第八条、第二十五条）。"),
        ("共同申请", "涉及多个主体的，可以共同提出申请，或协商一致后由单独主体提出（第二十五条）。"),
    ]


def claim_labels() -> dict[str, str]:
    return dict(objections.CLAIMS)


def objection_states() -> list[str]:
    return [objections.MACHINE.labels[s] for s in ("open", "referred", "upheld", "dismissed", "withdrawn")]
