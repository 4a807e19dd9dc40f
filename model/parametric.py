"""The parametric build: one model source with its index-set sizes left symbolic.

``build_parametric`` runs the same ``declare``, actions and properties as
``Model.build``, but with every size parameter (``Model.sizes``) a ``Symbolic`` and every
index-set parameter of an action a symbolic ``IndexVar``: what comes out is one guarded
update per action, quantified formulas for the initial states and the invariants, and
the declared relations. A model that computes with a size in Python (a loop over
``range(n)``, ``if i == 0``) is refused with the line at fault, so the two builds cannot
silently differ. ``Quantified`` links a finite build to the parametric one and to other
finite sizes (the forall engine's samples, counterexamples and re-checks).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .domains import Domain, UserValue
from .dsl import Effect, StateView
from .errors import MhpError, ModelError
from .expr import TRUE, And, Assign, Cmp, Const, Expr, Implies, Not, Or, Var, walk
from .quantify import (
    FunctionDecl,
    IndexDecl,
    IndexVar,
    Instance,
    Quant,
    QuantAssign,
    Symbolic,
    building,
)
from .system import Invariant, TransitionSystem, VarDecl

if TYPE_CHECKING:
    from .base import Declarations, Model, _Mark
    from .trace import Trace


@dataclass(frozen=True)
class PVar:
    """A state variable: a scalar, a family over ``over``, or an element of ``element``."""

    name: str
    domain: Domain
    over: str | None = None
    element: str | None = None
    #: a count the parametric build does not track: any integer in every state
    untracked: bool = False


@dataclass(frozen=True)
class PAction:
    """One action with its index parameters symbolic (``params``) and its other
    parameters fixed (``args``, one PAction per value tuple)."""

    name: str
    params: tuple[IndexVar, ...]
    args: tuple[tuple[str, UserValue], ...]
    guard: Expr
    updates: tuple[Assign, ...]

    @property
    def label(self) -> str:
        shown = [p.name for p in self.params] + [f"{k}={v}" for k, v in self.args]
        return f"{self.name}({', '.join(shown)})"


@dataclass(frozen=True)
class ParametricSystem:
    """Everything the forall engine encodes: sorts, relations, variables, the initial
    condition, actions, invariants and hand-written hints."""

    name: str
    sizes: tuple[str, ...]
    indices: tuple[IndexDecl, ...]
    functions: tuple[FunctionDecl, ...]
    variables: tuple[PVar, ...]
    init: Expr
    actions: tuple[PAction, ...]
    invariants: tuple[Invariant, ...]
    hints: tuple[tuple[str, Expr], ...]
    skipped: tuple[str, ...] = ()  # properties of kinds the parametric build does not carry
    #: facts about the functions and attributes (``Declarations.assume``): name,
    #: condition, what it says; axioms of every proof
    assumptions: tuple[tuple[str, Expr, str], ...] = ()

    def var(self, name: str) -> PVar:
        for v in self.variables:
            if v.name == name:
                return v
        raise ModelError(f"model {self.name}: no variable {name!r}")

    def invariant(self, name: str) -> Invariant | None:
        for p in self.invariants:
            if name == p.name or name in p.aliases:
                return p
        return None


def build_parametric(model: Model) -> ParametricSystem:
    """The parametric build of ``model`` (its knobs fixed, its sizes symbolic)."""
    from .base import Declarations, Namespace, _call
    sizes = tuple(model.sizes)
    gaps = getattr(model, "parametric_gaps", "")
    if gaps:
        raise ModelError(f"model {model.name} has no parametric build yet: {gaps}")
    known = {p.name for p in model.params}
    unknown = [s for s in sizes if s not in known]
    if unknown:
        raise ModelError(f"model {model.name}: sizes names unknown parameters "
                         f"{', '.join(unknown)}")
    sym = copy.copy(model)
    values: dict[str, Any] = {k: Symbolic(k) if k in sizes else v for k, v in model.p.items()}
    sym.p = Namespace("parameter", values)
    decls = Declarations(model.name, parametric=True)
    with building(decls.scope):
        _call(f"model {model.name}, declare (parametric build)", sym.declare, decls)
        fixed = [i.name for i in decls.indices.values() if i.size]
        if fixed:
            raise ModelError(f"model {model.name} is written for one size at a time: its "
                             f"index set {fixed[0]} has a fixed size (a model proved for every "
                             "size names the parameters that size its index sets in `sizes`)")
        variables = tuple(PVar(v.name, v.domain, v.index.name if v.index else None,
                               decls.scope.elements.get(v.name),
                               v.name in decls.scope.untracked)
                          for v in decls.vars.values())
        inits: list[Expr] = []
        actions: list[PAction] = []
        invariants: list[Invariant] = []
        hints: list[tuple[str, Expr]] = []
        skipped: list[str] = []
        for attr, fn, mark in sym._marked():
            if mark.role == "init":
                inits.extend(_inits(sym, decls, variables, attr, fn, mark))
            elif mark.role == "action":
                actions.extend(_actions(sym, decls, attr, fn, mark))
            elif mark.role == "invariant":
                name, _ = sym._prop_name(attr, mark)
                where = f"model {model.name}, invariant {name} (parametric build)"
                expr = sym._bool_expr(_call(where, fn, sym, StateView(decls.vars, where=where)),
                                      where)
                invariants.append(Invariant(name, "", mark.aliases, expr, about=mark.about))
            elif mark.role == "hint":
                name = mark.name or attr.replace("_", "-")
                where = f"model {model.name}, hint {name}"
                value = _call(where, fn, sym, StateView(decls.vars, where=where))
                if value is not None:  # None: not offered in this configuration
                    hints.append((name, sym._bool_expr(value, where)))
            else:
                skipped.append(mark.name or attr.replace("_", "-"))
    init: Expr = inits[0] if len(inits) == 1 else Or(tuple(inits))
    return ParametricSystem(model.name, sizes, tuple(decls.scope.indices.values()),
                            tuple(decls.scope.functions.values()), variables, init,
                            tuple(actions), tuple(invariants), tuple(hints), tuple(skipped),
                            tuple(decls.scope.assumptions))


def _inits(model: Model, decls: Declarations, variables: tuple[PVar, ...], attr: str,
           fn: Callable[..., Any], mark: _Mark) -> list[Expr]:
    """One condition per initial state: assigned scalars and elements as given, every
    other variable (every family element) at its domain's least value."""
    from .base import _call, _updates_of
    where = f"model {model.name}, @init {attr} (parametric build)"
    out: list[Expr] = []
    for args in model._instances(decls, where, mark):
        result = _call(where, fn, model, StateView(decls.vars, where=where), **args)
        if result is None:
            continue
        assigned: dict[str, Expr] = {}
        every: list[Expr] = []
        for u in _updates_of(result, where):
            if u.name in decls.scope.untracked:
                continue  # a count the parametric build does not track starts anywhere
            if isinstance(u, QuantAssign):
                every += _init_all(u, where)
                assigned[u.name] = TRUE  # written for every element above
                continue
            if u.index is not None:
                raise ModelError(f"{where}: family {u.name} is assigned one element at a time; "
                                 "the parametric build starts every family element at its "
                                 "domain's least value")
            if any(isinstance(node, Var) for node in walk(u.value)):
                raise ModelError(f"{where}: the initial value of {u.name} reads the state; it "
                                 "may read only declared functions and attributes")
            assigned[u.name] = u.value
        parts: list[Expr] = list(every)
        for v in variables:
            if v.untracked or (assigned.get(v.name) == TRUE and v.over is not None):
                continue
            value = assigned.get(v.name, Const(v.domain.lo))
            if v.over is None:
                parts.append(Cmp("==", Var(v.name, v.domain), value))
            else:
                x = IndexVar(f"{v.over}_init", v.over)
                parts.append(Quant("forall", x, Cmp("==", Var(v.name, v.domain, x), value)))
        out.append(And(tuple(parts)) if parts else TRUE)
    return out


def _init_all(u: QuantAssign, where: str) -> list[Expr]:
    """An ``update_all`` in an @init: every element where its condition holds starts at
    its value (a constant, or labels chosen by declared attributes), every other element
    at the domain's least value."""
    if any(isinstance(node, Var) for e in (u.value, u.cond) for node in walk(e)):
        raise ModelError(f"{where}: the initial value of {u.name} reads the state; it may "
                         "read only index variables, declared functions and attributes")
    assert u.var is not None
    elem = Var(u.name, u.domain, u.var)
    start = Cmp("==", elem, u.value)
    if u.cond == TRUE:
        return [Quant("forall", u.var, start)]
    least = Cmp("==", elem, Const(u.domain.lo))
    return [Quant("forall", u.var, And((Implies(u.cond, start),
                                        Implies(Not(u.cond), least))))]


def _actions(model: Model, decls: Declarations, attr: str, fn: Callable[..., Any],
             mark: _Mark) -> list[PAction]:
    from .base import _call
    name = mark.name or attr
    where = f"model {model.name}, action {name} (parametric build)"
    symbolic: dict[str, IndexVar] = {}
    pools: list[list[tuple[str, UserValue]]] = []
    for pname, spec in mark.params:
        if isinstance(spec, str) and spec in decls.indices:
            symbolic[pname] = IndexVar(pname, spec)
        else:
            values = model._arg_values(decls, f"{where}, parameter {pname}", spec)
            pools.append([(pname, v) for v, _ in values])
    from .dsl import Term
    out = []
    for combo in itertools.product(*pools):
        args: dict[str, Any] = {k: Term(v) for k, v in symbolic.items()}
        args.update(dict(combo))
        result = _call(where, fn, model, StateView(decls.vars, where=where), **args)
        if result is None:
            continue
        if not isinstance(result, Effect):
            raise ModelError(f"{where}: must return when(...).then(...) or None")
        out.append(PAction(name, tuple(symbolic.values()), tuple(combo), result.guard,
                           result.updates))
    return out


@dataclass(frozen=True)
class Quantified:
    """What a finite build knows of its parametric form: the model (to build the
    parametric form and other finite sizes) and this build's sizes and relation tables."""

    model: Model
    instance: Instance

    @staticmethod
    def of(model: Model, decls: Declarations) -> Quantified:
        scope = decls.scope
        assert scope.sizes is not None
        variables: Mapping[str, VarDecl] = dict(decls.vars)
        return Quantified(model, Instance(dict(scope.sizes),
                                          {f.name: f.table for f in scope.functions.values()},
                                          variables))

    @property
    def sizes(self) -> dict[str, int]:
        """This build's size parameters."""
        values = dict(self.model.p.items())
        return {k: int(values[k]) for k in self.model.sizes}

    def parametric(self) -> ParametricSystem:
        return build_parametric(self.model)

    def resized(self, sizes: Mapping[str, int]) -> TransitionSystem | None:
        """The finite build of the same model and knobs at other sizes (None when the
        model refuses those sizes, such as a population that does not fit)."""
        try:
            knobs = self.model.knobs_at(sizes)
        except MhpError:
            return None
        return self.variant(sizes, knobs)

    def variant(self, params: Mapping[str, UserValue],
                knobs: Mapping[str, UserValue]) -> TransitionSystem | None:
        """The finite build of the same model with other knobs and the parameters
        ``params`` names set otherwise (None when the model refuses them)."""
        try:
            return type(self.model)(params={**dict(self.model.p.items()), **params},
                                    knobs=dict(knobs)).build()
        except MhpError:
            return None

    def smallest(self) -> dict[str, int]:
        """The least value of each size parameter."""
        return {p.name: p.lo for p in self.model.params if p.name in self.model.sizes}


def system_of(ts: TransitionSystem, trace: Trace) -> TransitionSystem:
    """The system ``trace`` runs in: ``ts``, or, for the forall engine's counterexample at
    another instance its claim covers, the same model built with the trace's parameters
    and knobs (ModelError where it cannot be built)."""
    if (trace.params, trace.knobs) == (ts.params, ts.knobs):
        return ts
    q = ts.quantified
    other = (q.variant(dict(trace.params), dict(trace.knobs))
             if isinstance(q, Quantified) else None)
    if other is None:
        raise ModelError(f"model {ts.name}: the trace of {trace.property} names an instance "
                         f"({dict(trace.params)}, {dict(trace.knobs)}) that cannot be built")
    return other
