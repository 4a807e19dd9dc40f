"""Traces: ITF round trip and replay that fails loudly at the diverging step."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from mhpcheck.checker.explicit.bfs import check_safety
from mhpcheck.checker.explicit.liveness import check_leads_to
from mhpcheck.checker.replay import replay
from mhpcheck.model.errors import ReplayMismatch, TraceError
from mhpcheck.model.system import LeadsTo
from mhpcheck.model.trace import Step, Trace
from mhpcheck.registry import build_system


def deadlock_trace() -> tuple[Trace, object]:
    ts = build_system("philosophers", {"n": 3})
    [r] = check_safety(ts, [ts.property("deadlock-free")])
    assert r.trace is not None
    return r.trace, ts


def build(model: str, params: dict[str, object], knobs: dict[str, object]):  # type: ignore[no-untyped-def]
    return build_system(model, params, knobs)


def test_itf_has_meta_vars_states_and_loop() -> None:
    trace, ts = deadlock_trace()
    data = trace.to_itf(ts)  # type: ignore[arg-type]
    assert set(data) == {"#meta", "vars", "states", "loop"}
    assert data["vars"] == ["pc", "fork"]
    assert data["states"][1]["#meta"] == {"index": 1, "action": "take_left", "args": {"i": 0}}
    assert data["states"][0]["pc"] == ["thinking"] * 3
    assert data["#meta"]["format"] == "ITF"


def test_itf_round_trip_gives_the_same_trace() -> None:
    trace, ts = deadlock_trace()
    text = trace.dumps(ts)  # type: ignore[arg-type]
    again, _ = Trace.from_itf(json.loads(text), build)
    assert again == trace
    assert again.dumps(ts) == text  # type: ignore[arg-type]


def test_lasso_round_trip_keeps_the_loop_step() -> None:
    ts = build_system("philosophers", {"n": 3})
    prop = ts.property("someone-eats")
    assert isinstance(prop, LeadsTo)
    trace = check_leads_to(ts, prop).trace
    assert trace is not None
    again, _ = Trace.from_itf(trace.to_itf(ts), build)
    assert again == trace
    replay(ts, again)


def test_replay_names_the_step_that_diverges() -> None:
    trace, ts = deadlock_trace()
    steps = list(trace.steps)
    bad = (*steps[2].state[:-1], 1 - steps[2].state[-1])
    steps[2] = Step(steps[2].action, steps[2].args, bad)
    with pytest.raises(ReplayMismatch, match=r"step 2 \(take_left\(i=1\)\) diverges: fork\[2\]"):
        replay(ts, replace(trace, steps=tuple(steps)))  # type: ignore[arg-type]


def test_replay_rejects_a_disabled_action() -> None:
    trace, ts = deadlock_trace()
    steps = list(trace.steps)
    steps[1] = Step("release", (("i", 0),), steps[1].state)
    with pytest.raises(ReplayMismatch, match=r"step 1: release\(i=0\) is not enabled"):
        replay(ts, replace(trace, steps=tuple(steps)))  # type: ignore[arg-type]


def test_replay_rejects_an_unknown_action() -> None:
    trace, ts = deadlock_trace()
    steps = list(trace.steps)
    steps[1] = Step("dance", (), steps[1].state)
    with pytest.raises(ReplayMismatch, match="no action 'dance'"):
        replay(ts, replace(trace, steps=tuple(steps)))  # type: ignore[arg-type]


def test_replay_rejects_a_false_deadlock_claim() -> None:
    trace, ts = deadlock_trace()
    short = replace(trace, steps=trace.steps[:2], loop=1)
    with pytest.raises(ReplayMismatch, match="claims a deadlock"):
        replay(ts, short)  # type: ignore[arg-type]


def test_loading_a_non_trace_names_the_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "x.json"
    path.write_text("{}")
    with pytest.raises(TraceError, match=r"x\.json: not an mhpcheck ITF trace"):
        Trace.load(str(path), build)
    path.write_text("{")
    with pytest.raises(TraceError, match=r"x\.json: not JSON"):
        Trace.load(str(path), build)


def test_a_model_path_is_relative_to_the_trace_only_below_a_shared_folder() -> None:
    from mhpcheck.model.trace import _model_ref
    assert _model_ref("/p/models/m.py:C", "/p/traces") == "../models/m.py:C"
    assert _model_ref("/p/m.py:C", "/p") == "m.py:C"
    assert _model_ref("/a/m.py:C", "/b") == "/a/m.py:C"  # only / in common
    assert _model_ref("hotplug", "/p") == "hotplug"
