"""The policy engine: one SELECT the grant allows, re-rendered from its checked tree, or a refusal.

Everything is an allow-list: statement type, syntax nodes, functions, aggregates, cast types, join shapes.
The query is parsed with sqlglot (DuckDB dialect), qualified against a schema that holds only the granted
columns (so ``*`` expands to granted columns and anything else fails), then analysed:

* direct identifiers may appear only as a bare column passed through a derived table, as the bare
  argument of ``count``/``count(DISTINCT …)``, or in a join's key equality — nowhere else;
* output is row-level only when every column the query touches is public and 一般-graded; otherwise the
  outermost SELECT aggregates, grouped by non-identifier expressions, and each aggregate is allowed for the
  role of what it reads (``min``/``max`` never over identifiers, quasi-identifiers or sensitive attributes);
* subqueries only in FROM (CTEs included), without aggregation, DISTINCT, ORDER BY, LIMIT or set
  operations, so that every row the outer aggregate counts is one row of one entity table;
* joins only ``[LEFT] JOIN base_table ON … = base_table.key``: the joined side matches at most one row, so
  joins never multiply rows.

The result is a :class:`CheckedQuery`: the normalised SQL (qualified, quoted, no comments) and, for the
disclosure step, which output columns are group keys, counts, sums or other statistics, from which columns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError, TokenError
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from pubdata.errors import DomainError
from pubdata.opdomain import flatten, typecheck
from pubdata.opdomain.identifiers import find_identifiers
from pubdata.opdomain.populations import Population, counted, decompose, single
from pubdata.opdomain.schema import Column, Dataset, Grade, Grant, Role, Table, TableKind

DIALECT = "duckdb"
MAX_SQL_CHARS = 20_000


class QueryRefused(DomainError):
    """The policy refuses the query; ``code`` says which rule, ``detail`` why, in Chinese."""

    status = 422
    code = "query_refused"


def _refuse(code: str, detail: str) -> QueryRefused:
    return QueryRefused(detail, code=code)


# --- allow-lists ------------------------------------------------------------------------------------------

_STRUCTURE = (
    exp.Select, exp.Union, exp.From, exp.Join, exp.Where, exp.Group, exp.Having, exp.Order, exp.Ordered,
    exp.Limit, exp.Offset, exp.With, exp.CTE, exp.TableAlias, exp.Table, exp.Identifier, exp.Column, exp.Star,
    exp.Alias, exp.Subquery, exp.Paren, exp.Distinct, exp.Filter, exp.Window,
)
_SCALARS = (
    exp.Literal, exp.Boolean, exp.Null, exp.DataType, exp.Interval,
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ, exp.And, exp.Or,
    exp.Not, exp.Is, exp.In, exp.Between, exp.Like, exp.ILike, exp.Neg, exp.Add, exp.Sub, exp.Mul, exp.Div,
    exp.IntDiv, exp.Mod, exp.Pow, exp.Case, exp.If, exp.Coalesce, exp.Nullif, exp.Greatest, exp.Least,
    exp.Cast, exp.TryCast, exp.Round, exp.Floor, exp.Ceil, exp.Abs, exp.Sqrt, exp.Ln, exp.Log, exp.Exp,
    exp.Sign, exp.Upper, exp.Lower, exp.Length, exp.Substring, exp.Left, exp.Right, exp.Trim, exp.Concat,
    exp.DPipe, exp.Extract, exp.DateTrunc, exp.TimestampTrunc, exp.Year, exp.Month, exp.Day, exp.Quarter,
    exp.DateDiff, exp.CurrentDate, exp.StrPosition, exp.Try,
)


class AggKind(StrEnum):
    COUNT = "count"
    #: Sums and moments: dominance rule and contributor count apply.
    MAGNITUDE = "magnitude"
    #: Order statistics (min, max, median, quantiles): the value is one entity's value.
    ORDER = "order"


_ALL_ROLES = frozenset(Role)
_NON_IDENT = _ALL_ROLES - {Role.DIRECT_IDENTIFIER}
_ORDER_ROLES = frozenset({Role.PUBLIC, Role.DIMENSION, Role.MEASURE})
#: Aggregate class → (kind, roles its argument may have).
AGGREGATES: dict[type[exp.Expression], tuple[AggKind, frozenset[Role]]] = {
    exp.Count: (AggKind.COUNT, _ALL_ROLES),
    exp.Sum: (AggKind.MAGNITUDE, _NON_IDENT),
    exp.Avg: (AggKind.MAGNITUDE, _NON_IDENT),
    exp.Stddev: (AggKind.MAGNITUDE, _NON_IDENT),
    exp.StddevSamp: (AggKind.MAGNITUDE, _NON_IDENT),
    exp.StddevPop: (AggKind.MAGNITUDE, _NON_IDENT),
    exp.Variance: (AggKind.MAGNITUDE, _NON_IDENT),
    exp.VariancePop: (AggKind.MAGNITUDE, _NON_IDENT),
    exp.Min: (AggKind.ORDER, _ORDER_ROLES),
    exp.Max: (AggKind.ORDER, _ORDER_ROLES),
    exp.Median: (AggKind.ORDER, _ORDER_ROLES),
    exp.PercentileCont: (AggKind.ORDER, _ORDER_ROLES),
    exp.PercentileDisc: (AggKind.ORDER, _ORDER_ROLES),
    exp.Quantile: (AggKind.ORDER, _ORDER_ROLES),
}
_CAST_TYPES = {
    exp.DataType.Type.TINYINT, exp.DataType.Type.SMALLINT, exp.DataType.Type.INT, exp.DataType.Type.BIGINT,
    exp.DataType.Type.FLOAT, exp.DataType.Type.DOUBLE, exp.DataType.Type.DECIMAL, exp.DataType.Type.VARCHAR,
    exp.DataType.Type.TEXT, exp.DataType.Type.DATE, exp.DataType.Type.BOOLEAN,
}
#: Parents under which a bare keyword (``YEAR``, ``DAY``) is a unit, not something to evaluate.
_VAR_PARENTS = (exp.Extract, exp.Interval, exp.DateTrunc, exp.TimestampTrunc, exp.DateDiff)
#: Exact classes, never subclasses: sqlglot subclasses allowed nodes (ApproxQuantile of Quantile, JSONCast
#: of Cast), and a subclass is a different function.
_ALLOWED = frozenset((*_STRUCTURE, *_SCALARS, *AGGREGATES))
#: Arguments an aggregate may carry; anything more (``max(x, n)``, ``arg_max(…, n)``) is refused.
_AGG_ARGS = {exp.Count: {"this", "expressions", "big_int"}, exp.PercentileCont: {"this", "expression"},
             exp.PercentileDisc: {"this", "expression"}, exp.Quantile: {"this", "quantile", "expression"}}

#: Named refusals for constructs people try, so the reason is specific rather than "not allowed".
_NAMED: dict[type[exp.Expression], tuple[str, str]] = {
    exp.Placeholder: ("parameter", "查询中不允许参数占位符。"),
    exp.Parameter: ("parameter", "查询中不允许参数占位符。"),
    exp.TableSample: ("sample", "不允许抽样子句（USING SAMPLE / TABLESAMPLE）：随机子集可用于差分攻击。"),
    exp.Qualify: ("qualify", "不允许 QUALIFY 子句。"),
    exp.Lateral: ("lateral", "不允许 LATERAL 子查询。"),
    exp.Unnest: ("table_function", "不允许表函数（UNNEST）。"),
    exp.Pivot: ("pivot", "不允许 PIVOT / UNPIVOT。"),
    exp.Values: ("values", "不允许 VALUES 构造的表。"),
    exp.Lambda: ("lambda", "不允许 lambda 表达式。"),
    exp.Intersect: ("set_operation", "只允许 UNION，不允许 INTERSECT / EXCEPT。"),
    exp.Except: ("set_operation", "只允许 UNION，不允许 INTERSECT / EXCEPT。"),
    exp.Rollup: ("grouping_sets", "不允许 ROLLUP / CUBE / GROUPING SETS：小计可用于推算被隐藏的单元格。"),
    exp.Cube: ("grouping_sets", "不允许 ROLLUP / CUBE / GROUPING SETS：小计可用于推算被隐藏的单元格。"),
    exp.GroupingSets: ("grouping_sets", "不允许 ROLLUP / CUBE / GROUPING SETS：小计可用于推算被隐藏的单元格。"),
    exp.Exists: ("subquery_in_expression", "子查询只能出现在 FROM 中。"),
    exp.ArrayAgg: ("raw_value_aggregate", "不允许 list / array_agg：会输出原始值。"),
    exp.GroupConcat: ("raw_value_aggregate", "不允许 string_agg / group_concat：会输出原始值。"),
    exp.ArgMax: ("raw_value_aggregate", "不允许 arg_max / arg_min：会输出某一行的原始值。"),
    exp.ArgMin: ("raw_value_aggregate", "不允许 arg_max / arg_min：会输出某一行的原始值。"),
    exp.First: ("raw_value_aggregate", "不允许 first / last / any_value：会输出某一行的原始值。"),
    exp.Last: ("raw_value_aggregate", "不允许 first / last / any_value：会输出某一行的原始值。"),
    exp.AnyValue: ("raw_value_aggregate", "不允许 first / last / any_value：会输出某一行的原始值。"),
    exp.Mode: ("raw_value_aggregate", "不允许 mode：会输出原始值。"),
    exp.ReadCSV: ("table_function", "不允许读取文件或网址。"),
}
_STATEMENTS = {
    exp.Pragma: "PRAGMA", exp.Set: "SET", exp.Attach: "ATTACH", exp.Detach: "DETACH", exp.Copy: "COPY",
    exp.Install: "INSTALL", exp.Command: "命令", exp.Create: "CREATE", exp.Insert: "INSERT",
    exp.Update: "UPDATE", exp.Delete: "DELETE", exp.Drop: "DROP", exp.Use: "USE", exp.Describe: "DESCRIBE",
}


# --- results ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Aggregate:
    """One aggregate call in the outermost SELECT, kept as trees so the runner can measure its cells."""

    kind: AggKind
    func: str
    #: The argument expression (None for ``count(*)``) and the FILTER condition, from the checked tree.
    arg: exp.Expression | None
    filter: exp.Expression | None
    sources: tuple[str, ...]
    #: ``table.column`` when the argument is a bare column of a base table (the runner may then use what
    #: it knows of that column, e.g. that it is never negative).
    base_column: str | None = None
    #: The rows each branch of the argument reads (populations.py); measured one by one.
    populations: tuple[Population, ...] = ()


@dataclass(frozen=True)
class OutputColumn:
    name: str
    #: key (group key), count, sum (magnitude aggregates), statistic (order statistics), value (row-level).
    kind: str
    sources: tuple[str, ...]
    aggregates: tuple[Aggregate, ...] = ()


@dataclass(frozen=True)
class Branch:
    """One SELECT of the (possibly UNION-ed) outermost query."""

    select: exp.Select
    driving_table: str | None
    outputs: tuple[OutputColumn, ...]


@dataclass(frozen=True)
class OrderKey:
    """One ORDER BY item of an aggregate query, applied to the protected result (never in DuckDB: a hidden
    row must not keep a place between shown ones, nor use up a LIMIT)."""

    column: int
    descending: bool
    nulls_first: bool


@dataclass(frozen=True)
class CheckedQuery:
    sql: str
    tree: exp.Expression
    aggregate: bool
    branches: tuple[Branch, ...]
    tables: tuple[str, ...]
    #: Aggregate queries only (row-level ones keep ORDER BY / LIMIT in ``sql``).
    order: tuple[OrderKey, ...] = ()
    limit: int | None = None
    offset: int = 0

    @property
    def outputs(self) -> tuple[OutputColumn, ...]:
        return self.branches[0].outputs


# --- column information -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Info:
    role: Role
    grade: Grade
    sources: frozenset[str]
    #: From an entity table joined n:1 — its values repeat per driving row, so they must not be summed.
    joined_entity: bool = False

    @staticmethod
    def of(table: Table, col: Column, joined_entity: bool) -> _Info:
        return _Info(col.role, col.grade, frozenset({f"{table.name}.{col.name}"}), joined_entity)


def _merge(infos: Iterable[_Info]) -> _Info:
    items = list(infos)
    if not items:
        return _Info(Role.PUBLIC, Grade.GENERAL, frozenset())
    return _Info(
        max((i.role for i in items), key=lambda r: r.rank),
        max((i.grade for i in items), key=lambda g: g.rank),
        frozenset().union(*(i.sources for i in items)),
        any(i.joined_entity for i in items),
    )


@dataclass
class _Relation:
    columns: dict[str, _Info]
    driving: Table | None
    base: bool = False


@dataclass
class _Ctx:
    grant: Grant
    ctes: dict[str, _Relation] = field(default_factory=dict)
    touched: list[_Info] = field(default_factory=list)
    tables: set[str] = field(default_factory=set)


# --- entry point ------------------------------------------------------------------------------------------


def check(sql: str, grant: Grant) -> CheckedQuery:
    """The checked query, or :class:`QueryRefused` with the first rule it breaks. Whatever the parser or the
    analysis cannot take (nesting, size) is a refusal too, never an error."""
    try:
        return _check(sql, grant)
    except RecursionError:
        raise _refuse("too_complex", "查询嵌套过深或过于复杂，请简化。") from None


def _check(sql: str, grant: Grant) -> CheckedQuery:
    tree = _parse(sql)
    _check_nodes(tree)
    _check_tables(tree, grant)
    written = tree.copy()
    tree = _harden(_qualify(tree, grant))
    _check_nodes(tree)  # qualification must not have introduced anything outside the allow-list
    # First pass, over the query as written: the specific refusals (an identifier computed in a CTE is named
    # there). Its name-based reading of derived tables decides nothing that is let through.
    ctx = _Ctx(grant)
    for cte in tree.find_all(exp.CTE):
        ctx.ctes[cte.alias_or_name] = _derived(cte.this, ctx)
    for star in tree.find_all(exp.Star):
        if not isinstance(star.parent, exp.Count):
            raise _refuse("not_allowed", "无法展开 *：请列出授权的列。")
    branches = [_select_branch(s, ctx) for s in _union_branches(tree)]
    if isinstance(tree, exp.Union) and tree.args.get("order") is not None:
        _check_ranking(tree.args["order"], OutputColumn("", "key", ()), branches[0].outputs)
    is_agg = any(_is_aggregate(b.select) for b in branches)
    if not is_agg:
        _row_level_allowed(ctx)
    elif not all(_is_aggregate(b.select) for b in branches):
        raise _refuse("row_level_output", "UNION 的各部分须同为聚合查询。")
    # Second pass, over the flat query (lineage by construction): this one decides, and it is what runs.
    flatten.check_aliases(written, _refuse)
    flat = flatten.flatten(tree, _refuse)
    fctx = _Ctx(grant)
    branches = [_select_branch(s, fctx) for s in _union_branches(flat)]
    order: tuple[OrderKey, ...] = ()
    limit: tuple[int | None, int] = (None, 0)
    if not is_agg:
        _row_level_allowed(fctx)
    else:
        if len(branches) > 1:
            raise _refuse("set_operation", "聚合查询不能用 UNION 合并：各部分的人群可相互比对（差分），请分别查询。")
        for b in branches:
            _check_populations(b)
        order, limit = _take_order(flat, branches[0].outputs)
    typecheck.check(flat, _schema_of(grant), _refuse)
    rendered = flat.sql(dialect=DIALECT, identify=True, comments=False)
    if sqlglot.parse_one(rendered, read=DIALECT) != flat:  # what runs must be what was checked
        raise _refuse("unstable_sql", "查询在规范化后含义不稳定，已拒绝。")
    return CheckedQuery(rendered, flat, is_agg, tuple(branches), tuple(sorted(fctx.tables)), order, *limit)


#: Parentheses deeper than this are refused before parsing (the parser recurses per level).
MAX_NESTING = 40


def _nesting(sql: str) -> int:
    """The deepest parenthesis nesting outside string literals and quoted names (approximate on purpose:
    comments count too, which can only refuse more)."""
    depth = deepest = 0
    quote = ""
    for ch in sql:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth -= 1
    return deepest


def _parse(sql: str) -> exp.Expression:
    if len(sql) > MAX_SQL_CHARS:
        raise _refuse("too_long", f"查询过长（超过 {MAX_SQL_CHARS} 个字符）。")
    if _nesting(sql) > MAX_NESTING:
        raise _refuse("too_deep", f"括号嵌套超过 {MAX_NESTING} 层，请简化查询。")
    try:
        statements = sqlglot.parse(sql, read=DIALECT)
    except (ParseError, TokenError) as e:
        raise _refuse("syntax", f"查询语法有误：{str(e).splitlines()[0][:200]}") from None
    statements = [s for s in statements if s is not None]
    if len(statements) != 1:
        raise _refuse("multiple_statements", "一次只能提交一条 SELECT 语句。")
    tree = statements[0]
    if type(tree) in _NAMED:
        raise _refuse(*_NAMED[type(tree)])
    for cls, name in _STATEMENTS.items():
        if isinstance(tree, cls):
            raise _refuse("not_select", f"只允许 SELECT 查询，不允许 {name} 语句。")
    if not isinstance(tree, exp.Select | exp.Union):
        raise _refuse("not_select", "只允许 SELECT 查询。")
    return tree


def _check_nodes(tree: exp.Expression) -> None:
    """Every node must be on the allow-list; refusals name the construct (named ones first, wherever they
    are in the tree, so the reason is the most specific one)."""
    nodes = list(tree.walk())
    for node in nodes:
        named = _NAMED.get(type(node))
        if named:
            raise _refuse(*named)
    for node in nodes:
        _check_node(node)


#: Prefix of the measurement columns the runner appends; no query may name them.
RESERVED_PREFIX = "__sdc_"


def _check_node(node: exp.Expression) -> None:
    if isinstance(node, exp.Identifier) and node.name.lower().startswith(RESERVED_PREFIX):
        raise _refuse("reserved_name", f"名称不能以 {RESERVED_PREFIX} 开头（平台保留）。")
    if isinstance(node, exp.Join):
        _check_join_shape(node)
    if type(node) in AGGREGATES:
        extra = {k for k, v in node.args.items() if v not in (None, [], False)} - _AGG_ARGS.get(type(node), {"this"})
        if extra or (isinstance(node.args.get("expression"), exp.Expression) and not node.args["expression"].is_number):
            raise _refuse("raw_value_aggregate", f"{node.key.upper()} 只能带一个列参数（分位数须为单个常数）。")
        if type(node) is exp.Count and node.expressions:
            raise _refuse("not_allowed", "count 只能有一个参数。")
    if isinstance(node, exp.Var) and isinstance(node.parent, _VAR_PARENTS):
        return
    if isinstance(node, exp.Table) and not isinstance(node.this, exp.Identifier):
        raise _refuse("table_function", "不允许表函数、文件或网址作为数据来源，只能查询授权的表。")
    if isinstance(node, exp.Subquery) and not isinstance(node.parent, exp.From | exp.Join):
        raise _refuse("subquery_in_expression", "子查询只能出现在 FROM 中。")
    if isinstance(node, exp.Cast | exp.TryCast) and node.to.this not in _CAST_TYPES:
        raise _refuse("cast_not_allowed", f"不允许转换为 {node.to.sql(DIALECT)} 类型。")
    if isinstance(node, exp.Literal) and node.is_string and next(find_identifiers(node.this), None):
        raise _refuse("identifier_literal", "查询中含有身份证号码、手机号码或统一社会信用代码等标识符。")
    if type(node) not in _ALLOWED:
        name = node.name if isinstance(node, exp.Anonymous) else node.key
        raise _refuse("not_allowed", f"不允许使用 {name.upper()}：查询只能使用平台允许的函数和语法。")


def _check_tables(tree: exp.Expression, grant: Grant) -> None:
    # One WITH, at the top: CTE names are then one flat namespace, so a name cannot mean one relation to
    # the analysis and another to DuckDB (a nested WITH may shadow an outer CTE).
    withs = list(tree.find_all(exp.With))
    if len(withs) > 1 or (withs and withs[0].parent is not tree):
        raise _refuse("nested_with", "WITH 只能出现在查询最外层，且只能有一个。")
    names = [c.alias_or_name.lower() for c in tree.find_all(exp.CTE)]
    if len(set(names)) != len(names):
        raise _refuse("nested_with", "WITH 子句的名称不能重复。")
    ctes = set(names)
    if any(grant.dataset.table(name) for name in ctes):
        raise _refuse("cte_shadows_table", "WITH 子句的名称不能与数据表同名。")
    for table in tree.find_all(exp.Table):
        if table.args.get("db") or table.args.get("catalog"):
            raise _refuse("table_not_granted", f"不能访问 {table.sql(DIALECT)}：只能查询授权的表（不带库名）。")
        name = table.name.lower()
        if name in ctes:
            continue
        if not grant.permitted(name):
            raise _refuse("table_not_granted", f"表 {table.name} 不在授权范围内。")


@lru_cache(maxsize=256)
def _schema(dataset: Dataset, columns: tuple[tuple[str, tuple[str, ...]], ...]) -> MappingSchema:
    """The granted columns as a sqlglot schema; built once per grant scope (qualify only reads it)."""
    mapping = {t: {c.name: c.type for c in dataset.table(t).columns if c.name in names}  # type: ignore[union-attr]
               for t, names in columns if dataset.table(t)}
    return MappingSchema(mapping, dialect=DIALECT)


def _schema_of(grant: Grant) -> MappingSchema:
    scope = tuple(sorted((t, tuple(sorted(names))) for t, names in grant.columns.items()))
    return _schema(grant.dataset, scope)


def _qualify(tree: exp.Expression, grant: Grant) -> exp.Expression:
    schema = _schema_of(grant)
    try:
        return qualify(
            tree, schema=schema, dialect=DIALECT, validate_qualify_columns=True, identify=True,
            quote_identifiers=True, expand_stars=True,
        )
    except SqlglotError as e:
        raise _refuse("column_not_granted", _unresolved(str(e).splitlines()[0])) from None


_UNRESOLVED = (
    (re.compile(r"Column '(?P<name>[^']{1,64})' could not be resolved"),
     "列“{name}”不在授权范围内、不存在，或在多张表中同名（请加表名限定）"),
    (re.compile(r"Unknown column: (?P<name>\S{1,64})"), "列“{name}”不在授权范围内或不存在"),
    (re.compile(r"Cannot automatically join: (?P<name>\S{1,64})"),
     "无法按列“{name}”连接（USING 的列须在两表中都已授权）"),
)
_POSITION = re.compile(r"Line: (\d+), Col: (\d+)")


def _unresolved(message: str) -> str:
    """sqlglot's English reason, said in Chinese (the column name and position are kept; nothing else is)."""
    for pattern, text in _UNRESOLVED:
        if found := pattern.search(message):
            where = _POSITION.search(message)
            return text.format(name=found["name"]) + (f"（第 {where[1]} 行第 {where[2]} 列）。" if where else "。")
    return "有列不在授权范围内或无法确定来源，请为每一列加表名限定。"


_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Neg, exp.Pow, exp.Abs)


def _harden(tree: exp.Expression) -> exp.Expression:
    """Make data-dependent runtime errors impossible where that is cheap: an error that happens only when a
    hidden value meets a condition is a one-bit oracle past disclosure control. Casts become TRY_CAST,
    divisors of ``//`` and ``%`` are NULLIF(…, 0), and integer arithmetic that could overflow is wrapped
    in TRY(…) (outermost arithmetic node only)."""
    for node in list(tree.walk()):
        if type(node) is exp.Cast:
            node.replace(exp.TryCast(this=node.this, to=node.to, safe=True))
        elif type(node) in (exp.IntDiv, exp.Mod) and not node.expression.is_number:
            node.set("expression", exp.Nullif(this=node.expression, expression=exp.Literal.number(0)))
    for node in list(tree.walk()):
        if type(node) in _ARITHMETIC and type(_outer(node)) not in _ARITHMETIC:
            node.replace(exp.Try(this=node.copy()))
    return tree


def _outer(node: exp.Expression) -> exp.Expression | None:
    """The nearest ancestor that is not a parenthesis."""
    parent = node.parent
    while isinstance(parent, exp.Paren):
        parent = parent.parent
    return parent


def _union_branches(tree: exp.Expression) -> Iterator[exp.Select]:
    if isinstance(tree, exp.Union):
        yield from _union_branches(tree.left)
        yield from _union_branches(tree.right)
    elif isinstance(tree, exp.Subquery):
        yield from _union_branches(tree.this)
    else:
        yield tree  # type: ignore[misc]


def _is_aggregate(select: exp.Select) -> bool:
    return bool(select.args.get("group")) or any(_aggregates_in(p) for p in select.expressions)


def _aggregates_in(node: exp.Expression) -> list[exp.Expression]:
    return [n for n in node.walk() if type(n) in AGGREGATES]


# --- sources ----------------------------------------------------------------------------------------------


def _sources(select: exp.Select, ctx: _Ctx) -> tuple[dict[str, _Relation], Table | None]:
    """Relations visible in ``select`` by alias, and the entity table whose rows it counts."""
    relations: dict[str, _Relation] = {}
    from_ = select.args.get("from_")
    if from_ is None:
        if select.args.get("joins"):
            raise _refuse("join_not_allowed", "没有 FROM 的查询不能连接表。")
        return relations, None
    first = from_.this
    rel = _base_or_derived(first, ctx, joined=False)
    relations[first.alias_or_name] = rel
    for join in select.args.get("joins") or []:
        _check_join_shape(join)
        target = join.this
        if not isinstance(target, exp.Table) or target.name in ctx.ctes:
            raise _refuse("join_not_allowed", "只能连接授权的数据表本身（不能连接子查询）。")
        table = ctx.grant.dataset.table(target.name)
        assert table is not None  # _check_tables
        if any(r.driving is table for r in relations.values()) or target.name in {
            t.name for t in (r.driving for r in relations.values()) if t
        }:
            raise _refuse("self_join", "同一张表在一个查询中只能使用一次。")
        joined = _base_or_derived(target, ctx, joined=table.kind is TableKind.ENTITY)
        _check_join_key(join, target.alias_or_name, table)
        relations[target.alias_or_name] = joined
    return relations, rel.driving


def _check_join_shape(join: exp.Join) -> None:
    kind, side, method = (join.args.get(k) for k in ("kind", "side", "method"))
    if kind or method or side not in (None, "", "LEFT") or not join.args.get("on") or join.args.get("using"):
        raise _refuse(
            "join_not_allowed", "只允许 [LEFT] JOIN 表 ON 条件 形式的等值连接，不允许笛卡尔积、USING 或其他连接方式。"
        )


def _check_join_key(join: exp.Join, alias: str, table: Table) -> None:
    """ON must be equalities between columns, one of them ``joined.key``: the joined side is unique."""
    conjuncts = list(join.args["on"].flatten()) if isinstance(join.args["on"], exp.And) else [join.args["on"]]
    keyed = False
    for c in conjuncts:
        if not (isinstance(c, exp.EQ) and isinstance(c.left, exp.Column) and isinstance(c.right, exp.Column)):
            raise _refuse("join_not_allowed", "连接条件只能是列与列的等值比较。")
        for col in (c.left, c.right):
            if col.table == alias and col.name == table.key:
                keyed = True
    if not keyed:
        raise _refuse(
            "join_not_on_key", f"连接表 {table.name} 时须按其唯一键 {table.key} 连接，避免一对多连接放大行数。"
        )


def _base_or_derived(node: exp.Expression, ctx: _Ctx, *, joined: bool) -> _Relation:
    if isinstance(node, exp.Table):
        if node.name in ctx.ctes:
            return ctx.ctes[node.name]
        table = ctx.grant.dataset.table(node.name)
        assert table is not None
        ctx.tables.add(table.name)
        cols = {name: _Info.of(table, col, joined) for name, col in ctx.grant.permitted(table.name).items()}
        return _Relation(cols, table, base=True)
    if isinstance(node, exp.Subquery):
        return _derived(node.this, ctx)
    raise _refuse("not_allowed", "FROM 中只能是授权的表或子查询。")


def _derived(query: exp.Expression, ctx: _Ctx) -> _Relation:
    """A subquery or CTE body: a row-level view over one entity table (plus keyed joins)."""
    if not isinstance(query, exp.Select):
        raise _refuse("union_in_subquery", "子查询中不允许 UNION：会重复计数。")
    for arg, what in (("distinct", "DISTINCT"), ("order", "ORDER BY"), ("limit", "LIMIT"), ("offset", "OFFSET"),
                      ("group", "GROUP BY"), ("having", "HAVING")):
        if query.args.get(arg):
            raise _refuse("subquery_shape", f"子查询中不允许 {what}：聚合只能在最外层进行。")
    if any(_aggregates_in(p) for p in query.expressions) or query.find(exp.Window):
        raise _refuse("subquery_shape", "子查询中不允许聚合函数或窗口函数：聚合只能在最外层进行。")
    relations, driving = _sources(query, ctx)
    _check_where(query, relations, ctx)
    columns: dict[str, _Info] = {}
    for proj in query.expressions:
        inner = proj.this if isinstance(proj, exp.Alias) else proj
        if isinstance(inner, exp.Column):
            info = _resolve(inner, relations, ctx)
        else:
            info = _expr_info(inner, relations, ctx, where="列表达式")
        columns[proj.alias_or_name] = info
    return _Relation(columns, driving)


# --- expressions --------------------------------------------------------------------------------------------


def _resolve(col: exp.Column, relations: dict[str, _Relation], ctx: _Ctx) -> _Info:
    rel = relations.get(col.table)
    info = rel.columns.get(col.name) if rel else None
    if info is None:
        raise _refuse("column_not_granted", f"列 {col.sql(DIALECT)} 不在授权范围内。")
    ctx.touched.append(info)
    return info


def _expr_info(node: exp.Expression, relations: dict[str, _Relation], ctx: _Ctx, *, where: str) -> _Info:
    """Role of a row-level expression; direct identifiers are refused in any computed expression."""
    infos = [_resolve(c, relations, ctx) for c in node.find_all(exp.Column)]
    merged = _merge(infos)
    if merged.role is Role.DIRECT_IDENTIFIER:
        raise _refuse(
            "identifier_function",
            f"{where}中不能使用直接标识符（含截取、哈希、拼接、转换等任何运算）：{', '.join(sorted(merged.sources))}。",
        )
    return merged


def _check_where(select: exp.Select, relations: dict[str, _Relation], ctx: _Ctx) -> None:
    where = select.args.get("where")
    if where is None:
        return
    if _aggregates_in(where) or where.find(exp.Window):
        raise _refuse("not_allowed", "WHERE 中不能使用聚合或窗口函数。")
    infos = [_resolve(c, relations, ctx) for c in where.find_all(exp.Column)]
    idents = sorted(s for i in infos if i.role is Role.DIRECT_IDENTIFIER for s in i.sources)
    if idents:
        raise _refuse("identifier_in_filter", f"筛选条件中不能使用直接标识符：{', '.join(idents)}。")


# --- the outermost SELECT -----------------------------------------------------------------------------------


def _select_branch(select: exp.Select, ctx: _Ctx) -> Branch:
    relations, driving = _sources(select, ctx)
    _check_where(select, relations, ctx)
    if not _is_aggregate(select):
        if select.args.get("having"):
            raise _refuse("not_allowed", "没有分组时不能使用 HAVING。")
        outputs = []
        for proj in select.expressions:
            info = _merge(_resolve(c, relations, ctx) for c in proj.find_all(exp.Column))
            outputs.append(OutputColumn(proj.alias_or_name, "value", tuple(sorted(info.sources))))
        return Branch(select, driving.name if driving else None, tuple(outputs))
    if select.find(exp.Window):
        raise _refuse("window_not_allowed", "非公开数据不能使用窗口函数。")
    if select.args.get("distinct"):
        raise _refuse("not_allowed", "聚合查询中不允许 SELECT DISTINCT。")
    if driving is None or driving.kind is not TableKind.ENTITY:
        raise _refuse("lookup_driving", "聚合查询须以实体表（人口、法人等）为主表，代码表只能被连接。")
    keys = _group_keys(select, relations, ctx)
    outputs = tuple(_output(p, keys, relations, ctx) for p in select.expressions)
    for clause in ("having", "order"):
        node = select.args.get(clause)
        if node is not None:
            used = _output(node, keys, relations, ctx, frozenset(o.name for o in outputs))
            _check_ranking(node, used, outputs)
            if clause == "having" and any(a.arg is not None or a.filter is not None for a in used.aggregates):
                # HAVING runs before disclosure control: a filtered count (a small, hidden one) would decide
                # whether a shown row is there.
                raise _refuse("ranking_not_allowed", "HAVING 只能使用分组列和 count(*)（不带 FILTER）。")
    return Branch(select, driving.name, outputs)


def _check_ranking(node: exp.Expression, used: OutputColumn, outputs: Iterable[OutputColumn]) -> None:
    """HAVING and ORDER BY may rank or filter by group keys and counts only: a row's presence or position
    would otherwise tell about a sum or statistic that disclosure control hides (bisection on HAVING)."""
    outputs = list(outputs)
    hidden = {o.name for o in outputs if o.kind not in ("key", "count")}
    named = {c.name for c in node.find_all(exp.Column) if not c.table}
    positions = [o.this for o in node.find_all(exp.Ordered) if o.this.is_int]  # ORDER BY 2 names an output
    by_position = {outputs[int(p.name) - 1].name for p in positions if 0 < int(p.name) <= len(outputs)}
    if any(a.kind is not AggKind.COUNT for a in used.aggregates) or (named | by_position) & hidden:
        raise _refuse(
            "ranking_not_allowed", "HAVING 和 ORDER BY 只能使用分组列和计数：按总和等统计值筛选或排序会泄露被隐藏的值。"
        )


def _group_keys(select: exp.Select, relations: dict[str, _Relation], ctx: _Ctx) -> list[exp.Expression]:
    group = select.args.get("group")
    if group is None:
        return []
    if group.args.get("all"):
        raise _refuse("group_by_all", "不支持 GROUP BY ALL，请列出分组表达式。")
    keys = list(group.expressions)
    for key in keys:
        if _aggregates_in(key):
            raise _refuse("not_allowed", "GROUP BY 中不能使用聚合函数。")
        infos = [_resolve(c, relations, ctx) for c in key.find_all(exp.Column)]
        idents = sorted(s for i in infos if i.role is Role.DIRECT_IDENTIFIER for s in i.sources)
        if idents:
            raise _refuse("identifier_in_group_by", f"不能按直接标识符分组（每组只有一人）：{', '.join(idents)}。")
        sensitive = sorted(s for i in infos if i.role is Role.SENSITIVE for s in i.sources)
        if sensitive and not isinstance(key, exp.Column):
            # A computed key over a sensitive value is an oracle in the key itself (a CASE that bands one
            # person's income, or mixes a disease into a county key); the bare column shows declared values.
            raise _refuse("sensitive_key_expression",
                          f"敏感属性只能按原列分组，不能在分组表达式中运算或与其他条件组合：{', '.join(sensitive)}。")
    return keys


def _under_key(node: exp.Expression, stop: exp.Expression, keys: list[exp.Expression]) -> bool:
    cur: exp.Expression | None = node
    while cur is not None:
        if any(cur == k for k in keys):
            return True
        if cur is stop:
            return False
        cur = cur.parent
    return False


def _output_alias(col: exp.Column, outputs: frozenset[str]) -> bool:
    """ORDER BY / HAVING may name an output column (DuckDB resolves unqualified names to aliases)."""
    return not col.table and col.name in outputs


def _output(
    proj: exp.Expression,
    keys: list[exp.Expression],
    relations: dict[str, _Relation],
    ctx: _Ctx,
    outputs: frozenset[str] = frozenset(),
) -> OutputColumn:
    aggs = _aggregates_in(proj)
    for a in aggs:
        if any(type(p) in AGGREGATES for p in _ancestors(a, proj)):
            raise _refuse("nested_aggregate", "不允许嵌套聚合。")
    for col in proj.find_all(exp.Column):
        if _output_alias(col, outputs) or _in_aggregate(col, aggs, proj) or _under_key(col, proj, keys):
            continue
        info = _resolve(col, relations, ctx)
        if info.role is Role.DIRECT_IDENTIFIER:
            raise _refuse("identifier_in_output", f"输出中不能含有直接标识符：{', '.join(sorted(info.sources))}。")
        raise _refuse(
            "row_level_output", f"列 {col.sql(DIALECT)} 既不在 GROUP BY 中也不在聚合函数中：非公开数据只能聚合输出。"
        )
    key_infos = [
        _resolve(c, relations, ctx)
        for c in proj.find_all(exp.Column)
        if not _in_aggregate(c, aggs, proj) and not _output_alias(c, outputs)
    ]
    checked = tuple(_aggregate(a, relations, ctx) for a in aggs)
    sources = sorted(_merge(key_infos).sources | {s for a in checked for s in a.sources})
    kinds = {a.kind for a in checked}
    kind = (
        "key" if not checked
        else "count" if kinds == {AggKind.COUNT}
        else "sum" if AggKind.MAGNITUDE in kinds
        else "statistic"
    )
    name = proj.alias_or_name if isinstance(proj, exp.Alias | exp.Column) else proj.sql(DIALECT)
    return OutputColumn(name, kind, tuple(sources), checked)


def _container(agg: exp.Expression) -> exp.Expression:
    """The aggregate with its FILTER clause, if any: columns of the filter belong to the aggregate."""
    return agg.parent if isinstance(agg.parent, exp.Filter) else agg


def _in_aggregate(col: exp.Expression, aggs: list[exp.Expression], stop: exp.Expression) -> bool:
    containers = [_container(a) for a in aggs]
    return any(c is p for c in containers for p in _ancestors(col, stop))


def _ancestors(node: exp.Expression, stop: exp.Expression) -> Iterator[exp.Expression]:
    cur = node
    while cur is not stop and cur.parent is not None:
        cur = cur.parent
        yield cur


def _aggregate(node: exp.Expression, relations: dict[str, _Relation], ctx: _Ctx) -> Aggregate:
    kind, roles = AGGREGATES[type(node)]
    name = node.key.upper()
    parent = node.parent
    flt = parent.args.get("expression") if isinstance(parent, exp.Filter) else None
    if flt is not None:
        flt = flt.this if isinstance(flt, exp.Where) else flt
        _expr_info(flt, relations, ctx, where="FILTER 条件")
    arg = node.this
    if isinstance(arg, exp.Distinct):
        if kind is not AggKind.COUNT or len(arg.expressions) != 1:
            raise _refuse("not_allowed", "DISTINCT 只能用于 count(DISTINCT 列)。")
        arg = arg.expressions[0]
    extra = [e for e in node.args.values() if isinstance(e, exp.Expression) and e is not node.this]
    for e in extra:  # quantile fractions and the like must be constants
        if e.find(exp.Column):
            raise _refuse("not_allowed", f"{name} 的参数只能是常量。")
    if isinstance(arg, exp.Star):
        return Aggregate(kind, name, None, flt, (), populations=(counted(None).within(flt),))
    if kind is AggKind.COUNT and isinstance(arg, exp.Column):
        info = _resolve(arg, relations, ctx)  # count(id) and count(DISTINCT id) are allowed
    else:
        info = _expr_info(arg, relations, ctx, where=f"{name} 的参数")
    if info.role not in roles:
        raise _refuse(
            "aggregate_not_allowed",
            f"{name} 不能用于{info.role.label}（{', '.join(sorted(info.sources))}）：会泄露个体原始值。",
        )
    if kind is not AggKind.COUNT and info.joined_entity:
        raise _refuse(
            "joined_entity_aggregate", f"{name} 不能汇总被连接实体表的列：这些值按主表的每一行重复计入。"
        )
    rel = relations.get(arg.table) if isinstance(arg, exp.Column) else None
    base_column = next(iter(info.sources)) if rel is not None and rel.base else None
    if kind is AggKind.COUNT:
        pops = [counted(arg)]
    elif kind is AggKind.MAGNITUDE:
        pops = decompose(arg, sums=type(node) is exp.Sum, refuse=_refuse)
    else:
        pops = [single(arg, _refuse)]
    return Aggregate(kind, name, arg, flt, tuple(sorted(info.sources)), base_column,
                     tuple(p.within(flt) for p in pops))


#: Distinct populations (other than the whole group) one row may have; each pair is measured.
MAX_POPULATIONS = 8


def _check_populations(branch: Branch) -> None:
    distinct = {p for o in branch.outputs for a in o.aggregates for p in a.populations if p.conditions or p.present}
    if len({(tuple(c.sql() for c in p.conditions), p.present.sql() if p.present else "") for p in distinct}) > \
            MAX_POPULATIONS:
        raise _refuse("too_many_populations",
                      f"一行中不同条件的汇总过多（最多 {MAX_POPULATIONS} 种），请拆分为多个查询。")


def _take_order(select: exp.Expression, outputs: tuple[OutputColumn, ...]) -> tuple[tuple[OrderKey, ...],
                                                                                   tuple[int | None, int]]:
    """ORDER BY, LIMIT and OFFSET of an aggregate query, taken out of the SQL that runs: the runner applies
    them to the protected result, after hidden rows are gone."""
    keys = []
    order = select.args.get("order")
    projections = [p.this if isinstance(p, exp.Alias) else p for p in select.expressions]
    names = [o.name.lower() for o in outputs]
    for item in order.expressions if order is not None else []:
        target = item.this
        if target.is_int and 0 < int(target.name) <= len(outputs):
            column = int(target.name) - 1
        elif isinstance(target, exp.Column) and not target.table and target.name.lower() in names:
            column = names.index(target.name.lower())
        elif any(target == p for p in projections):
            column = next(i for i, p in enumerate(projections) if target == p)
        else:
            raise _refuse("order_by_output", "聚合查询的 ORDER BY 只能按输出列（名称、序号或相同的表达式）排序。")
        keys.append(OrderKey(column, bool(item.args.get("desc")), bool(item.args.get("nulls_first"))))
    bounds = []
    for arg in ("limit", "offset"):
        node = select.args.get(arg)
        value = node.expression if node is not None else None
        if value is not None and not (value.is_int and int(value.name) >= 0):
            raise _refuse("not_allowed", "LIMIT 和 OFFSET 只能是非负整数常量。")
        bounds.append(int(value.name) if value is not None else None)
        select.set(arg, None)
    select.set("order", None)
    return tuple(keys), (bounds[0], bounds[1] or 0)


def _row_level_allowed(ctx: _Ctx) -> None:
    """Row-level output only when every column the query touches is public and 一般."""
    idents = sorted({s for i in ctx.touched if i.role is Role.DIRECT_IDENTIFIER for s in i.sources})
    if idents:
        raise _refuse("identifier_in_output", f"输出中不能含有直接标识符：{', '.join(idents)}。")
    private = sorted(
        {s for i in ctx.touched if i.role is not Role.PUBLIC or i.grade is not Grade.GENERAL for s in i.sources}
    )
    if private:
        raise _refuse(
            "row_level_output",
            f"非公开数据只能以聚合结果输出（按授权维度分组）：{', '.join(private)}。",
        )
