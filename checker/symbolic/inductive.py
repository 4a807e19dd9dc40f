"""Check that a user's invariant is inductive and strong enough (Apalache's three steps).

The candidate invariant is the conjunction of

- the property itself, when it is an ``Invariant``, and
- every invariant named in ``invariants`` (names or aliases of the model's
  ``Invariant`` properties: the strengthening; ``check-model check --invariant NAME``
  and the spec key ``invariants = [...]`` pass them here).

Three checks, as in Apalache's inductive-invariant recipe:

1. initiation: every initial state satisfies the candidate (explicit evaluator). If
   the property itself fails there the verdict is "violated" with a 0-step trace;
   if only a strengthening conjunct fails, "unknown" naming it;
2. strength: no state satisfying the candidate is bad for the property (violates
   it, deadlocks, reaches a Reachable target, or is a model error); a failure is a
   one-state CTI (for a step invariant: the bad transition, two states);
3. consecution: every transition from a candidate state leads to a candidate
   state; a failure is a two-state counterexample to induction.

A CTI is a ``Trace`` of kind "cti" with ``reachable=False``: its first state is *not
necessarily reachable*, so the property may still hold; the verdict is "unknown"
(bound "cti") and the message names the conjuncts broken. All three passing gives
"proved" ("unreachable" for a Reachable target) with the candidate as certificate.
"""

from __future__ import annotations

from collections.abc import Sequence

from mhpcheck.model.compile import Compiled, compile_system
from mhpcheck.model.errors import ModelError
from mhpcheck.model.expr import Expr
from mhpcheck.model.system import (
    Invariant,
    Property,
    State,
    TransitionSystem,
)
from mhpcheck.model.trace import Step, Trace

from ..result import Budget, CheckResult, ProgressFn, Verdict
from . import z3api as z
from .certificate import Inductiveness, conjoin, render
from .common import Clock, make_goal, result, safe_verdict
from .encode import Encoding

ENGINE = "inductive"
CTI_NOTE = ("counterexample to induction: the first state is not necessarily reachable; "
            "strengthen the invariant to exclude it, or it shows a real violation")


def failing_step(compiled: Compiled, state: State) -> str:
    """The model error of the first action instance whose step from ``state`` fails: the
    explicit semantics' words for what the encoding's ``error`` found."""
    for step in compiled.apply:
        try:
            step(state)
        except ModelError as err:
            return f"a step fails ({err})"
    return "a step fails in the encoding, though in no action of the explicit semantics"


def _named(ts: TransitionSystem, names: Sequence[str]) -> list[Invariant]:
    out = []
    for name in names:
        p = ts.property(name)
        if not isinstance(p, Invariant):
            raise ModelError(f"model {ts.name}: {name} is a {p.kind} property, not an "
                             "invariant; only invariants can strengthen an inductive check")
        out.append(p)
    return out


@z.fresh_context
def check(ts: TransitionSystem, prop: Property, budget: Budget, progress: ProgressFn,
          invariants: Sequence[str] = ()) -> CheckResult:
    clock = Clock(budget.timeout)
    parts: list[Invariant] = [prop] if isinstance(prop, Invariant) else []
    parts += [p for p in _named(ts, invariants) if p not in parts]
    enc = Encoding(ts)
    goal = make_goal(enc, prop)
    compiled = compile_system(ts)
    names = [p.name for p in parts]
    candidate = conjoin([p.expr for p in parts])
    described = " ∧ ".join(names) if names else "true"

    def broken(state: State) -> list[str]:
        out = []
        for p in parts:
            try:
                ok = compiled.predicate(p.expr, p.name)(state)
            except ModelError:
                ok = False
            if not ok:
                out.append(p.name)
        return out

    def trace(steps: tuple[Step, ...], kind: str, reachable: bool, note: str) -> Trace:
        return Trace(ts.name, ts.params, ts.knobs, prop.name, kind, steps,
                     reachable=reachable, note=note)

    # 1. initiation
    for s in sorted(set(ts.init)):
        bad = broken(s)
        if not bad:
            continue
        if prop.name in bad:
            return result(prop, ENGINE, Verdict.VIOLATED, clock, 0,
                          trace(((Step(None, (), s)),), "counterexample", True,
                                "an initial state violates the property"),
                          message="initiation fails: an initial state violates the property")
        return result(prop, ENGINE, Verdict.UNKNOWN, clock, 0, bound="initiation",
                      message=f"initiation fails: the initial state {ts.decode(s)} violates "
                      f"{', '.join(bad)}, so the strengthening is wrong")
    checker = Inductiveness(enc, goal)
    # 2. strength
    answer = checker.strength(candidate, clock)
    if answer == "sat":
        assert checker.model is not None
        m = checker.model
        pre = enc.state(m, "x")
        steps: tuple[Step, ...] = (Step(None, (), pre),)
        raising = m.value(enc.error)
        if goal.step and not raising:
            k = enc.action_taken(m, "x")
            inst = ts.actions[k]
            steps = (*steps, Step(inst.action, inst.args, enc.state(m, "x'")))
        why = (f"{failing_step(compiled, pre)}, from a state that satisfies it" if raising
               else f"a state that satisfies it is bad for {prop.name}")
        return result(prop, ENGINE, Verdict.UNKNOWN, clock, len(steps) - 1,
                      trace(steps, "cti", False, CTI_NOTE), bound="cti",
                      message=f"{described} is not strong enough: {why} (the state is not "
                      "necessarily reachable)")
    if answer == "unknown":
        return result(prop, ENGINE, Verdict.UNKNOWN, clock, 0, bound="time",
                      message="strength check: solver gave up")
    # 3. consecution
    answer = checker.consecution(candidate, clock)
    if answer == "sat":
        assert checker.model is not None
        m = checker.model
        pre, post = enc.state(m, "x"), enc.state(m, "x'")
        inst = ts.actions[enc.action_taken(m, "x")]
        steps = (Step(None, (), pre), Step(inst.action, inst.args, post))
        return result(prop, ENGINE, Verdict.UNKNOWN, clock, 1,
                      trace(steps, "cti", False, CTI_NOTE), bound="cti",
                      message=f"{described} is not inductive: {inst.label} leads from a state "
                      f"that satisfies it to one that breaks {', '.join(broken(post))} "
                      "(the first state is not necessarily reachable)")
    if answer == "unknown":
        return result(prop, ENGINE, Verdict.UNKNOWN, clock, 0, bound="time",
                      message="consecution check: solver gave up")
    params = ", ".join(f"{k}={v}" for k, v in (*ts.params, *ts.knobs))
    title = (f"# inductive invariant for {prop.name} on {ts.name}({params}): {described}\n"
             "# checked: initiation (explicit), consecution and strength (z3)")
    return result(prop, ENGINE, safe_verdict(goal), clock, 0,
                  message=f"{described} is inductive and implies {prop.name}",
                  certificate=render(ts, candidate, title),
                  extra={"invariant": candidate, "conjuncts": names})


def candidate_of(ts: TransitionSystem, prop: Property, invariants: Sequence[str]) -> Expr:
    """The candidate invariant ``check`` uses for ``prop`` and ``invariants``."""
    parts: list[Invariant] = [prop] if isinstance(prop, Invariant) else []
    parts += [p for p in _named(ts, invariants) if p not in parts]
    return conjoin([p.expr for p in parts])
