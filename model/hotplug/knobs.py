"""Size parameters, design knobs, environment switches and the design presets.

Design knobs select one of the designs of docs/hotplug.md#designs; presets name the
combinations the thread discusses. Environment knobs choose the population and which
outside actors (stray references, signals, a pfn walker, ...) run, so each spec can
keep its state space small.
"""

from __future__ import annotations

from ..base import Knob, Param
from ..domains import UserValue
from .population import check_syntax, describe_codes

PARAMS: tuple[Param, ...] = (
    Param("blocks", default=1, lo=1, hi=2, doc="memory blocks that can be offlined"),
    Param("pageblocks", default=2, lo=1, hi=4,
          doc="pageblocks per block (one pageblock = one virtio-mem subblock)"),
    Param("pages", default=1, lo=1, hi=4, doc="pages per pageblock"),
    Param("spare", default=1, lo=0, hi=3,
          doc="free pages elsewhere (another node) that migration can move pages to"),
)

CONSENT = ("refcount-drop", "free-to-buddy", "skippable-flag", "not-movable-rule")


def _population(value: UserValue) -> str | None:
    return check_syntax(str(value))


DESIGN_KNOBS: tuple[Knob, ...] = (
    Knob("consent", "refcount-drop", CONSENT,
         doc="how an owner lets offlining skip its PageOffline pages: refcount-drop (A: "
             "virtio-mem drops its reference in MEM_GOING_OFFLINE), free-to-buddy (C: it "
             "frees them to the buddy), skippable-flag (D/E: PG_offline_skippable), "
             "not-movable-rule (F: PageOffline without movable ops is skippable)"),
    Knob("frozen_pageoffline", False, (False, True),
         doc="every PageOffline page is frozen (refcount 0 permanently; design B)"),
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
    Knob("zone", "movable", ("kernel", "movable"),
         doc="zone the blocks are onlined to (ZONE_NORMAL or ZONE_MOVABLE)"),
)

ENV_KNOBS: tuple[Knob, ...] = (
    Knob("population", "V|f", doc="one letter per page, '|' between pageblocks, '/' "
         f"between blocks: {describe_codes()}", validate=_population),
    Knob("stray", "off", ("off", "transient", "long-held"),
         doc="one speculative reference holder (folio_try_get on a stale pointer), taken "
             "once; transient: it is dropped before the page's block is onlined again"),
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

KNOBS: tuple[Knob, ...] = DESIGN_KNOBS + ENV_KNOBS

_A: dict[str, UserValue] = {
    "consent": "refcount-drop", "frozen_pageoffline": False, "ebusy_branch": True,
    "unload_clears_skippable": False, "balloon_compaction": True,
    "cancel_refcount": "increment", "offline_migrate_max_passes": 0,
}

#: The designs of docs/hotplug.md#designs, by name. Each sets every design knob except
#: zone (a property of the scenario, chosen per spec).
PRESETS: dict[str, dict[str, UserValue]] = {
    "legacy": dict(_A),
    "legacy-newest": {**_A, "cancel_refcount": "set-to-one"},
    "legacy-frozen": {**_A, "frozen_pageoffline": True},
    "naive-free": {**_A, "consent": "free-to-buddy"},
    "skippable-v1": {**_A, "consent": "skippable-flag", "ebusy_branch": False},
    "skippable-v2": {**_A, "consent": "skippable-flag", "unload_clears_skippable": True},
    "not-movable-rule": {**_A, "consent": "not-movable-rule"},
}

#: Design letters (docs/hotplug.md#designs), for docs and tables.
DESIGN_OF_PRESET: dict[str, str] = {
    "legacy": "A", "legacy-newest": "A'", "legacy-frozen": "B", "naive-free": "C",
    "skippable-v1": "D", "skippable-v2": "E", "not-movable-rule": "F",
}
