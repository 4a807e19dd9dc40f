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
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .domains import UserValue
from .errors import ModelError, TraceError
from .system import Args, State, TransitionSystem
from .textfile import read_text_file

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
    def to_itf(self, ts: TransitionSystem, folder: str | None = None) -> dict[str, Any]:
        """The trace as an ITF object (``ts`` decodes the states). A model file is named
        relative to ``folder``, the trace file's own, so the text does not depend on
        where the repository lies."""
        states = []
        for i, step in enumerate(self.steps):
            values = ts.decode(step.state)
            values["#meta"] = {"index": i, "action": step.action, "args": dict(step.args)}
            states.append(values)
        meta: dict[str, Any] = {
            "format": "ITF",
            "format-description": FORMAT_DESCRIPTION,
            "source": "mhpcheck",
            "model": _model_ref(ts.source or self.model, folder),  # trace show rebuilds it
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

    def dumps(self, ts: TransitionSystem, folder: str | None = None) -> str:
        """The trace file's text; ``folder`` is where it will lie (see ``to_itf``)."""
        return json.dumps(self.to_itf(ts, folder), indent=1, sort_keys=True) + "\n"

    @staticmethod
    def from_itf(data: Any, build: SystemBuilder, where: str = "trace") -> tuple[Trace,
                                                                                 TransitionSystem]:
        """Read an ITF object written by ``to_itf``; ``build`` rebuilds its system.

        ``data`` is validated against the shape ``to_itf`` writes first (see
        ``validate_itf``): a TraceError names the first field that is wrong.
        """
        validate_itf(data, where)
        meta = data["#meta"]
        model, params, knobs = meta["model"], meta["params"], meta["knobs"]
        raw_states = data["states"]
        try:
            ts = build(model, params, knobs)
        except ModelError as err:
            raise TraceError(f"{where}: {err}") from None
        steps = []
        for i, raw in enumerate(raw_states):
            step_meta = raw["#meta"]
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
        """Read the trace file ``path`` (a regular UTF-8 file of JSON, at most 256 MiB)."""
        text = read_text_file(path, "trace file", TraceError, MAX_TRACE_BYTES)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise TraceError(f"{path}: not JSON (line {err.lineno}: {err.msg})") from None
        except RecursionError:
            raise TraceError(f"{path}: JSON nested too deeply for a trace") from None
        return Trace.from_itf(data, build, path)


def _model_ref(ref: str, folder: str | None) -> str:
    """``ref`` with an absolute model file path made relative to ``folder``.

    Only where the two share a folder below the filesystem's root (a project's
    ``models/`` and ``traces/``): a path that climbs to the root would tie the
    trace to this machine as much as the absolute one, and read worse.
    """
    file, sep, cls = ref.rpartition(":")
    if folder is None or not sep or not file.endswith(".py") or not os.path.isabs(file):
        return ref
    where = os.path.abspath(folder)
    if os.path.dirname(os.path.commonpath([file, where])) == os.path.commonpath([file, where]):
        return ref  # the only common folder is the root
    return f"{Path(os.path.relpath(file, where)).as_posix()}:{cls}"


#: The largest trace file read (a long lasso of a large model is a few MiB).
MAX_TRACE_BYTES = 256 << 20

KINDS = ("counterexample", "witness", "lasso", "cti")
_SCALARS = (bool, int, str)


def _kind_of(value: Any) -> str:
    """A JSON value's type in JSON's words, for messages."""
    if value is None:
        return "null"
    for kind, name in ((bool, "a Boolean"), (int, "an integer"), (float, "a number"),
                       (str, "a string"), (list, "a list"), (dict, "an object")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _want(ok: bool, where: str, field: str, wanted: str, value: Any) -> None:
    if not ok:
        raise TraceError(f"{where}: field {field} must be {wanted}, got {_kind_of(value)}"
                         + (f" {value!r}" if isinstance(value, _SCALARS) else ""))


def _present(table: dict[str, Any], key: str, where: str, field: str) -> None:
    if key not in table:
        raise TraceError(f"{where}: not an mhpcheck ITF trace: field {field} is missing")


def _scalar_map(value: Any, where: str, field: str) -> None:
    """``value`` is an object of Booleans, integers and strings (params, knobs, args)."""
    _want(isinstance(value, dict), where, field, "an object", value)
    for key, item in value.items():
        _want(isinstance(item, _SCALARS), where, f"{field}.{key}",
              "a Boolean, an integer or a string", item)


def validate_itf(data: Any, where: str = "trace") -> None:
    """Raise a TraceError naming the first field of ``data`` not as ``to_itf`` writes it.

    The schema, by hand (jsonschema is not a dependency, and its messages do not
    say which field in our words): a JSON object with ``#meta`` (``model`` a
    string, ``params`` and ``knobs`` objects of scalars, optional ``property``,
    ``note`` strings, ``kind`` one of KINDS, ``reachable`` a Boolean, ``loop_action``
    null or {action, args}), ``vars`` a list of strings, ``states`` a non-empty
    list of objects whose ``#meta`` has ``index`` (the position), ``action`` (null
    at state 0, a string after) and ``args`` (an object of scalars), and whose
    other fields are scalars or lists of scalars, and ``loop`` null or a state's
    index. It checks no deeper than that, so no input recurses.
    """
    _want(isinstance(data, dict), where, "(top level)", "an object", data)
    _present(data, "#meta", where, "#meta")
    meta = data["#meta"]
    _want(isinstance(meta, dict), where, "#meta", "an object", meta)
    for key in ("model", "params", "knobs"):
        _present(meta, key, where, f"#meta.{key}")
    _want(isinstance(meta["model"], str), where, "#meta.model", "a string", meta["model"])
    _scalar_map(meta["params"], where, "#meta.params")
    _scalar_map(meta["knobs"], where, "#meta.knobs")
    for key in ("property", "note", "format", "format-description", "source"):
        if key in meta:
            _want(isinstance(meta[key], str), where, f"#meta.{key}", "a string", meta[key])
    if "kind" in meta:
        _want(meta["kind"] in KINDS, where, "#meta.kind", f"one of {', '.join(KINDS)}",
              meta["kind"])
    if "reachable" in meta:
        _want(isinstance(meta["reachable"], bool), where, "#meta.reachable", "a Boolean",
              meta["reachable"])
        if meta["reachable"] is False and meta.get("kind") != "cti":
            raise TraceError(f"{where}: field #meta.reachable is false only for a "
                             f"counterexample to induction (kind cti), not for kind "
                             f"{meta.get('kind', 'counterexample')}")
    loop_action = meta.get("loop_action")
    if loop_action is not None:
        _want(isinstance(loop_action, dict), where, "#meta.loop_action", "null or an object",
              loop_action)
        _want(isinstance(loop_action.get("action"), str), where, "#meta.loop_action.action",
              "a string", loop_action.get("action"))
        _scalar_map(loop_action.get("args"), where, "#meta.loop_action.args")
    names = data.get("vars")
    if "vars" in data:
        _want(isinstance(names, list) and all(isinstance(v, str) for v in names), where,
              "vars", "a list of strings", names)
    _present(data, "states", where, "states")
    states = data["states"]
    _want(isinstance(states, list), where, "states", "a list of states", states)
    if not states:
        raise TraceError(f"{where}: field states is empty: a trace has at least one state")
    for i, state in enumerate(states):
        here = f"states[{i}]"
        _want(isinstance(state, dict), where, here, "an object", state)
        step = state.get("#meta")
        _want(isinstance(step, dict), where, f"{here}.#meta", "an object", step)
        if "index" in step:
            _want(step["index"] == i and not isinstance(step["index"], bool), where,
                  f"{here}.#meta.index", f"the state's position {i}", step["index"])
        action = step.get("action")
        if i == 0:
            _want(action is None, where, f"{here}.#meta.action", "null (the initial state)",
                  action)
        else:
            _want(isinstance(action, str), where, f"{here}.#meta.action", "a string",
                  action)
        _scalar_map(step.get("args", {}), where, f"{here}.#meta.args")
        for key, value in state.items():
            if key == "#meta":
                continue
            ok = isinstance(value, _SCALARS) or (
                isinstance(value, list) and all(isinstance(x, _SCALARS) for x in value))
            _want(ok, where, f"{here}.{key}", "a Boolean, an integer, a string or a list "
                  "of them", value)
        if isinstance(names, list):
            keys = sorted(set(state) - {"#meta"})
            if keys != sorted(names):
                raise TraceError(f"{where}: {here} has variables {', '.join(keys)}, but "
                                 f"vars lists {', '.join(sorted(names))}")
    loop = data.get("loop")
    if loop is not None:
        _want(isinstance(loop, int) and not isinstance(loop, bool)
              and 0 <= loop < len(states), where, "loop",
              f"null or a state index 0..{len(states) - 1}", loop)


def _ordered_args(ts: TransitionSystem, action: str | None, args: Args) -> Args:
    """Arguments in the order the action declares them (as the engines produce them)."""
    if action is None:
        return ()
    for info in ts.action_infos:
        if info.name == action:
            order = {name: i for i, name in enumerate(info.params)}
            return tuple(sorted(args, key=lambda kv: order.get(kv[0], len(order))))
    return args
