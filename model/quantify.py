"""Quantifiers over index sets and the relations a model declares between them.

``forall("page", lambda p: ...)`` and ``exists`` read the same in both builds of one
model source. The finite build (``Model.build``) expands them over the index set's
elements, so the IR it produces is exactly what a Python loop would give; the
parametric build (``Model.build_parametric``) keeps them as ``Quant`` nodes over a
symbolic ``IndexVar``, for the engine that proves a property for every size.

Relations are declared, not computed: ``succ`` (a ring's successor), ``apply`` (a
declared function such as a page's pageblock) and ``<`` between two indices of an
ordered set. The build in progress is found through a context variable, so model
code calls ``forall`` without passing the declarations around.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .domains import EnumDomain
from .dsl import Operand, Term, all_of, any_of, lift
from .errors import ModelError
from .expr import FALSE, TRUE, And, Arith, Assign, Cmp, Const, Expr, Implies, Ite, Not, Or, Var
from .system import VarDecl

QuantKind = Literal["forall", "exists"]


@dataclass(frozen=True)
class IndexVar(Expr):
    """A symbolic element of index set ``over`` (only in the parametric build)."""

    name: str
    over: str

    @property
    def sort(self) -> Literal["int"]:
        return "int"


@dataclass(frozen=True)
class IndexFn(Expr):
    """A declared function applied to an index: ``succ`` of a ring, or a function of
    ``Declarations.function`` (a page's pageblock); the result is an element of ``cod``."""

    fn: str
    arg: Expr
    cod: str

    def children(self) -> tuple[Expr, ...]:
        return (self.arg,)

    @property
    def sort(self) -> Literal["int"]:
        return "int"


@dataclass(frozen=True)
class AttrFn(Expr):
    """A declared attribute read at an index (``Declarations.attribute``: a page's owner
    class): a label of ``domain``, fixed for the run; only in the parametric build, where
    it is uninterpreted, so a proof holds for every assignment of labels."""

    fn: str
    arg: Expr
    domain: EnumDomain

    def children(self) -> tuple[Expr, ...]:
        return (self.arg,)

    @property
    def sort(self) -> EnumDomain:
        return self.domain


@dataclass(frozen=True)
class Quant(Expr):
    """``forall``/``exists`` of ``var`` over its index set, of ``body``."""

    kind: QuantKind
    var: IndexVar
    body: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.body,)

    @property
    def sort(self) -> Literal["bool"]:
        return "bool"


@dataclass(frozen=True)
class IndexDecl:
    """What a model declares about an index set beyond its size."""

    name: str
    ring: bool = False
    ordered: bool = False
    min_size: int = 1


@dataclass(frozen=True)
class FunctionDecl:
    """A declared function between index sets (functional membership: ``fn(x)`` is the
    one element of ``cod`` that ``x`` belongs to); ``table`` is its finite graph."""

    name: str
    dom: str
    cod: str
    table: tuple[int, ...] = ()
    #: an attribute's labels (``Declarations.attribute``); None for a function between
    #: index sets
    values: EnumDomain | None = None


@dataclass
class Scope:
    """The index sets and functions of the build in progress; ``sizes`` is None in the
    parametric build (every size symbolic)."""

    model: str
    sizes: dict[str, int] | None
    indices: dict[str, IndexDecl] = field(default_factory=dict)
    functions: dict[str, FunctionDecl] = field(default_factory=dict)
    elements: dict[str, str] = field(default_factory=dict)
    #: counts the parametric build does not track (``Declarations.count``)
    untracked: set[str] = field(default_factory=set)
    #: facts about the declared functions and attributes the parametric build assumes
    #: (``Declarations.assume``): name, condition and what it says
    assumptions: list[tuple[str, Expr, str]] = field(default_factory=list)
    fresh: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def parametric(self) -> bool:
        return self.sizes is None

    def index(self, over: str, where: str) -> IndexDecl:
        if over not in self.indices:
            known = ", ".join(self.indices) or "none"
            raise ModelError(f"model {self.model}: {where}: unknown index set {over!r} "
                             f"(index sets: {known})")
        return self.indices[over]

    def size(self, over: str) -> int:
        assert self.sizes is not None
        return self.sizes[over]


_current: contextvars.ContextVar[Scope | None] = contextvars.ContextVar("mhp_scope",
                                                                        default=None)


@contextlib.contextmanager
def building(scope: Scope) -> Iterator[Scope]:
    """Make ``scope`` the build in progress for ``forall``, ``succ`` and friends."""
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)


def current(where: str) -> Scope:
    scope = _current.get()
    if scope is None:
        raise ModelError(f"{where} is used outside a model's build (inside declare, an "
                         "action or a property)")
    return scope


def forall(over: str, body: Callable[[Any], Operand]) -> Term:
    """``body(i)`` for every element ``i`` of index set ``over``."""
    return _quantify("forall", over, body)


def exists(over: str, body: Callable[[Any], Operand]) -> Term:
    """``body(i)`` for some element ``i`` of index set ``over``."""
    return _quantify("exists", over, body)


def _quantify(kind: QuantKind, over: str, body: Callable[[Any], Operand]) -> Term:
    scope = current(kind)
    scope.index(over, kind)
    if not scope.parametric:
        items = (body(i) for i in range(scope.size(over)))
        return all_of(items) if kind == "forall" else any_of(items)
    var = IndexVar(f"{over}{next(scope.fresh)}", over)
    node = lift(body(Term(var)), "bool", kind)
    if node.sort != "bool":
        raise ModelError(f"{kind} over {over}: the body must be a condition")
    if node in (TRUE, FALSE):
        return Term(node)
    return Term(Quant(kind, var, node))


@dataclass(frozen=True)
class QuantAssign(Assign):
    """``name[var] := value`` for every element ``var`` of its index set where ``cond``
    holds (only in the parametric build; the finite build writes one Assign each)."""

    var: IndexVar | None = None
    cond: Expr = TRUE


def update_all(over: str, where: Callable[[Any], Operand],
               update: Callable[[Any], Assign]) -> list[Assign]:
    """``update(i)`` for every element ``i`` of ``over`` where ``where(i)`` holds, in one
    step (isolating every pageblock of a block): ``update(i)`` must assign element ``i``."""
    scope = current("update_all")
    scope.index(over, "update_all")
    if not scope.parametric:
        out: list[Assign] = []
        for i in range(scope.size(over)):
            cond = lift(where(i), "bool", "update_all")
            if cond == FALSE:
                continue
            u = update(i)
            if cond != TRUE:
                old = Var(u.name, u.domain, u.index, u.size)
                u = Assign(u.name, u.domain, Ite(cond, u.value, old), u.index, u.size)
            out.append(u)
        return out
    var = IndexVar(f"{over}{next(scope.fresh)}", over)
    u = update(Term(var))
    if u.index != var:
        raise ModelError(f"update_all over {over}: the update must assign element i itself "
                         f"(it assigns {u.name}[{u.index}])")
    cond = lift(where(Term(var)), "bool", "update_all")
    return [QuantAssign(u.name, u.domain, u.value, u.index, u.size, var, cond)]


def parametric_build() -> bool:
    """Whether the build in progress is the parametric one (sizes symbolic). Model code
    branches on it only to over-approximate what the parametric build cannot say (a
    sequential count), never to change the finite build."""
    return current("parametric_build").parametric


def finite_only(value: Callable[[], Operand]) -> Operand:
    """The new value of a count (``Declarations.count``): computed in the finite build,
    where it may loop over elements or compare with sizes; the parametric build does not
    track counts, so it does not call ``value``."""
    if current("finite_only").parametric:
        return Term(Const(0))
    return value()


def succ(over: str, i: Operand) -> Any:
    """The next element of ring ``over`` after ``i`` (the last element's is the first)."""
    scope = current("succ")
    decl = scope.index(over, "succ")
    if not decl.ring:
        raise ModelError(f"model {scope.model}: succ over {over!r}, which is not declared "
                         "a ring (d.index(..., ring=True))")
    if not scope.parametric:
        n = scope.size(over)
        if isinstance(i, int) and not isinstance(i, bool):
            return (i + 1) % n
        return (Term(lift(i, "int", "succ")) + 1) % n
    return Term(IndexFn("succ", lift(i, "int", "succ"), over))


def apply(fn: str, i: Operand) -> Any:
    """The declared function ``fn`` (``Declarations.function``) applied to index ``i``."""
    scope = current(fn)
    if fn not in scope.functions:
        known = ", ".join(scope.functions) or "none"
        raise ModelError(f"model {scope.model}: no function {fn!r} declared (functions: "
                         f"{known})")
    decl = scope.functions[fn]
    if decl.values is not None:
        return _attribute(scope, decl, i)
    if not scope.parametric:
        if isinstance(i, int) and not isinstance(i, bool):
            return decl.table[i]
        node = lift(i, "int", fn)
        out: Expr = Const(decl.table[-1])
        for k in range(len(decl.table) - 2, -1, -1):
            out = Ite(Cmp("==", node, Const(k)), Const(decl.table[k]), out)
        return Term(out)
    return Term(IndexFn(fn, lift(i, "int", fn), decl.cod))


def _attribute(scope: Scope, decl: FunctionDecl, i: Operand) -> Term:
    """An attribute's label at index ``i``: a constant (a choice among constants for a
    computed index) in the finite build, an uninterpreted read in the parametric one."""
    assert decl.values is not None
    node = lift(i, "int", decl.name)
    if scope.parametric:
        return Term(AttrFn(decl.name, node, decl.values))
    if isinstance(node, Const):
        return Term(Const(decl.table[node.value], decl.values))
    out: Expr = Const(decl.table[-1], decl.values)
    for k in range(len(decl.table) - 2, -1, -1):
        out = Ite(Cmp("==", node, Const(k)), Const(decl.table[k], decl.values), out)
    return Term(out)


@dataclass(frozen=True)
class Symbolic:
    """A size parameter in the parametric build: usable only as an index set's size
    (products included), so a Python loop over it is an error, not a silent guess."""

    name: str

    def _refuse(self, *_: Any) -> Any:
        raise ModelError(f"parameter {self.name} is a size, symbolic in the parametric build: "
                         "quantify with forall/exists and declared relations instead of "
                         "computing with it")

    __index__ = __int__ = __bool__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __floordiv__ = __mod__ = __neg__ = _refuse

    def __mul__(self, other: Any) -> Symbolic:
        if isinstance(other, Symbolic):
            return Symbolic(f"{self.name}*{other.name}")
        raise ModelError(f"parameter {self.name} is a size, symbolic in the parametric build: "
                         "only other sizes multiply it")

    __rmul__ = __mul__


def _and(parts: list[Expr]) -> Expr:
    """The conjunction of ``parts``, constants folded."""
    if FALSE in parts:
        return FALSE
    kept = [p for p in parts if p != TRUE]
    return TRUE if not kept else kept[0] if len(kept) == 1 else And(tuple(kept))


def _or(parts: list[Expr]) -> Expr:
    """The disjunction of ``parts``, constants folded."""
    if TRUE in parts:
        return TRUE
    kept = [p for p in parts if p != FALSE]
    return FALSE if not kept else kept[0] if len(kept) == 1 else Or(tuple(kept))


# -- finite instantiation of a parametric formula ------------------------------------------
@dataclass(frozen=True)
class Instance:
    """Index-set sizes and function tables of one finite instance."""

    sizes: Mapping[str, int]
    functions: Mapping[str, tuple[int, ...]]
    variables: Mapping[str, VarDecl]


def instantiate(expr: Expr, inst: Instance, env: Mapping[str, int] | None = None) -> Expr:
    """``expr`` of the parametric build at the finite instance ``inst``: quantifiers
    expanded, relations evaluated; the IR the finite build's engines read."""
    env = dict(env or {})

    def go(e: Expr) -> Expr:
        if isinstance(e, IndexVar):
            return Const(env[e.name])
        if isinstance(e, IndexFn):
            arg = go(e.arg)
            if not isinstance(arg, Const):
                raise ModelError(f"{e.fn} of a computed index cannot be instantiated")
            n = inst.sizes[e.cod]
            if e.fn == "succ":
                return Const((arg.value + 1) % n)
            return Const(inst.functions[e.fn][arg.value])
        if isinstance(e, AttrFn):
            arg = go(e.arg)
            if not isinstance(arg, Const):
                raise ModelError(f"{e.fn} of a computed index cannot be instantiated")
            return Const(inst.functions[e.fn][arg.value], e.domain)
        if isinstance(e, Quant):
            parts = []
            for k in range(inst.sizes[e.var.over]):
                env[e.var.name] = k
                parts.append(go(e.body))
            del env[e.var.name]
            return _and(parts) if e.kind == "forall" else _or(parts)
        if isinstance(e, Var):
            index = None if e.index is None else go(e.index)
            decl = inst.variables[e.name]
            return Var(e.name, decl.domain, index, decl.width if decl.index else 0, e.primed)
        if isinstance(e, Not):
            arg = go(e.arg)
            return (FALSE if arg == TRUE else TRUE) if arg in (TRUE, FALSE) else Not(arg)
        if isinstance(e, And):
            return _and([go(a) for a in e.args])
        if isinstance(e, Or):
            return _or([go(a) for a in e.args])
        if isinstance(e, Implies):
            lhs = go(e.lhs)
            if lhs == FALSE:
                return TRUE
            rhs = go(e.rhs)
            return rhs if lhs == TRUE else (TRUE if rhs == TRUE else Implies(lhs, rhs))
        if isinstance(e, Cmp):
            lhs, rhs = go(e.lhs), go(e.rhs)
            if isinstance(lhs, Const) and isinstance(rhs, Const) and e.op in ("==", "!="):
                return TRUE if (lhs.value == rhs.value) == (e.op == "==") else FALSE
            return Cmp(e.op, lhs, rhs)
        if isinstance(e, Arith):
            return Arith(e.op, go(e.lhs), go(e.rhs))
        if isinstance(e, Ite):
            return Ite(go(e.cond), go(e.then), go(e.orelse))
        return e

    return go(expr)
