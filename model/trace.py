"""Traces: sequences of states with the action (name and arguments) of each step.

Written as JSON in the Informal Trace Format (ITF: ``#meta``, ``vars``, ``states``,
``loop``) with each state's ``#meta`` naming the step's action and arguments, which
ITF itself lacks. A lasso has ``loop`` = the index of the state the last state
returns to, and ``loop_action`` the step that returns (None: the last state has no
successor and stutters, as a deadlocked run does). Output has sorted keys, no
timestamps and no paths, so files stay stable under version control.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from .domains import UserValue
from .errors import ModelError, TraceError
from .system import Args, State, TransitionSystem

FORMAT_DESCRIPTION = "ITF (Apalache ADR-015) with per-step action names in #meta"

#: What builds a transition system from a trace's model, params and knobs.
SystemBuilder = Callable[[str, Mapping[str, Any], Mapping[str, Any]], TransitionSystem]


@dataclass(frozen=True)
class Step:
    """One state of a trace and the action that produced it (None for the first)."""

    action: str | None
    args: Args
    state: State

    @builtins.property
    def label(self) -> str:
        if self.action is None:
            return "(initial state)"
        inner = ", ".join(f"{k}={v}" for k, v in self.args)
        return f"{self.action}({inner})"


@dataclass(frozen=True)
class Trace:
    """A counterexample, witness or counterexample to induction, with its provenance."""

    model: str
    params: tuple[tuple[str, UserValue], ...]
    knobs: tuple[tuple[str, UserValue], ...]
    property: str
    kind: str  # "counterexample", "witness", "lasso" or "cti"
    steps: tuple[Step, ...]
    loop: int | None = None
    loop_action: tuple[str, Args] | None = None
    reachable: bool = True  # False for a counterexample to induction
    note: str = ""

    def __len__(self) -> int:
        """The number of steps (transitions), not counting the loop-closing one."""
        return len(self.steps) - 1

    def __bool__(self) -> bool:
        """A trace is a trace even with no step (an initial state that violates)."""
        return True

    @builtins.property
    def states(self) -> list[State]:
        return [step.state for step in self.steps]

    def with_note(self, note: str) -> Trace:
        return replace(self, note=note)

    # -- ITF ---------------------------------------------------------------------------
    def to_itf(self, ts: TransitionSystem) -> dict[str, Any]:
        """The trace as an ITF object (``ts`` decodes the states)."""
        states = []
        for i, step in enumerate(self.steps):
            values = ts.decode(step.state)
            values["#meta"] = {"index": i, "action": step.action, "args": dict(step.args)}
            states.append(values)
        meta: dict[str, Any] = {
            "format": "ITF",
            "format-description": FORMAT_DESCRIPTION,
            "source": "mhpcheck",
            "model": self.model,
            "params": dict(self.params),
            "knobs": dict(self.knobs),
            "property": self.property,
            "kind": self.kind,
            "reachable": self.reachable,
            "note": self.note,
            "loop_action": None if self.loop_action is None else {
                "action": self.loop_action[0], "args": dict(self.loop_action[1])},
        }
        return {"#meta": meta, "vars": [v.name for v in ts.variables], "states": states,
                "loop": self.loop}

    def dumps(self, ts: TransitionSystem) -> str:
        return json.dumps(self.to_itf(ts), indent=1, sort_keys=True) + "\n"

    @staticmethod
    def from_itf(data: Any, build: SystemBuilder, where: str = "trace") -> tuple[Trace,
                                                                                 TransitionSystem]:
        """Read an ITF object written by ``to_itf``; ``build`` rebuilds its system."""
        try:
            meta = data["#meta"]
            model, params, knobs = meta["model"], meta["params"], meta["knobs"]
            raw_states = data["states"]
        except (KeyError, TypeError) as err:
            raise TraceError(f"{where}: not an mhpcheck ITF trace (missing {err})") from None
        try:
            ts = build(model, params, knobs)
        except ModelError as err:
            raise TraceError(f"{where}: {err}") from None
        steps = []
        for i, raw in enumerate(raw_states):
            step_meta = raw.get("#meta", {}) if isinstance(raw, dict) else {}
            values = {k: v for k, v in raw.items() if k != "#meta"}
            try:
                state = ts.encode(values, f"{where}: state {i}")
            except ModelError as err:
                raise TraceError(str(err)) from None
            action = step_meta.get("action")
            args = tuple(sorted((step_meta.get("args") or {}).items()))
            steps.append(Step(action, _ordered_args(ts, action, args), state))
        loop_action = None
        if meta.get("loop_action"):
            la = meta["loop_action"]
            name = la["action"]
            loop_action = (name, _ordered_args(ts, name, tuple(sorted(la["args"].items()))))
        trace = Trace(model, tuple(sorted(params.items())), tuple(sorted(knobs.items())),
                      meta.get("property", ""), meta.get("kind", "counterexample"),
                      tuple(steps), data.get("loop"), loop_action,
                      bool(meta.get("reachable", True)), meta.get("note", ""))
        return trace, ts

    @staticmethod
    def load(path: str, build: SystemBuilder) -> tuple[Trace, TransitionSystem]:
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except OSError as err:
            raise TraceError(f"{path}: cannot read ({err.strerror})") from None
        except json.JSONDecodeError as err:
            raise TraceError(f"{path}: not JSON (line {err.lineno}: {err.msg})") from None
        return Trace.from_itf(data, build, path)


def _ordered_args(ts: TransitionSystem, action: str | None, args: Args) -> Args:
    """Arguments in the order the action declares them (as the engines produce them)."""
    if action is None:
        return ()
    for info in ts.action_infos:
        if info.name == action:
            order = {name: i for i, name in enumerate(info.params)}
            return tuple(sorted(args, key=lambda kv: order.get(kv[0], len(order))))
    return args
