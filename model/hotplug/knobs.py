"""Size parameters, design knobs, environment switches and the design presets.

Design knobs select one of the designs of docs/hotplug.md#designs; presets name the
combinations the thread discusses. Environment knobs choose the population and which
outside actors (stray references, signals, a pfn walker, ...) run, so each spec can
keep its state space small.
"""

from __future__ import annotations

from dataclasses import replace

from ..base import Knob, Param
from ..domains import UserValue
from .population import ALL_CLASSES, check_classes, check_syntax, describe_codes

PARAMS: tuple[Param, ...] = (
    Param("blocks", default=1, lo=1, hi=8, doc="memory blocks that can be offlined"),
    Param("pageblocks", default=2, lo=1, hi=8,
          doc="pageblocks per block (one pageblock = one virtio-mem subblock)"),
    Param("pages", default=1, lo=1, hi=4, doc="pages per pageblock"),
    Param("spare", default=1, lo=0, hi=3,
          doc="free pages elsewhere (another node) that migration can move pages to"),
)

CONSENT = ("refcount-drop", "free-to-buddy", "skippable-flag", "not-movable-rule")


def _population(value: UserValue) -> str | None:
    return check_syntax(str(value))


def _classes(value: UserValue) -> str | None:
    return check_classes(str(value))


DESIGN_KNOBS: tuple[Knob, ...] = (
    Knob("consent", "refcount-drop", CONSENT,
         doc="how an owner lets offlining skip its PageOffline pages: refcount-drop (A: "
             "virtio-mem drops its reference in MEM_GOING_OFFLINE), free-to-buddy (C: it "
             "frees them to the buddy), skippable-flag (D/E: PG_offline_skippable), "
             "not-movable-rule (F: PageOffline without movable ops is skippable)"),
    Knob("frozen_vmem", False, (False, True),
         doc="virtio-mem's fake-offline pages are frozen (refcount 0 permanently; design B "
             "and the series' target)"),
    Knob("frozen_balloon", False, (False, True),
         doc="balloon pages are frozen (refcount 0 permanently; design B)"),
    Knob("frozen_class2", False, (False, True),
         doc="class-2 PageOffline pages (XEN, Hyper-V, memtrace) are frozen (design B)"),
    Knob("balloon_migration", "refcount", ("refcount", "refcount-free"),
         doc="how do_migrate_range isolates a balloon page: refcount (folio_try_get, fails "
             "on a frozen page; upstream) or refcount-free (movable-ops pages isolated "
             "without a reference; the mm tree's rework the series waits for)"),
    Knob("ebusy_branch", True, (False, True),
         doc="scan_movable_pages returns -EBUSY on a PageOffline page it cannot skip "
             "(v1 2/2 removes it)"),
    Knob("unload_clears_skippable", False, (False, True),
         doc="forced virtio-mem unload clears PG_offline_skippable on unplugged subblocks "
             "of online blocks (v2's virtio_mem_sbm_mark_mb_non_skippable)"),
    Knob("balloon_compaction", True, (False, True),
         doc="CONFIG_BALLOON_COMPACTION: balloon pages have movable ops"),
    Knob("cancel_refcount", "increment", ("increment", "set-to-one"),
         doc="virtio-mem MEM_CANCEL_OFFLINE: page_ref_inc (May 2025 base) or "
             "init_page_count (newest mm tree)"),
    Knob("offline_migrate_max_passes", 0, (0, 1, 2, 3),
         doc="memory_hotplug.offline_migrate_max_passes (0 = retry forever)"),
    Knob("free_path", "v6.17", ("v6.17", "no-checks", "checks"),
         doc="the page free/alloc path: v6.17 (free_pages_prepare clears any page type; "
             "upstream v6.17+), no-checks (older: the owner must clear the type, page checks "
             "off: the buddy overwrites it), checks (older with page checks: CONFIG_DEBUG_VM, "
             "init_on_alloc/free, page_poisoning or debug_pagealloc; a typed free is a bad "
             "page and leaks, check_new_page leaks a free page with a non-zero count)"),
    Knob("debug_vm", False, (False, True),
         doc="CONFIG_DEBUG_VM: VM_BUG_ON_PAGE in put_page_testzero on a zero count (S13); "
             "it turns page checks on, so it needs free_path=v6.17 or checks"),
    Knob("zone", "movable", ("kernel", "movable"),
         doc="zone the blocks are onlined to (ZONE_NORMAL or ZONE_MOVABLE)"),
)

ENV_KNOBS: tuple[Knob, ...] = (
    Knob("population", "V|f", doc="one letter per page, '|' between pageblocks, '/' "
         f"between blocks: {describe_codes()}", validate=_population),
    Knob("classes", ALL_CLASSES,
         doc="the population letters a page may have: the population must use only these, "
             "and a proof for every size (-e forall) covers every population of them (an "
             "assumption of the proof; default: every letter)", validate=_classes),
    Knob("stray", "off", ("off", "transient", "before-reuse", "long-held"),
         doc="one speculative reference holder (folio_try_get on a stale pointer); "
             "transient: it is dropped before the page's block is onlined again; "
             "before-reuse: also before virtio-mem plugs the page's subblock (the thread's "
             "assumption that a transient reference is gone before the page is reused); "
             "long-held: neither"),
    Knob("stray_gets", 1, (1, 2),
         doc="how often the holder takes a reference: 2 = a second speculative get (or a "
             "re-acquisition) after its first put"),
    Knob("signals", False, (False, True), doc="a signal can hit a user-space offliner"),
    Knob("user_offline", True, (False, True), doc="user space offlines blocks via sysfs"),
    Knob("user_online", True, (False, True), doc="user space onlines offline blocks"),
    Knob("kthread_offline", False, (False, True),
         doc="a kernel thread offlines and removes blocks (ACPI eject: "
             "offline_and_remove_memory; no signals reach it)"),
    Knob("vmem_remove", False, (False, True),
         doc="virtio-mem offlines and removes fully unplugged blocks (its work item)"),
    Knob("vmem_unplug", False, (False, True), doc="virtio-mem unplugs plugged subblocks"),
    Knob("vmem_plug", False, (False, True), doc="virtio-mem plugs unplugged subblocks"),
    Knob("forced_unload", False, (False, True), doc="the virtio-mem driver can be unloaded"),
    Knob("walker", False, (False, True),
         doc="a pfn walker (pfn_to_online_page, then reads the struct page)"),
    Knob("allocator", False, (False, True), doc="the page allocator hands out and frees pages"),
    Knob("balloon_ops", False, (False, True), doc="the balloon inflates and deflates"),
    Knob("hwpoison", False, (False, True), doc="memory_failure can poison pages"),
    Knob("notifier_veto", False, (False, True),
         doc="a later memory notifier (memory-notifier-error-inject) can veto "
             "MEM_GOING_OFFLINE after virtio-mem's handler ran"),
)


_A: dict[str, UserValue] = {
    "consent": "refcount-drop", "frozen_vmem": False, "frozen_balloon": False,
    "frozen_class2": False, "balloon_migration": "refcount", "ebusy_branch": True,
    "unload_clears_skippable": False, "balloon_compaction": True,
    "cancel_refcount": "increment", "offline_migrate_max_passes": 0,
    "free_path": "v6.17", "debug_vm": False,
}
_FROZEN: dict[str, UserValue] = {"frozen_vmem": True, "frozen_balloon": True,
                                 "frozen_class2": True}
_V2: dict[str, UserValue] = {**_A, "consent": "skippable-flag", "unload_clears_skippable": True}

#: The designs of docs/hotplug.md#designs, by name. Each sets every design knob except
#: zone (a property of the scenario, chosen per spec).
PRESETS: dict[str, dict[str, UserValue]] = {
    "legacy": dict(_A),
    "legacy-newest": {**_A, "cancel_refcount": "set-to-one"},
    "legacy-frozen": {**_A, **_FROZEN},
    "naive-free": {**_A, "consent": "free-to-buddy"},
    "skippable-v1": {**_A, "consent": "skippable-flag", "ebusy_branch": False},
    "skippable-v2": dict(_V2),
    "skippable-v2-frozen": {**_V2, "frozen_vmem": True, "balloon_migration": "refcount-free"},
    "not-movable-rule": {**_A, "consent": "not-movable-rule"},
}

#: Design letters (docs/hotplug.md#designs), for docs and tables.
DESIGN_OF_PRESET: dict[str, str] = {
    "legacy": "A", "legacy-newest": "A'", "legacy-frozen": "B", "naive-free": "C",
    "skippable-v1": "D", "skippable-v2": "E", "skippable-v2-frozen": "E*",
    "not-movable-rule": "F",
}

#: Which kernel tree each preset follows (docs/hotplug.md#provenance): an upstream
#: release, the linux-mm tree, or a patch series on the list.
PRESET_SOURCE: dict[str, str] = {
    "legacy": "upstream release: virtio-mem and offline_pages of the May 2025 base, with "
              "the v6.17+ free path (free_path picks an older one)",
    "legacy-newest": "mm tree (init_page_count cancel, not in a release)",
    "legacy-frozen": "design study (no tree)",
    "naive-free": "design study (no tree)",
    "skippable-v1": "patch series v1 on the mm tree",
    "skippable-v2": "patch series v2 on the mm tree",
    "skippable-v2-frozen": "the series' target: v2 plus frozen virtio-mem pages plus the mm "
                           "tree's refcount-free balloon migration (not posted as one tree)",
    "not-movable-rule": "proposal on the list (no tree)",
}

#: Which tree a knob value follows, where it is not the upstream release's behaviour.
KNOB_TREE: dict[tuple[str, UserValue], str] = {
    ("cancel_refcount", "set-to-one"): "mm tree",
    ("offline_migrate_max_passes", 1): "mm tree",
    ("offline_migrate_max_passes", 2): "mm tree",
    ("offline_migrate_max_passes", 3): "mm tree",
    ("balloon_migration", "refcount-free"): "mm tree",
    ("consent", "skippable-flag"): "patch series",
    ("consent", "not-movable-rule"): "proposal",
    ("unload_clears_skippable", True): "patch series v2",
    ("free_path", "v6.17"): "upstream v6.17+",
    ("free_path", "no-checks"): "upstream before v6.17",
    ("free_path", "checks"): "upstream before v6.17",
    ("frozen_vmem", True): "design study",
    ("frozen_balloon", True): "design study",
    ("frozen_class2", True): "design study",
}


def _with_sources(knob: Knob) -> Knob:
    """The knob with the tree of each of its values that has one appended to its doc."""
    notes = [f"{str(v).lower() if isinstance(v, bool) else v}: {tree}"
             for (name, v), tree in KNOB_TREE.items() if name == knob.name]
    return replace(knob, doc=f"{knob.doc} [{'; '.join(notes)}]") if notes else knob


KNOBS: tuple[Knob, ...] = tuple(_with_sources(k) for k in DESIGN_KNOBS + ENV_KNOBS)
