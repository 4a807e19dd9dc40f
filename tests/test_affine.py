"""Affine relations guessed from samples (checker/symbolic/affine.py) and their use by PDR."""

from __future__ import annotations

from mhpcheck.checker.checker import check
from mhpcheck.checker.explicit.bfs import explore
from mhpcheck.checker.result import Budget, Verdict
from mhpcheck.checker.symbolic import affine
from mhpcheck.checker.symbolic.certificate import Printer, lemmas, slot_var
from mhpcheck.model.compile import compile_system
from mhpcheck.model.expr import Cmp, Const, Expr, Var
from mhpcheck.model.system import TransitionSystem
from mhpcheck.registry import build_system

ALL_FEATURES = {"stray": "before-reuse", "signals": True, "allocator": True, "walker": True,
                "forced_unload": True, "vmem_remove": True, "vmem_unplug": True,
                "vmem_plug": True, "notifier_veto": True}


def hotplug(population: str) -> TransitionSystem:
    n = len(population.split("|"))
    return build_system("hotplug", {"blocks": 1, "pageblocks": n, "pages": 1,
                                    "spare": 2 if "B" in population else 1},
                        {**ALL_FEATURES, "population": population}, preset="skippable-v2")


def test_every_guessed_relation_as_a_lemma_holds_on_the_states_it_came_from() -> None:
    ts = hotplug("V|L|B")
    states = sorted(explore(ts).states)
    found = affine.relations(ts, states)
    assert found
    compiled = compile_system(ts)
    for rel in found:
        pred = compiled.predicate(affine.as_expr(ts, rel))
        assert all(pred(s) for s in states), rel


def test_the_balloon_pages_and_the_pages_migrated_elsewhere_add_up() -> None:
    """Balloon migration moves a balloon page out and counts it in balloon_elsewhere:
    with one B page the two always add up to one (no guard needed)."""
    ts = hotplug("V|L|B")
    found = affine.relations(ts, sorted(explore(ts).states))
    texts = [Printer(ts).show(affine.as_expr(ts, r)) for r in found]
    assert any(t.startswith("balloon_elsewhere + ") and t.endswith("= 1") and "⇒" not in t
               for t in texts), texts


def test_a_relation_the_samples_contradict_is_not_guessed() -> None:
    """Two samples that differ only in the counter admit no relation defining it."""
    ts = hotplug("V|L")
    states = sorted(explore(ts).states)
    slot = ts.var("managed").offset
    base = next(s for s in states if s[slot] == 1)
    other = (*base[:slot], 0, *base[slot + 1:])
    found = affine.relations(ts, [*states, other])
    compiled = compile_system(ts)
    for rel in found:
        pred = compiled.predicate(affine.as_expr(ts, rel))
        assert pred(base) and pred(other)


def test_pdr_proof_on_three_pageblocks_uses_affine_relations_and_is_rechecked() -> None:
    ts = hotplug("V|L|B")
    states = explore(ts).states
    r = check(ts, ts.property("S1"), "pdr", Budget(timeout=120))
    assert r.verdict is Verdict.PROVED, r.message
    assert "affine" in r.message
    inv = r.extra["invariant"]
    assert isinstance(inv, Expr)
    printed = [Printer(ts).show(x) for x in lemmas(inv)]
    assert any("managed[memory0]" in t and "=" in t for t in printed)
    pred = compile_system(ts).predicate(inv)
    assert all(pred(s) for s in states)


def test_counts_print_as_sums_of_iverson_brackets() -> None:
    from mhpcheck.model.expr import Arith, Cmp, Const, Ite

    ts = hotplug("V|L")
    owner = [slot_var(ts, ts.var("owner").offset + p) for p in range(2)]
    vmem = Const(ts.var("owner").domain.encode("vmem"), ts.var("owner").domain)
    terms = [Ite(Cmp("==", o, vmem), Const(1), Const(0)) for o in owner]
    total = Arith("+", Arith("+", terms[0], terms[1]), Const(1))
    assert Printer(ts).show(total) == "[owner[pfn0] = vmem] + [owner[pfn1] = vmem] + 1"
    assert Printer(ts).show(Arith("-", Const(3), Arith("-", terms[0], terms[1]))) == (
        "3 - ([owner[pfn0] = vmem] - [owner[pfn1] = vmem])")


def test_a_blocks_managed_count_is_related_to_its_own_pageblocks_only() -> None:
    """With two blocks, managed[memory0] counts block 0's plugged pageblocks: its
    neighbourhood (what the actions that write it touch) holds block 0's pageblocks, not
    block 1's, and the online-block relation is guessed from those counts."""
    ts = build_system("hotplug", {"blocks": 2, "pageblocks": 1, "pages": 1, "spare": 1},
                      {**ALL_FEATURES, "population": "V/L"}, preset="skippable-v2")
    names = ts.slot_names()
    near = {names[s] for s in affine.neighbourhood(ts, ts.var("managed").offset)}
    assert {"plugged[pb0]", "owner[pfn0]"} <= near
    assert not {"plugged[pb1]", "owner[pfn1]"} & near
    states = sorted(explore(ts).states)
    texts = [Printer(ts).show(affine.as_expr(ts, r)) for r in affine.relations(ts, states)]
    assert "block_state[memory0] = online ⇒ managed[memory0] = [plugged[pb0]]" in texts, texts


def test_pdr_drops_a_false_guess_found_by_bounded_bfs_and_keeps_the_true_ones() -> None:
    from mhpcheck.checker.symbolic import pdr
    from mhpcheck.checker.symbolic.common import Clock

    ts = build_system("philosophers", {"n": 3})
    pc = ts.var("pc")
    mutex = ts.property("mutex").expr
    never_eats = Cmp("!=", Var("pc", pc.domain, Const(0), pc.width), Const(2))  # two steps
    assert pdr._refuted(ts, [mutex, never_eats], 2, Clock(30)) == {never_eats}
    assert pdr._refuted(ts, [mutex], 2, Clock(30)) == set()
    assert pdr._refuted(ts, [never_eats], 0, Clock(30)) == set()  # too shallow
    # no depth: as deep as the clock allows (the whole state space here)
    assert pdr._refuted(ts, [mutex, never_eats], None, Clock(30)) == {never_eats}
