"""A kernel-style reference count: lookups under RCU race with the last ``put``.

An object is published in a table, which holds one reference. Readers find it under
``rcu_read_lock()`` and take a reference of their own before they use it; the owner
unpublishes it (``list_del_rcu``) and drops the table's reference. Whoever drops the
last reference frees the object (the release function runs).

A reader that found the object may lose the race: between its lookup and its get the
count can reach zero. ``kref_get_unless_zero()`` sees the zero and backs off; a plain
``kref_get()`` (the ``plain_get`` knob) raises the count from zero and "resurrects" an
object whose release has already run, a use after free.
"""

from __future__ import annotations

from mhpcheck.model.base import (
    Declarations,
    Knob,
    Model,
    Param,
    action,
    eventually,
    init,
    invariant,
    reachable,
)
from mhpcheck.model.domains import Bool, Enum, IntRange
from mhpcheck.model.dsl import Effect, StateView, Term, all_of, then, when
from mhpcheck.model.expr import Assign

Pc = Enum("Pc", ["idle", "found", "holding"])


class Refcount(Model):
    """Readers look the object up and get/put references; the owner unpublishes it."""

    name = "refcount"
    summary = "kref get/put against a lookup that races the last put (examples/refcount.py)"
    params = (Param("readers", default=2, lo=1, hi=4, doc="number of reader threads"),)
    knobs = (Knob("plain_get", False, (False, True),
                  doc="readers take their reference with kref_get, not "
                      "kref_get_unless_zero"),)

    def declare(self, d: Declarations) -> None:
        n = self.p.readers
        d.index("reader", n)
        d.var("refs", IntRange(0, n + 1), doc="the reference count")
        d.var("published", Bool, doc="the table still points at the object")
        d.var("freed", Bool, doc="the count reached zero and the release function ran")
        d.var("pc", Pc, over="reader",
              doc="idle; found (pointer read under RCU); holding (own reference)")

    @init
    def start(self, s: StateView) -> Effect:
        """Published, with the table's one reference."""
        return then(s.refs.becomes(1), s.published.becomes(True))

    def drop(self, s: StateView) -> list[Assign]:
        """kref_put: one reference less; the last one runs the release function."""
        return [s.refs.becomes(s.refs - 1), s.freed.becomes(s.freed | (s.refs == 1))]

    @action(i="reader", fair=True, cites="rcu_read_lock(); obj = rcu_dereference(table)")
    def lookup(self, s: StateView, i: int) -> Effect:
        """Find the object while the table still points at it."""
        return when(s.pc[i] == "idle", s.published).then(s.pc[i].becomes("found"))

    @action(i="reader", fair=True, cites="kref_get_unless_zero(&obj->ref) (or kref_get)")
    def get(self, s: StateView, i: int) -> Effect:
        """Take a reference: only from a live count, unless the knob says kref_get."""
        live = True if self.k.plain_get else s.refs > 0
        return when(s.pc[i] == "found", live).then(
            s.refs.becomes(s.refs + 1), s.pc[i].becomes("holding"))

    @action(i="reader", fair=True, cites="kref_get_unless_zero() == 0; rcu_read_unlock()")
    def get_fails(self, s: StateView, i: int) -> Effect | None:
        """The count was zero: the object is dying, so forget it (no kref_get here)."""
        if self.k.plain_get:
            return None
        return when(s.pc[i] == "found", s.refs == 0).then(s.pc[i].becomes("idle"))

    @action(i="reader", fair=True, cites="kref_put(&obj->ref, release); rcu_read_unlock()")
    def put(self, s: StateView, i: int) -> Effect:
        """Done with the object: drop the reader's reference."""
        return when(s.pc[i] == "holding").then(s.pc[i].becomes("idle"), *self.drop(s))

    @action(fair=True, cites="list_del_rcu(&obj->node); kref_put(&obj->ref, release)")
    def unpublish(self, s: StateView) -> Effect:
        """The owner removes the object from the table and drops the table's reference."""
        return when(s.published).then(s.published.becomes(False), *self.drop(s))

    @invariant(aliases=("no-use-after-free",))
    def holders_hold_live_objects(self, s: StateView) -> Term:
        """No reader holds a reference to an object whose release function has run."""
        return all_of((s.pc[i] == "holding").implies(~s.freed)
                      for i in range(self.p.readers))

    @invariant
    def freed_stays_at_zero(self, s: StateView) -> Term:
        """Once released, the count never rises again (no resurrection)."""
        return s.freed.implies(s.refs == 0)

    @reachable
    def object_freed(self, s: StateView) -> Term:
        """Sanity: the object does get freed."""
        return s.freed

    @eventually
    def eventually_freed(self, s: StateView) -> Term:
        """Under weak fairness the owner unpublishes and every reader puts: no leak."""
        return s.freed
