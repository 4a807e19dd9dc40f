"""Strict ITF export: what readers of the Apalache and Quint family accept.

Our own trace files are ITF with extras (action names in each state's ``#meta``,
JSON numbers for integers, ``loop: null``). ``to_strict_itf`` writes the
conservative form of ADR-015 that every reader takes:

- top level: only ``#meta``, ``vars``, ``states`` and, for a lasso, ``loop``;
- integers as ``{"#bigint": "N"}`` (the form Quint writes and both readers take);
- Booleans as JSON Booleans, enum labels as strings;
- a family (a variable indexed by a finite set) as a JSON array, which Quint reads
  as a List (indexed from 0, as our families are) and Apalache as a sequence; with
  ``families="map"`` it is a ``{"#map": [[key, value], ...]}`` from index (or the
  index set's label) to value, which is a TLA+ function;
- everything of ours (model, parameters, knobs, property, the action and
  arguments of each step) lives only inside ``#meta`` objects, which readers skip.
- with ``mbt=True``, Quint's model-based-testing variables ``mbt::actionTaken`` and
  ``mbt::nondetPicks`` carry each step's action and arguments as state values (the
  picks as a plain record, not Quint's Option variants, which some readers reject).
"""

from __future__ import annotations

import json
from typing import Any

from mhpcheck.model.domains import UserValue
from mhpcheck.model.system import TransitionSystem, VarDecl
from mhpcheck.model.trace import FORMAT_DESCRIPTION, Trace

ITF_DESCRIPTION = "https://apalache-mc.org/docs/adr/015adr-trace.html"


def itf_value(value: UserValue) -> Any:
    """One scalar in ITF: bool and str as they are, an int as ``#bigint``."""
    if isinstance(value, (bool, str)):
        return value
    return {"#bigint": str(value)}


def _family(decl: VarDecl, values: list[UserValue], families: str) -> Any:
    if families == "list":
        return [itf_value(v) for v in values]
    assert decl.index is not None
    keys: list[Any] = ([decl.index.label(i) for i in range(decl.index.size)]
                       if decl.index.labels else [itf_value(i) for i in range(decl.index.size)])
    return {"#map": [[k, itf_value(v)] for k, v in zip(keys, values, strict=True)]}


def to_strict_itf(trace: Trace, ts: TransitionSystem, families: str = "list",
                  mbt: bool = False) -> dict[str, Any]:
    """``trace`` as a strict ADR-015 object (see the module's docstring)."""
    if families not in ("list", "map"):
        raise ValueError(f"families must be 'list' or 'map', not {families!r}")
    states: list[dict[str, Any]] = []
    for i, step in enumerate(trace.steps):
        decoded = ts.decode(step.state)
        state: dict[str, Any] = {"#meta": {"index": i, "action": step.action or "init",
                                           "args": {k: itf_value(v) for k, v in step.args}}}
        for decl in ts.variables:
            value = decoded[decl.name]
            state[decl.name] = (itf_value(value) if decl.index is None
                                else _family(decl, value, families))
        if mbt:
            state["mbt::actionTaken"] = step.action or "init"
            state["mbt::nondetPicks"] = {k: itf_value(v) for k, v in step.args}
        states.append(state)
    meta: dict[str, Any] = {
        "format": "ITF",
        "format-description": ITF_DESCRIPTION,
        "source": f"mhpcheck model {trace.model}",
        "description": f"{trace.kind} for {trace.property} ({FORMAT_DESCRIPTION})",
        "mhpcheck": {
            "model": trace.model, "params": {k: itf_value(v) for k, v in trace.params},
            "knobs": {k: itf_value(v) for k, v in trace.knobs}, "property": trace.property,
            "kind": trace.kind, "reachable": trace.reachable, "note": trace.note,
            "loop_action": None if trace.loop_action is None else {
                "action": trace.loop_action[0],
                "args": {k: itf_value(v) for k, v in trace.loop_action[1]}},
        },
    }
    names = [v.name for v in ts.variables]
    if mbt:
        names += ["mbt::actionTaken", "mbt::nondetPicks"]
    out: dict[str, Any] = {"#meta": meta, "vars": names, "states": states}
    if trace.loop is not None:
        out["loop"] = trace.loop
    return out


def itf_dumps(trace: Trace, ts: TransitionSystem, families: str = "list",
              mbt: bool = False) -> str:
    return json.dumps(to_strict_itf(trace, ts, families, mbt), indent=1, sort_keys=True) + "\n"


def _check_value(value: Any, where: str, problems: list[str]) -> None:
    if isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        if abs(value) >= 2 ** 53:
            problems.append(f"{where}: integer {value} needs #bigint")
        return
    if isinstance(value, list):
        for i, v in enumerate(value):
            _check_value(v, f"{where}[{i}]", problems)
        return
    if not isinstance(value, dict):
        problems.append(f"{where}: {type(value).__name__} is not an ITF value")
        return
    if "#bigint" in value:
        raw = value["#bigint"]
        if len(value) != 1 or not isinstance(raw, str) or not raw.lstrip("-").isdigit():
            problems.append(f"{where}: malformed #bigint {value!r}")
        return
    for tag in ("#tup", "#set"):
        if tag in value:
            if len(value) != 1 or not isinstance(value[tag], list):
                problems.append(f"{where}: malformed {tag}")
                return
            for i, v in enumerate(value[tag]):
                _check_value(v, f"{where}.{tag}[{i}]", problems)
            return
    if "#map" in value:
        entries = value["#map"]
        if len(value) != 1 or not isinstance(entries, list):
            problems.append(f"{where}: malformed #map")
            return
        for i, pair in enumerate(entries):
            if not isinstance(pair, list) or len(pair) != 2:
                problems.append(f"{where}.#map[{i}]: not a [key, value] pair")
                continue
            _check_value(pair[0], f"{where}.#map[{i}] key", problems)
            _check_value(pair[1], f"{where}.#map[{i}] value", problems)
        return
    if "#unserializable" in value:
        return
    for k, v in value.items():  # a record (or a variant {tag, value})
        if k.startswith("#"):
            problems.append(f"{where}: unknown tag {k}")
        else:
            _check_value(v, f"{where}.{k}", problems)


def check_itf(data: Any) -> list[str]:
    """What in ``data`` breaks ADR-015 (empty: a valid ITF trace)."""
    problems: list[str] = []
    if not isinstance(data, dict):
        return ["a trace must be a JSON object"]
    allowed = {"#meta", "params", "vars", "states", "loop"}
    problems += [f"unknown top-level key {k!r}" for k in sorted(set(data) - allowed)]
    if not isinstance(data.get("vars"), list) or not all(isinstance(v, str)
                                                          for v in data["vars"]):
        problems.append("vars must be a list of strings")
    states = data.get("states")
    if not isinstance(states, list):
        return [*problems, "states must be a list"]
    names = set(data.get("vars") or [])
    for i, state in enumerate(states):
        if not isinstance(state, dict):
            problems.append(f"states[{i}] is not an object")
            continue
        keys = set(state) - {"#meta"}
        if keys != names:
            problems.append(f"states[{i}] has variables {sorted(keys)}, vars says "
                            f"{sorted(names)}")
        for k in sorted(keys):
            _check_value(state[k], f"states[{i}].{k}", problems)
    if "loop" in data:
        loop = data["loop"]
        if not isinstance(loop, int) or isinstance(loop, bool) or not 0 <= loop < len(states):
            problems.append(f"loop must be a state index, got {loop!r}")
    if "params" in data and not isinstance(data["params"], list):
        problems.append("params must be a list of names")
    return problems
