"""The institution's periodic report to the data authority (REG-19(七)), generated from platform data for a
chosen period: applications received, decisions and their timeliness, certificates, objections, overdue work,
and the measures and evaluations it received. JSON for the API; plain text and CSV for download.

Nothing is stored: the report is a pure function of the records, so regenerating it for the same period gives
the same figures (except "open now" and "overdue now", which are as of the day it is generated).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor
from pubdata.db.base import utcnow
from pubdata.errors import NotFound, PermissionDenied
from pubdata.identity.access import require
from pubdata.identity.permissions import Permission
from pubdata.objections.models import Objection
from pubdata.registry.models import Application, Certificate
from pubdata.registry.workflow import KIND_LABELS, STATE_LABELS, Kind
from pubdata.supervision import institutions as inst_mod
from pubdata.supervision.measures import GRADES, GROUNDS, MEASURE_KINDS
from pubdata.supervision.models import Evaluation, Measure
from pubdata.supervision.scope import oversight_scope, require_covers
from pubdata.supervision.workload import STEP_LABELS, check_period, decisions_of, overdue_of


def _review_outcome(app: Application) -> str:
    if app.notice_start is not None or app.state == "certified":
        return "passed"
    return {"review_failed": "failed", "refused": "refused", "cancelled": "cancellation_completed"}.get(
        app.state, "other")


def _shanghai_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(clock.SHANGHAI).date()


def periodic_report(session: Session, *, actor: Actor, institution_org_id: int, start: dt.date | None = None,
                    end: dt.date | None = None) -> dict[str, Any]:
    """The report as JSON-ready data. The institution reads its own; the authority and regulators those in scope."""
    require(actor, Permission.INSTITUTION_REPORT)
    inst = inst_mod.get_institution(session, institution_org_id)
    if inst is None:
        raise NotFound("该单位不是（也从未是）登记机构。", code="institution_not_found")
    if actor.kind != "system" and actor.org_id != inst.org_id:
        if not actor.can(Permission.SUPERVISE_READ.value):
            raise PermissionDenied("只能查看本机构的工作报告。", code="other_organisation")
        require_covers(oversight_scope(session, actor), inst.region_code, f"登记机构“{inst.name}”")
    start, end = check_period(start, end)
    today = clock.today()

    def within(day: dt.date | None) -> bool:
        return day is not None and start <= day <= end

    all_apps = list(session.scalars(select(Application).where(Application.received_on.is_not(None))))
    owner = inst_mod.attribute(session, all_apps)
    apps = [a for a in all_apps if owner[a.id] == inst.org_id]
    received = Counter(a.kind for a in apps if within(a.received_on))
    decisions = [(a, d) for a in apps for d in decisions_of(a) if within(d.decided_on)]
    acceptance = [(a, d) for a, d in decisions if d.step == "acceptance"]
    review = [(a, d) for a, d in decisions if d.step == "review"]
    refused_in_notice = sum(1 for a in apps if a.state == "refused" and a.notice_start is not None
                            and within(a.decided_on))
    app_ids = [a.id for a in apps]
    certs = list(session.scalars(select(Certificate).where(Certificate.application_id.in_(app_ids)))) if app_ids else []
    reg_ids = {a.registration_id for a in apps}
    objections = list(session.scalars(select(Objection).where(Objection.registration_id.in_(reg_ids)))) \
        if reg_ids else []
    measures = [m for m in session.scalars(select(Measure).where(Measure.institution_org_id == inst.org_id)
                                           .order_by(Measure.id)) if within(m.measure_date)]
    evaluations = [e for e in session.scalars(select(Evaluation).where(
        Evaluation.institution_org_id == inst.org_id).order_by(Evaluation.id))
        if e.period_end >= start and e.period_start <= end]
    overdue = [o for a in apps if (o := overdue_of(a, today)) is not None]
    late = [d for _, d in decisions if not d.on_time]
    return {
        "institution": {"org_id": inst.org_id, "name": inst.name, "uscc": inst.uscc, "region_code": inst.region_code,
                        "active": inst.active},
        "period": {"start": start, "end": end},
        "generated_on": today,
        "generated_at": utcnow(),
        "received": {"total": sum(received.values()), "by_kind": dict(sorted(received.items()))},
        "acceptance": {
            "decided": len(acceptance),
            "accepted": sum(1 for a, _ in acceptance if a.accepted_on is not None),
            "not_accepted": sum(1 for a, _ in acceptance if a.accepted_on is None),
            "on_time": sum(1 for _, d in acceptance if d.on_time),
            "late": sum(1 for _, d in acceptance if not d.on_time),
        },
        "review": {
            "decided": len(review),
            **{k: sum(1 for a, _ in review if _review_outcome(a) == k)
               for k in ("passed", "failed", "refused", "cancellation_completed")},
            "on_time": sum(1 for _, d in review if d.on_time),
            "late": sum(1 for _, d in review if not d.on_time),
        },
        "refused_in_notice": refused_in_notice,
        "certificates_issued": sum(1 for c in certs if within(c.issued_on)),
        "objections": {"raised": sum(1 for o in objections if within(_shanghai_date(o.created_at))),
                       "decided": sum(1 for o in objections if within(o.decided_on))},
        "open_now": dict(sorted(Counter(a.state for a in apps if a.state in
                                        {"submitted", "under_review", "in_notice", "supplement_requested"}).items())),
        "late_decisions": [{"application_id": d.application_id, "number": d.number, "step": d.step,
                            "due": d.due, "decided_on": d.decided_on, "days_late": d.days_late} for d in late],
        "overdue_now": [{"application_id": o.application_id, "number": o.number, "step": o.step, "state": o.state,
                         "due": o.due, "days_overdue": o.days_overdue} for o in overdue],
        "measures": [{"id": m.id, "kind": m.kind, "measure_date": m.measure_date, "grounds": m.grounds,
                      "facts": m.facts} for m in measures],
        "evaluations": [{"id": e.id, "period_start": e.period_start, "period_end": e.period_end, "grade": e.grade,
                         "score": e.score} for e in evaluations],
    }


def _rows(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(section, item, value) in reading order; shared by the text and CSV renderings."""
    inst, period = report["institution"], report["period"]
    rows: list[tuple[str, str, str]] = [
        ("基本情况", "登记机构", inst["name"]),
        ("基本情况", "统一社会信用代码", inst["uscc"]),
        ("基本情况", "报告期", f"{period['start']:%Y-%m-%d} 至 {period['end']:%Y-%m-%d}"),
        ("基本情况", "生成日期", f"{report['generated_on']:%Y-%m-%d}"),
        ("收件情况", "收到申请（件）", str(report["received"]["total"])),
    ]
    rows += [("收件情况", KIND_LABELS[Kind(k)], str(v)) for k, v in report["received"]["by_kind"].items()]
    acc, rev = report["acceptance"], report["review"]
    rows += [
        ("受理（第二十六条）", "作出受理决定", str(acc["decided"])),
        ("受理（第二十六条）", "受理", str(acc["accepted"])),
        ("受理（第二十六条）", "不予受理", str(acc["not_accepted"])),
        ("受理（第二十六条）", "按期", str(acc["on_time"])),
        ("受理（第二十六条）", "逾期", str(acc["late"])),
        ("审查（第二十七条）", "作出审查决定", str(rev["decided"])),
        ("审查（第二十七条）", "审查通过", str(rev["passed"])),
        ("审查（第二十七条）", "审查不通过", str(rev["failed"])),
        ("审查（第二十七条）", "不予登记", str(rev["refused"])),
        ("审查（第二十七条）", "完成注销", str(rev["cancellation_completed"])),
        ("审查（第二十七条）", "按期", str(rev["on_time"])),
        ("审查（第二十七条）", "逾期", str(rev["late"])),
        ("公示与发证", "公示期内不予登记", str(report["refused_in_notice"])),
        ("公示与发证", "发放电子凭证（份）", str(report["certificates_issued"])),
        ("异议处理", "收到异议", str(report["objections"]["raised"])),
        ("异议处理", "办结异议", str(report["objections"]["decided"])),
    ]
    rows += [("在办情况（生成日）", STATE_LABELS[s], str(n)) for s, n in report["open_now"].items()]
    rows += [("逾期决定", d["number"] or str(d["application_id"]),
              f"{STEP_LABELS[d['step']]}期限 {d['due']:%Y-%m-%d}，"
              f"{d['decided_on']:%Y-%m-%d} 作出，逾期 {d['days_late']} 日")
             for d in report["late_decisions"]]
    rows += [("当前逾期未办", o["number"] or str(o["application_id"]),
              f"{STEP_LABELS[o['step']]}期限 {o['due']:%Y-%m-%d}，已逾期 {o['days_overdue']} 日")
             for o in report["overdue_now"]]
    rows += [("管理措施（第四十二条）", f"{m['measure_date']:%Y-%m-%d} {MEASURE_KINDS[m['kind']]}",
              "；".join(GROUNDS[g] for g in m["grounds"])) for m in report["measures"]]
    rows += [("服务评价（第三十九条）", f"{e['period_start']:%Y-%m-%d} 至 {e['period_end']:%Y-%m-%d}",
              GRADES[e["grade"]] + (f"（{e['score']} 分）" if e["score"] is not None else ""))
             for e in report["evaluations"]]
    return rows


def render_text(report: dict[str, Any]) -> str:
    lines = [f"{report['institution']['name']} 公共数据资源登记工作情况报告",
             "（依据《实施细则》第十九条第七项，由平台数据生成）", ""]
    section = None
    for sec, item, value in _rows(report):
        if sec != section:
            lines += ["", f"【{sec}】"] if section is not None else [f"【{sec}】"]
            section = sec
        lines.append(f"  {item}：{value}")
    return "\n".join(lines) + "\n"


def render_csv(report: dict[str, Any]) -> str:
    """UTF-8 with BOM: the spreadsheet programs on Gansu office desktops open it without garbling the Chinese."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["栏目", "项目", "数值"])
    writer.writerows(_rows(report))
    return "\ufeff" + out.getvalue()
