"""online_pages with the online page callback (docs/hotplug.md#onlining).

Modelled as one atomic step: the memmap is initialised (every page PageOffline with
refcount 1, pageblocks isolated), the callback hands plugged chunks to the buddy and
keeps unplugged virtio-mem subblocks fake-offline, the sections go online, and
undo_isolate_page_range makes the free pages allocatable. Nothing observable can
interleave: the pageblocks stay isolated and the sections offline until the end.
"""

from __future__ import annotations

from ..base import action
from ..dsl import Effect, StateView, all_of, any_of, count, ite, when
from .offline import ALL
from .state import HotplugBase, Owner, PageType, Updates, label


class OnlinePages(HotplugBase):
    """Onlining an offline block."""

    @action(switch="user_online=true", b="block", tags=ALL,
            cites="drivers/base/memory.c memory_block_online; mm/memory_hotplug.c online_pages, "
                  "online_pages_range, generic_online_page; drivers/virtio/virtio_mem.c "
                  "virtio_mem_online_page_cb (docs/hotplug.md#onlining)")
    def online_pages(self, s: StateView, b: int) -> Effect | None:
        """User space onlines an offline block; the online page callback decides per chunk."""
        if not self.k.user_online:
            return None
        lay = self.layout
        u = Updates()
        keeps = s.online_page_callback == "virtio_mem_online_page_cb"
        onlined = []
        for q in self.pageblocks_of(b):
            keep = keeps & ~s.plugged[q]
            for p in lay.pages_of_pageblock(q):
                # memmap_init_range: PageOffline, refcount 1; the callback keeps it so
                # (virtio_mem_set_fake_offline, PG_dirty, v1/v2 the flag) or
                # generic_online_page frees it to the buddy and counts it managed.
                u.set(s.ptype[p], ite(keep, label(PageType, "Offline"), "Buddy"))
                u.set(s.owner[p], ite(keep, label(Owner, "vmem"), "none"))
                u.set(s.ref_owner[p], ite(keep, self.offline_ref(), 0))
                u.set(s.skippable[p], keep & (self.k.consent == "skippable-flag"))
                u.set(s.dirty[p], keep)
                onlined.append(~keep)
            u.set(s.isolated[q], False)
        # The block's contribution restarts from what the callback onlined (an error of
        # an earlier offlining is already reported by S8 and not carried on).
        u.set(s.managed[b], count(onlined))
        u.set(s.section_online[b], True)
        u.set(s.memmap_valid[b], True)
        u.set(s.block_state[b], "online")
        held = any_of(s.stray_at == f"pfn{p}" for p in self.pages_of(b))
        # The re-initialised memmap forgets any reference a stray holder still has.
        u.set(s.stray_counted, s.stray_counted & ~held)
        guard = [s.pc == "idle", s.block_state[b] == "offline",
                 all_of(~s.hwpoison[p] for p in self.pages_of(b)),
                 # virtio-mem vetoes MEM_GOING_ONLINE once its unload has begun.
                 ~(s.vmem_loaded & s.vmem_removing)]
        if self.k.stray in ("transient", "before-reuse"):
            # Assumption of "transient" speculative references: the holder drops its
            # reference before the block is onlined again (docs/hotplug.md#speculative-references).
            guard.append(~held)
        return when(*guard).then(*u.assigns())
