"""The bfs-jit engine agrees with bfs-vec (and so with bfs): counts, verdicts, coverage,
shortest traces, model errors and bounds; its compiled kernels come from the disk cache
on a second run.

Each system is compiled once (numba takes about a second per small model with a cold
cache, as in CI): the systems are few and small, and every safety property of a
system is checked in one call.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_agreement import DOMAINS, EXAMPLES, Gen
from test_fast_engine import _AX, DOM, _bad_read_system
from toys import Arrays, Counter, Toggle

from mhpcheck.checker.checker import Checker, check
from mhpcheck.checker.explicit.bfs import explore
from mhpcheck.checker.explicit.jit import build_kernel, explore_jit, result_of_jit, threads
from mhpcheck.checker.explicit.jit_kernels import MAX_TABLE, table_policy
from mhpcheck.checker.replay import replay
from mhpcheck.checker.result import Budget, CheckResult, Verdict
from mhpcheck.model.base import Declarations, Model, action, init, invariant
from mhpcheck.model.compile import compile_system
from mhpcheck.model.domains import IntRange
from mhpcheck.model.dsl import Effect, StateView, Term, then, when
from mhpcheck.model.errors import ModelError, Unsupported, UsageError
from mhpcheck.model.expr import And, Assign, Cmp, Const, Expr, Not, Or, Var
from mhpcheck.model.system import (
    DEADLOCK_FREE,
    ActionInfo,
    ActionInstance,
    IndexSet,
    Invariant,
    LeadsTo,
    Property,
    TransitionSystem,
    VarDecl,
)
from mhpcheck.registry import build_system


def _safety(ts: TransitionSystem) -> list[Property]:
    return [p for p in ts.properties if not isinstance(p, LeadsTo)] + [DEADLOCK_FREE]


def _same(ts: TransitionSystem, want: list[CheckResult], got: list[CheckResult]) -> None:
    for w, g in zip(want, got, strict=True):
        assert g.engine == "bfs-jit"
        assert (g.property, g.verdict, g.bound) == (w.property, w.verdict, w.bound)
        assert g.stats.distinct_states == w.stats.distinct_states, g.property
        assert g.stats.transitions == w.stats.transitions
        assert g.stats.depth == w.stats.depth
        assert g.coverage == w.coverage
        assert (g.trace is None) == (w.trace is None), g.property
        if g.trace is not None and w.trace is not None:
            replay(ts, g.trace)
            assert len(g.trace) == len(w.trace)
            assert (g.trace.kind, g.trace.loop) == (w.trace.kind, w.trace.loop)


SYSTEMS = {
    "philosophers-5": lambda: build_system("philosophers", {"n": 5}),
    "philosophers-4-broken": lambda: build_system("philosophers", {"n": 4}, {"broken": True}),
    "peterson-3": lambda: build_system("peterson", {"n": 3}),
    "peterson-3-broken": lambda: build_system("peterson", {"n": 3}, {"broken": True}),
    "counter": lambda: Counter({"limit": 4}).build(),
    "hotplug-legacy-2": lambda: build_system("hotplug", {"pageblocks": 2}, {}, "legacy"),
}


@pytest.mark.parametrize("name", sorted(SYSTEMS))
def test_agrees_with_bfs_vec_on_every_safety_property(name: str) -> None:
    ts = SYSTEMS[name]()
    checker = Checker(ts)
    props = _safety(ts)
    _same(ts, checker.check_many(props, "bfs-vec"), checker.check_many(props, "bfs-jit"))


def test_states_over_several_words_agree_with_bfs() -> None:
    """Five bits a word: every state of Peterson N=3 spreads over several words."""
    ts = build_system("peterson", {"n": 3}, {"broken": True})
    props = _safety(ts)
    kernel = build_kernel(ts, props, word_bits=5)
    assert kernel.layout.n_words > 2
    exp = explore_jit(ts, compile_system(ts), props, kernel=kernel)
    ref = explore(ts, props)
    assert exp.distinct_states == len(ref.states)
    assert exp.transitions == ref.transitions
    assert exp.depth == ref.depth
    assert exp.coverage() == ref.coverage()
    for p in props:
        got = result_of_jit(exp, p)
        if got.trace is not None:
            replay(ts, got.trace)


@pytest.mark.parametrize("word_bits", [64, 7])
def test_the_parallel_probe_stores_the_states_in_the_serial_insertions_order(
        word_bits: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two threads probe, one inserts: the states, in BFS order, are those of the
    one-thread kernel (which probes and inserts in one walk), row for row, on states of
    one word and of several, past several table growths (228,486 states)."""
    ts = build_system("philosophers", {"n": 14})
    runs = []
    for par, probing in ((False, "1"), (True, "2")):
        monkeypatch.setenv("MHPCHECK_JIT_THREADS", probing)
        kernel = build_kernel(ts, [DEADLOCK_FREE], word_bits, parallel=par)
        runs.append(explore_jit(ts, compile_system(ts), [DEADLOCK_FREE], kernel=kernel))
    serial, parallel = (r.store for r in runs)
    assert serial.count == parallel.count == 228_486
    assert np.array_equal(serial.states[:serial.count], parallel.states[:parallel.count])
    assert runs[0].starts == runs[1].starts and runs[0].fired == runs[1].fired


def test_one_word_states_take_at_most_16_bytes_each_and_wider_ones_a_sparser_table() -> None:
    """The visited set's bytes per state: the state's words plus the table's share, at
    most 8 bytes of table for one-word states (at least half full) and 16 for wider
    ones (at least a quarter full). Large enough for the batch's headroom (the table
    grows before a batch could overfill it) not to count."""
    ts = build_system("philosophers", {"n": 14})
    one = explore_jit(ts, compile_system(ts), [DEADLOCK_FREE])
    assert one.kernel.layout.n_words == 1 and one.distinct_states > 200_000
    assert 12 <= one.bytes_per_state <= 16
    kernel = build_kernel(ts, [DEADLOCK_FREE], word_bits=32)
    wide = explore_jit(ts, compile_system(ts), [DEADLOCK_FREE], kernel=kernel)
    words = kernel.layout.n_words * 8
    assert wide.distinct_states == one.distinct_states
    assert words + 8 <= wide.bytes_per_state <= words + 16


@pytest.mark.parametrize("words", [1, 2])
def test_the_last_growth_stops_at_the_largest_table_instead_of_refusing_it(words: int) -> None:
    """Growing from three quarters of the largest table would pass the 31-bit entries'
    limit: the table takes the largest size allowed, and only a table already there
    cannot grow."""
    policy = table_policy(words)
    assert policy.grown(1 << 20) > 1 << 20
    assert policy.grown(MAX_TABLE * 3 // 4) == MAX_TABLE
    assert policy.grown(MAX_TABLE) == MAX_TABLE


def test_a_property_not_asked_for_is_not_evaluated() -> None:
    """One kernel serves every safety property of a system, but a search evaluates only
    those it was asked for, as bfs does: here the other one would read outside ``a``."""
    ts = _bad_read_system(Cmp("==", Var("x", DOM), Const(0, "int")), 3)
    fine = Invariant("fine", "", (), Cmp("<=", Var("x", DOM), Const(3, "int")))
    reads = Invariant("reads-a", "", (), Cmp("==", _AX, Const(0, "int")))
    ts = dataclasses.replace(ts, properties=(fine, reads))
    assert check(ts, fine, "bfs").verdict is Verdict.HOLDS
    assert check(ts, fine, "bfs-jit").verdict is Verdict.HOLDS
    with pytest.raises(ModelError, match="outside"):
        check(ts, reads, "bfs-jit")


def test_deadlock_trace_is_shortest_and_replays() -> None:
    r = check(build_system("philosophers", {"n": 5}), DEADLOCK_FREE, "bfs-jit")
    assert r.verdict is Verdict.VIOLATED
    assert r.trace is not None and len(r.trace) == 5 and r.trace.kind == "lasso"
    assert {s.action for s in r.trace.steps[1:]} == {"take_left"}


def test_refuses_liveness() -> None:
    toggle = Toggle().build()
    with pytest.raises(Unsupported, match="engine bfs-jit does not check"):
        check(toggle, toggle.property("finishes"), "bfs-jit")


def test_model_errors_are_the_explicit_semantics_errors() -> None:
    ts = Arrays({"n": 3}).build()
    with pytest.raises(ModelError) as ref:
        explore(ts)
    with pytest.raises(ModelError) as jit:
        explore_jit(ts, compile_system(ts))
    assert str(jit.value) == str(ref.value)


@pytest.mark.parametrize(("first_bad", "raises"), [(True, True), (False, False)])
def test_guards_short_circuit_as_the_explicit_semantics(first_bad: bool, raises: bool) -> None:
    """a[x] with x = 3 outside a: read first it raises; behind a false slot test it
    is never evaluated, in bfs and in bfs-jit alike."""
    test = Cmp("==", Var("x", DOM), Const(0, "int"))
    read = Cmp("==", _AX, Const(1, "int"))
    ts = _bad_read_system(And((read, test) if first_bad else (test, read)), 3)
    if raises:
        with pytest.raises(ModelError) as ref:
            explore(ts, [DEADLOCK_FREE])
        with pytest.raises(ModelError) as jit:
            explore_jit(ts, compile_system(ts), [DEADLOCK_FREE])
        assert str(jit.value) == str(ref.value)
    else:
        exp = explore_jit(ts, compile_system(ts), [DEADLOCK_FREE])
        assert exp.distinct_states == len(explore(ts, [DEADLOCK_FREE]).states)


@pytest.mark.parametrize("budget", [Budget(max_depth=0), Budget(max_depth=3),
                                    Budget(max_states=100)])
def test_bounds_give_bfs_vecs_counts_and_never_holds(budget: Budget) -> None:
    checker = Checker(build_system("peterson", {"n": 3}))
    want = checker.check_many(["mutex"], "bfs-vec", budget)
    got = checker.check_many(["mutex"], "bfs-jit", budget)
    assert got[0].verdict is Verdict.BOUNDED
    _same(checker.ts, want, got)


def test_second_run_loads_the_compiled_kernel_from_disk(tmp_path: Path) -> None:
    """A fresh process checking the same system finds its machine code in the cache."""
    code = ("import json; from mhpcheck.checker.checker import check; "
            "from mhpcheck.registry import build_system; "
            "r = check(build_system('philosophers', {'n': 3}), 'deadlock-free', 'bfs-jit'); "
            "print(json.dumps([r.extra['jit_cache'], r.stats.distinct_states]))")
    env = {"MHPCHECK_JIT_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin"}
    runs = [json.loads(subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                      capture_output=True, text=True).stdout)
            for _ in range(2)]
    assert runs == [["miss", 14], ["hit", 14]]
    assert list(tmp_path.glob("mhpjit_*.py"))


def test_an_unwritable_cache_is_a_usage_error(tmp_path: Path) -> None:
    """A cache folder that cannot be made is named in a one-line error (exit 2)."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    env = {"MHPCHECK_JIT_CACHE": str(blocker / "jit"), "PATH": "/usr/bin:/bin"}
    got = subprocess.run([str(Path(sys.executable).parent / "check-model"), "check",
                          "philosophers", "--param", "n=3", "-p", "deadlock-free", "-e",
                          "bfs-jit"], env=env, capture_output=True, text=True)
    assert got.returncode == 2
    assert "MHPCHECK_JIT_CACHE" in got.stderr and "Traceback" not in got.stderr


@pytest.mark.parametrize("value", ["0", "two"])
def test_a_bad_thread_count_is_a_usage_error(value: str, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    monkeypatch.setenv("MHPCHECK_JIT_THREADS", value)
    with pytest.raises(UsageError, match="MHPCHECK_JIT_THREADS"):
        threads()



class _SameSlotTwice(Model):
    """x counts to 3; its guard and an invariant test x against two constants at once."""

    name = "same-slot-twice"

    def declare(self, d: Declarations) -> None:
        d.var("x", IntRange(0, 3))

    @init
    def start(self, s: StateView) -> Effect:
        return then()

    @action
    def inc(self, s: StateView) -> Effect:
        return when(~((s.x == 0) & (s.x == 1)), s.x < 3).then(s.x.becomes(s.x + 1))

    @invariant
    def never_both(self, s: StateView) -> Term:
        return ~((s.x == 1) & (s.x == 2))

    @invariant
    def below_three(self, s: StateView) -> Term:
        return s.x < 3


def test_two_tests_of_one_variable_against_different_constants_are_false() -> None:
    """``x == 0 and x == 1`` never holds: merged into one mask test it once became
    ``x == 1`` (the constants OR-ed), which disabled a guard (a wrong holds) and broke
    an invariant that holds."""
    ts = _SameSlotTwice().build()
    checker = Checker(ts)
    props = _safety(ts)
    got = checker.check_many(props, "bfs-jit")
    assert [(g.property, g.verdict) for g in got][:2] == [
        ("never-both", Verdict.HOLDS), ("below-three", Verdict.VIOLATED)]
    _same(ts, checker.check_many(props, "bfs-vec"), got)


class _TwoCounters(Model):
    """x and y count to 3 independently: all 16 valuations are reachable."""

    name = "two-counters"

    def declare(self, d: Declarations) -> None:
        d.var("x", IntRange(0, 3))
        d.var("y", IntRange(0, 3))

    @init
    def start(self, s: StateView) -> Effect:
        return then()

    @action
    def inc_x(self, s: StateView) -> Effect:
        return when(s.x < 3).then(s.x.becomes(s.x + 1))

    @action
    def inc_y(self, s: StateView) -> Effect:
        return when(s.y < 3).then(s.y.becomes(s.y + 1))


def test_conjunctions_and_disjunctions_of_slot_tests_evaluate_as_bfs() -> None:
    """Every pair of ``slot == c`` / ``slot != c`` tests over x and y, joined by and/or,
    negated or not, as invariants of one compiled kernel: bfs-jit's verdicts are bfs's."""
    ts = _TwoCounters().build()
    x, y = (Var(v.name, v.domain) for v in ts.variables)
    atoms = [Cmp(op, v, Const(c, v.domain)) for v in (x, y) for op in ("==", "!=")
             for c in (0, 1, 3)]
    exprs = [j((a, b)) for a, b in itertools.combinations(atoms, 2) for j in (And, Or)]
    props: list[Property] = [Invariant(f"e{k}", "", (), e if k % 2 else Not(e))
                             for k, e in enumerate(exprs)]
    checker = Checker(ts)
    want = checker.check_many(props, "bfs")
    got = checker.check_many(props, "bfs-jit")
    assert [(g.verdict, g.stats.distinct_states) for g in got] == \
        [(w.verdict, w.stats.distinct_states) for w in want]
    assert {w.verdict for w in want} == {Verdict.HOLDS, Verdict.VIOLATED}


# -- every compiled guard against the explicit semantics, on every state ---------------------

GUARDS = 16  # action instances per drawn system: one compile checks all of their guards


def _slot_tests(draw: Any, gen: Gen, decls: list[VarDecl], depth: int) -> Expr:
    """A guard made mostly of ``slot == constant`` tests (what the compiled code merges into
    mask tests), several of them on the same slot, under And, Or and Not."""
    choice = draw(st.integers(0, 5 if depth > 0 else 1))
    if choice <= 1:
        decl = draw(st.sampled_from(decls))
        target = gen.read(decl)
        value = Const(draw(st.integers(decl.domain.lo, decl.domain.hi)), target.sort)
        return Cmp(draw(st.sampled_from(["==", "==", "!="])), target, value)
    if choice == 2:
        return Not(_slot_tests(draw, gen, decls, depth - 1))
    if choice == 3:
        return gen.boolean(1)
    parts = tuple(_slot_tests(draw, gen, decls, depth - 1) for _ in range(draw(st.integers(2, 4))))
    return And(parts) if choice == 4 else Or(parts)


@st.composite
def guard_systems(draw: Any) -> TransitionSystem:
    """Every valuation of a few small variables is initial; action k, when its guard
    holds, sets ``fired`` to k + 1. The states reached and the transitions per action
    are then exactly the guards' truth tables."""
    decls: list[VarDecl] = []
    offset = 0
    for i in range(draw(st.integers(1, 3))):
        decls.append(VarDecl(f"v{i}", draw(st.sampled_from(DOMAINS)), None, offset))
        offset += 1
    if draw(st.booleans()):
        size = draw(st.integers(2, 3))
        decls.append(VarDecl("f", draw(st.sampled_from(DOMAINS)), IndexSet("i", size), offset))
        offset += size
    gen = Gen(draw, decls)
    fired = VarDecl("fired", IntRange(0, GUARDS), None, offset)
    ranges = [range(d.domain.lo, d.domain.hi + 1) for d in decls for _ in range(d.width)]
    init = tuple((*values, 0) for values in itertools.product(*ranges))
    probe = TransitionSystem("probe", (), (), (*decls, fired), init[:1], (), (), ())
    check_guard = compile_system(probe)
    actions, infos = [], []
    for k in range(GUARDS):
        guard = And(tuple(_slot_tests(draw, gen, decls, 2)
                          for _ in range(draw(st.integers(1, 4)))))
        try:  # a guard that raises somewhere (an index out of range, a zero divisor)
            pred = check_guard.predicate(guard)  # tests errors, not guards: leave it out
            for s in init:
                pred(s)
        except ModelError:
            continue
        ready = And((Cmp("==", Var("fired", fired.domain), Const(0)), guard))
        actions.append(ActionInstance(f"a{k}", (), ready,
                                      (Assign("fired", fired.domain, Const(k + 1)),)))
        infos.append(ActionInfo(f"a{k}", (), False, "", ""))
    return TransitionSystem("guards", (), (), (*decls, fired), init, tuple(actions),
                            tuple(infos), ())


@settings(max_examples=max(3, EXAMPLES // 60))
@given(guard_systems())
def test_compiled_guards_fire_exactly_where_the_explicit_semantics_fire_them(
        ts: TransitionSystem) -> None:
    ref = explore(ts)
    exp = explore_jit(ts, compile_system(ts))
    assert exp.coverage() == ref.coverage()  # each guard's true states, counted
    unpack = exp.kernel.layout.unpack
    assert {unpack(exp.word(i)) for i in range(exp.distinct_states)} == set(ref.states)
    assert exp.transitions == ref.transitions
