"""online_pages with the online page callback (docs/hotplug.md#onlining).

Modelled as one atomic step: the memmap is initialised (every page PageOffline with
refcount 1, pageblocks isolated), the callback hands plugged chunks to the buddy and
keeps unplugged virtio-mem subblocks fake-offline, the sections go online, and
undo_isolate_page_range makes the free pages allocatable. Nothing observable can
interleave: the pageblocks stay isolated and the sections offline until the end.
"""

from __future__ import annotations

from typing import Any

from ..base import action
from ..dsl import Effect, StateView, Term, count, ite, when
from ..quantify import apply, finite_only
from .offline import ALL
from .state import HotplugBase, Owner, PageType, Updates, label, term


class OnlinePages(HotplugBase):
    """Onlining an offline block."""

    @action(switch="user_online=true", b="block", tags=ALL,
            cites="drivers/base/memory.c memory_block_online; mm/memory_hotplug.c online_pages, "
                  "online_pages_range, generic_online_page; drivers/virtio/virtio_mem.c "
                  "virtio_mem_online_page_cb (docs/hotplug.md#onlining)")
    def online_pages(self, s: StateView, b: Any) -> Effect | None:
        """User space onlines an offline block; the online page callback decides per chunk."""
        if not self.k.user_online:
            return None
        u = Updates()
        keeps = s.online_page_callback == "virtio_mem_online_page_cb"

        def keep(p: Any) -> Term:
            return term(keeps & ~s.plugged[self.pb(p)])
        # memmap_init_range: PageOffline, refcount 1; the callback keeps it so
        # (virtio_mem_set_fake_offline, PG_dirty, v1/v2 the flag) or generic_online_page
        # frees it to the buddy and counts it managed.
        self.each_page(u, b, lambda p: s.ptype[p].becomes(
            ite(keep(p), label(PageType, "Offline"), "Buddy")))
        self.each_page(u, b, lambda p: s.owner[p].becomes(
            ite(keep(p), label(Owner, "vmem"), "none")))
        self.each_page(u, b, lambda p: s.ref_owner[p].becomes(
            ite(keep(p), self.offline_ref(), 0)))
        self.each_page(u, b, lambda p: s.skippable[p].becomes(
            keep(p) & (self.k.consent == "skippable-flag")))
        self.each_page(u, b, lambda p: s.dirty[p].becomes(keep(p)))
        u.every("pageblock", lambda q: apply("block_of_pageblock", q) == b,
                lambda q: s.isolated[q].becomes(False))
        # The block's contribution restarts from what the callback onlined (an error of
        # an earlier offlining is already reported by S8 and not carried on).
        u.set(s.managed[b], finite_only(
            lambda: count(~keep(p) for p in self.layout.pages_of_block(b))))
        u.set(s.section_online[b], True)
        u.set(s.memmap_valid[b], True)
        u.set(s.block_state[b], "online")
        held = self.some_page(b, lambda p: self.stray_holds(s, p))
        # The re-initialised memmap forgets any reference a stray holder still has.
        self.forget_stray(u, s, held)
        guard = [s.pc == "idle", s.block_state[b] == "offline",
                 self.every_page(b, lambda p: ~s.hwpoison[p]),
                 # virtio-mem vetoes MEM_GOING_ONLINE once its unload has begun.
                 ~(s.vmem_loaded & s.vmem_removing)]
        if self.k.stray in ("transient", "before-reuse"):
            # Assumption of "transient" speculative references: the holder drops its
            # reference before the block is onlined again (docs/hotplug.md#speculative-references).
            guard.append(~held)
        return when(*guard).then(*u.assigns())
