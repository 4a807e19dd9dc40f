"""Protocols for the benchmark written as a new user would: every variable a byte
(0..255, the range of Promela's ``byte``), so that states are wider than 64 bits.

Each model's SPIN twin is exported by ``check-model export``'s code (model/promela.py),
as for the other bench instances, so SPIN explores the same states. The sizes are
picked so that each instance has 1 to 20 million states.

- ``ring``: producers and consumers sharing a ring buffer, written and read at the
  indices ``tail`` and ``head`` (dynamic array indexing).

SPIN does not store a global variable that no statement reads (dead variable
elimination), so every variable here is read by some action; otherwise SPIN would
count fewer states than the system has.
- ``bakery``: Lamport's bakery lock, tickets bounded (a process whose ticket would
  pass the bound waits), the ticket maximum computed one process at a time.
- ``window``: a go-back-N sender and receiver over a lossy FIFO channel (a ring
  buffer of a few slots), sequence numbers modulo twice the window.
"""

from __future__ import annotations

from mhpcheck.model.base import Declarations, Model, Param, action, init, invariant
from mhpcheck.model.domains import IntRange
from mhpcheck.model.dsl import (
    Effect,
    StateView,
    Term,
    all_of,
    any_of,
    ite,
    maximum,
    then,
    when,
)

BYTE = IntRange(0, 255)


class RingBuffer(Model):
    """Producers append their next value at ``buf[tail]``, consumers take
    ``buf[head]``; a counter keeps the buffer from over- and underflowing."""

    name = "ring"
    summary = "producers and consumers over a ring buffer (bytes, dynamic indexing)"
    params = (Param("slots", default=4, lo=2, hi=8, doc="buffer slots"),
              Param("producers", default=2, lo=1, hi=4, doc="producer processes"),
              Param("consumers", default=2, lo=1, hi=4, doc="consumer processes"),
              Param("values", default=4, lo=2, hi=255, doc="values each producer cycles"))

    def declare(self, d: Declarations) -> None:
        d.index("slot", self.p.slots)
        d.index("prod", self.p.producers)
        d.index("cons", self.p.consumers)
        d.var("buf", BYTE, over="slot", doc="the buffer")
        d.var("head", BYTE, doc="next slot to read")
        d.var("tail", BYTE, doc="next slot to write")
        d.var("used", BYTE, doc="slots holding a value")
        d.var("next", BYTE, over="prod", doc="the producer's next value")
        d.var("got", BYTE, over="cons", doc="the value the consumer holds, plus 1 (0: none)")

    @init
    def start(self, s: StateView) -> Effect:
        return then()

    @action(p="prod", cites="textbook: bounded buffer, put")
    def put(self, s: StateView, p: int) -> Effect:
        """Write the next value at the tail when a slot is free."""
        return when(s.used < self.p.slots).then(
            s.buf[s.tail].becomes(s.next[p] * self.p.producers + p),
            s.tail.becomes((s.tail + 1) % self.p.slots),
            s.used.becomes(s.used + 1),
            s.next[p].becomes((s.next[p] + 1) % self.p.values))

    @action(c="cons", cites="textbook: bounded buffer, get")
    def get(self, s: StateView, c: int) -> Effect:
        """Take the value at the head when there is one and the hands are free."""
        return when(s.used > 0, s.got[c] == 0).then(
            s.got[c].becomes(s.buf[s.head] + 1),
            s.head.becomes((s.head + 1) % self.p.slots),
            s.used.becomes(s.used - 1))

    @action(c="cons", cites="textbook: bounded buffer, consume")
    def use(self, s: StateView, c: int) -> Effect:
        """Consume the value taken."""
        return when(s.got[c] != 0).then(s.got[c].becomes(0))

    @invariant
    def indices_agree(self, s: StateView) -> Term:
        """The slots in use are those from head to tail."""
        return (s.head + s.used) % self.p.slots == s.tail


class Bakery(Model):
    """Lamport's bakery: pc 0 idle, 1 choosing (scanning tickets for the maximum),
    2 waiting (scanning the others), 3 critical."""

    name = "bakery"
    summary = "Lamport's bakery lock with bounded byte tickets"
    params = (Param("n", default=3, lo=2, hi=5, doc="processes"),
              Param("bound", default=6, lo=2, hi=255, doc="largest ticket"))

    def declare(self, d: Declarations) -> None:
        d.index("proc", self.p.n)
        d.var("pc", BYTE, over="proc", doc="0 idle, 1 choosing, 2 waiting, 3 critical")
        d.var("choosing", BYTE, over="proc", doc="1 while the process picks its ticket")
        d.var("number", BYTE, over="proc", doc="ticket, 0 when not competing")
        d.var("k", BYTE, over="proc", doc="the process the scan is at")
        d.var("top", BYTE, over="proc", doc="the largest ticket seen in the scan")

    @init
    def start(self, s: StateView) -> Effect:
        return then()

    @action(i="proc", cites="Lamport 1974: choosing := 1")
    def begin(self, s: StateView, i: int) -> Effect:
        """Start choosing a ticket."""
        return when(s.pc[i] == 0).then(s.choosing[i].becomes(1), s.k[i].becomes(0),
                                       s.top[i].becomes(0), s.pc[i].becomes(1))

    @action(i="proc", cites="Lamport 1974: number[i] := 1 + max(number)")
    def scan(self, s: StateView, i: int) -> Effect:
        """Look at one more ticket for the maximum."""
        seen = s.number[s.k[i]]
        return when(s.pc[i] == 1, s.k[i] < self.p.n).then(
            s.top[i].becomes(maximum(s.top[i], seen)),
            s.k[i].becomes(s.k[i] + 1))

    @action(i="proc", cites="Lamport 1974: choosing := 0")
    def pick(self, s: StateView, i: int) -> Effect:
        """Take the ticket one above the maximum."""
        return when(s.pc[i] == 1, s.k[i] == self.p.n, s.top[i] < self.p.bound).then(
            s.number[i].becomes(s.top[i] + 1), s.choosing[i].becomes(0),
            s.k[i].becomes(0), s.top[i].becomes(0), s.pc[i].becomes(2))

    @action(i="proc", cites="bounded tickets: scan again")
    def rescan(self, s: StateView, i: int) -> Effect:
        """The ticket would pass the bound: scan the tickets again."""
        return when(s.pc[i] == 1, s.k[i] == self.p.n, s.top[i] >= self.p.bound).then(
            s.k[i].becomes(0), s.top[i].becomes(0))

    @action(i="proc", cites="Lamport 1974: wait for j")
    def wait(self, s: StateView, i: int) -> Effect:
        """Pass process k once it is not choosing and does not come first."""
        j = s.k[i]
        ahead = all_of([s.number[j] != 0,
                        any_of([s.number[j] < s.number[i],
                                all_of([s.number[j] == s.number[i], j < i])])])
        return when(s.pc[i] == 2, j < self.p.n, s.choosing[j] == 0,
                    any_of([j == i, ~ahead])).then(s.k[i].becomes(s.k[i] + 1))

    @action(i="proc", cites="Lamport 1974: critical section")
    def enter(self, s: StateView, i: int) -> Effect:
        """Enter once every other process has been passed."""
        return when(s.pc[i] == 2, s.k[i] == self.p.n).then(s.k[i].becomes(0),
                                                           s.pc[i].becomes(3))

    @action(i="proc", cites="Lamport 1974: number[i] := 0")
    def leave(self, s: StateView, i: int) -> Effect:
        """Leave the critical section and give the ticket back."""
        return when(s.pc[i] == 3).then(s.number[i].becomes(0), s.pc[i].becomes(0))

    @invariant(aliases=("mutex",))
    def mutual_exclusion(self, s: StateView) -> Term:
        """No two processes in the critical section."""
        n = self.p.n
        return all_of(~((s.pc[i] == 3) & (s.pc[j] == 3))
                      for i in range(n) for j in range(i + 1, n))


class SlidingWindow(Model):
    """A go-back-N sender and an in-order receiver: data travels through a FIFO channel
    of a few slots (a ring buffer) that may lose the packet at its head, the
    cumulative ack through one slot that may lose it; sequence numbers count modulo
    ``2 * window``."""

    name = "window"
    summary = "sliding-window sender and receiver over a lossy FIFO channel (bytes)"
    params = (Param("window", default=2, lo=1, hi=4, doc="packets in flight"),
              Param("slots", default=3, lo=1, hi=8, doc="channel slots for data"),
              Param("messages", default=4, lo=1, hi=255, doc="messages per round"))

    def declare(self, d: Declarations) -> None:
        d.index("slot", self.p.slots)
        d.var("base", BYTE, doc="oldest unacknowledged sequence number")
        d.var("nxt", BYTE, doc="next sequence number to send")
        d.var("sent", BYTE, doc="messages the sender has had acknowledged")
        d.var("expect", BYTE, doc="sequence number the receiver expects")
        d.var("delivered", BYTE, doc="messages the receiver has delivered")
        d.var("chan", BYTE, over="slot", doc="data channel: sequence numbers")
        d.var("chead", BYTE, doc="the channel's oldest packet")
        d.var("ctail", BYTE, doc="the channel's next free slot")
        d.var("cused", BYTE, doc="packets in the channel")
        d.var("ack", BYTE, doc="ack slot: next expected number + 1, 0 empty")

    @init
    def start(self, s: StateView) -> Effect:
        return then()

    def mod(self) -> int:
        return 2 * int(self.p.window)

    def in_flight(self, s: StateView) -> Term:
        return (s.nxt + self.mod() - s.base) % self.mod()

    @action(cites="go-back-N: send the next packet of the window")
    def send(self, s: StateView) -> Effect:
        """Append the next packet to the channel while the window has room."""
        return when(s.cused < self.p.slots, self.in_flight(s) < self.p.window,
                    s.sent + self.in_flight(s) < self.p.messages).then(
            s.chan[s.ctail].becomes(s.nxt), s.ctail.becomes((s.ctail + 1) % self.p.slots),
            s.cused.becomes(s.cused + 1), s.nxt.becomes((s.nxt + 1) % self.mod()))

    @action(cites="lossy channel")
    def lose(self, s: StateView) -> Effect:
        """The channel drops its oldest packet."""
        return when(s.cused > 0).then(s.chead.becomes((s.chead + 1) % self.p.slots),
                                      s.cused.becomes(s.cused - 1))

    @action(cites="go-back-N receiver")
    def receive(self, s: StateView) -> Effect:
        """Take the oldest packet: deliver it if it is the expected one; ack either way."""
        ok = s.chan[s.chead] == s.expect
        after = ite(ok, (s.expect + 1) % self.mod(), s.expect)
        return when(s.cused > 0).then(
            s.chead.becomes((s.chead + 1) % self.p.slots), s.cused.becomes(s.cused - 1),
            s.expect.becomes(after), s.delivered.becomes(ite(ok, s.delivered + 1,
                                                              s.delivered)),
            s.ack.becomes(after + 1))

    @action(cites="go-back-N sender: cumulative ack")
    def acked(self, s: StateView) -> Effect:
        """Take the ack: everything before it is acknowledged."""
        moved = (s.ack - 1 + self.mod() - s.base) % self.mod()
        return when(s.ack != 0, moved <= self.in_flight(s)).then(
            s.ack.becomes(0), s.base.becomes((s.ack - 1) % self.mod()),
            s.sent.becomes(s.sent + moved))

    @action(cites="lossy channel")
    def lose_ack(self, s: StateView) -> Effect:
        """The channel drops the ack."""
        return when(s.ack != 0).then(s.ack.becomes(0))

    @action(cites="go-back-N sender: timeout")
    def timeout(self, s: StateView) -> Effect:
        """Go back: resend from the oldest unacknowledged packet."""
        return when(s.nxt != s.base, s.ack == 0, s.cused == 0).then(s.nxt.becomes(s.base))

    @action(cites="the next round of messages")
    def restart(self, s: StateView) -> Effect:
        """Every message delivered and acknowledged, the channel empty: start over."""
        return when(s.sent == self.p.messages, s.delivered == self.p.messages,
                    s.ack == 0, s.cused == 0).then(s.sent.becomes(0), s.delivered.becomes(0))

    @invariant
    def in_order(self, s: StateView) -> Term:
        """The receiver is never more than a window ahead of what was acknowledged."""
        return s.delivered <= s.sent + self.p.window


#: The protocols by the name the bench gives them.
PROTOCOLS: dict[str, type[Model]] = {m.name: m for m in (RingBuffer, Bakery, SlidingWindow)}
