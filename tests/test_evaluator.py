"""The explicit semantics: generated successor functions and predicates."""

from __future__ import annotations

import pytest
from toys import Arrays, Counter

from mhpcheck.model.compile import bounds, compile_system
from mhpcheck.model.domains import IntRange
from mhpcheck.model.errors import ModelError
from mhpcheck.model.expr import Arith, Const, Var
from mhpcheck.registry import build_system


def test_successors_follow_guards_and_updates() -> None:
    ts = Counter({"limit": 2}).build()
    c = compile_system(ts)
    assert c.successors((0,)) == [(0, (1,))]
    assert c.successors((1,)) == [(0, (2,)), (1, (0,))]
    assert c.successors((2,)) == [(1, (0,))]


def test_apply_runs_one_instance_or_returns_none() -> None:
    ts = Counter({"limit": 2}).build()
    c = compile_system(ts)
    assert c.apply[0]((1,)) == (2,)
    assert c.apply[1]((0,)) is None


def test_updates_are_simultaneous() -> None:
    ts = build_system("philosophers", {"n": 3})
    c = compile_system(ts)
    start = ts.init[0]
    k = ts.action_instance("take_left", {"i": 1})
    after = c.apply[k](start)
    assert after is not None
    assert ts.decode(after) == {"pc": ["thinking", "left", "thinking"],
                                "fork": [False, True, False]}


def test_dynamic_index_reads_and_writes() -> None:
    ts = Arrays({"n": 3}).build()
    c = compile_system(ts)
    state = ts.init[0]
    state = c.apply[0](state) or state
    state = c.apply[0](state) or state
    assert ts.decode(state) == {"a": [True, True, False], "p": 2}


def test_out_of_range_dynamic_index_names_action_and_variable() -> None:
    ts = Arrays({"n": 1}).build()
    c = compile_system(ts)
    state = c.apply[0](ts.init[0])
    assert state is not None
    with pytest.raises(ModelError, match=r"action write\(\).*index of a outside 0..0"):
        c.apply[0](state)


def test_value_outside_the_domain_names_action_and_variable() -> None:
    ts = Counter({"limit": 2}, {"overflow": True}).build()
    c = compile_system(ts)
    message = r"action inc\(\): sets x outside its domain 0..2 \(got 3\)"
    with pytest.raises(ModelError, match=message):
        c.successors((2,))


def test_predicates_evaluate_properties() -> None:
    ts = Counter({"limit": 5}).build()
    c = compile_system(ts)
    below = c.predicate(ts.property("below-three").expr)  # type: ignore[attr-defined]
    assert below((2,)) and not below((3,))
    step = c.step_predicate(ts.property("never-resets").expr)  # type: ignore[attr-defined]
    assert step((1,), (2,)) and not step((2,), (0,))


def test_interval_bounds_of_arithmetic() -> None:
    x = Var("x", IntRange(0, 3))
    assert bounds(Arith("+", x, Const(1))) == (1, 4)
    assert bounds(Arith("-", Const(0), x)) == (-3, 0)
    assert bounds(Arith("*", x, Const(-2))) == (-6, 0)
