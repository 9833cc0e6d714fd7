"""What an aggregate reads, as populations: the rows whose data reach the cell, each measured on its own.

Counting every row an aggregate touches as a contributor is unsound: in ``sum(CASE WHEN <one person> THEN x
ELSE 1000 END)`` every other row contributes the known constant 1000, so the sum minus the padding is one
person's value, while the row count, the bound ``Σ|v| ≥ k·max|v|`` and both dominance rules pass. So an
aggregate's argument is split into branches (CASE, IF, COALESCE, NULLIF — nested ones too), and each branch is a
:class:`Population` measured separately by disclosure control:

* a branch whose value reads no column (a constant) is a *counting* population: ``c × |rows|`` tells how many
  rows took it (a NULL branch contributes nothing; neither does a 0 branch of a sum);
* a branch whose value reads data is a *data* population: its rows, their non-zero contributions and the
  largest one, measured on the value that carries the information.

The values themselves must have a shape whose contributions can be measured (:func:`term`): either affine in
one column (``a·x + b``: the information is ``x``; ``b`` is known padding) or built from columns by
zero-preserving operations only (products, division by a constant, abs, sign, floor, round): a row then
contributes nothing exactly when its term is 0, so "non-zero contributions" are the rows that carry data. A sum
that mixes both (``x·floor(age/100) + 1000``) could pad a selective term with known constants and is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlglot import exp

from pubdata.errors import DomainError

Refuse = Callable[[str, str], DomainError]

#: Constants in a measured term stay within these magnitudes, so no realistic value overflows to ±inf.
MAX_CONSTANT = 1e9
MIN_CONSTANT = 1e-9
#: Column factors in one product (more can overflow on realistic values).
MAX_FACTORS = 3

_SHAPE = (
    "只能汇总单个列的线性变换（如 sum(x)、avg(x / 10000)、sum(x + 5)）、列的乘积或取整（如 sum(x * y)、"
    "sum(floor(x / 100))），或在 CASE 各分支中取这样的值或常量；多个列相加减请分别汇总后再运算（sum(x) - sum(y)）。"
)


@dataclass(frozen=True)
class Population:
    """Rows of the cell's group that one branch of an aggregate reads.

    ``conditions`` (each taken as false when NULL) select the branch; ``value`` is the branch's term (None
    for a counting branch) and ``measured`` the expression whose contributions disclosure control measures
    (the column of an affine term, else the term). The rows are those meeting every condition whose value is
    not NULL; ``bare`` names the base column when the value is exactly one (the runner knows whether it can
    be NULL)."""

    conditions: tuple[exp.Expression, ...]
    #: The expression that must not be NULL for a row to belong (a count's argument, a data branch's value).
    present: exp.Expression | None
    measured: exp.Expression | None
    bare: exp.Column | None = None

    @property
    def counting(self) -> bool:
        return self.measured is None

    def within(self, condition: exp.Expression | None) -> Population:
        """The same population under an aggregate's FILTER condition."""
        if condition is None:
            return self
        return Population((truth(condition), *self.conditions), self.present, self.measured, self.bare)


def counted(arg: exp.Expression | None) -> Population:
    """The population of ``count(*)`` (arg None) or ``count(arg)``: the rows where arg is not NULL."""
    bare = _bare(arg) if arg is not None else None
    return Population((), arg, None, bare if isinstance(bare, exp.Column) else None)


def decompose(arg: exp.Expression, *, sums: bool, refuse: Refuse) -> list[Population]:
    """The populations of a magnitude aggregate's argument (``sums``: a 0 branch contributes nothing)."""
    out: list[Population] = []
    for conditions, value in _branches(arg, ()):
        if _constant(value):
            if isinstance(_bare(value), exp.Null) or (sums and _is_zero(value)):
                continue
            _check_constant(value, refuse)
            out.append(Population(conditions, None, None))
        else:
            out.append(_data(conditions, value, refuse))
    return out


def single(arg: exp.Expression, refuse: Refuse) -> Population:
    """The one population of an order statistic's argument (no branches: min/max/median of a CASE could pick
    one row's value out)."""
    if not isinstance(_bare(arg), exp.Column) and _has_branches(arg):
        raise refuse("aggregate_expression",
                     "最小值、最大值和分位数只能作用于列或其简单变换，不能作用于 CASE 等条件表达式。")
    return _data((), arg, refuse)


def _data(conditions: tuple[exp.Expression, ...], value: exp.Expression, refuse: Refuse) -> Population:
    measured = term(value, refuse)
    bare = _bare(value)
    return Population(conditions, value, measured, bare if isinstance(bare, exp.Column) else None)


def _bare(node: exp.Expression) -> exp.Expression:
    """The node without parentheses and the TRY wrappers the hardening step added."""
    while isinstance(node, exp.Paren | exp.Try):
        node = node.this
    return node


def _has_branches(node: exp.Expression) -> bool:
    return any(isinstance(n, exp.Case | exp.If | exp.Coalesce | exp.Nullif | exp.Greatest | exp.Least)
               for n in node.walk())


def _branches(node: exp.Expression, path: tuple[exp.Expression, ...]
              ) -> list[tuple[tuple[exp.Expression, ...], exp.Expression]]:
    """(conditions, value) for every way the expression can go; conditions are in SQL's CASE sense."""
    node = _bare(node)
    if isinstance(node, exp.Case):
        ifs = [(i.this if node.this is None else exp.EQ(this=node.this.copy(), expression=i.this), i.args["true"])
               for i in node.args.get("ifs") or []]
        return _cascade(ifs, node.args.get("default") or exp.Null(), path)
    if isinstance(node, exp.If):
        return _cascade([(node.this, node.args["true"])], node.args.get("false") or exp.Null(), path)
    if isinstance(node, exp.Coalesce):
        items = [node.this, *node.expressions]
        ifs = [(exp.Not(this=exp.Is(this=e.copy(), expression=exp.Null())), e) for e in items[:-1]]
        return _cascade(ifs, items[-1], path)
    if isinstance(node, exp.Nullif):
        return _cascade([(exp.EQ(this=node.this.copy(), expression=node.expression.copy()), exp.Null())],
                        node.this, path)
    return [(path, node)]  # a branch inside arithmetic is refused by term() with the shape message


def _cascade(ifs: list[tuple[exp.Expression, exp.Expression]], default: exp.Expression,
             path: tuple[exp.Expression, ...]) -> list[tuple[tuple[exp.Expression, ...], exp.Expression]]:
    out = []
    earlier: list[exp.Expression] = []
    for cond, value in ifs:
        out += _branches(value, (*path, *(exp.Not(this=truth(c)) for c in earlier), truth(cond)))
        earlier.append(cond)
    out += _branches(default, (*path, *(exp.Not(this=truth(c)) for c in earlier)))
    return out


def truth(cond: exp.Expression) -> exp.Expression:
    """A CASE condition as a two-valued one: NULL counts as false, as CASE takes it."""
    return exp.Coalesce(this=exp.Paren(this=cond.copy()), expressions=[exp.false()])


def _constant(node: exp.Expression) -> bool:
    return node.find(exp.Column) is None


def _is_zero(node: exp.Expression) -> bool:
    node = _bare(node)
    return isinstance(node, exp.Literal) and node.is_number and float(node.this) == 0


def _number(node: exp.Expression) -> float | None:
    node = _bare(node)
    if isinstance(node, exp.Neg):
        inner = _number(node.this)
        return None if inner is None else -inner
    if isinstance(node, exp.Literal) and node.is_number:
        return float(node.this)
    return None


def _check_constant(node: exp.Expression, refuse: Refuse) -> None:
    value = _number(node)
    if value is None:
        raise refuse("aggregate_expression", "CASE 分支中的常量只能是数字。")
    if value and not MIN_CONSTANT <= abs(value) <= MAX_CONSTANT:
        raise refuse("aggregate_expression", f"汇总中的常量须在 {MIN_CONSTANT:g} 至 {MAX_CONSTANT:g} 之间。")


_ZERO_PRESERVING = (exp.Abs, exp.Sign, exp.Floor, exp.Ceil, exp.Round)
_NUMERIC_CASTS = {exp.DataType.Type.TINYINT, exp.DataType.Type.SMALLINT, exp.DataType.Type.INT,
                  exp.DataType.Type.BIGINT, exp.DataType.Type.FLOAT, exp.DataType.Type.DOUBLE,
                  exp.DataType.Type.DECIMAL}


def term(value: exp.Expression, refuse: Refuse) -> exp.Expression:
    """What disclosure control measures for a data term: the column of an affine term, else the term itself
    (zero-preserving); anything else is refused."""
    columns = list(value.find_all(exp.Column))
    if len(columns) == 1 and _affine(value):
        return columns[0].copy()
    factors = _factors(value)
    if factors is None:
        raise refuse("aggregate_expression", _SHAPE)
    if factors > MAX_FACTORS:
        raise refuse("aggregate_expression", f"一个乘积中最多 {MAX_FACTORS} 个列。")
    return value.copy()


def _affine(node: exp.Expression) -> bool:
    """``a·x + b`` in one column x: +, −, × and ÷ by constants, negation, numeric casts."""
    node = _bare(node)
    if isinstance(node, exp.Column):
        return True
    if isinstance(node, exp.Neg):
        return _affine(node.this)
    if isinstance(node, exp.TryCast):
        return node.to.this in _NUMERIC_CASTS and _affine(node.this)
    if isinstance(node, exp.Add | exp.Sub | exp.Mul):
        left, right = node.this, node.expression
        if _constant(left):
            return _bounded(left) and _affine(right)
        if _constant(right):
            return _bounded(right) and _affine(left)
        return False
    if isinstance(node, exp.Div):
        return _constant(node.expression) and _nonzero(node.expression) and _affine(node.this)
    return False


def _factors(node: exp.Expression) -> int | None:
    """Column factors of a zero-preserving term, or None when it is not one."""
    node = _bare(node)
    if isinstance(node, exp.Column):
        return 1
    if isinstance(node, exp.Neg):
        return _factors(node.this)
    if isinstance(node, exp.TryCast):
        return _factors(node.this) if node.to.this in _NUMERIC_CASTS else None
    if isinstance(node, _ZERO_PRESERVING):
        extra = [v for k, v in node.args.items() if k != "this" and isinstance(v, exp.Expression)]
        if any(not _constant(e) for e in extra):
            return None
        return _factors(node.this)
    if isinstance(node, exp.Mul):
        parts = [node.this, node.expression]
        counts = [0 if _constant(p) and _bounded(p) else _factors(p) for p in parts]
        if any(c is None for c in counts) or all(c == 0 for c in counts):
            return None
        return sum(c for c in counts if c)
    if isinstance(node, exp.Div | exp.IntDiv | exp.Mod):
        divisor = node.expression
        if not (_constant(divisor) and _nonzero(divisor)):
            return None
        return _factors(node.this)
    return None


def _bounded(node: exp.Expression) -> bool:
    value = _number(node)
    return value is not None and (value == 0 or MIN_CONSTANT <= abs(value) <= MAX_CONSTANT)


def _nonzero(node: exp.Expression) -> bool:
    value = _number(node)
    return value is not None and value != 0 and _bounded(node)
