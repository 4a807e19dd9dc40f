"""The parametric system in Z3: index sets as uninterpreted sorts, families as functions.

Every state value is an integer code (a Bool 0/1, an Enum its label's position); a
family over index set X is a function X -> Int, an element-valued global a constant
of sort X. The declared relations come with axioms every finite instance satisfies
(a ring's successor is injective and, from two elements on, moves every element; an
order is total with a least element); leaving an axiom out is always sound.
``epr_notes`` says which declarations or operators take a query out of EPR.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import z3  # type: ignore[import-untyped]

from mhpcheck.model.errors import ModelError
from mhpcheck.model.expr import (
    And,
    Arith,
    Assign,
    Cmp,
    Const,
    Expr,
    Implies,
    Ite,
    Not,
    Or,
    Var,
    walk,
)
from mhpcheck.model.parametric import PAction, ParametricSystem
from mhpcheck.model.quantify import IndexFn, IndexVar, Quant

from . import z3api as z


class Unencodable(ModelError):
    """The parametric build uses something this encoding cannot express."""


@dataclass
class Frame:
    """One state's symbols: a function per family, a constant per scalar or element."""

    suffix: str
    symbols: dict[str, Any] = field(default_factory=dict)


class PEncoding:
    """Sorts, relations, axioms and state frames of one parametric system."""

    def __init__(self, ps: ParametricSystem, injective: bool = True) -> None:
        self.ps = ps
        self.injective = injective
        self.ctx = z.context()
        ctx = self.ctx
        self.sorts = {i.name: z3.DeclareSort(i.name, ctx) for i in ps.indices}
        self.succ: dict[str, Any] = {}
        self.le: dict[str, Any] = {}
        self.first: dict[str, Any] = {}
        self.fns: dict[str, Any] = {}
        self.axioms: list[Any] = []
        for decl in ps.indices:
            s = self.sorts[decl.name]
            self.first[decl.name] = z3.Const(f"first_{decl.name}", s)
            a, b, c = (z3.Const(f"{v}_{decl.name}", s) for v in "abc")
            if decl.min_size >= 2:
                self.axioms.append(z3.Exists([a], a != self.first[decl.name]))
            if decl.ordered:
                le = z3.Function(f"le_{decl.name}", s, s, z3.BoolSort(ctx))
                self.le[decl.name] = le
                self.axioms += [
                    z3.ForAll([a], le(a, a)),
                    z3.ForAll([a, b], z3.Implies(z3.And(le(a, b), le(b, a)), a == b)),
                    z3.ForAll([a, b, c], z3.Implies(z3.And(le(a, b), le(b, c)), le(a, c))),
                    z3.ForAll([a, b], z3.Or(le(a, b), le(b, a))),
                    z3.ForAll([a], le(self.first[decl.name], a))]
            if decl.ring:
                nxt = z3.Function(f"succ_{decl.name}", s, s)
                self.succ[decl.name] = nxt
                if self.injective:
                    self.axioms.append(z3.ForAll([a, b], z3.Implies(nxt(a) == nxt(b), a == b)))
                if decl.min_size >= 2:
                    self.axioms.append(z3.ForAll([a], nxt(a) != a))
        for f in ps.functions:
            self.fns[f.name] = z3.Function(f.name, self.sorts[f.dom], self.sorts[f.cod])
        self.x = self.frame("")
        self.xn = self.frame("'")

    # -- EPR ------------------------------------------------------------------------------
    def epr_notes(self, exprs: list[Expr]) -> list[str]:
        """Why queries over ``exprs`` leave EPR (empty: they stay in it)."""
        notes = [f"succ: {n} -> {n} (a function from a sort to itself)" for n in self.succ]
        ops = sorted({node.op for e in exprs for node in walk(e) if isinstance(node, Arith)})
        if ops:
            notes.append(f"integer arithmetic ({', '.join(ops)}) under quantifiers")
        return notes

    # -- frames ---------------------------------------------------------------------------
    def frame(self, suffix: str) -> Frame:
        fr = Frame(suffix)
        for v in self.ps.variables:
            name = f"{v.name}{suffix}"
            if v.element is not None:
                fr.symbols[v.name] = z3.Const(name, self.sorts[v.element])
            elif v.over is not None:
                fr.symbols[v.name] = z3.Function(name, self.sorts[v.over], z3.IntSort(self.ctx))
            else:
                fr.symbols[v.name] = z3.Int(name, self.ctx)
        return fr

    def domain(self, fr: Frame) -> list[tuple[str, Any]]:
        """Each variable within its domain, by variable name."""
        out = []
        for v in self.ps.variables:
            if v.element is not None:
                continue
            lo, hi = v.domain.lo, v.domain.hi
            sym = fr.symbols[v.name]
            if v.over is not None:
                a = z3.Const(f"d_{v.over}", self.sorts[v.over])
                out.append((v.name, z3.ForAll([a], z3.And(sym(a) >= lo, sym(a) <= hi))))
            else:
                out.append((v.name, z3.And(sym >= lo, sym <= hi)))
        return out

    # -- expressions ----------------------------------------------------------------------
    def formula(self, e: Expr, pre: Frame, post: Frame | None = None,
                env: Mapping[str, Any] | None = None) -> Any:
        """``e`` (a condition) as a Z3 formula over ``pre`` (and ``post`` for primed reads)."""
        return _Tr(self, pre, post, dict(env or {})).boolean(e)

    def index_sort(self, e: Expr) -> str | None:
        """The index set an index-valued expression ranges over (None: a plain value)."""
        if isinstance(e, IndexVar):
            return e.over
        if isinstance(e, IndexFn):
            return e.cod
        if isinstance(e, Var) and e.index is None:
            return self.ps.var(e.name).element
        return None

    # -- transitions ----------------------------------------------------------------------
    def params(self, act: PAction, k: int) -> dict[str, Any]:
        return {p.name: z3.Const(f"{act.name}#{k}.{p.name}", self.sorts[p.over])
                for p in act.params}

    def step(self, act: PAction, env: Mapping[str, Any]) -> Any:
        """``act`` from frame ``x`` to frame ``xn`` with its parameters bound by ``env``."""
        tr = _Tr(self, self.x, None, dict(env))
        parts = [tr.boolean(act.guard)]
        by_var: dict[str, list[Assign]] = {}
        for u in act.updates:
            by_var.setdefault(u.name, []).append(u)
        for v in self.ps.variables:
            old, new = self.x.symbols[v.name], self.xn.symbols[v.name]
            ups = by_var.get(v.name, [])
            if v.over is None:
                value = old
                for u in ups:
                    value = tr.value(u.value, v.element)
                parts.append(new == value)
                continue
            a = z3.Const(f"u_{v.over}", self.sorts[v.over])
            value = old(a)
            for u in ups:
                assert u.index is not None
                value = z3.If(a == tr.index(u.index, v.over), tr.integer(u.value), value)
            parts.append(z3.ForAll([a], new(a) == value) if ups else
                         z3.ForAll([a], new(a) == old(a)))
        return z3.And(parts)

    def transition(self) -> tuple[Any, list[tuple[PAction, dict[str, Any]]]]:
        """Some action fires from ``x`` to ``xn`` (its parameters fresh constants)."""
        steps, acts = [], []
        for k, act in enumerate(self.ps.actions):
            env = self.params(act, k)
            steps.append(self.step(act, env))
            acts.append((act, env))
        return z3.Or(steps) if steps else z3.BoolVal(False, self.ctx), acts


class _Tr:
    """One translation: the frames read and the bound index variables."""

    def __init__(self, enc: PEncoding, pre: Frame, post: Frame | None,
                 env: dict[str, Any]) -> None:
        self.enc, self.pre, self.post, self.env = enc, pre, post, env

    def _frame(self, v: Var) -> Frame:
        if v.primed:
            if self.post is None:
                raise Unencodable(f"{v.name}' read outside a step")
            return self.post
        return self.pre

    def index(self, e: Expr, over: str) -> Any:
        """``e`` as an element of sort ``over``."""
        enc = self.enc
        if isinstance(e, IndexVar):
            if e.over != over:
                raise Unencodable(f"{e.name} is an element of {e.over}, used as one of {over}")
            return self.env[e.name]
        if isinstance(e, IndexFn):
            if e.fn == "succ":
                return enc.succ[over](self.index(e.arg, over))
            f = next(d for d in enc.ps.functions if d.name == e.fn)
            return enc.fns[e.fn](self.index(e.arg, f.dom))
        if isinstance(e, Var) and e.index is None and enc.ps.var(e.name).element == over:
            return self._frame(e).symbols[e.name]
        if isinstance(e, Const) and e.value == 0:
            return enc.first[over]
        if isinstance(e, Ite):
            return z3.If(self.boolean(e.cond), self.index(e.then, over),
                         self.index(e.orelse, over))
        raise Unencodable(f"cannot read {e} as an element of {over} (only index variables, "
                          "declared relations, element variables and the first element 0)")

    def value(self, e: Expr, element: str | None) -> Any:
        return self.index(e, element) if element is not None else self.integer(e)

    def integer(self, e: Expr) -> Any:
        ctx = self.enc.ctx
        if isinstance(e, Const):
            return z3.IntVal(e.value, ctx)
        if isinstance(e, Var):
            sym = self._frame(e).symbols[e.name]
            if self.enc.ps.var(e.name).element is not None:
                raise Unencodable(f"element variable {e.name} used as a number")
            if e.index is None:
                return sym
            return sym(self.index(e.index, self.enc.ps.var(e.name).over or ""))
        if isinstance(e, Ite):
            return z3.If(self.boolean(e.cond), self.integer(e.then), self.integer(e.orelse))
        if isinstance(e, Arith):
            a, b = self.integer(e.lhs), self.integer(e.rhs)
            if e.op == "+":
                return a + b
            if e.op == "-":
                return a - b
            if e.op == "*":
                return a * b
            if e.op == "min":
                return z3.If(a <= b, a, b)
            if e.op == "max":
                return z3.If(a >= b, a, b)
            raise Unencodable(f"operator {e.op} in the parametric encoding")
        if isinstance(e, (IndexVar, IndexFn)):
            raise Unencodable(f"index {e} used as a number (compare indices only with "
                              "==, != and, on an ordered set, <)")
        return z3.If(self.boolean(e), z3.IntVal(1, ctx), z3.IntVal(0, ctx))

    def boolean(self, e: Expr) -> Any:
        ctx = self.enc.ctx
        if isinstance(e, Const):
            return z3.BoolVal(bool(e.value), ctx)
        if isinstance(e, Var):
            return self.integer(e) != 0
        if isinstance(e, Not):
            return z3.Not(self.boolean(e.arg))
        if isinstance(e, And):
            return z3.And([self.boolean(a) for a in e.args]) if e.args else z3.BoolVal(True, ctx)
        if isinstance(e, Or):
            return z3.Or([self.boolean(a) for a in e.args]) if e.args else z3.BoolVal(False, ctx)
        if isinstance(e, Implies):
            return z3.Implies(self.boolean(e.lhs), self.boolean(e.rhs))
        if isinstance(e, Ite):
            return z3.If(self.boolean(e.cond), self.boolean(e.then), self.boolean(e.orelse))
        if isinstance(e, Quant):
            bound = z3.Const(f"{e.var.name}", self.enc.sorts[e.var.over])
            saved = self.env.get(e.var.name)
            self.env[e.var.name] = bound
            body = self.boolean(e.body)
            if saved is None:
                del self.env[e.var.name]
            else:
                self.env[e.var.name] = saved
            return z3.ForAll([bound], body) if e.kind == "forall" else z3.Exists([bound], body)
        if isinstance(e, Cmp):
            return self.compare(e)
        raise Unencodable(f"cannot encode {type(e).__name__} as a condition")

    def compare(self, e: Cmp) -> Any:
        enc = self.enc
        over = enc.index_sort(e.lhs) or enc.index_sort(e.rhs)
        if over is not None:
            a, b = self.index(e.lhs, over), self.index(e.rhs, over)
            if e.op == "==":
                return a == b
            if e.op == "!=":
                return a != b
            if over not in enc.le:
                raise Unencodable(f"'{e.op}' between elements of {over}, which is not "
                                  "declared ordered (d.index(..., ordered=True))")
            le = enc.le[over]
            return {"<=": le(a, b), ">=": le(b, a), "<": z3.And(le(a, b), a != b),
                    ">": z3.And(le(b, a), a != b)}[e.op]
        a, b = self.integer(e.lhs), self.integer(e.rhs)
        return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b,
                ">=": a >= b}[e.op]
