"""Lineage by construction: a checked query's CTEs and derived tables merged into one flat SELECT per branch.

Name-based lineage through derived tables is unsound: a derived table may carry two columns of one name (the
analysis keeps one, DuckDB binds the other), a table alias may rename columns by position, and case decides
nothing in DuckDB. So the policy does not follow names through derived tables at all. Derived tables may only
filter, join and compute row by row (no aggregation, DISTINCT, ORDER BY, LIMIT or set operation — the policy
refuses those first), which makes every one of them mergeable: each outer reference ``s.x`` is replaced by the
expression that defines ``x`` inside ``s``, the inner WHERE is joined to the outer one with AND, and the inner
FROM and joins become the outer ones. The result reads base tables only, is what the policy analyses, and is
what DuckDB runs — there is no second reading of the query that could differ.

Refused here: duplicate output names in a derived table or the outermost SELECT (case-insensitive, as DuckDB
binds), column lists on aliases (``AS t(a, b)`` renames by position), two relations with one alias, nesting
deeper than :data:`MAX_DEPTH`, and merged trees larger than :data:`MAX_NODES` (substitution can grow a tree
exponentially: ``b = a || a`` one level down, ``c = b || b`` the next).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from pubdata.errors import DomainError

MAX_DEPTH = 8
MAX_NODES = 4_000

Refuse = Callable[[str, str], DomainError]


def output_names_unique(select: exp.Select, refuse: Refuse) -> dict[str, exp.Expression]:
    """A SELECT's outputs by lower-cased name; two outputs of one name are refused."""
    out: dict[str, exp.Expression] = {}
    for proj in select.expressions:
        name = proj.alias_or_name.lower()
        if name in out:
            raise refuse("duplicate_name",
                         f"输出列名“{proj.alias_or_name}”重复：同一层查询中的列名不能相同（不区分大小写）。")
        out[name] = proj.this if isinstance(proj, exp.Alias) else proj
    return out


def check_aliases(tree: exp.Expression, refuse: Refuse) -> None:
    """No column lists on table aliases, and no two relations of one FROM with one alias (case-insensitive)."""
    for alias in tree.find_all(exp.TableAlias):
        if alias.columns:
            raise refuse("alias_columns", "不允许在别名后列出列名（如 AS t(a, b)）：列按位置改名会使列的来源不清。")
    for select in tree.find_all(exp.Select):
        seen: set[str] = set()
        relations = [select.args["from_"].this] if select.args.get("from_") else []
        relations += [j.this for j in select.args.get("joins") or []]
        for rel in relations:
            name = rel.alias_or_name.lower()
            if name in seen:
                raise refuse("duplicate_name", f"同一查询中的表别名“{rel.alias_or_name}”重复。")
            seen.add(name)


def flatten(tree: exp.Expression, refuse: Refuse) -> exp.Expression:
    """The qualified ``tree`` with every CTE and derived table merged away (a new tree)."""
    tree = tree.copy()
    with_ = tree.args.get("with_")
    ctes: dict[str, exp.Expression] = {}
    if with_ is not None:
        ctes = {cte.alias_or_name.lower(): cte.this for cte in with_.expressions}
        tree.set("with_", None)
    for select in _branches(tree):
        output_names_unique(select, refuse)
        _flatten_select(select, ctes, refuse, 0)
        if sum(1 for _ in select.walk()) > MAX_NODES:
            raise refuse("too_complex", "查询过于复杂（展开子查询后表达式过大），请简化。")
    return tree


def _branches(tree: exp.Expression) -> list[exp.Select]:
    if isinstance(tree, exp.Union):
        return _branches(tree.left) + _branches(tree.right)
    if isinstance(tree, exp.Subquery):
        return _branches(tree.this)
    return [tree] if isinstance(tree, exp.Select) else []


def _flatten_select(select: exp.Select, ctes: dict[str, exp.Expression], refuse: Refuse, depth: int) -> None:
    from_ = select.args.get("from_")
    if from_ is None:
        return
    source = from_.this
    if isinstance(source, exp.Table) and source.name.lower() in ctes:
        inner = ctes[source.name.lower()].copy()
    elif isinstance(source, exp.Subquery):
        inner = source.this.copy()
    else:
        return
    if depth >= MAX_DEPTH:
        raise refuse("too_deep", f"子查询嵌套超过 {MAX_DEPTH} 层，请简化。")
    if not isinstance(inner, exp.Select):
        raise refuse("union_in_subquery", "子查询中不允许 UNION：会重复计数。")
    _flatten_select(inner, ctes, refuse, depth + 1)
    alias = source.alias_or_name.lower()
    defs = output_names_unique(inner, refuse)
    outer_joins = list(select.args.get("joins") or [])
    _rename_colliding(inner, {j.this.alias_or_name.lower() for j in outer_joins})

    def substitute(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and node.table.lower() == alias:
            definition = defs.get(node.name.lower())
            if definition is None:
                raise refuse("column_not_granted", f"子查询 {source.alias_or_name} 中没有列“{node.name}”。")
            copy = definition.copy()
            return copy if isinstance(copy, exp.Column | exp.Literal | exp.Null | exp.Boolean) else exp.Paren(this=copy)
        return node

    for key in ("expressions", "where", "group", "having", "order", "qualify"):
        value = select.args.get(key)
        if isinstance(value, list):
            select.set(key, [v.transform(substitute) for v in value])
        elif value is not None:
            select.set(key, value.transform(substitute))
    joins = [*(inner.args.get("joins") or []), *(j.transform(substitute) for j in outer_joins)]
    select.set("from_", inner.args["from_"])
    select.set("joins", joins or None)
    conditions = [w.this for w in (inner.args.get("where"), select.args.get("where")) if w is not None]
    if conditions:
        merged = conditions[0] if len(conditions) == 1 else exp.and_(
            *(exp.Paren(this=c) if isinstance(c, exp.Or) else c for c in conditions), copy=False)
        select.set("where", exp.Where(this=merged))


def _rename_colliding(inner: exp.Select, taken: set[str]) -> None:
    """Inner relation aliases that an outer join also uses get a fresh name (both would be one alias)."""
    relations = [inner.args["from_"].this, *(j.this for j in inner.args.get("joins") or [])]
    used = taken | {r.alias_or_name.lower() for r in relations}
    for rel in relations:
        old = rel.alias_or_name.lower()
        if old not in taken:
            continue
        n = 1
        while f"{old}_{n}" in used:
            n += 1
        new = f"{old}_{n}"
        used.add(new)
        rel.set("alias", exp.TableAlias(this=exp.to_identifier(new, quoted=True)))
        for col in inner.find_all(exp.Column):
            if col.table.lower() == old:
                col.set("table", exp.to_identifier(new, quoted=True))
