"""The bfs-vec engine agrees with bfs: counts, verdicts, shortest traces, errors, bounds."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from test_fast_models import Shifted, Starts
from toys import Arrays, Counter, Toggle

from mhpcheck.checker.checker import ENGINES, check
from mhpcheck.checker.explicit import vector
from mhpcheck.checker.explicit.bfs import explore, result_of
from mhpcheck.checker.explicit.vector import (
    ENGINE,
    check_safety_vec,
    explore_vec,
    result_of_vec,
)
from mhpcheck.checker.explicit.vector_compile import compile_batch, layout_of
from mhpcheck.checker.replay import replay
from mhpcheck.checker.result import UNBOUNDED, Budget, Verdict
from mhpcheck.cli.main import main
from mhpcheck.cli.runner import run_checks
from mhpcheck.cli.spec import load_spec, resolve
from mhpcheck.model.base import Model
from mhpcheck.model.domains import Bool, IntRange
from mhpcheck.model.errors import ModelError, Unsupported
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
from mhpcheck.registry import build_system

DOM = IntRange(0, 3)


def _safety(ts: TransitionSystem) -> list[Property]:
    return [p for p in ts.properties if not isinstance(p, LeadsTo)] + [DEADLOCK_FREE]


#: Word sizes the agreement tests pack states into: 64 (one word where states fit) and
#: 5 bits a word, which spreads every state over several words and splits families.
WORDS = [64, 5]


def _agree(ts: TransitionSystem, budget: Budget = UNBOUNDED, word_bits: int = 64) -> None:
    """bfs and bfs-vec give the same counts, verdicts and trace lengths; traces replay;
    either both raise a ModelError or neither does."""
    props = _safety(ts)
    batch = compile_batch(ts, layout_of(ts, word_bits))
    try:
        ref = explore(ts, props, budget)
    except ModelError:
        with pytest.raises(ModelError):
            explore_vec(ts, props, budget, batch=batch)
        return
    vec = explore_vec(ts, props, budget, batch=batch)
    assert vec.distinct_states == len(ref.states)
    assert vec.transitions == ref.transitions
    assert vec.depth == ref.depth
    assert vec.coverage() == ref.coverage()
    assert vec.bound == ref.bound
    for p in props:
        want, got = result_of(ref, p), result_of_vec(vec, p)
        if got.trace is not None:
            replay(ts, got.trace)
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


@pytest.mark.parametrize("word_bits", WORDS)
@pytest.mark.parametrize(("cls", "params", "knobs"), TOYS)
def test_agrees_with_bfs_on_toys(cls: type[Model], params: dict[str, int],
                                 knobs: dict[str, bool], word_bits: int) -> None:
    _agree(cls(params, knobs).build(), word_bits=word_bits)


@pytest.mark.parametrize("word_bits", WORDS)
@pytest.mark.parametrize("name", ["philosophers", "peterson"])
@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("broken", [False, True])
def test_agrees_with_bfs_on_textbook_models(name: str, n: int, broken: bool,
                                            word_bits: int) -> None:
    _agree(build_system(name, {"n": n}, {"broken": broken}), word_bits=word_bits)


def test_counts_equal_spins_for_pinned_instances() -> None:
    counts = json.loads((ROOT / "tests/data/spin_counts.json").read_text())
    pinned = {("philosophers", 8): 1154, ("philosophers", 11): 16238, ("peterson", 4): 4752,
              ("peterson", 5): 88560}
    for (name, n), states in pinned.items():
        exp = explore_vec(build_system(name, {"n": n}), [DEADLOCK_FREE])
        assert exp.distinct_states == states
        assert counts[name][str(n)] == states


def test_deadlock_trace_is_shortest_and_replays() -> None:
    ts = build_system("philosophers", {"n": 6})
    r = check(ts, DEADLOCK_FREE, "bfs-vec")
    assert r.verdict is Verdict.VIOLATED
    assert r.trace is not None and len(r.trace) == 6
    assert r.trace.kind == "lasso"
    assert {s.action for s in r.trace.steps[1:]} == {"take_left"}


def test_registered_engine_checks_every_safety_kind_and_refuses_liveness() -> None:
    assert "bfs-vec" in ENGINES
    ts = Counter({"limit": 4}).build()
    verdicts = {p.name: check(ts, p, "bfs-vec").verdict for p in ts.properties}
    assert verdicts["below-three"] is Verdict.VIOLATED
    assert verdicts["never-resets"] is Verdict.VIOLATED
    assert verdicts["moves-by-one-or-resets"] is Verdict.HOLDS
    assert verdicts["at-limit"] is Verdict.REACHABLE
    assert verdicts["beyond"] is Verdict.UNREACHABLE
    toggle = Toggle().build()
    with pytest.raises(Unsupported, match="engine bfs-vec does not check"):
        check(toggle, toggle.property("finishes"), "bfs-vec")


@pytest.mark.parametrize("word_bits", WORDS)
def test_model_errors_are_the_explicit_semantics_errors(word_bits: int) -> None:
    ts = Arrays({"n": 3}).build()
    with pytest.raises(ModelError) as ref:
        explore(ts)
    with pytest.raises(ModelError) as vec:
        explore_vec(ts, batch=compile_batch(ts, layout_of(ts, word_bits)))
    assert str(vec.value) == str(ref.value)


def _bad_read_system(guard: Expr, x0: int) -> TransitionSystem:
    """x (0..3) and a[0..2]; one action guarded by ``guard``; a[x] may read outside a."""
    cells = IndexSet("cell", 3)
    variables = (VarDecl("x", DOM, None, 0), VarDecl("a", DOM, cells, 1))
    act = ActionInstance("act", (), guard, (Assign("a", DOM, Const(1, "int"), Const(0, "int"),
                                                   3),))
    return TransitionSystem("bad-read", (), (), variables, ((x0, 0, 0, 0),), (act,),
                            (ActionInfo("act", (), False, "", ""),), ())


_AX = Var("a", DOM, Var("x", DOM), 3)  # a[x]: x = 3 is outside a


@pytest.mark.parametrize("word_bits", WORDS)
@pytest.mark.parametrize(("guard", "x0", "raises"), [
    # The bad read comes first: the explicit semantics evaluate it whatever x is.
    (And((Cmp("==", _AX, Const(1, "int")), Cmp("==", Var("x", DOM), Const(0, "int")))), 3,
     True),
    # The slot test comes first and is false: the bad read is never evaluated.
    (And((Cmp("==", Var("x", DOM), Const(0, "int")), Cmp("==", _AX, Const(1, "int")))), 3,
     False),
    # A constant-false conjunct after the bad read: still evaluated, still an error.
    (And((Cmp("==", _AX, Const(1, "int")), Cmp("==", Const(0, "int"), Const(1, "int")))), 3,
     True),
    (Or((Cmp("==", _AX, Const(1, "int")), Cmp("==", Const(0, "int"), Const(0, "int")))), 3,
     True),
    (Or((Cmp("==", Const(0, "int"), Const(0, "int")), Cmp("==", _AX, Const(1, "int")))), 3,
     False),
    (And((Cmp("==", _AX, Const(1, "int")), Cmp("==", Var("x", DOM), Const(0, "int")))), 2,
     False),
])
def test_reordered_guards_raise_exactly_where_bfs_does(guard: Expr, x0: int, raises: bool,
                                                       word_bits: int) -> None:
    ts = _bad_read_system(guard, x0)
    batch = compile_batch(ts, layout_of(ts, word_bits))
    if raises:
        with pytest.raises(ModelError) as ref:
            explore(ts, [DEADLOCK_FREE])
        with pytest.raises(ModelError) as vec:
            explore_vec(ts, [DEADLOCK_FREE], batch=batch)
        assert str(vec.value) == str(ref.value)
    else:
        ref_exp = explore(ts, [DEADLOCK_FREE])
        vec_exp = explore_vec(ts, [DEADLOCK_FREE], batch=batch)
        assert vec_exp.distinct_states == len(ref_exp.states)
        assert vec_exp.transitions == ref_exp.transitions


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


def test_wide_states_take_several_words() -> None:
    ts = build_system("philosophers", {"n": 30})  # 90 bits
    layout = layout_of(ts)
    assert layout.n_words == 2 and layout.total_bits == 90
    [r] = check_safety_vec(ts, [DEADLOCK_FREE], Budget(max_depth=3))
    assert r.engine == ENGINE and not r.message
    assert r.verdict is Verdict.BOUNDED
    _agree(ts, Budget(max_depth=4))


@pytest.mark.parametrize("word_bits", WORDS)
def test_successors_reduced_mid_level_change_nothing(word_bits: int,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """With a level's successors reduced to its new states every few hundred (instead
    of every 16 million), counts, verdicts and traces stay those of bfs."""
    monkeypatch.setattr(vector, "COMPACT", 300)
    monkeypatch.setattr(vector, "CHUNK", 64)
    _agree(build_system("philosophers", {"n": 7}), word_bits=word_bits)
    _agree(build_system("peterson", {"n": 3}, {"broken": True}), word_bits=word_bits)


def test_hotplug_wider_than_64_bits_agrees_with_bfs() -> None:
    """Two pages per pageblock with every actor on (stray before reuse): two words, 681,665
    states."""
    knobs: dict[str, object] = {
        "population": "VV|LB", "stray": "before-reuse", "signals": True, "allocator": True,
        "walker": True, "forced_unload": True, "vmem_remove": True, "vmem_unplug": True,
        "vmem_plug": True, "notifier_veto": True}
    ts = build_system("hotplug", {"blocks": 1, "pageblocks": 2, "pages": 2, "spare": 2},
                      knobs, "legacy")  # type: ignore[arg-type]
    assert layout_of(ts).n_words == 2
    _agree(ts)


@pytest.mark.parametrize("spec_file", sorted(
    str(p.relative_to(ROOT / "specs" / "hotplug"))
    for d in ("9-cover-letter", "10-all-features")
    for p in (ROOT / "specs" / "hotplug" / d).glob("*.toml")))
def test_hotplug_specs_hold_under_bfs_vec(spec_file: str) -> None:
    """The pinned counts and trace lengths of the widest hotplug specs (72 bits: two
    words; 63 bits: one) come out the same with every safety check on bfs-vec."""
    spec = load_spec(ROOT / "specs" / "hotplug" / spec_file)
    spec = replace(spec, checks=tuple(
        replace(c, engine="bfs-vec") if c.engine == "bfs" else c for c in spec.checks))
    outcomes = run_checks(spec, resolve(spec))
    assert [o.problems for o in outcomes if not o.ok] == []
    assert any(o.result.engine == "bfs-vec" for o in outcomes)


def test_stores_ten_bytes_per_state() -> None:
    exp = explore_vec(build_system("philosophers", {"n": 10}))
    assert exp.bytes_per_state == 10.0
    ts = build_system("philosophers", {"n": 10})  # in two words: a key and two words
    wide = explore_vec(ts, batch=compile_batch(ts, layout_of(ts, 16)))
    assert wide.bytes_per_state == 26.0 and wide.distinct_states == exp.distinct_states


@pytest.mark.parametrize("word_bits", [64, 8, 5, 1])
def test_layout_round_trips(word_bits: int) -> None:
    ts = Shifted({"n": 3}).build()
    layout = layout_of(ts, word_bits)
    states = explore(ts).states
    for s in states:
        assert layout.unpack(layout.pack(s)) == s
    packed = layout.pack_many(states)
    assert packed.shape == ((len(states),) if layout.n_words == 1
                            else (layout.n_words, len(states)))
    assert layout.ints(packed) == [layout.pack(s) for s in states]
    assert [layout.at(packed, i) for i in range(len(states))] == layout.ints(packed)
    for slot in range(len(layout.bits)):  # no slot straddles a word; none overlap
        assert layout.shifts[slot] + layout.bits[slot] <= max(64, *layout.bits)
    spans = {(layout.words[i], layout.shifts[i] + b) for i in range(len(layout.bits))
             for b in range(layout.bits[i])}
    assert len(spans) == layout.total_bits
    batch = compile_batch(ts, layout)
    assert "def post_" in batch.source


def test_a_family_wider_than_a_word_is_split_into_runs() -> None:
    ts = build_system("philosophers", {"n": 4})
    pc = ts.variables[0]
    assert (pc.name, pc.width) == ("pc", 4)
    assert len(layout_of(ts).groups(pc.offset, 4)) == 1
    groups = layout_of(ts, 5).groups(pc.offset, 4)  # two 2-bit elements a word
    assert [(g.first, g.count) for g in groups] == [(0, 2), (2, 2)]
    assert groups[0].word != groups[1].word


# -- random systems: the batch compiler against the explicit compiler ---------------------

_Y2 = Arith("min", Var("y", DOM), Const(2, "int"))  # an index into a[0..2]


def _exprs(depth: int, bad: bool = False) -> st.SearchStrategy[Expr]:
    """Integer expressions over x, y (0..3) and a[0..2] (0..3), a read at index min(y, 2)
    (and with ``bad`` also at index y, which reads outside a when y = 3)."""
    leaves = st.one_of(
        st.integers(-1, 4).map(lambda v: Const(v, "int")),
        st.sampled_from(["x", "y"]).map(lambda n: Var(n, DOM)),
        st.integers(0, 2).map(lambda i: Var("a", DOM, Const(i, "int"), 3)),
        st.just(Var("a", DOM, _Y2, 3)),
        *([st.just(Var("a", DOM, Var("y", DOM), 3))] if bad else []),
    )
    if depth == 0:
        return leaves
    sub = _exprs(depth - 1, bad)
    # floor division and modulo by a non-zero constant, and with ``bad`` by anything
    # (a zero divisor is a model error, like a read outside a family)
    divisor = sub if bad else st.sampled_from([-3, -2, -1, 1, 2, 3]).map(
        lambda v: Const(v, "int"))
    return st.one_of(
        leaves,
        st.builds(Arith, st.sampled_from(["+", "-", "*", "min", "max"]), sub, sub),
        st.builds(Arith, st.sampled_from(["//", "%"]), sub, divisor),
        st.builds(Ite, _conds(depth - 1, bad), sub, sub),
    )


def _conds(depth: int, bad: bool = False) -> st.SearchStrategy[Expr]:
    sub = _exprs(depth, bad)
    atoms = st.one_of(
        st.builds(Cmp, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), sub, sub),
        st.builds(lambda i: Var("b", Bool, Const(i, "int"), 2), st.integers(0, 1)),
    )
    if depth == 0:
        return atoms
    inner = _conds(depth - 1, bad)
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
       st.tuples(*[st.integers(0, 3)] * 5, *[st.integers(0, 1)] * 2),
       st.sampled_from(WORDS))
def test_random_systems_agree(actions: list[tuple[Expr, tuple[Assign, ...]]], inv: Expr,
                              init: tuple[int, ...], word_bits: int) -> None:
    _agree(_system(actions, inv, init), word_bits=word_bits)


_SLOT_TESTS = st.builds(lambda n, c: Cmp("==", Var(n, DOM), Const(c, "int")),
                        st.sampled_from(["x", "y"]), st.integers(0, 3))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(
           st.lists(st.one_of(_SLOT_TESTS, _conds(1, bad=True)), min_size=1, max_size=4)
           .map(lambda cs: And(tuple(cs))), _updates()), min_size=1, max_size=5),
       _conds(1, bad=True),
       st.tuples(*[st.integers(0, 3)] * 5, *[st.integers(0, 1)] * 2),
       st.sampled_from(WORDS))
def test_random_systems_with_bad_reads_agree(actions: list[tuple[Expr, tuple[Assign, ...]]],
                                             inv: Expr, init: tuple[int, ...],
                                             word_bits: int) -> None:
    """Guards mixing slot tests (which bfs-vec evaluates first) with reads that may fall
    outside a family: bfs-vec raises a ModelError exactly where bfs does."""
    _agree(_system(actions, inv, init), word_bits=word_bits)


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
