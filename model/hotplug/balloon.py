"""A memory balloon (virtio-balloon): inflate takes free pages and marks them
PageOffline, deflate frees them (docs/hotplug.md#balloon-pages). Migration of balloon pages is
part of do_migrate_range in offline.py."""

from __future__ import annotations

from typing import Any

from ..base import action
from ..dsl import Effect, StateView, when
from ..quantify import finite_only
from .offline import ALL
from .state import HotplugBase, Updates

BAL = "mm/balloon.c"


class Balloon(HotplugBase):
    """balloon_page_enqueue and balloon_page_dequeue."""

    @action(switch="balloon_ops=true",
            p="page", tags=ALL, cites=f"{BAL} balloon_page_alloc, balloon_page_enqueue, "
                                      "balloon_page_insert (docs/hotplug.md#balloon-pages)")
    def balloon_page_enqueue(self, s: StateView, p: Any) -> Effect | None:
        """Inflate: a free page becomes a PageOffline balloon page (managed count -1)."""
        if not self.k.balloon_ops:
            return None
        b = self.blk(p)
        if not self.k.balloon_compaction and self.k.zone == "movable":
            return None
        u = Updates()
        u.set(s.ptype[p], "Offline")
        u.set(s.owner[p], "balloon")
        u.set(s.ref_owner[p], self.offline_ref("balloon"))
        u.set(s.managed[b], finite_only(lambda: s.managed[b] - 1))
        return when(s.ptype[p] == "Buddy", ~s.isolated[self.pb(p)], s.section_online[b],
                    s.memmap_valid[b]).then(*u.assigns())

    @action(switch="balloon_ops=true",
            p="page", tags=ALL, cites=f"{BAL} balloon_page_dequeue, balloon_page_finalize "
                                      "(docs/hotplug.md#balloon-pages)")
    def balloon_page_dequeue(self, s: StateView, p: Any) -> Effect | None:
        """Deflate: the balloon frees one of its pages (managed count +1)."""
        if not self.k.balloon_ops:
            return None
        b = self.blk(p)
        u = Updates()
        self.freed(u, s, p)
        u.set(s.managed[b], finite_only(lambda: s.managed[b] + 1))
        return when(s.ptype[p] == "Offline", s.owner[p] == "balloon",
                    self.page_count(s, p) == self.offline_ref("balloon"), s.section_online[b],
                    s.memmap_valid[b]).then(*u.assigns())
