"""virtio-mem in Sub Block Mode: notifier handlers, unplug, plug, removal, forced unload.

One pageblock is one subblock (docs/hotplug.md#virtio-mem). The handlers differ by
design: A drops and re-takes the reference of every page of an unplugged subblock, C
frees the pages to the buddy and tries to take them back, D/E/F only take the lock
(docs/hotplug.md#virtio-mem-notifier-handlers).
hotplug_mutex is held from MEM_GOING_OFFLINE to MEM_OFFLINE or MEM_CANCEL_OFFLINE, so
the driver's own unplug and plug work runs before an offlining's MEM_GOING_OFFLINE or
after its MEM_CANCEL_OFFLINE, never in between.
"""

from __future__ import annotations

from typing import Any

from ..base import action
from ..dsl import Effect, StateView, Term, all_of, ite, when
from ..quantify import apply, exists, finite_only, forall
from .offline import OfflineSteps
from .state import Owner, PageType, Updates, label, term

VM = "drivers/virtio/virtio_mem.c"


class VirtioMem(OfflineSteps):
    """The virtio-mem driver's side of the protocol."""

    def vmem_going_offline(self, u: Updates, s: StateView, b: Any) -> None:
        """MEM_GOING_OFFLINE: lock (hotplug_active) and, in A/C, hand the pages over."""
        u.set(s.hotplug_active, True)
        consent = self.k.consent

        def unplugged(p: Any) -> Term:
            return term(~s.plugged[self.pb(p)])
        if consent == "refcount-drop" and not self.k.frozen_vmem:
            # virtio_mem_fake_offline_going_offline: page_ref_dec_and_test, WARN if it
            # does not reach zero (a stray reference), but carry on. It walks the
            # driver's bitmap, not the pages: a page that is no longer its own loses
            # someone else's reference (S10).
            self.each_page(u, b, lambda p: s.ref_owner[p].becomes(
                ite(unplugged(p), s.ref_owner[p] - 1, s.ref_owner[p])))
            def own(p: Any) -> Term:
                return term((s.owner[p] == "vmem") & (s.ref_owner[p] >= 1))
            u.set(s.bad_put, s.bad_put | self.some_page(b, lambda p: unplugged(p) & ~own(p)))
        elif consent == "free-to-buddy":
            # Design C: clear PageOffline and put the page; the last put frees it.
            def mine(p: Any) -> Term:
                return term(unplugged(p) & (s.ptype[p] == "Offline") & (s.owner[p] == "vmem"))

            def last(p: Any) -> Term:
                return mine(p) & (self.page_count(s, p) == 1)
            self.each_page(u, b, lambda p: s.ptype[p].becomes(
                ite(last(p), "Buddy", ite(mine(p), "none", s.ptype[p]))))
            self.each_page(u, b, lambda p: s.owner[p].becomes(
                ite(mine(p), "none", s.owner[p])))
            self.each_page(u, b, lambda p: s.ref_owner[p].becomes(
                ite(mine(p), s.ref_owner[p] - 1, s.ref_owner[p])))

    def vmem_cancel_offline(self, u: Updates, s: StateView, b: Any) -> None:
        """MEM_CANCEL_OFFLINE: only if virtio-mem saw MEM_GOING_OFFLINE (hotplug_active)."""
        active = s.hotplug_active
        consent = self.k.consent

        def unplugged(p: Any) -> Term:
            return term(active & ~s.plugged[self.pb(p)])
        if consent == "refcount-drop" and not self.k.frozen_vmem:
            # virtio_mem_fake_offline_cancel_offline: page_ref_inc (P-BASE) or
            # init_page_count (newest tree), which forgets a stray reference.
            if self.k.cancel_refcount == "increment":
                self.each_page(u, b, lambda p: s.ref_owner[p].becomes(
                    ite(unplugged(p), s.ref_owner[p] + 1, s.ref_owner[p])))
            else:
                self.each_page(u, b, lambda p: s.ref_owner[p].becomes(
                    ite(unplugged(p), 1, s.ref_owner[p])))
                if self.stray_on():
                    self.forget_stray(u, s, self.some_page(
                        b, lambda p: unplugged(p) & self.stray_holds(s, p)))
        elif consent == "free-to-buddy":
            # Design C: take the pages back if they are all still free (an
            # alloc_contig_range of the subblock); otherwise they are lost.
            def back(p: Any) -> Term:
                q = self.pb(p)
                return term(unplugged(p) & self.every_page_of_pageblock(
                    q, lambda r: s.ptype[r] == "Buddy"))
            self.each_page(u, b, lambda p: s.ptype[p].becomes(
                ite(back(p), "Offline", s.ptype[p])))
            self.each_page(u, b, lambda p: s.owner[p].becomes(
                ite(back(p), "vmem", s.owner[p])))
            self.each_page(u, b, lambda p: s.ref_owner[p].becomes(
                ite(back(p), 1, s.ref_owner[p])))
        u.set(s.hotplug_active, False)

    def fake_offline(self, u: Updates, s: StateView, q: Any) -> None:
        """virtio_mem_set_fake_offline(onlined=true) on every page of subblock ``q``: the
        pages came from alloc_contig_range, so PG_dirty stays clear."""
        def here(p: Any) -> Any:
            return self.pb(p) == q
        u.every("page", here, lambda p: s.ptype[p].becomes("Offline"))
        u.every("page", here, lambda p: s.owner[p].becomes("vmem"))
        u.every("page", here, lambda p: s.ref_owner[p].becomes(self.offline_ref()))
        u.every("page", here, lambda p: s.skippable[p].becomes(
            self.k.consent == "skippable-flag"))
        u.every("page", here, lambda p: s.dirty[p].becomes(False))

    def driver_may_touch(self, s: StateView, b: Any) -> Term:
        """virtio-mem's work item may (un)plug a subblock of block ``b``: the block is
        online to virtio-mem (no MEM_OFFLINE yet) and hotplug_mutex is free, which it is
        from offline_pages' start until MEM_GOING_OFFLINE and after MEM_CANCEL_OFFLINE."""
        return term(s.vmem_loaded & ~s.vmem_removing & s.section_online[b]
                    & s.memmap_valid[b] & ~s.hotplug_active)

    # -- the driver's work item -----------------------------------------------------
    @action(switch="vmem_unplug=true", q="pageblock", tags=("A", "B", "C", "D", "E", "F"),
            cites=f"{VM} virtio_mem_sbm_unplug_sb_online, virtio_mem_fake_offline, "
                  "alloc_contig_range, virtio_mem_set_fake_offline"
                  " (docs/hotplug.md#virtio-mem-unplug-and-plug)")
    def virtio_mem_sbm_unplug_sb_online(self, s: StateView, q: Any) -> Effect | None:
        """Unplug a free subblock of an online block: allocate, mark, report, managed -n."""
        if not self.k.vmem_unplug or not self.may_have("V"):
            return None
        b = apply("block_of_pageblock", q)
        u = Updates()
        self.fake_offline(u, s, q)
        u.set(s.plugged[q], False)
        u.set(s.managed[b], finite_only(
            lambda: s.managed[b] - len(self.layout.pages_of_pageblock(q))))
        free = self.every_page_of_pageblock(q, lambda p: s.ptype[p] == "Buddy")
        return when(self.driver_may_touch(s, b), s.plugged[q], ~s.isolated[q],
                    free).then(*u.assigns())

    @action(switch="vmem_plug=true", q="pageblock", tags=("A", "B", "C", "D", "E", "F"),
            cites=f"{VM} virtio_mem_sbm_plug_sb, virtio_mem_fake_online, "
                  "virtio_mem_clear_fake_offline, generic_online_page"
                  " (docs/hotplug.md#virtio-mem-unplug-and-plug)")
    def virtio_mem_sbm_plug_sb_online(self, s: StateView, q: Any) -> Effect | None:
        """Plug an unplugged subblock of an online block and give its pages to the buddy."""
        if not self.k.vmem_plug or not self.may_have("V"):
            return None
        b = apply("block_of_pageblock", q)
        u = Updates()
        for update in self.page_fields(s, lambda p: self.fake_online(s, p)):
            u.every("page", lambda p: self.pb(p) == q, update)
        if self.stray_on():
            self.forget_stray(u, s, exists("page", lambda p: all_of(
                [self.pb(p) == q, s.dirty[p], self.stray_holds(s, p)])))
        if not self.k.frozen_vmem:
            u.set(s.bad_put, s.bad_put | exists("page", lambda p: all_of(
                [self.pb(p) == q, self.put_of_zero(s, p)])))
            if self.k.debug_vm:
                # free_contig_range -> put_page_testzero on a zero count
                u.set(s.vm_bug, s.vm_bug | exists("page", lambda p: all_of(
                    [self.pb(p) == q, self.put_of_zero(s, p)])))
        u.set(s.plugged[q], True)
        u.set(s.managed[b], finite_only(
            lambda: s.managed[b] + len(self.layout.pages_of_pageblock(q))))
        guard = [self.driver_may_touch(s, b), ~s.plugged[q]]
        if self.k.stray == "before-reuse":
            # The thread's assumption: a transient reference is gone before the page is
            # reused (docs/hotplug.md#speculative-references).
            guard.append(self.every_page_of_pageblock(q, lambda p: ~self.stray_holds(s, p)))
        return when(*guard).then(*u.assigns())

    def put_of_zero(self, s: StateView, p: Any) -> Term:
        """free_contig_range puts a page (not PG_dirty) whose count is already zero."""
        return term(~s.dirty[p] & (self.page_count(s, p) == 0))

    def fake_online(self, s: StateView, p: Any) -> tuple[Term, Term, Term, Term, Term]:
        """virtio_mem_fake_online for one page, which it does not look at: a PG_dirty page
        (kept fake-offline when its block was onlined) goes through generic_online_page ->
        __free_pages_core, which sets the refcount to 0 and frees it, forgetting any other
        reference; another page (from alloc_contig_range) gets a plain put through
        free_contig_range and is freed by its last put. The new (ptype, owner, ref_owner,
        skippable, dirty) of the page."""
        dirty = s.dirty[p]
        count = self.page_count(s, p)
        if self.k.frozen_vmem:
            # A frozen page holds no reference to put: it is freed directly.
            last: Term = all_of([True])
            left: Term = term(s.ref_owner[p])
        else:
            last = term(dirty | (count == 1))
            left = term(s.ref_owner[p] - 1)
        # virtio_mem_clear_fake_offline clears the type first; a poisoned page's free
        # returns early, so it stays typeless outside the buddy.
        freed_type = ite(s.hwpoison[p], label(PageType, "none"), "Buddy")
        cleared = ite(s.ptype[p] == "Offline", label(PageType, "none"), s.ptype[p])
        return (term(ite(last, freed_type, cleared)),
                term(ite(last | (s.owner[p] == "vmem"), label(Owner, "none"), s.owner[p])),
                term(ite(last, 0, left)), all_of([False]), all_of([False]))

    @action(switch="vmem_remove=true", b="block", fair=True, tags=("A", "B", "C", "D", "E", "F"),
            cites=f"{VM} virtio_mem_sbm_try_remove_unplugged_mb -> mm/memory_hotplug.c "
                  "offline_and_remove_memory"
                  " (docs/hotplug.md#virtio-mem-unplug-and-plug; retried by the work item's timer)")
    def virtio_mem_sbm_try_remove_unplugged_mb(self, s: StateView, b: Any) -> Effect | None:
        """Every subblock of an online block is unplugged: offline and remove it."""
        if not self.k.vmem_remove or not self.may_have("V"):
            return None
        unplugged = self.every_pageblock(b, lambda q: ~s.plugged[q])
        return when(s.vmem_loaded, ~s.vmem_removing, s.pc == "idle",
                    s.block_state[b] == "online",
                    unplugged).then(*self.begin(s, b, "kthread").assigns())

    @action(switch="forced_unload=true", tags=("A", "B", "C", "D", "E", "F"),
            cites=f"{VM} virtio_mem_remove -> virtio_mem_deinit_hotplug (vm->removing under "
                  "hotplug_mutex, cancel_work_sync) (docs/hotplug.md#forced-unload)")
    def virtio_mem_remove(self, s: StateView) -> Effect | None:
        """The unload begins: vm->removing is set under hotplug_mutex (so not between an
        offlining's MEM_GOING_OFFLINE and its end) and the work item is stopped; an
        offlining already past isolation meets the -EBUSY veto at MEM_GOING_OFFLINE."""
        if not self.k.forced_unload or not self.may_have("V"):
            return None
        return when(s.vmem_loaded, ~s.vmem_removing, ~s.hotplug_active).then(
            s.vmem_removing.becomes(True))

    @action(switch="forced_unload=true", tags=("A", "B", "C", "D", "E", "F"),
            cites=f"{VM} virtio_mem_deinit_hotplug, virtio_mem_sbm_mark_mb_non_skippable; "
                  "mm/memory_hotplug.c restore_online_page_callback"
                  " (docs/hotplug.md#forced-unload)")
    def virtio_mem_deinit_hotplug(self, s: StateView) -> Effect | None:
        """The rest of the unload: remove OFFLINE_PARTIAL blocks, maybe clear the flag,
        unregister. remove_memory and restore_online_page_callback take the locks an
        offlining holds, so this waits until none is in progress."""
        if not self.k.forced_unload or not self.may_have("V"):
            return None
        u = Updates()

        def partial(b: Any) -> Term:
            return self.some_pageblock(b, lambda q: ~s.plugged[q])
        u.every("block", lambda b: True, lambda b: s.block_state[b].becomes(
            ite((s.block_state[b] == "offline") & partial(b), "removed", s.block_state[b])))
        if self.k.unload_clears_skippable:
            def clear(p: Any) -> Term:
                return term((s.block_state[self.blk(p)] == "online") & ~s.plugged[self.pb(p)])
            u.every("page", lambda p: True,
                    lambda p: s.skippable[p].becomes(s.skippable[p] & ~clear(p)))
        # The state S9 judges from: every page of an unplugged subblock of a present
        # block is still virtio-mem's fake-offline page (else the race was S3's or S4's).
        clean = forall("page", lambda p: s.plugged[self.pb(p)] | ~s.memmap_valid[self.blk(p)]
                       | ((s.ptype[p] == "Offline") & (s.owner[p] == "vmem")))
        u.set(s.unload_clean, clean)
        u.set(s.vmem_loaded, False)
        u.set(s.online_page_callback, "generic_online_page")
        return when(s.vmem_loaded, s.vmem_removing, s.pc == "idle").then(*u.assigns())
