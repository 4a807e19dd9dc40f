"""Replay: re-execute a trace with the explicit semantics and fail loudly on a mismatch.

Every trace an engine reports is replayed before it is shown, and must show what it
claims (``unwitnessed``); a trace that does either wrong is an internal error, never a
verdict.
"""

from __future__ import annotations

from mhpcheck.model.compile import Compiled, compile_system
from mhpcheck.model.errors import ModelError, ReplayMismatch
from mhpcheck.model.system import (
    DEADLOCK_FREE,
    Invariant,
    LeadsTo,
    Property,
    Reachable,
    State,
    StepInvariant,
    TransitionSystem,
)
from mhpcheck.model.trace import Trace


def _diff(ts: TransitionSystem, want: State, got: State) -> str:
    """The slots where ``want`` and ``got`` differ, with their values as the model
    writes them (labels, not codes)."""
    names = ts.slot_names()
    domains = [v.domain for v in ts.variables for _ in range(v.width)]

    def shown(i: int, code: int) -> str:
        d = domains[i]
        return str(d.decode(code)) if d.lo <= code <= d.hi else f"{code} (outside {d.describe()})"

    parts = [f"{names[i]}: trace has {shown(i, want[i])}, semantics give {shown(i, got[i])}"
             for i in range(len(want)) if want[i] != got[i]]
    return "; ".join(parts[:6]) + (" ..." if len(parts) > 6 else "")


def _apply(ts: TransitionSystem, compiled: Compiled, state: State, action: str,
           args: tuple[tuple[str, object], ...], where: str) -> State:
    try:
        k = ts.action_instance(action, dict(args))  # type: ignore[arg-type]
    except ModelError as err:
        raise ReplayMismatch(f"{where}: {err}") from None
    nxt = compiled.apply[k](state)
    if nxt is None:
        raise ReplayMismatch(f"{where}: {ts.actions[k].label} is not enabled")
    return nxt


def replay(ts: TransitionSystem, trace: Trace, compiled: Compiled | None = None) -> None:
    """Raise ReplayMismatch naming the first step where ``trace`` leaves the semantics."""
    compiled = compiled or compile_system(ts)
    if not trace.steps:
        raise ReplayMismatch("trace has no states")
    first = trace.steps[0]
    if trace.reachable and first.state not in ts.init:
        raise ReplayMismatch("step 0: the first state is not an initial state")
    prev = first.state
    for i, step in enumerate(trace.steps[1:], start=1):
        if step.action is None:
            raise ReplayMismatch(f"step {i}: no action recorded")
        nxt = _apply(ts, compiled, prev, step.action, step.args, f"step {i}")
        if nxt != step.state:
            raise ReplayMismatch(
                f"step {i} ({step.label}) diverges: {_diff(ts, step.state, nxt)}")
        prev = nxt
    if trace.loop is None:
        return
    if not 0 <= trace.loop < len(trace.steps):
        raise ReplayMismatch(f"loop index {trace.loop} outside the trace")
    if trace.loop_action is None:
        enabled = compiled.successors(prev)
        if trace.property == DEADLOCK_FREE.name and enabled:
            raise ReplayMismatch("the trace claims a deadlock but its last state has "
                                 f"{len(enabled)} enabled action instances")
        if any(ts.actions[k].fair for k, _ in enabled):
            raise ReplayMismatch("the trace ends in a stuttering loop but its last state "
                                 "has an enabled fair action")
        return
    name, args = trace.loop_action
    back = _apply(ts, compiled, prev, name, args, "loop step")
    if back != trace.steps[trace.loop].state:
        raise ReplayMismatch(
            f"loop step ({name}) does not return to state {trace.loop}: "
            f"{_diff(ts, trace.steps[trace.loop].state, back)}")


def unwitnessed(ts: TransitionSystem, prop: Property, trace: Trace,
                compiled: Compiled | None = None) -> str | None:
    """Why a replayed ``trace`` does not show ``prop`` violated (reached, for a
    Reachable property), or None when it does.

    An invariant must fail in the last state, a step invariant on the last step, a
    Reachable property must hold in the last state; a leads-to lasso needs a state where
    the left side holds after which (the loop included) the right side never does.
    Fairness of the loop and deadlocks are left to ``replay``.
    """
    compiled = compiled or compile_system(ts)
    states = [step.state for step in trace.steps]
    if isinstance(prop, Invariant):
        if compiled.predicate(prop.expr, prop.name)(states[-1]):
            return f"{prop.name} holds in the trace's last state"
    elif isinstance(prop, Reachable):
        if not compiled.predicate(prop.expr, prop.name)(states[-1]):
            return f"{prop.name} does not hold in the trace's last state"
    elif isinstance(prop, StepInvariant):
        if len(states) < 2:
            return f"the trace of step invariant {prop.name} has no step"
        if compiled.step_predicate(prop.expr, prop.name)(states[-2], states[-1]):
            return f"{prop.name} holds on the trace's last step"
    elif isinstance(prop, LeadsTo) and trace.loop is not None:
        lhs = compiled.predicate(prop.lhs, prop.name)
        rhs = compiled.predicate(prop.rhs, prop.name)
        if not any(lhs(states[i]) and not any(rhs(s) for s in states[min(i, trace.loop):])
                   for i in range(len(states))):
            return (f"no state of the lasso satisfies the left side of {prop.name} with its "
                    "right side false from there on, the loop included")
    return None
