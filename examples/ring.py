"""A bounded ring buffer shared by one producer and one consumer.

The classic layout: ``n`` slots, the producer writes at ``head``, the consumer reads
at ``tail``, both wrap with ``% n``. ``head == tail`` means empty, so one slot always
stays free and "full" is ``(head + 1) % n == tail``. The ghost family ``unread`` marks
the slots written and not yet read, and the ghost ``lost`` turns true when the producer
writes over one of them: what the buffer must never do.

The ``forget_wrap`` knob is a known off-by-one: the producer's full test reads
``head + 1 == tail``, forgetting the ``% n``. It agrees with the right test except when
``head`` is the last slot and ``tail`` the first; there the producer takes the free
slot, ``head`` catches up with ``tail``, the buffer looks empty, and the next write
lands on the oldest unread item.
"""

from __future__ import annotations

from mhpcheck.model.base import (
    Declarations,
    Knob,
    Model,
    Param,
    action,
    init,
    invariant,
    reachable,
)
from mhpcheck.model.domains import Bool, IntRange
from mhpcheck.model.dsl import Effect, StateView, Term, count, then, when


class RingBuffer(Model):
    """One producer, one consumer, ``n`` slots of which ``n - 1`` hold data."""

    name = "ring"
    summary = "bounded ring buffer, one producer and one consumer (examples/ring.py)"
    params = (Param("n", default=3, lo=2, hi=8, doc="number of slots"),)
    knobs = (Knob("forget_wrap", False, (False, True),
                  doc="the producer's full test forgets the % n (head + 1 == tail)"),)

    def declare(self, d: Declarations) -> None:
        n = self.p.n
        d.index("slot", n)
        d.var("head", IntRange(0, n - 1), doc="the next slot the producer writes")
        d.var("tail", IntRange(0, n - 1), doc="the next slot the consumer reads")
        d.var("unread", Bool, over="slot", doc="ghost: written and not read yet")
        d.var("lost", Bool, doc="ghost: the producer wrote over an unread slot")

    @init
    def start(self, s: StateView) -> Effect:
        return then()  # every variable takes its first value: empty, nothing lost

    def full(self, s: StateView) -> Term:
        """The producer's test for a full buffer (the knob picks the buggy one)."""
        if self.k.forget_wrap:
            return s.head + 1 == s.tail
        return (s.head + 1) % self.p.n == s.tail

    @action(fair=True, cites="producer: write at head, then advance head")
    def put(self, s: StateView) -> Effect:
        """Write one item at head unless the buffer looks full."""
        return when(~self.full(s)).then(
            s.unread[s.head].becomes(True),
            s.lost.becomes(s.lost | s.unread[s.head]),
            s.head.becomes((s.head + 1) % self.p.n))

    @action(fair=True, cites="consumer: read at tail, then advance tail")
    def get(self, s: StateView) -> Effect:
        """Read one item at tail unless the buffer looks empty."""
        return when(s.head != s.tail).then(
            s.unread[s.tail].becomes(False),
            s.tail.becomes((s.tail + 1) % self.p.n))

    @invariant(aliases=("no-overwrite",))
    def never_overwrites_unread(self, s: StateView) -> Term:
        """The producer never writes over an item the consumer has not read."""
        return ~s.lost

    @invariant
    def only_the_window_is_unread(self, s: StateView) -> Term:
        """Exactly the slots from tail up to head (exclusive) hold unread items."""
        n = self.p.n
        return count(s.unread[i] for i in range(n)) == (s.head - s.tail) % n

    @reachable
    def full_buffer(self, s: StateView) -> Term:
        """Sanity: the producer can fill all n - 1 usable slots."""
        return (s.head + 1) % self.p.n == s.tail
