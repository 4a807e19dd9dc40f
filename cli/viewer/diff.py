"""``trace diff``: where two traces part ways, and how.

Traces of the same model may come from different settings (two presets, two knob
values); states are compared by slot name (``page_type[3]``), so any two traces
over the same variables compare, and variables only one side has are reported
once. Traces of different models are refused (a TraceError). Every step where the
traces differ is reported (a divergence, and where they agree again), not only the
first; differences are grouped by entity with the first trace's view.
"""

from __future__ import annotations

from dataclasses import dataclass

from mhpcheck.model.errors import TraceError
from mhpcheck.model.system import TransitionSystem
from mhpcheck.model.trace import Trace
from mhpcheck.model.view import View
from mhpcheck.registry import view_for

from .story import complete_view, describe_setting, show_value


@dataclass(frozen=True)
class Divergence:
    """The result of comparing two traces."""

    identical: bool
    lines: tuple[str, ...]


def _named_values(ts: TransitionSystem, trace: Trace) -> list[dict[str, str]]:
    names = ts.slot_names()
    out = []
    for step in trace.steps:
        values = {}
        for v in ts.variables:
            for i in range(v.width):
                slot = v.offset + i
                values[names[slot]] = show_value(v.domain.decode(step.state[slot]))
        out.append(values)
    return out


def _label(trace: Trace, n: int) -> str:
    step = trace.steps[n]
    if step.action is None:
        return "initial state"
    return f"{step.action}({', '.join(f'{k}={show_value(v)}' for k, v in step.args)})"


def _grouping(ts: TransitionSystem, view: View) -> dict[str, tuple[str, str]]:
    names = ts.slot_names()
    out: dict[str, tuple[str, str]] = {}
    for e in view.entities:
        for f in e.fields:
            out[names[f.slot]] = (e.name, f.label)
    return out


def _state_lines(a: dict[str, str], b: dict[str, str],
                 grouping: dict[str, tuple[str, str]], indent: str) -> list[str]:
    by_entity: dict[str, list[str]] = {}
    for name in a:
        if name in b and a[name] != b[name]:
            entity, label = grouping.get(name, ("other", name))
            shown = f"{label} " if label else ""
            by_entity.setdefault(entity, []).append(f"{shown}A {a[name]} | B {b[name]}")
    return [f"{indent}{entity}: {', '.join(parts)}" for entity, parts in by_entity.items()]


def diverge(ta: Trace, sa: TransitionSystem, tb: Trace, sb: TransitionSystem,
            names: tuple[str, str] = ("A", "B"), view: View | None = None) -> Divergence:
    """Compare trace ``ta`` (of ``sa``) with ``tb`` (of ``sb``)."""
    if ta.model != tb.model:
        raise TraceError(f"trace diff: {names[0]} is a trace of model {ta.model}, "
                         f"{names[1]} of model {tb.model}: only traces of one model compare")
    lines: list[str] = []
    for tag, trace, name in (("A", ta, names[0]), ("B", tb, names[1])):
        setting = describe_setting(trace.params, trace.knobs, trace.model)
        lines.append(f"{tag}: {name}: {trace.model} ({setting}), {trace.kind} for "
                     f"{trace.property}, {len(trace)} steps")
    knobs_a, knobs_b = dict(ta.knobs), dict(tb.knobs)
    differ = [f"{k} A {show_value(knobs_a.get(k, '-'))} | B {show_value(knobs_b.get(k, '-'))}"
              for k in sorted(set(knobs_a) | set(knobs_b)) if knobs_a.get(k) != knobs_b.get(k)]
    params_a, params_b = dict(ta.params), dict(tb.params)
    differ += [f"{k} A {show_value(params_a.get(k, '-'))} | B {show_value(params_b.get(k, '-'))}"
               for k in sorted(set(params_a) | set(params_b)) if params_a.get(k) != params_b.get(k)]
    if differ:
        lines.append(f"settings differ: {'; '.join(differ)}")
    va, vb = _named_values(sa, ta), _named_values(sb, tb)
    only_a = sorted(set(va[0]) - set(vb[0]))
    only_b = sorted(set(vb[0]) - set(va[0]))
    if only_a:
        lines.append(f"only A has {', '.join(only_a[:8])}{' ...' if len(only_a) > 8 else ''}")
    if only_b:
        lines.append(f"only B has {', '.join(only_b[:8])}{' ...' if len(only_b) > 8 else ''}")
    grouping = _grouping(sa, complete_view(sa, view if view is not None else view_for(sa)))
    n = min(len(va), len(vb))
    differing = 0
    agreeing_since: int | None = 0  # the first step of the current run of agreeing steps
    for i in range(n):
        same_action = (ta.steps[i].action, ta.steps[i].args) == (tb.steps[i].action,
                                                                tb.steps[i].args)
        shared = [k for k in va[i] if k in vb[i]]
        same_state = all(va[i][k] == vb[i][k] for k in shared)
        if same_action and same_state:
            if differing and agreeing_since is None:
                lines.append(f"the traces agree again from state {i}")
                agreeing_since = i
            continue
        differing += 1
        if agreeing_since is not None:
            if i == 0:
                lines.append("the traces start in different initial states:")
            elif agreeing_since == 0:
                lines.append(f"the traces agree on states 0..{i - 1}; they diverge at "
                             f"step {i}:")
            else:
                lines.append(f"they diverge again at step {i}:")
            agreeing_since = None
        else:
            lines.append(f"step {i}:")
        if i == 0:
            pass
        elif same_action:
            lines.append(f"  both take {_label(ta, i)}, with different effects")
        else:
            lines.append(f"  A takes {_label(ta, i)}")
            lines.append(f"  B takes {_label(tb, i)}")
        state_lines = _state_lines(va[i], vb[i], grouping, "    ")
        if state_lines:
            lines.append(f"  state {i} differs:")
            lines += state_lines
    if differing:
        if len(va) != len(vb):
            tag, extra = ("A", len(va) - n) if len(va) > n else ("B", len(vb) - n)
            lines.append(f"{tag} goes on for {extra} more steps")
        lines.append(f"{differing} of {n} shared steps differ")
        return Divergence(False, tuple(lines))
    if len(va) != len(vb):
        longer, tag, extra = (ta, "A", len(va) - n) if len(va) > n else (tb, "B", len(vb) - n)
        lines.append(f"the traces agree on states 0..{n - 1}; {tag} goes on for {extra} more "
                     f"steps, starting with {_label(longer, n)}")
        return Divergence(False, tuple(lines))
    if ta.loop != tb.loop or ta.loop_action != tb.loop_action:
        lines.append(f"the traces agree on every state but loop differently: A back to "
                     f"{ta.loop}, B back to {tb.loop}")
        return Divergence(False, tuple(lines))
    if ta.property != tb.property:
        lines.append("the runs are the same; they are traces of different properties")
        return Divergence(False, tuple(lines))
    if differ or ta.model != tb.model:
        lines.append("the traces are the same run, under different settings")
        return Divergence(False, tuple(lines))
    lines.append("the traces are the same run")
    return Divergence(True, tuple(lines))
