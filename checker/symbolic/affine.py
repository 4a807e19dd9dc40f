"""Affine relations between counters and counts of literals, guessed from samples.

A cube lemma cannot say "the block's managed count is three minus the number of its
PageOffline pages": IC3 needs one cube per combination of pages, and the number of
combinations grows exponentially with the pages (the hotplug model's ``managed``,
``spare`` and ``balloon_elsewhere`` are such counters). This module guesses the
equalities instead, the way Sharma et al. ("A data driven approach for algebraic loop
invariants", ESOP 2013) guess loop invariants: from the nullspace of a matrix of
sampled states.

1. *features*: for a counter (an integer slot with more than two values) every sampled
   state becomes a row: the counter, the other scalar counters, the indicators
   ``[x = v]`` of the other scalars (and of the counter's own element of the families
   over its index set), the count of each value over each family, and ``1``;
2. *relations*: with no guard, or else for each guard (a literal of a scalar or of the
   counter's own element of a family over its index set), the rows where the guard
   holds span a space whose orthogonal complement (by SVD) holds every affine
   relation they satisfy; its reduced row echelon form, counter first, writes the
   counter in terms of the later columns (counts last, so relations read as sums
   over families);
3. *exactness*: coefficients are rounded to small fractions, scaled to integers and
   checked exactly on every sample the guard selects.

Each surviving relation becomes a candidate lemma ``guard → Σ a·f = c``; Houdini
(``houdini.py``) keeps it only if it is inductive together with the others, so a wrong
guess costs time, never soundness.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import lcm

import numpy as np

from mhpcheck.model.domains import IntRangeDomain
from mhpcheck.model.expr import Arith, Cmp, Const, Expr, Implies, Ite, Var
from mhpcheck.model.system import State, TransitionSystem

from .certificate import slot_var

#: Rows of the sample matrix used for one nullspace (a deterministic subsample).
ROWS = 3000
#: Largest denominator a rounded coefficient may have.
MAX_DENOMINATOR = 12
#: Singular values of the Gram matrix below this (relative to the largest) count as zero.
RANK_TOLERANCE = 1e-10
#: A guard must select at least this many samples to be worth a relation.
MIN_ROWS = 8


@dataclass(frozen=True)
class Feature:
    """A column: the value of slot ``slots[0]`` (``value`` None), the indicator
    ``[slots[0] = value]``, or the count of ``slots`` holding ``value``."""

    slots: tuple[int, ...]
    value: int | None = None


@dataclass(frozen=True)
class Relation:
    """``guard → Σ coef·feature = constant`` (guard a literal ``(slot, value)`` or None)."""

    guard: tuple[int, int] | None
    terms: tuple[tuple[int, Feature], ...]
    constant: int


def counters(ts: TransitionSystem) -> list[int]:
    """Integer slots with more than two values: the ones a relation may define."""
    return [v.offset + i for v in ts.variables if isinstance(v.domain, IntRangeDomain)
            and v.domain.size > 2 for i in range(v.width)]


def neighbourhood(ts: TransitionSystem, target: int) -> frozenset[int]:
    """The slots that the action instances writing slot ``target`` read or write: for
    the hotplug model's ``managed[memory0]``, the pages and pageblocks of block 0."""
    return frozenset(slot for inst in ts.actions if target in ts.writes(inst)
                     for slot in ts.footprint(inst))


def features(ts: TransitionSystem, target: int) -> list[Feature]:
    """The columns a relation for counter slot ``target`` may use, the target first:
    the other scalar integer variables; the indicators of the other scalars' values (and of the
    values of the target's own element of the families over its index set); the
    count of each value over every family (the sum, for an integer family), and over
    the part of it in the target's ``neighbourhood`` where that is a proper part (a
    block's own pages). Each family contributes one column fewer than it has values
    (the indicators of one slot sum to one)."""
    mine = ts.var_at(target)
    element = target - mine.offset
    near = neighbourhood(ts, target)
    scalars: list[Feature] = []
    indicators: list[Feature] = []
    counts: list[Feature] = []
    for v in ts.variables:
        numeric = isinstance(v.domain, IntRangeDomain)
        values = v.domain.codes()[1:]
        if v.index is None:
            if v.offset == target:
                continue
            if numeric:
                scalars.append(Feature((v.offset,)))
            else:
                indicators += [Feature((v.offset,), c) for c in values]
            continue
        slots = tuple(range(v.offset, v.offset + v.width))
        if (mine.index is not None and v.index.name == mine.index.name and v is not mine
                and not numeric):
            indicators += [Feature((v.offset + element,), c) for c in values]
        if v is mine:
            continue
        part = tuple(x for x in slots if x in near)
        for group in (slots, part) if 0 < len(part) < len(slots) else (slots,):
            if numeric:
                counts.append(Feature(group))
            else:
                counts += [Feature(group, c) for c in values]
    return [Feature((target,)), *scalars, *indicators, *counts]


def guards_for(ts: TransitionSystem, slot: int) -> list[tuple[int, int]]:
    """Literals a relation for counter ``slot`` may be conditioned on: those of scalar
    variables, and of the same element of families over the counter's index set."""
    owner = ts.var_at(slot)
    element = slot - owner.offset
    out: list[tuple[int, int]] = []
    for v in ts.variables:
        if isinstance(v.domain, IntRangeDomain) or v is owner:
            continue
        if v.index is None:
            s = v.offset
        elif owner.index is not None and v.index.name == owner.index.name:
            s = v.offset + element
        else:
            continue
        out += [(s, c) for c in v.domain.codes()]
    return out


def matrix(feats: Sequence[Feature], arr: np.ndarray) -> np.ndarray:
    """The integer sample matrix of the states ``arr`` (one per row): the features,
    then the constant 1."""
    cols = []
    for f in feats:
        if f.value is None:
            cols.append(arr[:, list(f.slots)].sum(axis=1))
        else:
            cols.append((arr[:, list(f.slots)] == f.value).sum(axis=1))
    cols.append(np.ones(len(arr), dtype=np.int64))
    return np.stack(cols, axis=1).astype(np.int64)


def _rref_first_row(null: np.ndarray) -> np.ndarray | None:
    """The row of the reduced row echelon form of ``null`` (whose rows span the
    relations) with its pivot in column 0, or None if no relation involves it."""
    m = null.copy()
    rows, cols = m.shape
    r = 0
    for c in range(cols):
        if r == rows:
            break
        p = r + int(np.argmax(np.abs(m[r:, c])))
        if abs(m[p, c]) < 1e-7:
            if c == 0:
                return None
            continue
        m[[r, p]] = m[[p, r]]
        m[r] /= m[r, c]
        others = np.arange(rows) != r
        m[others] -= np.outer(m[others, c], m[r])
        r += 1
    first: np.ndarray = m[0]
    return first


def _integer(row: np.ndarray) -> list[int] | None:
    fracs = [Fraction(float(x)).limit_denominator(MAX_DENOMINATOR) for x in row]
    if any(abs(float(f) - float(x)) > 1e-6 for f, x in zip(fracs, row, strict=True)):
        return None
    scale = lcm(*[f.denominator for f in fracs])
    return [int(f * scale) for f in fracs]


def relations(ts: TransitionSystem, states: Sequence[State],
              seconds: float | None = None) -> list[Relation]:
    """The affine relations guessed for every counter of ``ts`` from ``states``: one
    without a guard where the samples allow, else one per guard; those found within
    ``seconds`` when it is given."""
    stop = None if seconds is None else time.monotonic() + seconds
    targets = counters(ts)
    if not targets or not states:
        return []
    arr = np.array(states, dtype=np.int64).reshape(len(states), -1)
    rng = np.random.default_rng(1)
    out: list[Relation] = []
    for slot in targets:
        feats = features(ts, slot)
        full = matrix(feats, arr)
        seen: set[tuple[int, ...]] = set()
        for guard in [None, *guards_for(ts, slot)]:
            if stop is not None and time.monotonic() > stop:
                return out
            rows = full if guard is None else full[arr[:, guard[0]] == guard[1]]
            if len(rows) < MIN_ROWS or np.ptp(rows[:, 0]) == 0:
                continue  # too few samples, or the counter is constant there (a cube says so)
            sub = rows if len(rows) <= ROWS else rows[rng.choice(len(rows), ROWS, replace=False)]
            found = _relation(sub.astype(np.float64))
            if found is None or tuple(found) in seen or np.any(rows @ np.array(found)):
                continue
            seen.add(tuple(found))
            terms = tuple((c, f) for c, f in zip(found, feats, strict=False) if c)
            out.append(Relation(guard, terms, -found[-1]))
            if guard is None:
                break  # it holds everywhere: no guard needed
    return out


def _relation(sub: np.ndarray) -> list[int] | None:
    """Integer coefficients (the constant's last) of a relation that defines column 0
    over the rows of ``sub``, or None."""
    live = np.ptp(sub, axis=0) > 0
    live[-1] = True  # the constant column stays
    kept = np.flatnonzero(live)
    if kept[0] != 0:
        return None
    a = sub[:, kept]
    _, sv, vt = np.linalg.svd(a.T @ a)  # the Gram matrix has the same nullspace
    rank = int(np.sum(sv > RANK_TOLERANCE * sv[0])) if len(sv) else 0
    null = vt[rank:]
    if not len(null):
        return None
    row = _rref_first_row(null)
    if row is None:
        return None
    ints = _integer(row)
    if ints is None:
        return None
    coef = [0] * sub.shape[1]
    for k, c in zip(kept, ints, strict=True):
        coef[k] = c
    return coef


def as_expr(ts: TransitionSystem, rel: Relation) -> Expr:
    """The relation as a lemma of the model's IR (positive terms left, the rest right)."""
    def one(slot: int, value: int | None) -> Expr:
        v = slot_var(ts, slot)
        if value is None:
            return v
        return Ite(Cmp("==", v, _code(v, value)), Const(1), Const(0))

    def feature(f: Feature) -> Expr:
        acc = one(f.slots[0], f.value)
        for slot in f.slots[1:]:
            acc = Arith("+", acc, one(slot, f.value))
        return acc

    def side(parts: list[tuple[int, Feature]], constant: int) -> Expr:
        acc: Expr | None = None
        for c, f in parts:
            t = feature(f) if c == 1 else Arith("*", Const(c), feature(f))
            acc = t if acc is None else Arith("+", acc, t)
        if acc is None:
            return Const(constant)
        return acc if constant == 0 else Arith("+", acc, Const(constant))

    left = [(c, f) for c, f in rel.terms if c > 0]
    right = [(-c, f) for c, f in rel.terms if c < 0]
    eq: Expr = Cmp("==", side(left, 0), side(right, rel.constant))
    if rel.guard is None:
        return eq
    g = slot_var(ts, rel.guard[0])
    return Implies(Cmp("==", g, _code(g, rel.guard[1])), eq)


def _code(v: Var, value: int) -> Const:
    """The constant ``value`` of the sort of ``v``."""
    return Const(value, "bool") if v.sort == "bool" else Const(value)
