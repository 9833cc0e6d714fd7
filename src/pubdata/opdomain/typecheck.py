"""No implicit cast of data that can fail: a conversion that errs only on some stored values is an oracle.

DuckDB binds most type mismatches at once (the same error whatever the data, so no oracle), but it casts a
text value implicitly where text meets a number, a date or a boolean: ``county_code IN (1, 2)``,
``NULLIF(name, 1)``, ``WHERE county_code``, ``flag = county_code``. That conversion fails only on the rows
whose text is not a number, so "查询执行出错" would tell whether such a row passed the filters — one bit per
query, enough to read a value digit by digit. Such comparisons are refused with a request for an explicit
CAST (which the policy runs as TRY_CAST, NULL on failure). Units of date functions and interval lengths must
be constants for the same reason (``date_trunc(<text from data>, d)`` fails on some values only).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.schema import Schema

from pubdata.errors import DomainError

Refuse = Callable[[str, str], DomainError]
DIALECT = "duckdb"

_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ, exp.Nullif)
_NUMERIC_AGGREGATES = (exp.Sum, exp.Avg, exp.Stddev, exp.StddevSamp, exp.StddevPop, exp.Variance,
                       exp.VariancePop)
_CAST_MESSAGE = "文本列不能与数字、日期或布尔值直接比较（会隐式转换，转换失败本身会泄露数据）：请用 CAST 显式转换。"


def _family(node: exp.Expression) -> str | None:
    t = node.type
    if t is None or t.this in (exp.DataType.Type.UNKNOWN, exp.DataType.Type.NULL):
        return None
    if t.is_type(*exp.DataType.TEXT_TYPES):
        return "text"
    if t.is_type(*exp.DataType.NUMERIC_TYPES):
        return "number"
    if t.is_type(*exp.DataType.TEMPORAL_TYPES):
        return "time"
    if t.is_type(exp.DataType.Type.BOOLEAN):
        return "bool"
    return None


def _reads_data(node: exp.Expression) -> bool:
    return node.find(exp.Column) is not None


def _mixed(operands: Iterable[exp.Expression]) -> bool:
    """Text read from data next to a known non-text operand: DuckDB would cast the text."""
    items = [(o, _family(o)) for o in operands if o is not None]
    others = {f for _, f in items if f not in (None, "text")}
    return bool(others) and any(f == "text" and _reads_data(o) for o, f in items)


def _conditions(node: exp.Expression) -> list[exp.Expression]:
    """The operands of ``node`` that DuckDB reads as booleans."""
    if isinstance(node, exp.And | exp.Or):
        return [node.this, node.expression]
    if isinstance(node, exp.Not | exp.Where | exp.Having | exp.If):
        return [node.this]
    if isinstance(node, exp.Case):
        return [i.this for i in node.args.get("ifs") or []] if node.this is None else []
    return []


def check(tree: exp.Expression, schema: Schema, refuse: Refuse) -> None:
    typed = annotate_types(tree.copy(), schema=schema, dialect=DIALECT)
    for node in typed.walk():
        if isinstance(node, _COMPARISONS):
            operands: list[exp.Expression] = [node.this, node.expression]
        elif isinstance(node, exp.In):
            operands = [node.this, *node.expressions]
        elif isinstance(node, exp.Between):
            operands = [node.this, node.args["low"], node.args["high"]]
        elif isinstance(node, exp.Case):
            operands = [*(i.args["true"] for i in node.args.get("ifs") or []), node.args.get("default")]
            if node.this is not None:  # CASE x WHEN v: x is compared with every v
                operands_when = [node.this, *(i.this for i in node.args.get("ifs") or [])]
                if _mixed(operands_when):
                    raise refuse("implicit_cast", _CAST_MESSAGE)
        elif isinstance(node, exp.Coalesce | exp.Greatest | exp.Least):
            operands = [node.this, *node.expressions]
        elif isinstance(node, exp.If):
            operands = [node.args["true"], node.args.get("false")]
        else:
            operands = []
        if _mixed(operands):
            raise refuse("implicit_cast", _CAST_MESSAGE)
        for cond in _conditions(node):
            if cond is not None and _family(cond) == "text" and _reads_data(cond):
                raise refuse("implicit_cast", "条件必须是比较或逻辑表达式，文本列不能直接作为条件。")
        if isinstance(node, _NUMERIC_AGGREGATES) and _family(node.this) in ("text", "time", "bool"):
            raise refuse("type_mismatch", f"{node.key.upper()} 只能用于数值列或数值表达式。")
        if isinstance(node, exp.Interval) and _reads_data(node.this):
            raise refuse("not_constant", "INTERVAL 的长度只能是常量。")
        if isinstance(node, exp.DateTrunc | exp.TimestampTrunc | exp.DateDiff):
            unit = node.args.get("unit")
            if unit is not None and _reads_data(unit):
                raise refuse("not_constant", "日期函数的时间单位只能是常量。")
        if isinstance(node, exp.Extract) and _reads_data(node.this):
            raise refuse("not_constant", "EXTRACT 的时间单位只能是常量。")
