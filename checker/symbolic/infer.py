"""Candidate invariants from the reachable states of small finite instances.

The candidates are clauses of up to three literals over up to two index variables
(``∀x ∀y. l1 ∨ l2 ∨ l3``). A literal is an atom or its negation; an atom reads one
family element at a term of the variables (``pc[x] = eating``, ``fork[succ(x)]``,
``owner[p] = lru``), compares a scalar with a value, or relates two terms of one
index set (``x = y``, ``y = succ(x)``, ``pageblock_of(p) = q``, ``x < y``). Every
candidate true in every reachable state of every sampled instance (BFS at the smallest
sizes) is kept; a clause implied by a shorter kept one is dropped. The survivors are
only candidates: the forall engine keeps the inductive ones (Houdini).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from mhpcheck.model.domains import BoolDomain
from mhpcheck.model.expr import Cmp, Const, Expr, Not, Or, Var, sort_of_domain, walk
from mhpcheck.model.parametric import ParametricSystem
from mhpcheck.model.quantify import AttrFn, IndexFn, IndexVar, Instance, Quant
from mhpcheck.model.system import State, TransitionSystem

#: the most values of a family's domain that each get an atom; a wider one gets atoms
#: only for its initial values and the values the target property names (``Focus``)
MAX_VALUES = 8
#: the same for a scalar (a control location such as ``pc`` needs an atom per step)
MAX_SCALAR_VALUES = 16


@dataclass(frozen=True)
class Sample:
    """The reachable states of one finite instance and its sizes and relations."""

    ts: TransitionSystem
    instance: Instance
    states: Sequence[State]


@dataclass(frozen=True)
class Atom:
    """A candidate's atom: its parametric formula and the index variables it uses."""

    expr: Expr
    uses: frozenset[str]
    bare: frozenset[str] = frozenset()  # the variables read not under succ
    state: bool = True  # reads the state (else a fact about the index sets alone)


def _terms(ps: ParametricSystem, var: IndexVar) -> list[Expr]:
    """The terms of ``var``'s context that name elements: the variable, its successor
    on a ring, and declared functions of it."""
    decl = next(i for i in ps.indices if i.name == var.over)
    out: list[Expr] = [var]
    if decl.ring:
        out.append(IndexFn("succ", var, var.over))
    out += [IndexFn(f.name, var, f.cod) for f in ps.functions
            if f.dom == var.over and f.values is None]
    return out


def _sort_of(ps: ParametricSystem, t: Expr) -> str:
    if isinstance(t, IndexVar):
        return t.over
    if isinstance(t, IndexFn):
        return t.cod
    assert isinstance(t, Var)
    return ps.var(t.name).element or ""


def contexts(ps: ParametricSystem) -> list[tuple[IndexVar, ...]]:
    """The variable tuples candidates quantify over: one variable of each index set,
    two of one set, and an element with the set a declared function maps it to."""
    out: list[tuple[IndexVar, ...]] = [()]
    for decl in ps.indices:
        out.append((IndexVar("x", decl.name),))
        out.append((IndexVar("x", decl.name), IndexVar("y", decl.name)))
    for f in ps.functions:
        if f.values is None:
            out.append((IndexVar("x", f.dom), IndexVar("y", f.cod)))
    return out


@dataclass(frozen=True)
class Focus:
    """The values of each variable that get atoms even where its domain is too wide for
    an atom per value (over MAX_SCALAR_VALUES for a scalar, MAX_VALUES for a family):
    those it takes in an initial state, and those the property compares it
    with (``pc = idle``, ``pc = commit``)."""

    values: dict[str, frozenset[int]]

    @staticmethod
    def of(target: Expr, samples: Sequence[Sample]) -> Focus:
        out: dict[str, set[int]] = {}
        for node in walk(target):
            if isinstance(node, Cmp) and isinstance(node.lhs, Var) and \
                    isinstance(node.rhs, Const):
                out.setdefault(node.lhs.name, set()).add(int(node.rhs.value))
        for smp in samples:
            for name, decl in smp.instance.variables.items():
                for state in smp.ts.init:
                    out.setdefault(name, set()).update(
                        state[decl.offset:decl.offset + decl.width])
        return Focus({k: frozenset(v) for k, v in out.items()})


def atoms(ps: ParametricSystem, ctx: tuple[IndexVar, ...],
          focus: Focus | None = None) -> list[Atom]:
    """Every atom over the variables ``ctx`` (of a wide domain, only the ``focus``
    values)."""
    terms: list[tuple[Expr, frozenset[str]]] = []
    for v in ctx:
        terms += [(t, frozenset({v.name})) for t in _terms(ps, v)]
    terms += [(Var(v.name, v.domain), frozenset()) for v in ps.variables
              if v.element is not None]

    def bare(*ts: Expr) -> frozenset[str]:
        return frozenset(t.name for t in ts if isinstance(t, IndexVar)) | frozenset(
            t.arg.name for t in ts if isinstance(t, IndexFn) and t.fn != "succ"
            and isinstance(t.arg, IndexVar))
    out: list[Atom] = []
    for pv in ps.variables:
        if pv.element is not None or pv.untracked:
            continue
        values = list(pv.domain.codes())
        if isinstance(pv.domain, BoolDomain):
            values = [1]
        elif len(values) > (MAX_VALUES if pv.over else MAX_SCALAR_VALUES):
            values = sorted(focus.values.get(pv.name, ())) if focus else []
            if not values or len(values) > MAX_VALUES:
                continue
        sort = sort_of_domain(pv.domain)
        if pv.over is None:
            out += [Atom(Cmp("==", Var(pv.name, pv.domain), Const(c, sort)), frozenset())
                    for c in values]
            continue
        for t, uses in terms:
            if _sort_of(ps, t) != pv.over:
                continue
            out += [Atom(Cmp("==", Var(pv.name, pv.domain, t), Const(c, sort)), uses, bare(t))
                    for c in values]
    for f in ps.functions:  # an attribute's label at an element: no state read
        if f.values is None or len(f.values.labels) > MAX_VALUES:
            continue
        for t, uses in terms:
            if _sort_of(ps, t) == f.dom and not isinstance(t, Var):
                out += [Atom(Cmp("==", AttrFn(f.name, t, f.values), Const(c, f.values)), uses,
                             bare(t), False) for c in f.values.codes()]
    ordered = {i.name for i in ps.indices if i.ordered}
    for (a, ua), (b, ub) in itertools.combinations(terms, 2):
        if _sort_of(ps, a) != _sort_of(ps, b) or not (ua | ub):
            continue
        reads = isinstance(a, Var) or isinstance(b, Var)
        if not bare(a, b) and not reads:
            continue  # succ(x) = succ(y) is x = y
        out.append(Atom(Cmp("==", a, b), ua | ub, bare(a, b), reads))
        if _sort_of(ps, a) in ordered and isinstance(a, IndexVar) and isinstance(b, IndexVar):
            out.append(Atom(Cmp("<", a, b), ua | ub, bare(a, b), False))
    return out


# -- evaluation over samples -----------------------------------------------------------------
def _value(t: Expr, inst: Instance, env: dict[str, int], states: np.ndarray) -> np.ndarray:
    """The element ``t`` names in each state (a column of element codes)."""
    n = states.shape[0]
    if isinstance(t, IndexVar):
        return np.full(n, env[t.name])
    if isinstance(t, IndexFn):
        arg = _value(t.arg, inst, env, states)
        if t.fn == "succ":
            return (arg + 1) % inst.sizes[t.cod]
        mapped: np.ndarray = np.asarray(inst.functions[t.fn])[arg]
        return mapped
    assert isinstance(t, Var) and t.index is None
    col: np.ndarray = states[:, inst.variables[t.name].offset]
    return col


def _truth(e: Expr, inst: Instance, env: dict[str, int], states: np.ndarray) -> np.ndarray:
    assert isinstance(e, Cmp)
    if isinstance(e.lhs, AttrFn) and isinstance(e.rhs, Const):
        labels = np.asarray(inst.functions[e.lhs.fn])[_value(e.lhs.arg, inst, env, states)]
        return np.asarray(labels == e.rhs.value)
    if isinstance(e.lhs, Var) and isinstance(e.rhs, Const):
        decl = inst.variables[e.lhs.name]
        if e.lhs.index is None:
            col = states[:, decl.offset]
        else:
            idx = _value(e.lhs.index, inst, env, states)
            col = states[np.arange(states.shape[0]), decl.offset + idx]
        return np.asarray(col == e.rhs.value)
    a, b = _value(e.lhs, inst, env, states), _value(e.rhs, inst, env, states)
    return np.asarray(a < b) if e.op == "<" else np.asarray(a == b)


def table(ctx: tuple[IndexVar, ...], found: list[Atom], samples: Sequence[Sample]) -> np.ndarray:
    """The truth of each atom (rows) at each sample state and assignment of ``ctx``
    (columns, duplicates removed)."""
    cols: list[np.ndarray] = []
    for smp in samples:
        states = np.asarray(smp.states, dtype=np.int64)
        if states.size == 0:
            continue
        ranges = [range(smp.instance.sizes[v.over]) for v in ctx]
        for combo in itertools.product(*ranges):
            env = {v.name: k for v, k in zip(ctx, combo, strict=True)}
            cols.append(np.stack([_truth(a.expr, smp.instance, env, states) for a in found]))
    if not cols:
        return np.zeros((len(found), 0), dtype=bool)
    whole = np.concatenate(cols, axis=1)
    if not whole.shape[1]:
        return whole
    # distinct columns: each packed into bytes and compared as one value (np.unique with
    # axis=1 sorts the columns field by field, far slower on wide tables)
    packed = np.ascontiguousarray(np.packbits(whole.T, axis=1))
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first = np.unique(keys, return_index=True)
    kept: np.ndarray = whole[:, np.sort(first)]
    return kept


def clauses(truth: np.ndarray, max_literals: int) -> Iterator[tuple[tuple[int, bool], ...]]:
    """Clauses (atom, positive) true in every column of ``truth``, none implied by a
    shorter one found before it."""
    n = truth.shape[0]
    if truth.shape[1] == 0:
        return
    lits: np.ndarray = np.concatenate([truth, ~truth])  # literal k: atom k % n, positive iff k < n
    full = np.asarray(lits.all(axis=1))
    found: list[frozenset[int]] = []

    def fresh(c: tuple[int, ...]) -> bool:
        s = frozenset(c)
        return not any(f <= s for f in found)

    def emit(c: tuple[int, ...]) -> tuple[tuple[int, bool], ...]:
        found.append(frozenset(c))
        return tuple((k % n, k < n) for k in c)

    for k in range(2 * n):
        if full[k]:
            yield emit((k,))
    if max_literals < 2:
        return
    for i in range(2 * n):
        if full[i]:
            continue
        rest: np.ndarray = lits[i + 1:] | lits[i]
        ok = np.asarray(rest.all(axis=1))
        for d in np.nonzero(ok)[0]:
            j = i + 1 + int(d)
            if j % n != i % n and not full[j] and fresh((i, j)):
                yield emit((i, j))
    if max_literals < 3:
        return
    for i in range(2 * n):
        if full[i]:
            continue
        for j in range(i + 1, 2 * n):
            if full[j] or j % n == i % n:
                continue
            base: np.ndarray = lits[i] | lits[j]
            if base.all():
                continue
            ok3: np.ndarray = (lits[j + 1:] | base).all(axis=1)
            for d in np.nonzero(ok3)[0]:
                k = j + 1 + int(d)
                if k % n in (i % n, j % n) or full[k]:
                    continue
                if fresh((i, j, k)):
                    yield emit((i, j, k))


def _same(e: Expr) -> bool:
    """``x = y`` between two index variables."""
    return isinstance(e, Cmp) and e.op == "==" and isinstance(e.lhs, IndexVar) and \
        isinstance(e.rhs, IndexVar)


def _valid(found: list[Atom], clause: tuple[tuple[int, bool], ...]) -> bool:
    """Whether ``clause`` holds of every value of some family element it reads (such as
    ``pc[x] = idle ∨ pc[x] = critical`` over a two-label enum)."""
    by_read: dict[Expr, tuple[set[int], set[int]]] = {}
    for a, pos in clause:
        e = found[a].expr
        if isinstance(e, Cmp) and isinstance(e.lhs, (Var, AttrFn)) and isinstance(e.rhs, Const):
            p, n = by_read.setdefault(e.lhs, (set(), set()))
            (p if pos else n).add(e.rhs.value)
    for read, (p, n) in by_read.items():
        assert isinstance(read, (Var, AttrFn))
        if len(n) >= 2 or (n & p) or p >= set(read.domain.codes()):
            return True
    return False


def formula(ctx: tuple[IndexVar, ...], found: list[Atom],
            clause: tuple[tuple[int, bool], ...]) -> Expr:
    """The candidate ``∀ ctx. clause`` (only the variables it uses are quantified)."""
    lits: list[Expr] = [found[a].expr if pos else Not(found[a].expr) for a, pos in clause]
    body: Expr = lits[0] if len(lits) == 1 else Or(tuple(lits))
    used = frozenset().union(*(found[a].uses for a, _ in clause))
    for v in reversed(ctx):
        if v.name in used:
            body = Quant("forall", v, body)
    return body


def candidates(ps: ParametricSystem, samples: Sequence[Sample], max_literals: int = 3,
               limit: int = 600, focus: Focus | None = None) -> list[Expr]:
    """The clauses true in every sample, shortest first, at most ``limit`` of them."""
    out: dict[Expr, None] = {}
    for ctx in contexts(ps):
        found = atoms(ps, ctx, focus)
        if not found:
            continue
        truth = table(ctx, found, samples)
        for clause in clauses(truth, max_literals if len(found) <= 80 else 2):
            used = frozenset().union(*(found[a].uses for a, _ in clause))
            bare = frozenset().union(*(found[a].bare for a, _ in clause))
            if len(used) < len(ctx) or _valid(found, clause):
                continue  # found in a smaller context, or true of every state
            if used - bare or not any(found[a].state for a, _ in clause):
                continue  # a shift along the ring of another, or reads no state
            if any(not pos and _same(found[a].expr) for a, pos in clause):
                continue  # x = y ⇒ C(x, y) is C(x, x), found with one variable
            out.setdefault(formula(ctx, found, clause))
            if len(out) >= 4 * limit:
                break
    ranked = sorted(out, key=lambda e: _size(e))
    return ranked[:limit]


def _size(e: Expr) -> int:
    return sum(1 for _ in walk(e))
