"""Candidate lemmas drawn from the model, pruned to an inductive set (Houdini).

IC3 spends most of its queries rediscovering simple facts about the model: that a
variable never takes some value, or that two variables never take some pair of values
together. This module finds such facts up front:

1. *samples*: reachable states, by a bounded breadth-first search of the explicit
   semantics from the initial states and by random walks beyond it;
2. *candidates*: every literal ``x = v`` never seen in a sample gives the unit clause
   ``x != v``; every pair of literals (of different variables) seen alone but never
   together gives the binary clause ``x != v or y != w``; every pair seen together but
   never with a *selector* literal ``s = k``, of slots that one action touches together
   with ``s``, gives a ternary clause (``selectors``:
   a scalar that names which element an action works on, like the hotplug model's
   ``op_block``, so that facts about block ``k`` hold only while ``op_block = k``); and
   the affine relations between counters and counts of values that every sample
   satisfies (``affine.py``);
3. *pruning* (Houdini, Flanagan and Leino 2001): while some transition leaves the
   conjunction of the candidates (from a state satisfying all of them to one that
   breaks some), drop every candidate the successor breaks. What remains holds in the
   initial states (the samples include them) and is inductive: a sound
   over-approximation of the reachable states, whatever the samples were.

The result is a set of cubes (each a lemma ``not cube``) and relations that IC3
assumes in every frame and adds to its certificate; the certificate is re-checked
independently as before. The dropped candidates go to IC3 as hints (cubes) and
guesses (relations, which ``pdr`` tries to prove together first). The invariant does
not depend on the property, so it is computed once per Checker call and kept in
``enc.learned``.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mhpcheck.model.compile import compile_system
from mhpcheck.model.errors import ModelError
from mhpcheck.model.expr import And, Cmp, Const, Expr, Var
from mhpcheck.model.system import State, TransitionSystem

from . import affine
from . import z3api as z
from .common import Clock
from .encode import Encoding
from .z3api import Term

Cube = tuple[tuple[int, int], ...]

#: Sampling budget: states by BFS, then random walks (count, length). Every budget here
#: counts steps or queries, never seconds, so that one system always gives the same
#: invariant (and PDR the same certificate), however busy the machine; only the run's
#: own timeout may cut them short, and then the proof ends "unknown".
BFS_STATES = 100000
WALKS = 200
WALK_LEN = 300
#: Actions that must track a scalar for it to be a selector (``selectors``): ternary
#: candidates for a selector of one action cost more pruning than they save.
SELECTOR_ACTIONS = 3
#: Most queries pruning may make: each drops at least one candidate, so this bounds
#: only systems with very many candidates, whose invariant IC3 then does without.
PRUNE_QUERIES = 5000


def _values(enc: Encoding, slot: int) -> list[int]:
    if enc.sorts[slot] == "bool":
        return [0, 1]
    d = enc.domains[slot]
    return list(range(d.lo, d.hi + 1))


def sample(enc: Encoding, clock: Clock) -> list[State]:
    """Reachable states: BFS up to BFS_STATES, then WALKS random walks of WALK_LEN
    steps from a fixed random seed (model errors end a path; the states seen so far
    still count). The same for every run unless ``clock`` runs out."""
    succ = compile_system(enc.ts).successors
    seen: set[State] = set(enc.ts.init)
    queue = deque(seen)
    while queue and len(seen) < BFS_STATES and not clock.expired():
        s = queue.popleft()
        try:
            nxt = succ(s)
        except Exception:  # a model error: the property checks report it
            continue
        for _, t in nxt:
            if t not in seen:
                seen.add(t)
                queue.append(t)
    rng = random.Random(1)
    inits = sorted(set(enc.ts.init))
    for _ in range(WALKS):
        if clock.expired() or not inits:
            break
        s = rng.choice(inits)
        for _ in range(WALK_LEN):
            try:
                nxt = succ(s)
            except Exception:
                break
            if not nxt:
                break
            s = rng.choice(nxt)[1]
            seen.add(s)
    return sorted(seen)


def selectors(ts: TransitionSystem) -> list[int]:
    """The scalar slots that select the element a multi-step operation works on: for at
    least SELECTOR_ACTIONS actions with instances for two or more argument values, every
    instance's guard has the conjunct ``s = k`` where ``k`` is that instance's argument
    (``op_block = b`` in each of the hotplug model's offline steps for block ``b``; the
    scan's ``scan_pfn``, tracked by one action, is not one). Pointers such as
    the stray holder's page (then an enum of pfns) helped one page more (1x4x1) but
    cost two blocks more in pruning than they saved."""
    tracks: dict[tuple[str, str], set[str] | None] = {}
    values: dict[tuple[str, str], set[object]] = {}
    for inst in ts.actions:
        conjuncts = inst.guard.args if isinstance(inst.guard, And) else (inst.guard,)
        for arg, value in inst.args:
            key = (inst.action, arg)
            values.setdefault(key, set()).add(value)
            named = {c.lhs.name for c in conjuncts
                     if isinstance(c, Cmp) and c.op == "==" and isinstance(c.lhs, Var)
                     and c.lhs.index is None and isinstance(c.rhs, Const)
                     and c.rhs.value == value and not isinstance(value, bool)}
            had = tracks.get(key, named)
            tracks[key] = (had & named) if had is not None else None
    actions: dict[str, set[str]] = {}
    for key, found in tracks.items():
        if found and len(values[key]) > 1:
            for n in found:
                actions.setdefault(n, set()).add(key[0])
    return [ts.var(n).offset for n in sorted(actions) if len(actions[n]) >= SELECTOR_ACTIONS]


def candidates(enc: Encoding, states: list[State], select: Sequence[int] = ()) -> list[Cube]:
    """Unit and binary cubes that no sample meets, and the ternary ones of a pair seen
    together (and each with the selector literal) but never with the selector literal
    (one of the ``select`` slots' values), where one action touches all three slots."""
    lits = [(slot, v) for slot in range(len(enc.sorts)) for v in _values(enc, slot)]
    index = {lit: k for k, lit in enumerate(lits)}
    arr = np.zeros((len(states), len(lits)), dtype=np.float32)
    for r, s in enumerate(states):
        for slot, v in enumerate(s):
            k = index.get((slot, v))
            if k is not None:
                arr[r, k] = 1.0
    co = arr.T @ arr
    seen = np.diag(co) > 0
    out: list[Cube] = [(lit,) for k, lit in enumerate(lits) if not seen[k]]
    pos = [k for k in range(len(lits)) if seen[k]]
    for a_i, a in enumerate(pos):
        la = lits[a]
        for b in pos[a_i + 1:]:
            lb = lits[b]
            if la[0] != lb[0] and co[a, b] == 0:
                out.append((la, lb))
    slot_of = np.array([lit[0] for lit in lits])
    apart = slot_of[:, None] != slot_of[None, :]
    pairs = np.triu((co > 0) & apart, 1)
    together = _together(enc.ts, select)
    for k, (slot, _) in enumerate(lits):
        if slot not in select or not seen[k]:
            continue
        sub = arr[arr[:, k] > 0]
        with_k = co[:, k] > 0
        never = (sub.T @ sub == 0) & pairs & with_k[:, None] & with_k[None, :]
        never &= (slot_of != slot)[:, None] & (slot_of != slot)[None, :]
        never &= together[slot][np.ix_(slot_of, slot_of)]
        out += [tuple(sorted((lits[a], lits[b], lits[k]))) for a, b in np.argwhere(never)]
    return out


def _together(ts: TransitionSystem, select: Sequence[int]) -> dict[int, np.ndarray]:
    """Per selector slot, which pairs of slots one action instance touches together
    with it (ternary candidates are limited to those: an inductive fact relates what
    some step reads and writes at once)."""
    out = {s: np.zeros((ts.n_slots, ts.n_slots), dtype=np.bool_) for s in select}
    for inst in ts.actions:
        near = ts.footprint(inst)
        idx = np.array(sorted(near))
        for s in select:
            if s in near:
                out[s][np.ix_(idx, idx)] = True
    return out


class _Lits:
    def __init__(self, enc: Encoding, solver: z.Solver, frame: list[Term], tag: str) -> None:
        self.enc, self.solver, self.frame, self.tag = enc, solver, frame, tag
        self.map: dict[tuple[int, int], Term] = {}

    def __call__(self, lit: tuple[int, int]) -> Term:
        p = self.map.get(lit)
        if p is None:
            p = z.bool_var(f"h:{self.tag}:{lit[0]}={lit[1]}")
            self.solver.add(z.eq(p, z.eq(self.frame[lit[0]],
                                         self.enc.value_term(lit[0], lit[1]))))
            self.map[lit] = p
        return p


def prune(enc: Encoding, cands: list[Cube], clock: Clock, queries: int = PRUNE_QUERIES,
          exprs: Sequence[Expr] = ()) -> tuple[list[Cube], list[Expr]] | None:
    """The largest inductive subset of the cube candidates ``cands`` and the lemma
    candidates ``exprs`` together (Houdini); None after ``queries`` queries or when
    ``clock`` runs out."""
    s = z.Solver()
    s.add(enc.domain(enc.x))
    s.add(enc.domain(enc.xn))
    s.add(enc.trans)
    cur = _Lits(enc, s, enc.x, "c")
    nxt = _Lits(enc, s, enc.xn, "n")
    acts: list[Term] = []
    broken: list[Term] = []
    for k, cube in enumerate(cands):
        a = z.bool_var(f"h:a{k}")
        s.add(z.or_raw([z.not_raw(a), *[z.not_raw(cur(lit)) for lit in cube]]))
        acts.append(a)
        broken.append(z.and_raw([nxt(lit) for lit in cube]))
    now_tr, nxt_tr = enc.translator(enc.x), enc.translator(enc.xn)
    compiled = compile_system(enc.ts)
    preds = [compiled.predicate(e, "houdini candidate") for e in exprs]
    for k, e in enumerate(exprs):
        a = z.bool_var(f"h:e{k}")
        s.add(z.implies(a, z.and_([now_tr.defined(e), now_tr.pred(e)])))
        acts.append(a)
        broken.append(z.not_(z.and_([nxt_tr.defined(e), nxt_tr.pred(e)])))
    n = len(cands)

    def breaks(k: int, state: State) -> bool:
        if k < n:
            return all(state[slot] == v for slot, v in cands[k])
        try:
            return not preds[k - n](state)
        except ModelError:
            return True

    alive = list(range(n + len(exprs)))
    while alive:
        if clock.expired() or s.checks >= queries:
            return None
        s.push()
        s.add(z.or_raw([broken[k] for k in alive]))
        answer = s.check([acts[k] for k in alive], timeout=clock.left())
        if answer == "unsat":
            s.pop()
            break
        if answer == "unknown":
            s.pop()
            return None
        m = s.model()
        state = tuple(m.value(t) for t in enc.xn)
        s.pop()
        alive = [k for k in alive if not breaks(k, state)]
    return [cands[k] for k in alive if k < n], [exprs[k - n] for k in alive if k >= n]


@dataclass(frozen=True)
class Found:
    """The Houdini invariant: its cubes (lemmas ``not cube``) and affine relations
    (``affine.py``); and the candidates it dropped, as hints for IC3."""

    cubes: tuple[Cube, ...] = ()
    relations: tuple[Expr, ...] = ()
    hints: tuple[Cube, ...] = ()
    guesses: tuple[Expr, ...] = ()


def invariant(enc: Encoding, clock: Clock) -> Found:
    """The Houdini invariant of ``enc.ts`` (kept in ``enc.learned``); empty when out of time.
    The dropped cube candidates hold in every sample but are not inductive on their
    own: IC3 may still find them inductive relative to its frames (they are hints,
    each checked like any lemma before it is used)."""
    if enc.learned.houdini is not None:
        return enc.learned.houdini
    states = sample(enc, clock)
    cands = candidates(enc, states, selectors(enc.ts))
    guessed = affine.relations(enc.ts, states, clock.left())  # only the run's timeout
    exprs = [affine.as_expr(enc.ts, r) for r in guessed]
    pruned = prune(enc, cands, clock, PRUNE_QUERIES, exprs)
    if pruned is None:
        return Found()
    found, relations = pruned
    kept, held = set(found), set(relations)
    out = Found(tuple(found), tuple(relations), tuple(c for c in cands if c not in kept),
                tuple(e for e in exprs if e not in held))
    enc.learned.houdini = out
    return out
