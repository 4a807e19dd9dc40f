"""The bfs-vec engine agrees with bfs: counts, verdicts, shortest traces, errors, bounds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from test_fast_models import Shifted, Starts
from toys import Arrays, Counter, Toggle

from mhpcheck.checker.engines import ENGINES, check, verified
from mhpcheck.checker.explicit.bfs import explore, result_of
from mhpcheck.checker.explicit.vector import (
    ENGINE,
    check_safety_vec,
    explore_vec,
    result_of_vec,
)
from mhpcheck.checker.explicit.vector_compile import compile_batch, layout_of
from mhpcheck.checker.result import UNBOUNDED, Budget, Verdict
from mhpcheck.cli.main import main
from mhpcheck.model.base import Model
from mhpcheck.model.domains import Bool, IntRange
from mhpcheck.model.errors import ModelError
from mhpcheck.model.expr import (
    And,
    Arith,
    Assign,
    Cmp,
    Const,
    Expr,
    Implies,
    Ite,
    Not,
    Or,
    Var,
)
from mhpcheck.model.registry import build_system
from mhpcheck.model.system import (
    DEADLOCK_FREE,
    ActionInfo,
    ActionInstance,
    IndexSet,
    Invariant,
    LeadsTo,
    Property,
    Reachable,
    TransitionSystem,
    VarDecl,
)


def _safety(ts: TransitionSystem) -> list[Property]:
    return [p for p in ts.properties if not isinstance(p, LeadsTo)] + [DEADLOCK_FREE]


def _agree(ts: TransitionSystem, budget: Budget = UNBOUNDED) -> None:
    """bfs and bfs-vec give the same counts, verdicts and trace lengths; traces replay."""
    props = _safety(ts)
    ref = explore(ts, props, budget)
    vec = explore_vec(ts, props, budget)
    assert vec.distinct_states == len(ref.states)
    assert vec.transitions == ref.transitions
    assert vec.depth == ref.depth
    assert vec.coverage() == ref.coverage()
    assert vec.bound == ref.bound
    for p in props:
        want, got = result_of(ref, p), verified(ts, result_of_vec(vec, p))
        assert got.verdict is want.verdict, p.name
        assert got.engine == ENGINE
        assert (got.trace is None) == (want.trace is None), p.name
        if got.trace is not None and want.trace is not None:
            assert len(got.trace) == len(want.trace), p.name
            assert got.trace.kind == want.trace.kind
            assert got.trace.loop == want.trace.loop


TOYS: list[tuple[type[Model], dict[str, int], dict[str, bool]]] = [
    (Counter, {"limit": 6}, {}),
    (Counter, {"limit": 3}, {}),
    (Toggle, {}, {}),
    (Toggle, {}, {"always": True}),
    (Shifted, {"n": 2}, {}),
    (Shifted, {"n": 4}, {}),
    (Starts, {"n": 3}, {}),
]


@pytest.mark.parametrize(("cls", "params", "knobs"), TOYS)
def test_agrees_with_bfs_on_toys(cls: type[Model], params: dict[str, int],
                                 knobs: dict[str, bool]) -> None:
    _agree(cls(params, knobs).build())


@pytest.mark.parametrize("name", ["philosophers", "peterson"])
@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("broken", [False, True])
def test_agrees_with_bfs_on_textbook_models(name: str, n: int, broken: bool) -> None:
    _agree(build_system(name, {"n": n}, {"broken": broken}))


def test_counts_equal_spins_for_pinned_instances() -> None:
    counts = json.loads((ROOT.parent / "shared/peers/spin/counts.json").read_text()) \
        if (ROOT.parent / "shared/peers/spin/counts.json").exists() else None
    pinned = {("philosophers", 8): 1154, ("philosophers", 11): 16238, ("peterson", 4): 4752,
              ("peterson", 5): 88560}
    for (name, n), states in pinned.items():
        exp = explore_vec(build_system(name, {"n": n}), [DEADLOCK_FREE])
        assert exp.distinct_states == states
        if counts is not None:
            key = "philo" if name == "philosophers" else name
            table = counts.get(key) or counts.get(name) or {}
            if str(n) in table:
                assert table[str(n)] == states


def test_deadlock_trace_is_shortest_and_replays() -> None:
    ts = build_system("philosophers", {"n": 6})
    r = check(ts, DEADLOCK_FREE, "bfs-vec")
    assert r.verdict is Verdict.VIOLATED
    assert r.trace is not None and len(r.trace) == 6
    assert r.trace.kind == "lasso"
    assert {s.action for s in r.trace.steps[1:]} == {"take_left"}


def test_registered_engine_checks_every_safety_kind_and_delegates_liveness() -> None:
    assert "bfs-vec" in ENGINES
    ts = Counter({"limit": 4}).build()
    verdicts = {p.name: check(ts, p, "bfs-vec").verdict for p in ts.properties}
    assert verdicts["below-three"] is Verdict.VIOLATED
    assert verdicts["never-resets"] is Verdict.VIOLATED
    assert verdicts["moves-by-one-or-resets"] is Verdict.HOLDS
    assert verdicts["at-limit"] is Verdict.REACHABLE
    assert verdicts["beyond"] is Verdict.UNREACHABLE
    toggle = Toggle().build()
    live = check(toggle, toggle.property("finishes"), "bfs-vec")
    assert live.verdict is check(toggle, toggle.property("finishes"), "bfs").verdict


def test_model_errors_are_the_explicit_semantics_errors() -> None:
    ts = Arrays({"n": 3}).build()
    with pytest.raises(ModelError) as ref:
        explore(ts)
    with pytest.raises(ModelError) as vec:
        explore_vec(ts)
    assert str(vec.value) == str(ref.value)


@pytest.mark.parametrize("depth", [0, 1, 3, 5])
def test_depth_bound_matches_bfs(depth: int) -> None:
    ts = build_system("peterson", {"n": 3})
    _agree(ts, Budget(max_depth=depth))
    [r] = check_safety_vec(ts, [ts.property("mutex")], Budget(max_depth=depth))
    assert r.verdict is Verdict.BOUNDED and r.bound == "depth"


def test_states_bound_reports_holds_up_to_bound() -> None:
    ts = build_system("peterson", {"n": 4})
    [r] = check_safety_vec(ts, [ts.property("mutex")], Budget(max_states=100))
    assert r.verdict is Verdict.BOUNDED and r.bound == "states"
    assert r.stats.distinct_states >= 100


def test_wide_states_fall_back_to_bfs() -> None:
    ts = build_system("philosophers", {"n": 30})  # 90 bits
    assert layout_of(ts) is None
    [r] = check_safety_vec(ts, [DEADLOCK_FREE], Budget(max_depth=2))
    assert r.engine == ENGINE and "64 bits" in r.message
    assert r.verdict is Verdict.BOUNDED


def test_stores_ten_bytes_per_state() -> None:
    exp = explore_vec(build_system("philosophers", {"n": 10}))
    assert exp.bytes_per_state == 10.0


def test_layout_round_trips() -> None:
    ts = Shifted({"n": 3}).build()
    layout = layout_of(ts)
    assert layout is not None
    for s in explore(ts).states:
        assert layout.unpack(layout.pack(s)) == s
    batch = compile_batch(ts, layout)
    assert "def post_" in batch.source


# -- random systems: the batch compiler against the explicit compiler ---------------------

DOM = IntRange(0, 3)
_Y2 = Arith("min", Var("y", DOM), Const(2, "int"))  # an index into a[0..2]


def _exprs(depth: int) -> st.SearchStrategy[Expr]:
    """Integer expressions over x, y (0..3) and a[0..2] (0..3), a read at index y % 3."""
    leaves = st.one_of(
        st.integers(-1, 4).map(lambda v: Const(v, "int")),
        st.sampled_from(["x", "y"]).map(lambda n: Var(n, DOM)),
        st.integers(0, 2).map(lambda i: Var("a", DOM, Const(i, "int"), 3)),
        st.just(Var("a", DOM, _Y2, 3)),
    )
    if depth == 0:
        return leaves
    sub = _exprs(depth - 1)
    return st.one_of(
        leaves,
        st.builds(Arith, st.sampled_from(["+", "-", "*", "min", "max"]), sub, sub),
        st.builds(Ite, _conds(depth - 1), sub, sub),
    )


def _conds(depth: int) -> st.SearchStrategy[Expr]:
    sub = _exprs(depth)
    atoms = st.one_of(
        st.builds(Cmp, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), sub, sub),
        st.builds(lambda i: Var("b", Bool, Const(i, "int"), 2), st.integers(0, 1)),
    )
    if depth == 0:
        return atoms
    inner = _conds(depth - 1)
    return st.one_of(
        atoms,
        st.builds(Not, inner),
        st.lists(inner, min_size=0, max_size=3).map(lambda xs: And(tuple(xs))),
        st.lists(inner, min_size=0, max_size=3).map(lambda xs: Or(tuple(xs))),
        st.builds(Implies, inner, inner),
    )


def _clamp(e: Expr) -> Expr:
    return Arith("max", Const(0, "int"), Arith("min", Const(3, "int"), e))


def _cycle(v: Expr) -> Expr:
    return Ite(Cmp(">=", v, Const(3, "int")), Const(0, "int"), Arith("+", v, Const(1, "int")))


def _updates() -> st.SearchStrategy[tuple[Assign, ...]]:
    cycles = st.one_of(
        st.sampled_from(["x", "y"]).map(lambda n: Assign(n, DOM, _cycle(Var(n, DOM)))),
        st.integers(0, 2).map(lambda i: Assign("a", DOM, _cycle(Var("a", DOM, Const(i, "int"),
                                                                    3)), Const(i, "int"), 3)),
        st.just(Assign("a", DOM, _cycle(Var("a", DOM, _Y2, 3)), _Y2, 3)),
    )
    one = st.one_of(
        cycles, cycles,
        st.builds(lambda e: Assign("x", DOM, _clamp(e)), _exprs(1)),
        st.builds(lambda e: Assign("y", DOM, _clamp(e)), _exprs(1)),
        st.builds(lambda e, i: Assign("a", DOM, _clamp(e), Const(i, "int"), 3), _exprs(1),
                  st.integers(0, 2)),
        st.builds(lambda e: Assign("a", DOM, _clamp(e), Arith("min", Var("x", DOM),
                                                                Const(2, "int")), 3),
                  _exprs(1)),
        st.builds(lambda c, i: Assign("b", Bool, c, Const(i, "int"), 2), _conds(0),
                  st.integers(0, 1)),
    )
    return st.lists(one, min_size=1, max_size=3).map(
        lambda us: tuple({(u.name, repr(u.index)): u for u in us}.values()))


def _system(actions: list[tuple[Expr, tuple[Assign, ...]]], inv: Expr,
            init: tuple[int, ...]) -> TransitionSystem:
    cells, bits = IndexSet("cell", 3), IndexSet("bit", 2)
    variables = (VarDecl("x", DOM, None, 0), VarDecl("y", DOM, None, 1),
                 VarDecl("a", DOM, cells, 2), VarDecl("b", Bool, bits, 5))
    insts = tuple(ActionInstance("act", (("k", k),), g, us) for k, (g, us) in enumerate(actions))
    return TransitionSystem(
        "random", (), (), variables, (init,), insts,
        (ActionInfo("act", ("k",), False, "", ""),),
        (Invariant("inv", "", (), inv), Reachable("reach", "", (), inv)))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.just(And(())), _conds(1), _conds(2)), _updates()),
                min_size=1, max_size=6), _conds(1),
       st.tuples(*[st.integers(0, 3)] * 5, *[st.integers(0, 1)] * 2))
def test_random_systems_agree(actions: list[tuple[Expr, tuple[Assign, ...]]], inv: Expr,
                              init: tuple[int, ...]) -> None:
    _agree(_system(actions, inv, init))


def test_spec_runner_and_check_command_use_bfs_vec(tmp_path: Path) -> None:
    spec = tmp_path / "philo.toml"
    spec.write_text('model = "philosophers"\nparams = { n = 8 }\ndescription = "fast"\n\n'
                    '[[check]]\nproperty = "deadlock-free"\nengine = "bfs-vec"\n'
                    'expect = "violated"\nexpect_states = 1154\nexpect_trace_length = 8\n\n'
                    '[[check]]\nproperty = "mutex"\nengine = "bfs-vec"\nexpect = "holds"\n'
                    'expect_states = 1154\n')
    r = CliRunner().invoke(main, ["run", str(spec), "--json"])
    assert r.exit_code == 0, r.output
    results = json.loads(r.stdout)["results"]
    assert [x["engine"] for x in results] == ["bfs-vec", "bfs-vec"]
    assert all(x["ok"] for x in results)
    r = CliRunner().invoke(main, ["check", "peterson", "--param", "n=3", "--set", "broken=true",
                                  "-p", "mutex", "--engine", "bfs-vec", "--quiet"])
    assert r.exit_code == 1 and "violated" in r.output
