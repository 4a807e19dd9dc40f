"""What the symbolic engines share: goals, the clock, traces and their classification.

A ``Goal`` is what a safety engine searches for, over the template frames of an
``Encoding``: the states (or, for a step invariant, the transitions) that violate an
invariant, reach a target, or deadlock, plus the states where evaluating the property
raises. Error states of the model (``Encoding.error``) are searched for too.

When a solver finds a path to a goal, ``classify`` decides with the explicit semantics
(the reference) what the last step is: a violation or witness (a trace), a model error
(a ``ModelError`` that names the path), or neither, which means the encoding and the
explicit semantics disagree: an ``InternalError``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from mhpcheck.model.compile import Compiled
from mhpcheck.model.errors import InternalError, ModelError
from mhpcheck.model.system import (
    DeadlockFree,
    Invariant,
    Property,
    Reachable,
    State,
    StepInvariant,
    TransitionSystem,
)
from mhpcheck.model.trace import Step, Trace

from ..result import CheckResult, Stats, Verdict
from . import z3api as z
from .encode import Encoding
from .z3api import Term

#: The depth (or k) a symbolic engine stops at when the budget names none.
DEFAULT_DEPTH = 30


def internal_error(message: str) -> InternalError:
    return InternalError(f"internal error: {message}")


@dataclass(frozen=True)
class Goal:
    """The bad states (``step`` False) or bad transitions (``step`` True) of a property."""

    prop: Property
    step: bool
    bad: Term  # over x (and a, x' when step): violation, target or deadlock
    perr: Term  # evaluating the property raises (over the same frames)
    witness: bool  # a Reachable: finding ``bad`` is the good news

    def state_query(self, enc: Encoding, i: int, expanding: bool) -> Term:
        """Frame ``i`` is bad (a state goal), or a model error from frame ``i`` on.

        ``expanding``: frame ``i`` is within the bound, so its successors count (BFS
        with a depth bound K reports model errors and deadlocks only of states of
        depth < K, which it expands; invariants it checks on states of depth <= K).
        """
        parts = [enc.at(enc.error, i)] if expanding else []
        if isinstance(self.prop, DeadlockFree):
            if expanding:
                parts.append(enc.at(self.bad, i))
        elif not self.step:
            parts += [enc.at(self.bad, i), enc.at(self.perr, i)]
        return z.or_(parts)

    def step_query(self, enc: Encoding, i: int) -> Term:
        """The transition from frame ``i`` to ``i + 1`` is bad (step goals only)."""
        if not self.step:
            return z.false()
        return z.or_([enc.at(self.bad, i, i + 1), enc.at(self.perr, i, i + 1)])

    def good(self) -> Term:
        """Over the templates (x, a, x' for a step goal): nothing bad here."""
        return z.not_(z.or_([self.bad, self.perr]))


def make_goal(enc: Encoding, prop: Property) -> Goal:
    if isinstance(prop, Invariant):
        tr = enc.translator(enc.x)
        return Goal(prop, False, z.not_(tr.pred(prop.expr)), z.not_(tr.defined(prop.expr)),
                    False)
    if isinstance(prop, Reachable):
        tr = enc.translator(enc.x)
        return Goal(prop, False, tr.pred(prop.expr), z.not_(tr.defined(prop.expr)), True)
    if isinstance(prop, DeadlockFree):
        return Goal(prop, False, enc.deadlock, z.false(), False)
    if isinstance(prop, StepInvariant):
        tr = enc.translator(enc.x, enc.xn)
        return Goal(prop, True, z.not_(tr.pred(prop.expr)), z.not_(tr.defined(prop.expr)),
                    False)
    raise ModelError(f"property {prop.name}: {prop.kind} is not a safety property")


class Clock:
    """Time left of a budget's timeout."""

    def __init__(self, timeout: float | None) -> None:
        self.t0 = time.perf_counter()
        self.timeout = timeout

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def left(self) -> float | None:
        if self.timeout is None:
            return None
        return max(0.001, self.timeout - self.elapsed)

    def expired(self) -> bool:
        return self.timeout is not None and self.elapsed >= self.timeout


def path_of(enc: Encoding, m: z.Model, length: int) -> tuple[list[State], list[int]]:
    """States of frames 0..length and the action instance of each step."""
    states = [enc.state(m, i) for i in range(length + 1)]
    acts = [enc.action_taken(m, i) for i in range(length)]
    return states, acts


def steps_of(ts: TransitionSystem, states: list[State], acts: list[int]) -> tuple[Step, ...]:
    steps = [Step(None, (), states[0])]
    for s, k in zip(states[1:], acts, strict=True):
        if not 0 <= k < len(ts.actions):
            raise internal_error(f"the solver chose action number {k} of {len(ts.actions)}")
        inst = ts.actions[k]
        steps.append(Step(inst.action, inst.args, s))
    return tuple(steps)


def _labels(ts: TransitionSystem, acts: list[int]) -> str:
    if not acts:
        return "in an initial state"
    return "after " + ", ".join(ts.actions[k].label for k in acts)


def classify(ts: TransitionSystem, compiled: Compiled, goal: Goal, states: list[State],
             acts: list[int], expanding: bool) -> Trace:
    """The trace to the goal the solver found, judged by the explicit semantics.

    Raises ModelError when the last state is a model error, InternalError when the
    explicit semantics see nothing bad where the solver did.
    """
    prop = goal.prop
    last = states[-1]
    where = _labels(ts, acts)
    steps = steps_of(ts, states, acts)
    try:
        if isinstance(prop, Invariant) and not compiled.predicate(prop.expr, prop.name)(last):
            return Trace(ts.name, ts.params, ts.knobs, prop.name, "counterexample", steps)
        if isinstance(prop, Reachable) and compiled.predicate(prop.expr, prop.name)(last):
            return Trace(ts.name, ts.params, ts.knobs, prop.name, "witness", steps)
        if isinstance(prop, StepInvariant) and len(states) >= 2 and not (
                compiled.step_predicate(prop.expr, prop.name)(states[-2], last)):
            return Trace(ts.name, ts.params, ts.knobs, prop.name, "counterexample", steps)
        successors = compiled.successors(last) if (expanding or isinstance(
            prop, DeadlockFree)) else [(0, last)]
        if isinstance(prop, DeadlockFree) and not successors:
            return Trace(ts.name, ts.params, ts.knobs, prop.name, "lasso", steps,
                         loop=len(steps) - 1, note="no action is enabled")
    except ModelError as err:
        raise ModelError(f"{err} (reachable {where})") from None
    raise internal_error(
        f"the solver found a {'witness' if goal.witness else 'violation'} of {prop.name} "
        f"{where}, but the explicit semantics see none there")


def violation_query(enc: Encoding, goal: Goal, i: int, expanding: bool) -> Term:
    """A violation (or witness) at depth ``i`` whose property evaluates without error."""
    if goal.step:
        if i == 0:
            return z.false()
        return z.and_([enc.at(goal.bad, i - 1, i), z.not_(enc.at(goal.perr, i - 1, i))])
    if isinstance(goal.prop, DeadlockFree) and not expanding:
        return z.false()
    return z.and_([enc.at(goal.bad, i), z.not_(enc.at(goal.perr, i))])


def found_at(solver: z.Solver, enc: Encoding, goal: Goal, compiled: Compiled, i: int,
             expanding: bool, model_path: tuple[list[State], list[int]]) -> Trace:
    """The trace of a satisfied query at depth ``i`` (``model_path``, read from it).

    A model error at depth ``i`` gives way to a violation at the same depth, if there
    is one: BFS stops evaluating a property once it is violated, so a violation it
    finds first must not turn into a model error here. ``solver`` holds the path (the
    query itself was popped).
    """
    try:
        return classify(enc.ts, compiled, goal, *model_path, expanding)
    except ModelError:
        solver.push()
        solver.add(violation_query(enc, goal, i, expanding))
        if solver.check() != "sat":
            solver.pop()
            raise
        other = path_of(enc, solver.model(), i)
        solver.pop()
        return classify(enc.ts, compiled, goal, *other, expanding)


def result(prop: Property, engine: str, verdict: Verdict, clock: Clock, depth: int,
           trace: Trace | None = None, bound: str | None = None, message: str = "",
           certificate: str | None = None, extra: dict[str, object] | None = None,
           ) -> CheckResult:
    return CheckResult(property=prop.name, kind=prop.kind, engine=engine, verdict=verdict,
                       stats=Stats(0, 0, depth, round(clock.elapsed, 3)), trace=trace,
                       bound=bound, message=message, certificate=certificate,
                       extra=extra or {})


def found_verdict(goal: Goal) -> Verdict:
    return Verdict.REACHABLE if goal.witness else Verdict.VIOLATED


def safe_verdict(goal: Goal) -> Verdict:
    """The verdict of an unbounded proof that the goal is never met."""
    return Verdict.UNREACHABLE if goal.witness else Verdict.PROVED


def bounded_verdict(goal: Goal) -> Verdict:
    """The verdict when nothing was found within a bound (never "holds")."""
    return Verdict.UNKNOWN if goal.witness else Verdict.BOUNDED
