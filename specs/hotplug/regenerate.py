"""Re-pin the hotplug specs: run every configuration, compare with the expected
verdicts below, and (with --write) rewrite specs/hotplug/*/*.toml.

The expected verdicts are the hand analysis's matrix (docs/hotplug.md#expected-verdicts)
for A, C, D, E and what the
model finds for the other columns; a run that disagrees is reported and nothing is
written. State counts and trace lengths are always taken from the run.

    .venv/bin/python specs/hotplug/regenerate.py            # compare only
    .venv/bin/python specs/hotplug/regenerate.py --write    # and rewrite the specs
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mhpcheck.checker.checker import Checker
from mhpcheck.model.system import LeadsTo
from mhpcheck.properties.hotplug import Hotplug

HERE = Path(__file__).parent

#: column -> (preset, extra design knobs)
COLUMNS: dict[str, tuple[str, dict[str, Any]]] = {
    "legacy": ("legacy", {}),
    "legacy-newest": ("legacy-newest", {}),
    "legacy-frozen": ("legacy-frozen", {}),
    "naive-free": ("naive-free", {}),
    "skippable-v1": ("skippable-v1", {}),
    "skippable-v2": ("skippable-v2", {}),
    "skippable-v2-frozen": ("skippable-v2-frozen", {}),
    "not-movable-rule": ("not-movable-rule", {}),
    "not-movable-rule-nocompaction": ("not-movable-rule", {"balloon_compaction": False}),
}
ORDER = list(COLUMNS)

H, V, R, U = "holds", "violated", "reachable", "unreachable"
#: holds only because an action the property is about never fires (specs/README.md)
VAC = "vacuous"

#: Safety checks of configurations with more states than this run on bfs-vec.
VEC_THRESHOLD = 20_000


def row(*cells: str) -> dict[str, str]:
    """Expected verdicts in column order (A, A', B, C, D, E, E*, F+, F-)."""
    return dict(zip(ORDER, cells, strict=True))


@dataclass(frozen=True)
class Family:
    """One population and environment, checked under every column."""

    folder: str
    summary: str
    why: str
    params: dict[str, int]
    knobs: dict[str, Any]
    expect: dict[str, dict[str, str]]
    knobs_for: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


S6_CASCADE = ("S6 is H in the hand analysis, which argues from a sane start; the model "
              "finds a cascade after S3/S4: the cancel handler raised the refcount of a "
              "page that is now free, the next MEM_GOING_OFFLINE drops it below zero, "
              "test_pages_isolated accepts the PageBuddy page and __offline_isolated_pages "
              "BUGs on its count.")
STRAY_U = ("S3 is H (U) in the hand analysis: with transient speculative references, the "
           "hand analysis's assumption, it holds; a reference held across an offline/online "
           "cycle breaks it (skippable-v2-long-held-stray.toml).")

FAMILIES: list[Family] = [
    Family(
        "1-unplugged-subblock",
        "a block with an unplugged virtio-mem subblock and a plugged free subblock, a "
        "stray reference, signals and the allocator",
        "One fake-offline page is all the hand analysis's S3/S4/S8 scenarios touch; the "
        "allocator may turn the plugged page into a migratable user page, so a successful "
        "offline may have work to do. One speculative holder taking one reference covers "
        "every stray scenario of docs/hotplug.md#speculative-references; it is "
        "transient (dropped before the block is onlined again). "
        "Signals give the user-space failure path; the allocator shows freed unplugged "
        "memory being handed out.",
        {"blocks": 1, "pageblocks": 2, "pages": 1, "spare": 1},
        {"population": "V|f", "stray": "transient", "signals": True, "allocator": True},
        {
            "S1": row(H, H, H, H, H, H, H, H, H),
            "S2": row(H, H, H, H, H, H, H, H, H),
            "S3": row(V, V, H, V, H, H, H, H, H),
            "S4": row(V, V, H, V, H, H, H, H, H),
            "S6": row(H, H, H, H, H, H, H, H, H),
            "S6c": row(V, V, H, H, H, H, H, H, H),
            "S8": row(V, V, H, V, H, H, H, H, H),
            "S10": row(V, V, H, H, H, H, H, H, H),
            "S11": row(V, V, H, H, H, H, H, H, H),
            "offline-can-succeed": row(R, R, R, R, R, R, R, R, R),
            "offline-can-fail-and-roll-back": row(R, R, R, R, R, R, R, R, R),
        },
        notes={
            "legacy": S6_CASCADE + " S2 holds trivially: the flag is never set.",
            "legacy-newest": S6_CASCADE + " S2 holds trivially: the flag is never set.",
            "legacy-frozen": "Frozen pages cannot be referenced speculatively, so the "
                             "stray scenarios disappear. S2 holds trivially.",
            "naive-free": "S8 is U in the hand analysis: this naive driver frees its pages "
                          "with a plain put and never adds them back to the managed count, "
                          "so the commit subtracts them twice. S2 holds trivially.",
            "skippable-v1": STRAY_U,
            "skippable-v2": STRAY_U,
            "not-movable-rule": "S2 holds trivially: the flag is never set.",
            "not-movable-rule-nocompaction": "S2 holds trivially: the flag is never set.",
        },
    ),
    Family(
        "2-pfn-walker",
        "a free page, a pfn walker and user offline/online",
        "The race needs only a page whose section goes offline between the walker's "
        "pfn_to_online_page and its read; a free page offlines without migration.",
        {"blocks": 1, "pageblocks": 1, "pages": 1, "spare": 0},
        {"population": "f", "walker": True},
        {"S7a": row(V, V, V, V, V, V, V, V, V)},
    ),
    Family(
        "3-vmem-removal",
        "a fully unplugged block that virtio-mem offlines and removes, with a stray "
        "reference",
        "One fake-offline page and one transient speculative reference are all of "
        "the hand analysis's S7b and L2 scenarios; no user actions interfere, so L2 is "
        "about "
        "the driver's own retrying work item.",
        {"blocks": 1, "pageblocks": 1, "pages": 1, "spare": 0},
        {"population": "V", "stray": "transient", "user_offline": False,
         "user_online": False, "vmem_remove": True},
        {
            "S7b": row(H, V, VAC, H, V, V, VAC, V, V),
            "L2": row(H, H, H, H, H, H, H, H, H),
            "virtio-mem-unplug-completes": row(R, R, R, R, R, R, R, R, R),
        },
        notes={
            "legacy-newest": "init_page_count in MEM_CANCEL_OFFLINE forgets the stray "
                             "reference after a first failed attempt, so the second attempt "
                             "completes while the holder still holds it (S7b; H under "
                             "legacy's page_ref_inc).",
            "legacy-frozen": "S7b is vacuous: a frozen page has refcount 0, so the stray "
                             "holder's folio_try_get never succeeds and there is no "
                             "reference to outlive offlining (design B's point).",
        },
    ),
    Family(
        "4-class2-owner",
        "a class-2 PageOffline page (XEN/Hyper-V/memtrace) above a user page in "
        "ZONE_MOVABLE, offlined by user space without signals",
        "ZONE_MOVABLE skips has_unmovable_pages, so only the scan, the test and the "
        "commit stand between offlining and the class-2 page (the Hyper-V case of "
        "docs/hotplug.md#the-ebusy-branch). The user page below it is migratable once "
        "(one spare page), so "
        "the scan must get past it and no page persistently fails migration (L1's "
        "assumption).",
        {"blocks": 1, "pageblocks": 2, "pages": 1, "spare": 1},
        {"population": "L|X", "zone": "movable"},
        {
            "S5": row(H, H, V, H, H, H, H, V, V),
            "L1": row(H, H, H, H, V, H, H, H, H),
        },
        notes={
            "legacy-frozen": "A frozen class-2 page has refcount 0, which A's core reads as "
                             "consent: offlining completes over it (S5); L1 holds only "
                             "because offlining wrongly succeeds.",
            "not-movable-rule": "A class-2 page has no movable ops, so the rule calls it "
                                "skippable: offlining completes over it (S5).",
            "not-movable-rule-nocompaction": "A class-2 page has no movable ops, so the "
                                             "rule calls it skippable (S5).",
            "skippable-v1": "Without the -EBUSY branch the scan skips the class-2 page and "
                            "test_pages_isolated rejects it forever (L1, "
                            "docs/hotplug.md#the-ebusy-branch).",
        },
    ),
    Family(
        "5-forced-unload",
        "a partially plugged block (one unplugged, one free plugged subblock) and a "
        "forced virtio-mem unload, with user offline/online",
        "The smallest partially plugged block: after the unload nothing may let user "
        "space offline and re-online it through generic_online_page.",
        {"blocks": 1, "pageblocks": 2, "pages": 1, "spare": 0},
        {"population": "V|f", "forced_unload": True},
        {"S9": row(H, H, V, H, V, H, H, V, V)},
        notes={
            "legacy-frozen": "After the unload the frozen pages still have refcount 0, "
                             "which A's core reads as consent; re-onlining goes through "
                             "generic_online_page (S9).",
            "skippable-v1": "The flag survives the unload: the gap v2 closed (S9).",
            "not-movable-rule": "An unloaded driver's pages are still PageOffline without "
                                "movable ops; there is no flag to clear (S9).",
            "not-movable-rule-nocompaction": "As with compaction: no flag to clear (S9).",
        },
    ),
    Family(
        "6-balloon",
        "an inflated balloon page with one free page elsewhere, offlined by user space",
        "One balloon page and exactly enough memory elsewhere for its migration. Without "
        "balloon compaction the page cannot be in ZONE_MOVABLE "
        "(docs/hotplug.md#balloon-pages), so that "
        "column uses ZONE_NORMAL.",
        {"blocks": 1, "pageblocks": 1, "pages": 1, "spare": 1},
        {"population": "B", "zone": "movable"},
        {
            "S5": row(H, H, H, H, H, H, H, H, V),
            "L3": row(H, H, V, H, H, H, H, H, H),
            "balloon-page-migrates": row(R, R, U, R, R, R, R, R, U),
        },
        knobs_for={"not-movable-rule-nocompaction": {"zone": "kernel"}},
        notes={
            "legacy-frozen": "folio_try_get fails on a frozen balloon page, so it is found "
                             "by the scan and never migrated (L3 violated).",
            "not-movable-rule-nocompaction": "Without compaction a balloon page has no "
                                             "movable ops and the rule calls it skippable: "
                                             "offlining completes over it (S5); L3 holds "
                                             "only because of that.",
        },
    ),
    Family(
        "7-pinned-page",
        "a long-term pinned page in ZONE_MOVABLE offlined by a kernel thread (ACPI eject)",
        "One pinned LRU page is the page the mm selftest pins with vmsplice; a kernel "
        "thread never sees a signal.",
        {"blocks": 1, "pageblocks": 1, "pages": 1, "spare": 1},
        {"population": "P", "zone": "movable", "user_offline": False, "kthread_offline": True},
        {"L4": row(V, V, V, V, V, V, V, V, V)},
    ),
    Family(
        "12-vmem-plug",
        "an unplugged virtio-mem subblock and a plugged free one, with a transient stray "
        "reference, virtio-mem plug and unplug, the allocator and a forced unload",
        "virtio-mem's plug (virtio_mem_sbm_plug_sb_online -> virtio_mem_fake_online) does "
        "not look at the pages: a PG_dirty page (kept fake-offline when its block was "
        "onlined) goes through generic_online_page -> __free_pages_core, which sets the "
        "refcount to 0 and frees it, forgetting a speculative reference; the unplug that "
        "follows allocates the page again (refcount 1), and the holder's put then takes "
        "virtio-mem's reference. The stray reference is transient (dropped before the "
        "block is onlined again), the thread's assumption; it is not dropped before the "
        "page is reused (stray=before-reuse, the variants).",
        {"blocks": 1, "pageblocks": 2, "pages": 1, "spare": 1},
        {"population": "V|f", "stray": "transient", "allocator": True, "vmem_plug": True,
         "vmem_unplug": True, "forced_unload": True},
        {
            "S3": row(V, V, H, V, V, V, H, V, V),
            "S4": row(V, V, H, V, V, V, H, V, V),
            "S6": row(H, H, H, H, H, H, H, H, H),
            "S6c": row(V, V, H, V, V, V, H, V, V),
            "S8": row(V, V, H, V, V, V, H, V, V),
            "S9": row(V, V, V, V, V, V, H, V, V),
            "S10": row(V, V, H, V, V, V, H, V, V),
            "S11": row(V, V, H, V, V, V, H, V, V),
            "offline-can-succeed": row(R, R, R, R, R, R, R, R, R),
        },
    ),
]


@dataclass(frozen=True)
class Extra:
    """A single spec outside the family grid."""

    folder: str
    stem: str
    preset: str
    comment: str
    description: str
    params: dict[str, int]
    knobs: dict[str, Any]
    expect: dict[str, str]


#: The sanity checks of every all-features configuration.
ALL_FEATURES_SANITY = {"offline-can-succeed": R, "offline-can-fail-and-roll-back": R,
                       "virtio-mem-unplug-completes": R, "balloon-page-migrates": R}


EXTRAS: list[Extra] = [
    Extra("1-unplugged-subblock", "skippable-v2-long-held-stray", "skippable-v2",
          "The U cells of S3/S4/S8 for v2: a speculative reference held across a whole "
          "offline/online cycle frees unplugged memory.",
          "As 1-unplugged-subblock, but the stray holder may keep its reference while the "
          "block is offlined and onlined again. The re-initialised memmap gives the page "
          "refcount 1, the online callback keeps it PageOffline, and the stale put frees "
          "it: unplugged memory in the buddy, and the next offlining subtracts it from the "
          "managed count a second time.",
          {"blocks": 1, "pageblocks": 2, "pages": 1, "spare": 1},
          {"population": "V|f", "stray": "long-held", "signals": True, "allocator": True},
          {"S3": V, "S4": V, "S8": V, "S7b": V}),
    Extra("12-vmem-plug", "skippable-v2-before-reuse", "skippable-v2",
          "v2 is safe on the plug path only if the stray reference is dropped before the "
          "page is reused (stray=before-reuse).",
          "As 12-vmem-plug/skippable-v2, but the speculative holder drops its reference "
          "before virtio-mem plugs the page's subblock, the thread's assumption that a "
          "transient reference is gone before the page is reused. Then nothing forgets "
          "the reference and every property holds: this assumption, not the guard the "
          "model used to have on the plug, is what keeps v2 safe here.",
          {"blocks": 1, "pageblocks": 2, "pages": 1, "spare": 1},
          {"population": "V|f", "stray": "before-reuse", "allocator": True,
           "vmem_plug": True, "vmem_unplug": True, "forced_unload": True},
          {"S3": H, "S4": H, "S6c": H, "S8": H, "S9": H, "S10": H, "S11": H}),
    Extra("12-vmem-plug", "skippable-v2-debug-vm", "skippable-v2",
          "Under CONFIG_DEBUG_VM the forgotten reference's put is a VM_BUG_ON.",
          "As 12-vmem-plug/skippable-v2 with debug_vm and the older free path with page "
          "checks. The holder's put right after the plug meets the count 0 that "
          "__free_pages_core set: VM_BUG_ON_PAGE in put_page_testzero (S13, 3 steps). "
          "After plug and re-unplug the same put takes virtio-mem's reference instead, and "
          "the page, still PageOffline, reaches the free path with a type: a bad page that "
          "leaks, its type reset but PG_offline_skippable kept (S2, S4; 4 steps). The page "
          "never reaches the buddy, so S3 holds.",
          {"blocks": 1, "pageblocks": 2, "pages": 1, "spare": 1},
          {"population": "V|f", "stray": "transient", "allocator": True,
           "vmem_plug": True, "vmem_unplug": True, "forced_unload": True,
           "free_path": "checks", "debug_vm": True},
          {"S2": V, "S3": H, "S4": V, "S10": V, "S11": V, "S13": V}),
    Extra("12-vmem-plug", "legacy-plug-page-checks", "legacy",
          "legacy on the plug path before v6.17 with page checks (free_path=checks).",
          "As 12-vmem-plug/legacy with the older free path and page checks on. The "
          "forgotten reference's put still takes virtio-mem's reference, but the page it "
          "frees is still PageOffline: a bad page, leaked with its type reset instead of "
          "reaching the buddy. So S3 and S8 hold, while S4 and S9 (the page is no longer "
          "PageOffline), the cascade S6c and the refcount properties S10 and S11 fail "
          "as on v6.17.",
          {"blocks": 1, "pageblocks": 2, "pages": 1, "spare": 1},
          {"population": "V|f", "stray": "transient", "allocator": True,
           "vmem_plug": True, "vmem_unplug": True, "forced_unload": True,
           "free_path": "checks"},
          {"S3": H, "S4": V, "S6c": V, "S8": H, "S9": V, "S10": V, "S11": V}),
    Extra("1-unplugged-subblock", "legacy-page-checks", "legacy",
          "legacy on a kernel before v6.17 with page checks (free_path=checks).",
          "As 1-unplugged-subblock/legacy, but the free path of kernels before v6.17 with "
          "page checks on (CONFIG_DEBUG_VM, init_on_alloc/free, page_poisoning, "
          "debug_pagealloc): the stray holder's last put frees a page that is still "
          "PageOffline, which free_page_is_bad reports as a bad page and leaks instead of "
          "handing it to the buddy (bad_page resets the type), and check_new_page leaks a "
          "free page whose count is not 0. The S3 race then ends in a leaked page that is "
          "no longer PageOffline (S4) rather than unplugged memory in the buddy: S3, S8 "
          "and the cascade (S6c, S10, S11) hold. legacy's S3 and S8 cells are v6.17+ "
          "cells.",
          {"blocks": 1, "pageblocks": 2, "pages": 1, "spare": 1},
          {"population": "V|f", "stray": "transient", "signals": True, "allocator": True,
           "free_path": "checks"},
          {"S3": H, "S4": V, "S6": H, "S6c": H, "S8": H, "S10": H, "S11": H}),
    Extra("1-unplugged-subblock", "legacy-debug-vm", "legacy",
          "legacy before v6.17 with CONFIG_DEBUG_VM: no VM_BUG_ON.",
          "As legacy-page-checks with debug_vm: the page checks leak the page before any "
          "put can meet a zero count, so VM_BUG_ON_PAGE in put_page_testzero never fires "
          "(S13); the plug path does reach it (12-vmem-plug/skippable-v2-debug-vm).",
          {"blocks": 1, "pageblocks": 2, "pages": 1, "spare": 1},
          {"population": "V|f", "stray": "transient", "signals": True, "allocator": True,
           "free_path": "checks", "debug_vm": True},
          {"S13": H}),
    Extra("1-unplugged-subblock", "skippable-v2-two-gets", "skippable-v2",
          "v2 with two speculative gets (stray_gets=2): still safe with transient references.",
          "As 1-unplugged-subblock/skippable-v2, but the holder may take a second "
          "reference after its first put (a second speculative get on the same or another "
          "page, or a re-acquisition). Nothing in v2 changes a refcount it does not own, so "
          "a second get finds nothing corrupted: every property holds.",
          {"blocks": 1, "pageblocks": 2, "pages": 1, "spare": 1},
          {"population": "V|f", "stray": "transient", "stray_gets": 2, "signals": True,
           "allocator": True},
          {"S3": H, "S4": H, "S6": H, "S6c": H, "S8": H, "S10": H, "S11": H}),
    Extra("1-unplugged-subblock", "legacy-two-gets", "legacy",
          "legacy with two speculative gets: a second get on a page whose count the "
          "cancel corrupted.",
          "As 1-unplugged-subblock/legacy with stray_gets=2. A second speculative get "
          "lands on the page whose count MEM_CANCEL_OFFLINE raised after the first holder "
          "freed it, which shortens the cascade (S6c) by one step; S3, S4 and S8 keep their "
          "8-step traces.",
          {"blocks": 1, "pageblocks": 2, "pages": 1, "spare": 1},
          {"population": "V|f", "stray": "transient", "stray_gets": 2, "signals": True,
           "allocator": True},
          {"S3": V, "S4": V, "S6": H, "S6c": V, "S8": V, "S10": V, "S11": V}),
    Extra("8-hwpoison", "legacy-poisoned-kernel-page", "legacy",
          "A poisoned kernel page stays in use, and offlining takes its block offline.",
          "memory_failure cannot handle a kernel page (MF_IGNORED): it keeps its owner and "
          "reference and is only marked PG_hwpoison. has_unmovable_pages skips a poisoned "
          "page, the scan passes it (not LRU), test_pages_isolated accepts it and "
          "__offline_isolated_pages skips it: the block goes offline under its owner (S12), "
          "in every design.",
          {"blocks": 1, "pageblocks": 1, "pages": 1, "spare": 1},
          {"population": "K", "zone": "kernel", "hwpoison": True},
          {"S12": V, "offline-can-succeed": R}),
    Extra("8-hwpoison", "skippable-v2-poisoned-pinned-page", "skippable-v2",
          "A poisoned long-term pinned page stays in use, and offlining takes its block "
          "offline.",
          "memory_failure takes a pinned page off the LRU but cannot unmap it past the pin "
          "(MF_FAILED): the pinner keeps its reference. Without PageLRU the scan passes it, "
          "test_pages_isolated accepts it as poisoned and the commit skips it (S12).",
          {"blocks": 1, "pageblocks": 1, "pages": 1, "spare": 1},
          {"population": "P", "zone": "movable", "hwpoison": True},
          {"S12": V, "offline-can-succeed": R}),
    Extra("8-hwpoison", "legacy-poisoned-balloon", "legacy",
          "A poisoned balloon page livelocks offlining.",
          "memory_failure leaves a PageOffline balloon page as it is, poisoned. The scan "
          "finds it (movable ops), do_migrate_range skips a poisoned page, the next scan "
          "finds it again: offlining never ends (L3, a lasso). The same under every design.",
          {"blocks": 1, "pageblocks": 1, "pages": 1, "spare": 1},
          {"population": "B", "zone": "movable", "hwpoison": True},
          {"L3": V}),
    Extra("8-hwpoison", "skippable-v2-frozen-poisoned-balloon", "skippable-v2-frozen",
          "The poisoned-balloon livelock survives refcount-free balloon migration.",
          "As legacy-poisoned-balloon under the series' target: refcount-free migration "
          "does not help, because do_migrate_range skips poisoned pages before it isolates "
          "anything (L3).",
          {"blocks": 1, "pageblocks": 1, "pages": 1, "spare": 1},
          {"population": "B", "zone": "movable", "hwpoison": True},
          {"L3": V}),
    Extra("7-pinned-page", "legacy-newest-max-passes-2", "legacy-newest",
          "offline_migrate_max_passes = 2 (newest mm tree) bounds the retry loop: L4 holds.",
          "The pinned-page configuration with memory_hotplug.offline_migrate_max_passes=2: "
          "the third pass gives up with -EBUSY (retry limit exceeded), the block is online "
          "again, and offlining in kernel-thread context terminates.",
          {"blocks": 1, "pageblocks": 1, "pages": 1, "spare": 1},
          {"population": "P", "zone": "movable", "user_offline": False,
           "kthread_offline": True, "offline_migrate_max_passes": 2},
          {"L4": H, "offline-can-fail-and-roll-back": R}),
    Extra("8-hwpoison", "legacy-hwpoison", "legacy",
          "A reference holder on a poisoned page outlives offlining, in every design.",
          "A user page with a speculative reference is hit by memory_failure. "
          "test_pages_isolated accepts a poisoned page whatever its refcount and "
          "__offline_isolated_pages skips it, so the block goes offline while the holder "
          "still has its reference. Nothing here involves PageOffline: the same happens "
          "under every design (the knobs do not touch this path).",
          {"blocks": 1, "pageblocks": 1, "pages": 1, "spare": 1},
          {"population": "L", "stray": "transient", "hwpoison": True},
          {"S7b": V, "S6": H, "S8": H, "offline-can-succeed": R}),
    Extra("8-hwpoison", "legacy-poisoned-fake-offline", "legacy",
          "A poisoned fake-offline page is subtracted from the managed count twice, in "
          "every design.",
          "memory_failure sets PG_hwpoison before it asks whether it can handle the page, "
          "so an unplugged virtio-mem page stays PageOffline and poisoned. "
          "__offline_isolated_pages skips a poisoned non-buddy page before its PageOffline "
          "test and counts it as managed, although virtio-mem subtracted it when it "
          "fake-offlined it: S8 breaks with no stray reference (mm/memory-failure.c "
          "memory_failure; mm/page_alloc.c __offline_isolated_pages). The knobs do not "
          "touch this path; the v2 spec shows the same. S3 is vacuous: without the "
          "allocator or a balloon nothing can take a page.",
          {"blocks": 1, "pageblocks": 2, "pages": 1, "spare": 1},
          {"population": "V|f", "hwpoison": True},
          {"S8": V, "S6": H, "S3": VAC, "offline-can-succeed": R}),
    Extra("8-hwpoison", "skippable-v2-poisoned-fake-offline", "skippable-v2",
          "A poisoned fake-offline page is subtracted from the managed count twice under "
          "v2 too.",
          "As legacy-poisoned-fake-offline under v2: test_pages_isolated accepts the page "
          "(poisoned, and skippable), the commit skips it as poisoned before its "
          "PageOffline test and counts it as managed a second time (S8).",
          {"blocks": 1, "pageblocks": 2, "pages": 1, "spare": 1},
          {"population": "V|f", "hwpoison": True},
          {"S8": V, "S2": H, "S6": H, "offline-can-succeed": R}),
    Extra("8-hwpoison", "skippable-v1-poisoned-class2", "skippable-v1",
          "Without the -EBUSY branch a poisoned class-2 page is offlined without its "
          "owner's consent, even in ZONE_NORMAL.",
          "A class-2 PageOffline page (XEN/Hyper-V/memtrace) hit by memory_failure stays "
          "PageOffline and becomes PG_hwpoison. has_unmovable_pages tests hwpoison before "
          "PageOffline, so isolation succeeds even in a kernel zone; v1 has no -EBUSY "
          "branch, test_pages_isolated accepts poisoned pages before its PageOffline test, "
          "and the commit skips it: offlining completes over a page its owner still holds "
          "(S5, and S8 as the page is counted as managed). The hand analysis's S5 argument for "
          "v1 (isolation fails in kernel zones, the test rejects the page) misses poison.",
          {"blocks": 1, "pageblocks": 1, "pages": 1, "spare": 1},
          {"population": "X", "zone": "kernel", "hwpoison": True},
          {"S5": V, "S8": V}),
    Extra("8-hwpoison", "skippable-v2-poisoned-class2", "skippable-v2",
          "v2's -EBUSY branch still refuses a poisoned class-2 page.",
          "As skippable-v1-poisoned-class2 under v2: isolation succeeds (the page is "
          "poisoned), but scan_movable_pages returns -EBUSY on the non-skippable PageOffline "
          "page before any test, so offlining fails fast (S5, L1 hold; the failure path is "
          "reached). S8 is vacuous: the block never goes offline, so the commit that "
          "computes the managed count never runs.",
          {"blocks": 1, "pageblocks": 1, "pages": 1, "spare": 1},
          {"population": "X", "zone": "kernel", "hwpoison": True},
          {"S5": H, "S8": VAC, "L1": H, "offline-can-fail-and-roll-back": R}),
    Extra("9-cover-letter", "skippable-v2-64-of-128", "skippable-v2",
          "The cover letter's test scaled down: a block half plugged by virtio-mem, "
          "onlined and offlined repeatedly, under v2.",
          "Two subblocks of two pages: the first unplugged (fake-offline, skippable), the "
          "second plugged and used by the allocator. User space offlines and onlines the "
          "block as often as it likes; every offlining migrates or frees the plugged half "
          "and skips the unplugged half, every onlining rebuilds the fake-offline state "
          "through the online callback. The commit's checks never fire and the accounting "
          "stays exact. S4 is vacuous: no offlining ever fails here, which is why the "
          "test cannot show what a failed one does.",
          {"blocks": 1, "pageblocks": 2, "pages": 2, "spare": 2},
          {"population": "VV|ff", "allocator": True},
          {"S1": H, "S2": H, "S3": H, "S4": VAC, "S6": H, "S8": H,
           "offline-can-succeed": R}),
    Extra("9-cover-letter", "legacy-64-of-128", "legacy",
          "The cover letter's test scaled down under the old refcount-drop design.",
          "The same half-plugged block under design A: without stray references the old "
          "handshake is just as correct on this test, which is why the test could not "
          "tell the designs apart. S4 is vacuous: no offlining ever fails.",
          {"blocks": 1, "pageblocks": 2, "pages": 2, "spare": 2},
          {"population": "VV|ff", "allocator": True},
          {"S1": H, "S2": H, "S3": H, "S4": VAC, "S6": H, "S8": H,
           "offline-can-succeed": R}),
] + [
    Extra("10-all-features", f"{stem}-all-features", preset,
          f"The larger all-features configuration kept for the symbolic engines ({stem}).",
          "Three single-page subblocks (unplugged, user page, balloon page) with memory "
          "elsewhere for two migrations and every environment actor but hwpoison on: "
          f"stray reference ({stray}), signals, allocator, pfn walker, forced unload, "
          "virtio-mem unplug/plug/removal (plug and unplug also while an offlining has not "
          "reached MEM_GOING_OFFLINE), a vetoing notifier. The safety verdicts combine the "
          "scenarios of the small configurations.",
          {"blocks": 1, "pageblocks": 3, "pages": 1, "spare": 2},
          {"population": "V|L|B", "stray": stray, "signals": True, "allocator": True,
           "walker": True, "forced_unload": True, "vmem_remove": True, "vmem_unplug": True,
           "vmem_plug": True, "notifier_veto": True},
          {**expect, **ALL_FEATURES_SANITY})
    for stem, preset, stray, expect in (
        ("legacy", "legacy", "transient",
         {"S1": H, "S2": H, "S3": V, "S4": V, "S5": H, "S6": H, "S6c": V, "S7a": V,
          "S7b": V, "S8": V, "S9": V, "S10": V, "S11": V}),
        ("skippable-v2", "skippable-v2", "transient",
         {"S1": H, "S2": H, "S3": V, "S4": V, "S5": H, "S6": H, "S6c": V, "S7a": V,
          "S7b": V, "S8": V, "S9": V, "S10": V, "S11": V}),
        ("skippable-v2-before-reuse", "skippable-v2", "before-reuse",
         {"S1": H, "S2": H, "S3": H, "S4": H, "S5": H, "S6": H, "S6c": H, "S7a": V,
          "S7b": V, "S8": H, "S9": H, "S10": H, "S11": H}),
        ("skippable-v2-frozen", "skippable-v2-frozen", "transient",
         {"S1": H, "S2": H, "S3": H, "S4": H, "S5": H, "S6": H, "S6c": H, "S7a": V,
          "S7b": H, "S8": H, "S9": H, "S10": H, "S11": H}),
    )
]


@dataclass
class Outcome:
    prop: str
    verdict: str
    states: int
    length: int | None
    liveness: bool = False

    @property
    def engine(self) -> str:
        """bfs-vec for safety checks of large spaces (faster, same counts and lengths);
        bfs for liveness and for the small specs whose traces golden files follow."""
        return "bfs-vec" if self.states > VEC_THRESHOLD and not self.liveness else "bfs"


def run(preset: str, params: dict[str, int], knobs: dict[str, Any],
        props: list[str]) -> tuple[list[Outcome], float]:
    ts = Hotplug(params, knobs, preset).build()
    chosen = [ts.property(p) for p in props]
    t0 = time.time()
    found = Checker(ts).check_many(chosen, "bfs")
    out = []
    for name, p, r in zip(props, chosen, found, strict=True):
        n = len(r.trace) if r.trace is not None and r.verdict.value == V else None
        out.append(Outcome(name, r.verdict.value, r.stats.distinct_states, n,
                           isinstance(p, LeadsTo)))
    return out, time.time() - t0


def verdict_line(outcomes: list[Outcome]) -> str:
    """"S3, S4 violated; S1 holds; ..." in the order of the checks."""
    groups: dict[str, list[str]] = {}
    for o in outcomes:
        groups.setdefault(o.verdict, []).append(o.prop)
    def word(verdict: str, n: int) -> str:
        if verdict == H:
            return "holds" if n == 1 else "hold"
        return verdict
    return "; ".join(f"{', '.join(props)} {word(v, len(props))}" for v, props in groups.items())


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return '"' + str(v).replace('"', '\\"') + '"'


def inline(d: dict[str, Any]) -> str:
    return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in d.items()) + " }"


def render(comment: str, preset: str, params: dict[str, int], knobs: dict[str, Any],
           description: str, outcomes: list[Outcome]) -> str:
    lines = [f"# {comment}", 'model = "hotplug"', f'preset = "{preset}"',
             f"params = {inline(params)}", f"knobs = {inline(knobs)}",
             f"description = {toml_value(description)}", ""]
    for o in outcomes:
        lines += ["[[check]]", f'property = "{o.prop}"', f'engine = "{o.engine}"',
                  f'expect = "{o.verdict}"', f"expect_states = {o.states}"]
        if o.length is not None:
            lines.append(f"expect_trace_length = {o.length}")
        lines.append("")
    return "\n".join(lines)


def main(write: bool) -> int:
    problems = 0
    total = 0.0
    files: dict[Path, str] = {}
    for fam in FAMILIES:
        for col, (preset, design) in COLUMNS.items():
            knobs = {**fam.knobs, **design, **fam.knobs_for.get(col, {})}
            props = list(fam.expect)
            outcomes, secs = run(preset, fam.params, knobs, props)
            total += secs
            for o in outcomes:
                want = fam.expect[o.prop][col]
                if o.verdict != want:
                    problems += 1
                    print(f"MISMATCH {fam.folder}/{col}: {o.prop} expected {want}, "
                          f"got {o.verdict}")
            comment = f"{col} on {fam.summary}: {verdict_line(outcomes)}."
            why = f"{fam.why} {fam.notes[col]}" if col in fam.notes else fam.why
            files[HERE / fam.folder / f"{col}.toml"] = render(
                comment, preset, fam.params, knobs, why, outcomes)
            print(f"{fam.folder}/{col}: {outcomes[0].states} states, {secs:.2f}s")
    for ex in EXTRAS:
        outcomes, secs = run(ex.preset, ex.params, ex.knobs, list(ex.expect))
        total += secs
        for o in outcomes:
            if o.verdict != ex.expect[o.prop]:
                problems += 1
                print(f"MISMATCH {ex.folder}/{ex.stem}: {o.prop} expected "
                      f"{ex.expect[o.prop]}, got {o.verdict}")
        files[HERE / ex.folder / f"{ex.stem}.toml"] = render(
            ex.comment, ex.preset, ex.params, ex.knobs, ex.description, outcomes)
        print(f"{ex.folder}/{ex.stem}: {outcomes[0].states} states, {secs:.2f}s")
    print(f"total {total:.1f}s, {problems} mismatches")
    if write and not problems:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        print(f"wrote {len(files)} spec files")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main("--write" in sys.argv))
