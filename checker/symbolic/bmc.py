"""Bounded model checking: unroll the transition relation one step at a time.

One incremental solver holds the initial states and the unrolled path; at each depth
``i`` (0, 1, 2, ...) it asks, under push/pop, whether frame ``i`` can be bad (or, for
a step invariant, whether the step into frame ``i`` can be). Depths are tried in
order, so the first counterexample (or reachability witness) is a shortest one, as
BFS's is. Nothing found up to the bound is "holds-up-to-bound" (a Reachable target:
"unknown"), never "holds".

Matching BFS with a depth bound K: properties are checked on states of depth <= K and
model errors (raised while expanding a state) on states of depth < K.

Liveness (``LeadsTo``) is a bounded lasso search, in ``lasso``.
"""

from __future__ import annotations

from mhpcheck.model.compile import compile_system
from mhpcheck.model.system import LeadsTo, Property, TransitionSystem

from ..result import Budget, CheckResult, Progress, ProgressFn, Verdict
from . import z3api as z
from .common import (
    DEFAULT_DEPTH,
    Clock,
    bounded_verdict,
    found_at,
    found_verdict,
    make_goal,
    path_of,
    result,
)
from .encode import Encoding

ENGINE = "bmc"


@z.fresh_context
def check(ts: TransitionSystem, prop: Property, budget: Budget,
          progress: ProgressFn) -> CheckResult:
    """Search for a shortest violation (or witness) of ``prop`` up to the depth bound."""
    if isinstance(prop, LeadsTo):
        from .lasso import check_lasso
        return check_lasso(ts, prop, budget, progress)
    clock = Clock(budget.timeout)
    enc = Encoding(ts)
    goal = make_goal(enc, prop)
    compiled = compile_system(ts)
    bound = DEFAULT_DEPTH if budget.max_depth is None else budget.max_depth
    solver = z.Solver()
    solver.add(enc.init(enc.frame(0)))
    for i in range(bound + 1):
        if i > 0:
            solver.add(enc.at(enc.trans, i - 1, i))
        query = z.or_([goal.state_query(enc, i, expanding=i < bound),
                       goal.step_query(enc, i - 1) if i > 0 else z.false()])
        solver.push()
        solver.add(query)
        answer = solver.check(timeout=clock.left())
        if answer == "sat":
            model_path = path_of(enc, solver.model(), i)
            solver.pop()
            trace = found_at(solver, enc, goal, compiled, i, i < bound, model_path)
            return result(prop, ENGINE, found_verdict(goal), clock, i, trace,
                          message=f"found at depth {i}")
        solver.pop()
        if answer == "unknown" or clock.expired():
            why = solver.reason_unknown() if answer == "unknown" else "timeout"
            done = i - 1 if answer == "unknown" else i
            return result(prop, ENGINE, bounded_verdict(goal) if done >= 0 else
                          Verdict.UNKNOWN, clock, max(done, 0),
                          bound=f"time (checked up to depth {done})" if done >= 0 else "time",
                          message=f"solver stopped at depth {i}: {why}")
        progress(Progress(0, i, 0, clock.elapsed, f"bmc: nothing at depth {i}"))
    return result(prop, ENGINE, bounded_verdict(goal), clock, bound, bound=f"depth {bound}",
                  message=f"nothing found up to depth {bound}")
