"""Small models with state spaces counted by hand, for engine and language tests."""

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
    leads_to,
    reachable,
    step_invariant,
)
from mhpcheck.model.domains import Bool, Enum, IntRange
from mhpcheck.model.dsl import Effect, StateView, Term, ite, label, then, when


class Counter(Model):
    """x counts 0..limit and may reset; 'limit + 1' distinct states, depth 'limit'."""

    name = "counter"
    params = (Param("limit", default=5, lo=1, hi=100),)
    knobs = (Knob("overflow", False, (False, True), doc="increment past the limit"),)

    def declare(self, d: Declarations) -> None:
        d.var("x", IntRange(0, self.p.limit))

    @init
    def start(self, s: StateView) -> Effect:
        return then()

    @action(fair=True, cites="toy: increment")
    def inc(self, s: StateView) -> Effect:
        """Add one."""
        guard = True if self.k.overflow else s.x < self.p.limit
        return when(guard).then(s.x.becomes(s.x + 1))

    @action(cites="toy: reset")
    def reset(self, s: StateView) -> Effect:
        """Back to zero."""
        return when(s.x > 0).then(s.x.becomes(0))

    @invariant
    def below_three(self, s: StateView) -> Term:
        """x stays below 3 (violated for limit >= 3, shortest trace 3 steps)."""
        return s.x < 3

    @invariant
    def in_range(self, s: StateView) -> Term:
        """x stays within 0..limit (holds)."""
        return (s.x >= 0) & (s.x <= self.p.limit)

    @step_invariant
    def moves_by_one_or_resets(self, s: StateView, t: StateView) -> Term:
        """Every step adds one or resets to zero (holds)."""
        return (t.x == s.x + 1) | (t.x == 0)

    @step_invariant
    def never_resets(self, s: StateView, t: StateView) -> Term:
        """x never decreases (violated by the first reset, 2 steps)."""
        return t.x >= s.x

    @reachable
    def at_limit(self, s: StateView) -> Term:
        """The limit is reachable."""
        return s.x == self.p.limit

    @reachable
    def beyond(self, s: StateView) -> Term:
        """x above the limit (unreachable)."""
        return s.x > self.p.limit


Light = Enum("Light", ["red", "green", "yellow"])


class Toggle(Model):
    """A light cycles red -> green -> yellow -> red; 'done' may be set only when red.

    Under weak fairness 'done' need not happen: it is enabled only in red, so a run
    that cycles for ever disables it infinitely often. With the knob ``always``, the
    'finish' action is enabled in every state and weak fairness forces it.
    """

    name = "toggle"
    knobs = (Knob("always", False, (False, True)),)

    def declare(self, d: Declarations) -> None:
        d.var("light", Light)
        d.var("done", Bool)

    @init
    def start(self, s: StateView) -> Effect:
        return then()

    @action(fair=True)
    def step(self, s: StateView) -> Effect:
        """Advance the light."""
        nxt = ite(s.light == "red", label(Light, "green"),
                  ite(s.light == "green", label(Light, "yellow"), label(Light, "red")))
        return when(s.done == False).then(s.light.becomes(nxt))  # noqa: E712

    @action(fair=True)
    def finish(self, s: StateView) -> Effect:
        """Finish (only in red unless the knob says always)."""
        guard = True if self.k.always else (s.light == "red")
        return when(s.done == False, guard).then(s.done.becomes(True))  # noqa: E712

    @eventually
    def finishes(self, s: StateView) -> Term:
        """Every fair run finishes."""
        return s.done == True  # noqa: E712

    @leads_to
    def green_leads_to_red(self, s: StateView) -> tuple[Term, Term]:
        """Green is always followed by red (holds: step is fair)."""
        return s.light == "green", s.light == "red"


class Arrays(Model):
    """A pointer p walks an array a[0..n-1], writing a[p] := 1 (dynamic index)."""

    name = "arrays"
    params = (Param("n", default=3, lo=1, hi=8),)

    def declare(self, d: Declarations) -> None:
        d.index("cell", self.p.n)
        d.var("a", Bool, over="cell")
        d.var("p", IntRange(0, self.p.n))

    @init
    def start(self, s: StateView) -> Effect:
        return then()

    @action()
    def write(self, s: StateView) -> Effect:
        """Mark the cell under the pointer and move on (out of range once p = n)."""
        return when(s.p <= self.p.n).then(s.a[s.p].becomes(True), s.p.becomes(s.p + 1))


class Ring(Model):
    """A ring buffer of ``n`` cells: push writes at ``tail``, pop clears the cell at
    ``head``; both wrap around with ``%``. ``n * (2**(n + 1) - 1)`` states: ``head``
    and ``count`` fix ``tail``, the ``count`` cells in use hold 0 or 1, the rest 0.

    With ``zero`` set, ``advance`` wraps ``head`` modulo ``count``, which is zero in
    the initial state: a model error.
    """

    name = "ring"
    params = (Param("n", default=3, lo=1, hi=8),)
    knobs = (Knob("zero", False, (False, True), doc="wrap modulo count (a zero divisor)"),)

    def declare(self, d: Declarations) -> None:
        n = self.p.n
        d.index("cell", n)
        d.var("buf", IntRange(0, 1), over="cell")
        d.var("head", IntRange(0, n - 1))
        d.var("tail", IntRange(0, n - 1))
        d.var("count", IntRange(0, n))

    @init
    def start(self, s: StateView) -> Effect:
        return then()

    @action(v=(0, 1))
    def push(self, s: StateView, v: int) -> Effect:
        """Write v at the tail when there is room."""
        return when(s.count < self.p.n).then(
            s.buf[s.tail].becomes(v), s.tail.becomes((s.tail + 1) % self.p.n),
            s.count.becomes(s.count + 1))

    @action
    def pop(self, s: StateView) -> Effect:
        """Clear the cell at the head when the buffer is not empty."""
        return when(s.count > 0).then(
            s.buf[s.head].becomes(0), s.head.becomes((s.head + 1) % self.p.n),
            s.count.becomes(s.count - 1))

    @action()
    def advance(self, s: StateView) -> Effect | None:
        """(knob zero) Move the head modulo the count."""
        if not self.k.zero:
            return None
        return when(s.head < self.p.n).then(s.head.becomes((s.head + 1) % s.count))

    @invariant
    def tail_follows_head(self, s: StateView) -> Term:
        """The tail is count cells after the head, around the ring (holds)."""
        return (s.head + s.count) % self.p.n == s.tail

    @invariant
    def never_full(self, s: StateView) -> Term:
        """The buffer never fills (violated after n pushes)."""
        return s.count < self.p.n

    @reachable
    def full_and_wrapped(self, s: StateView) -> Term:
        """Full, with the head moved on (reachable)."""
        return (s.count == self.p.n) & (s.head // 1 != 0)
