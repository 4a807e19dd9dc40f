"""The expression IR: one immutable tree that every engine interprets.

Nodes are frozen dataclasses with structural equality. Every node has three meanings,
all derived from this tree: the explicit evaluator (``model.compile``), the batch
evaluator over packed states, and the Z3 translation (``checker.symbolic``). Action
parameters never appear here: actions are instantiated per argument tuple, so a
parameter is already a constant.

Values are integer codes (see ``model.domains``): a Bool is 0/1, an Enum its label's
position, an IntRange the integer itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from .domains import BoolDomain, Domain, EnumDomain

#: The sort of an expression: a truth value, an integer, or a label of one enum.
Sort = Literal["bool", "int"] | EnumDomain

CmpOp = Literal["==", "!=", "<", "<=", ">", ">="]
ArithOp = Literal["+", "-", "*", "//", "%", "min", "max"]
#: The operators whose right operand must not be zero (Python's floor division and modulo).
DIVISIONS: tuple[ArithOp, ...] = ("//", "%")


def sort_of_domain(domain: Domain) -> Sort:
    """The sort of a variable of ``domain``."""
    if isinstance(domain, BoolDomain):
        return "bool"
    if isinstance(domain, EnumDomain):
        return domain
    return "int"


@dataclass(frozen=True)
class Expr:
    """Base of all IR nodes."""

    def children(self) -> tuple[Expr, ...]:
        return ()

    @property
    def sort(self) -> Sort:
        raise NotImplementedError


@dataclass(frozen=True)
class Const(Expr):
    """A literal, already encoded as an integer code of ``const_sort``."""

    value: int
    const_sort: Sort = "int"

    @property
    def sort(self) -> Sort:
        return self.const_sort


@dataclass(frozen=True)
class Var(Expr):
    """A read of a state variable: a scalar (``index`` is None) or one element of a family.

    ``size`` is the family's size (0 for a scalar); ``primed`` reads the post-state of
    a transition (only inside step invariants).
    """

    name: str
    domain: Domain
    index: Expr | None = None
    size: int = 0
    primed: bool = False

    def children(self) -> tuple[Expr, ...]:
        return () if self.index is None else (self.index,)

    @property
    def sort(self) -> Sort:
        return sort_of_domain(self.domain)


@dataclass(frozen=True)
class Not(Expr):
    """Logical negation."""

    arg: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.arg,)

    @property
    def sort(self) -> Sort:
        return "bool"


@dataclass(frozen=True)
class And(Expr):
    """Conjunction; the empty conjunction is true."""

    args: tuple[Expr, ...]

    def children(self) -> tuple[Expr, ...]:
        return self.args

    @property
    def sort(self) -> Sort:
        return "bool"


@dataclass(frozen=True)
class Or(Expr):
    """Disjunction; the empty disjunction is false."""

    args: tuple[Expr, ...]

    def children(self) -> tuple[Expr, ...]:
        return self.args

    @property
    def sort(self) -> Sort:
        return "bool"


@dataclass(frozen=True)
class Implies(Expr):
    """Material implication."""

    lhs: Expr
    rhs: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.lhs, self.rhs)

    @property
    def sort(self) -> Sort:
        return "bool"


@dataclass(frozen=True)
class Cmp(Expr):
    """A comparison; ordering comparisons only on ints."""

    op: CmpOp
    lhs: Expr
    rhs: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.lhs, self.rhs)

    @property
    def sort(self) -> Sort:
        return "bool"


@dataclass(frozen=True)
class Arith(Expr):
    """Integer arithmetic (unbounded; domains are enforced where values are stored).

    ``//`` and ``%`` are Python's floor division and modulo (the remainder takes the
    divisor's sign), so every engine agrees with the explicit semantics, which are
    Python; a zero divisor is a model error, like an index outside its family.
    """

    op: ArithOp
    lhs: Expr
    rhs: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.lhs, self.rhs)

    @property
    def sort(self) -> Sort:
        return "int"


@dataclass(frozen=True)
class Ite(Expr):
    """If-then-else; both branches have one sort."""

    cond: Expr
    then: Expr
    orelse: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.cond, self.then, self.orelse)

    @property
    def sort(self) -> Sort:
        return self.then.sort


TRUE = Const(1, "bool")
FALSE = Const(0, "bool")


@dataclass(frozen=True)
class Assign:
    """``name[index] := value`` in the post-state (``index`` None for a scalar).

    The value and the index are evaluated in the pre-state; all assignments of one
    action happen at once.
    """

    name: str
    domain: Domain
    value: Expr
    index: Expr | None = None
    size: int = 0


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node of ``expr``, parents before children."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children()))


def reads(expr: Expr) -> frozenset[str]:
    """Names of the variables ``expr`` reads (pre- or post-state)."""
    return frozenset(node.name for node in walk(expr) if isinstance(node, Var))


def uses_primed(expr: Expr) -> bool:
    """Whether ``expr`` reads the post-state (only step invariants may)."""
    return any(isinstance(node, Var) and node.primed for node in walk(expr))
