"""Houdini at one finite size: a cheap first cut of the forall engine's candidates.

A set of quantified candidates that is inductive for every size is inductive at each
finite size, and Houdini keeps the largest inductive subset, so pruning the candidates
instantiated at small finite sizes (quantifier-free queries, Z3's finite-domain solver)
never drops one the parametric proof could keep. The parametric Houdini then starts
from the survivors, whose queries are mostly unsatisfiable and fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mhpcheck.model.compile import compile_system
from mhpcheck.model.errors import MhpError
from mhpcheck.model.expr import Expr
from mhpcheck.model.parametric import Quantified
from mhpcheck.model.quantify import instantiate
from mhpcheck.model.system import TransitionSystem

from . import z3api as z
from .certificate import inv_term
from .common import Clock
from .encode import Encoding


@dataclass(frozen=True)
class Pruned:
    """What Houdini at one finite size kept, and what the target's consecution needs
    there: ``cores`` maps each needed candidate to the candidates its own unsat core
    uses, ``need`` is their closure from the target (empty when the target is dropped;
    everything kept when a core query gave up)."""

    keep: list[int]
    need: list[int]
    cores: dict[int, frozenset[int]]


def prune(ts: TransitionSystem, exprs: Sequence[Expr], alive: list[int],
          clock: Clock, target: int | None = None) -> Pruned:
    """The candidates (indices in ``alive`` of ``exprs``) that form the largest
    inductive subset at ``ts``'s size (initiation checked explicitly), with the unsat
    cores of the consecution of ``target`` and of what it needs in turn."""
    q = ts.quantified
    assert isinstance(q, Quantified)
    finite = {k: instantiate(exprs[k], q.instance) for k in alive}
    compiled = compile_system(ts)
    preds = {}
    for k, e in finite.items():
        try:
            preds[k] = compiled.predicate(e, f"candidate {k}")
        except MhpError:
            continue

    def holds(k: int, state: tuple[int, ...]) -> bool:
        try:
            return bool(preds[k](state))
        except MhpError:
            return False

    keep = [k for k in alive if k in preds and all(holds(k, s) for s in ts.init)]
    enc = Encoding(ts)
    solver = z.Solver()
    solver.add(enc.domain(enc.x))
    solver.add(z.not_(enc.error))
    solver.add(enc.trans)
    guard = {k: z.bool_var(f"g{k}") for k in keep}
    probe = {k: z.bool_var(f"p{k}") for k in keep}
    for k in keep:
        solver.add(z.implies(guard[k], inv_term(enc, finite[k], enc.x)))
        solver.add(z.implies(probe[k], z.not_(inv_term(enc, finite[k], enc.xn))))
    changed = True
    while changed and not clock.expired():
        changed = False
        for k in list(keep):
            if k not in keep:
                continue
            answer = solver.check([guard[j] for j in keep] + [probe[k]], timeout=clock.left())
            if answer == "unsat":
                continue
            if answer == "unknown":  # no cut: the parametric Houdini decides alone
                return Pruned(alive, alive, {})
            post = enc.state(solver.model(), "x'")
            broken = [j for j in keep if not holds(j, post)] or [k]
            keep = [j for j in keep if j not in broken]
            changed = True
    if target is None or target not in keep:
        return Pruned(keep, [], {})
    by_name = {str(guard[j]): j for j in keep}
    need, todo = [target], [target]
    cores: dict[int, frozenset[int]] = {}
    while todo:
        k = todo.pop()
        if solver.check([guard[j] for j in keep] + [probe[k]],
                        timeout=clock.left()) != "unsat":
            return Pruned(keep, keep, {})
        core = {by_name[str(lit)] for lit in solver.unsat_core() if str(lit) in by_name}
        cores[k] = frozenset(core)
        for j in sorted(core):
            if j not in need:
                need.append(j)
                todo.append(j)
    return Pruned(keep, sorted(need), cores)
