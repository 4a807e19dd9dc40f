"""The named properties of the hotplug model (docs/hotplug.md#properties).

Safety properties S1..S13 (S6c, S7a, S7b), liveness properties L1..L4 under weak fairness
of the kernel's own steps, and sanity reachability checks that show a "holds" is not
vacuous. The system itself (state, actions, knobs, presets) is in model/hotplug/.
"""

from __future__ import annotations

from typing import Any

from mhpcheck.model.base import (
    eventually,
    hint,
    invariant,
    leads_to,
    reachable,
    step_invariant,
)
from mhpcheck.model.dsl import StateView, Term, all_of, any_of, implies, ite
from mhpcheck.model.hotplug import HotplugSystem
from mhpcheck.model.hotplug.state import term
from mhpcheck.model.quantify import exists, forall

#: The actions a property is about (docs/hotplug.md#properties, the "needs" column):
#: each entry one action or a tuple of alternatives, one of which must fire for the
#: property to be able to fail; a "holds" where one never fires is vacuous.
OFFLINER = ("memory_block_offline", "offline_and_remove_memory",
            "virtio_mem_sbm_try_remove_unplugged_mb")
#: virtio-mem loaded (a V page) and an offlining of its block under way
VMEM_OFFLINE = "virtio_mem_memory_notifier_going_offline"
#: an offlining that failed after isolation
FAILED_OFFLINE = "undo_isolate_page_range"
STRAY = "folio_try_get_stray"
#: the commit step, __offline_isolated_pages
COMMIT = "__offline_isolated_pages"
#: something that changes a page behind offlining's back: a speculative reference, the
#: allocator, memory_failure, or the rollback of a failed attempt
DISTURBANCE = (STRAY, "rmqueue", "memory_failure", FAILED_OFFLINE)
#: what can make a counted reference uncounted, or drop one that is not there:
#: virtio-mem's MEM_GOING_OFFLINE handler (and its cancel), its plug, a re-onlining
FORGETS = (VMEM_OFFLINE, "virtio_mem_sbm_plug_sb_online", "online_pages")


class Hotplug(HotplugSystem):
    """The hotplug system with its named properties (docs/hotplug.md#properties)."""

    # -- helpers --------------------------------------------------------------------
    def live(self, s: StateView, p: Any) -> Term:
        b = self.blk(p)
        return term(s.section_online[b] & s.memmap_valid[b])

    def when_op(self, s: StateView, step: str, body: Any) -> Term:
        """For every block ``b``: if offline_pages of ``b`` stands at ``step``, then
        ``body(b)``."""
        return forall("block", lambda b: implies(self.is_op(s, b, step), body(b)))

    # -- safety ---------------------------------------------------------------------
    @invariant(name="page-type-exclusive", aliases=("S1",))
    def page_type_exclusive(self, s: StateView) -> Term:
        """A PageBuddy page is nobody's PageOffline page: no owner, no skippable bit.

        The type is one field, so Buddy and Offline cannot be set at once; this checks
        that the buddy's view and an owner's view of a page never overlap.
        """
        return forall("page", lambda p: (s.ptype[p] == "Buddy").implies(
            (s.owner[p] == "none") & ~s.skippable[p]))

    @invariant(name="skippable-implies-offline", aliases=("S2",), about=(VMEM_OFFLINE,))
    def skippable_implies_offline(self, s: StateView) -> Term:
        """PG_offline_skippable is only ever set on a PageOffline page (it aliases
        PG_owner_2, which means something else on other pages)."""
        return forall("page", lambda p: s.skippable[p].implies(s.ptype[p] == "Offline"))

    @invariant(name="unplugged-never-allocated", aliases=("S3",),
               about=(VMEM_OFFLINE, ("rmqueue", "balloon_page_enqueue")))
    def unplugged_never_allocated(self, s: StateView) -> Term:
        """While virtio-mem is loaded, no page of an unplugged subblock is handed out by
        the allocator or taken by a balloon (the unload paths are S9)."""
        return forall("page", lambda p: (s.vmem_loaded & ~s.plugged[self.pb(p)]
                                         & self.live(s, p)).implies(
            (s.owner[p] == "none") | (s.owner[p] == "vmem")))

    @invariant(name="failed-offline-preserves-offline-pages", aliases=("S4",),
               about=(VMEM_OFFLINE, FAILED_OFFLINE))
    def failed_offline_preserves(self, s: StateView) -> Term:
        """Whenever no offlining is in progress (so also after a failed one), every page
        of an unplugged subblock of an online block is still PageOffline, owned by
        virtio-mem, with exactly the owner's reference (balloon pages, which migrate,
        are excluded, docs/hotplug.md#s4)."""
        return forall("page", lambda p: (
            (s.pc == "idle") & s.vmem_loaded & (s.block_state[self.blk(p)] == "online")
            & ~s.plugged[self.pb(p)]).implies(
                (s.ptype[p] == "Offline") & (s.owner[p] == "vmem")
                & (s.ref_owner[p] == self.offline_ref("vmem"))))

    @invariant(name="offline-needs-owner-consent", aliases=("S5",), about=(OFFLINER,))
    def offline_needs_consent(self, s: StateView) -> Term:
        """The commit step never meets a PageOffline page of an owner that did not
        consent (a class-2 owner or a balloon)."""
        return self.when_op(s, "commit", lambda b: self.every_page(b, lambda p: ~(
            (s.ptype[p] == "Offline") & ((s.owner[p] == "class2") | (s.owner[p] == "balloon")))))

    def commit_fine(self, s: StateView, p: Any) -> Term:
        """__offline_isolated_pages' BUG_ON checks pass on page ``p``: a PageOffline page
        has refcount 0 (A, B, C; D/E/F only warn), every other page not skipped as
        poisoned is PageBuddy with refcount 0."""
        count = self.page_count(s, p)
        poisoned = (s.ptype[p] != "Buddy") & s.hwpoison[p]
        offline_ok = all_of([True]) if self.uses_flag_core() else (count == 0)
        offline = (s.ptype[p] == "Offline") & offline_ok
        buddy = (s.ptype[p] == "Buddy") & (count == 0)
        return term(poisoned | offline | buddy)

    def after_race(self, s: StateView) -> Term:
        """An earlier step already broke S3's or S10's premise: a put freed an unplugged
        page, or a reference was put that was not counted."""
        return term(s.exposed | s.bad_put)

    @invariant(name="commit-checks-hold", aliases=("S6",),
               about=(COMMIT, DISTURBANCE))
    def commit_checks_hold(self, s: StateView) -> Term:
        """From a sane start (no earlier race of S3 or S10), when __offline_isolated_pages
        runs no page trips its BUG_ON checks (the cascade after a race is S6c)."""
        sane = ~self.after_race(s)
        return implies(sane, self.when_op(s, "commit", lambda b: self.every_page(
            b, lambda p: self.commit_fine(s, p))))

    @invariant(name="commit-checks-hold-after-race", aliases=("S6c",),
               about=(COMMIT, STRAY))
    def commit_checks_after_race(self, s: StateView) -> Term:
        """After an earlier race of S3 or S10, __offline_isolated_pages still trips none
        of its BUG_ON checks: the cascade S6 leaves out."""
        race = self.after_race(s)
        return implies(race, self.when_op(s, "commit", lambda b: self.every_page(
            b, lambda p: self.commit_fine(s, p))))

    @step_invariant(name="walker-never-reads-stale-memmap", aliases=("S7a",),
                    about=(OFFLINER, "pfn_to_online_page", "pfn_walker_read_page"))
    def walker_reads_live_memmap(self, s: StateView, t: StateView) -> Term:
        """A pfn walker that got a page from pfn_to_online_page reads it only while its
        section is online and its memmap initialised."""
        return forall("page", lambda p: (self.walker_holds(s, p) & ~t.walker_active).implies(
            self.live(s, p)))

    @invariant(name="no-reference-outlives-offline", aliases=("S7b",),
               about=(OFFLINER, STRAY))
    def no_reference_outlives(self, s: StateView) -> Term:
        """No holder of a page reference still holds it once the page's section is
        offline."""
        return forall("page", lambda p: self.stray_holds(s, p).implies(
            s.section_online[self.blk(p)]))

    @invariant(name="managed-count-exact", aliases=("S8",),
               about=(COMMIT, DISTURBANCE))
    def managed_count_exact(self, s: StateView) -> Term:
        """Offlining subtracts exactly the block's managed pages: an offline block
        contributes nothing to the zone's managed count."""
        return forall("block", lambda b: (~s.section_online[b]).implies(s.managed[b] == 0))

    @invariant(name="unload-never-exposes-unplugged", aliases=("S9",),
               about=("virtio_mem_deinit_hotplug", "memory_block_offline", "online_pages"))
    def unload_never_exposes(self, s: StateView) -> Term:
        """After a clean unload of virtio-mem (every unplugged page still fake-offline at
        that moment; a race before it is S3's or S4's), a page of an unplugged subblock of
        a present block is always PageOffline: it never reaches the buddy."""
        return forall("page", lambda p: (~s.vmem_loaded & s.unload_clean & ~s.plugged[self.pb(p)]
                                         & self.live(s, p)).implies(s.ptype[p] == "Offline"))

    @invariant(name="put-only-counted-references", aliases=("S10",), about=(STRAY, FORGETS))
    def put_only_counted(self, s: StateView) -> Term:
        """Nobody puts a reference that is not in the page's count: a holder whose
        reference was forgotten (set_page_count, init_page_count, memmap
        re-initialisation) or virtio-mem dropping a reference on a page that is no
        longer its own takes someone else's."""
        return term(~s.bad_put)

    @invariant(name="refcount-never-negative", aliases=("S11",), about=(STRAY, FORGETS))
    def refcount_never_negative(self, s: StateView) -> Term:
        """The refcount of a page with a live memmap is never below zero."""
        return forall("page", lambda p: self.live(s, p).implies(self.page_count(s, p) >= 0))

    @invariant(name="commit-never-meets-page-in-use", aliases=("S12",),
               about=(COMMIT, "memory_failure"))
    def commit_never_meets_in_use(self, s: StateView) -> Term:
        """The commit step never meets a page in use (a user's, a pinned or a kernel page)
        whose owner did not consent; memory_failure keeps kernel and pinned pages in
        use, poisoned."""
        in_use = ("lru", "pinned", "kernel")
        return self.when_op(s, "commit", lambda b: self.every_page(
            b, lambda p: all_of(s.owner[p] != o for o in in_use)))

    @invariant(name="no-vm-bug-on", aliases=("S13",), about=(STRAY,))
    def no_vm_bug_on(self, s: StateView) -> Term:
        """Under CONFIG_DEBUG_VM (knob debug_vm) no VM_BUG_ON fires: no put of a page whose
        count is already zero (put_page_testzero)."""
        return term(~s.vm_bug)

    # -- hints for the proof for every size (docs/hotplug.md#proofs-for-every-size) ---
    # Candidate invariants for the forall engine, checked like every inferred one and
    # dropped where they do not hold (in the designs whose S3 fails, for one).
    def fake_offline_kept(self, s: StateView, p: Any) -> Term:
        """Page ``p`` is in a subblock virtio-mem (loaded) has unplugged, in a block whose
        memmap is initialised."""
        return term(s.vmem_loaded & ~s.plugged[self.pb(p)] & s.memmap_valid[self.blk(p)])

    @hint(name="unplugged-pages-stay-fake-offline")
    def unplugged_pages_stay_fake_offline(self, s: StateView) -> Term:
        """Every page of an unplugged subblock with a valid memmap is virtio-mem's
        PageOffline page, with the driver's reference only: nothing else may own it while
        the driver is loaded. In design A the driver drops that reference in
        MEM_GOING_OFFLINE and takes it back in MEM_CANCEL_OFFLINE."""
        def ref(p: Any) -> Term:
            if self.k.consent == "refcount-drop" and not self.k.frozen_vmem:
                handed = s.hotplug_active & (s.op_block == self.blk(p))
                return term(s.ref_owner[p] == ite(handed, 0, 1))
            return term(s.ref_owner[p] == self.offline_ref("vmem"))
        return forall("page", lambda p: self.fake_offline_kept(s, p).implies(
            (s.owner[p] == "vmem") & (s.ptype[p] == "Offline") & ref(p)))

    @hint(name="unplugged-pages-skippable")
    def unplugged_pages_skippable(self, s: StateView) -> Term | None:
        """... and carries PG_offline_skippable (wherever the flag exists: designs D, E
        and the frozen variant), so offlining neither migrates it nor fails on it."""
        if self.k.consent != "skippable-flag":
            return None
        return forall("page", lambda p: self.fake_offline_kept(s, p).implies(s.skippable[p]))

    @hint(name="refcount-follows-owner")
    def refcount_follows_owner(self, s: StateView) -> Term:
        """Without a speculative holder, a page in use (a user's, pinned or the kernel's)
        holds exactly its owner's reference and a page nobody owns holds none."""
        return forall("page", lambda p: (
            any_of(s.owner[p] == o for o in ("lru", "pinned", "kernel")).implies(
                s.ref_owner[p] == 1)
            & (s.owner[p] == "none").implies(s.ref_owner[p] == 0)))

    @hint(name="virtio-mem-callback-registered")
    def callback_registered(self, s: StateView) -> Term:
        """While virtio-mem is loaded its online page callback is the one registered, so
        onlining a block keeps unplugged subblocks fake-offline."""
        return term(s.vmem_loaded.implies(
            s.online_page_callback == "virtio_mem_online_page_cb"))

    # offline_pages' control flow: what S4, S6 and S9's proofs need about the block being
    # offlined (the inference finds these too, one lemma per step, but slowly).
    @hint(name="offlined-pages-passed-the-test")
    def offlined_pages_passed_the_test(self, s: StateView) -> Term:
        """From the commit until MEM_OFFLINE every page of the block is still as
        test_pages_isolated found it: free, poisoned or a PageOffline page the core may
        skip (its pageblocks stay isolated, so nothing hands a page out or back)."""
        return all_of(self.when_op(s, step, lambda b: self.every_page(
            b, lambda p: self.test_ok(s, p))) for step in ("commit", "offlined"))

    @hint(name="no-poison-without-memory-failure")
    def no_poison_without_memory_failure(self, s: StateView) -> Term | None:
        """No page is PG_hwpoison where memory_failure is switched off (a poisoned page
        passes test_pages_isolated whatever its type)."""
        if self.k.hwpoison:
            return None
        return forall("page", lambda p: ~s.hwpoison[p])

    @hint(name="isolated-until-undone")
    def isolated_until_undone(self, s: StateView) -> Term:
        """From start_isolate_page_range until undo_isolate_page_range (or MEM_OFFLINE)
        every pageblock of the block being offlined is MIGRATE_ISOLATE, so the
        allocator hands none of its pages out."""
        steps = ("going_offline", "notify_rest", "scan", "migrate", "test", "commit",
                 "offlined", "undo")
        return all_of(self.when_op(s, step, lambda b: self.every_pageblock(
            b, lambda q: s.isolated[q])) for step in steps)

    @hint(name="memmap-valid-while-block-present")
    def memmap_valid_while_present(self, s: StateView) -> Term:
        """A block's memmap is initialised exactly while the block is online or going
        offline: remove_pfn_range_from_zone poisons it as the block goes offline."""
        return forall("block", lambda b: s.memmap_valid[b] == (
            (s.block_state[b] == "online") | (s.block_state[b] == "going_offline")))

    @hint(name="going-offline-only-under-offline-pages")
    def going_offline_only_under_offline_pages(self, s: StateView) -> Term:
        """A block is going offline exactly while offline_pages works on it, before
        MEM_OFFLINE (so none is when virtio_mem_deinit_hotplug, which waits for
        offline_pages, runs)."""
        running = (s.pc != "idle") & (s.pc != "remove")
        return forall("block", lambda b: (s.block_state[b] == "going_offline") == (
            running & (s.op_block == b)))

    @hint(name="hotplug-mutex-only-while-offlining")
    def hotplug_mutex_only_while_offlining(self, s: StateView) -> Term:
        """virtio-mem holds hotplug_mutex (from its MEM_GOING_OFFLINE handler to
        MEM_OFFLINE or MEM_CANCEL_OFFLINE) only while it is loaded and offline_pages is
        past MEM_GOING_OFFLINE."""
        before = any_of(s.pc == step for step in ("idle", "isolate", "going_offline"))
        return term(s.hotplug_active.implies(s.vmem_loaded & ~before))

    # The forced unload (S9): offered only where the driver can be unloaded.
    @hint(name="unplugged-pages-stay-fake-offline-after-unload")
    def unplugged_stay_after_unload(self, s: StateView) -> Term | None:
        """After a clean unload every page of an unplugged subblock with a valid memmap is
        still virtio-mem's PageOffline page with the driver's reference, and (v2) no
        longer skippable: offlining its block fails at scan_movable_pages."""
        if not self.k.forced_unload:
            return None

        def kept(p: Any) -> Term:
            out = ((s.owner[p] == "vmem") & (s.ptype[p] == "Offline")
                   & (s.ref_owner[p] == self.offline_ref("vmem")))
            return term(out & ~s.skippable[p]) if self.k.unload_clears_skippable else out
        return forall("page", lambda p: (
            ~s.vmem_loaded & s.unload_clean & ~s.plugged[self.pb(p)]
            & s.memmap_valid[self.blk(p)]).implies(kept(p)))

    @hint(name="no-offline-block-unplugged-after-unload")
    def no_offline_block_unplugged(self, s: StateView) -> Term | None:
        """After a clean unload no page of an unplugged subblock is in an offline block:
        the unload removed those blocks, and offlining one fails. So onlining an offline
        block with the generic callback frees no unplugged page to the buddy."""
        if not self.k.forced_unload:
            return None
        # (over pages, not pageblocks: the parametric build does not know that every
        # pageblock has a page)
        return forall("page", lambda p: (
            ~s.vmem_loaded & s.unload_clean & ~s.plugged[self.pb(p)]).implies(
            s.block_state[self.blk(p)] != "offline"))

    # -- liveness -------------------------------------------------------------------
    @leads_to(name="class2-offline-fails-fast", aliases=("L1",), about=(OFFLINER,))
    def class2_fails_fast(self, s: StateView) -> tuple[Term, Term]:
        """An offlining of a block holding a class-2 PageOffline page ends (fails) without
        a signal. Fairness: weak fairness of every offline_pages step (and, where they
        are switched on, of virtio-mem's removal work item and the stray holder's put);
        user actions, signals and the rest of the environment are not assumed to happen.
        Specs use populations with no page that persistently fails migration (the
        property's assumption, docs/hotplug.md#l1)."""
        busy = exists("block", lambda b: (s.pc != "idle") & self.some_page(
            b, lambda p: (s.ptype[p] == "Offline") & (s.owner[p] == "class2")))
        return busy, s.pc == "idle"

    @leads_to(name="unplugged-block-eventually-removed", aliases=("L2",),
              about=("virtio_mem_sbm_try_remove_unplugged_mb",))
    def unplugged_block_removed(self, s: StateView) -> tuple[Term, Term]:
        """A fully unplugged online block 0 is eventually offlined and removed.
        Fairness: weak fairness of virtio-mem's retrying work item and of every
        offline_pages step, and of the stray holder's put (references are transient)."""
        b = 0
        unplugged = self.every_pageblock(b, lambda q: ~s.plugged[q])
        return (s.vmem_loaded & (s.block_state[b] == "online") & unplugged,
                s.block_state[b] == "removed")

    @leads_to(name="balloon-never-blocks-offline", aliases=("L3",), about=(OFFLINER,))
    def balloon_never_blocks(self, s: StateView) -> tuple[Term, Term]:
        """An offlining of block 0 holding a balloon page ends with the block offline.
        Fairness: weak fairness of every offline_pages step (and of the stray holder's
        put where one is switched on); balloon migration never fails with -EAGAIN (the
        balloon lock is not modelled, docs/hotplug.md#l3); specs give the migration enough
        free memory elsewhere and no other reason to fail."""
        b = 0
        has_balloon = self.some_page(b, lambda p: (s.ptype[p] == "Offline")
                                     & (s.owner[p] == "balloon"))
        done = (s.block_state[b] == "offline") | (s.block_state[b] == "removed")
        return (s.pc != "idle") & has_balloon, done

    @leads_to(name="offline-terminates", aliases=("L4",),
              about=("offline_and_remove_memory",))
    def offline_terminates(self, s: StateView) -> tuple[Term, Term]:
        """An offlining started by a kernel thread (no signal can reach it) ends.
        Fairness: weak fairness of every offline_pages step (and of the stray holder's
        put where one is switched on: a reference held for ever is not transient)."""
        return (s.pc != "idle") & (s.caller == "kthread"), s.pc == "idle"

    # -- sanity ---------------------------------------------------------------------
    @reachable(name="offline-can-succeed")
    def offline_can_succeed(self, s: StateView) -> Term:
        """Some block gets offline (or removed after offlining)."""
        return exists("block", lambda b: (s.block_state[b] == "offline")
                      | (s.block_state[b] == "removed"))

    @reachable(name="offline-can-fail-and-roll-back")
    def offline_can_fail(self, s: StateView) -> Term:
        """An offlining fails after isolation and reaches MEM_CANCEL_OFFLINE."""
        return term(s.pc == "cancel")

    @reachable(name="virtio-mem-unplug-completes")
    def unplug_completes(self, s: StateView) -> Term:
        """A fully unplugged virtio-mem block is removed."""
        return exists("block", lambda b: (s.block_state[b] == "removed")
                      & self.every_pageblock(b, lambda q: ~s.plugged[q]))

    @reachable(name="balloon-page-migrates")
    def balloon_page_migrates(self, s: StateView) -> Term:
        """Offlining migrates a balloon page out of the block."""
        return term(s.balloon_elsewhere > 0)


__all__ = ["Hotplug", "eventually"]
