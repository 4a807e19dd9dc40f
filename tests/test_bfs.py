"""The explicit engine on systems whose state spaces are counted by hand."""

from __future__ import annotations

from toys import Counter

from mhpcheck.checker.explicit.bfs import check_safety, explore
from mhpcheck.checker.replay import replay
from mhpcheck.checker.result import Budget, Verdict
from mhpcheck.registry import build_system


def props(ts, *names):  # type: ignore[no-untyped-def]
    return [ts.property(n) for n in names]


def test_counter_has_limit_plus_one_states_and_depth_limit() -> None:
    ts = Counter({"limit": 7}).build()
    exp = explore(ts)
    assert len(exp.states) == 8
    assert exp.depth == 7
    # every state but 0 can reset, every state but 7 can increment
    assert exp.transitions == 14
    assert exp.complete


def test_invariant_violation_gives_the_shortest_trace() -> None:
    ts = Counter({"limit": 6}).build()
    [r] = check_safety(ts, props(ts, "below-three"))
    assert r.verdict is Verdict.VIOLATED
    assert r.trace is not None and len(r.trace) == 3
    assert [s.action for s in r.trace.steps[1:]] == ["inc", "inc", "inc"]
    replay(ts, r.trace)


def test_exploration_continues_after_a_violation_for_the_full_count() -> None:
    ts = Counter({"limit": 6}).build()
    [r] = check_safety(ts, props(ts, "below-three"))
    assert r.stats.distinct_states == 7


def test_many_properties_are_checked_in_one_pass() -> None:
    ts = Counter({"limit": 4}).build()
    results = check_safety(ts, props(ts, "in-range", "below-three", "moves-by-one-or-resets",
                                     "never-resets", "at-limit", "beyond", "deadlock-free"))
    verdicts = {r.property: r.verdict for r in results}
    assert verdicts == {
        "in-range": Verdict.HOLDS, "below-three": Verdict.VIOLATED,
        "moves-by-one-or-resets": Verdict.HOLDS, "never-resets": Verdict.VIOLATED,
        "at-limit": Verdict.REACHABLE, "beyond": Verdict.UNREACHABLE,
        "deadlock-free": Verdict.HOLDS,
    }
    step = next(r for r in results if r.property == "never-resets")
    assert step.trace is not None and len(step.trace) == 2
    assert step.trace.steps[-1].action == "reset"
    replay(ts, step.trace)
    witness = next(r for r in results if r.property == "at-limit")
    assert witness.trace is not None and len(witness.trace) == 4


def test_a_depth_bound_never_reports_holds() -> None:
    ts = Counter({"limit": 9}).build()
    [r] = check_safety(ts, props(ts, "in-range"), Budget(max_depth=3))
    assert r.verdict is Verdict.BOUNDED and r.bound == "depth"
    assert r.stats.distinct_states == 4


def test_a_depth_bound_makes_unfound_targets_unknown_not_unreachable() -> None:
    ts = Counter({"limit": 9}).build()
    [r] = check_safety(ts, props(ts, "at-limit"), Budget(max_depth=3))
    assert r.verdict is Verdict.UNKNOWN


def test_a_violation_within_the_bound_is_still_reported() -> None:
    ts = Counter({"limit": 9}).build()
    [r] = check_safety(ts, props(ts, "below-three"), Budget(max_depth=5))
    assert r.verdict is Verdict.VIOLATED


def test_a_state_bound_is_reported() -> None:
    ts = build_system("peterson", {"n": 4})
    [r] = check_safety(ts, props(ts, "mutex"), Budget(max_states=1000))
    assert r.verdict is Verdict.BOUNDED and r.bound == "states"


def test_a_small_state_bound_stops_the_search_near_it() -> None:
    """Checked after every expanded state, not every 1024: a bound of 10 on a space of
    198 states is a bounded result that stops one expansion past the bound."""
    ts = build_system("philosophers", {"n": 6})
    [r] = check_safety(ts, props(ts, "mutex"), Budget(max_states=10))
    assert r.verdict is Verdict.BOUNDED and r.bound == "states"
    assert 10 <= r.stats.distinct_states < 10 + len(ts.actions)


def test_deadlock_is_found_with_its_shortest_trace() -> None:
    ts = build_system("philosophers", {"n": 4})
    [r] = check_safety(ts, props(ts, "deadlock-free"))
    assert r.verdict is Verdict.VIOLATED
    assert r.trace is not None and len(r.trace) == 4
    assert {s.action for s in r.trace.steps[1:]} == {"take_left"}
    replay(ts, r.trace)


def test_coverage_names_actions_that_never_fired() -> None:
    ts = Counter({"limit": 3}).build()
    [r] = check_safety(ts, props(ts, "in-range"))
    assert dict(r.coverage) == {"inc": 3, "reset": 3}
    assert r.never_fired == []


def test_exploration_order_is_deterministic() -> None:
    ts = build_system("peterson", {"n": 3})
    a, b = explore(ts), explore(ts)
    assert a.states == b.states and list(a.parent) == list(b.parent)


def test_state_counts_equal_spin_for_the_twins() -> None:
    import json

    from conftest import ROOT
    counts = json.loads((ROOT / "tests/data/spin_counts.json").read_text())
    for n in ("5", "6"):
        if n in counts["philosophers"]:
            ts = build_system("philosophers", {"n": int(n)})
            assert len(explore(ts).states) == counts["philosophers"][n]
    ts = build_system("peterson", {"n": 3})
    assert len(explore(ts).states) == counts["peterson"]["3"]
