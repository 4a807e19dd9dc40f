"""Populations: which owner class sits on which page of the modelled memory blocks.

A population is a string with one letter per page. ``|`` separates pageblocks (one
pageblock is one virtio-mem subblock) and ``/`` separates memory blocks, so
``"V|f"`` is one block of two single-page pageblocks: the first unplugged by
virtio-mem, the second plugged and free. A spec picks the smallest population that
can show its scenario; the letters are the owner classes of docs/hotplug.md#page-states
and docs/hotplug.md#pageoffline-owners.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ModelError

#: letter -> (owner class, what the page is at the start).
CODES: dict[str, tuple[str, str]] = {
    "f": ("none", "free page in the buddy (PageBuddy, refcount 0)"),
    "L": ("lru", "LRU folio of a user process (migratable)"),
    "P": ("pinned", "long-term pinned LRU folio (found by the scan, never migrates)"),
    "K": ("kernel", "unmovable kernel allocation (slab, page table)"),
    "B": ("balloon", "inflated balloon page (PageOffline; movable ops iff balloon_compaction)"),
    "X": ("class2", "class-2 PageOffline owner: XEN/Hyper-V balloon, memtrace (never consents)"),
    "V": ("vmem", "virtio-mem fake-offline page of an unplugged subblock (whole pageblock)"),
}


def describe_codes() -> str:
    """One line per population letter, for knob docs and error messages."""
    return "; ".join(f"{c} = {doc}" for c, (_, doc) in CODES.items())


def check_syntax(text: str) -> str | None:
    """An error text if ``text`` is not a well-formed population, else None (knob validator)."""
    if not text:
        return "empty population; write one letter per page, e.g. 'V|f'"
    for block in text.split("/"):
        for pageblock in block.split("|"):
            if not pageblock:
                return f"empty pageblock in {text!r} (two separators in a row?)"
            for ch in pageblock:
                if ch not in CODES:
                    return (f"unknown population letter {ch!r} in {text!r}; "
                            f"letters: {describe_codes()}")
            if "V" in pageblock and set(pageblock) != {"V"}:
                return (f"pageblock {pageblock!r} mixes V with other letters: virtio-mem "
                        "unplugs whole subblocks (one subblock = one pageblock)")
    return None


#: every population letter, the ``classes`` knob's default
ALL_CLASSES = "".join(CODES)


def check_classes(text: str) -> str | None:
    """An error text if ``text`` is not a set of population letters (knob validator)."""
    if not text:
        return f"no letters; name the classes a page may have, e.g. {ALL_CLASSES!r}"
    unknown = [ch for ch in text if ch not in CODES]
    if unknown:
        return f"unknown population letter {unknown[0]!r} in {text!r}; letters: {describe_codes()}"
    twice = [ch for ch in CODES if text.count(ch) > 1]
    if twice:
        return f"letter {twice[0]!r} appears twice in {text!r}"
    return None


@dataclass(frozen=True)
class Layout:
    """The page geometry and the population letter of every page (pfn order)."""

    blocks: int
    pageblocks: int  # per block
    pages: int  # per pageblock
    codes: tuple[str, ...]

    @property
    def n_pages(self) -> int:
        return self.blocks * self.pageblocks * self.pages

    @property
    def n_pageblocks(self) -> int:
        return self.blocks * self.pageblocks

    @property
    def pages_per_block(self) -> int:
        return self.pageblocks * self.pages

    def block_of(self, pfn: int) -> int:
        return pfn // self.pages_per_block

    def pageblock_of(self, pfn: int) -> int:
        return pfn // self.pages

    def offset_in_block(self, pfn: int) -> int:
        return pfn % self.pages_per_block

    def pages_of_block(self, block: int) -> range:
        first = block * self.pages_per_block
        return range(first, first + self.pages_per_block)

    def pages_of_pageblock(self, pageblock: int) -> range:
        first = pageblock * self.pages
        return range(first, first + self.pages)

    def pageblocks_of_block(self, block: int) -> range:
        first = block * self.pageblocks
        return range(first, first + self.pageblocks)

    def owner(self, pfn: int) -> str:
        return CODES[self.codes[pfn]][0]

    def unplugged(self, pageblock: int) -> bool:
        """A pageblock populated with V starts unplugged at the hypervisor."""
        return all(self.codes[p] == "V" for p in self.pages_of_pageblock(pageblock))

    def has(self, letter: str) -> bool:
        return letter in self.codes


def parse(text: str, blocks: int, pageblocks: int, pages: int) -> Layout:
    """The layout of ``text`` for the given geometry, or a ModelError saying what differs."""
    problem = check_syntax(text)
    if problem:
        raise ModelError(f"model hotplug: knob population: {problem}")
    block_texts = text.split("/")
    if len(block_texts) != blocks:
        n = len(block_texts)
        raise ModelError(f"model hotplug: population {text!r} describes {n} "
                         f"block{'s' if n != 1 else ''} but parameter blocks={blocks}")
    codes: list[str] = []
    for b, block in enumerate(block_texts):
        pbs = block.split("|")
        if len(pbs) != pageblocks:
            raise ModelError(f"model hotplug: population {text!r}, block {b} has {len(pbs)} "
                             f"pageblocks but parameter pageblocks={pageblocks}")
        for q, pb in enumerate(pbs):
            if len(pb) != pages:
                raise ModelError(f"model hotplug: population {text!r}, block {b} pageblock {q} "
                                 f"has {len(pb)} pages but parameter pages={pages}")
            codes.extend(pb)
    return Layout(blocks, pageblocks, pages, tuple(codes))


def repeat_population(text: str, blocks: int, pageblocks: int, pages: int) -> str:
    """``text``'s pageblocks repeated in order over another geometry: each pageblock of
    the result takes the next pageblock of ``text`` (cycling), a V pageblock whole, any
    other with its letters repeated to ``pages`` letters."""
    source = [pb for block in text.split("/") for pb in block.split("|")]
    out: list[str] = []
    k = 0
    for _ in range(blocks):
        pbs = []
        for _ in range(pageblocks):
            letters = source[k % len(source)]
            k += 1
            pbs.append((letters * pages)[:pages])
        out.append("|".join(pbs))
    return "/".join(out)
