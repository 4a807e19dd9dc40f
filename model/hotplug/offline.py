"""offline_pages as a sequence of interleavable steps (docs/hotplug.md#offline-pages).

One step per kernel decision, in the kernel's order: start_isolate_page_range with
has_unmovable_pages, MEM_GOING_OFFLINE, the migration loop (signal check, pass
limit, scan_movable_pages, do_migrate_range; the next scan starts at the pfn the last
one returned), test_pages_isolated, __offline_isolated_pages, MEM_OFFLINE with
memmap poisoning; on failure undo_isolate_page_range and only then
MEM_CANCEL_OFFLINE. Environment actions interleave between any two steps.
"""

from __future__ import annotations

from ..base import action
from ..dsl import Effect, StateView, Term, all_of, any_of, count, ite, when
from .state import Caller, HotplugBase, Step, Updates, label, term

ALL = ("A", "B", "C", "D", "E", "F")
HP = "mm/memory_hotplug.c"
ISO = "mm/page_isolation.c"


class OfflineSteps(HotplugBase):
    """The steps of offline_pages and offline_and_remove_memory."""

    # -- page predicates of the checks, in the kernel's order ------------------------
    def unmovable(self, s: StateView, p: int) -> Term:
        """page_is_unmovable in offline mode (docs/hotplug.md#isolation); ZONE_MOVABLE: never."""
        if self.k.zone == "movable":
            return all_of([False])
        if self.k.consent in ("refcount-drop", "free-to-buddy"):
            offline_ok = s.ptype[p] == "Offline"
        else:
            offline_ok = self.skippable_core(s, p)
        movable = (self.page_count(s, p) == 0) | s.hwpoison[p] | offline_ok
        movable = movable | self.is_lru(s, p) | self.movable_ops(s, p)
        return term(~movable)

    def scan_found(self, s: StateView, p: int) -> Term:
        """scan_movable_pages step 1: PageLRU or movable ops."""
        return self.is_lru(s, p) | self.movable_ops(s, p)

    def scan_busy(self, s: StateView, p: int) -> Term:
        """scan_movable_pages step 2: the -EBUSY branch for an unskippable PageOffline page."""
        if not self.k.ebusy_branch:
            return all_of([False])
        offline = s.ptype[p] == "Offline"
        if self.uses_flag_core():
            cond = offline & ~self.skippable_core(s, p)
        else:
            cond = offline & (self.page_count(s, p) != 0)
        return term(~self.scan_found(s, p) & cond)

    def scan_passes(self, s: StateView, p: int) -> Term:
        """scan_movable_pages steps 3-4: the walk continues past this page."""
        return ~self.scan_found(s, p) & ~self.scan_busy(s, p)

    def test_ok(self, s: StateView, p: int) -> Term:
        """__test_page_isolated_in_pageblock in offline mode
        (docs/hotplug.md#the-test)."""
        if self.uses_flag_core():
            offline_ok = self.skippable_core(s, p)
        else:
            offline_ok = (s.ptype[p] == "Offline") & (self.page_count(s, p) == 0)
        return term((s.ptype[p] == "Buddy") | s.hwpoison[p] | offline_ok)

    def counted_managed(self, s: StateView, p: int) -> Term:
        """__offline_isolated_pages returns the range minus its PageOffline pages. A
        poisoned non-buddy page is skipped before the PageOffline test, so it counts as
        managed even when it is PageOffline (memory_failure kept a used page managed; an
        owner of a PageOffline page had already subtracted it)."""
        return term((s.ptype[p] != "Offline") | s.hwpoison[p])

    def scan_ready(self, s: StateView, b: int) -> Term:
        """At the top of an inner-loop pass with no signal and the pass limit not hit."""
        ready = self.is_op(s, b, "scan") & ~s.signal
        limit = int(self.k.offline_migrate_max_passes)
        if limit:
            ready = ready & (s.passes < limit)
        return term(ready)

    def pass_done(self, u: Updates, s: StateView) -> None:
        if int(self.k.offline_migrate_max_passes):
            u.set(s.passes, s.passes + 1)

    def begin(self, s: StateView, b: int, caller: str) -> Updates:
        u = Updates()
        u.set(s.block_state[b], "going_offline")
        u.set(s.pc, "isolate")
        u.set(s.caller, caller)
        if self.layout.blocks > 1:
            u.set(s.op_block, b)
        return u

    # -- callers --------------------------------------------------------------------
    @action(switch="user_offline=true",
            b="block", cites="drivers/base/memory.c memory_block_offline -> "
            f"{HP} offline_pages (docs/hotplug.md#offline-pages)", tags=ALL)
    def memory_block_offline(self, s: StateView, b: int) -> Effect | None:
        """User space writes "offline" to the block's sysfs state (a signallable task)."""
        if not self.k.user_offline:
            return None
        return when(s.pc == "idle", s.block_state[b] == "online").then(
            *self.begin(s, b, "user").assigns())

    @action(switch="kthread_offline=true", b="block", cites=f"{HP} offline_and_remove_memory"
              " (docs/hotplug.md#removal-and-pfn-walkers)", tags=ALL)
    def offline_and_remove_memory(self, s: StateView, b: int) -> Effect | None:
        """A kernel thread (ACPI eject) offlines and then removes the block: no signals."""
        if not self.k.kthread_offline:
            return None
        return when(s.pc == "idle", s.block_state[b] == "online").then(
            *self.begin(s, b, "kthread").assigns())

    # -- isolation ------------------------------------------------------------------
    @action(b="block", fair=True, tags=ALL,
            cites=f"{ISO} start_isolate_page_range, has_unmovable_pages"
                  " (docs/hotplug.md#isolation)")
    def start_isolate_page_range(self, s: StateView, b: int) -> Effect:
        """Every pageblock passes has_unmovable_pages: isolate them all."""
        u = Updates()
        for q in self.pageblocks_of(b):
            u.set(s.isolated[q], True)
        u.set(s.pc, "going_offline")
        clean = all_of(~self.unmovable(s, p) for p in self.pages_of(b))
        return when(self.is_op(s, b, "isolate"), clean).then(*u.assigns())

    @action(b="block", fair=True, tags=ALL,
            cites=f"{ISO} start_isolate_page_range, has_unmovable_pages"
                  " (docs/hotplug.md#isolation)")
    def start_isolate_page_range_ebusy(self, s: StateView, b: int) -> Effect | None:
        """An unmovable page: "failure to isolate range", no notifier event at all."""
        if self.k.zone == "movable":
            return None
        u = Updates()
        u.set(s.block_state[b], "online")
        self.op_done(u, s)
        dirty = any_of(self.unmovable(s, p) for p in self.pages_of(b))
        return when(self.is_op(s, b, "isolate"), dirty).then(*u.assigns())

    # -- MEM_GOING_OFFLINE ----------------------------------------------------------
    def going_offline_next(self) -> str:
        return "notify_rest" if self.k.notifier_veto else "scan"

    def vmem_going_offline(self, u: Updates, s: StateView, b: int) -> None:
        """virtio-mem's MEM_GOING_OFFLINE handler; provided by the virtio-mem mixin."""
        raise NotImplementedError

    def vmem_cancel_offline(self, u: Updates, s: StateView, b: int) -> None:
        """virtio-mem's MEM_CANCEL_OFFLINE handler; provided by the virtio-mem mixin."""
        raise NotImplementedError

    @action(b="block", fair=True, tags=ALL,
            cites="drivers/virtio/virtio_mem.c virtio_mem_memory_notifier_cb MEM_GOING_OFFLINE "
                  "(docs/hotplug.md#virtio-mem-notifier-handlers)")
    def virtio_mem_memory_notifier_going_offline(self, s: StateView, b: int) -> Effect | None:
        """memory_notify(MEM_GOING_OFFLINE) reaches virtio-mem's handler first."""
        if not self.layout.has("V"):
            return None
        u = Updates()
        self.vmem_going_offline(u, s, b)
        u.set(s.pc, self.going_offline_next())
        return when(self.is_op(s, b, "going_offline"), s.vmem_loaded,
                    ~s.vmem_removing).then(*u.assigns())

    @action(switch="forced_unload=true", b="block", fair=True, tags=ALL,
            cites="drivers/virtio/virtio_mem.c virtio_mem_memory_notifier_cb MEM_GOING_OFFLINE "
                  "(vm->removing: -EBUSY) (docs/hotplug.md#forced-unload)")
    def virtio_mem_memory_notifier_going_offline_removing(self, s: StateView,
                                                          b: int) -> Effect | None:
        """The unload has begun: virtio-mem's handler takes hotplug_mutex, sees
        vm->removing, drops the mutex and vetoes MEM_GOING_OFFLINE with -EBUSY; the
        failure path follows."""
        if not self.layout.has("V") or not self.k.forced_unload:
            return None
        return when(self.is_op(s, b, "going_offline"), s.vmem_loaded,
                    s.vmem_removing).then(s.pc.becomes("undo"))

    @action(b="block", fair=True, tags=ALL,
            cites="drivers/base/memory.c memory_notify MEM_GOING_OFFLINE"
                  " (docs/hotplug.md#memory-notifiers)")
    def memory_notify_going_offline(self, s: StateView, b: int) -> Effect:
        """MEM_GOING_OFFLINE with no virtio-mem notifier registered."""
        return when(self.is_op(s, b, "going_offline"), ~s.vmem_loaded).then(
            s.pc.becomes(self.going_offline_next()))

    @action(switch="notifier_veto=true", b="block", fair=True, tags=ALL,
            cites=f"{HP} offline_pages node_notify(NODE_REMOVING_LAST_MEMORY)"
                  " (docs/hotplug.md#memory-notifiers)")
    def node_notify_removing_last_memory_veto(self, s: StateView, b: int) -> Effect | None:
        """A node notifier vetoes before MEM_GOING_OFFLINE: MEM_CANCEL_OFFLINE will follow
        with no MEM_GOING_OFFLINE before it."""
        if not self.k.notifier_veto:
            return None
        return when(self.is_op(s, b, "going_offline")).then(s.pc.becomes("undo"))

    @action(switch="notifier_veto=true", b="block", fair=True, tags=ALL,
            cites="mm/memory-notifier-error-inject.c via memory_notify"
                  " (docs/hotplug.md#memory-notifiers)")
    def memory_notifier_error_inject_veto(self, s: StateView, b: int) -> Effect | None:
        """A later notifier vetoes MEM_GOING_OFFLINE: "notifier failure"."""
        if not self.k.notifier_veto:
            return None
        return when(self.is_op(s, b, "notify_rest")).then(s.pc.becomes("undo"))

    @action(b="block", fair=True, tags=ALL,
            cites="drivers/base/memory.c memory_notify MEM_GOING_OFFLINE"
                  " (docs/hotplug.md#memory-notifiers)")
    def memory_notify_going_offline_rest(self, s: StateView, b: int) -> Effect | None:
        """The rest of the notifier chain accepts MEM_GOING_OFFLINE."""
        if not self.k.notifier_veto:
            return None
        return when(self.is_op(s, b, "notify_rest")).then(s.pc.becomes("scan"))

    # -- the migration loop ---------------------------------------------------------
    @action(b="block", fair=True, tags=ALL, cites=f"{HP} offline_pages"
              " (docs/hotplug.md#the-migration-loop)")
    def offline_pages_signal_backoff(self, s: StateView, b: int) -> Effect | None:
        """signal_pending(): fail with -EINTR ("signal backoff")."""
        if not self.k.signals:
            return None
        return when(self.is_op(s, b, "scan"), s.signal).then(s.pc.becomes("undo"))

    @action(switch="offline_migrate_max_passes=1", b="block", fair=True, tags=ALL,
            cites=f"{HP} offline_pages, newest mm tree only (docs/hotplug.md#the-migration-loop)")
    def offline_pages_retry_limit(self, s: StateView, b: int) -> Effect | None:
        """offline_migrate_max_passes reached: -EBUSY ("retry limit exceeded")."""
        limit = int(self.k.offline_migrate_max_passes)
        if not limit:
            return None
        return when(self.is_op(s, b, "scan"), ~s.signal, s.passes >= limit).then(
            s.pc.becomes("undo"))

    def scanned_past(self, s: StateView, b: int, p: int) -> Term:
        """Every page of the block from scan_pfn up to (not including) ``p`` is passed over."""
        lay = self.layout
        first = lay.pages_of_block(b).start
        return all_of((s.scan_pfn > lay.offset_in_block(q)) | self.scan_passes(s, q)
                      for q in range(first, p))

    @action(b="block", p="page", fair=True, tags=ALL,
            cites=f"{HP} scan_movable_pages (docs/hotplug.md#the-scan)")
    def scan_movable_pages(self, s: StateView, b: int, p: int) -> Effect | None:
        """The scan finds a movable page (LRU or movable ops) at ``p``: migrate from there."""
        if self.blk(p) != b:
            return None
        u = Updates()
        u.set(s.scan_pfn, self.layout.offset_in_block(p))
        u.set(s.pc, "migrate")
        self.pass_done(u, s)
        return when(self.scan_ready(s, b), s.scan_pfn <= self.layout.offset_in_block(p),
                    self.scanned_past(s, b, p), self.scan_found(s, p)).then(*u.assigns())

    @action(b="block", p="page", fair=True, tags=("A", "B", "C", "E", "F"),
            cites=f"{HP} scan_movable_pages, offline_pages (docs/hotplug.md#the-ebusy-branch)")
    def scan_movable_pages_ebusy(self, s: StateView, b: int, p: int) -> Effect | None:
        """A definitely unmovable PageOffline page at ``p``: fail with "unmovable page"."""
        if self.blk(p) != b or not self.k.ebusy_branch:
            return None
        return when(self.scan_ready(s, b), s.scan_pfn <= self.layout.offset_in_block(p),
                    self.scanned_past(s, b, p), self.scan_busy(s, p)).then(
            s.pc.becomes("undo"))

    @action(b="block", fair=True, tags=ALL, cites=f"{HP} scan_movable_pages"
              " (docs/hotplug.md#the-scan)")
    def scan_movable_pages_enoent(self, s: StateView, b: int) -> Effect:
        """Nothing movable from scan_pfn to the end: leave the inner loop with -ENOENT."""
        end = self.pages_of(b).stop
        u = Updates()
        u.set(s.pc, "test")
        self.pass_done(u, s)
        return when(self.scan_ready(s, b), self.scanned_past(s, b, end)).then(*u.assigns())

    @action(b="block", start=range(64), fair=True, tags=ALL,
            cites=f"{HP} do_migrate_range; mm/migrate.c migrate_pages; mm/balloon.c "
                  "balloon_page_migrate (docs/hotplug.md#migration)")
    def do_migrate_range(self, s: StateView, b: int, start: int) -> Effect | None:
        """Isolate and migrate every movable folio from ``start`` to the block's end.

        folio_try_get fails on refcount 0 (dropped or frozen PageOffline pages; a balloon
        page under refcount-free balloon migration needs none); skippable pages are
        skipped first (D/E/F); a pinned folio or one with an extra reference
        fails to migrate; a page moves only while free memory elsewhere lasts. The freed
        source lands on the isolate list.
        """
        lay = self.layout
        if start >= lay.pages_per_block:
            return None
        u = Updates()
        taken: Term = count([])
        balloons: Term = count([])
        for p in self.pages_of(b):
            if lay.offset_in_block(p) < start:
                continue
            usable = ~s.hwpoison[p] & ~self.stray_counted_on(s, p)
            if self.uses_flag_core():
                usable = usable & ~self.skippable_core(s, p)
            tried = (self.page_count(s, p) > 0) & usable
            lru = tried & (s.owner[p] == "lru") & (s.ptype[p] == "none")
            if self.k.balloon_migration == "refcount-free":
                # Movable-ops pages are isolated without folio_try_get (mm tree).
                balloon = usable & self.movable_ops(s, p)
            else:
                balloon = tried & self.movable_ops(s, p)
            moves = (lru | balloon) & (s.spare > taken)
            self.freed(u, s, p, moves)
            taken = taken + ite(moves, 1, 0)
            balloons = balloons + ite(moves & balloon, 1, 0)
        u.set(s.spare, s.spare - taken)
        if lay.has("B"):
            u.set(s.managed[b], s.managed[b] + balloons)
            u.set(s.balloon_elsewhere, s.balloon_elsewhere + balloons)
        u.set(s.pc, "scan")
        return when(self.is_op(s, b, "migrate"), s.scan_pfn == start).then(*u.assigns())

    # -- test and commit ------------------------------------------------------------
    @action(b="block", fair=True, tags=ALL,
            cites=f"{ISO} test_pages_isolated (docs/hotplug.md#the-test); mm/hugetlb.c "
                  "dissolve_free_hugetlb_folios (no hugetlb modelled)")
    def test_pages_isolated(self, s: StateView, b: int) -> Effect:
        """Every page is free, poisoned or a PageOffline page the core may skip."""
        ok = all_of(self.test_ok(s, p) for p in self.pages_of(b))
        return when(self.is_op(s, b, "test"), ok).then(s.pc.becomes("commit"))

    @action(b="block", fair=True, tags=ALL, cites=f"{ISO} test_pages_isolated"
              " (docs/hotplug.md#the-migration-loop)")
    def test_pages_isolated_ebusy(self, s: StateView, b: int) -> Effect:
        """Some page is not isolated yet: -EBUSY, the outer loop restarts at the start."""
        bad = any_of(~self.test_ok(s, p) for p in self.pages_of(b))
        return when(self.is_op(s, b, "test"), bad).then(
            s.pc.becomes("scan"), s.scan_pfn.becomes(0))

    @action(name="__offline_isolated_pages", b="block", fair=True, tags=ALL,
            cites="mm/page_alloc.c __offline_isolated_pages; mm/memory_hotplug.c offline_pages "
                  "(docs/hotplug.md#the-commit)")
    def offline_isolated_pages(self, s: StateView, b: int) -> Effect:
        """Commit: sections offline, free pages leave the buddy, managed count drops."""
        managed = count(self.counted_managed(s, p) for p in self.pages_of(b))
        return when(self.is_op(s, b, "commit")).then(
            s.section_online[b].becomes(False), s.managed[b].becomes(s.managed[b] - managed),
            s.pc.becomes("offlined"))

    @action(b="block", fair=True, tags=ALL,
            cites=f"{HP} offline_pages MEM_OFFLINE, remove_pfn_range_from_zone, "
                  "page_init_poison (docs/hotplug.md#the-commit)")
    def remove_pfn_range_from_zone(self, s: StateView, b: int) -> Effect:
        """MEM_OFFLINE, then the memmap is poisoned: the struct pages become garbage."""
        u = Updates()
        if self.layout.has("V"):
            u.set(s.hotplug_active, False)
        u.set(s.memmap_valid[b], False)
        u.set(s.block_state[b], "offline")
        held_here = any_of(s.stray_at == f"pfn{p}" for p in self.pages_of(b))
        u.set(s.stray_counted, s.stray_counted & ~held_here)
        for p in self.pages_of(b):
            u.set(s.ptype[p], "none")
            u.set(s.owner[p], "none")
            u.set(s.ref_owner[p], 0)
            u.set(s.skippable[p], False)
        self.op_done(u, s)
        u.set(s.pc, ite(s.caller == "kthread", label(Step, "remove"), "idle"))
        u.set(s.caller, ite(s.caller == "kthread", label(Caller, "kthread"), "none"))
        return when(self.is_op(s, b, "offlined")).then(*u.assigns())

    @action(b="block", fair=True, tags=ALL, cites=f"{HP} try_remove_memory"
              " (docs/hotplug.md#removal-and-pfn-walkers)")
    def try_remove_memory(self, s: StateView, b: int) -> Effect | None:
        """offline_and_remove_memory: every block offline, so the memory is removed."""
        if not (self.k.kthread_offline or self.k.vmem_remove):
            return None
        u = Updates()
        u.set(s.block_state[b], "removed")
        self.op_done(u, s)
        return when(self.is_op(s, b, "remove")).then(*u.assigns())

    # -- failure path ---------------------------------------------------------------
    @action(b="block", fair=True, tags=ALL,
            cites=f"{ISO} undo_isolate_page_range; {HP} offline_pages (docs/hotplug.md#isolation)")
    def undo_isolate_page_range(self, s: StateView, b: int) -> Effect:
        """Failure path, first: free pages move back to normal lists, allocatable at once."""
        u = Updates()
        for q in self.pageblocks_of(b):
            u.set(s.isolated[q], False)
        u.set(s.pc, "cancel")
        return when(self.is_op(s, b, "undo")).then(*u.assigns())

    def cancel_done(self, u: Updates, s: StateView, b: int) -> None:
        u.set(s.block_state[b], "online")
        self.op_done(u, s)

    @action(b="block", fair=True, tags=ALL,
            cites="drivers/virtio/virtio_mem.c virtio_mem_memory_notifier_cb MEM_CANCEL_OFFLINE "
                  "(docs/hotplug.md#virtio-mem-notifier-handlers)")
    def virtio_mem_memory_notifier_cancel_offline(self, s: StateView,
                                                  b: int) -> Effect | None:
        """Failure path, second: MEM_CANCEL_OFFLINE reaches virtio-mem; the block is online."""
        if not self.layout.has("V"):
            return None
        u = Updates()
        self.vmem_cancel_offline(u, s, b)
        self.cancel_done(u, s, b)
        return when(self.is_op(s, b, "cancel"), s.vmem_loaded).then(*u.assigns())

    @action(b="block", fair=True, tags=ALL,
            cites="drivers/base/memory.c memory_notify MEM_CANCEL_OFFLINE"
                  " (docs/hotplug.md#memory-notifiers)")
    def memory_notify_cancel_offline(self, s: StateView, b: int) -> Effect:
        """MEM_CANCEL_OFFLINE with no virtio-mem notifier registered; the block is online."""
        u = Updates()
        self.cancel_done(u, s, b)
        return when(self.is_op(s, b, "cancel"), ~s.vmem_loaded).then(*u.assigns())
