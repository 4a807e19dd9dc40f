"""The public API: a model written and checked with ``from mhpcheck import ...`` only."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mhpcheck import (
    Budget,
    Checker,
    Declarations,
    IntRange,
    Model,
    Param,
    StateView,
    Trace,
    UsageError,
    Verdict,
    action,
    check,
    eventually,
    init,
    invariant,
    leads_to,
    reachable,
    register,
    step_invariant,
    then,
    when,
)


class Counter(Model):
    """Counts up to a limit and wraps around: one property of every kind."""

    name = "api-counter"
    summary = "a counter that wraps around"
    params = (Param("limit", default=3, lo=1, hi=9, doc="the largest value"),)

    def declare(self, d: Declarations) -> None:
        d.var("x", IntRange(0, 9))

    @init
    def start(self, s: StateView):  # type: ignore[no-untyped-def]
        return then()

    @action(fair=True)
    def inc(self, s: StateView):  # type: ignore[no-untyped-def]
        return when(s.x < self.p.limit).then(s.x.becomes(s.x + 1))

    @action(fair=True)
    def wrap(self, s: StateView):  # type: ignore[no-untyped-def]
        return when(s.x == self.p.limit).then(s.x.becomes(0))

    @invariant
    def below_limit(self, s: StateView):  # type: ignore[no-untyped-def]
        return s.x <= self.p.limit

    @invariant
    def below_two(self, s: StateView):  # type: ignore[no-untyped-def]
        return s.x < 2

    @step_invariant
    def moves_by_one_or_wraps(self, s: StateView, t: StateView):  # type: ignore[no-untyped-def]
        return (t.x == s.x + 1) | (t.x == 0)

    @reachable
    def at_limit(self, s: StateView):  # type: ignore[no-untyped-def]
        return s.x == self.p.limit

    @leads_to
    def one_leads_to_limit(self, s: StateView):  # type: ignore[no-untyped-def]
        return s.x == 1, s.x == self.p.limit

    @eventually
    def reaches_limit(self, s: StateView):  # type: ignore[no-untyped-def]
        return s.x == self.p.limit


def test_a_model_written_with_the_public_api_is_checked_by_check() -> None:
    r = check(Counter({"limit": 3}), "below-two")
    assert r.verdict is Verdict.VIOLATED
    assert isinstance(r.trace, Trace) and len(r.trace) == 2  # 0 -> 1 -> 2
    assert r.stats.distinct_states == 4
    assert check(Counter(), "below-limit").verdict is Verdict.HOLDS
    assert check(Counter(), "reaches-limit").verdict is Verdict.HOLDS


def test_check_takes_the_budget_as_keywords() -> None:
    r = check(Counter({"limit": 5}), "below-limit", max_depth=2)
    assert r.verdict is Verdict.BOUNDED
    with pytest.raises(UsageError, match="not both"):
        check(Counter(), "below-limit", "bfs", Budget(max_depth=2), timeout=1.0)


def test_checker_checks_many_properties_in_one_exploration() -> None:
    checker = Checker(Counter())
    results = checker.check_many(["below-limit", "moves-by-one-or-wraps", "at-limit"])
    assert [r.verdict for r in results] == [Verdict.HOLDS, Verdict.HOLDS, Verdict.REACHABLE]
    assert {r.stats.distinct_states for r in results} == {4}


def test_register_makes_a_model_known_by_name() -> None:
    from mhpcheck.registry import build_system, unregister

    register("api-counter", Counter)
    try:
        assert build_system("api-counter", {"limit": 2}).n_slots == 1
        with pytest.raises(UsageError, match="registered already"):
            register("api-counter", type("Other", (Counter,), {}))
    finally:
        unregister("api-counter")


def test_importing_the_modelling_language_loads_no_engine_and_no_z3() -> None:
    code = ("import sys, mhpcheck.model.base, mhpcheck.model.dsl\n"
            "print(sorted(m for m in sys.modules if m == 'z3' or "
            "m.startswith(('mhpcheck.checker', 'mhpcheck.api'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_an_entry_point_in_the_models_group_is_known_by_name(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import EntryPoint

    import mhpcheck.registry as registry

    plugged = EntryPoint("plugged-counter", "test_public_api:Counter", "mhpcheck.models")
    shadow = EntryPoint("peterson", "test_public_api:Counter", "mhpcheck.models")

    def found(group: str) -> list[EntryPoint]:
        return [plugged, shadow] if group == registry.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(registry, "entry_points", found)
    assert registry.model_class("plugged-counter") is Counter
    assert registry.model_class("peterson") is not Counter  # a built-in name stays built-in
    assert "plugged-counter" in registry.names()
