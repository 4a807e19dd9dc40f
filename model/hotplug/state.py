"""The state of the hotplug model and the page predicates every kernel step reads.

Pages carry their type, owner class, the owner's part of the refcount, the
PG_offline_skippable and PG_hwpoison bits; free-list membership is derived (a
PageBuddy page sits on the isolate list exactly when its pageblock is isolated,
docs/hotplug.md#page-states). The stray part of the refcount belongs to one
speculative holder: ``stray_at`` says which page it believes it holds and
``stray_counted`` whether that reference is really in the page's count (memmap
re-initialisation and the newest virtio-mem cancel handler lose it,
docs/hotplug.md#speculative-references). So page_count(p) = ref_owner[p] + (1 if the
holder's counted reference is on p).
"""

from __future__ import annotations

from typing import Any

from ..base import Declarations, Model, init
from ..domains import Bool, Enum, EnumDomain, IntRange, UserValue
from ..dsl import Effect, Operand, StateView, Term, all_of, any_of, ite, then
from ..errors import ModelError
from ..expr import Assign, Const, Var
from .knobs import KNOBS, PARAMS, PRESET_SOURCE, PRESETS
from .population import Layout, parse

PageType = Enum("PageType", ["none", "Buddy", "Offline"])
Owner = Enum("Owner", ["none", "lru", "pinned", "kernel", "balloon", "class2", "vmem"])
BlockState = Enum("BlockState", ["online", "going_offline", "offline", "removed"])
Zone = Enum("Zone", ["ZONE_NORMAL", "ZONE_MOVABLE"])
#: Where the offline_pages operation stands (docs/hotplug.md#offline-pages, one label
#: per step).
Step = Enum("OfflineStep", [
    "idle",            # no offlining in progress
    "isolate",         # device_offline called; start_isolate_page_range next
    "going_offline",   # pageblocks isolated; MEM_GOING_OFFLINE next
    "notify_rest",     # virtio-mem saw MEM_GOING_OFFLINE; later notifiers next
    "scan",            # top of the migration loop: signal, pass limit, scan_movable_pages
    "migrate",         # do_migrate_range from scan_pfn next
    "test",            # scan said -ENOENT: dissolve + test_pages_isolated next
    "commit",          # test passed: __offline_isolated_pages next
    "offlined",        # sections offline: MEM_OFFLINE + remove_pfn_range_from_zone next
    "remove",          # offline_and_remove_memory: try_remove_memory next
    "undo",            # failure: undo_isolate_page_range next
    "cancel",          # failure: MEM_CANCEL_OFFLINE next
])
Caller = Enum("Caller", ["none", "user", "kthread"])
Callback = Enum("OnlinePageCallback", ["generic_online_page", "virtio_mem_online_page_cb"])

LRU_OWNERS = ("lru", "pinned")


def term(value: Any) -> Term:
    """``value`` as a Term (state views are untyped; this keeps mypy strict)."""
    if not isinstance(value, Term):
        raise ModelError(f"expected a model expression, got {value!r}")
    return value


def label(domain: EnumDomain, name: str) -> Term:
    """The constant ``name`` of an enum, as a term (for ite with two labels)."""
    return Term(Const(domain.encode(name, f"label of {domain.name}"), domain))


class Updates:
    """Simultaneous updates collected by target; a later ``set`` of a target wins."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, int | None], tuple[Term, Operand]] = {}

    def set(self, target: Term, value: Operand) -> None:
        node = target.node
        if not isinstance(node, Var) or not (node.index is None or isinstance(node.index, Const)):
            raise ModelError("Updates.set needs a variable with a constant index")
        key = (node.name, node.index.value if isinstance(node.index, Const) else None)
        self._items[key] = (target, value)

    def assigns(self) -> list[Assign]:
        return [target.becomes(value) for target, value in self._items.values()]


class HotplugBase(Model):
    """Declarations, the initial state and shared page predicates of the hotplug model."""

    name = "hotplug"
    summary = ("Linux memory hot(un)plug: PageOffline pages, isolation, offline_pages, "
               "virtio-mem and balloons under the designs of the PG_offline_skippable thread")
    params = PARAMS
    knobs = KNOBS
    presets = PRESETS
    preset_sources = PRESET_SOURCE

    def __init__(self, params: Any = None, knobs: Any = None, preset: str | None = None) -> None:
        super().__init__(params, knobs, preset)
        self.layout: Layout = parse(str(self.k.population), self.p.blocks, self.p.pageblocks,
                                    self.p.pages)
        if (self.layout.has("B") and not self.k.balloon_compaction
                and self.k.zone == "movable"):
            raise ModelError(
                "model hotplug: population has balloon pages (B) in ZONE_MOVABLE but "
                "balloon_compaction is off: without migration support balloon pages are "
                "allocated with GFP_HIGHUSER and never come from ZONE_MOVABLE "
                "(docs/hotplug.md#balloon-pages); use zone=kernel")
        if self.k.debug_vm and self.k.free_path == "no-checks":
            raise ModelError(
                "model hotplug: knob debug_vm=true with free_path=no-checks: CONFIG_DEBUG_VM "
                "turns the page checks on (check_pages_enabled); use free_path=checks or v6.17")

    # -- declarations ---------------------------------------------------------------
    def declare(self, d: Declarations) -> None:
        lay = self.layout
        n = lay.n_pages
        pfns = [f"pfn{p}" for p in range(n)]
        d.index("page", n, labels=pfns, ordered=True)
        d.index("pageblock", lay.n_pageblocks, labels=[f"pb{q}" for q in range(lay.n_pageblocks)],
                ordered=True)
        d.index("block", lay.blocks, labels=[f"memory{b}" for b in range(lay.blocks)],
                ordered=True)
        # functional membership (docs/hotplug.md#proofs-for-every-size)
        d.function("pageblock_of", "page", "pageblock", lay.pageblock_of)
        d.function("block_of", "page", "block", lay.block_of)
        d.function("block_of_pageblock", "pageblock", "block", lambda q: q // lay.pageblocks)
        d.var("ptype", PageType, over="page", doc="page type: none, PageBuddy or PageOffline")
        d.var("owner", Owner, over="page", doc="who owns the page (ghost: the owner class)")
        d.var("ref_owner", IntRange(-2, 3), over="page",
              doc="refcount minus the stray holder's counted reference")
        d.var("skippable", Bool, over="page", doc="PG_offline_skippable (aliases PG_owner_2)")
        d.var("hwpoison", Bool, over="page", doc="PG_hwpoison")
        d.var("dirty", Bool, over="page",
              doc="PG_dirty: a fake-offline page the online callback kept (never onlined)")
        d.var("isolated", Bool, over="pageblock", doc="pageblock is MIGRATE_ISOLATE")
        d.var("plugged", Bool, over="pageblock",
              doc="virtio-mem subblock plugged at the hypervisor")
        d.var("block_state", BlockState, over="block", doc="memory block state (sysfs)")
        d.var("zone", Zone, over="block", doc="zone the block is onlined to")
        d.var("section_online", Bool, over="block", doc="the sections' online bit")
        d.var("memmap_valid", Bool, over="block", doc="struct pages initialised (not poisoned)")
        ppb = lay.pages_per_block
        # Below zero when pages are subtracted twice: a stray put frees an owner's page
        # without adding it back, the owner's next take subtracts it again (once per
        # stray get), and the commit subtracts poisoned PageOffline pages their owner had
        # already subtracted (up to every page). Measured lowest: -(ppb + stray gets).
        d.var("managed", IntRange(-2 * ppb - 2, ppb), over="block",
              doc="the block's contribution to the zone's managed page count")
        d.var("pc", Step, doc="where offline_pages stands")
        d.var("op_block", IntRange(0, lay.blocks - 1), doc="the block being offlined")
        d.var("caller", Caller, doc="who offlines: user space (sysfs) or a kernel thread")
        d.var("scan_pfn", IntRange(0, ppb - 1), doc="where the next scan starts (block offset)")
        d.var("passes", IntRange(0, int(self.k.offline_migrate_max_passes)),
              doc="offline_pages' pass counter (advances only with a pass limit)")
        d.var("signal", Bool, doc="a signal is pending for the offlining task")
        d.var("stray_at", Enum("Stray", ["unused", *pfns, "released"]),
              doc="the page the speculative holder holds a reference to")
        d.var("stray_counted", Bool, doc="the holder's reference is in that page's refcount")
        d.var("stray_gets_left", IntRange(0, int(self.k.stray_gets)),
              doc="how many more references the holder may take")
        d.var("bad_put", Bool, doc="ghost: a reference was put that was not counted (S10)")
        d.var("exposed", Bool,
              doc="ghost: a put freed a page of an unplugged subblock to the buddy (S3's race)")
        d.var("vm_bug", Bool, doc="ghost: a VM_BUG_ON fired (CONFIG_DEBUG_VM, S13)")
        d.var("unload_clean", Bool,
              doc="ghost: at the unload every unplugged page was still fake-offline (S9)")
        d.var("walker_at", Enum("Walker", ["none", *pfns]),
              doc="the page a pfn walker got from pfn_to_online_page")
        d.var("vmem_loaded", Bool, doc="virtio-mem driver loaded (memory notifier registered)")
        d.var("vmem_removing", Bool,
              doc="vm->removing: the unload has begun; the notifier vetoes, the work item "
                  "is stopped")
        d.var("online_page_callback", Callback, doc="the system-wide online page callback")
        d.var("hotplug_active", Bool,
              doc="virtio-mem saw MEM_GOING_OFFLINE and holds hotplug_mutex")
        d.var("spare", IntRange(0, self.p.spare), doc="free pages elsewhere")
        d.var("balloon_elsewhere", IntRange(0, self.p.spare),
              doc="balloon pages migrated out to other memory")

    @init
    def start(self, s: StateView) -> Effect:
        """All blocks online, every page as its population letter says."""
        lay = self.layout
        u = Updates()
        for p in range(lay.n_pages):
            owner = lay.owner(p)
            if owner == "none":
                ptype, ref = "Buddy", 0
            elif owner in ("balloon", "class2", "vmem"):
                ptype, ref = "Offline", self.offline_ref(owner)
            else:
                ptype, ref = "none", 1
            u.set(s.ptype[p], ptype)
            u.set(s.owner[p], owner)
            u.set(s.ref_owner[p], ref)
            u.set(s.skippable[p], owner == "vmem" and self.k.consent == "skippable-flag")
            # The block was onlined with this subblock unplugged: the callback kept it.
            u.set(s.dirty[p], owner == "vmem")
        for q in range(lay.n_pageblocks):
            u.set(s.plugged[q], not lay.unplugged(q))
        for b in range(lay.blocks):
            u.set(s.block_state[b], "online")
            u.set(s.zone[b], "ZONE_MOVABLE" if self.k.zone == "movable" else "ZONE_NORMAL")
            u.set(s.section_online[b], True)
            u.set(s.memmap_valid[b], True)
            u.set(s.managed[b], sum(1 for p in lay.pages_of_block(b)
                                    if lay.owner(p) not in ("balloon", "class2", "vmem")))
        u.set(s.pc, "idle")
        u.set(s.op_block, 0)
        u.set(s.scan_pfn, 0)
        u.set(s.passes, 0)
        vmem = lay.has("V")
        u.set(s.vmem_loaded, vmem)
        u.set(s.vmem_removing, False)
        u.set(s.online_page_callback,
              "virtio_mem_online_page_cb" if vmem else "generic_online_page")
        u.set(s.spare, self.p.spare)
        u.set(s.balloon_elsewhere, 0)
        u.set(s.stray_gets_left, int(self.k.stray_gets) if self.k.stray != "off" else 0)
        u.set(s.unload_clean, True)
        return then(*u.assigns())

    # -- geometry -------------------------------------------------------------------
    def pages_of(self, b: int) -> range:
        return self.layout.pages_of_block(b)

    def pageblocks_of(self, b: int) -> range:
        return self.layout.pageblocks_of_block(b)

    def pb(self, p: int) -> int:
        return self.layout.pageblock_of(p)

    def blk(self, p: int) -> int:
        return self.layout.block_of(p)

    def is_op(self, s: StateView, b: int, step: str) -> Term:
        """offline_pages of block ``b`` stands at ``step``."""
        if self.layout.blocks == 1:
            return term(s.pc == step)
        return term((s.pc == step) & (s.op_block == b))

    # -- page predicates (docs/hotplug.md#page-states, #offline-pages) ----------------
    def page_count(self, s: StateView, p: int) -> Term:
        """page_count(): the owner's part plus the holder's counted reference."""
        held = (s.stray_at == f"pfn{p}") & s.stray_counted
        return term(s.ref_owner[p] + ite(held, 1, 0))

    def stray_counted_on(self, s: StateView, p: int) -> Term:
        return term((s.stray_at == f"pfn{p}") & s.stray_counted)

    def is_lru(self, s: StateView, p: int) -> Term:
        """PageLRU: a user folio (pinned ones too) that memory_failure did not hit."""
        # memory_failure takes a page it hit off the LRU (delete_from_lru_cache), also
        # when extra references (a pin) keep it in use.
        return term(any_of(s.owner[p] == o for o in LRU_OWNERS) & (s.ptype[p] == "none")
                    & ~s.hwpoison[p])

    def movable_ops(self, s: StateView, p: int) -> Term:
        """page_has_movable_ops: a balloon page with CONFIG_BALLOON_COMPACTION."""
        if not self.k.balloon_compaction:
            return all_of([False])
        return term((s.ptype[p] == "Offline") & (s.owner[p] == "balloon"))

    def skippable_core(self, s: StateView, p: int) -> Term:
        """The core's "this PageOffline page may be skipped" test of the chosen design."""
        consent = self.k.consent
        offline = s.ptype[p] == "Offline"
        if consent == "skippable-flag":
            return term(offline & s.skippable[p])
        if consent == "not-movable-rule":
            return term(offline & ~self.movable_ops(s, p))
        return term(offline & (self.page_count(s, p) == 0))

    def uses_flag_core(self) -> bool:
        """Designs D, E, F: the core decides skippability before MEM_GOING_OFFLINE."""
        return self.k.consent in ("skippable-flag", "not-movable-rule")

    def frozen(self, owner: str) -> bool:
        """The owner's PageOffline pages are frozen (refcount 0 for good)."""
        knob = {"vmem": "frozen_vmem", "balloon": "frozen_balloon", "class2": "frozen_class2"}
        return bool(getattr(self.k, knob[owner]))

    def offline_ref(self, owner: str = "vmem") -> int:
        """The refcount an owner keeps on its PageOffline pages (0 when frozen)."""
        return 0 if self.frozen(owner) else 1

    def page_checks(self) -> bool:
        """Page checks on the free and alloc paths (free_page_is_bad, check_new_page)."""
        return self.k.free_path == "checks" or bool(self.k.debug_vm)

    def unplugged_vmem(self, s: StateView, p: int) -> Term:
        """Page ``p`` is in a subblock virtio-mem (loaded) has unplugged."""
        if not self.layout.has("V"):
            return all_of([False])
        return term(s.vmem_loaded & ~s.plugged[self.pb(p)])

    def freed(self, u: Updates, s: StateView, p: int, cond: Operand = True) -> None:
        """The page is freed to the buddy when ``cond``: type Buddy, no owner, flags clear.

        Since v6.17 the free path clears any page type (docs/hotplug.md#page-states); the page
        lands on its pageblock's list, the isolate list if the pageblock is isolated.
        """
        # A poisoned page is never handed back to the buddy: free_pages_prepare returns
        # before it resets the type and the flags, so a PageOffline page stays one.
        buddy = ite(s.hwpoison[p], s.ptype[p], "Buddy")
        u.set(s.ptype[p], ite(cond, buddy, s.ptype[p]))
        u.set(s.owner[p], ite(cond, "none", s.owner[p]))
        u.set(s.ref_owner[p], ite(cond, 0, s.ref_owner[p]))
        u.set(s.skippable[p], ite(cond, s.skippable[p] & s.hwpoison[p], s.skippable[p]))
        u.set(s.dirty[p], ite(cond, s.dirty[p] & s.hwpoison[p], s.dirty[p]))

    def put_freed(self, u: Updates, s: StateView, p: int, cond: Term) -> None:
        """The last put of a page frees it when ``cond``, by the configured free path.

        v6.17 and no-checks: the page reaches the buddy whatever its type. checks (older
        kernels with page checks): a page that still has a type is a bad page; bad_page
        resets the type and leaks the page, flags and owner's belief untouched.
        """
        reaches_buddy = cond
        if self.k.free_path != "checks":
            self.freed(u, s, p, cond)
        else:
            leak = cond & (s.ptype[p] == "Offline") & ~s.hwpoison[p]
            normal = cond & ~leak
            self.freed(u, s, p, normal)
            freed_type = ite(s.hwpoison[p], s.ptype[p], "Buddy")
            u.set(s.ptype[p], ite(leak, label(PageType, "none"),
                                  ite(normal, freed_type, s.ptype[p])))
            u.set(s.ref_owner[p], ite(cond, 0, s.ref_owner[p]))
            reaches_buddy = normal
        if self.layout.has("V"):
            u.set(s.exposed, s.exposed | (reaches_buddy & ~s.hwpoison[p]
                                          & self.unplugged_vmem(s, p)))

    def op_done(self, u: Updates, s: StateView) -> None:
        """offline_pages returned: reset the per-call locals."""
        u.set(s.pc, "idle")
        u.set(s.caller, "none")
        u.set(s.scan_pfn, 0)
        u.set(s.passes, 0)
        u.set(s.signal, False)
        if self.layout.blocks > 1:
            u.set(s.op_block, 0)

    def flag(self, name: str) -> bool:
        """A boolean knob's value."""
        value: UserValue = getattr(self.k, name)
        return bool(value)

    #: What the parametric build (the forall engine) still needs from this model; the
    #: finite build is complete (docs/hotplug.md#proofs-for-every-size).
    parametric_gaps = (
        "its actions and properties loop over a block's pages in Python (pages_of) "
        "instead of forall/exists with the declared block_of; start_isolate_page_range, "
        "undo_isolate_page_range and remove_pfn_range_from_zone update every pageblock or "
        "page of a block at once with Python loops (update_all says it for every size); "
        "scan_pfn is an offset inside a block (it needs the pfn order restricted to one "
        "block, a non-wrapping successor); stray_at and walker_at are enums of pfn labels, "
        "not page elements; "
        "managed, spare, balloon_elsewhere and do_migrate_range's moved count are counts "
        "(integer arithmetic over pages, outside EPR); the population is a string, not "
        "a declared attribute of pages (an owner class per page) that an update_all in "
        "the @init could read, and the initial state is built from it element by "
        "element; the parsed layout is "
        "read in Python throughout; do_migrate_range moves pages while a count lasts")
