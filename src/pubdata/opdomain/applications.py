"""Data applications (OPS-23): an operator with an active, unsuspended agreement asks for tables and columns of
a dataset for a stated purpose, scenario, product and period; the platform flags what is not least necessary;
the providing industry department approves, partly approves or refuses, and a grant results.

Least-necessary flags (recorded on the application, shown to the reviewer; they do not block the request):

* ``direct_identifier`` — a direct identifier (ID number, name, mobile…) is requested;
* ``important_data`` — 重要 data (OPS-33) is requested;
* ``outside_scope`` — the dataset's registered resource is not in the agreement's data scope (this one also
  blocks approval: OPS-23 provides data within the scope only);
* ``no_stated_need`` — the application does not say what a column is needed for, i.e. more columns than the
  stated purpose needs;
* ``product_not_in_agreement`` — the product is not one of the agreement's products.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor, record
from pubdata.db.base import utcnow
from pubdata.errors import Conflict, FieldError, NotFound, ValidationFailed
from pubdata.identity.access import require, require_same_org
from pubdata.identity.permissions import Permission
from pubdata.opdomain import datasets
from pubdata.opdomain.models import DataApplication, DataGrant, OpDataset
from pubdata.opdomain.schema import Grade, Role, grant_problems
from pubdata.operation.access import covers, require_active_agreement
from pubdata.operation.models import Agreement
from pubdata.workflow import StateMachine

SHANGHAI = ZoneInfo("Asia/Shanghai")
APPLICATION = StateMachine(
    name="数据申请",
    transitions={("submitted", "approve"): "approved", ("submitted", "approve_part"): "partly_approved",
                 ("submitted", "refuse"): "refused"},
    labels={"submitted": "待审核", "approved": "已批准", "partly_approved": "部分批准", "refused": "不予批准",
            "approve": "批准", "approve_part": "部分批准", "refuse": "不予批准"},
)
FLAG_LABELS = {
    "direct_identifier": "申请了直接标识符",
    "important_data": "申请了重要数据",
    "outside_scope": "数据集不在授权运营协议的数据范围内",
    "no_stated_need": "未说明该列的用途（超出用途所需）",
    "product_not_in_agreement": "数据产品不在协议约定的产品清单中",
}


def _flag(code: str, target: str) -> dict[str, str]:
    return {"code": code, "target": target, "message": FLAG_LABELS[code]}


def least_necessary_flags(session: Session, ds: OpDataset, agreement: Agreement, requested: Mapping[str, list[str]],
                          uses: Mapping[str, str], product: str) -> list[dict[str, str]]:
    dataset = datasets.dataset_of(ds)
    flags: list[dict[str, str]] = []
    if not covers(session, agreement, ds.registration_id):
        flags.append(_flag("outside_scope", ds.code))
    if product not in {p.get("name") for p in agreement.content.get("products", [])}:
        flags.append(_flag("product_not_in_agreement", product))
    for table_name, names in sorted(requested.items()):
        table = dataset.table(table_name)
        for name in sorted(names):
            col = table.column(name) if table else None
            target = f"{table_name}.{name}"
            if col is not None and col.role is Role.DIRECT_IDENTIFIER:
                flags.append(_flag("direct_identifier", target))
            if col is not None and col.grade is Grade.IMPORTANT:
                flags.append(_flag("important_data", target))
            if not uses.get(target, "").strip():
                flags.append(_flag("no_stated_need", target))
    return flags


def _columns(raw: Mapping[str, list[str]]) -> dict[str, frozenset[str]]:
    return {str(t).lower(): frozenset(str(c).lower() for c in cols) for t, cols in raw.items() if cols}


def submit_application(session: Session, *, actor: Actor, dataset_id: int, requested: Mapping[str, list[str]],
                       uses: Mapping[str, str], purpose: str, scenario: str, product: str, period_start: dt.date,
                       period_end: dt.date) -> DataApplication:
    require(actor, Permission.OPERATION_OPERATE)
    agreement = require_active_agreement(session, actor.org_id)  # type: ignore[arg-type]
    ds = datasets.get_dataset(session, dataset_id)
    if ds.state != "active":
        raise Conflict("该数据集已撤下，不能申请。", code="dataset_withdrawn")
    columns = _columns(requested)
    errors = list(grant_problems(datasets.dataset_of(ds), columns))
    if not columns:
        errors.append(FieldError("requested", "required", "请选择申请的表和列。"))
    for name, value in (("purpose", purpose), ("scenario", scenario), ("product", product)):
        if not value.strip():
            errors.append(FieldError(name, "required", "此项必填。"))
    if period_end < period_start:
        errors.append(FieldError("period_end", "period_order", "使用期限止不能早于起。"))
    elif period_end < clock.today():
        errors.append(FieldError("period_end", "period_past", "使用期限已过。"))
    if period_end > agreement.end_date:
        errors.append(FieldError("period_end", "beyond_agreement", "使用期限不能超过授权运营协议的期限。"))
    if errors:
        raise ValidationFailed(errors)
    clean = {t: sorted(cols) for t, cols in sorted(columns.items())}
    uses_clean = {k.lower(): v.strip() for k, v in uses.items() if v and v.strip()}
    flags = least_necessary_flags(session, ds, agreement, clean, uses_clean, product.strip())
    app = DataApplication(dataset_id=ds.id, operator_org_id=actor.org_id, agreement_id=agreement.id, requested=clean,
                          uses=uses_clean, purpose=purpose.strip(), scenario=scenario.strip(), product=product.strip(),
                          period_start=period_start, period_end=period_end, flags=flags)
    session.add(app)
    session.flush()
    record(session, actor=actor, tag="opdomain:application:submit", object_type="opdomain_application",
           object_id=app.id, data={"dataset_id": ds.id, "requested": clean, "flags": [f["code"] for f in flags]})
    return app


def get_application(session: Session, application_id: int) -> DataApplication:
    app = session.get(DataApplication, application_id)
    if app is None:
        raise NotFound("数据申请不存在。", code="application_not_found")
    return app


def list_applications(session: Session, *, actor: Actor) -> list[DataApplication]:
    """An operator sees its own applications; a provider those for its datasets."""
    q = select(DataApplication).order_by(DataApplication.id.desc())
    if actor.can(Permission.OPERATION_OPERATE.value):
        q = q.where(DataApplication.operator_org_id == actor.org_id)
    else:
        require(actor, datasets.PROVIDE)
        q = q.join(OpDataset, OpDataset.id == DataApplication.dataset_id).where(
            OpDataset.provider_org_id == actor.org_id)
    return list(session.scalars(q))


def _expiry(day: dt.date) -> dt.datetime:
    """The end of ``day`` in Asia/Shanghai, as UTC."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), SHANGHAI).astimezone(dt.UTC)


def decide(session: Session, *, actor: Actor, application_id: int, decision: str, note: str = "",
           columns: Mapping[str, list[str]] | None = None) -> DataGrant | None:
    """``decision`` is approve, approve_part (with ``columns``, a proper subset) or refuse (with a note).
    Returns the grant, or None when refused."""
    require(actor, datasets.PROVIDE)
    app = get_application(session, application_id)
    ds = datasets.get_dataset(session, app.dataset_id)
    require_same_org(actor, ds.provider_org_id)
    if decision not in ("approve", "approve_part", "refuse"):
        raise ValidationFailed.single("decision", "bad_decision", "审核结论无效。")
    new_state = APPLICATION.next_state(app.state, decision)
    granted: dict[str, frozenset[str]] = {}
    if decision == "refuse":
        if not note.strip():
            raise ValidationFailed.single("note", "required", "不予批准须说明理由。")
    else:
        if any(f["code"] == "outside_scope" for f in app.flags):
            raise Conflict("数据集不在授权运营协议的数据范围内，不能批准（第二十三条）。",
                           code="outside_agreement_scope")
        requested = _columns(app.requested)
        granted = requested if decision == "approve" else _columns(columns or {})
        if decision == "approve_part" and not _proper_subset(granted, requested):
            raise ValidationFailed.single("columns", "not_subset", "部分批准的列须是申请列的真子集且不能为空。")
        # The classification may have changed since the application was made (a column graded 核心 since).
        if problems := grant_problems(datasets.dataset_of(ds), granted):
            raise ValidationFailed(problems, detail="申请提交后数据分类分级已调整，以下列不能授权；"
                                                    "请部分批准或不予批准。")
    app.state = new_state
    app.decision_note = note.strip() or None
    app.decided_by_org_id = actor.org_id
    app.decided_at = utcnow()
    grant = None
    if granted:
        grant = DataGrant(application_id=app.id, dataset_id=ds.id, operator_org_id=app.operator_org_id,
                          agreement_id=app.agreement_id, columns={t: sorted(c) for t, c in sorted(granted.items())},
                          expires_at=_expiry(app.period_end))
        session.add(grant)
    session.flush()
    record(session, actor=actor, tag=f"opdomain:application:{decision}", object_type="opdomain_application",
           object_id=app.id, changes={"state": ["submitted", new_state]},
           data={"grant_id": grant.id if grant else None, "columns": grant.columns if grant else {}})
    if grant is not None:
        record(session, actor=actor, tag="opdomain:grant:issue", object_type="opdomain_grant", object_id=grant.id,
               data={"application_id": app.id, "columns": grant.columns, "expires_at": grant.expires_at.isoformat()})
    return grant


def _proper_subset(granted: Mapping[str, frozenset[str]], requested: Mapping[str, frozenset[str]]) -> bool:
    if not granted or any(not cols <= requested.get(t, frozenset()) for t, cols in granted.items()):
        return False
    return sum(map(len, granted.values())) < sum(map(len, requested.values()))
