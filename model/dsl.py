"""The modelling front-end: Python operators that build IR expressions.

``s.pc[i] == "thinking"`` builds a ``Cmp`` node, not a Python bool. A ``Term`` refuses
to be used as a Python truth value, so ``if s.x:`` or ``a and b`` inside a guard is an
error that says what to write instead (``&``, ``|``, ``~``, ``when``, ``ite``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Union, overload

from .domains import EnumDomain, IntRangeDomain
from .errors import ModelError
from .expr import (
    DIVISIONS,
    FALSE,
    TRUE,
    And,
    Arith,
    ArithOp,
    Assign,
    Cmp,
    CmpOp,
    Const,
    Expr,
    Implies,
    Ite,
    Not,
    Or,
    Sort,
    Var,
)
from .system import VarDecl

Operand = Union["Term", "LabelChoice", bool, int, str]


def _sort_name(sort: Sort) -> str:
    return sort if isinstance(sort, str) else f"enum {sort.name}"


def _a(sort: Sort) -> str:
    """The sort's name with its article: "an int", "a bool", "an enum pc"."""
    name = _sort_name(sort)
    return ("an " if name[0] in "aeiou" else "a ") + name


def lift(value: Operand, sort: Sort | None = None, where: str = "expression") -> Expr:
    """The IR node for ``value``; a string needs ``sort`` to be the enum it labels."""
    if isinstance(value, Term):
        return value.node
    if isinstance(value, bool):
        return TRUE if value else FALSE
    if isinstance(value, int):
        return Const(value, "int")
    if isinstance(value, str):
        if isinstance(sort, EnumDomain):
            return Const(sort.encode(value, where), sort)
        raise ModelError(f"{where}: label {value!r} used where {_a(sort or 'int')} is expected")
    if isinstance(value, LabelChoice):
        return value.resolve(sort, where)
    raise ModelError(f"{where}: cannot use {value!r} ({type(value).__name__}) in an expression")


def _check_same_sort(a: Expr, b: Expr, op: str) -> None:
    sa, sb = a.sort, b.sort
    if sa == sb:
        return
    raise ModelError(f"'{op}' between {_a(sa)} and {_a(sb)}")


class Term:
    """A wrapped IR node with operators that build larger IR nodes."""

    __slots__ = ("node",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, node: Expr) -> None:
        self.node = node

    def __repr__(self) -> str:
        return f"Term({self.node!r})"

    def __bool__(self) -> bool:
        raise ModelError(
            "a model expression was used as a Python truth value; build conditions with "
            "& | ~ and when(...)/ite(...), not 'and', 'or', 'not' or 'if' (and "
            "minimum/maximum instead of min/max)")

    # comparisons
    def _cmp(self, op: CmpOp, other: Operand) -> Term:
        rhs = lift(other, self.node.sort, f"'{op}'")
        _check_same_sort(self.node, rhs, op)
        if op not in ("==", "!=") and self.node.sort != "int":
            raise ModelError(f"'{op}' needs integers, got {_a(self.node.sort)}")
        if op in ("==", "!=") and isinstance(self.node, Const) and isinstance(rhs, Const):
            # an attribute at a fixed index (a page's class) is a constant: fold the test
            return Term(TRUE if (self.node.value == rhs.value) == (op == "==") else FALSE)
        return Term(Cmp(op, self.node, rhs))

    def __eq__(self, other: Operand) -> Term:  # type: ignore[override]
        return self._cmp("==", other)

    def __ne__(self, other: Operand) -> Term:  # type: ignore[override]
        return self._cmp("!=", other)

    def __lt__(self, other: Operand) -> Term:
        return self._cmp("<", other)

    def __le__(self, other: Operand) -> Term:
        return self._cmp("<=", other)

    def __gt__(self, other: Operand) -> Term:
        return self._cmp(">", other)

    def __ge__(self, other: Operand) -> Term:
        return self._cmp(">=", other)

    # arithmetic
    def _arith(self, op: ArithOp, other: Operand, swap: bool = False) -> Term:
        rhs = lift(other, "int", f"'{op}'")
        for x in (self.node, rhs):
            if x.sort != "int":
                raise ModelError(f"'{op}' needs integers, got {_a(x.sort)}")
        a, b = (rhs, self.node) if swap else (self.node, rhs)
        if op in DIVISIONS and b == Const(0, "int"):
            raise ModelError(f"'{op}' by zero")
        return Term(Arith(op, a, b))

    def __add__(self, other: Operand) -> Term:
        return self._arith("+", other)

    def __radd__(self, other: Operand) -> Term:
        return self._arith("+", other, swap=True)

    def __sub__(self, other: Operand) -> Term:
        return self._arith("-", other)

    def __rsub__(self, other: Operand) -> Term:
        return self._arith("-", other, swap=True)

    def __mul__(self, other: Operand) -> Term:
        return self._arith("*", other)

    def __rmul__(self, other: Operand) -> Term:
        return self._arith("*", other, swap=True)

    def __floordiv__(self, other: Operand) -> Term:
        """Python's floor division (a zero divisor is a model error)."""
        return self._arith("//", other)

    def __rfloordiv__(self, other: Operand) -> Term:
        return self._arith("//", other, swap=True)

    def __mod__(self, other: Operand) -> Term:
        """Python's modulo: the remainder takes the divisor's sign (``-1 % 4 == 3``)."""
        return self._arith("%", other)

    def __rmod__(self, other: Operand) -> Term:
        return self._arith("%", other, swap=True)

    def __truediv__(self, other: Operand) -> Term:
        raise ModelError("'/' makes fractions; model values are integers: use '//' "
                         "(floor division) or '%'")

    def __rtruediv__(self, other: Operand) -> Term:
        return self.__truediv__(other)

    def __neg__(self) -> Term:
        return self._arith("-", 0, swap=True)

    def __pos__(self) -> Term:
        return self._arith("+", 0)

    def __abs__(self) -> Term:
        return maximum(self, -self)

    # logic
    def __and__(self, other: Operand) -> Term:
        return all_of([self, other])

    def __rand__(self, other: Operand) -> Term:
        return all_of([other, self])

    def __or__(self, other: Operand) -> Term:
        return any_of([self, other])

    def __ror__(self, other: Operand) -> Term:
        return any_of([other, self])

    def __invert__(self) -> Term:
        return not_(self)

    def implies(self, other: Operand) -> Term:
        return implies(self, other)

    # updates
    def becomes(self, value: Operand) -> Assign:
        """The update ``self := value`` (``self`` must be a variable of the pre-state)."""
        node = self.node
        if not isinstance(node, Var) or node.primed:
            raise ModelError("only a state variable can be assigned (x.becomes(v))")
        where = f"assignment to {node.name}"
        rhs = lift(value, node.sort, where)
        if rhs.sort != node.sort:
            raise ModelError(
                f"{where}: {_a(rhs.sort)} cannot be stored in {_a(node.sort)}")
        if isinstance(rhs, Const) and isinstance(node.domain, IntRangeDomain):
            node.domain.encode(rhs.value, where)
        return Assign(node.name, node.domain, rhs, node.index, node.size)


def condition_node(value: Operand, where: str) -> Expr:
    """The condition ``value`` stands for, or a ModelError (at ``where``) for any other value."""
    node = lift(value, "bool", where)
    if node.sort != "bool":
        raise ModelError(f"{where}: expected a condition, got {_a(node.sort)}")
    return node


def all_of(items: Iterable[Operand]) -> Term:
    """The conjunction of ``items`` (Terms or Python bools); constants fold away."""
    args: list[Expr] = []
    for item in items:
        node = condition_node(item, "all_of/&")
        if node == FALSE:
            return Term(FALSE)
        if node == TRUE:
            continue
        args.extend(node.args if isinstance(node, And) else (node,))
    if not args:
        return Term(TRUE)
    return Term(args[0] if len(args) == 1 else And(tuple(args)))


def any_of(items: Iterable[Operand]) -> Term:
    """The disjunction of ``items``; constants fold away."""
    args: list[Expr] = []
    for item in items:
        node = condition_node(item, "any_of/|")
        if node == TRUE:
            return Term(TRUE)
        if node == FALSE:
            continue
        args.extend(node.args if isinstance(node, Or) else (node,))
    if not args:
        return Term(FALSE)
    return Term(args[0] if len(args) == 1 else Or(tuple(args)))


def not_(value: Operand) -> Term:
    """Negation (also ``~term``)."""
    node = condition_node(value, "~")
    if node == TRUE:
        return Term(FALSE)
    if node == FALSE:
        return Term(TRUE)
    if isinstance(node, Not):
        return Term(node.arg)
    return Term(Not(node))


def implies(lhs: Operand, rhs: Operand) -> Term:
    """``lhs ⇒ rhs``."""
    a, b = condition_node(lhs, "implies"), condition_node(rhs, "implies")
    if a == FALSE or b == TRUE:
        return Term(TRUE)
    if a == TRUE:
        return Term(b)
    return Term(Implies(a, b))


@dataclass(frozen=True)
class LabelChoice:
    """``ite`` between two enum labels: its enum is fixed where it is used (the variable
    it is stored in, or the term it is compared with)."""

    cond: Expr
    then: str | LabelChoice
    orelse: str | LabelChoice

    def resolve(self, sort: Sort | None, where: str) -> Expr:
        if not isinstance(sort, EnumDomain):
            raise ModelError(f"{where}: ite between labels {self.then!r} and {self.orelse!r} "
                             "is used where no enum is known")
        a, b = lift(self.then, sort, where), lift(self.orelse, sort, where)
        return a if a == b else Ite(self.cond, a, b)

    def __bool__(self) -> bool:
        raise ModelError("a model expression was used as a Python truth value")


@overload
def ite(cond: Operand, then: str | LabelChoice,  # type: ignore[overload-overlap]
        orelse: str | LabelChoice) -> LabelChoice: ...
@overload
def ite(cond: Operand, then: Operand, orelse: Operand) -> Term: ...
def ite(cond: Operand, then: Operand, orelse: Operand) -> Term | LabelChoice:
    """``then`` if ``cond`` else ``orelse``; a label string takes the other branch's enum,
    or, between two labels, the enum of the variable or term it meets."""
    c = condition_node(cond, "ite")
    labels = (str, LabelChoice)
    if isinstance(then, labels) and isinstance(orelse, labels):
        if c in (TRUE, FALSE):
            chosen = then if c == TRUE else orelse
            if isinstance(chosen, str):
                return LabelChoice(TRUE, chosen, chosen)
            return chosen
        return LabelChoice(c, then, orelse)
    sort_hint = then.node.sort if isinstance(then, Term) else (
        orelse.node.sort if isinstance(orelse, Term) else None)
    a = lift(then, sort_hint, "ite")
    b = lift(orelse, a.sort, "ite")
    _check_same_sort(a, b, "ite")
    if c == TRUE:
        return Term(a)
    if c == FALSE:
        return Term(b)
    if a == b:
        return Term(a)
    return Term(Ite(c, a, b))


def _int_node(value: Operand, where: str) -> Expr:
    node = lift(value, "int", where)
    if node.sort != "int":
        raise ModelError(f"{where}: expected integers, got {_a(node.sort)}")
    return node


def minimum(first: Operand, *rest: Operand) -> Term:
    """The least of integer terms (Python's ``min`` would ask a term for a truth value)."""
    node = _int_node(first, "minimum")
    for item in rest:
        node = Arith("min", node, _int_node(item, "minimum"))
    return Term(node)


def maximum(first: Operand, *rest: Operand) -> Term:
    """The greatest of integer terms (also ``abs(term)``)."""
    node = _int_node(first, "maximum")
    for item in rest:
        node = Arith("max", node, _int_node(item, "maximum"))
    return Term(node)


def label(domain: EnumDomain, name: str) -> Term:
    """The label ``name`` of enum ``domain`` as a term (where no other branch fixes the enum)."""
    return Term(Const(domain.encode(name, f"label of {domain.name}"), domain))


def count(items: Iterable[Operand]) -> Term:
    """How many of ``items`` hold (an integer term)."""
    terms: list[Expr] = []
    constant = 0
    for item in items:
        node = condition_node(item, "count")
        if node == TRUE:
            constant += 1
        elif node != FALSE:
            terms.append(Ite(node, Const(1, "int"), Const(0, "int")))
    return _sum_nodes(terms, constant)


def _sum_nodes(terms: list[Expr], constant: int) -> Term:
    total: Expr | None = None
    for t in terms:
        total = t if total is None else Arith("+", total, t)
    if total is None:
        return Term(Const(constant, "int"))
    return Term(Arith("+", total, Const(constant, "int")) if constant else total)


def total(items: Iterable[Operand]) -> Term:
    """The sum of integer ``items``."""
    terms: list[Expr] = []
    constant = 0
    for item in items:
        node = lift(item, "int", "total")
        if node.sort != "int":
            raise ModelError(f"total: expected integers, got {_a(node.sort)}")
        if isinstance(node, Const):
            constant += node.value
        else:
            terms.append(node)
    return _sum_nodes(terms, constant)


@dataclass(frozen=True)
class Effect:
    """What an action does when its guard holds: a guard and simultaneous updates."""

    guard: Expr
    updates: tuple[Assign, ...]


@dataclass(frozen=True)
class Guard:
    """The guard half of ``when(...).then(...)``."""

    expr: Expr

    def then(self, *updates: Assign | Iterable[Assign]) -> Effect:
        flat: list[Assign] = []
        for u in updates:
            if isinstance(u, Assign):
                flat.append(u)
            else:
                flat.extend(u)
        for u in flat:
            if not isinstance(u, Assign):
                raise ModelError(f"then(...) takes updates built with .becomes(...), got {u!r}")
        return Effect(self.expr, tuple(flat))


def when(*conditions: Operand) -> Guard:
    """A guard: the conjunction of ``conditions``."""
    return Guard(all_of(conditions).node)


def then(*updates: Assign | Iterable[Assign]) -> Effect:
    """An unguarded effect."""
    return Guard(TRUE).then(*updates)


class Family:
    """A variable family in a state view: ``s.pc[i]`` is one element (``i`` int or Term)."""

    __slots__ = ("decl", "primed")

    def __init__(self, decl: VarDecl, primed: bool) -> None:
        self.decl = decl
        self.primed = primed

    def __getitem__(self, index: Operand) -> Term:
        decl = self.decl
        assert decl.index is not None
        size = decl.index.size
        if isinstance(index, int) and not isinstance(index, bool):
            if not 0 <= index < size:
                raise ModelError(f"{decl.name}[{index}]: index outside 0..{size - 1}")
            node: Expr = Const(index, "int")
        else:
            node = lift(index, "int", f"index of {decl.name}")
            if node.sort != "int":
                raise ModelError(f"index of {decl.name} must be an integer")
        return Term(Var(decl.name, decl.domain, node, size, self.primed))

    def __len__(self) -> int:
        assert self.decl.index is not None
        return self.decl.index.size

    def __iter__(self) -> object:
        raise ModelError(f"iterate over indices, not over {self.decl.name}: "
                         f"for i in range(len(s.{self.decl.name}))")

    def __bool__(self) -> bool:
        raise ModelError(f"{self.decl.name} is a family; index it")


class StateView:
    """The variables of one state (``primed`` for the post-state of a step invariant)."""

    def __init__(self, decls: dict[str, VarDecl], primed: bool = False,
                 where: str = "model") -> None:
        self._decls = decls
        self._primed = primed
        self._where = where

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        decl = self._decls.get(name)
        if decl is None:
            known = ", ".join(sorted(self._decls))
            raise ModelError(f"{self._where}: no variable {name!r} (variables: {known})")
        if decl.index is None:
            return Term(Var(decl.name, decl.domain, None, 0, self._primed))
        return Family(decl, self._primed)

    def __getitem__(self, name: str) -> Any:
        return self.__getattr__(name)

