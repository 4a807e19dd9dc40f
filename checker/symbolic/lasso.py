"""Bounded lasso search for ``lhs ~> rhs`` under weak fairness (the bmc engine's liveness).

A counterexample is a run that reaches an ``lhs`` state and never meets ``rhs`` after
it. Within a bound k it is a *lasso*: a path s0..sk from an initial state, a suffix
(from the ``lhs`` state on) of ``¬rhs`` states, and either

- a deadlock: sk has no enabled action, so the run stutters there for ever; or
- a loop: some step from sk back to an sl in the suffix, such that every weakly fair
  action instance that is enabled in all loop states sl..sk is taken inside the loop
  (taken on one of its steps, or disabled at one of its states).

Auxiliary Booleans: ``sfx_j`` marks the suffix (monotone in j), ``loop_k_l`` chooses the
loop start. k grows from 0 to the depth bound; the first lasso found is reported (a
short one, though not necessarily the one BFS prints). Nothing found is
"holds-up-to-bound". States in the search must be free of model errors (a model error
is the safety engines' business: run ``bmc`` on a safety property to find it).
"""

from __future__ import annotations

from mhpcheck.model.system import LeadsTo, TransitionSystem
from mhpcheck.model.trace import Trace

from ..result import Budget, CheckResult, Progress, ProgressFn, Verdict
from . import z3api as z
from .common import DEFAULT_DEPTH, Clock, internal_error, path_of, result, steps_of
from .encode import Encoding
from .z3api import Term

ENGINE = "bmc"


def _fairness_ok(ts: TransitionSystem, enc: Encoding, states: list[tuple[int, ...]],
                 acts: list[int], loop: int) -> bool:
    """The loop states[loop:] with actions acts[loop:] (closing one last) is weakly fair."""
    from mhpcheck.model.compile import compile_system
    compiled = compile_system(ts)
    taken = set(acts[loop:])
    always: set[int] | None = None
    for s in states[loop:]:
        enabled = {k for k, _ in compiled.successors(s) if ts.actions[k].fair}
        always = enabled if always is None else always & enabled
    return not ((always or set()) - taken)


def check_lasso(ts: TransitionSystem, prop: LeadsTo, budget: Budget,
                progress: ProgressFn) -> CheckResult:
    clock = Clock(budget.timeout)
    enc = Encoding(ts)
    bound = DEFAULT_DEPTH if budget.max_depth is None else budget.max_depth
    lhs_t = enc.translator(enc.x).pred(prop.lhs)
    rhs_t = enc.translator(enc.x).pred(prop.rhs)
    fair = [k for k, inst in enumerate(ts.actions) if inst.fair]
    solver = z.Solver()
    solver.add(enc.init(enc.frame(0)))
    sfx: list[Term] = []
    for k in range(bound + 1):
        # the path and the suffix markers, kept for larger k
        if k > 0:
            solver.add(enc.at(enc.trans, k - 1, k))
        solver.add(z.not_(enc.at(enc.error, k)))
        sfx.append(z.bool_var(f"suffix@{k}"))
        solver.add(z.implies(sfx[k], z.not_(enc.at(rhs_t, k))))
        starts_here = sfx[k] if k == 0 else z.and_([sfx[k], z.not_(sfx[k - 1])])
        solver.add(z.implies(starts_here, enc.at(lhs_t, k)))
        if k > 0:
            solver.add(z.implies(sfx[k - 1], sfx[k]))
        # this bound only: the suffix reaches sk, which deadlocks or loops back
        solver.push()
        solver.add(sfx[k])
        if prop.from_init:
            solver.add(sfx[0])
        loops = [z.bool_var(f"loop@{k}@{at}") for at in range(k + 1)]
        parts = []
        for at, chosen in enumerate(loops):
            parts.append(z.implies(chosen, z.and_([enc.at(enc.trans, k, at), sfx[at]])))
        in_loop = [z.or_(loops[:j + 1]) for j in range(k + 1)]
        for a in fair:
            g = enc.guards[a]
            parts.append(z.or_([
                z.and_([in_loop[j], z.or_([z.eq(enc.act(j), z.int_val(a)),
                                           z.not_(enc.at(g, j))])])
                for j in range(k + 1)]))
        looping = z.and_([z.or_(loops), *parts])
        solver.add(z.or_([enc.at(enc.deadlock, k), looping]))
        answer = solver.check(timeout=clock.left())
        if answer == "sat":
            m = solver.model()
            states, acts = path_of(enc, m, k)
            solver.pop()
            return result(prop, ENGINE, Verdict.VIOLATED, clock, k,
                          _lasso_trace(ts, enc, prop, m, states, acts, loops),
                          message=f"lasso of {k} steps")
        solver.pop()
        if answer == "unknown" or clock.expired():
            return result(prop, ENGINE, Verdict.BOUNDED if k > 0 else Verdict.UNKNOWN, clock,
                          max(k - 1, 0), bound=f"time (no lasso up to {k - 1} steps)",
                          message="bounded lasso search stopped: " + (
                              solver.reason_unknown() if answer == "unknown" else "timeout"))
        progress(Progress(0, k, 0, clock.elapsed, f"lasso: none of {k} steps"))
    return result(prop, ENGINE, Verdict.BOUNDED, clock, bound, bound=f"depth {bound}",
                  message=f"no fair lasso of up to {bound} steps (liveness is not proved)")


def _lasso_trace(ts: TransitionSystem, enc: Encoding, prop: LeadsTo, m: z.Model,
                 states: list[tuple[int, ...]], acts: list[int], loops: list[Term]) -> Trace:
    k = len(states) - 1
    chosen = [at for at, b in enumerate(loops) if m.value(b)]
    steps = steps_of(ts, states, acts)
    dead = m.value(enc.at(enc.deadlock, k)) == 1
    if dead or not chosen:
        return Trace(ts.name, ts.params, ts.knobs, prop.name, "lasso", steps, loop=k,
                     note="the run stops in a state with no enabled action and never "
                     "reaches the goal")
    loop = chosen[0]
    closing = enc.action_taken(m, k)
    if not _fairness_ok(ts, enc, states, [*acts, closing], loop):
        raise internal_error(f"the lasso found for {prop.name} is not weakly fair")
    inst = ts.actions[closing]
    return Trace(ts.name, ts.params, ts.knobs, prop.name, "lasso", steps, loop=loop,
                 loop_action=(inst.action, inst.args),
                 note="a fair cycle that never reaches the goal")
