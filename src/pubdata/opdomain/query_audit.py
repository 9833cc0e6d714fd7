"""The implementing agency's query audit (OPS-25, OPS-33): every operator query under its agreements' grants —
checked SQL (allowed) or masked SQL (refused), outcome and code, suppressed cells —, the per-grant counters and
alerts, and patterns flagged over a grant's recent queries. Regulators (and the data authority) read it
province-wide without acting. A grant outside the reader's scope is ``grant_not_found`` (404), like a missing one.

Patterns (``patterns``), from the audit trail alone:

- ``near_identical``: queries of the same shape (the sqlglot tree with literals masked) that differ in exactly one
  literal, or that share everything but WHERE and whose WHERE conjuncts differ by one predicate (added, removed
  or replaced) — the pairs a differencing attack is made of;
- ``small_group``: many queries whose cells were hidden for ``min_count``, or whose WHERE pins the same
  quasi-identifier values (``col = value``);
- ``repeated_errors`` / ``repeated_refusals``: many execution errors, or many refusals with one code.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import sqlglot
from sqlalchemy import Select, String, cast, func, select
from sqlalchemy.orm import Session
from sqlglot import exp

from pubdata.audit import Actor
from pubdata.audit.models import AuditEvent
from pubdata.errors import NotFound, PermissionDenied
from pubdata.identity.permissions import Permission
from pubdata.opdomain import brakes, datasets
from pubdata.opdomain.models import DataGrant, GrantSuspension, QueryAlert
from pubdata.opdomain.policy import DIALECT
from pubdata.operation.models import Agreement

QUERY_TAGS = ("opdomain:query:run", "opdomain:query:refused")
#: How many of a grant's latest queries the patterns look at, and from how many a pattern is flagged.
RECENT = 200
SMALL_GROUP_MIN = 5
ERRORS_MIN = 3
REFUSALS_MIN = 10
PATTERN_LABELS = {"near_identical": "近似查询（仅一个条件不同）", "small_group": "反复查询同一小群体",
                  "repeated_errors": "反复执行出错", "repeated_refusals": "反复被拒绝"}
#: Why a query was refused or failed, in Chinese, by its machine code (the pages show these, never the codes).
REASON_LABELS = {
    "not_allowed": "使用了不允许的函数或语法", "syntax": "语法有误", "multiple_statements": "一次提交多条语句",
    "not_select": "不是 SELECT 查询", "too_long": "查询过长", "too_deep": "括号嵌套过深",
    "too_complex": "查询过于复杂",
    "unstable_sql": "规范化后含义不稳定", "reserved_name": "使用平台保留名称",
    "table_function": "使用表函数或外部数据来源",
    "table_not_granted": "访问未授权的表", "column_not_granted": "访问未授权的列", "join_not_allowed": "不允许的表连接",
    "self_join": "同一张表使用多次", "lookup_driving": "以代码表为主表聚合", "nested_with": "WITH 子句用法不允许",
    "cte_shadows_table": "WITH 名称与数据表同名", "subquery_shape": "子查询形式不允许",
    "subquery_in_expression": "在表达式中使用子查询", "union_in_subquery": "子查询中使用 UNION",
    "set_operation": "用 UNION 合并聚合结果", "row_level_output": "输出逐行数据（未聚合）",
    "identifier_in_output": "输出直接标识符", "identifier_in_filter": "按直接标识符筛选",
    "identifier_in_group_by": "按直接标识符分组", "identifier_literal": "查询中含有身份证号等标识符",
    "sensitive_key_expression": "对敏感属性运算后分组", "aggregate_expression": "汇总表达式不允许",
    "raw_value_aggregate": "聚合函数的参数不允许", "nested_aggregate": "嵌套聚合", "window_not_allowed": "使用窗口函数",
    "ranking_not_allowed": "HAVING 条件不允许", "order_by_output": "排序方式不允许",
    "group_by_all": "使用 GROUP BY ALL",
    "cast_not_allowed": "不允许的类型转换", "too_many_populations": "一行中的汇总条件过多",
    "query_refused": "查询被规则拒绝", "query_failed": "查询未能完成", "query_error": "执行出错",
    "query_timeout": "执行超时", "query_memory": "超出内存限制", "too_many_groups": "分组过多",
    "query_rate_limited": "超过查询频率限制", "grant_inactive": "授权已撤销或已到期", "grant_suspended": "授权已暂停",
    "grant_not_found": "授权不存在", "grant_other_dataset": "授权不适用于该数据集", "dataset_withdrawn": "数据集已撤下",
    "not_designated_staff": "非实施机构批准的指定人员", "operator_suspended": "运营机构的平台权限已暂停",
    "no_active_agreement": "授权运营协议不在有效期内", "other_organisation": "不是本单位的授权",
    "permission_denied": "没有查询权限", "organisation_unverified": "单位尚未实名核验",
}


def reason_label(code: str | None) -> str:
    return REASON_LABELS.get(code or "", "其他原因")


@dataclass(frozen=True)
class Scope:
    #: The implementing agency whose agreements are read; None: all (read-only readers).
    agency_org_id: int | None
    can_act: bool


def scope_of(actor: Actor) -> Scope:
    if actor.kind == "system":
        return Scope(None, True)
    if actor.can(Permission.OPERATION_SUPERVISE.value):
        return Scope(actor.org_id, True)
    if actor.can(Permission.AUDIT_READ.value) and actor.can(Permission.SUPERVISE_READ.value):
        return Scope(None, False)
    raise PermissionDenied("您没有查看查询审计的权限。")


def grants_query(scope: Scope) -> Select[tuple[DataGrant]]:
    q = select(DataGrant).order_by(DataGrant.id.desc())
    if scope.agency_org_id is not None:
        q = q.join(Agreement, Agreement.id == DataGrant.agreement_id).where(
            Agreement.agency_org_id == scope.agency_org_id)
    return q


def visible_grant(session: Session, scope: Scope, grant_id: int) -> DataGrant:
    grant = session.scalar(grants_query(scope).where(DataGrant.id == grant_id))
    if grant is None:
        raise NotFound("数据授权不存在。", code="grant_not_found")
    return grant


def events_query(scope: Scope, *, grant_id: int | None = None, operator_org_id: int | None = None,
                 outcome: str | None = None) -> Select[tuple[AuditEvent]]:
    """Query events on the scope's grants, newest first."""
    ids = grants_query(scope).with_only_columns(cast(DataGrant.id, String)).order_by(None)
    q = select(AuditEvent).where(AuditEvent.object_type == "opdomain_grant", AuditEvent.tag.in_(QUERY_TAGS))
    q = q.where(AuditEvent.object_id == str(grant_id)) if grant_id is not None else q
    q = q.where(AuditEvent.object_id.in_(ids.scalar_subquery()))
    if operator_org_id is not None:
        q = q.where(AuditEvent.actor_org_id == operator_org_id)
    if outcome in brakes.OUTCOMES:
        q = q.where(AuditEvent.data["outcome"].as_string() == outcome)
    return q.order_by(AuditEvent.id.desc())


def entry(e: AuditEvent) -> dict[str, Any]:
    """One query as the audit shows it (never a raw value: refused SQL is masked, allowed SQL is checked)."""
    d = e.data
    return {"event_id": e.id, "at": e.occurred_at, "grant_id": int(e.object_id), "user": e.actor_label,
            "user_id": e.actor_user_id, "org_id": e.actor_org_id, "outcome": d.get("outcome", "refused"),
            "code": d.get("code"), "sql": _shown_sql(e),
            "cells": d.get("cells"), "suppressed_cells": d.get("suppressed_cells"),
            "suppressed_reasons": d.get("suppressed_reasons") or {}, "elapsed_ms": d.get("elapsed_ms")}


def _shown_sql(e: AuditEvent) -> str | None:
    """Allowed: the checked SQL and what the runner arranged after protection; refused: the masked SQL."""
    d = e.data
    if not e.tag.endswith(":run"):
        return d.get("sql_masked")
    return " ".join(p for p in (d.get("sql"), d.get("arranged")) if p) or None


def alerts_query(scope: Scope, grant_id: int | None = None) -> Select[tuple[QueryAlert]]:
    q = select(QueryAlert).order_by(QueryAlert.id.desc())
    if scope.agency_org_id is not None:
        q = q.where(QueryAlert.agency_org_id == scope.agency_org_id)
    return q.where(QueryAlert.grant_id == grant_id) if grant_id is not None else q


def alert_counts(session: Session, scope: Scope, grant_ids: Sequence[int]) -> dict[int, int]:
    """How many alerts each of these grants raised."""
    if not grant_ids:
        return {}
    q = alerts_query(scope).order_by(None).where(QueryAlert.grant_id.in_(grant_ids))
    rows = session.execute(q.with_only_columns(QueryAlert.grant_id, func.count()).group_by(QueryAlert.grant_id))
    return {gid: n for gid, n in rows}


def alert_count(session: Session, scope: Scope) -> int:
    return session.scalar(select(func.count()).select_from(alerts_query(scope).order_by(None).subquery())) or 0


def suspensions(session: Session, grant_ids: Sequence[int]) -> dict[int, GrantSuspension]:
    if not grant_ids:
        return {}
    return {s.grant_id: s for s in session.scalars(select(GrantSuspension).where(
        GrantSuspension.grant_id.in_(grant_ids), GrantSuspension.state == "in_force"))}


@dataclass(frozen=True)
class GrantSummary:
    """One grant as the audit lists it: its counts by outcome, its suspension in force, how many alerts."""

    grant: DataGrant
    counts: dict[str, int]
    suspension: GrantSuspension | None
    alerts: int


def summaries(session: Session, scope: Scope, grants: Sequence[DataGrant]) -> list[GrantSummary]:
    ids = [g.id for g in grants]
    counts, held, alerts = brakes.counters(session, ids), suspensions(session, ids), alert_counts(session, scope, ids)
    return [GrantSummary(g, {k: counts.get(g.id, {}).get(k, 0) for k in brakes.OUTCOMES}, held.get(g.id),
                         alerts.get(g.id, 0)) for g in grants]


def operator_ids(session: Session, scope: Scope) -> list[int]:
    """The operators holding grants in the scope (for the audit's filter)."""
    q = grants_query(scope).with_only_columns(DataGrant.operator_org_id).order_by(None).distinct()
    return sorted(session.scalars(q))


# -- patterns ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    code: str
    detail: str
    event_ids: tuple[int, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        return PATTERN_LABELS[self.code]


@dataclass(frozen=True)
class _Shape:
    skeleton: str
    literals: tuple[str, ...]
    #: The query without its WHERE, and WHERE's conjuncts.
    base: str
    conjuncts: frozenset[str]
    pins: frozenset[tuple[str, str]]


def _conjuncts(where: exp.Expression | None) -> list[exp.Expression]:
    if where is None:
        return []
    node = where.this if isinstance(where, exp.Where) else where
    return list(node.flatten()) if isinstance(node, exp.And) else [node]


@lru_cache(maxsize=4096)
def _shape(sql: str) -> _Shape | None:
    try:
        tree = sqlglot.parse_one(sql, dialect=DIALECT)
    except Exception:  # masked or odd text that does not parse is left out of the comparison
        return None
    if not isinstance(tree, exp.Select):
        return None
    literals = tuple(n.sql(dialect=DIALECT) for n in tree.find_all(exp.Literal))
    skeleton = tree.transform(lambda n: exp.Placeholder() if isinstance(n, exp.Literal) else n).sql(dialect=DIALECT)
    parts = _conjuncts(tree.args.get("where"))
    pins = frozenset((p.this.name, p.expression.sql(dialect=DIALECT)) for p in parts
                     if isinstance(p, exp.EQ) and isinstance(p.this, exp.Column)
                     and isinstance(p.expression, exp.Literal))
    bare = tree.copy()
    bare.set("where", None)
    return _Shape(skeleton, literals, bare.sql(dialect=DIALECT), frozenset(p.sql(dialect=DIALECT) for p in parts),
                  pins)


def _one_apart(a: _Shape, b: _Shape) -> bool:
    if (a.skeleton == b.skeleton and len(a.literals) == len(b.literals)
            and sum(x != y for x, y in zip(a.literals, b.literals, strict=True)) == 1):
        return True
    if a.base == b.base and a.conjuncts != b.conjuncts:
        only_a, only_b = a.conjuncts - b.conjuncts, b.conjuncts - a.conjuncts
        return len(only_a) + len(only_b) == 1 or (len(only_a) == 1 and len(only_b) == 1)
    return False


def _near_identical(shaped: list[tuple[dict[str, Any], _Shape]]) -> Finding | None:
    parent = list(range(len(shaped)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    buckets: dict[str, list[int]] = defaultdict(list)
    for i, (_, s) in enumerate(shaped):
        buckets["s" + s.skeleton].append(i)
        buckets["b" + s.base].append(i)
    for members in buckets.values():
        for x, i in enumerate(members):
            for j in members[x + 1:]:
                if shaped[i][0]["sql"] != shaped[j][0]["sql"] and _one_apart(shaped[i][1], shaped[j][1]):
                    parent[root(i)] = root(j)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(shaped)):
        groups[root(i)].append(i)
    flagged = sorted((g for g in groups.values() if len(g) > 1), key=len, reverse=True)
    if not flagged:
        return None
    ids = tuple(sorted(shaped[i][0]["event_id"] for g in flagged for i in g))
    return Finding("near_identical", f"{len(ids)} 次查询组成 {len(flagged)} 组，组内查询结构相同，仅一个条件或取值不同"
                   "（差分攻击的典型形态）。", ids)


def _small_groups(entries: list[dict[str, Any]], shaped: list[tuple[dict[str, Any], _Shape]],
                  quasi: frozenset[str]) -> list[Finding]:
    out = []
    hidden = [e["event_id"] for e in entries if e["outcome"] == "allowed" and e["suppressed_reasons"].get("min_count")]
    if len(hidden) >= SMALL_GROUP_MIN:
        out.append(Finding("small_group", f"{len(hidden)} 次查询的结果因涉及个体少于阈值被隐藏单元格。", tuple(hidden)))
    pinned: dict[frozenset[tuple[str, str]], list[int]] = defaultdict(list)
    for e, s in shaped:
        pins = frozenset(p for p in s.pins if p[0] in quasi)
        if e["outcome"] == "allowed" and pins:
            pinned[pins].append(e["event_id"])
    for pins, ids in pinned.items():
        if len(ids) >= SMALL_GROUP_MIN:
            what = "、".join(f"{c} = {v}" for c, v in sorted(pins))
            out.append(Finding("small_group", f"{len(ids)} 次查询的条件固定了同一组准标识符取值（{what}）。",
                               tuple(ids)))
    return out


def _repeated(entries: list[dict[str, Any]]) -> list[Finding]:
    out = []
    failed = [e for e in entries if e["outcome"] == "failed"]
    if len(failed) >= ERRORS_MIN:
        reasons = "、".join(sorted({reason_label(e["code"]) for e in failed}))
        out.append(Finding("repeated_errors",
                           f"{len(failed)} 次查询执行出错（{reasons}），可能在试探由错误泄露的取值。",
                           tuple(e["event_id"] for e in failed)))
    by_code = Counter(e["code"] for e in entries if e["outcome"] == "refused")
    for code, n in by_code.most_common():
        if n >= REFUSALS_MIN:
            ids = tuple(e["event_id"] for e in entries if e["outcome"] == "refused" and e["code"] == code)
            out.append(Finding("repeated_refusals", f"{n} 次查询因同一规则（{reason_label(code)}）被拒绝。", ids))
    return out


def quasi_identifiers(session: Session, grant: DataGrant) -> frozenset[str]:
    ds = datasets.get_dataset(session, grant.dataset_id)
    return frozenset(c["name"] for t in ds.tables for c in t["columns"] if c["role"] == "quasi_identifier")


def patterns(session: Session, scope: Scope, grant: DataGrant) -> list[Finding]:
    """Flagged patterns over the grant's latest ``RECENT`` queries."""
    events = session.scalars(events_query(scope, grant_id=grant.id).limit(RECENT))
    return find_patterns([entry(e) for e in events], quasi_identifiers(session, grant))


def find_patterns(entries: Iterable[dict[str, Any]], quasi: frozenset[str] = frozenset()) -> list[Finding]:
    rows = list(entries)
    shaped = [(e, s) for e in rows if e["sql"] and (s := _shape(e["sql"])) is not None]
    near = _near_identical(shaped)
    return [*([near] if near else []), *_small_groups(rows, shaped, quasi), *_repeated(rows)]
