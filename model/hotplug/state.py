"""The state of the hotplug model and the page predicates every kernel step reads.

Pages carry their type, owner class, the owner's part of the refcount, the
PG_offline_skippable and PG_hwpoison bits; free-list membership is derived (a
PageBuddy page sits on the isolate list exactly when its pageblock is isolated,
docs/hotplug.md#page-states). The stray part of the refcount belongs to one
speculative holder: ``stray_state`` says whether it holds a reference,
``stray_page`` to which page, and ``stray_counted`` whether that reference is really in
the page's count (memmap re-initialisation and the newest virtio-mem cancel handler
lose it, docs/hotplug.md#speculative-references). So page_count(p) = ref_owner[p] +
(1 if the holder's counted reference is on p).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..base import Declarations, Model, init
from ..domains import Bool, Enum, EnumDomain, IntRange, UserValue
from ..dsl import Effect, Operand, StateView, Term, all_of, any_of, implies, ite, then
from ..errors import ModelError
from ..expr import Assign, Const, Expr, Var
from ..quantify import apply, exists, finite_only, forall, parametric_build, update_all
from .knobs import KNOBS, PARAMS, PRESET_SOURCE, PRESETS
from .population import ALL_CLASSES, CODES, Layout, parse, repeat_population

PageType = Enum("PageType", ["none", "Buddy", "Offline"])
Owner = Enum("Owner", ["none", "lru", "pinned", "kernel", "balloon", "class2", "vmem"])
BlockState = Enum("BlockState", ["online", "going_offline", "offline", "removed"])
Zone = Enum("Zone", ["ZONE_NORMAL", "ZONE_MOVABLE"])
#: Where the offline_pages operation stands (docs/hotplug.md#offline-pages, one label
#: per step).
Step = Enum("OfflineStep", [
    "idle",            # no offlining in progress
    "isolate",         # device_offline called; start_isolate_page_range next
    "going_offline",   # pageblocks isolated; MEM_GOING_OFFLINE next
    "notify_rest",     # virtio-mem saw MEM_GOING_OFFLINE; later notifiers next
    "scan",            # top of the migration loop: signal, pass limit, scan_movable_pages
    "migrate",         # do_migrate_range from scan_pfn next
    "test",            # scan said -ENOENT: dissolve + test_pages_isolated next
    "commit",          # test passed: __offline_isolated_pages next
    "offlined",        # sections offline: MEM_OFFLINE + remove_pfn_range_from_zone next
    "remove",          # offline_and_remove_memory: try_remove_memory next
    "undo",            # failure: undo_isolate_page_range next
    "cancel",          # failure: MEM_CANCEL_OFFLINE next
])
Caller = Enum("Caller", ["none", "user", "kthread"])
#: A page's owner class at the start, in a pageblock virtio-mem has plugged (a page of an
#: unplugged subblock starts as virtio-mem's fake-offline page whatever its class): the
#: population letters but V, as an attribute of each page
#: (docs/hotplug.md#populations-and-environment-switches).
PageClass = Enum("PageClass", ["none", "lru", "pinned", "kernel", "balloon", "class2"])
#: Whether a subblock (pageblock) starts plugged or unplugged at the hypervisor.
Subblock = Enum("Subblock", ["plugged", "unplugged"])
Callback = Enum("OnlinePageCallback", ["generic_online_page", "virtio_mem_online_page_cb"])
#: The speculative holder: no reference taken yet, holding one, or put it.
StrayState = Enum("StrayState", ["unused", "holding", "released"])

LRU_OWNERS = ("lru", "pinned")
#: The page fields a free to the buddy or virtio-mem's fake-online rewrites, in the
#: order ``HotplugBase.freed_values`` and ``VirtioMem.fake_online`` give their values.
PAGE_FIELDS = ("ptype", "owner", "ref_owner", "skippable", "dirty")


def term(value: Any) -> Term:
    """``value`` as a Term (state views are untyped; this keeps mypy strict)."""
    if not isinstance(value, Term):
        raise ModelError(f"expected a model expression, got {value!r}")
    return value


def label(domain: EnumDomain, name: str) -> Term:
    """The constant ``name`` of an enum, as a term (for ite with two labels)."""
    return Term(Const(domain.encode(name, f"label of {domain.name}"), domain))


class Updates:
    """Simultaneous updates collected by target; a later ``set`` of a target wins."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, int | Expr | None], tuple[Term, Operand]] = {}
        self._every: list[Assign] = []

    def set(self, target: Term, value: Operand) -> None:
        node = target.node
        if not isinstance(node, Var):
            raise ModelError("Updates.set needs a state variable")
        index = node.index
        key = (node.name, index.value if isinstance(index, Const) else index)
        self._items[key] = (target, value)

    def every(self, over: str, where: Callable[[Any], Operand],
              update: Callable[[Any], Assign]) -> None:
        """``update(i)`` for every element ``i`` of ``over`` where ``where(i)``
        (``update_all``): one Assign per element in the finite build, kept with the other
        sets; one quantified update in the parametric build."""
        for a in update_all(over, where, update):
            if isinstance(a.index, Const):
                var = Term(Var(a.name, a.domain, a.index, a.size))
                self._items[(a.name, a.index.value)] = (var, Term(a.value))
            else:
                self._every.append(a)

    def assigns(self) -> list[Assign]:
        return [*self._every, *(target.becomes(value) for target, value in self._items.values())]


class HotplugBase(Model):
    """Declarations, the initial state and shared page predicates of the hotplug model."""

    name = "hotplug"
    summary = ("Linux memory hot(un)plug: PageOffline pages, isolation, offline_pages, "
               "virtio-mem and balloons under the designs of the PG_offline_skippable thread")
    params = PARAMS
    knobs = KNOBS
    presets = PRESETS
    preset_sources = PRESET_SOURCE
    sizes = ("blocks", "pageblocks", "pages")

    def __init__(self, params: Any = None, knobs: Any = None, preset: str | None = None) -> None:
        super().__init__(params, knobs, preset)
        self.layout: Layout = parse(str(self.k.population), self.p.blocks, self.p.pageblocks,
                                    self.p.pages)
        left_out = [c for c in CODES if self.layout.has(c) and c not in str(self.k.classes)]
        if left_out:
            default = " (the default population)" if self.k.population == \
                next(k.default for k in self.knobs if k.name == "population") else ""
            raise ModelError(
                f"model hotplug: population {self.k.population!r}{default} has a page "
                f"{left_out[0]} ({CODES[left_out[0]][1]}), which knob classes="
                f"{self.k.classes!r} leaves out; add the letter to classes or set a "
                "population without it")
        if (self.layout.has("B") and not self.k.balloon_compaction
                and self.k.zone == "movable"):
            raise ModelError(
                "model hotplug: population has balloon pages (B) in ZONE_MOVABLE but "
                "balloon_compaction is off: without migration support balloon pages are "
                "allocated with GFP_HIGHUSER and never come from ZONE_MOVABLE "
                "(docs/hotplug.md#balloon-pages); use zone=kernel")
        if self.k.debug_vm and self.k.free_path == "no-checks":
            raise ModelError(
                "model hotplug: knob debug_vm=true with free_path=no-checks: CONFIG_DEBUG_VM "
                "turns the page checks on (check_pages_enabled); use free_path=checks or v6.17")

    def knobs_at(self, sizes: Mapping[str, int]) -> dict[str, UserValue]:
        """The knobs at other sizes: the population's pageblocks repeated, in order, over
        the new geometry (a V pageblock stays whole, another's letters repeat to fill it)."""
        knobs = dict(self.k.items())
        size = {**{k: int(v) for k, v in self.p.items() if k in self.sizes}, **sizes}
        knobs["population"] = repeat_population(
            str(self.k.population), size["blocks"], size["pageblocks"], size["pages"])
        return knobs

    def sample_sizes(self) -> list[dict[str, int]]:
        """Small geometries for the forall engine's candidate invariants: one or two
        blocks, pageblocks and pages (the larger ones' state spaces grow fast)."""
        shapes = [(1, 1, 1), (1, 2, 1), (1, 3, 1), (1, 2, 2), (2, 1, 1), (2, 2, 1)]
        return [{"blocks": b, "pageblocks": q, "pages": n} for b, q, n in shapes]

    def sample_variants(self) -> list[tuple[dict[str, int], dict[str, UserValue]]]:
        """Every population of one block of two single-page pageblocks with the letters
        of knob ``classes`` (each pair, in the order of ``population.CODES``): a proof
        covers them all, and a property that fails for one (design F's S5 on a class-2
        page) fails there in a few hundred states."""
        knobs = dict(self.k.items())
        letters = [c for c in CODES if c in str(self.k.classes)]
        return [({"blocks": 1, "pageblocks": 2, "pages": 1},
                 {**knobs, "population": f"{a}|{b}"}) for a in letters for b in letters]

    def check_sizes(self) -> list[dict[str, int]]:
        """One larger geometry the forall engine prunes its candidates at."""
        return [{"blocks": 2, "pageblocks": 2, "pages": 2}]

    # -- declarations ---------------------------------------------------------------
    def declare(self, d: Declarations) -> None:
        """The index sets, relations, attributes and variables; the same source for the
        finite build (sizes from the parameters, relations and attributes from the
        population) and the parametric one (every size symbolic,
        docs/hotplug.md#proofs-for-every-size), which must not read the layout."""
        if d.parametric:
            self.layout = _NoLayout()  # type: ignore[assignment]
        p = self.p
        n_pages = p.blocks * p.pageblocks * p.pages
        finite = not d.parametric
        lay = self.layout  # read only by the finite build's tables below
        pfns = [f"pfn{i}" for i in range(n_pages)] if finite else []
        d.index("page", n_pages, labels=pfns, ordered=True)
        d.index("pageblock", p.blocks * p.pageblocks,
                labels=[f"pb{q}" for q in range(p.blocks * p.pageblocks)] if finite else [],
                ordered=True)
        d.index("block", p.blocks, labels=[f"memory{b}" for b in range(p.blocks)]
                if finite else [], ordered=True)
        # a page's position in its block (scan_pfn and do_migrate_range's start)
        d.index("offset", p.pageblocks * p.pages, ordered=True)
        # functional membership (docs/hotplug.md#proofs-for-every-size)
        # (a page's block is its pageblock's block: one relation, so no axiom has to tie
        # two together)
        d.function("pageblock_of", "page", "pageblock", lambda i: lay.pageblock_of(i))
        d.function("block_of_pageblock", "pageblock", "block", lambda q: q // lay.pageblocks)
        d.function("offset_of", "page", "offset", lambda i: lay.offset_in_block(i))
        # the population: a class per page, plugged or not per subblock
        d.attribute("page_class", "page", PageClass, lambda i: _class_of(lay, i))
        d.attribute("subblock", "pageblock", Subblock,
                    lambda q: "unplugged" if lay.unplugged(q) else "plugged")
        if set(str(self.k.classes)) != set(ALL_CLASSES):
            self.assume_classes(d, str(self.k.classes))
        d.var("ptype", PageType, over="page", doc="page type: none, PageBuddy or PageOffline")
        d.var("owner", Owner, over="page", doc="who owns the page (ghost: the owner class)")
        d.var("ref_owner", IntRange(-2, 3), over="page",
              doc="refcount minus the stray holder's counted reference")
        d.var("skippable", Bool, over="page", doc="PG_offline_skippable (aliases PG_owner_2)")
        d.var("hwpoison", Bool, over="page", doc="PG_hwpoison")
        d.var("dirty", Bool, over="page",
              doc="PG_dirty: a fake-offline page the online callback kept (never onlined)")
        d.var("isolated", Bool, over="pageblock", doc="pageblock is MIGRATE_ISOLATE")
        d.var("plugged", Bool, over="pageblock",
              doc="virtio-mem subblock plugged at the hypervisor")
        d.var("block_state", BlockState, over="block", doc="memory block state (sysfs)")
        d.var("zone", Zone, over="block", doc="zone the block is onlined to")
        d.var("section_online", Bool, over="block", doc="the sections' online bit")
        d.var("memmap_valid", Bool, over="block", doc="struct pages initialised (not poisoned)")
        ppb = p.pageblocks * p.pages
        # Below zero when pages are subtracted twice: a stray put frees an owner's page
        # without adding it back, the owner's next take subtracts it again (once per
        # stray get), and the commit subtracts poisoned PageOffline pages their owner had
        # already subtracted (up to every page). Measured lowest: -(ppb + stray gets).
        d.count("managed", lambda: (-2 * ppb - 2, ppb), over="block",
                doc="the block's contribution to the zone's managed page count")
        d.var("pc", Step, doc="where offline_pages stands")
        d.element("op_block", "block", doc="the block being offlined")
        d.var("caller", Caller, doc="who offlines: user space (sysfs) or a kernel thread")
        d.element("scan_pfn", "offset", doc="where the next scan starts (block offset)")
        d.var("passes", IntRange(0, int(self.k.offline_migrate_max_passes)),
              doc="offline_pages' pass counter (advances only with a pass limit)")
        d.var("signal", Bool, doc="a signal is pending for the offlining task")
        # (the parametric build declares the holder and the walker only where they run:
        # otherwise they keep their initial values, which the finite build stores)
        if finite or self.stray_on():
            d.var("stray_state", StrayState,
                  doc="the speculative holder: no reference yet, holding one, or put it")
            d.element("stray_page", "page",
                      doc="the page the holder holds a reference to (0 unless holding)")
            d.var("stray_counted", Bool, doc="the holder's reference is in that page's refcount")
            d.var("stray_gets_left", IntRange(0, int(self.k.stray_gets)),
                  doc="how many more references the holder may take")
        d.var("bad_put", Bool, doc="ghost: a reference was put that was not counted (S10)")
        d.var("exposed", Bool,
              doc="ghost: a put freed a page of an unplugged subblock to the buddy (S3's race)")
        d.var("vm_bug", Bool, doc="ghost: a VM_BUG_ON fired (CONFIG_DEBUG_VM, S13)")
        d.var("unload_clean", Bool,
              doc="ghost: at the unload every unplugged page was still fake-offline (S9)")
        if finite or self.k.walker:
            d.var("walker_active", Bool,
                  doc="a pfn walker holds a page pointer from pfn_to_online_page")
            d.element("walker_page", "page", doc="the page it holds (0 unless holding)")
        d.var("vmem_loaded", Bool, doc="virtio-mem driver loaded (memory notifier registered)")
        d.var("vmem_removing", Bool,
              doc="vm->removing: the unload has begun; the notifier vetoes, the work item "
                  "is stopped")
        d.var("online_page_callback", Callback, doc="the system-wide online page callback")
        d.var("hotplug_active", Bool,
              doc="virtio-mem saw MEM_GOING_OFFLINE and holds hotplug_mutex")
        d.count("spare", lambda: (0, int(p.spare)), doc="free pages elsewhere")
        d.count("balloon_elsewhere", lambda: (0, int(p.spare)),
                doc="balloon pages migrated out to other memory")
        if not finite:
            # do_migrate_range moves pages while free memory elsewhere lasts, a sequential
            # count: the parametric build lets any subset of the movable pages move
            # (untracked, so an arbitrary choice per page at every step).
            d.count("migration_target", lambda: (0, 0), over="page",
                    doc="parametric build only: whether migrate_pages finds a free page "
                        "elsewhere for this page (any subset of the movable pages moves)")

    @staticmethod
    def assume_classes(d: Declarations, letters: str) -> None:
        """Knob ``classes`` as an assumption: a page of a plugged subblock has one of
        its classes, and no subblock starts unplugged unless V is one of them."""
        owners = [CODES[c][0] for c in letters if c != "V"]

        def page_ok(p: Any) -> Term:
            unplugged = apply("subblock", apply("pageblock_of", p)) == "unplugged"
            return any_of([unplugged, *(apply("page_class", p) == n for n in owners)])

        def fact() -> Term:
            pages = forall("page", page_ok)
            if "V" in letters:
                return pages
            return all_of([pages, forall("pageblock",
                                         lambda q: apply("subblock", q) == "plugged")])

        plugged = ", ".join(c for c in CODES if c in letters and c != "V") or "none"
        unplugged = "may" if "V" in letters else "may not"
        d.assume("classes", fact, doc=f"every page of a plugged subblock is one of {plugged}; "
                                      f"a subblock {unplugged} start unplugged (V)")

    @init
    def start(self, s: StateView) -> Effect:
        """All blocks online, every page as its class says (virtio-mem's fake-offline
        page in an unplugged subblock)."""
        u = Updates()
        consent_flag = self.k.consent == "skippable-flag"

        def unplugged(p: Any) -> Term:
            return term(apply("subblock", apply("pageblock_of", p)) == "unplugged")

        def is_class(p: Any, *names: str) -> Term:
            return any_of(apply("page_class", p) == n for n in names)

        def ptype(p: Any) -> Term:
            return term(ite(unplugged(p) | is_class(p, "balloon", "class2"),
                            label(PageType, "Offline"),
                            ite(is_class(p, "none"), label(PageType, "Buddy"),
                                label(PageType, "none"))))

        def owner(p: Any) -> Term:
            chosen: Term = label(Owner, "kernel")
            for name in ("class2", "balloon", "pinned", "lru", "none"):
                chosen = term(ite(is_class(p, name), label(Owner, name), chosen))
            return term(ite(unplugged(p), label(Owner, "vmem"), chosen))

        def ref(p: Any) -> Term:
            by_class = ite(is_class(p, "none"), 0,
                           ite(is_class(p, "balloon"), self.offline_ref("balloon"),
                               ite(is_class(p, "class2"), self.offline_ref("class2"), 1)))
            return term(ite(unplugged(p), self.offline_ref("vmem"), by_class))

        every = lambda p: True  # noqa: E731
        u.every("page", every, lambda p: s.ptype[p].becomes(ptype(p)))
        u.every("page", every, lambda p: s.owner[p].becomes(owner(p)))
        u.every("page", every, lambda p: s.ref_owner[p].becomes(ref(p)))
        u.every("page", every, lambda p: s.skippable[p].becomes(unplugged(p) & consent_flag))
        # The block was onlined with this subblock unplugged: the callback kept it.
        u.every("page", every, lambda p: s.dirty[p].becomes(unplugged(p)))
        u.every("pageblock", every, lambda q: s.plugged[q].becomes(
            apply("subblock", q) == "plugged"))
        u.every("block", every, lambda b: s.block_state[b].becomes("online"))
        u.every("block", every, lambda b: s.zone[b].becomes(
            "ZONE_MOVABLE" if self.k.zone == "movable" else "ZONE_NORMAL"))
        u.every("block", every, lambda b: s.section_online[b].becomes(True))
        u.every("block", every, lambda b: s.memmap_valid[b].becomes(True))
        u.every("block", every, lambda b: s.managed[b].becomes(finite_only(
            lambda: sum(1 for i in self.layout.pages_of_block(b)
                        if self.layout.owner(i) not in ("balloon", "class2", "vmem")))))
        u.set(s.pc, "idle")
        u.set(s.op_block, 0)
        u.set(s.scan_pfn, 0)
        u.set(s.passes, 0)
        vmem = exists("pageblock", lambda q: apply("subblock", q) == "unplugged")
        u.set(s.vmem_loaded, vmem)
        u.set(s.vmem_removing, False)
        u.set(s.online_page_callback,
              ite(vmem, label(Callback, "virtio_mem_online_page_cb"),
                  label(Callback, "generic_online_page")))
        u.set(s.spare, finite_only(lambda: self.p.spare))
        u.set(s.balloon_elsewhere, 0)
        if not parametric_build() or self.stray_on():
            u.set(s.stray_gets_left, int(self.k.stray_gets) if self.stray_on() else 0)
        u.set(s.unload_clean, True)
        return then(*u.assigns())

    # -- geometry: declared relations, the same in both builds ----------------------
    def pb(self, p: Any) -> Any:
        """The pageblock of page ``p``."""
        return apply("pageblock_of", p)

    def blk(self, p: Any) -> Any:
        """The block of page ``p``."""
        return apply("block_of_pageblock", apply("pageblock_of", p))

    def every_page(self, b: Any, body: Callable[[Any], Operand]) -> Term:
        """``body(p)`` for every page ``p`` of block ``b``."""
        return forall("page", lambda p: implies(self.blk(p) == b, body(p)))

    def some_page(self, b: Any, body: Callable[[Any], Operand]) -> Term:
        """``body(p)`` for some page ``p`` of block ``b``."""
        return exists("page", lambda p: all_of([self.blk(p) == b, body(p)]))

    def every_pageblock(self, b: Any, body: Callable[[Any], Operand]) -> Term:
        """``body(q)`` for every pageblock ``q`` of block ``b``."""
        return forall("pageblock", lambda q: implies(
            apply("block_of_pageblock", q) == b, body(q)))

    def every_page_of_pageblock(self, q: Any, body: Callable[[Any], Operand]) -> Term:
        """``body(p)`` for every page ``p`` of pageblock ``q``."""
        return forall("page", lambda p: implies(self.pb(p) == q, body(p)))

    def some_pageblock(self, b: Any, body: Callable[[Any], Operand]) -> Term:
        """``body(q)`` for some pageblock ``q`` of block ``b``."""
        return exists("pageblock", lambda q: all_of([apply("block_of_pageblock", q) == b,
                                                      body(q)]))

    def each_page(self, u: Updates, b: Any, update: Callable[[Any], Assign],
                  also: Callable[[Any], Operand] = lambda p: True) -> None:
        """``update(p)`` for every page ``p`` of block ``b`` (where ``also(p)``)."""
        u.every("page", lambda p: all_of([self.blk(p) == b, also(p)]), update)

    def single_block(self) -> bool:
        """A finite build of one block (offline_pages need not say which block)."""
        return not parametric_build() and self.layout.blocks == 1

    def may_have(self, letter: str) -> bool:
        """Whether the population may have pages of class ``letter`` (always, in the
        parametric build: it covers every population)."""
        return parametric_build() or bool(self.layout.has(letter))

    def stray_on(self) -> bool:
        """A speculative reference holder runs (knob stray)."""
        return str(self.k.stray) != "off"

    def is_op(self, s: StateView, b: Any, step: str) -> Term:
        """offline_pages of block ``b`` stands at ``step``."""
        if self.single_block():
            return term(s.pc == step)
        return term((s.pc == step) & (s.op_block == b))

    # -- page predicates (docs/hotplug.md#page-states, #offline-pages) ----------------
    def page_count(self, s: StateView, p: Any) -> Term:
        """page_count(): the owner's part plus the holder's counted reference."""
        if not self.stray_on():
            return term(s.ref_owner[p])
        return term(s.ref_owner[p] + ite(self.stray_counted_on(s, p), 1, 0))

    def stray_holds(self, s: StateView, p: Any) -> Term:
        """The speculative holder holds a reference to page ``p`` (counted or not); never
        without a holder (knob stray=off)."""
        if not self.stray_on():
            return all_of([False])
        return term((s.stray_state == "holding") & (s.stray_page == p))

    def walker_holds(self, s: StateView, p: Any) -> Term:
        """A pfn walker holds page ``p``'s pointer from pfn_to_online_page; never
        without a walker (knob walker)."""
        if not self.k.walker:
            return all_of([False])
        return term(s.walker_active & (s.walker_page == p))

    def stray_counted_on(self, s: StateView, p: Any) -> Term:
        """The holder's reference on page ``p`` is in its refcount."""
        if not self.stray_on():
            return all_of([False])
        return term(self.stray_holds(s, p) & s.stray_counted)

    def forget_stray(self, u: Updates, s: StateView, lost: Operand) -> None:
        """Where ``lost``, the holder's reference is no longer counted (the refcount was
        set or the memmap re-initialised)."""
        if self.stray_on():
            u.set(s.stray_counted, s.stray_counted & ~term(lost))

    def is_lru(self, s: StateView, p: Any) -> Term:
        """PageLRU: a user folio (pinned ones too) that memory_failure did not hit."""
        # memory_failure takes a page it hit off the LRU (delete_from_lru_cache), also
        # when extra references (a pin) keep it in use.
        return term(any_of(s.owner[p] == o for o in LRU_OWNERS) & (s.ptype[p] == "none")
                    & ~s.hwpoison[p])

    def movable_ops(self, s: StateView, p: Any) -> Term:
        """page_has_movable_ops: a balloon page with CONFIG_BALLOON_COMPACTION."""
        if not self.k.balloon_compaction:
            return all_of([False])
        return term((s.ptype[p] == "Offline") & (s.owner[p] == "balloon"))

    def skippable_core(self, s: StateView, p: Any) -> Term:
        """The core's "this PageOffline page may be skipped" test of the chosen design."""
        consent = self.k.consent
        offline = s.ptype[p] == "Offline"
        if consent == "skippable-flag":
            return term(offline & s.skippable[p])
        if consent == "not-movable-rule":
            return term(offline & ~self.movable_ops(s, p))
        return term(offline & (self.page_count(s, p) == 0))

    def uses_flag_core(self) -> bool:
        """Designs D, E, F: the core decides skippability before MEM_GOING_OFFLINE."""
        return self.k.consent in ("skippable-flag", "not-movable-rule")

    def frozen(self, owner: str) -> bool:
        """The owner's PageOffline pages are frozen (refcount 0 for good)."""
        knob = {"vmem": "frozen_vmem", "balloon": "frozen_balloon", "class2": "frozen_class2"}
        return bool(getattr(self.k, knob[owner]))

    def offline_ref(self, owner: str = "vmem") -> int:
        """The refcount an owner keeps on its PageOffline pages (0 when frozen)."""
        return 0 if self.frozen(owner) else 1

    def page_checks(self) -> bool:
        """Page checks on the free and alloc paths (free_page_is_bad, check_new_page)."""
        return self.k.free_path == "checks" or bool(self.k.debug_vm)

    def unplugged_vmem(self, s: StateView, p: Any) -> Term:
        """Page ``p`` is in a subblock virtio-mem (loaded) has unplugged."""
        if not self.may_have("V"):
            return all_of([False])
        return term(s.vmem_loaded & ~s.plugged[self.pb(p)])

    def freed(self, u: Updates, s: StateView, p: Any, cond: Operand = True) -> None:
        """The page is freed to the buddy when ``cond``: type Buddy, no owner, flags clear.

        Since v6.17 the free path clears any page type (docs/hotplug.md#page-states); the page
        lands on its pageblock's list, the isolate list if the pageblock is isolated.
        """
        for target, value in self.freed_values(s, p, cond):
            u.set(target, value)

    def freed_where(self, u: Updates, s: StateView, b: Any,
                    cond: Callable[[Any], Operand]) -> None:
        """``freed`` for every page ``p`` of block ``b`` where ``cond(p)``, in one step."""
        for update in self.page_fields(s, lambda p: [
                value for _, value in self.freed_values(s, p, cond(p))]):
            self.each_page(u, b, update)

    def page_fields(self, s: StateView, values: Callable[[Any], Sequence[Operand]]
                    ) -> list[Callable[[Any], Assign]]:
        """One update per field of PAGE_FIELDS: page ``p``'s field becomes the matching
        one of ``values(p)`` (``update_all`` takes one field's update at a time)."""
        def field(k: int, name: str) -> Callable[[Any], Assign]:
            def update(p: Any) -> Assign:
                value: Assign = s[name][p].becomes(values(p)[k])
                return value
            return update
        return [field(k, name) for k, name in enumerate(PAGE_FIELDS)]

    def freed_values(self, s: StateView, p: Any, cond: Operand) -> list[tuple[Term, Term]]:
        """What ``freed`` writes: (field of page ``p``, its new value)."""
        # A poisoned page is never handed back to the buddy: free_pages_prepare returns
        # before it resets the type and the flags, so a PageOffline page stays one.
        buddy = ite(s.hwpoison[p], s.ptype[p], "Buddy")
        return [(s.ptype[p], term(ite(cond, buddy, s.ptype[p]))),
                (s.owner[p], term(ite(cond, "none", s.owner[p]))),
                (s.ref_owner[p], term(ite(cond, 0, s.ref_owner[p]))),
                (s.skippable[p], term(ite(cond, s.skippable[p] & s.hwpoison[p], s.skippable[p]))),
                (s.dirty[p], term(ite(cond, s.dirty[p] & s.hwpoison[p], s.dirty[p])))]

    def put_freed(self, u: Updates, s: StateView, p: Any, cond: Term) -> None:
        """The last put of a page frees it when ``cond``, by the configured free path.

        v6.17 and no-checks: the page reaches the buddy whatever its type. checks (older
        kernels with page checks): a page that still has a type is a bad page; bad_page
        resets the type and leaks the page, flags and owner's belief untouched.
        """
        reaches_buddy = cond
        if self.k.free_path != "checks":
            self.freed(u, s, p, cond)
        else:
            leak = cond & (s.ptype[p] == "Offline") & ~s.hwpoison[p]
            normal = cond & ~leak
            self.freed(u, s, p, normal)
            freed_type = ite(s.hwpoison[p], s.ptype[p], "Buddy")
            u.set(s.ptype[p], ite(leak, label(PageType, "none"),
                                  ite(normal, freed_type, s.ptype[p])))
            u.set(s.ref_owner[p], ite(cond, 0, s.ref_owner[p]))
            reaches_buddy = normal
        if self.may_have("V"):
            u.set(s.exposed, s.exposed | (reaches_buddy & ~s.hwpoison[p]
                                          & self.unplugged_vmem(s, p)))

    def op_done(self, u: Updates, s: StateView) -> None:
        """offline_pages returned: reset the per-call locals."""
        u.set(s.pc, "idle")
        u.set(s.caller, "none")
        u.set(s.scan_pfn, 0)
        u.set(s.passes, 0)
        u.set(s.signal, False)
        if not self.single_block():
            u.set(s.op_block, 0)

    def flag(self, name: str) -> bool:
        """A boolean knob's value."""
        value: UserValue = getattr(self.k, name)
        return bool(value)


class _NoLayout:
    """The parametric build's stand-in for the parsed population: any read of it is the
    model computing with one finite instance where it must quantify."""

    def __getattr__(self, name: str) -> Any:
        raise ModelError(f"model hotplug: the parametric build reads the finite layout "
                         f"({name}); quantify over pages with the declared relations instead")


def _class_of(lay: Layout, pfn: int) -> str:
    """A page's class in a finite build: its population letter's owner (a page of an
    unplugged subblock is virtio-mem's whatever this says)."""
    owner = lay.owner(pfn)
    return "none" if owner == "vmem" else owner
