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

from ..base import action
from ..dsl import Effect, StateView, Term, all_of, any_of, ite, when
from .offline import OfflineSteps
from .state import Owner, PageType, Updates, label, term

VM = "drivers/virtio/virtio_mem.c"


class VirtioMem(OfflineSteps):
    """The virtio-mem driver's side of the protocol."""

    def vmem_going_offline(self, u: Updates, s: StateView, b: int) -> None:
        """MEM_GOING_OFFLINE: lock (hotplug_active) and, in A/C, hand the pages over."""
        u.set(s.hotplug_active, True)
        consent = self.k.consent
        bad = []
        for q in self.pageblocks_of(b):
            unplugged = ~s.plugged[q]
            for p in self.layout.pages_of_pageblock(q):
                if consent == "refcount-drop" and not self.k.frozen_vmem:
                    # virtio_mem_fake_offline_going_offline: page_ref_dec_and_test, WARN if
                    # it does not reach zero (a stray reference), but carry on. It walks
                    # the driver's bitmap, not the pages: a page that is no longer its
                    # own loses someone else's reference (S10).
                    u.set(s.ref_owner[p], ite(unplugged, s.ref_owner[p] - 1, s.ref_owner[p]))
                    own = (s.owner[p] == "vmem") & (s.ref_owner[p] >= 1)
                    bad.append(unplugged & ~own)
                elif consent == "free-to-buddy":
                    # Design C: clear PageOffline and put the page; the last put frees it.
                    mine = unplugged & (s.ptype[p] == "Offline") & (s.owner[p] == "vmem")
                    last = mine & (self.page_count(s, p) == 1)
                    u.set(s.ptype[p], ite(last, "Buddy", ite(mine, "none", s.ptype[p])))
                    u.set(s.owner[p], ite(mine, "none", s.owner[p]))
                    u.set(s.ref_owner[p], ite(mine, s.ref_owner[p] - 1, s.ref_owner[p]))
        if bad:
            u.set(s.bad_put, s.bad_put | any_of(bad))

    def vmem_cancel_offline(self, u: Updates, s: StateView, b: int) -> None:
        """MEM_CANCEL_OFFLINE: only if virtio-mem saw MEM_GOING_OFFLINE (hotplug_active)."""
        active = s.hotplug_active
        consent = self.k.consent
        lost = []
        for q in self.pageblocks_of(b):
            unplugged = active & ~s.plugged[q]
            pages = self.layout.pages_of_pageblock(q)
            if consent == "refcount-drop" and not self.k.frozen_vmem:
                for p in pages:
                    # virtio_mem_fake_offline_cancel_offline: page_ref_inc (P-BASE) or
                    # init_page_count (newest tree), which forgets a stray reference.
                    if self.k.cancel_refcount == "increment":
                        u.set(s.ref_owner[p], ite(unplugged, s.ref_owner[p] + 1, s.ref_owner[p]))
                    else:
                        u.set(s.ref_owner[p], ite(unplugged, 1, s.ref_owner[p]))
                        lost.append(unplugged & (s.stray_at == f"pfn{p}"))
            elif consent == "free-to-buddy":
                # Design C: take the pages back if they are all still free (an
                # alloc_contig_range of the subblock); otherwise they are lost.
                back = unplugged & all_of(s.ptype[p] == "Buddy" for p in pages)
                for p in pages:
                    u.set(s.ptype[p], ite(back, "Offline", s.ptype[p]))
                    u.set(s.owner[p], ite(back, "vmem", s.owner[p]))
                    u.set(s.ref_owner[p], ite(back, 1, s.ref_owner[p]))
        if lost:
            u.set(s.stray_counted, s.stray_counted & ~any_of(lost))
        u.set(s.hotplug_active, False)

    def fake_offline(self, u: Updates, s: StateView, q: int) -> None:
        """virtio_mem_set_fake_offline(onlined=true) on every page of subblock ``q``: the
        pages came from alloc_contig_range, so PG_dirty stays clear."""
        for p in self.layout.pages_of_pageblock(q):
            u.set(s.ptype[p], "Offline")
            u.set(s.owner[p], "vmem")
            u.set(s.ref_owner[p], self.offline_ref())
            u.set(s.skippable[p], self.k.consent == "skippable-flag")
            u.set(s.dirty[p], False)

    def driver_may_touch(self, s: StateView, b: int) -> Term:
        """virtio-mem's work item may (un)plug a subblock of block ``b``: the block is
        online to virtio-mem (no MEM_OFFLINE yet) and hotplug_mutex is free, which it is
        from offline_pages' start until MEM_GOING_OFFLINE and after MEM_CANCEL_OFFLINE."""
        return term(s.vmem_loaded & ~s.vmem_removing & s.section_online[b]
                    & s.memmap_valid[b] & ~s.hotplug_active)

    # -- the driver's work item -----------------------------------------------------
    # -- the driver's work item -----------------------------------------------------
    @action(switch="vmem_unplug=true", q="pageblock", tags=("A", "B", "C", "D", "E", "F"),
            cites=f"{VM} virtio_mem_sbm_unplug_sb_online, virtio_mem_fake_offline, "
                  "alloc_contig_range, virtio_mem_set_fake_offline"
                  " (docs/hotplug.md#virtio-mem-unplug-and-plug)")
    def virtio_mem_sbm_unplug_sb_online(self, s: StateView, q: int) -> Effect | None:
        """Unplug a free subblock of an online block: allocate, mark, report, managed -n."""
        if not self.k.vmem_unplug or not self.layout.has("V"):
            return None
        b = q // self.layout.pageblocks
        pages = self.layout.pages_of_pageblock(q)
        u = Updates()
        self.fake_offline(u, s, q)
        u.set(s.plugged[q], False)
        u.set(s.managed[b], s.managed[b] - len(pages))
        free = all_of(s.ptype[p] == "Buddy" for p in pages)
        return when(self.driver_may_touch(s, b), s.plugged[q], ~s.isolated[q],
                    free).then(*u.assigns())

    @action(switch="vmem_plug=true", q="pageblock", tags=("A", "B", "C", "D", "E", "F"),
            cites=f"{VM} virtio_mem_sbm_plug_sb, virtio_mem_fake_online, "
                  "virtio_mem_clear_fake_offline, generic_online_page"
                  " (docs/hotplug.md#virtio-mem-unplug-and-plug)")
    def virtio_mem_sbm_plug_sb_online(self, s: StateView, q: int) -> Effect | None:
        """Plug an unplugged subblock of an online block and give its pages to the buddy."""
        if not self.k.vmem_plug or not self.layout.has("V"):
            return None
        b = q // self.layout.pageblocks
        pages = self.layout.pages_of_pageblock(q)
        u = Updates()
        lost = []
        for p in pages:
            self.fake_online(u, s, p)
            lost.append(s.dirty[p] & (s.stray_at == f"pfn{p}"))
        u.set(s.stray_counted, s.stray_counted & ~any_of(lost))
        u.set(s.plugged[q], True)
        u.set(s.managed[b], s.managed[b] + len(pages))
        guard = [self.driver_may_touch(s, b), ~s.plugged[q]]
        if self.k.stray == "before-reuse":
            # The thread's assumption: a transient reference is gone before the page is
            # reused (docs/hotplug.md#speculative-references).
            guard.append(all_of(s.stray_at != f"pfn{p}" for p in pages))
        return when(*guard).then(*u.assigns())

    def fake_online(self, u: Updates, s: StateView, p: int) -> None:
        """virtio_mem_fake_online for one page, which it does not look at: a PG_dirty page
        (kept fake-offline when its block was onlined) goes through generic_online_page ->
        __free_pages_core, which sets the refcount to 0 and frees it, forgetting any other
        reference; another page (from alloc_contig_range) gets a plain put through
        free_contig_range and is freed by its last put."""
        dirty = s.dirty[p]
        count = self.page_count(s, p)
        if self.k.frozen_vmem:
            # A frozen page holds no reference to put: it is freed directly.
            last: Term = all_of([True])
            left: Term = term(s.ref_owner[p])
        else:
            last = term(dirty | (count == 1))
            left = term(s.ref_owner[p] - 1)
            u.set(s.bad_put, s.bad_put | (~dirty & (count == 0)))
            if self.k.debug_vm:
                # free_contig_range -> put_page_testzero on a zero count
                u.set(s.vm_bug, s.vm_bug | (~dirty & (count == 0)))
        # virtio_mem_clear_fake_offline clears the type first; a poisoned page's free
        # returns early, so it stays typeless outside the buddy.
        freed_type = ite(s.hwpoison[p], label(PageType, "none"), "Buddy")
        cleared = ite(s.ptype[p] == "Offline", label(PageType, "none"), s.ptype[p])
        u.set(s.ptype[p], ite(last, freed_type, cleared))
        u.set(s.owner[p], ite(last | (s.owner[p] == "vmem"), label(Owner, "none"), s.owner[p]))
        u.set(s.ref_owner[p], ite(last, 0, left))
        u.set(s.skippable[p], False)
        u.set(s.dirty[p], False)

    @action(switch="vmem_remove=true", b="block", fair=True, tags=("A", "B", "C", "D", "E", "F"),
            cites=f"{VM} virtio_mem_sbm_try_remove_unplugged_mb -> mm/memory_hotplug.c "
                  "offline_and_remove_memory"
                  " (docs/hotplug.md#virtio-mem-unplug-and-plug; retried by the work item's timer)")
    def virtio_mem_sbm_try_remove_unplugged_mb(self, s: StateView, b: int) -> Effect | None:
        """Every subblock of an online block is unplugged: offline and remove it."""
        if not self.k.vmem_remove or not self.layout.has("V"):
            return None
        unplugged = all_of(~s.plugged[q] for q in self.pageblocks_of(b))
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
        if not self.k.forced_unload or not self.layout.has("V"):
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
        if not self.k.forced_unload or not self.layout.has("V"):
            return None
        u = Updates()
        lay = self.layout
        for b in range(lay.blocks):
            partial = any_of(~s.plugged[q] for q in self.pageblocks_of(b))
            u.set(s.block_state[b], ite((s.block_state[b] == "offline") & partial, "removed",
                                        s.block_state[b]))
            if self.k.unload_clears_skippable:
                for q in self.pageblocks_of(b):
                    clear = (s.block_state[b] == "online") & ~s.plugged[q]
                    for p in lay.pages_of_pageblock(q):
                        u.set(s.skippable[p], s.skippable[p] & ~clear)
        # The state S9 judges from: every page of an unplugged subblock of a present
        # block is still virtio-mem's fake-offline page (else the race was S3's or S4's).
        clean = all_of(s.plugged[lay.pageblock_of(p)] | ~s.memmap_valid[lay.block_of(p)]
                       | ((s.ptype[p] == "Offline") & (s.owner[p] == "vmem"))
                       for p in range(lay.n_pages))
        u.set(s.unload_clean, clean)
        u.set(s.vmem_loaded, False)
        u.set(s.online_page_callback, "generic_online_page")
        return when(s.vmem_loaded, s.vmem_removing, s.pc == "idle").then(*u.assigns())
