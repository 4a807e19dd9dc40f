"""Property-based: every trace the explicit engine returns replays, on random systems."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mhpcheck.checker.explicit.bfs import check_safety
from mhpcheck.checker.explicit.liveness import check_leads_to
from mhpcheck.checker.replay import replay
from mhpcheck.model.base import Declarations, Model, action, eventually, init, invariant
from mhpcheck.model.domains import IntRange
from mhpcheck.model.dsl import Effect, StateView, Term, ite, then, when
from mhpcheck.model.system import LeadsTo

N_VARS = 3
TOP = 3


def random_model(spec: dict[str, Any]) -> type[Model]:
    """A model of N_VARS variables in 0..TOP with random guarded updates."""

    class Random(Model):
        name = "random"

        def declare(self, d: Declarations) -> None:
            d.index("v", N_VARS)
            d.var("x", IntRange(0, TOP), over="v")

        @init
        def start(self, s: StateView) -> Effect:
            return then(*(s.x[i].becomes(v) for i, v in enumerate(spec["init"])))

        @action(k=range(len(spec["actions"])), fair=True)
        def act(self, s: StateView, k: int) -> Effect:
            gv, gop, gc, tv, kind, val, src = spec["actions"][k]
            guard = s.x[gv] < gc if gop == "<" else s.x[gv] != gc
            if kind == "const":
                value: Any = val
            elif kind == "copy":
                value = s.x[src]
            else:  # saturating increment keeps values in range
                value = ite(s.x[tv] < TOP, s.x[tv] + 1, 0)
            return when(guard).then(s.x[tv].becomes(value))

        @invariant
        def target(self, s: StateView) -> Term:
            return s.x[spec["goal"][0]] != spec["goal"][1]

        @eventually
        def reaches(self, s: StateView) -> Term:
            return s.x[spec["goal"][0]] == spec["goal"][1]

    return Random


values = st.integers(0, TOP)
an_action = st.tuples(st.integers(0, N_VARS - 1), st.sampled_from(["<", "!="]), values,
                      st.integers(0, N_VARS - 1), st.sampled_from(["const", "copy", "inc"]),
                      values, st.integers(0, N_VARS - 1))
systems = st.fixed_dictionaries({
    "init": st.lists(values, min_size=N_VARS, max_size=N_VARS),
    "actions": st.lists(an_action, min_size=1, max_size=5),
    "goal": st.tuples(st.integers(0, N_VARS - 1), values),
})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(systems)
def test_every_counterexample_and_lasso_replays(spec: dict[str, Any]) -> None:
    ts = random_model(spec)().build()
    [r] = check_safety(ts, [ts.property("target")])
    if r.trace is not None:
        replay(ts, r.trace)
        var, value = spec["goal"]
        hits = [ts.decode(s)["x"][var] == value for s in r.trace.states]
        assert hits[-1] and not any(hits[:-1])
    prop = ts.property("reaches")
    assert isinstance(prop, LeadsTo)
    live = check_leads_to(ts, prop)
    if live.trace is not None:
        replay(ts, live.trace)
