"""k-induction with simple-path constraints.

For k = 0, 1, 2, ...:

- base case: no bad state within depth k from an initial state (this is BMC, on its
  own incremental solver, so a counterexample found here is a shortest one);
- step case: no path s0..s(k+1) of pairwise distinct states that is good at s0..sk
  and bad at s(k+1) (for a step invariant: good steps, then a bad one), from any
  state at all.

When the step case is unsatisfiable the property is proved, by (k+1)-induction (the
step case assumed k+1 good states); the result names that number (``extra["k"]``;
1-induction: the property is inductive on its own). The simple-path constraints
make the method complete on finite systems (k up to the longest loop-free path),
but in practice a bound on k (the budget's ``max_depth``, default 30) or the
timeout ends the search with "unknown" and the k reached.

"Good" includes "no model error", so a proof also shows that no action ever leaves
its variables' domains or indexes outside a family.
"""

from __future__ import annotations

from mhpcheck.model.compile import compile_system
from mhpcheck.model.system import Property, TransitionSystem

from ..result import Budget, CheckResult, Progress, ProgressFn, Verdict
from . import z3api as z
from .common import (
    DEFAULT_DEPTH,
    Clock,
    found_at,
    found_verdict,
    make_goal,
    path_of,
    result,
    safe_verdict,
)
from .encode import Encoding

ENGINE = "kind"


@z.fresh_context
def check(ts: TransitionSystem, prop: Property, budget: Budget,
          progress: ProgressFn) -> CheckResult:
    clock = Clock(budget.timeout)
    enc = Encoding(ts)
    goal = make_goal(enc, prop)
    compiled = compile_system(ts)
    max_k = DEFAULT_DEPTH if budget.max_depth is None else budget.max_depth
    base = z.Solver()
    base.add(enc.init(enc.frame(0)))
    step = z.Solver()
    step.add(enc.domain(enc.frame(0)))
    good_state = z.not_(z.or_([enc.error, goal.bad, goal.perr])) if not goal.step \
        else z.not_(enc.error)
    for k in range(max_k + 1):
        # base case at depth k (frames 0..k, errors looked for while expanding)
        if k > 0:
            base.add(enc.at(enc.trans, k - 1, k))
        base.push()
        base.add(z.or_([goal.state_query(enc, k, expanding=True),
                        goal.step_query(enc, k - 1) if k > 0 else z.false()]))
        answer = base.check(timeout=clock.left())
        if answer == "sat":
            model_path = path_of(enc, base.model(), k)
            base.pop()
            trace = found_at(base, enc, goal, compiled, k, True, model_path)
            return result(prop, ENGINE, found_verdict(goal), clock, k, trace,
                          message=f"base case fails at depth {k}")
        base.pop()
        if answer == "unknown":
            return _unknown(prop, clock, k, base.reason_unknown())
        # step case over frames 0..k+1: good at 0..k, bad at k+1 (or the step into it)
        step.add(enc.at(enc.trans, k, k + 1))
        step.add(enc.at(good_state, k))
        if goal.step and k > 0:
            step.add(enc.at(goal.good(), k - 1, k))
        # simple paths: the states before the bad one (for a step invariant, before the
        # bad step, whose target may repeat one of them) are pairwise distinct
        last = k if goal.step else k + 1
        for j in range(last):
            step.add(enc.frames_distinct(j, last))
        step.push()
        if goal.step:
            step.add(z.or_([goal.step_query(enc, k), enc.at(enc.error, k + 1)]))
        else:
            step.add(goal.state_query(enc, k + 1, expanding=True))
        answer = step.check(timeout=clock.left())
        step.pop()
        if answer == "unsat":
            return result(prop, ENGINE, safe_verdict(goal), clock, k,
                          message=f"proved by {k + 1}-induction" if k else
                          "proved: the property is inductive (1-induction)",
                          extra={"k": k + 1})
        if answer == "unknown":
            return _unknown(prop, clock, k, step.reason_unknown())
        if clock.expired():
            return _unknown(prop, clock, k, "timeout")
        progress(Progress(0, k, 0, clock.elapsed, f"kind: not {k}-inductive"))
    return result(prop, ENGINE, Verdict.UNKNOWN, clock, max_k, bound=f"k {max_k}",
                  message=f"not k-inductive for k <= {max_k} (no counterexample either)",
                  extra={"k": max_k})


def _unknown(prop: Property, clock: Clock, k: int, why: str) -> CheckResult:
    return result(prop, ENGINE, Verdict.UNKNOWN, clock, k, bound="time" if "time" in why
                  or "cancel" in why else "solver", message=f"stopped at k = {k}: {why}",
                  extra={"k": k})
