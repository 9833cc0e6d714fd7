"""Checked queries (OPS-22, OPS-25): an operator's SQL under one of its grants, through the policy engine and
disclosure control. Every query, allowed or refused, is an audit event; an allowed one also leaves a
:class:`~pubdata.opdomain.models.QueryRun` holding the *protected* cells (never raw rows), which the operator
may later ask to export (opdomain/exports.py) and which later exports are compared with (differencing).

Refusals are audited in the caller's session before the error is raised again, so the caller must **commit
before reporting a refusal** (the API does); the event never holds raw values — allowed queries record the
checked (normalised) SQL and cell counts, refused ones the SQL with every literal masked, its digest and the
refusal code (DuckDB's own error text, which can quote a value, is not recorded).
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlalchemy.orm import Session

from pubdata.audit import Actor, record
from pubdata.audit.service import jsonable
from pubdata.db.base import utcnow
from pubdata.errors import Conflict, DomainError, NotFound, PermissionDenied
from pubdata.identity.access import require
from pubdata.identity.permissions import Permission
from pubdata.opdomain import brakes, datasets, grants, staff
from pubdata.opdomain.disclosure import Cell, Protected, Reason
from pubdata.opdomain.engine import QueryFailed, QueryResult
from pubdata.opdomain.models import DataGrant, QueryRun
from pubdata.opdomain.policy import DIALECT
from pubdata.operation.access import active_agreement, require_not_suspended

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueryOutcome:
    grant_id: int
    result: QueryResult
    audit_event_id: int
    #: The stored protected result (opdomain_query_run), the handle for an export request.
    query_run_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        protected = self.result.result
        config = datasets.disclosure_of({"min_count": protected.min_count})
        return {
            "grant_id": self.grant_id,
            "audit_event_id": self.audit_event_id,
            "query_run_id": self.query_run_id,
            "columns": list(protected.columns),
            "kinds": list(protected.kinds),
            "rows": [[{"value": c.value, "suppressed": c.suppressed,
                       "reason": c.reason.value if c.reason else None,
                       "reason_label": c.reason.label(config) if c.reason else None} for c in row]
                     for row in protected.rows],
            "suppressed_cells": protected.suppressed_count(),
            "truncated": protected.truncated,
        }  # no timing: the answer is paced (opdomain/pacing.py); the elapsed time is the agency's (audit event)


def masked_sql(sql: str) -> str | None:
    """The query with every literal replaced by ``?`` (for the audit of refusals); None when it does not parse."""
    try:
        tree = sqlglot.parse_one(sql, dialect=DIALECT)
    except Exception:  # any parse failure just means no normalised text
        return None
    if tree is None:
        return None
    masked = tree.transform(
        lambda n: sqlglot.exp.Placeholder() if isinstance(n, sqlglot.exp.Literal) else n)
    return masked.sql(dialect=DIALECT, comments=False)[:20_000]


#: What the operator learns of any query that did not complete, whatever the engine's reason (OPS-33): a timeout,
#: the memory limit, too many groups or a runtime error could each depend on a hidden value.
FAILED_DETAIL = "查询未能完成。请简化查询（减少分组、嵌套或计算）后重试；如多次出现，请联系实施机构。"


def _run(session: Session, actor: Actor, grant: DataGrant, sql: str) -> QueryResult:
    require_not_suspended(session, grant.operator_org_id)
    agreement = active_agreement(session, grant.operator_org_id)
    if agreement is None or agreement.id != grant.agreement_id:
        raise PermissionDenied("该授权所依据的授权运营协议已不在有效期内，不能查询。", code="no_active_agreement")
    staff.require_designated(session, actor, agreement.id)
    grants.require_not_suspended(session, grant)
    ds = datasets.get_dataset(session, grant.dataset_id)
    if ds.state != "active":
        raise Conflict("该数据集已撤下，不能查询。", code="dataset_withdrawn")
    try:
        return datasets.engine_for(ds).run(sql, grants.engine_grant(session, grant), now=utcnow())
    except QueryFailed as e:  # time, memory, group count or a runtime error: one bit the operator must not get
        raise QueryFailed(FAILED_DETAIL, code="query_failed", cause=e.cause) from None
    except DomainError:
        raise
    except Exception:  # a defect must not answer differently from a failure either (a 500 is a bit too)
        log.exception("checked query on grant %s failed unexpectedly", grant.id)
        raise QueryFailed(FAILED_DETAIL, code="query_failed", cause="internal_error") from None


def run_query(session: Session, *, actor: Actor, grant_id: int, sql: str) -> QueryOutcome:
    """Once the grant is known to be the actor's organisation's, every attempt is settled on its brakes
    (opdomain/brakes.py): rate limits first, then counted as allowed, refused, failed or throttled."""
    require(actor, Permission.OPERATION_OPERATE)
    digest = hashlib.sha256(sql.encode()).hexdigest()
    brake: brakes.Brake | None = None
    try:
        grant = grants.get_grant(session, grant_id)
        if actor.kind != "system" and actor.org_id != grant.operator_org_id:
            raise NotFound("数据授权不存在。", code="grant_not_found")  # another's grant looks like none
        brake = brakes.Brake(session, grant, actor)
        brake.admit()
        result = _run(session, actor, grant, sql)
        brake.settle("allowed")
    except DomainError as e:
        outcome = brakes.outcome_of(e)
        record(session, actor=actor, tag="opdomain:query:refused", object_type="opdomain_grant", object_id=grant_id,
               data={"outcome": outcome, "code": e.code, "status": e.status, "sql_masked": masked_sql(sql),
                     "sql_sha256": digest, "sql_length": len(sql),
                     **({"cause": e.cause} if isinstance(e, QueryFailed) else {})})
        if brake is not None:
            brake.settle(outcome)
        raise
    protected = result.result
    payload = result.audit_payload()
    reasons = Counter(c.reason.value for row in protected.rows for c in row if c.reason is not None)
    event = record(session, actor=actor, tag="opdomain:query:run", object_type="opdomain_grant", object_id=grant_id,
                   data={**payload, "outcome": "allowed", "submitted_sha256": digest,
                         "cells": len(protected.rows) * len(protected.columns), "suppressed_reasons": dict(reasons),
                         "elapsed_ms": round(result.elapsed_s * 1000, 1)})
    run = _store(session, actor, grant, result, event.id)
    return QueryOutcome(grant_id, result, event.id, run.id)


def _value(value: Any) -> Any:
    """A cell as JSON keeps it (dates as ISO text, decimals as text, non-finite floats as null)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return jsonable(value)


def _store(session: Session, actor: Actor, grant: DataGrant, result: QueryResult, event_id: int) -> QueryRun:
    """Only what disclosure control let through: each cell's shown value (None when hidden) and its reason."""
    p = result.result
    run = QueryRun(grant_id=grant.id, dataset_id=grant.dataset_id, operator_org_id=grant.operator_org_id,
                   agreement_id=grant.agreement_id, run_by_user_id=actor.user_id, audit_event_id=event_id,
                   sql=result.checked.sql, sql_sha256=hashlib.sha256(result.checked.sql.encode()).hexdigest(),
                   columns=list(p.columns), kinds=list(p.kinds),
                   sources=[list(o.sources) for o in result.checked.outputs],
                   cells=[[[None if c.suppressed else _value(c.value), c.reason.value if c.reason else None]
                           for c in row] for row in p.rows],
                   supports=list(p.supports), cell_supports=[list(r) for r in p.cell_supports],
                   hidden_total=p.hidden_total,
                   aggregate=p.aggregate, truncated=p.truncated, min_count=p.min_count,
                   suppressed_cells=p.suppressed_count())
    session.add(run)
    session.flush()
    return run


def protected_of(run: QueryRun) -> Protected:
    """The stored result as the disclosure module's object again (for the export checks)."""
    rows = tuple(tuple(Cell(v, Reason(r) if r else None) for v, r in row) for row in run.cells)
    cell_supports = tuple(tuple(r) for r in run.cell_supports) if run.cell_supports else ()
    return Protected(tuple(run.columns), tuple(run.kinds), rows, tuple(run.supports), run.aggregate, run.truncated,
                     run.min_count, cell_supports, run.hidden_total or 0)
