"""The parametric system in Z3: index sets as uninterpreted sorts, families as functions.

Every state value is an integer code (a Bool 0/1, an Enum its label's position); a
family over index set X is a function X -> Int, an element-valued global a constant
of sort X. The declared relations come with axioms every finite instance satisfies
(a ring's successor is injective and, from two elements on, moves every element; an
order is total with a least element), and the model's own assumptions about its
attributes (``Declarations.assume``); leaving an axiom out is always sound.
``epr_notes`` says which declarations or operators take a query out of EPR.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import z3  # type: ignore[import-untyped]

from mhpcheck.model.domains import BoolDomain, Domain, EnumDomain
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
from mhpcheck.model.quantify import AttrFn, IndexFn, IndexVar, Quant, QuantAssign

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

    def __init__(self, ps: ParametricSystem) -> None:
        self.ps = ps
        self.ctx = z.context()
        ctx = self.ctx
        self.sorts = {i.name: z3.DeclareSort(i.name, ctx) for i in ps.indices}
        self.nxt: dict[str, Any] = {}
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
                nxt = z3.Function(f"next_{decl.name}", s, s, z3.BoolSort(ctx))
                self.nxt[decl.name] = nxt
                self.axioms += [
                    z3.ForAll([a, b, c], z3.Implies(z3.And(nxt(a, b), nxt(a, c)), b == c)),
                    z3.ForAll([a, b, c], z3.Implies(z3.And(nxt(a, c), nxt(b, c)), a == b))]
                if decl.min_size >= 2:
                    self.axioms.append(z3.ForAll([a], z3.Not(nxt(a, a))))
        self.values: dict[Domain, tuple[Any, list[Any]]] = {}
        for f in ps.functions:
            cod = self.sorts[f.cod] if f.values is None else self.value_sort(f.values)
            self.fns[f.name] = z3.Function(f.name, self.sorts[f.dom], cod)
        self.x = self.frame("")
        self.xn = self.frame("'")
        # the model's assumptions read no state: one frame serves every step
        self.axioms += [self.formula(fact, self.x) for _, fact, _ in ps.assumptions]

    # -- EPR ------------------------------------------------------------------------------
    def epr_notes(self, exprs: list[Expr]) -> list[str]:
        """Why queries over ``exprs`` leave EPR (empty: they stay in it)."""
        notes = []
        if any(isinstance(node, Quant) and node.kind == "exists" for e in exprs
               for node in walk(e)):
            notes.append("an exists inside a formula (a quantifier alternation)")
        ops = sorted({node.op for e in exprs for node in walk(e) if isinstance(node, Arith)})
        if ops:
            notes.append(f"integer arithmetic ({', '.join(ops)}) under quantifiers")
        return notes

    # -- frames ---------------------------------------------------------------------------
    def value_sort(self, domain: Domain) -> Any:
        """Bool for a Bool, a finite enumeration for an Enum, Int for an integer range."""
        if isinstance(domain, BoolDomain):
            return z3.BoolSort(self.ctx)
        if isinstance(domain, EnumDomain):
            if domain not in self.values:
                sort, consts = z3.EnumSort(f"{domain.name}#{len(self.values)}",
                                           list(domain.labels), ctx=self.ctx)
                self.values[domain] = (sort, consts)
            return self.values[domain][0]
        return z3.IntSort(self.ctx)

    def label(self, domain: EnumDomain, code: int) -> Any:
        self.value_sort(domain)
        return self.values[domain][1][code]

    def frame(self, suffix: str) -> Frame:
        fr = Frame(suffix)
        for v in self.ps.variables:
            name = f"{v.name}{suffix}"
            if v.element is not None:
                fr.symbols[v.name] = z3.Const(name, self.sorts[v.element])
            elif v.over is not None:
                fr.symbols[v.name] = z3.Function(name, self.sorts[v.over],
                                                 self.value_sort(v.domain))
            else:
                fr.symbols[v.name] = z3.Const(name, self.value_sort(v.domain))
        return fr

    def domain(self, fr: Frame) -> list[tuple[str, Any]]:
        """Each integer variable within its range, by variable name (Bools and Enums are
        in their domain by their sort)."""
        out = []
        for v in self.ps.variables:
            if v.element is not None or isinstance(v.domain, (BoolDomain, EnumDomain)) \
                    or v.untracked:
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

    def step(self, act: PAction, env: Mapping[str, Any], k: int = 0) -> Any:
        """``act`` from frame ``x`` to frame ``xn`` with its parameters bound by ``env``;
        each successor it reads (``succ(i)``) is a fresh constant next to its argument."""
        tr = _Tr(self, self.x, None, dict(env))
        parts: list[Any] = []
        guard = act.guard
        updates = [u for u in act.updates if not isinstance(u, QuantAssign)]
        every = [u for u in act.updates if isinstance(u, QuantAssign)]
        for q in every:
            if _innermost_succ([q.value, q.cond]) is not None:
                raise Unencodable(f"update_all of {q.name} reads a successor")
        while (node := _innermost_succ([guard, *(u.value for u in updates),
                                        *(u.index for u in updates if u.index)])):
            ground = IndexVar(f"{act.name}.succ{len(parts)}", node.cod)
            const = z3.Const(f"{act.name}#{k}.{ground.name}", self.sorts[node.cod])
            parts.append(self.nxt[node.cod](tr.index(node.arg, node.cod), const))
            tr.env[ground.name] = const
            guard = substitute(guard, node, ground)
            updates = [Assign(u.name, u.domain, substitute(u.value, node, ground),
                              None if u.index is None else substitute(u.index, node, ground),
                              u.size) for u in updates]
        parts.append(tr.boolean(guard))
        by_var: dict[str, list[Assign]] = {}
        for w in [*every, *updates]:
            by_var.setdefault(w.name, []).append(w)
        for v in self.ps.variables:
            if v.untracked:
                continue  # any value after every step: nothing constrains it
            old, new = self.x.symbols[v.name], self.xn.symbols[v.name]
            ups = by_var.get(v.name, [])
            if v.over is None:
                value = old
                for u in ups:
                    value = (tr.index(u.value, v.element) if v.element is not None
                             else tr.term(u.value, v.domain))
                parts.append(new == value)
                continue
            a = z3.Const(f"u_{v.over}", self.sorts[v.over])
            value = old(a)
            for u in ups:
                assert u.index is not None
                if isinstance(u, QuantAssign):
                    assert u.var is not None
                    hit = tr.boolean(u.cond, {u.var.name: a})
                    new_value = tr.with_env({u.var.name: a}, u.value, v.domain)
                else:
                    hit = tr.boolean(Cmp("==", IndexVar("u#", v.over), u.index), {"u#": a})
                    new_value = tr.term(u.value, v.domain)
                value = z3.If(hit, new_value, value)
            parts.append(z3.ForAll([a], new(a) == value) if ups else
                         z3.ForAll([a], new(a) == old(a)))
        return z3.And(parts)

    def transition(self) -> tuple[Any, list[tuple[PAction, dict[str, Any]]]]:
        """Some action fires from ``x`` to ``xn`` (its parameters fresh constants)."""
        steps, acts = [], []
        for k, act in enumerate(self.ps.actions):
            env = self.params(act, k)
            steps.append(self.step(act, env, k))
            acts.append((act, env))
        return z3.Or(steps) if steps else z3.BoolVal(False, self.ctx), acts


def _is_succ(e: Expr) -> bool:
    return isinstance(e, IndexFn) and e.fn == "succ"


def _innermost_succ(exprs: list[Expr]) -> IndexFn | None:
    """A ``succ(t)`` with no successor inside ``t``, outside any quantifier."""
    stack = list(exprs)
    while stack:
        e = stack.pop()
        if isinstance(e, Quant):
            continue
        if isinstance(e, IndexFn) and e.fn == "succ":
            inner = _innermost_succ([e.arg])
            return inner or e
        stack.extend(e.children())
    return None


def substitute(e: Expr, old: Expr, new: Expr) -> Expr:
    """``e`` with every occurrence of ``old`` replaced by ``new``."""
    if e == old:
        return new
    if not e.children():
        return e
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(e):
        value = getattr(e, f.name)
        if isinstance(value, Expr):
            changes[f.name] = substitute(value, old, new)
        elif isinstance(value, tuple) and value and isinstance(value[0], Expr):
            changes[f.name] = tuple(substitute(v, old, new) for v in value)
    return dataclasses.replace(e, **changes)


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
                raise Unencodable("succ(...) outside an atom")
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

    def with_env(self, extra: Mapping[str, Any], e: Expr, want: Domain | None) -> Any:
        """``term(e, want)`` with the index variables of ``extra`` bound."""
        saved = dict(self.env)
        self.env.update(extra)
        try:
            return self.term(e, want)
        finally:
            self.env = saved

    def domain_of(self, e: Expr) -> Domain | None:
        """The value domain ``e`` reads (None: a plain integer or condition)."""
        if isinstance(e, (Var, AttrFn)):
            return e.domain
        if isinstance(e, Const) and isinstance(e.const_sort, EnumDomain):
            return e.const_sort
        if isinstance(e, Ite):
            return self.domain_of(e.then) or self.domain_of(e.orelse)
        return None

    def term(self, e: Expr, want: Domain | None) -> Any:
        """``e`` as a value of ``want``'s sort (an integer when None or an integer range)."""
        enc, ctx = self.enc, self.enc.ctx
        if isinstance(want, BoolDomain):
            return self.boolean(e)
        if isinstance(e, Const):
            if isinstance(want, EnumDomain):
                return enc.label(want, e.value)
            return z3.IntVal(e.value, ctx)
        if isinstance(e, Var):
            if enc.ps.var(e.name).element is not None:
                raise Unencodable(f"element variable {e.name} used as a value")
            sym = self._frame(e).symbols[e.name]
            if e.index is None:
                read = sym
            else:
                read = sym(self.index(e.index, enc.ps.var(e.name).over or ""))
            if isinstance(e.domain, BoolDomain):
                return z3.If(read, z3.IntVal(1, ctx), z3.IntVal(0, ctx))
            return read
        if isinstance(e, AttrFn):
            f = next(d for d in enc.ps.functions if d.name == e.fn)
            return enc.fns[e.fn](self.index(e.arg, f.dom))
        if isinstance(e, Ite):
            return z3.If(self.boolean(e.cond), self.term(e.then, want),
                         self.term(e.orelse, want))
        if isinstance(e, Arith):
            if e.op in ("//", "%"):  # a zero divisor is a model error, not a value
                raise Unencodable(f"operator {e.op} in the parametric encoding")
            return z.arith(e.op, self.term(e.lhs, None), self.term(e.rhs, None))
        if isinstance(e, (IndexVar, IndexFn)):
            raise Unencodable(f"index {e} used as a number (compare indices only with "
                              "==, != and, on an ordered set, <)")
        return z3.If(self.boolean(e), z3.IntVal(1, ctx), z3.IntVal(0, ctx))

    def boolean(self, e: Expr, extra: Mapping[str, Any] | None = None,
                pol: bool | None = True) -> Any:
        """``e`` as a formula; ``pol`` is its polarity (True positive, False negative,
        None both), which decides how a successor in an atom is bound (``atom``)."""
        if extra:
            saved = dict(self.env)
            self.env.update(extra)
            try:
                return self.boolean(e, None, pol)
            finally:
                self.env = saved
        ctx = self.enc.ctx
        flip = None if pol is None else not pol
        if isinstance(e, Const):
            return z3.BoolVal(bool(e.value), ctx)
        if isinstance(e, (Var, Cmp)):
            return self.atom(e, pol)
        if isinstance(e, Not):
            return z3.Not(self.boolean(e.arg, None, flip))
        if isinstance(e, And):
            if not e.args:
                return z3.BoolVal(True, ctx)
            return z3.And([self.boolean(a, None, pol) for a in e.args])
        if isinstance(e, Or):
            if not e.args:
                return z3.BoolVal(False, ctx)
            return z3.Or([self.boolean(a, None, pol) for a in e.args])
        if isinstance(e, Implies):
            return z3.Implies(self.boolean(e.lhs, None, flip), self.boolean(e.rhs, None, pol))
        if isinstance(e, Ite):
            return z3.If(self.boolean(e.cond, None, None), self.boolean(e.then, None, pol),
                         self.boolean(e.orelse, None, pol))
        if isinstance(e, Quant):
            bound = z3.Const(f"{e.var.name}", self.enc.sorts[e.var.over])
            outer = self.env.get(e.var.name)
            self.env[e.var.name] = bound
            body = self.boolean(e.body, None, pol)
            if outer is None:
                del self.env[e.var.name]
            else:
                self.env[e.var.name] = outer
            return z3.ForAll([bound], body) if e.kind == "forall" else z3.Exists([bound], body)
        raise Unencodable(f"cannot encode {type(e).__name__} as a condition")

    def atom(self, e: Expr, pol: bool | None = True) -> Any:
        """A comparison or a Bool read; each successor ``succ(t)`` in it becomes a bound
        ``y`` with ``next(t, y)`` (the ring's successor relation): universally where the
        atom occurs positively, existentially where negatively, so that a universal
        invariant stays universal (EPR). Both readings agree on every ring."""
        enc = self.enc
        if isinstance(e, Cmp) and e.op in ("==", "!=") and (_is_succ(e.lhs) or _is_succ(e.rhs)):
            fn, other = (e.lhs, e.rhs) if _is_succ(e.lhs) else (e.rhs, e.lhs)
            assert isinstance(fn, IndexFn)
            if _innermost_succ([fn.arg, other]) is None:
                rel = enc.nxt[fn.cod](self.index(fn.arg, fn.cod), self.index(other, fn.cod))
                return rel if e.op == "==" else z3.Not(rel)
        node = _innermost_succ([e])
        if node is None:
            if isinstance(e, Cmp):
                return self.compare(e)
            assert isinstance(e, Var)
            if isinstance(e.domain, BoolDomain):
                sym = self._frame(e).symbols[e.name]
                if e.index is None:
                    return sym
                return sym(self.index(e.index, enc.ps.var(e.name).over or ""))
            return self.term(e, None) != 0
        y = IndexVar(f"succ{len(self.env)}_{node.cod}", node.cod)
        bound = z3.Const(y.name, enc.sorts[node.cod])
        self.env[y.name] = bound
        try:
            body = self.atom(substitute(e, node, y), pol)
            rel = enc.nxt[node.cod](self.index(node.arg, node.cod), bound)
        finally:
            del self.env[y.name]
        if pol is False:
            return z3.Exists([bound], z3.And(rel, body))
        return z3.ForAll([bound], z3.Implies(rel, body))

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
        domain = self.domain_of(e.lhs) or self.domain_of(e.rhs)
        if isinstance(domain, BoolDomain):
            a, b = self.boolean(e.lhs), self.boolean(e.rhs)
            if e.op not in ("==", "!="):
                a, b = self.term(e.lhs, None), self.term(e.rhs, None)
        elif isinstance(domain, EnumDomain):
            if e.op not in ("==", "!="):
                raise Unencodable(f"'{e.op}' between labels of {domain.name}")
            a, b = self.term(e.lhs, domain), self.term(e.rhs, domain)
        else:
            a, b = self.term(e.lhs, None), self.term(e.rhs, None)
        if e.op == "==":
            return a == b
        if e.op == "!=":
            return a != b
        return {"<": lambda: a < b, "<=": lambda: a <= b, ">": lambda: a > b,
                ">=": lambda: a >= b}[e.op]()
