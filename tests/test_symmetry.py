"""Symmetry reduction: one state per orbit, concrete traces, and checked declarations."""

from __future__ import annotations

import pytest
from toys import Arrays

from mhpcheck.checker.explicit.bfs import check_safety, explore
from mhpcheck.checker.explicit.symmetry import compile_canon
from mhpcheck.checker.replay import replay
from mhpcheck.checker.result import Verdict
from mhpcheck.model.base import Declarations, Model, action, init, invariant
from mhpcheck.model.domains import Bool
from mhpcheck.model.dsl import Effect, StateView, Term, then, when
from mhpcheck.model.errors import ModelError
from mhpcheck.model.expr import Cmp, Const, Var
from mhpcheck.model.symmetry import Symmetry
from mhpcheck.model.system import Invariant
from mhpcheck.registry import build_system


def orbit_count(name: str, n: int) -> tuple[int, int]:
    """(reachable states, orbits among them) by full exploration, the oracle."""
    ts = build_system(name, {"n": n})
    full = explore(ts)
    canon = compile_canon(ts)
    return len(full.states), len({canon(s) for s in full.states})


@pytest.mark.parametrize("name, n", [("philosophers", 5), ("philosophers", 8),
                                     ("peterson", 3), ("peterson", 4)])
def test_reduced_count_equals_the_number_of_orbits(name: str, n: int) -> None:
    states, orbits = orbit_count(name, n)
    ts = build_system(name, {"n": n})
    reduced = explore(ts, [ts.property("deadlock-free")], symmetry=True)
    assert len(reduced.states) == orbits < states


def test_rotation_divides_the_philosophers_by_about_n() -> None:
    ts = build_system("philosophers", {"n": 8})
    assert len(explore(ts, symmetry=True).states) == 151  # 1,154 states, 8 rotations


def test_verdicts_and_trace_lengths_survive_the_reduction() -> None:
    for name, n, knobs, prop in [("philosophers", 6, {}, "deadlock-free"),
                                 ("philosophers", 5, {"broken": True}, "mutex"),
                                 ("philosophers", 5, {"broken": True}, "eating-holds-both-forks"),
                                 ("peterson", 3, {"broken": True}, "mutex"),
                                 ("peterson", 3, {}, "mutex")]:
        ts = build_system(name, {"n": n}, knobs)
        [full] = check_safety(ts, [ts.property(prop)])
        [reduced] = check_safety(ts, [ts.property(prop)], symmetry=True)
        assert full.verdict == reduced.verdict
        if full.trace is not None:
            assert reduced.trace is not None and len(reduced.trace) == len(full.trace)
            replay(ts, reduced.trace)  # concrete, not canonical, states


class Lopsided(Model):
    """Writes only cell 0, yet declares its cells interchangeable (wrongly)."""

    name = "lopsided"

    def declare(self, d: Declarations) -> None:
        d.index("cell", 3)
        d.var("a", Bool, over="cell")

    def symmetry(self) -> tuple[Symmetry, ...]:
        return (Symmetry("cell", "full"),)

    @init
    def start(self, s: StateView) -> Effect:
        return then()

    @action()
    def set_first(self, s: StateView) -> Effect:
        return when(s.a[0] == False).then(s.a[0].becomes(True))  # noqa: E712

    @invariant
    def first_clear(self, s: StateView) -> Term:
        return s.a[0] == False  # noqa: E712


def test_a_wrong_symmetry_declaration_is_reported() -> None:
    ts = Lopsided().build()
    with pytest.raises(ModelError, match="declared symmetry does not hold"):
        explore(ts, symmetry=True)


def test_an_asymmetric_property_is_reported() -> None:
    ts = build_system("peterson", {"n": 3})
    pc0 = Var("pc", ts.var("pc").domain, Const(0), 3)
    prop = Invariant("proc0-idle-or-waiting", "", (), Cmp("!=", pc0, Const(3)))
    with pytest.raises(ModelError, match="not symmetric"):
        explore(ts, [prop], symmetry=True)


def test_a_model_without_symmetry_refuses_the_reduction() -> None:
    ts = Arrays({"n": 2}).build()
    with pytest.raises(ModelError, match="declares no symmetry"):
        explore(ts, symmetry=True)


class Crowd(Model):
    """Nine interchangeable cells: 9! renamings are too many to enumerate."""

    name = "crowd"

    def declare(self, d: Declarations) -> None:
        d.index("cell", 9)
        d.var("a", Bool, over="cell")

    def symmetry(self) -> tuple[Symmetry, ...]:
        return (Symmetry("cell", "full"),)

    @init
    def start(self, s: StateView) -> Effect:
        return then()

    @action(i="cell")
    def set(self, s: StateView, i: int) -> Effect:
        return then(s.a[i].becomes(True))


def test_full_group_too_large_is_refused() -> None:
    with pytest.raises(ModelError, match="declare rotation instead"):
        Crowd().build()


def test_deadlock_trace_under_symmetry_is_a_concrete_lasso() -> None:
    ts = build_system("philosophers", {"n": 5})
    [r] = check_safety(ts, [ts.property("deadlock-free")], symmetry=True)
    assert r.verdict is Verdict.VIOLATED and r.trace is not None
    assert r.trace.loop == len(r.trace.steps) - 1
    replay(ts, r.trace)
