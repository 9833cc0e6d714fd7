"""The registration institution's workbench, apart from page code: queues with working-day countdowns, the
application shown section by section, the REG-25 materials checklist, duplicate warnings, standard reasons
for decisions and the one-time supplement notice (REG-25..33).

Everything here reads through the existing services (``queues``, ``applications``, ``duplicates``,
``objections.service``); the only state changes are ``decide``/``send_supplement`` and they call the
procedure's own service functions, which check permissions, move the state machine and write the audit event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor
from pubdata.calendar.service import get_calendar
from pubdata.errors import FieldError, NotFound, ValidationFailed
from pubdata.files.models import StoredFile
from pubdata.files.service import get_file_meta
from pubdata.identity.access import require
from pubdata.identity.models import Organisation
from pubdata.identity.permissions import Permission
from pubdata.objections import service as objections
from pubdata.objections.models import Objection
from pubdata.registry import applications, duplicates, vocab, wording
from pubdata.registry.deadlines import current_due
from pubdata.registry.form import CO_OWNER_FIELDS, FIELDS, Field, attachment_digests
from pubdata.registry.models import Application, Registration
from pubdata.registry.queues import institution_queue
from pubdata.registry.requirements import DOCUMENT_LABELS, REQUIRED
from pubdata.registry.workflow import INSTITUTION_ACTIONS, KIND_LABELS, MACHINES, Kind

# -- countdowns ---------------------------------------------------------------------------------------------

#: The deadline field the institution works against in each state (for the "暂定" flag).
DUE_FIELD = {"submitted": "acceptance_due", "under_review": "review_due", "in_notice": "notice_end"}


@dataclass(frozen=True)
class Countdown:
    """Working days between today and a due date (start day not counted, official calendar)."""

    due: dt.date | None
    #: Working days left (``late`` False) or working days past the due date (``late`` True).
    days: int = 0
    late: bool = False
    provisional: bool = False
    #: The date ends a period (public notice) rather than a duty of the institution: "期满", not "逾期".
    ends_period: bool = False

    @property
    def text(self) -> str:
        if self.due is None:
            return "无法定期限"
        if self.late:
            word = "已期满" if self.ends_period else "逾期"
            return f"{word} {self.days} 个工作日" if self.days else ("已期满" if self.ends_period else "已逾期")
        if self.days == 0:
            return "今日期满" if self.ends_period else "今日到期"
        return f"剩 {self.days} 个工作日"

    @property
    def tone(self) -> str:
        """CSS modifier: ok (2+ left), soon (1 left), today, late (overdue), ended (notice over), none."""
        if self.due is None:
            return "none"
        if self.late:
            return "ended" if self.ends_period else "late"
        if self.days == 0:
            return "today"
        return "soon" if self.days == 1 else "ok"


def countdown(session: Session, due: dt.date | None, *, provisional: bool = False, ends_period: bool = False,
              today: dt.date | None = None) -> Countdown:
    if due is None:
        return Countdown(None)
    day = today or clock.today()
    cal = get_calendar(session)
    if due >= day:
        return Countdown(due, cal.workdays_between(day, due), False, provisional, ends_period)
    return Countdown(due, cal.workdays_between(due, day), True, provisional, ends_period)


def application_countdown(session: Session, app: Application, *, today: dt.date | None = None) -> Countdown:
    """The institution's current deadline for ``app``: acceptance, review (or cancellation), notice end."""
    return countdown(session, current_due(app), provisional=DUE_FIELD.get(app.state) in (app.provisional_dates or []),
                     ends_period=app.state == "in_notice", today=today)


# -- queues -------------------------------------------------------------------------------------------------

TABS: dict[str, str] = {
    "accept": "待受理", "review": "审查中", "notice": "公示中", "objections": "异议", "renewals": "续展",
    "overdue": "已逾期",
}
#: What each application tab holds; objections are listed separately.
_TAB_TEST: dict[str, Callable[[Application, bool], bool]] = {
    "accept": lambda a, late: a.state == "submitted",
    "review": lambda a, late: a.state == "under_review",
    "notice": lambda a, late: a.state == "in_notice",
    "renewals": lambda a, late: a.kind == Kind.RENEWAL,
    "overdue": lambda a, late: late,
}


@dataclass(frozen=True)
class Filters:
    """The queue's GET filters, cleaned: unknown codes are ignored rather than refused."""

    kind: str = ""
    registration_type: str = ""
    q: str = ""

    @classmethod
    def of(cls, kind: str | None, registration_type: str | None, q: str | None) -> Filters:
        return cls(kind if kind in KIND_LABELS else "",
                   registration_type if registration_type in vocab.items("registration_type") else "",
                   (q or "").strip()[:100])

    def matches(self, reg: Registration, subject: Organisation | None, *texts: str | None) -> bool:
        if self.registration_type and reg.registration_type != self.registration_type:
            return False
        if not self.q:
            return True
        needle = self.q.casefold()
        haystack = [reg.code, reg.data_name, subject.name if subject else None, *texts]
        return any(needle in t.casefold() for t in haystack if t)


@dataclass(frozen=True)
class QueueRow:
    app: Application
    subject: Organisation | None
    countdown: Countdown
    overdue: bool


@dataclass(frozen=True)
class ObjectionRow:
    objection: Objection
    registration: Registration
    subject: Organisation | None
    countdown: Countdown


def _orgs(session: Session, ids: set[int]) -> dict[int, Organisation]:
    if not ids:
        return {}
    return {o.id: o for o in session.scalars(select(Organisation).where(Organisation.id.in_(ids)))}


def application_rows(session: Session, *, actor: Actor, filters: Filters) -> dict[str, list[QueueRow]]:
    """Every application tab, each soonest due first (``queues.institution_queue`` order), filtered."""
    queue = institution_queue(session, actor=actor)
    subjects = _orgs(session, {a.registration.subject_org_id for a, _ in queue})
    today = clock.today()
    rows = [QueueRow(a, subjects.get(a.registration.subject_org_id), application_countdown(session, a, today=today),
                     late)
            for a, late in queue
            if (not filters.kind or a.kind == filters.kind)
            and filters.matches(a.registration, subjects.get(a.registration.subject_org_id), a.number)]
    return {tab: [r for r in rows if test(r.app, r.overdue)] for tab, test in _TAB_TEST.items()}


def objection_rows(session: Session, *, actor: Actor, filters: Filters,
                   states: Sequence[str] = objections.UNRESOLVED) -> list[ObjectionRow]:
    """Objections, soonest due first. During public notice the institution decides before the notice ends
    (REG-32: 及时作出是否登记的决定); after registration the rules set no deadline, so those come last."""
    require(actor, Permission.ORG_VERIFY)
    objs = list(session.scalars(select(Objection).where(Objection.state.in_(list(states)))))
    regs = {r.id: r for r in session.scalars(select(Registration).where(
        Registration.id.in_({o.registration_id for o in objs})))} if objs else {}
    apps = {a.id: a for a in session.scalars(select(Application).where(
        Application.id.in_({o.application_id for o in objs if o.application_id})))} if objs else {}
    subjects = _orgs(session, {r.subject_org_id for r in regs.values()})
    today = clock.today()
    rows = []
    for o in objs:
        reg = regs[o.registration_id]
        app = apps.get(o.application_id or 0)
        due = app.notice_end if app is not None and o.phase == "notice" and o.state in objections.UNRESOLVED else None
        provisional = app is not None and "notice_end" in (app.provisional_dates or [])
        if filters.matches(reg, subjects.get(reg.subject_org_id), o.grounds):
            rows.append(ObjectionRow(o, reg, subjects.get(reg.subject_org_id),
                                     countdown(session, due, provisional=provisional, today=today)))
    far = dt.date.max
    return sorted(rows, key=lambda r: (r.countdown.due or far, r.objection.id))


# -- the application, readably ------------------------------------------------------------------------------

#: Form sections in the order of the rules (REG-7..15); the type sections show only for their type.
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("basic", "数据基本信息", "第七条"),
    ("resource", "数据资源信息", "第七条第二款"),
    ("product", "数据产品和服务信息", "第七条第三款"),
    ("open_data", "开放数据资源信息", "国家登记平台"),
    ("agency", "委托代理信息", "第八条"),
    ("storage", "数据存储信息", "第九条"),
    ("scenario", "数据应用场景说明", "第十条"),
    ("sharing", "数据共享开放信息", "第十一条"),
    ("co_ownership", "共有数据信息", "第十二条"),
    ("legality", "数据合法合规来源及承诺", "第十三条"),
    ("catalog", "数据目录信息", "第十四条"),
    ("additional", "附加信息", "第十五条"),
)
_TYPE_SECTION = {"resource": "data_resource", "product": "data_product", "open_data": "open_data"}


@dataclass(frozen=True)
class Shown:
    """One form value ready for the page: ``kind`` is text | long | files | tags | empty."""

    label: str
    kind: str
    value: Any = None
    path: str = ""


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    article: str
    rows: list[Shown]
    co_owners: list[list[Shown]]


def _get(content: Mapping[str, Any], path: str) -> Any:
    node: Any = content
    for part in path.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def show_value(f: Field, value: Any, path: str = "") -> Shown:
    """A form value in words: vocabulary labels, 是/否, region and industry names, digests kept as files."""
    path = path or f.path
    if value is None or value == "" or value == [] or value == {}:
        return Shown(f.label, "empty", None, path)
    kind = f.kind
    if kind in {"file", "files"}:
        return Shown(f.label, "files", list(value) if isinstance(value, list) else [value], path)
    if isinstance(value, list):
        return Shown(f.label, "tags", wording.words(kind, value), path)
    return Shown(f.label, "long" if kind == "long_text" else "text", wording.text(kind, value), path)


def applicable_sections(registration_type: str) -> list[tuple[str, str, str]]:
    return [s for s in SECTIONS if _TYPE_SECTION.get(s[0], registration_type) == registration_type]


def content_sections(content: Mapping[str, Any], registration_type: str) -> list[Section]:
    """The form grouped by the rules' sections; optional fields left empty are not listed."""
    sections = []
    for key, title, article in applicable_sections(registration_type):
        rows = [show_value(f, _get(content, f.path)) for f in FIELDS if f.path.split(".")[0] == key]
        rows = [r for r in rows if r.kind != "empty" or _is_required(r.path, content)]
        owners: list[list[Shown]] = []
        if key == "co_ownership" and isinstance(raw := _get(content, "co_ownership.co_owners"), list):
            owners = [[show_value(f, o.get(f.path) if isinstance(o, Mapping) else None,
                                  f"co_ownership.co_owners.{i}.{f.path}") for f in CO_OWNER_FIELDS]
                      for i, o in enumerate(raw)]
        sections.append(Section(key, title, article, rows, owners))
    return sections


def _is_required(path: str, content: Mapping[str, Any]) -> bool:
    return any(f.path == path and f.required(content) for f in FIELDS)


def field_label(path: str) -> str:
    for f in FIELDS:
        if f.path == path:
            return f.label
    if path.startswith("documents."):
        return DOCUMENT_LABELS.get(path.split(".", 1)[1], path)
    return path


# -- materials (REG-25) -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Material:
    key: str
    label: str
    required: bool
    digest: str | None
    file: StoredFile | None

    @property
    def status(self) -> str:
        """present | missing (not given) | absent (given, but no such file on record)."""
        if not self.digest:
            return "missing"
        return "present" if self.file is not None else "absent"


def needed_documents(app: Application) -> list[str]:
    """REG-25: what this kind of application must carry; agents also a power of attorney."""
    needed = list(REQUIRED[Kind(app.kind)])
    agent = app.filed_by_org_id != app.registration.subject_org_id or \
        (app.content.get("agency") or {}).get("is_agent") is True
    if agent:
        needed.append("power_of_attorney")
    return needed


def file_meta(session: Session, actor: Actor, digest: str | None) -> StoredFile | None:
    """The upload on record for a digest (name, size), or None when there is none the actor may read."""
    if not isinstance(digest, str) or not digest:
        return None
    try:
        return get_file_meta(session, actor=actor, digest=digest)
    except (NotFound, ValidationFailed):
        return None


def materials(session: Session, *, actor: Actor, app: Application) -> list[Material]:
    """The REG-25 documents (required first, then any others given), each present or missing."""
    needed = needed_documents(app)
    docs = app.documents or {}
    keys = needed + [k for k in docs if k not in needed]
    return [Material(k, DOCUMENT_LABELS.get(k, k), k in needed, docs.get(k) or None,
                     file_meta(session, actor, docs.get(k))) for k in keys]


def form_attachments(session: Session, *, actor: Actor, app: Application) -> list[Material]:
    """Files the form itself carries (security assessment, evidence proof, agency agreement, …)."""
    out = []
    for path, digest in attachment_digests(app.content):
        base = path.rsplit(".", 1)[0] if path.rsplit(".", 1)[-1].isdigit() else path
        label = field_label(base) if not base.startswith("co_ownership") else "共有主体授权书"
        out.append(Material(path, label, True, digest, file_meta(session, actor, digest)))
    return out


# -- duplicates (REG-30(一)) --------------------------------------------------------------------------------


def duplicate_warnings(session: Session, app: Application) -> list[dict[str, Any]]:
    """The flags stored at submission and a fresh look now (a clash may have appeared since)."""
    if app.kind not in {Kind.FIRST, Kind.CHANGE, Kind.CORRECTION}:
        return []
    warnings: list[dict[str, Any]] = []
    try:
        duplicates.refuse_exact(session, app)
    except ValidationFailed as exc:
        warnings.append({"kind": "exact", "message": exc.errors[0].message if exc.errors else exc.detail})
    seen = set()
    for flag in [*(app.flags or []), *duplicates.near(session, app)]:
        code = flag.get("registration_code")
        if code in seen:
            continue
        seen.add(code)
        warnings.append({"kind": flag.get("kind", "near_duplicate"), **flag})
    return warnings


# -- reason templates ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReasonTemplate:
    key: str
    title: str
    text: str
    #: For 不予登记: the REG-30 ground this reason belongs to.
    ground: str = ""


_T = ReasonTemplate
REASON_TEMPLATES: dict[str, tuple[ReasonTemplate, ...]] = {
    # REG-26: 不予受理的，应当向登记主体及时说明理由
    "not_accept": (
        _T("out_of_scope", "不属于登记范围",
           "申请登记的数据不属于本省公共数据资源登记范围（《实施细则》第二条、第三条第一项、第五条）。"),
        _T("not_subject", "不具备登记主体资格",
           "申请单位不直接持有或管理该公共数据资源，也未获授权对其开发运营，不具备登记主体资格（第三条第三项）。"),
        _T("wrong_institution", "不属于本机构受理",
           "该申请应按行政层级和属地原则向相应登记机构提出，不属于本登记机构受理范围（第十九条第二项）。"),
        _T("no_attorney", "代理申请未出具授权委托书",
           "以委托代理方式申请，未出具登记主体的授权委托书（第八条、第二十五条）。"),
        _T("supplement_unmet", "一次性告知补正后仍不符合规定",
           "已一次性告知补正，重新提交的材料仍不齐全或不符合规定（第二十六条）。"),
    ),
    # REG-27: 审查未通过的，应当向登记主体说明原因
    "fail": (
        _T("untrue", "材料不真实、不完整",
           "登记材料不真实、不完整或相互矛盾，不符合如实准确提供登记材料的要求（第二十条第二项）。"),
        _T("no_evidence", "未按规定存证",
           "申请前未对数据进行存证，或存证证明不能证明来源可查、加工可控（第二十条第三项、第九条）。"),
        _T("source_unproven", "合法来源证明不足",
           "依法获取数据的证明材料不足以证明数据来源合法、内容合规（第十三条、第二十条第四项）。"),
        _T("assessment", "安全风险评估报告不符合要求",
           "未提交数据安全风险评估报告，或报告未覆盖所登记数据（第七条、第二十五条第一项）。"),
        _T("inconsistent", "登记内容与证明材料不一致",
           "申请表填报的数据内容与存证及证明材料所述范围不一致（第九条、第二十条第二项）。"),
        _T("classification", "数据分类分级不当",
           "数据分类分级与数据内容不符，请按 GB/T 43697-2024 重新确定（第七条）。"),
    ),
    # REG-30: 不予登记情形
    "refuse": (
        _T("duplicate", "重复登记",
           "经核查，该数据已登记或正在办理登记，属于重复登记（第三十条第一项）。", "duplicate"),
        _T("fraud", "隐瞒事实或弄虚作假",
           "经核查，登记主体隐瞒事实或提供虚假登记材料（第三十条第二项）。", "fraud"),
        _T("ownership", "存在数据权属争议",
           "所登记数据存在权属争议，争议解决前不予登记（第三十条第三项）。", "ownership_dispute"),
        _T("other_legal", "法律法规规定的其他情形",
           "依据法律法规的规定，该数据不予办理登记（第三十条第四项）。", "other_legal"),
    ),
    # REG-32/33: 结合技术鉴定结果作出决定，书面通知异议双方
    "uphold": (
        _T("evidence_supports", "证明材料与鉴定结果支持异议",
           "异议人提供的证明材料与技术鉴定结果相互印证，异议事实成立（第三十二条、第三十三条）。"),
        _T("outcome", "依协商、仲裁或判决结果",
           "依据双方协商结果（或仲裁裁决、人民法院生效裁判），异议事实成立（第三十三条）。"),
    ),
    "dismiss": (
        _T("no_evidence", "异议缺乏证明",
           "异议人未能提供足以证明异议事实的材料，技术鉴定结果亦不支持异议（第三十一条、第三十二条）。"),
        _T("registration_correct", "登记信息与事实相符",
           "经核查，登记信息与登记主体提供的证明材料及技术鉴定结果相符，异议事实不成立（第三十二条、第三十三条）。"),
        _T("outcome", "依协商、仲裁或判决结果",
           "依据双方协商结果（或仲裁裁决、人民法院生效裁判），异议事实不成立（第三十三条）。"),
    ),
}


def reason_template(decision: str, key: str) -> ReasonTemplate:
    for t in REASON_TEMPLATES.get(decision, ()):
        if t.key == key:
            return t
    raise ValidationFailed.single("template", "unknown_template", "请选择列表中的标准理由。")


def with_template(decision: str, key: str, reasons: str) -> str:
    """The reasons with the chosen standard reason appended (once), for editing or sending."""
    text = (reasons or "").strip()
    if not key:
        return text
    template = reason_template(decision, key).text
    if template in text:
        return text
    return f"{text}\n{template}" if text else template


# -- decisions ----------------------------------------------------------------------------------------------

DECISIONS: dict[str, Callable[..., Application]] = {
    "accept": applications.accept,
    "not_accept": applications.not_accept,
    "pass": applications.pass_review,
    "fail": applications.fail_review,
    "refuse": applications.refuse,
    "complete": applications.complete_cancellation,
}
NEEDS_REASONS = frozenset({"not_accept", "fail", "refuse"})


def institution_actions(app: Application) -> list[str]:
    """The institution's decisions the application's state allows now (the state machine decides)."""
    return [a for a in MACHINES[Kind(app.kind)].allowed_actions(app.state) if a in INSTITUTION_ACTIONS]


def decide(session: Session, *, actor: Actor, application_id: int, action: str, version: int | None = None,
           reasons: str = "", template: str = "", ground: str = "") -> Application:
    """One decision through its service function; a chosen standard reason is appended to the reasons, and
    a refusal's ground defaults to the ground of the chosen reason."""
    service = DECISIONS.get(action)
    if service is None:
        raise ValidationFailed.single("action", "unknown_action", "未知的决定。")
    kwargs: dict[str, Any] = {"actor": actor, "application_id": application_id, "version": version}
    if action in NEEDS_REASONS:
        kwargs["reasons"] = with_template(action, template, reasons)
    if action == "refuse":
        kwargs["ground"] = ground or (reason_template(action, template).ground if template else "")
    return service(session, **kwargs)


# -- the one-time supplement notice (REG-26) ----------------------------------------------------------------

SUPPLEMENT_DEFECTS: dict[str, str] = {
    "missing": "未提交", "unclear": "不清晰或无法辨认", "expired": "已过有效期", "unsigned": "缺少签字或盖章",
    "inconsistent": "与申请表填报内容不一致", "nonconforming": "不符合规定的格式或要求",
}
EXTRA_ROWS = 3


@dataclass(frozen=True)
class Candidate:
    """Something the notice may list: a REG-25 document or a field of the form."""

    key: str
    label: str
    group: str


#: REG-25 documents a kind of application may carry besides the required ones ("其他必要材料" for every kind).
OPTIONAL_DOCUMENTS: dict[Kind, tuple[str, ...]] = {
    Kind.FIRST: ("other",),
    Kind.CHANGE: ("previous_identity_proof", "other"),
    Kind.CORRECTION: ("error_proof", "consent", "other"),
    Kind.CANCELLATION: ("other",),
    Kind.RENEWAL: ("other",),
}


def supplement_candidates(app: Application) -> list[Candidate]:
    """The documents this kind of application carries (REG-25), then the form's fields by section."""
    needed = needed_documents(app)
    extra = [*OPTIONAL_DOCUMENTS[Kind(app.kind)], *(app.documents or {})]
    docs = needed + [k for k in dict.fromkeys(extra) if k not in needed and k in DOCUMENT_LABELS]
    out = [Candidate(f"documents.{k}", DOCUMENT_LABELS[k], "申请材料（第二十五条）") for k in docs]
    if app.kind != Kind.CANCELLATION:
        for key, title, _ in applicable_sections(app.registration.registration_type):
            out += [Candidate(f.path, f.label, title) for f in FIELDS if f.path.split(".")[0] == key]
    return out


def supplement_groups(app: Application) -> list[tuple[str, list[Candidate]]]:
    """The candidates by group, documents first and the form in the order of the rules."""
    groups: dict[str, list[Candidate]] = {}
    for c in supplement_candidates(app):
        groups.setdefault(c.group, []).append(c)
    return list(groups.items())


@dataclass(frozen=True)
class SupplementDraft:
    """What the clerk ticked and wrote; kept as typed so the form can be shown again."""

    picks: tuple[str, ...] = ()
    defects: Mapping[str, str] | None = None
    notes: Mapping[str, str] | None = None
    extras: tuple[tuple[str, str], ...] = ()


def supplement_items(app: Application, draft: SupplementDraft) -> list[dict[str, str]]:
    """The notice's items, each with what is wrong; every problem reported at once (field ``supplement.<key>``)."""
    known = {c.key: c for c in supplement_candidates(app)}
    defects, notes = draft.defects or {}, draft.notes or {}
    items: list[dict[str, str]] = []
    errors: list[FieldError] = []
    for key in dict.fromkeys(draft.picks):
        if key not in known:
            errors.append(FieldError(f"supplement.{key}", "unknown_item", "未知的材料或事项。"))
            continue
        defect = SUPPLEMENT_DEFECTS.get(defects.get(key, ""), "")
        note = (notes.get(key) or "").strip()
        if not defect and not note:
            errors.append(FieldError(f"supplement.{key}", "reason_required",
                                     f"请写明“{known[key].label}”须如何补正。"))
            continue
        items.append({"field": key, "item": known[key].label,
                      "reason": "：".join(p for p in (defect, note) if p)[:1000]})
    for n, (item, note) in enumerate(draft.extras):
        item, note = item.strip(), note.strip()
        if item and not note:
            errors.append(FieldError(f"supplement.extra.{n}", "reason_required", f"请写明“{item}”须如何补正。"))
        elif note and not item:
            errors.append(FieldError(f"supplement.extra.{n}", "item_required", "请写明须补正的事项名称。"))
        elif item:
            items.append({"field": "", "item": item[:500], "reason": note[:1000]})
    if not items and not errors:
        errors.append(FieldError("supplement", "required", "请勾选须补正的材料或事项，并逐项写明问题（第二十六条）。"))
    if errors:
        raise ValidationFailed(errors, detail="补正通知的内容不完整，请按提示修改。")
    return items


def send_supplement(session: Session, *, actor: Actor, application_id: int, draft: SupplementDraft,
                    version: int | None = None) -> Application:
    app = applications.get_application(session, application_id=application_id)
    require(actor, Permission.ORG_VERIFY)
    items = supplement_items(app, draft)
    return applications.request_supplement(session, actor=actor, application_id=application_id, items=items,
                                           version=version)
