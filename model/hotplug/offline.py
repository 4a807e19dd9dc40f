"""offline_pages as a sequence of interleavable steps (docs/hotplug.md#offline-pages).

One step per kernel decision, in the kernel's order: start_isolate_page_range with
has_unmovable_pages, MEM_GOING_OFFLINE, the migration loop (signal check, pass
limit, scan_movable_pages, do_migrate_range; the next scan starts at the pfn the last
one returned), test_pages_isolated, __offline_isolated_pages, MEM_OFFLINE with
memmap poisoning; on failure undo_isolate_page_range and only then
MEM_CANCEL_OFFLINE. Environment actions interleave between any two steps.
"""

from __future__ import annotations

from typing import Any

from ..base import action
from ..dsl import Effect, StateView, Term, all_of, count, implies, ite, minimum, when
from ..quantify import apply, finite_only, parametric_build
from .state import Caller, HotplugBase, Step, Updates, label, term

ALL = ("A", "B", "C", "D", "E", "F")
HP = "mm/memory_hotplug.c"
ISO = "mm/page_isolation.c"


class OfflineSteps(HotplugBase):
    """The steps of offline_pages and offline_and_remove_memory."""

    # -- page predicates of the checks, in the kernel's order ------------------------
    def unmovable(self, s: StateView, p: Any) -> Term:
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

    def scan_found(self, s: StateView, p: Any) -> Term:
        """scan_movable_pages step 1: PageLRU or movable ops."""
        return self.is_lru(s, p) | self.movable_ops(s, p)

    def scan_busy(self, s: StateView, p: Any) -> Term:
        """scan_movable_pages step 2: the -EBUSY branch for an unskippable PageOffline page."""
        if not self.k.ebusy_branch:
            return all_of([False])
        offline = s.ptype[p] == "Offline"
        if self.uses_flag_core():
            cond = offline & ~self.skippable_core(s, p)
        else:
            cond = offline & (self.page_count(s, p) != 0)
        return term(~self.scan_found(s, p) & cond)

    def scan_passes(self, s: StateView, p: Any) -> Term:
        """scan_movable_pages steps 3-4: the walk continues past this page."""
        return ~self.scan_found(s, p) & ~self.scan_busy(s, p)

    def test_ok(self, s: StateView, p: Any) -> Term:
        """__test_page_isolated_in_pageblock in offline mode
        (docs/hotplug.md#the-test)."""
        if self.uses_flag_core():
            offline_ok = self.skippable_core(s, p)
        else:
            offline_ok = (s.ptype[p] == "Offline") & (self.page_count(s, p) == 0)
        return term((s.ptype[p] == "Buddy") | s.hwpoison[p] | offline_ok)

    def counted_managed(self, s: StateView, p: Any) -> Term:
        """__offline_isolated_pages returns the range minus its PageOffline pages. A
        poisoned non-buddy page is skipped before the PageOffline test, so it counts as
        managed even when it is PageOffline (memory_failure kept a used page managed; an
        owner of a PageOffline page had already subtracted it)."""
        return term((s.ptype[p] != "Offline") | s.hwpoison[p])

    def scan_ready(self, s: StateView, b: Any) -> Term:
        """At the top of an inner-loop pass with no signal and the pass limit not hit."""
        ready = self.is_op(s, b, "scan") & ~s.signal
        limit = int(self.k.offline_migrate_max_passes)
        if limit:
            ready = ready & (s.passes < limit)
        return term(ready)

    def pass_done(self, u: Updates, s: StateView) -> None:
        if int(self.k.offline_migrate_max_passes):
            u.set(s.passes, s.passes + 1)

    def begin(self, s: StateView, b: Any, caller: str) -> Updates:
        u = Updates()
        u.set(s.block_state[b], "going_offline")
        u.set(s.pc, "isolate")
        u.set(s.caller, caller)
        if not self.single_block():
            u.set(s.op_block, b)
        return u

    # -- callers --------------------------------------------------------------------
    @action(switch="user_offline=true",
            b="block", cites="drivers/base/memory.c memory_block_offline -> "
            f"{HP} offline_pages (docs/hotplug.md#offline-pages)", tags=ALL)
    def memory_block_offline(self, s: StateView, b: Any) -> Effect | None:
        """User space writes "offline" to the block's sysfs state (a signallable task)."""
        if not self.k.user_offline:
            return None
        return when(s.pc == "idle", s.block_state[b] == "online").then(
            *self.begin(s, b, "user").assigns())

    @action(switch="kthread_offline=true", b="block", cites=f"{HP} offline_and_remove_memory"
              " (docs/hotplug.md#removal-and-pfn-walkers)", tags=ALL)
    def offline_and_remove_memory(self, s: StateView, b: Any) -> Effect | None:
        """A kernel thread (ACPI eject) offlines and then removes the block: no signals."""
        if not self.k.kthread_offline:
            return None
        return when(s.pc == "idle", s.block_state[b] == "online").then(
            *self.begin(s, b, "kthread").assigns())

    # -- isolation ------------------------------------------------------------------
    @action(b="block", fair=True, tags=ALL,
            cites=f"{ISO} start_isolate_page_range, has_unmovable_pages"
                  " (docs/hotplug.md#isolation)")
    def start_isolate_page_range(self, s: StateView, b: Any) -> Effect:
        """Every pageblock passes has_unmovable_pages: isolate them all."""
        u = Updates()
        u.every("pageblock", lambda q: apply("block_of_pageblock", q) == b,
                lambda q: s.isolated[q].becomes(True))
        u.set(s.pc, "going_offline")
        clean = self.every_page(b, lambda p: ~self.unmovable(s, p))
        return when(self.is_op(s, b, "isolate"), clean).then(*u.assigns())

    @action(b="block", fair=True, tags=ALL,
            cites=f"{ISO} start_isolate_page_range, has_unmovable_pages"
                  " (docs/hotplug.md#isolation)")
    def start_isolate_page_range_ebusy(self, s: StateView, b: Any) -> Effect | None:
        """An unmovable page: "failure to isolate range", no notifier event at all."""
        if self.k.zone == "movable":
            return None
        u = Updates()
        u.set(s.block_state[b], "online")
        self.op_done(u, s)
        dirty = self.some_page(b, lambda p: self.unmovable(s, p))
        return when(self.is_op(s, b, "isolate"), dirty).then(*u.assigns())

    # -- MEM_GOING_OFFLINE ----------------------------------------------------------
    def going_offline_next(self) -> str:
        return "notify_rest" if self.k.notifier_veto else "scan"

    def vmem_going_offline(self, u: Updates, s: StateView, b: Any) -> None:
        """virtio-mem's MEM_GOING_OFFLINE handler; provided by the virtio-mem mixin."""
        raise NotImplementedError

    def vmem_cancel_offline(self, u: Updates, s: StateView, b: Any) -> None:
        """virtio-mem's MEM_CANCEL_OFFLINE handler; provided by the virtio-mem mixin."""
        raise NotImplementedError

    @action(b="block", fair=True, tags=ALL,
            cites="drivers/virtio/virtio_mem.c virtio_mem_memory_notifier_cb MEM_GOING_OFFLINE "
                  "(docs/hotplug.md#virtio-mem-notifier-handlers)")
    def virtio_mem_memory_notifier_going_offline(self, s: StateView, b: Any) -> Effect | None:
        """memory_notify(MEM_GOING_OFFLINE) reaches virtio-mem's handler first."""
        if not self.may_have("V"):
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
                                                          b: Any) -> Effect | None:
        """The unload has begun: virtio-mem's handler takes hotplug_mutex, sees
        vm->removing, drops the mutex and vetoes MEM_GOING_OFFLINE with -EBUSY; the
        failure path follows."""
        if not self.may_have("V") or not self.k.forced_unload:
            return None
        return when(self.is_op(s, b, "going_offline"), s.vmem_loaded,
                    s.vmem_removing).then(s.pc.becomes("undo"))

    @action(b="block", fair=True, tags=ALL,
            cites="drivers/base/memory.c memory_notify MEM_GOING_OFFLINE"
                  " (docs/hotplug.md#memory-notifiers)")
    def memory_notify_going_offline(self, s: StateView, b: Any) -> Effect:
        """MEM_GOING_OFFLINE with no virtio-mem notifier registered."""
        return when(self.is_op(s, b, "going_offline"), ~s.vmem_loaded).then(
            s.pc.becomes(self.going_offline_next()))

    @action(switch="notifier_veto=true", b="block", fair=True, tags=ALL,
            cites=f"{HP} offline_pages node_notify(NODE_REMOVING_LAST_MEMORY)"
                  " (docs/hotplug.md#memory-notifiers)")
    def node_notify_removing_last_memory_veto(self, s: StateView, b: Any) -> Effect | None:
        """A node notifier vetoes before MEM_GOING_OFFLINE: MEM_CANCEL_OFFLINE will follow
        with no MEM_GOING_OFFLINE before it."""
        if not self.k.notifier_veto:
            return None
        return when(self.is_op(s, b, "going_offline")).then(s.pc.becomes("undo"))

    @action(switch="notifier_veto=true", b="block", fair=True, tags=ALL,
            cites="mm/memory-notifier-error-inject.c via memory_notify"
                  " (docs/hotplug.md#memory-notifiers)")
    def memory_notifier_error_inject_veto(self, s: StateView, b: Any) -> Effect | None:
        """A later notifier vetoes MEM_GOING_OFFLINE: "notifier failure"."""
        if not self.k.notifier_veto:
            return None
        return when(self.is_op(s, b, "notify_rest")).then(s.pc.becomes("undo"))

    @action(b="block", fair=True, tags=ALL,
            cites="drivers/base/memory.c memory_notify MEM_GOING_OFFLINE"
                  " (docs/hotplug.md#memory-notifiers)")
    def memory_notify_going_offline_rest(self, s: StateView, b: Any) -> Effect | None:
        """The rest of the notifier chain accepts MEM_GOING_OFFLINE."""
        if not self.k.notifier_veto:
            return None
        return when(self.is_op(s, b, "notify_rest")).then(s.pc.becomes("scan"))

    # -- the migration loop ---------------------------------------------------------
    @action(b="block", fair=True, tags=ALL, cites=f"{HP} offline_pages"
              " (docs/hotplug.md#the-migration-loop)")
    def offline_pages_signal_backoff(self, s: StateView, b: Any) -> Effect | None:
        """signal_pending(): fail with -EINTR ("signal backoff")."""
        if not self.k.signals:
            return None
        return when(self.is_op(s, b, "scan"), s.signal).then(s.pc.becomes("undo"))

    @action(switch="offline_migrate_max_passes=1", b="block", fair=True, tags=ALL,
            cites=f"{HP} offline_pages, newest mm tree only (docs/hotplug.md#the-migration-loop)")
    def offline_pages_retry_limit(self, s: StateView, b: Any) -> Effect | None:
        """offline_migrate_max_passes reached: -EBUSY ("retry limit exceeded")."""
        limit = int(self.k.offline_migrate_max_passes)
        if not limit:
            return None
        return when(self.is_op(s, b, "scan"), ~s.signal, s.passes >= limit).then(
            s.pc.becomes("undo"))

    def scanned_past(self, s: StateView, b: Any, p: Any = None) -> Term:
        """Every page of the block from scan_pfn up to (not including) ``p`` (to the
        block's end where ``p`` is None) is passed over."""
        def before(q: Any) -> Any:
            return True if p is None else q < p
        return self.every_page(b, lambda q: implies(
            before(q), (s.scan_pfn > apply("offset_of", q)) | self.scan_passes(s, q)))

    def in_block(self, p: Any, b: Any) -> Any:
        """Page ``p`` is in block ``b``: a Python bool in the finite build (an action
        instance of a page outside its block is left out), a condition in the
        parametric one."""
        return self.blk(p) == b

    @action(b="block", p="page", fair=True, tags=ALL,
            cites=f"{HP} scan_movable_pages (docs/hotplug.md#the-scan)")
    def scan_movable_pages(self, s: StateView, b: Any, p: Any) -> Effect | None:
        """The scan finds a movable page (LRU or movable ops) at ``p``: migrate from there."""
        inside = self.in_block(p, b)
        if inside is False:
            return None
        offset = apply("offset_of", p)
        u = Updates()
        u.set(s.scan_pfn, offset)
        u.set(s.pc, "migrate")
        self.pass_done(u, s)
        return when(inside, self.scan_ready(s, b), s.scan_pfn <= offset,
                    self.scanned_past(s, b, p), self.scan_found(s, p)).then(*u.assigns())

    @action(b="block", p="page", fair=True, tags=("A", "B", "C", "E", "F"),
            cites=f"{HP} scan_movable_pages, offline_pages (docs/hotplug.md#the-ebusy-branch)")
    def scan_movable_pages_ebusy(self, s: StateView, b: Any, p: Any) -> Effect | None:
        """A definitely unmovable PageOffline page at ``p``: fail with "unmovable page"."""
        inside = self.in_block(p, b)
        if inside is False or not self.k.ebusy_branch:
            return None
        return when(inside, self.scan_ready(s, b), s.scan_pfn <= apply("offset_of", p),
                    self.scanned_past(s, b, p), self.scan_busy(s, p)).then(
            s.pc.becomes("undo"))

    @action(b="block", fair=True, tags=ALL, cites=f"{HP} scan_movable_pages"
              " (docs/hotplug.md#the-scan)")
    def scan_movable_pages_enoent(self, s: StateView, b: Any) -> Effect:
        """Nothing movable from scan_pfn to the end: leave the inner loop with -ENOENT."""
        u = Updates()
        u.set(s.pc, "test")
        self.pass_done(u, s)
        return when(self.scan_ready(s, b), self.scanned_past(s, b)).then(*u.assigns())

    def migration_tried(self, s: StateView, p: Any) -> tuple[Term, Term, Term]:
        """do_migrate_range on page ``p``: (isolated as an LRU folio, isolated as a
        balloon page, either): folio_try_get fails on refcount 0 (dropped or frozen
        PageOffline pages; a balloon page under refcount-free balloon migration needs
        none), skippable pages are skipped first (D/E/F), a pinned folio or one with an
        extra reference fails to migrate."""
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
        return term(lru), term(balloon), term(lru | balloon)

    @action(b="block", start="offset", fair=True, tags=ALL,
            cites=f"{HP} do_migrate_range; mm/migrate.c migrate_pages; mm/balloon.c "
                  "balloon_page_migrate (docs/hotplug.md#migration)")
    def do_migrate_range(self, s: StateView, b: Any, start: Any) -> Effect | None:
        """Isolate and migrate every movable folio from ``start`` to the block's end.

        A page moves only while free memory elsewhere lasts; the freed source lands on
        the isolate list. The parametric build does not count the free memory: any
        subset of the movable pages moves (an over-approximation).
        """
        u = Updates()
        if parametric_build():
            def moves(p: Any) -> Term:
                from_start = apply("offset_of", p) >= start
                return term(self.migration_tried(s, p)[2] & from_start
                            & (s.migration_target[p] > 0))
            self.freed_where(u, s, b, moves)
        else:
            self.migrate_in_order(u, s, b, start)
        u.set(s.pc, "scan")
        return when(self.is_op(s, b, "migrate"), s.scan_pfn == start).then(*u.assigns())

    def migrate_in_order(self, u: Updates, s: StateView, b: int, start: int) -> None:
        """The finite build's do_migrate_range: pages in pfn order, each moving while the
        free pages elsewhere (spare) last. Every movable page takes one free page, so a
        page moves exactly when fewer than ``spare`` movable pages come before it (said
        so, the expression grows with the square of the block's pages, not
        exponentially)."""
        lay = self.layout
        pages = [p for p in lay.pages_of_block(b) if lay.offset_in_block(p) >= start]
        tried = [self.migration_tried(s, p) for p in pages]
        movable = [m for _, _, m in tried]
        balloons: Term = count([])
        for k, p in enumerate(pages):
            moves = movable[k] & (s.spare > count(movable[:k]))
            self.freed(u, s, p, moves)
            balloons = balloons + ite(moves & tried[k][1], 1, 0)
        u.set(s.spare, s.spare - minimum(s.spare, count(movable)))
        if lay.has("B"):
            u.set(s.managed[b], s.managed[b] + balloons)
            u.set(s.balloon_elsewhere, s.balloon_elsewhere + balloons)

    # -- test and commit ------------------------------------------------------------
    @action(b="block", fair=True, tags=ALL,
            cites=f"{ISO} test_pages_isolated (docs/hotplug.md#the-test); mm/hugetlb.c "
                  "dissolve_free_hugetlb_folios (no hugetlb modelled)")
    def test_pages_isolated(self, s: StateView, b: Any) -> Effect:
        """Every page is free, poisoned or a PageOffline page the core may skip."""
        ok = self.every_page(b, lambda p: self.test_ok(s, p))
        return when(self.is_op(s, b, "test"), ok).then(s.pc.becomes("commit"))

    @action(b="block", fair=True, tags=ALL, cites=f"{ISO} test_pages_isolated"
              " (docs/hotplug.md#the-migration-loop)")
    def test_pages_isolated_ebusy(self, s: StateView, b: Any) -> Effect:
        """Some page is not isolated yet: -EBUSY, the outer loop restarts at the start."""
        bad = self.some_page(b, lambda p: ~self.test_ok(s, p))
        return when(self.is_op(s, b, "test"), bad).then(
            s.pc.becomes("scan"), s.scan_pfn.becomes(0))

    @action(name="__offline_isolated_pages", b="block", fair=True, tags=ALL,
            cites="mm/page_alloc.c __offline_isolated_pages; mm/memory_hotplug.c offline_pages "
                  "(docs/hotplug.md#the-commit)")
    def offline_isolated_pages(self, s: StateView, b: Any) -> Effect:
        """Commit: sections offline, free pages leave the buddy, managed count drops."""
        managed = finite_only(lambda: s.managed[b] - count(
            self.counted_managed(s, p) for p in self.layout.pages_of_block(b)))
        return when(self.is_op(s, b, "commit")).then(
            s.section_online[b].becomes(False), s.managed[b].becomes(managed),
            s.pc.becomes("offlined"))

    @action(b="block", fair=True, tags=ALL,
            cites=f"{HP} offline_pages MEM_OFFLINE, remove_pfn_range_from_zone, "
                  "page_init_poison (docs/hotplug.md#the-commit)")
    def remove_pfn_range_from_zone(self, s: StateView, b: Any) -> Effect:
        """MEM_OFFLINE, then the memmap is poisoned: the struct pages become garbage."""
        u = Updates()
        if self.may_have("V"):
            u.set(s.hotplug_active, False)
        u.set(s.memmap_valid[b], False)
        u.set(s.block_state[b], "offline")
        if self.stray_on():
            self.forget_stray(u, s, self.some_page(b, lambda p: self.stray_holds(s, p)))
        self.each_page(u, b, lambda p: s.ptype[p].becomes("none"))
        self.each_page(u, b, lambda p: s.owner[p].becomes("none"))
        self.each_page(u, b, lambda p: s.ref_owner[p].becomes(0))
        self.each_page(u, b, lambda p: s.skippable[p].becomes(False))
        self.op_done(u, s)
        # offline_and_remove_memory goes on to remove this same block
        kthread = s.caller == "kthread"
        u.set(s.pc, ite(kthread, label(Step, "remove"), "idle"))
        u.set(s.caller, ite(kthread, label(Caller, "kthread"), "none"))
        if not self.single_block():
            u.set(s.op_block, ite(kthread, s.op_block, 0))
        return when(self.is_op(s, b, "offlined")).then(*u.assigns())

    @action(b="block", fair=True, tags=ALL, cites=f"{HP} try_remove_memory"
              " (docs/hotplug.md#removal-and-pfn-walkers)")
    def try_remove_memory(self, s: StateView, b: Any) -> Effect | None:
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
    def undo_isolate_page_range(self, s: StateView, b: Any) -> Effect:
        """Failure path, first: free pages move back to normal lists, allocatable at once."""
        u = Updates()
        u.every("pageblock", lambda q: apply("block_of_pageblock", q) == b,
                lambda q: s.isolated[q].becomes(False))
        u.set(s.pc, "cancel")
        return when(self.is_op(s, b, "undo")).then(*u.assigns())

    def cancel_done(self, u: Updates, s: StateView, b: Any) -> None:
        u.set(s.block_state[b], "online")
        self.op_done(u, s)

    @action(b="block", fair=True, tags=ALL,
            cites="drivers/virtio/virtio_mem.c virtio_mem_memory_notifier_cb MEM_CANCEL_OFFLINE "
                  "(docs/hotplug.md#virtio-mem-notifier-handlers)")
    def virtio_mem_memory_notifier_cancel_offline(self, s: StateView,
                                                  b: Any) -> Effect | None:
        """Failure path, second: MEM_CANCEL_OFFLINE reaches virtio-mem; the block is online."""
        if not self.may_have("V"):
            return None
        u = Updates()
        self.vmem_cancel_offline(u, s, b)
        self.cancel_done(u, s, b)
        return when(self.is_op(s, b, "cancel"), s.vmem_loaded).then(*u.assigns())

    @action(b="block", fair=True, tags=ALL,
            cites="drivers/base/memory.c memory_notify MEM_CANCEL_OFFLINE"
                  " (docs/hotplug.md#memory-notifiers)")
    def memory_notify_cancel_offline(self, s: StateView, b: Any) -> Effect:
        """MEM_CANCEL_OFFLINE with no virtio-mem notifier registered; the block is online."""
        u = Updates()
        self.cancel_done(u, s, b)
        return when(self.is_op(s, b, "cancel"), ~s.vmem_loaded).then(*u.assigns())
