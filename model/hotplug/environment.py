"""The world around offlining: speculative references, signals, a pfn walker, hwpoison.

Each actor is switched on by a knob so a spec can leave out what its scenario does
not need. The speculative holder takes one reference once (enough for every scenario
of docs/hotplug.md#speculative-references) and puts it eventually (its put is weakly
fair: references are transient).
"""

from __future__ import annotations

from typing import Any

from ..base import action
from ..dsl import Effect, StateView, Term, ite, when
from .offline import ALL
from .state import HotplugBase, Updates, term


class Environment(HotplugBase):
    """Stray references, signals, the pfn walker and memory_failure."""

    def memmap_live(self, s: StateView, p: Any) -> Term:
        """The page's struct page is initialised and its section online."""
        b = self.blk(p)
        return term(s.section_online[b] & s.memmap_valid[b])

    @action(switch="stray=transient", p="page", tags=ALL,
            cites="include/linux/mm.h folio_try_get via a stale pointer: RCU page-cache "
                  "lookup, GUP-fast, pfn walkers (docs/hotplug.md#speculative-references)")
    def folio_try_get_stray(self, s: StateView, p: Any) -> Effect | None:
        """A lockless lookup with a stale pointer takes a reference (needs refcount > 0)."""
        if self.k.stray == "off":
            return None
        return when(s.stray_state != "holding", s.stray_gets_left > 0, self.memmap_live(s, p),
                    self.page_count(s, p) > 0).then(
            s.stray_state.becomes("holding"), s.stray_page.becomes(p),
            s.stray_counted.becomes(True), s.stray_gets_left.becomes(s.stray_gets_left - 1))

    @action(switch="stray=transient", p="page", fair=True, tags=ALL,
            cites="include/linux/mm.h folio_put, mm/swap.c __folio_put; free path clears "
                  "the page type since v6.17 (docs/hotplug.md#speculative-references)")
    def folio_put_stray(self, s: StateView, p: Any) -> Effect | None:
        """The holder notices the mismatch and puts its reference; the last put frees.

        If its reference is no longer counted (memmap re-initialised, or the cancel
        handler set the refcount to one) the put takes the owner's reference instead.
        A put on an offline section writes to a stale memmap (S7b) and changes nothing
        the model tracks.
        """
        if self.k.stray == "off":
            return None
        u = Updates()
        live = self.memmap_live(s, p)
        remaining = ite(s.stray_counted, s.ref_owner[p], s.ref_owner[p] - 1)
        self.put_freed(u, s, p, live & (remaining == 0))
        u.set(s.ref_owner[p], ite(live, remaining, s.ref_owner[p]))
        u.set(s.bad_put, s.bad_put | (live & ~s.stray_counted))
        if self.k.debug_vm:
            # put_page_testzero: VM_BUG_ON_PAGE(page_ref_count(page) == 0, page)
            u.set(s.vm_bug, s.vm_bug | (live & (self.page_count(s, p) == 0)))
        u.set(s.stray_state, "released")
        u.set(s.stray_page, 0)
        u.set(s.stray_counted, False)
        return when(self.stray_holds(s, p)).then(*u.assigns())

    @action(switch="signals=true",
            tags=ALL, cites="kernel/signal.c send_sig; mm/memory_hotplug.c offline_pages "
                           "signal_pending (docs/hotplug.md#the-migration-loop)")
    def send_sig(self, s: StateView) -> Effect | None:
        """The user presses Ctrl-C while a sysfs offline is in progress."""
        if not self.k.signals:
            return None
        return when(s.pc != "idle", s.caller == "user", ~s.signal).then(s.signal.becomes(True))

    @action(switch="walker=true", p="page", tags=ALL, cites="mm/memory_hotplug.c pfn_to_online_page"
              " (docs/hotplug.md#removal-and-pfn-walkers)")
    def pfn_to_online_page(self, s: StateView, p: Any) -> Effect | None:
        """A pfn walker checks that the section is online and keeps the page pointer."""
        if not self.k.walker:
            return None
        return when(~s.walker_active, s.section_online[self.blk(p)]).then(
            s.walker_active.becomes(True), s.walker_page.becomes(p))

    @action(switch="walker=true", p="page", tags=ALL,
            cites="mm/compaction.c isolate_migratepages_block style pfn walker"
                  " (docs/hotplug.md#removal-and-pfn-walkers)")
    def pfn_walker_read_page(self, s: StateView, p: Any) -> Effect | None:
        """The walker reads the struct page it got earlier (flags, refcount)."""
        if not self.k.walker:
            return None
        return when(self.walker_holds(s, p)).then(s.walker_active.becomes(False),
                                                  s.walker_page.becomes(0))

    @action(switch="hwpoison=true", p="page", tags=ALL,
            cites="mm/memory-failure.c memory_failure, take_page_off_buddy"
                  " (docs/hotplug.md#hwpoison)")
    def memory_failure(self, s: StateView, p: Any) -> Effect | None:
        """A hardware error poisons a page: it leaves the buddy, its user is killed, or
        it stays in use (kernel and pinned pages keep owner and reference).

        memory_failure sets PG_hwpoison first (TestSetPageHWPoison) and only then asks
        whether it can handle the page; a PageOffline page (virtio-mem, balloon, class 2)
        is not handlable, so it is left as it is, poisoned (MF_IGNORED).
        """
        if not self.k.hwpoison:
            return None
        # Kept as they are: PageOffline pages, unhandlable kernel pages (MF_IGNORED) and
        # pinned pages whose extra references stop the unmap (MF_FAILED).
        kept = ((s.ptype[p] == "Offline") | (s.owner[p] == "kernel")
                | (s.owner[p] == "pinned"))
        return when(~s.hwpoison[p], self.memmap_live(s, p)).then(
            s.hwpoison[p].becomes(True), s.ptype[p].becomes(ite(kept, s.ptype[p], "none")),
            s.owner[p].becomes(ite(kept, s.owner[p], "none")),
            s.ref_owner[p].becomes(ite(kept, s.ref_owner[p], 0)),
            s.skippable[p].becomes(s.skippable[p] & kept))
