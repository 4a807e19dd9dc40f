"""A ticket spinlock: take a ticket, wait until it is served, enter, serve the next.

Two counters wrap modulo the number of tickets: ``next`` hands out tickets and
``serving`` names the ticket allowed in. This is the shape of the kernel's old x86
ticket spinlocks, whose tickets were 8 bits wide: at most 256 CPUs could wait at once,
and more CPUs needed 16-bit tickets. With fewer tickets than threads (``tickets <
threads``) two waiting threads hold the same ticket, and when it is served both enter.
"""

from __future__ import annotations

from mhpcheck.model.base import (
    Declarations,
    Model,
    Param,
    action,
    init,
    invariant,
    leads_to,
    reachable,
)
from mhpcheck.model.domains import Enum, IntRange
from mhpcheck.model.dsl import Effect, StateView, Term, all_of, count, then, when

Pc = Enum("Pc", ["idle", "waiting", "critical"])


class TicketLock(Model):
    """``threads`` threads share one lock with ``tickets`` ticket numbers."""

    name = "ticketlock"
    summary = "ticket spinlock with wrapping ticket counters (examples/ticketlock.py)"
    params = (Param("threads", default=3, lo=1, hi=6, doc="threads that take the lock"),
              Param("tickets", default=3, lo=1, hi=8,
                    doc="ticket numbers (the counters' width); fewer than threads is a bug"))

    def declare(self, d: Declarations) -> None:
        m = self.p.tickets
        d.index("thread", self.p.threads)
        d.var("pc", Pc, over="thread")
        d.var("ticket", IntRange(0, m - 1), over="thread", doc="the ticket a thread holds")
        d.var("next", IntRange(0, m - 1), doc="the next ticket handed out")
        d.var("serving", IntRange(0, m - 1), doc="the ticket allowed into the lock")

    @init
    def start(self, s: StateView) -> Effect:
        return then()  # all idle, both counters at ticket 0

    @action(i="thread", fair=True, cites="arch_spin_lock: xadd(&lock->tickets.tail, 1)")
    def take(self, s: StateView, i: int) -> Effect:
        """Take the next ticket; the counter wraps modulo the number of tickets."""
        return when(s.pc[i] == "idle").then(
            s.ticket[i].becomes(s.next), s.next.becomes((s.next + 1) % self.p.tickets),
            s.pc[i].becomes("waiting"))

    @action(i="thread", fair=True, cites="arch_spin_lock: spin until head == my ticket")
    def enter(self, s: StateView, i: int) -> Effect:
        """Enter once the lock serves this thread's ticket."""
        return when(s.pc[i] == "waiting", s.serving == s.ticket[i]).then(
            s.pc[i].becomes("critical"))

    @action(i="thread", fair=True, cites="arch_spin_unlock: lock->tickets.head++")
    def leave(self, s: StateView, i: int) -> Effect:
        """Leave and serve the next ticket."""
        return when(s.pc[i] == "critical").then(
            s.serving.becomes((s.serving + 1) % self.p.tickets), s.pc[i].becomes("idle"))

    @invariant(aliases=("mutex",))
    def mutual_exclusion(self, s: StateView) -> Term:
        """At most one thread holds the lock."""
        return count(s.pc[i] == "critical" for i in range(self.p.threads)) <= 1

    @reachable
    def everyone_waits(self, s: StateView) -> Term:
        """Sanity: every thread can be queued at once (so the tickets are all in use)."""
        return all_of(s.pc[i] == "waiting" for i in range(self.p.threads))

    @leads_to
    def waiter_enters(self, s: StateView) -> tuple[Term, Term]:
        """Thread 0, once waiting, gets the lock (FIFO; weak fairness)."""
        return s.pc[0] == "waiting", s.pc[0] == "critical"
