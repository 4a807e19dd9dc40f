"""How the trace viewer draws the hotplug model: entities and the page map.

The map has one row per memory block and one cell per page, pageblocks (virtio-mem
subblocks) separated. A cell's letter says what the page is to the kernel; a
lowercase letter marks a page of a subblock that is unplugged at the hypervisor,
which nobody may touch but its owner. The row's note is the block's state and, while
one runs, where offline_pages stands. The model opts in by inheriting
``HotplugView`` (its ``view`` method is the hook ``model.view.view_for`` calls).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..system import TransitionSystem
from ..view import Cell, Entity, Glyph, Row, StateMap, Values, View, group_by_index, scalars

if TYPE_CHECKING:
    from .population import Layout

LEGEND: tuple[Glyph, ...] = (
    Glyph("F", "free", "green", "PageBuddy on a normal free list: allocatable"),
    Glyph("I", "isolated free", "cyan",
          "PageBuddy on the isolate list (MIGRATE_ISOLATE pageblock): not allocatable"),
    Glyph("A", "allocated", "blue", "an LRU folio of a user process (migratable)"),
    Glyph("P", "pinned", "magenta", "a long-term pinned LRU folio: never migrates"),
    Glyph("K", "kernel", "white", "an unmovable kernel allocation (slab, page table)"),
    Glyph("B", "balloon", "yellow", "an inflated balloon page (PageOffline)"),
    Glyph("O", "Offline", "yellow",
          "PageOffline owned by virtio-mem or a class-2 driver (XEN, Hyper-V, memtrace)"),
    Glyph("S", "Offline-skippable", "green", "PageOffline with PG_offline_skippable"),
    Glyph("X", "poisoned", "red", "PG_hwpoison: memory_failure hit the page"),
    Glyph("-", "stale memmap", "grey",
          "the block is offline or removed: its struct pages must not be read"),
    Glyph("?", "lost", "red", "no type and no owner: a page nobody accounts for"),
    # A free page of an unplugged subblock in the buddy is the bug (S3): the allocator
    # may hand out memory the hypervisor took back; its users are the damage.
    Glyph("f", "free, unplugged", "danger",
          "lowercase: the page's subblock is unplugged at the hypervisor; in the buddy, "
          "the allocator may hand it out (the bug, S3)"),
    Glyph("i", "isolated free, unplugged", "danger",
          "in the buddy (isolated): allocatable once the isolation is undone"),
    Glyph("a", "allocated, unplugged", "danger",
          "a user writes memory the hypervisor took back"),
    Glyph("p", "pinned, unplugged", "danger"),
    Glyph("k", "kernel, unplugged", "danger"),
    Glyph("b", "balloon, unplugged", "yellow"),
    Glyph("o", "Offline, unplugged", "yellow", "virtio-mem's fake-offline page (as it should be)"),
    Glyph("s", "Offline-skippable, unplugged", "green"),
    Glyph("x", "poisoned, unplugged", "red"),
)

_OWNED = {"lru": "A", "pinned": "P", "kernel": "K"}


def page_letter(v: Values, p: int, block: int, pageblock: int) -> str:
    """The map letter of page ``p`` in the decoded state ``v``."""
    if (not v["memmap_valid"][block] or not v["section_online"][block]
            or v["block_state"][block] in ("offline", "removed")):
        return "-"
    ptype, owner = v["ptype"][p], v["owner"][p]
    if v["hwpoison"][p]:
        letter = "X"
    elif ptype == "Buddy":
        letter = "I" if v["isolated"][pageblock] else "F"
    elif ptype == "Offline":
        letter = "S" if v["skippable"][p] else ("B" if owner == "balloon" else "O")
    else:
        letter = _OWNED.get(str(owner), "?")
    if letter != "?" and not v["plugged"][pageblock]:
        letter = letter.lower()
    return letter


def _page_note(v: Values, p: int) -> str:
    stray = v["stray_state"] == "holding" and v["stray_page"] == p
    count = int(v["ref_owner"][p]) + (1 if stray and v["stray_counted"] else 0)
    parts = [f"type {v['ptype'][p]}", f"owner {v['owner'][p]}", f"refcount {count}"]
    if stray:
        parts.append("a stray reference points here"
                     + ("" if v["stray_counted"] else " (not counted)"))
    if v["walker_active"] and v["walker_page"] == p:
        parts.append("a pfn walker holds this page")
    return ", ".join(parts)


def _block_note(v: Values, b: int, blocks: int) -> str:
    note = str(v["block_state"][b])
    if v["pc"] != "idle" and (blocks == 1 or v["op_block"] == b):
        note += f"; offline_pages at {v['pc']}"
    return note


class HotplugView:
    """Mixin for the hotplug model: per-page entities and the page map."""

    layout: Layout

    def view(self, ts: TransitionSystem) -> View:
        lay = self.layout
        entities: list[Entity] = list(group_by_index(
            ts, labels={"ptype": "type", "block_state": "state"},
            entity_names={"page": "page", "pageblock": "pageblock", "block": "block"},
            skip=[v.name for v in ts.variables if v.index is None]))
        groups = {
            "offline_pages": ("pc", "op_block", "caller", "scan_pfn", "passes", "signal"),
            "stray holder": ("stray_state", "stray_page", "stray_counted"),
            "pfn walker": ("walker_active", "walker_page"),
            "virtio-mem": ("vmem_loaded", "vmem_removing", "online_page_callback",
                           "hotplug_active"),
            "elsewhere": ("spare", "balloon_elsewhere"),
        }
        known = {v.name for v in ts.variables}
        for name, members in groups.items():
            present = [m for m in members if m in known]
            if present:
                entities.append(scalars(ts, name, present))
        listed = {m for members in groups.values() for m in members}
        rest = [v.name for v in ts.variables if v.index is None and v.name not in listed]
        if rest:
            entities.append(scalars(ts, "globals", rest))
        page_names = {p: _entity_name(ts, "page", p) for p in range(lay.n_pages)}

        def draw(v: Values) -> list[Row]:
            rows = []
            for b in range(lay.blocks):
                pages = list(lay.pages_of_block(b))
                cells = tuple(Cell(page_letter(v, p, b, lay.pageblock_of(p)), page_names[p],
                                   _page_note(v, p)) for p in pages)
                rows.append(Row(_entity_name(ts, "block", b), cells,
                                _block_note(v, b, lay.blocks), (lay.pages,) * lay.pageblocks))
            return rows

        page_map = StateMap("pages by memory block (| between pageblocks)", LEGEND, draw)
        return View(tuple(entities), page_map)


def _entity_name(ts: TransitionSystem, index: str, i: int) -> str:
    for v in ts.variables:
        if v.index is not None and v.index.name == index:
            return f"{index} {v.index.label(i)}"
    return f"{index} {i}"


__all__ = ["LEGEND", "HotplugView", "page_letter"]
