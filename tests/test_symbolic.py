"""The symbolic engines on the textbook models and on small hand-made systems."""

from __future__ import annotations

import pytest

from mhpcheck.checker.checker import Checker, check
from mhpcheck.checker.explicit.bfs import explore
from mhpcheck.checker.result import Budget, CheckResult, Verdict, no_progress
from mhpcheck.checker.symbolic import pdr
from mhpcheck.checker.symbolic.certificate import Printer
from mhpcheck.model.compile import compile_system
from mhpcheck.model.domains import Bool, IntRange
from mhpcheck.model.errors import ModelError, Unsupported
from mhpcheck.model.expr import TRUE, And, Arith, Assign, Cmp, Const, Expr, Implies, Not, Var
from mhpcheck.model.system import (
    ActionInfo,
    ActionInstance,
    Invariant,
    Reachable,
    StepInvariant,
    TransitionSystem,
    VarDecl,
)
from mhpcheck.registry import build_system

A = Var("a", Bool)
B = Var("b", Bool)
X = Var("x", IntRange(0, 2))


def toy(inc_guard: Expr = TRUE, clamp: bool = True) -> TransitionSystem:
    """a, b: Bool; x: 0..2. set_a; set_b when a; inc x (clamped, or not)."""
    value: Expr = Arith("+", X, Const(1))
    if clamp:
        value = Arith("min", value, Const(2))
    acts = (
        ActionInstance("set_a", (), TRUE, (Assign("a", Bool, Const(1, "bool")),), fair=True),
        ActionInstance("set_b", (), A, (Assign("b", Bool, Const(1, "bool")),), fair=True),
        ActionInstance("inc", (), inc_guard, (Assign("x", IntRange(0, 2), value),)),
    )
    infos = tuple(ActionInfo(a.action, (), a.fair, "", "") for a in acts)
    props = (
        Invariant("b-needs-a", "", ("I1",), Implies(B, A)),
        Invariant("x-small", "", (), Cmp("<=", X, Const(1))),
        Reachable("b-without-a", "", (), And((B, Not(A)))),
        Reachable("both", "", (), And((A, B))),
        StepInvariant("x-grows", "", (), Cmp(">=", Var("x", IntRange(0, 2), primed=True), X)),
    )
    return TransitionSystem("toy", (), (), (VarDecl("a", Bool, None, 0),
                                            VarDecl("b", Bool, None, 1),
                                            VarDecl("x", IntRange(0, 2), None, 2)),
                            ((0, 0, 0),), acts, infos, props)


@pytest.mark.parametrize("engine", ["bmc", "kind", "pdr"])
def test_engines_on_the_toy(engine: str) -> None:
    ts = toy()
    budget = Budget(max_depth=6, timeout=60)
    got = {p.name: check(ts, p, engine, budget) for p in ts.properties}
    assert got["x-small"].verdict is Verdict.VIOLATED
    assert got["x-small"].trace is not None and len(got["x-small"].trace) == 2
    assert got["both"].verdict is Verdict.REACHABLE
    assert got["both"].trace is not None and len(got["both"].trace) == 2
    if engine == "bmc":
        assert got["b-needs-a"].verdict is Verdict.BOUNDED
        assert got["b-without-a"].verdict is Verdict.UNKNOWN
        assert got["x-grows"].verdict is Verdict.BOUNDED
    else:
        assert got["b-needs-a"].verdict is Verdict.PROVED
        assert got["b-without-a"].verdict is Verdict.UNREACHABLE
        assert got["x-grows"].verdict is Verdict.PROVED


def test_model_errors_are_reported_not_wrapped() -> None:
    ts = toy(clamp=False)
    with pytest.raises(ModelError):
        check(ts, ts.property("b-needs-a"), "bfs")
    for engine in ("bmc", "kind", "pdr"):
        with pytest.raises(ModelError, match=r"sets x outside its domain.*after inc\(\), inc\(\)"):
            check(ts, ts.property("b-needs-a"), engine, Budget(max_depth=6, timeout=60))
    # a guard keeps x in range: no error, and b-needs-a is proved
    guarded = toy(Cmp("<", X, Const(2)), clamp=False)
    assert check(guarded, guarded.property("b-needs-a"), "pdr").verdict is Verdict.PROVED


def test_inductive_engine_proves_and_gives_ctis() -> None:
    ts = toy()
    proved = check(ts, ts.property("I1"), "inductive")
    assert proved.verdict is Verdict.PROVED
    assert proved.certificate is not None and "b ⇒ a" in proved.certificate
    # philosophers: "eating holds both forks" alone is not inductive
    phil = build_system("philosophers", {"n": 3})
    r = check(phil, phil.property("eating-holds-both-forks"), "inductive")
    assert r.verdict is Verdict.UNKNOWN and r.bound == "cti"
    assert r.trace is not None and r.trace.kind == "cti" and not r.trace.reachable
    assert len(r.trace.steps) == 2 and "not necessarily reachable" in r.trace.note
    # strengthening with the other invariant is named in the message
    r2 = check(phil, phil.property("mutex"), "inductive",
               invariants=("eating-holds-both-forks",))
    assert "neighbours-never-both-eat ∧ eating-holds-both-forks" in r2.message
    with pytest.raises(ModelError, match="not an invariant"):
        check(phil, phil.property("mutex"), "inductive", invariants=("someone-eats",))


def test_inductive_strength_cti_of_a_failing_step_names_the_action_and_its_error() -> None:
    ts = toy(clamp=False)  # inc takes x = 2 out of 0..2: b-needs-a alone allows x = 2
    r = check(ts, ts.property("b-needs-a"), "inductive")
    assert r.verdict is Verdict.UNKNOWN and r.bound == "cti"
    assert "not strong enough: a step fails (model toy, action inc(): sets x outside its " \
        "domain 0..2 (got 3)), from a state that satisfies it" in r.message
    assert "is bad for" not in r.message


@pytest.mark.parametrize(("name", "knobs"), [("philosophers", {}), ("philosophers",
                                                                    {"broken": True}),
                                              ("peterson", {}), ("peterson", {"broken": True})])
def test_textbook_safety_matches_bfs(name: str, knobs: dict[str, bool]) -> None:
    ts = build_system(name, {"n": 3}, knobs)
    states = explore(ts).states
    for prop in [*ts.properties, ts.property("deadlock-free")]:
        if prop.kind in ("leads-to", "eventually"):
            continue
        want = check(ts, prop, "bfs")
        for engine in ("pdr", "kind"):
            got = check(ts, prop, engine, Budget(max_depth=20, timeout=120))
            if want.verdict is Verdict.VIOLATED:
                assert got.verdict is Verdict.VIOLATED, (prop.name, engine)
                assert got.trace is not None and want.trace is not None
                assert len(got.trace) == len(want.trace)
            elif engine == "pdr":
                assert got.verdict is Verdict.PROVED, (prop.name, got.message)
                inv = got.extra["invariant"]
                assert isinstance(inv, Expr)
                pred = compile_system(ts).predicate(inv)
                assert all(pred(s) for s in states)
            else:
                assert got.verdict in (Verdict.PROVED, Verdict.UNKNOWN)


def test_certificate_reads_in_model_names() -> None:
    ts = build_system("philosophers", {"n": 3})
    r = check(ts, ts.property("mutex"), "pdr")
    assert r.verdict is Verdict.PROVED and r.certificate is not None
    assert r.certificate.startswith("# inductive invariant for neighbours-never-both-eat")
    assert "pc[" in r.certificate and "eating" in r.certificate
    assert "@" not in r.certificate  # no solver frame names leak
    printer = Printer(ts)
    pc0 = Var("pc", ts.var("pc").domain, Const(0), 3)
    fork1 = Var("fork", Bool, Const(1), 3)
    text = printer.show(Implies(Cmp("==", pc0, Const(2)), Cmp("==", fork1, Const(1, "bool"))))
    assert text == "pc[0] = eating ⇒ fork[1]"
    assert printer.show(Cmp("<=", pc0, Const(1))) == "pc[0] ≠ eating"


def test_recheck_asks_consecution_once_per_invariant_and_still_rejects_others() -> None:
    from mhpcheck.checker.symbolic.certificate import recheck
    from mhpcheck.checker.symbolic.common import Clock, make_goal
    from mhpcheck.checker.symbolic.encode import Encoding
    from mhpcheck.checker.symbolic.learned import Learned

    ts = build_system("philosophers", {"n": 3})
    learned = Learned()
    r = pdr.check(ts, ts.property("mutex"), Budget(timeout=60), no_progress,
                  learned=learned)
    inv = r.extra["invariant"]
    assert isinstance(inv, Expr)
    assert inv in learned.consecutive
    enc = Encoding(ts, learned)
    goal = make_goal(enc, ts.property("mutex"))
    assert recheck(enc, goal, inv, Clock(60)).ok
    # the property alone is not inductive: a cached sibling must not let it through
    weak = ts.property("mutex").expr
    checked = recheck(enc, goal, weak, Clock(60))
    assert not checked.ok and "preserved" in checked.detail
    assert weak not in learned.consecutive


def test_spacer_backend_agrees() -> None:
    ts = build_system("philosophers", {"n": 3})
    r = check(ts, ts.property("mutex"), "pdr-spacer", Budget(timeout=60))
    assert r.verdict is Verdict.PROVED and r.certificate and r.engine == "pdr-spacer"
    assert "spacer" in r.message


def test_liveness() -> None:
    ts = build_system("philosophers", {"n": 3})
    prop = ts.property("someone-eats")
    lasso = check(ts, prop, "bmc", Budget(max_depth=8))
    assert lasso.verdict is Verdict.VIOLATED
    assert lasso.trace is not None and lasso.trace.kind == "lasso"
    assert len(lasso.trace) == 3  # every philosopher takes its left fork: a deadlock
    for engine in ("kind", "pdr"):
        with pytest.raises(Unsupported, match=f"engine {engine} does not check eventually"):
            check(ts, prop, engine)
    fair = build_system("peterson", {"n": 2})
    r = check(fair, fair.property("waiting-process-enters"), "bmc", Budget(max_depth=6))
    assert r.verdict is Verdict.BOUNDED  # no fair lasso: a bound, never "holds"


def test_timeouts_give_bounded_or_unknown() -> None:
    ts = build_system("peterson", {"n": 3})
    prop = ts.property("mutex")
    for engine in ("bmc", "kind", "pdr"):
        r = check(ts, prop, engine, Budget(max_depth=50, timeout=0.05))
        assert r.verdict in (Verdict.BOUNDED, Verdict.UNKNOWN, Verdict.PROVED), engine
        assert r.verdict is not Verdict.HOLDS


def test_houdini_invariant_is_inductive_and_holds_on_reachable_states() -> None:
    from mhpcheck.checker.symbolic import houdini
    from mhpcheck.checker.symbolic.certificate import Inductiveness, conjoin, lemmas
    from mhpcheck.checker.symbolic.common import Clock, make_goal
    from mhpcheck.checker.symbolic.encode import Encoding
    from mhpcheck.checker.symbolic.ic3 import invariant_expr

    for ts in (build_system("philosophers", {"n": 4}),
               build_system("peterson", {"n": 2}, {"broken": True})):
        enc = Encoding(ts)
        found = houdini.invariant(enc, Clock(60))
        assert found.cubes, ts.name
        assert not set(found.cubes) & set(found.hints)
        inv = conjoin([*found.relations, *lemmas(invariant_expr(enc, found.cubes))])
        pred = compile_system(ts).predicate(inv)
        assert all(pred(s) for s in explore(ts).states)
        checker = Inductiveness(enc, make_goal(enc, ts.properties[0]))
        assert checker.consecution(inv, Clock(60)) == "unsat"


def test_houdini_keeps_ternary_facts_about_the_block_a_selector_names() -> None:
    """Two blocks: ``op_block`` selects the block the offline steps work on, so facts
    such as "block 0 is not online while its offlining scans" hold only together with
    ``op_block = 0``; Houdini's ternary candidates keep them, soundly."""
    from mhpcheck.checker.symbolic import houdini
    from mhpcheck.checker.symbolic.certificate import conjoin, lemmas
    from mhpcheck.checker.symbolic.common import Clock
    from mhpcheck.checker.symbolic.encode import Encoding
    from mhpcheck.checker.symbolic.ic3 import invariant_expr

    ts = build_system("hotplug", {"blocks": 2, "pageblocks": 1, "pages": 1, "spare": 1},
                      {"stray": "transient", "allocator": True, "vmem_unplug": True,
                       "population": "V/L"}, preset="skippable-v2")
    assert [ts.slot_names()[s] for s in houdini.selectors(ts)] == ["op_block"]
    assert houdini.selectors(build_system("philosophers", {"n": 4})) == []
    enc = Encoding(ts)
    found = houdini.invariant(enc, Clock(60))
    op_block = ts.var("op_block").offset
    ternary = [c for c in found.cubes if len(c) == 3 and any(s == op_block for s, _ in c)]
    assert ternary
    inv = conjoin([*found.relations, *lemmas(invariant_expr(enc, found.cubes))])
    pred = compile_system(ts).predicate(inv)
    assert all(pred(s) for s in explore(ts).states)


def test_pdr_proves_hotplug_s1_to_s6_sharing_lemmas() -> None:
    ts = build_system("hotplug", {"blocks": 1, "pageblocks": 1, "pages": 1, "spare": 1},
                      {"stray": "before-reuse", "signals": True, "allocator": True,
                       "walker": True, "forced_unload": True, "vmem_remove": True,
                       "vmem_unplug": True, "vmem_plug": True, "notifier_veto": True,
                       "population": "V"}, preset="skippable-v2")
    states = explore(ts).states
    names = ["S1", "S2", "S3", "S4", "S5", "S6"]
    results = Checker(ts).check_many(names, "pdr", Budget(timeout=60))
    for name, r in zip(names, results, strict=True):
        assert r.verdict is Verdict.PROVED, (name, r.message)
        inv = r.extra["invariant"]
        assert isinstance(inv, Expr)
        pred = compile_system(ts).predicate(inv)
        assert all(pred(s) for s in states)
    assert any("re-checked for" in r.message for r in results[1:])


def test_pdr_reuses_a_proved_invariant_only_where_it_rules_out_the_bad_states() -> None:
    ts = build_system("peterson", {})
    mutex = ts.property("mutual-exclusion")
    assert isinstance(mutex, Invariant)
    again = Invariant("mutex-again", "the same invariant, named anew", (), mutex.expr)
    broken = Invariant("mutex-broken", "its negation: false initially", (), Not(mutex.expr))
    first, shared, wrong = Checker(ts).check_many([mutex, again, broken], "pdr",
                                                  Budget(timeout=60))
    assert first.verdict is Verdict.PROVED
    assert shared.verdict is Verdict.PROVED
    assert "found for mutual-exclusion, re-checked for mutex-again" in shared.message
    assert shared.extra["invariant"] == first.extra["invariant"]
    assert wrong.verdict is Verdict.VIOLATED
    # a call of its own learns nothing from the one before
    alone = Checker(ts).check(again, "pdr", Budget(timeout=60))
    assert alone.verdict is Verdict.PROVED and "found for" not in alone.message


def test_pdr_certificate_does_not_depend_on_what_ran_before_it() -> None:
    def certificate() -> str | None:
        ts = build_system("hotplug", {"blocks": 1, "pageblocks": 2, "pages": 1, "spare": 1},
                          {"stray": "transient", "allocator": True, "vmem_unplug": True,
                           "population": "V|L"}, preset="skippable-v2")
        r = check(ts, ts.property("S1"), "pdr", Budget(timeout=60))
        assert r.verdict is Verdict.PROVED, r.message
        return r.certificate

    first = certificate()
    peterson = build_system("peterson", {})
    for engine in ("pdr", "bmc", "kind"):
        check(peterson, peterson.property("mutual-exclusion"), engine, Budget(timeout=60))
    assert certificate() == first


def test_pdr_gives_the_same_certificate_on_every_run() -> None:
    """Peterson n=4 is large enough that trimming its certificate stops at a budget
    (when that budget was seconds, six runs gave six certificates); the budget counts
    queries, so two runs in fresh systems agree line for line."""
    def certificate() -> str | None:
        ts = build_system("peterson", {"n": 4})
        r = check(ts, ts.property("mutual-exclusion"), "pdr", Budget())
        assert r.verdict is Verdict.PROVED, r.message
        return r.certificate

    first = certificate()
    assert first is not None and certificate() == first


def test_pdr_counterexample_follows_ic3s_obligations_to_a_real_violation() -> None:
    from mhpcheck.checker.replay import replay
    from mhpcheck.checker.symbolic.common import Clock, make_goal
    from mhpcheck.checker.symbolic.encode import Encoding
    from mhpcheck.checker.symbolic.ic3 import IC3

    ts = build_system("peterson", {"n": 3}, {"broken": True})
    enc = Encoding(ts)
    goal = make_goal(enc, ts.property("mutual-exclusion"))
    outcome = IC3(enc, goal, Clock(60), no_progress).run()
    assert outcome.status == "violated" and outcome.start in ts.init
    path = pdr._from_obligations(ts, goal, outcome)
    assert path is not None and len(path.steps) - 1 == len(outcome.actions)
    replay(ts, path)
    mutex = compile_system(ts).predicate(ts.property("mutual-exclusion").expr)
    assert not mutex(path.steps[-1].state)


def test_pdr_deadlock_trace_is_shortest_and_found_without_unrolling() -> None:
    ts = build_system("philosophers", {"n": 10})
    r = check(ts, ts.property("deadlock-free"), "pdr", Budget(timeout=60))
    assert r.verdict is Verdict.VIOLATED
    assert r.trace is not None and len(r.trace.steps) - 1 == 10
    assert "shortest trace by bfs-vec" in r.message


def test_results_do_not_depend_on_what_the_checker_ran_before() -> None:
    ts = build_system("hotplug", {"blocks": 1, "pageblocks": 1, "pages": 1, "spare": 1},
                      {"stray": "transient", "allocator": True, "vmem_unplug": True,
                       "population": "V"}, preset="skippable-v2")
    checker = Checker(ts)
    names = ["S1", "S2", "S3", "S4"]

    def shown(r: CheckResult) -> tuple[str, str, str | None]:
        return r.verdict.value, r.message, r.certificate

    alone = shown(checker.check("S4", "pdr", Budget(timeout=60)))
    many = [shown(r) for r in checker.check_many(names, "pdr", Budget(timeout=60))]
    assert shown(checker.check("S4", "pdr", Budget(timeout=60))) == alone
    assert [shown(r) for r in checker.check_many(names, "pdr", Budget(timeout=60))] == many
    # within one call S4 reuses an earlier proof, and says so; alone it has none to reuse
    s4 = ts.property("S4").name
    assert f"re-checked for {s4}" in many[3][1] and "found for" not in alone[1]
