"""The hotplug model's parametric build and its proofs for every size."""

from __future__ import annotations

import re

import pytest

from mhpcheck.checker.checker import Checker
from mhpcheck.checker.result import Budget, Verdict
from mhpcheck.checker.symbolic.certificate import recheck_alone
from mhpcheck.model.compile import code_size
from mhpcheck.model.expr import And
from mhpcheck.model.hotplug.population import repeat_population
from mhpcheck.model.hotplug.state import PageClass, Subblock
from mhpcheck.model.parametric import Quantified
from mhpcheck.model.quantify import IndexVar, instantiate
from mhpcheck.properties.hotplug import Hotplug

#: The actors of specs/hotplug/14-every-size (no stray holder, no pfn walker).
KNOBS = {"population": "V|L|B", "signals": True, "allocator": True, "vmem_unplug": True,
         "vmem_plug": True}


def model(preset: str = "skippable-v2", unload: bool = False, **params: int) -> Hotplug:
    sizes = {"blocks": 1, "pageblocks": 3, "pages": 1, **params}
    knobs = dict(KNOBS, population=repeat_population(
        "V|L|B", sizes["blocks"], sizes["pageblocks"], sizes["pages"]), forced_unload=unload)
    return Hotplug(params={**sizes, "spare": 2}, knobs=knobs, preset=preset)


def test_a_population_is_redrawn_for_other_sizes_pageblock_by_pageblock() -> None:
    assert repeat_population("V|L|B", 2, 2, 2) == "VV|LL/BB|VV"
    assert repeat_population("V|fL", 1, 3, 3) == "VVV|fLf|VVV"
    assert repeat_population("V|L|B", 1, 3, 1) == "V|L|B"


def test_the_finite_build_tables_are_the_layout_the_parametric_build_leaves_open() -> None:
    ts = model(blocks=2, pageblocks=2, pages=2).build()
    fns = ts.quantified.instance.functions
    assert fns["pageblock_of"] == (0, 0, 1, 1, 2, 2, 3, 3)
    assert fns["block_of_pageblock"] == (0, 0, 1, 1)
    assert fns["offset_of"] == (0, 1, 2, 3, 0, 1, 2, 3)
    assert fns["subblock"] == (1, 0, 0, 1)  # VV|LL/BB|VV: unplugged, plugged, ...
    ps = ts.quantified.parametric()
    assert all(i.ordered for i in ps.indices)
    offline = next(a for a in ps.actions if a.name == "start_isolate_page_range")
    assert offline.params == (IndexVar("b", "block"),)
    assert {v.name for v in ps.variables if v.untracked} == {
        "managed", "spare", "balloon_elsewhere", "migration_target"}


def test_the_stray_holder_and_the_walker_hold_an_element_of_the_page_set() -> None:
    """Each holds at most one page: an element variable over pages in both builds (the
    finite one declares it always, the parametric one where the knob runs the actor),
    reset to the first pfn when it lets go."""
    on = {**KNOBS, "stray": "before-reuse", "walker": True}
    ps = Hotplug(knobs=on, params={"pageblocks": 3, "spare": 2}).build_parametric()
    elements = {v.name: v.element for v in ps.variables if v.element}
    assert elements == {"op_block": "block", "scan_pfn": "offset", "stray_page": "page",
                        "walker_page": "page"}
    assert {"stray_state", "stray_counted", "walker_active"} <= {v.name for v in ps.variables}
    off = Hotplug(knobs=KNOBS, params={"pageblocks": 3, "spare": 2}).build_parametric()
    assert not {"stray_page", "walker_page"} & {v.name for v in off.variables}
    ts = Hotplug(knobs=on, params={"pageblocks": 3, "spare": 2}).build()
    put = next(a for a in ts.actions if a.action == "folio_put_stray" and dict(a.args)["p"] == 2)
    assert "stray_page" in repr(put.guard)


def test_skippable_v2_keeps_unplugged_pages_from_the_allocator_for_every_size() -> None:
    r = Checker(model()).check("S3", "forall", Budget(timeout=300))
    assert r.verdict is Verdict.PROVED, r.message
    assert r.certificate is not None
    assert "hint unplugged-pages-stay-fake-offline" in r.certificate
    # the same invariant, instantiated at a larger size, passes the finite re-check
    big = model(blocks=2, pageblocks=4, pages=2).build()
    inv = instantiate(And(tuple(r.extra["quantified"])), big.quantified.instance)
    untracked = frozenset(r.extra["untracked"])
    assert recheck_alone(big, big.property("S3"), inv, unchecked=untracked).ok
    # and bfs agrees at the sizes it explores
    for sizes in ({"pageblocks": 1}, {"pageblocks": 2}, {"blocks": 2, "pageblocks": 1}):
        assert Checker(model(**sizes)).check("S3", "bfs").verdict is Verdict.HOLDS


def test_the_finite_build_of_do_migrate_range_stays_small_on_large_blocks() -> None:
    """32 pages in a block: do_migrate_range's guard and updates grow with the square of
    the pages (it was exponential: 22 million nodes at 16 pages)."""
    size = code_size(model(blocks=1, pageblocks=8, pages=4).build())
    assert size.largest.startswith("do_migrate_range") and size.largest_nodes < 400_000


def test_the_unload_hints_are_offered_only_where_the_driver_can_be_unloaded() -> None:
    def hints(unload: bool) -> set[str]:
        return {name for name, _ in model(unload=unload).build().quantified.parametric().hints}
    assert "no-offline-block-unplugged-after-unload" in hints(True)
    assert "no-offline-block-unplugged-after-unload" not in hints(False)
    assert "unplugged-pages-stay-fake-offline" in hints(False)


def test_skippable_v2_keeps_unplugged_pages_offline_after_an_unload_for_every_size() -> None:
    r = Checker(model(unload=True)).check("S9", "forall", Budget(timeout=300))
    assert r.verdict is Verdict.PROVED, r.message
    assert r.certificate is not None
    assert "hint no-offline-block-unplugged-after-unload" in r.certificate
    big = model(unload=True, blocks=2, pageblocks=4, pages=2).build()
    inv = instantiate(And(tuple(r.extra["quantified"])), big.quantified.instance)
    untracked = frozenset(r.extra["untracked"])
    assert recheck_alone(big, big.property("S9"), inv, unchecked=untracked).ok
    for sizes in ({"pageblocks": 2}, {"blocks": 2, "pageblocks": 1}):
        assert Checker(model(unload=True, **sizes)).check("S9", "bfs").verdict is Verdict.HOLDS


def test_legacy_keeps_unplugged_pages_from_the_allocator_for_every_size() -> None:
    """Design A: the fake-offline pages hold no reference while virtio-mem holds
    hotplug_mutex for an offlining of their block; the hint says so, and holds."""
    r = Checker(model("legacy")).check("S3", "forall", Budget(timeout=300))
    assert r.verdict is Verdict.PROVED, r.message
    assert r.certificate is not None
    assert "hint unplugged-pages-stay-fake-offline" in r.certificate
    assert "hint unplugged-pages-skippable" not in r.certificate  # not offered: no flag


def test_skippable_v1_is_not_proved_safe_across_an_unload() -> None:
    """v1 leaves PG_offline_skippable set on the unplugged pages of online blocks, so
    after the unload offlining frees them: bfs finds it at the sampled sizes, and the
    forall engine says so instead of a proof."""
    r = Checker(model("skippable-v1", unload=True)).check("S9", "forall", Budget(timeout=300))
    assert r.verdict is Verdict.UNKNOWN
    assert "sampled instances, (blocks=1, pageblocks=1, pages=1) with population=V;" in r.message
    assert Checker(model("skippable-v1", unload=True)).check(
        "S9", "bfs").verdict is Verdict.VIOLATED


def test_the_not_movable_rule_cannot_be_proved_for_every_population() -> None:
    """Design F skips every PageOffline page without movable ops, a class-2 owner's too:
    S5 holds for V|L|B, but the claim for every population does not. The engine finds
    it at a small population with an X page before any proof, and shows bfs's trace
    there (replayed in that instance, whose knobs the trace carries)."""
    assert Checker(model("not-movable-rule")).check("S5", "bfs").verdict is Verdict.HOLDS
    r = Checker(model("not-movable-rule")).check("S5", "forall", Budget(timeout=300))
    assert r.verdict is Verdict.UNKNOWN and r.bound == "sampled"
    assert ("bfs finds it violated at 9 sampled instances, (blocks=1, pageblocks=2, pages=1) "
            "with population=f|X, population=L|X, population=B|X and 6 more") in r.message
    assert "run this command with --param pageblocks=2 --set 'population=f|X'" in r.message
    assert r.trace is not None and r.trace.kind == "counterexample"
    assert dict(r.trace.knobs)["population"] == "f|X"
    assert r.trace.steps[-1].label.startswith("test_pages_isolated")


def test_a_design_proved_for_every_size_holds_at_every_sampled_population() -> None:
    """The populations the engine searches before a proof are covered by the proof, so
    none of them may violate a property it proves (a violation there would end the run
    before the proof): skippable-v2's S3 passes all 49."""
    r = Checker(model()).check("S3", "forall", Budget(timeout=300))
    assert r.verdict is Verdict.PROVED, r.message
    variants = model().sample_variants()
    assert len(variants) == 49
    assert {knobs["population"] for _, knobs in variants} >= {"X|V", "P|K", "B|f"}
    q = model().build().quantified
    assert isinstance(q, Quantified)
    assert all(q.variant(sizes, knobs) is not None for sizes, knobs in variants)


def test_knob_classes_is_an_assumption_about_every_page_and_limits_the_samples() -> None:
    """classes=fLPKBV leaves class-2 pages out: the finite build refuses an X page, the
    engine searches only the 36 populations of the six letters, and in the parametric
    encoding no page of a plugged subblock is of class2 (an axiom Z3 cannot break)."""
    import z3  # type: ignore[import-untyped]

    from mhpcheck.checker.symbolic.pencode import PEncoding
    from mhpcheck.model.errors import ModelError
    knobs = {**KNOBS, "classes": "fLPKBV"}
    with pytest.raises(ModelError, match=re.escape(
            "population 'V|X|B' has a page X (class-2 PageOffline owner: XEN/Hyper-V "
            "balloon, memtrace (never consents)), which knob classes='fLPKBV' leaves out")):
        Hotplug(params={"pageblocks": 3}, knobs={**knobs, "population": "V|X|B"})
    m = Hotplug(params={"pageblocks": 3, "spare": 2}, knobs=knobs, preset="not-movable-rule")
    variants = m.sample_variants()
    assert len(variants) == 36
    assert not any("X" in str(k["population"]) for _, k in variants)
    q = m.build().quantified  # each variant builds: its pages meet the assumption
    assert isinstance(q, Quantified)
    assert all(q.variant(sizes, k) is not None for sizes, k in variants)
    ps = m.build_parametric()
    assert [name for name, _, _ in ps.assumptions] == ["classes"]
    enc = PEncoding(ps)
    page = z3.Const("p", enc.sorts["page"])
    subblock, page_class = enc.fns["subblock"], enc.fns["page_class"]
    plugged = enc.label(Subblock, Subblock.encode("plugged"))
    class2 = enc.label(PageClass, PageClass.encode("class2"))
    s = z3.Solver(ctx=enc.ctx)
    s.add(*enc.axioms, subblock(enc.fns["pageblock_of"](page)) == plugged,
          page_class(page) == class2)
    assert s.check() == z3.unsat
    assert Hotplug().build_parametric().assumptions == ()  # every letter: nothing assumed


def test_legacy_s3_with_a_stray_holder_is_refuted_for_every_size() -> None:
    """Design A's S3 fails with a stray reference (the holder's put frees a fake-offline
    page while virtio-mem holds no reference): bfs finds it at the instances the engine
    searches before a proof, and the answer says no proof can exist, with bfs's trace."""
    knobs = {"population": "V|f", "stray": "transient", "signals": True, "allocator": True}
    r = Checker(Hotplug(knobs=knobs, preset="legacy")).check("S3", "forall", Budget(timeout=120))
    assert r.verdict is Verdict.UNKNOWN and r.bound == "sampled", r.message
    assert r.message.startswith("unplugged-never-allocated cannot be proved for every size: "
                                "bfs finds it violated at ")
    assert r.trace is not None and dict(r.trace.knobs)["population"] == "V"
    assert any(s.label.startswith("folio_put_stray") for s in r.trace.steps)
