"""Plain-text rendering of a trace: each step's action and what it changed."""

from __future__ import annotations

from mhpcheck.model.system import State, TransitionSystem
from mhpcheck.model.trace import Trace


def _changes(ts: TransitionSystem, before: State, after: State) -> list[str]:
    names = ts.slot_names()
    out = []
    for v in ts.variables:
        for i in range(v.width):
            slot = v.offset + i
            if before[slot] != after[slot]:
                old, new = v.domain.decode(before[slot]), v.domain.decode(after[slot])
                out.append(f"{names[slot]}: {old} -> {new}")
    return out


def _whole(ts: TransitionSystem, state: State) -> list[str]:
    return [f"{k} = {v}" for k, v in ts.decode(state).items()]


def render_trace(ts: TransitionSystem, trace: Trace) -> str:
    """A step list: the first state whole, then per step the action and the changes."""
    lines = [f"{trace.kind} for {trace.property} ({len(trace)} steps)"]
    if not trace.reachable:
        lines.append("  (a counterexample to induction: the first state is not necessarily "
                     "reachable)")
    first = trace.steps[0]
    lines.append("  state 0 (initial):" if trace.reachable else "  state 0:")
    lines += [f"      {x}" for x in _whole(ts, first.state)]
    prev = first.state
    for n, step in enumerate(trace.steps[1:], start=1):
        loop_mark = "  <- loop starts here" if trace.loop == n else ""
        lines.append(f"  step {n}: {step.label}{loop_mark}")
        lines += [f"      {c}" for c in _changes(ts, prev, step.state)]
        prev = step.state
    if trace.loop is not None:
        if trace.loop_action is None:
            lines.append(f"  then: no action is enabled; the run stays in state "
                         f"{len(trace.steps) - 1} for ever")
        else:
            name, args = trace.loop_action
            inner = ", ".join(f"{k}={v}" for k, v in args)
            lines.append(f"  then: {name}({inner}) returns to state {trace.loop}; the loop "
                         f"repeats for ever")
    if trace.note:
        lines.append(f"  {trace.note}")
    return "\n".join(lines)
