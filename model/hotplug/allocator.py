"""The page allocator: it hands out free pages of non-isolated pageblocks and takes
them back (docs/hotplug.md#page-states, docs/hotplug.md#isolation). An allocated page
is an LRU folio of a user."""

from __future__ import annotations

from typing import Any

from ..base import action
from ..dsl import Effect, StateView, ite, when
from .offline import ALL
from .state import HotplugBase, Owner, Updates, label, term


class Allocator(HotplugBase):
    """rmqueue and the owner's final folio_put."""

    @action(switch="allocator=true", p="page", tags=ALL,
            cites="mm/page_alloc.c rmqueue, prep_new_page (set_page_refcounted)"
                  " (docs/hotplug.md#page-states)")
    def rmqueue(self, s: StateView, p: Any) -> Effect | None:
        """A free page on a normal free list is allocated to a user (refcount set to 1)."""
        if not self.k.allocator:
            return None
        b = self.blk(p)
        u = Updates()
        u.set(s.ptype[p], "none")
        if self.page_checks():
            # check_new_page: a free page with a non-zero count is a bad page, taken off
            # the free list and leaked (rmqueue tries the next one).
            ok = self.page_count(s, p) == 0
            u.set(s.owner[p], ite(ok, label(Owner, "lru"), s.owner[p]))
            u.set(s.ref_owner[p], ite(ok, 1, s.ref_owner[p]))
        else:
            # set_page_refcounted: set_page_count(1), forgetting a stray reference.
            u.set(s.owner[p], "lru")
            u.set(s.ref_owner[p], 1)
            self.forget_stray(u, s, self.stray_holds(s, p))
        return when(s.ptype[p] == "Buddy", ~s.isolated[self.pb(p)], s.section_online[b],
                    s.memmap_valid[b]).then(*u.assigns())

    @action(switch="allocator=true",
            p="page", tags=ALL, cites="include/linux/mm.h folio_put, mm/swap.c __folio_put "
                                      "(docs/hotplug.md#page-states)")
    def folio_put(self, s: StateView, p: Any) -> Effect | None:
        """The user drops its folio; the last put frees it onto its pageblock's list."""
        if not self.k.allocator:
            return None
        b = self.blk(p)
        u = Updates()
        self.put_freed(u, s, p, term(self.page_count(s, p) == 1))
        u.set(s.owner[p], "none")
        u.set(s.ref_owner[p], s.ref_owner[p] - 1)
        return when(s.owner[p] == "lru", s.ptype[p] == "none", s.section_online[b],
                    s.memmap_valid[b]).then(*u.assigns())
