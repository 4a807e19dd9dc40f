"""Unit tests of the hotplug model: one kernel behaviour per test, named after it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import ROOT

from mhpcheck.checker.explicit.bfs import explore, result_of
from mhpcheck.model.compile import Compiled, compile_system
from mhpcheck.model.errors import ModelError
from mhpcheck.model.hotplug.knobs import PRESETS
from mhpcheck.model.system import State, TransitionSystem
from mhpcheck.properties.hotplug import Hotplug
from mhpcheck.registry import model_class


class Run:
    """A built model and a current state, stepped one named action at a time."""

    def __init__(self, preset: str, params: dict[str, int] | None = None, **knobs: Any) -> None:
        self.ts: TransitionSystem = Hotplug(params or {}, knobs, preset).build()
        self.c: Compiled = compile_system(self.ts)
        self.state: State = self.ts.init[0]

    def enabled(self) -> list[str]:
        return [self.ts.actions[k].label for k, _ in self.c.successors(self.state)]

    def can(self, action: str, **args: Any) -> bool:
        """The action has an instance with ``args`` and it is enabled now."""
        if not any(inst.action == action for inst in self.ts.actions):
            return False
        k = self.ts.action_instance(action, args)
        return self.c.apply[k](self.state) is not None

    def do(self, action: str, **args: Any) -> Run:
        k = self.ts.action_instance(action, args)
        nxt = self.c.apply[k](self.state)
        assert nxt is not None, f"{self.ts.actions[k].label} is not enabled; enabled: " \
                                f"{self.enabled()}"
        self.state = nxt
        return self

    def __getitem__(self, name: str) -> Any:
        return self.ts.decode(self.state)[name]


ONE_PAGE = {"blocks": 1, "pageblocks": 1, "pages": 1, "spare": 1}
TWO_PB = {"blocks": 1, "pageblocks": 2, "pages": 1, "spare": 1}


def offline_to_scan(r: Run, vmem: bool = True) -> Run:
    r.do("memory_block_offline", b=0).do("start_isolate_page_range", b=0)
    notifier = "virtio_mem_memory_notifier_going_offline" if vmem else "memory_notify_going_offline"
    return r.do(notifier, b=0)


# -- knobs, presets, populations ---------------------------------------------------------
def test_the_registry_resolves_hotplug_to_the_properties_class() -> None:
    assert model_class("hotplug") is Hotplug


@pytest.mark.parametrize("preset, knob, value", [
    ("legacy", "consent", "refcount-drop"),
    ("legacy", "cancel_refcount", "increment"),
    ("legacy-newest", "cancel_refcount", "set-to-one"),
    ("legacy-frozen", "frozen_vmem", True),
    ("legacy-frozen", "frozen_balloon", True),
    ("legacy-frozen", "frozen_class2", True),
    ("skippable-v2-frozen", "frozen_vmem", True),
    ("skippable-v2-frozen", "frozen_balloon", False),
    ("skippable-v2-frozen", "balloon_migration", "refcount-free"),
    ("naive-free", "consent", "free-to-buddy"),
    ("skippable-v1", "consent", "skippable-flag"),
    ("skippable-v1", "ebusy_branch", False),
    ("skippable-v1", "unload_clears_skippable", False),
    ("skippable-v2", "ebusy_branch", True),
    ("skippable-v2", "unload_clears_skippable", True),
    ("not-movable-rule", "consent", "not-movable-rule"),
    ("not-movable-rule", "balloon_compaction", True),
])
def test_a_preset_sets_its_design_knobs(preset: str, knob: str, value: Any) -> None:
    assert getattr(Hotplug(preset=preset).k, knob) == value


def test_every_preset_sets_every_design_knob_but_the_zone() -> None:
    design = {"consent", "frozen_vmem", "frozen_balloon", "frozen_class2",
              "balloon_migration", "ebusy_branch", "unload_clears_skippable",
              "balloon_compaction", "cancel_refcount", "offline_migrate_max_passes",
              "free_path", "debug_vm"}
    for name, knobs in PRESETS.items():
        assert set(knobs) == design, name


def test_a_knob_override_beats_the_preset() -> None:
    m = Hotplug(knobs={"balloon_compaction": False, "zone": "kernel"}, preset="not-movable-rule")
    assert m.k.balloon_compaction is False and m.k.consent == "not-movable-rule"


def test_an_unknown_population_letter_is_named_with_the_letters_allowed() -> None:
    with pytest.raises(ModelError, match=r"unknown population letter 'Q'.*f = free page"):
        Hotplug(ONE_PAGE, {"population": "Q"}, "legacy")


def test_a_population_that_does_not_fit_the_parameters_says_which() -> None:
    with pytest.raises(ModelError, match=r"block 0 has 2 pageblocks but parameter pageblocks=1"):
        Hotplug(ONE_PAGE, {"population": "V|f"}, "legacy")


def test_virtio_mem_pages_must_fill_their_subblock() -> None:
    with pytest.raises(ModelError, match="mixes V with other letters"):
        Hotplug({"pageblocks": 1, "pages": 2}, {"population": "Vf"}, "legacy")


def test_a_balloon_without_compaction_refuses_zone_movable() -> None:
    with pytest.raises(ModelError, match="GFP_HIGHUSER"):
        Hotplug(ONE_PAGE, {"population": "B", "balloon_compaction": False}, "legacy")


def test_the_initial_state_follows_the_population() -> None:
    r = Run("skippable-v2", TWO_PB, population="V|f")
    assert r["ptype"] == ["Offline", "Buddy"]
    assert r["owner"] == ["vmem", "none"]
    assert r["skippable"] == [True, False]
    assert r["plugged"] == [False, True]
    assert r["managed"] == [1]
    assert r["vmem_loaded"] is True


def test_frozen_pageoffline_pages_start_with_refcount_zero() -> None:
    r = Run("legacy-frozen", TWO_PB, population="V|X")
    assert r["ref_owner"] == [0, 0]


# -- offline_pages: order of steps ----------------------------------------------------------
def test_isolation_comes_before_mem_going_offline() -> None:
    r = Run("legacy", TWO_PB, population="V|f")
    r.do("memory_block_offline", b=0)
    assert not r.can("virtio_mem_memory_notifier_going_offline", b=0)
    r.do("start_isolate_page_range", b=0)
    assert r["isolated"] == [True, True] and r["pc"] == "going_offline"


def test_a_failed_isolation_sends_no_notifier_event() -> None:
    r = Run("skippable-v2", TWO_PB, population="X|f", zone="kernel")
    r.do("memory_block_offline", b=0).do("start_isolate_page_range_ebusy", b=0)
    assert r["pc"] == "idle" and r["block_state"] == ["online"]
    assert r["isolated"] == [False, False] and r["hotplug_active"] is False


def test_undo_isolate_happens_before_mem_cancel_offline() -> None:
    r = Run("legacy", TWO_PB, population="V|f", signals=True)
    offline_to_scan(r).do("send_sig").do("offline_pages_signal_backoff", b=0)
    assert r["pc"] == "undo"
    assert not r.can("virtio_mem_memory_notifier_cancel_offline", b=0)
    r.do("undo_isolate_page_range", b=0)
    assert r["isolated"] == [False, False] and r["pc"] == "cancel"
    assert r["hotplug_active"] is True  # virtio-mem has not seen the cancel yet
    r.do("virtio_mem_memory_notifier_cancel_offline", b=0)
    assert r["pc"] == "idle" and r["hotplug_active"] is False
    assert r["ref_owner"][0] == 1 and r["block_state"] == ["online"]


def test_a_cancel_without_going_offline_leaves_virtio_mem_alone() -> None:
    r = Run("legacy", TWO_PB, population="V|f", notifier_veto=True)
    r.do("memory_block_offline", b=0).do("start_isolate_page_range", b=0)
    r.do("node_notify_removing_last_memory_veto", b=0).do("undo_isolate_page_range", b=0)
    r.do("virtio_mem_memory_notifier_cancel_offline", b=0)
    assert r["ref_owner"][0] == 1 and r["hotplug_active"] is False  # no increment to 2


def test_a_veto_after_virtio_mem_dropped_its_references_gets_them_back() -> None:
    r = Run("legacy", TWO_PB, population="V|f", notifier_veto=True)
    offline_to_scan(r)
    assert r["pc"] == "notify_rest" and r["ref_owner"][0] == 0
    r.do("memory_notifier_error_inject_veto", b=0).do("undo_isolate_page_range", b=0)
    r.do("virtio_mem_memory_notifier_cancel_offline", b=0)
    assert r["ref_owner"][0] == 1


def test_two_blocks_are_offlined_one_at_a_time() -> None:
    r = Run("skippable-v2", {"blocks": 2, "pageblocks": 1, "spare": 1}, population="V/f")
    r.do("memory_block_offline", b=1)
    assert r["op_block"] == 1 and not r.can("memory_block_offline", b=0)
    r.do("start_isolate_page_range", b=1)
    assert r["isolated"] == [False, True]
    assert not r.can("virtio_mem_memory_notifier_going_offline", b=0)


def test_offline_and_remove_memory_removes_the_block_it_offlined() -> None:
    r = Run("skippable-v2", {"blocks": 2, "pageblocks": 1, "spare": 1}, population="f/f",
            user_offline=False, kthread_offline=True)
    r.do("offline_and_remove_memory", b=1).do("start_isolate_page_range", b=1)
    while r["pc"] != "remove":
        step = next(a for a in r.enabled() if a.endswith("(b=1)"))
        r.do(step.split("(")[0], b=1)
    assert r["op_block"] == 1 and r["block_state"] == ["online", "offline"]
    assert not r.can("try_remove_memory", b=0)
    r.do("try_remove_memory", b=1)
    assert r["block_state"] == ["online", "removed"] and r["pc"] == "idle"


def test_the_scan_restarts_at_the_pfn_of_the_stuck_page() -> None:
    r = Run("legacy", {"pageblocks": 3, "spare": 1}, population="f|P|X", zone="movable",
            user_offline=False, kthread_offline=True)
    r.do("offline_and_remove_memory", b=0).do("start_isolate_page_range", b=0)
    r.do("memory_notify_going_offline", b=0)
    for _ in range(3):
        r.do("scan_movable_pages", b=0, p=1)
        assert r["scan_pfn"] == 1
        r.do("do_migrate_range", b=0, start=1)
        assert r["owner"][1] == "pinned" and r["pc"] == "scan"
    # The class-2 page at pfn 2 is never reached: no -EBUSY, the loop spins (L1, L4).
    assert not r.can("scan_movable_pages_ebusy", b=0, p=2)


def test_a_failed_test_pages_isolated_restarts_the_scan_at_the_block_start() -> None:
    r = Run("skippable-v1", {"pageblocks": 2, "spare": 1}, population="L|X", zone="movable")
    offline_to_scan(r, vmem=False)
    r.do("scan_movable_pages", b=0, p=0).do("do_migrate_range", b=0, start=0)
    r.do("scan_movable_pages_enoent", b=0).do("test_pages_isolated_ebusy", b=0)
    assert r["pc"] == "scan" and r["scan_pfn"] == 0


def test_the_pass_limit_gives_up_with_ebusy() -> None:
    r = Run("legacy-newest", ONE_PAGE, population="P", user_offline=False,
            kthread_offline=True, offline_migrate_max_passes=2)
    r.do("offline_and_remove_memory", b=0).do("start_isolate_page_range", b=0)
    r.do("memory_notify_going_offline", b=0)
    for passes in (1, 2):
        r.do("scan_movable_pages", b=0, p=0).do("do_migrate_range", b=0, start=0)
        assert r["passes"] == passes
    assert not r.can("scan_movable_pages", b=0, p=0)
    r.do("offline_pages_retry_limit", b=0).do("undo_isolate_page_range", b=0)
    r.do("memory_notify_cancel_offline", b=0)
    assert r["block_state"] == ["online"] and r["passes"] == 0


def test_a_signal_reaches_only_a_user_space_offliner() -> None:
    r = Run("legacy", ONE_PAGE, population="P", signals=True, user_offline=False,
            kthread_offline=True)
    r.do("offline_and_remove_memory", b=0)
    assert not r.can("send_sig")


def test_a_successful_offline_poisons_the_memmap_after_the_commit() -> None:
    r = Run("skippable-v2", TWO_PB, population="V|f")
    offline_to_scan(r).do("scan_movable_pages_enoent", b=0).do("test_pages_isolated", b=0)
    r.do("__offline_isolated_pages", b=0)
    assert r["section_online"] == [False] and r["memmap_valid"] == [True]
    assert r["managed"] == [0]
    r.do("remove_pfn_range_from_zone", b=0)
    assert r["memmap_valid"] == [False] and r["block_state"] == ["offline"]
    assert r["hotplug_active"] is False and r["pc"] == "idle"


# -- has_unmovable_pages, scan and test per design ------------------------------------------
@pytest.mark.parametrize("preset, zone, isolates", [
    ("legacy", "kernel", True),         # OLD: every PageOffline page counts as movable
    ("skippable-v2", "kernel", False),  # v2: a class-2 page is not skippable -> unmovable
    ("skippable-v2", "movable", True),  # ZONE_MOVABLE: no checks at all
    ("not-movable-rule", "kernel", True),  # F: no movable ops -> "skippable"
])
def test_has_unmovable_pages_on_a_class2_page(preset: str, zone: str, isolates: bool) -> None:
    r = Run(preset, ONE_PAGE, population="X", zone=zone)
    r.do("memory_block_offline", b=0)
    assert r.can("start_isolate_page_range", b=0) is isolates
    assert r.can("start_isolate_page_range_ebusy", b=0) is (not isolates)


@pytest.mark.parametrize("preset, outcome", [
    ("legacy", "scan_movable_pages_ebusy"),        # refcount > 0 -> -EBUSY
    ("skippable-v2", "scan_movable_pages_ebusy"),  # not skippable -> -EBUSY
    ("skippable-v1", "scan_movable_pages_enoent"),  # v1 2/2 removed the branch
    ("legacy-frozen", "scan_movable_pages_enoent"),  # frozen: refcount 0, skipped
])
def test_scan_movable_pages_on_a_class2_page(preset: str, outcome: str) -> None:
    r = Run(preset, ONE_PAGE, population="X", zone="movable")
    offline_to_scan(r, vmem=False)
    args = {"b": 0, "p": 0} if outcome.endswith("ebusy") else {"b": 0}
    assert r.can(outcome, **args)


def test_the_scan_finds_a_balloon_page_before_its_pageoffline_test() -> None:
    r = Run("legacy", ONE_PAGE, population="B")
    offline_to_scan(r, vmem=False)
    assert r.can("scan_movable_pages", b=0, p=0)
    r.do("scan_movable_pages", b=0, p=0).do("do_migrate_range", b=0, start=0)
    assert r["ptype"] == ["Buddy"] and r["balloon_elsewhere"] == 1 and r["spare"] == 0


def test_a_frozen_balloon_page_cannot_be_migrated() -> None:
    r = Run("legacy-frozen", ONE_PAGE, population="B")
    offline_to_scan(r, vmem=False)
    r.do("scan_movable_pages", b=0, p=0).do("do_migrate_range", b=0, start=0)
    assert r["ptype"] == ["Offline"] and r["owner"] == ["balloon"]


# -- virtio-mem handlers per design -----------------------------------------------------------
def test_legacy_going_offline_drops_the_reference_of_unplugged_pages_only() -> None:
    r = Run("legacy", TWO_PB, population="V|L")
    offline_to_scan(r)
    assert r["ref_owner"] == [0, 1] and r["hotplug_active"] is True


def test_a_stray_put_after_going_offline_frees_the_unplugged_page() -> None:
    r = Run("legacy", TWO_PB, population="V|f", stray="transient")
    r.do("folio_try_get_stray", p=0)
    offline_to_scan(r)
    assert r["ref_owner"][0] == 0 and r["stray_counted"] is True
    r.do("folio_put_stray", p=0)
    assert r["ptype"][0] == "Buddy" and r["owner"][0] == "none"
    assert r["isolated"][0] is True  # on the isolate list, until undo_isolate_page_range


def test_the_increment_cancel_keeps_a_stray_reference_counted() -> None:
    r = Run("legacy", TWO_PB, population="V|f", stray="transient")
    r.do("folio_try_get_stray", p=0)
    offline_to_scan(r).do("scan_movable_pages_ebusy", b=0, p=0)
    r.do("undo_isolate_page_range", b=0).do("virtio_mem_memory_notifier_cancel_offline", b=0)
    assert r["ref_owner"][0] == 1 and r["stray_counted"] is True
    r.do("folio_put_stray", p=0)
    assert r["ptype"][0] == "Offline" and r["ref_owner"][0] == 1


def test_the_set_to_one_cancel_forgets_the_stray_reference() -> None:
    r = Run("legacy-newest", TWO_PB, population="V|f", stray="transient", allocator=True)
    r.do("folio_try_get_stray", p=0)
    offline_to_scan(r).do("scan_movable_pages_ebusy", b=0, p=0)
    r.do("undo_isolate_page_range", b=0).do("virtio_mem_memory_notifier_cancel_offline", b=0)
    assert r["ref_owner"][0] == 1 and r["stray_counted"] is False
    r.do("folio_put_stray", p=0)  # takes the owner's reference: the page is freed
    assert r["ptype"][0] == "Buddy" and r["isolated"][0] is False
    r.do("rmqueue", p=0)
    assert r["owner"][0] == "lru" and r["plugged"][0] is False  # S3 violated


def test_naive_free_going_offline_frees_unplugged_pages_into_the_isolated_buddy() -> None:
    r = Run("naive-free", TWO_PB, population="V|f")
    offline_to_scan(r)
    assert r["ptype"][0] == "Buddy" and r["isolated"][0] is True


def test_skippable_going_offline_only_takes_the_lock() -> None:
    r = Run("skippable-v2", TWO_PB, population="V|f")
    before = (r["ptype"], r["ref_owner"], r["skippable"])
    offline_to_scan(r)
    assert (r["ptype"], r["ref_owner"], r["skippable"]) == before
    assert r["hotplug_active"] is True


# -- onlining and the online page callback ---------------------------------------------------
def test_the_online_callback_keeps_unplugged_subblocks_fake_offline() -> None:
    r = Run("skippable-v2", TWO_PB, population="V|f")
    offline_to_scan(r).do("scan_movable_pages_enoent", b=0).do("test_pages_isolated", b=0)
    r.do("__offline_isolated_pages", b=0).do("remove_pfn_range_from_zone", b=0)
    r.do("online_pages", b=0)
    assert r["ptype"] == ["Offline", "Buddy"] and r["skippable"] == [True, False]
    assert r["ref_owner"] == [1, 0] and r["managed"] == [1] and r["isolated"] == [False, False]


def test_after_unload_generic_online_page_hands_unplugged_memory_to_the_buddy() -> None:
    r = Run("skippable-v1", TWO_PB, population="V|f", forced_unload=True)
    r.do("virtio_mem_remove").do("virtio_mem_deinit_hotplug")
    assert r["online_page_callback"] == "generic_online_page"
    offline_to_scan(r, vmem=False).do("scan_movable_pages_enoent", b=0)
    r.do("test_pages_isolated", b=0).do("__offline_isolated_pages", b=0)
    r.do("remove_pfn_range_from_zone", b=0).do("online_pages", b=0)
    assert r["ptype"] == ["Buddy", "Buddy"] and r["plugged"][0] is False  # S9 violated


def test_v2_unload_clears_the_flag_on_unplugged_subblocks_of_online_blocks() -> None:
    r = Run("skippable-v2", TWO_PB, population="V|f", forced_unload=True)
    r.do("virtio_mem_remove").do("virtio_mem_deinit_hotplug")
    assert r["skippable"] == [False, False] and r["ptype"][0] == "Offline"


def test_transient_stray_references_are_dropped_before_the_block_is_onlined_again() -> None:
    for stray, onlines in (("transient", False), ("long-held", True)):
        r = Run("skippable-v2", TWO_PB, population="V|f", stray=stray)
        r.do("folio_try_get_stray", p=0)
        offline_to_scan(r).do("scan_movable_pages_enoent", b=0).do("test_pages_isolated", b=0)
        r.do("__offline_isolated_pages", b=0).do("remove_pfn_range_from_zone", b=0)
        assert r.can("online_pages", b=0) is onlines


def test_a_poisoned_page_never_returns_to_the_buddy() -> None:
    r = Run("legacy", ONE_PAGE, population="L", hwpoison=True, allocator=True,
            stray="transient")
    r.do("folio_try_get_stray", p=0).do("memory_failure", p=0).do("folio_put_stray", p=0)
    assert r["ptype"] == ["none"] and r["hwpoison"] == [True]
    assert not r.can("rmqueue", p=0)


def test_memory_failure_leaves_a_pageoffline_page_poisoned_in_place() -> None:
    # TestSetPageHWPoison comes first; a PageOffline page is not handlable (MF_IGNORED).
    r = Run("skippable-v2", TWO_PB, population="V|f", hwpoison=True)
    r.do("memory_failure", p=0)
    assert r["ptype"][0] == "Offline" and r["owner"][0] == "vmem"
    assert r["ref_owner"][0] == 1 and r["skippable"][0] is True and r["hwpoison"][0] is True


def test_a_poisoned_pageoffline_page_counts_as_managed_at_the_commit() -> None:
    # __offline_isolated_pages skips a poisoned non-buddy page before its PageOffline test,
    # so virtio-mem's fake-offline page is subtracted a second time.
    r = Run("legacy", TWO_PB, population="V|f", hwpoison=True)
    r.do("memory_failure", p=0)
    offline_to_scan(r).do("scan_movable_pages_enoent", b=0).do("test_pages_isolated", b=0)
    r.do("__offline_isolated_pages", b=0)
    assert r["managed"] == [-1]


def test_a_poisoned_class2_page_passes_isolation_and_the_test_without_the_ebusy_branch() -> None:
    r = Run("skippable-v1", ONE_PAGE, population="X", zone="kernel", hwpoison=True)
    r.do("memory_failure", p=0).do("memory_block_offline", b=0)
    r.do("start_isolate_page_range", b=0).do("memory_notify_going_offline", b=0)
    r.do("scan_movable_pages_enoent", b=0).do("test_pages_isolated", b=0)
    assert r["pc"] == "commit" and r["ptype"] == ["Offline"] and r["owner"] == ["class2"]
    v2 = Run("skippable-v2", ONE_PAGE, population="X", zone="kernel", hwpoison=True)
    v2.do("memory_failure", p=0).do("memory_block_offline", b=0)
    v2.do("start_isolate_page_range", b=0).do("memory_notify_going_offline", b=0)
    assert v2.can("scan_movable_pages_ebusy", b=0, p=0)


# -- the properties on their scenarios --------------------------------------------------------
def violated(preset: str, prop: str, params: dict[str, int], **knobs: Any) -> list[str]:
    """The action names of the shortest counterexample of ``prop``."""
    ts = Hotplug(params, knobs, preset).build()
    p = ts.property(prop)
    result = result_of(explore(ts, [p]), p)
    assert result.trace is not None, f"{prop} not violated under {preset}"
    return [str(step.action) for step in result.trace.steps[1:]]


def test_s8_legacy_reads_as_the_reference_scenario() -> None:
    steps = violated("legacy", "S8", TWO_PB, population="V|f", stray="transient")
    assert steps == ["folio_try_get_stray", "memory_block_offline", "start_isolate_page_range",
                     "virtio_mem_memory_notifier_going_offline", "folio_put_stray",
                     "scan_movable_pages_enoent", "test_pages_isolated",
                     "__offline_isolated_pages"]


def test_s7b_legacy_newest_needs_two_offline_attempts() -> None:
    steps = violated("legacy-newest", "S7b", ONE_PAGE, population="V", stray="transient",
                     user_offline=False, user_online=False, vmem_remove=True)
    assert steps.count("virtio_mem_sbm_try_remove_unplugged_mb") == 2
    assert steps[-1] == "__offline_isolated_pages" and "folio_put_stray" not in steps


# -- documentation ----------------------------------------------------------------------------
def doc_anchors(path: str) -> set[str]:
    """The anchors of a Markdown file's headings, as GitHub spells them."""
    text = (ROOT / path).read_text(encoding="utf-8")
    return {re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            for m in re.finditer(r"^#+ (.+)$", text, re.M)}


def test_every_action_cites_a_kernel_file_and_a_section_of_the_docs() -> None:
    ts = Hotplug(preset="legacy").build()
    anchors = doc_anchors("docs/hotplug.md")
    for info in ts.action_infos:
        assert re.search(r"\b[\w/-]+\.[ch]\b", info.cites), info.name
        cited = re.findall(r"docs/hotplug\.md#([\w-]+)", info.cites)
        assert cited, info.name
        assert set(cited) <= anchors, (info.name, set(cited) - anchors)
        assert info.tags, info.name
        assert info.doc, info.name


def test_every_docs_link_in_the_sources_resolves_and_no_numbered_reference_is_left() -> None:
    anchors = {"docs/hotplug.md": doc_anchors("docs/hotplug.md")}
    files = [*(ROOT / "model" / "hotplug").glob("*.py"), ROOT / "properties" / "hotplug.py",
             ROOT / "model" / "hotplug" / "KERNEL_MAP.md", ROOT / "specs" / "README.md",
             ROOT / "docs" / "hotplug.md", ROOT / "specs" / "hotplug" / "regenerate.py"]
    for path in files:
        text = path.read_text(encoding="utf-8")
        for anchor in re.findall(r"docs/hotplug\.md#([\w-]+)", text):
            assert anchor in anchors["docs/hotplug.md"], (path.name, anchor)
        for anchor in re.findall(r"\]\(#([\w-]+)\)", text):
            if path.name == "hotplug.md":
                assert anchor in anchors["docs/hotplug.md"], (path.name, anchor)
        assert not re.search(r"\bref(erence)? \d", text), path.name
        assert "shared/" + "reference" not in text, path.name


def test_kernel_map_lists_every_action() -> None:
    text = (ROOT / "model" / "hotplug" / "KERNEL_MAP.md").read_text()
    ts = Hotplug(preset="legacy").build()
    missing = [i.name for i in ts.action_infos if f"`{i.name}`" not in text]
    assert not missing, missing


# -- the plug path, the free path, memory_failure (issue: kernel fidelity, second pass) -------
PLUG = {"population": "V|f", "stray": "transient", "vmem_plug": True, "vmem_unplug": True}


def test_plugging_a_kept_page_sets_its_count_to_zero_and_forgets_the_stray_reference() -> None:
    r = Run("skippable-v2", TWO_PB, **PLUG)
    assert r["dirty"] == [True, False]
    r.do("folio_try_get_stray", p=0).do("virtio_mem_sbm_plug_sb_online", q=0)
    assert r["ptype"][0] == "Buddy" and r["ref_owner"][0] == 0 and r["dirty"][0] is False
    assert r["stray_counted"] is False and r["managed"] == [2]
    r.do("folio_put_stray", p=0)  # the forgotten reference's put
    assert r["ref_owner"][0] == -1 and r["bad_put"] is True


def test_plugging_an_unplugged_online_page_is_a_plain_put_that_keeps_the_stray_reference() -> None:
    r = Run("skippable-v2", TWO_PB, **PLUG)
    r.do("virtio_mem_sbm_unplug_sb_online", q=1)
    assert r["ptype"][1] == "Offline" and r["dirty"][1] is False and r["ref_owner"][1] == 1
    r.do("folio_try_get_stray", p=1).do("virtio_mem_sbm_plug_sb_online", q=1)
    assert r["ptype"][1] == "none" and r["ref_owner"][1] == 0 and r["stray_counted"] is True
    r.do("folio_put_stray", p=1)
    assert r["ptype"][1] == "Buddy" and r["bad_put"] is False


def test_before_reuse_holds_the_plug_until_the_stray_reference_is_dropped() -> None:
    r = Run("skippable-v2", TWO_PB, **{**PLUG, "stray": "before-reuse"})
    r.do("folio_try_get_stray", p=0)
    assert not r.can("virtio_mem_sbm_plug_sb_online", q=0)
    r.do("folio_put_stray", p=0)
    assert r.can("virtio_mem_sbm_plug_sb_online", q=0)


def test_virtio_mem_may_plug_between_isolation_and_mem_going_offline_but_not_after() -> None:
    r = Run("legacy", TWO_PB, **PLUG)
    r.do("memory_block_offline", b=0).do("start_isolate_page_range", b=0)
    assert r.can("virtio_mem_sbm_plug_sb_online", q=0)
    r.do("virtio_mem_memory_notifier_going_offline", b=0)
    assert not r.can("virtio_mem_sbm_plug_sb_online", q=0)


def test_with_page_checks_a_typed_free_leaks_the_page_with_its_type_reset() -> None:
    r = Run("legacy", TWO_PB, population="V|f", stray="transient", free_path="checks")
    r.do("folio_try_get_stray", p=0)
    offline_to_scan(r).do("folio_put_stray", p=0)
    assert r["ptype"][0] == "none" and r["ref_owner"][0] == 0 and r["exposed"] is False


def test_debug_vm_refuses_the_free_path_without_page_checks() -> None:
    with pytest.raises(ModelError, match="debug_vm=true with free_path=no-checks"):
        Hotplug(TWO_PB, {"population": "V|f", "debug_vm": True, "free_path": "no-checks"},
                "legacy")


def test_a_second_get_is_possible_only_with_stray_gets_two() -> None:
    for gets, again in ((1, False), (2, True)):
        r = Run("skippable-v2", TWO_PB, population="V|f", stray="transient", stray_gets=gets)
        r.do("folio_try_get_stray", p=0).do("folio_put_stray", p=0)
        assert r.can("folio_try_get_stray", p=0) is again


def test_memory_failure_keeps_a_kernel_page_in_use_and_offlining_takes_it_offline() -> None:
    r = Run("legacy", ONE_PAGE, population="K", zone="kernel", hwpoison=True)
    r.do("memory_failure", p=0)
    assert r["owner"] == ["kernel"] and r["ref_owner"] == [1] and r["hwpoison"] == [True]
    steps = violated("legacy", "S12", ONE_PAGE, population="K", zone="kernel", hwpoison=True)
    assert steps[-1] == "test_pages_isolated"  # the commit comes next, over the page


def test_a_poisoned_pageoffline_page_keeps_its_type_when_freed() -> None:
    r = Run("legacy", TWO_PB, population="V|f", stray="transient", hwpoison=True)
    r.do("folio_try_get_stray", p=0).do("memory_failure", p=0)
    offline_to_scan(r).do("folio_put_stray", p=0)
    assert r["ptype"][0] == "Offline" and r["owner"][0] == "none" and r["ref_owner"][0] == 0


def test_refcount_free_balloon_migration_moves_a_frozen_balloon_page() -> None:
    r = Run("legacy-frozen", ONE_PAGE, population="B", balloon_migration="refcount-free")
    offline_to_scan(r, vmem=False)
    r.do("scan_movable_pages", b=0, p=0).do("do_migrate_range", b=0, start=0)
    assert r["ptype"] == ["Buddy"] and r["balloon_elsewhere"] == 1


def test_s6_judges_the_commit_from_a_sane_start_and_s6c_after_a_race() -> None:
    steps = violated("legacy", "S6c", TWO_PB, population="V|f", stray="transient",
                     allocator=True, signals=True)
    assert steps[0] == "folio_try_get_stray" and steps[-1] == "test_pages_isolated"
    ts = Hotplug(TWO_PB, {"population": "V|f", "stray": "transient", "allocator": True,
                          "signals": True}, "legacy").build()
    p = ts.property("S6")
    assert result_of(explore(ts, [p]), p).trace is None


def test_s9_is_judged_from_a_clean_unload() -> None:
    r = Run("legacy", TWO_PB, population="V|f", stray="transient", forced_unload=True)
    r.do("folio_try_get_stray", p=0)
    offline_to_scan(r).do("scan_movable_pages_ebusy", b=0, p=0)
    r.do("folio_put_stray", p=0)  # S3's race: the unplugged page is free
    r.do("undo_isolate_page_range", b=0).do("virtio_mem_memory_notifier_cancel_offline", b=0)
    r.do("virtio_mem_remove").do("virtio_mem_deinit_hotplug")
    assert r["ptype"][0] == "Buddy" and r["unload_clean"] is False


def test_an_unload_begun_during_isolation_vetoes_mem_going_offline_with_ebusy() -> None:
    r = Run("skippable-v2", TWO_PB, population="V|f", forced_unload=True, vmem_plug=True)
    r.do("memory_block_offline", b=0).do("start_isolate_page_range", b=0)
    r.do("virtio_mem_remove")
    assert not r.can("virtio_mem_memory_notifier_going_offline", b=0)
    assert not r.can("virtio_mem_sbm_plug_sb_online", q=0)  # the work item is stopped
    assert not r.can("virtio_mem_deinit_hotplug")  # waits for the offlining
    r.do("virtio_mem_memory_notifier_going_offline_removing", b=0)
    assert r["pc"] == "undo" and r["hotplug_active"] is False
    r.do("undo_isolate_page_range", b=0).do("virtio_mem_memory_notifier_cancel_offline", b=0)
    r.do("virtio_mem_deinit_hotplug")
    assert r["vmem_loaded"] is False and r["ptype"][0] == "Offline"


def test_the_unload_cannot_begin_while_virtio_mem_holds_hotplug_mutex() -> None:
    r = Run("legacy", TWO_PB, population="V|f", forced_unload=True)
    offline_to_scan(r)
    assert not r.can("virtio_mem_remove")


def test_a_block_subtracted_twice_stays_inside_the_managed_domain() -> None:
    """A stray put frees a balloon page without adding it back, virtio-mem takes the page
    and subtracts it again, and the commit subtracts a poisoned PageOffline page its owner
    had already subtracted: the count goes below minus the block's pages, never out of
    the model's domain (an error there once stopped every engine on this configuration)."""
    knobs = {"population": "V|B", "vmem_unplug": True, "vmem_plug": True, "balloon_ops": True,
             "stray": "transient", "hwpoison": True}
    ts = Hotplug(params=TWO_PB, knobs=knobs, preset="legacy").build()
    exp = explore(ts)
    lowest = min(s[ts.var("managed").offset] for s in exp.states)
    assert lowest == -3 and ts.var("managed").domain.lo < lowest
