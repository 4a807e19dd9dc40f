"""Toy models that exercise what the batch compiler and the Promela exporter special-case.

Shifted: a non-zero initial state (a negative int range, a family whose initial values
differ), dynamic indices read and written, simultaneous updates that read what another
update of the same step writes, if-then-else, min and max. Starts: the same with two
initial states.
"""

from __future__ import annotations

from mhpcheck.checker.explicit.bfs import explore
from mhpcheck.model.base import Declarations, Model, Param, action, init, invariant, reachable
from mhpcheck.model.domains import IntRange
from mhpcheck.model.dsl import Effect, StateView, Term, ite, then, when
from mhpcheck.model.expr import Arith


def _min(a: Term, b: Term | int) -> Term:
    return Term(Arith("min", a.node, b.node if isinstance(b, Term) else _const(b)))


def _max(a: Term, b: Term | int) -> Term:
    return Term(Arith("max", a.node, b.node if isinstance(b, Term) else _const(b)))


def _const(v: int):  # type: ignore[no-untyped-def]
    from mhpcheck.model.expr import Const
    return Const(v, "int")


class Shifted(Model):
    """x in -2..3 starts at 1; a[0..n-1] in 0..3 starts at 2, 0, 1, ...; p points into a."""

    name = "shifted"
    params = (Param("n", default=3, lo=2, hi=5),)

    def declare(self, d: Declarations) -> None:
        d.index("cell", self.p.n)
        d.var("x", IntRange(-2, 3))
        d.var("p", IntRange(0, self.p.n - 1))
        d.var("a", IntRange(0, 3), over="cell")

    @init
    def start(self, s: StateView) -> Effect:
        return then(s.x.becomes(1), *(s.a[i].becomes((2 + 2 * i) % 3)
                                      for i in range(self.p.n)))

    @action()
    def move(self, s: StateView) -> Effect:
        """p moves right, wrapping around."""
        return when(True).then(s.p.becomes(ite(s.p == self.p.n - 1, 0, s.p + 1)))

    @action()
    def swap(self, s: StateView) -> Effect:
        """x takes a[p] - 1 while a[p] takes x (clamped): both read the pre-state."""
        return when(s.x != s.a[s.p] - 1).then(
            s.x.becomes(_min(s.a[s.p], 3) - 1), s.a[s.p].becomes(_max(s.x, 0)))

    @action(i="cell")
    def bump(self, s: StateView, i: int) -> Effect:
        """a[i] grows while x shrinks."""
        return when(s.a[i] < 3, s.x > -2).then(s.a[i].becomes(s.a[i] + 1),
                                               s.x.becomes(s.x - 1))

    @action()
    def reset(self, s: StateView) -> Effect:
        """Back to x = 1 and a[0] = 2 once x hits the bottom."""
        return when(s.x == -2).then(s.x.becomes(1), s.a[0].becomes(2))

    @invariant
    def x_above_bottom(self, s: StateView) -> Term:
        """x never reaches -2 (violated)."""
        return s.x > -2

    @invariant
    def in_domain(self, s: StateView) -> Term:
        """x within its range (holds)."""
        return (s.x >= -2) & (s.x <= 3)

    @reachable
    def all_full(self, s: StateView) -> Term:
        """Every cell at 3 at once."""
        from mhpcheck.model.dsl import all_of
        return all_of(s.a[i] == 3 for i in range(self.p.n))


class Starts(Shifted):
    """Shifted with two initial states (x = 1 or x = 0)."""

    name = "starts"

    @init(v=(0, 1))
    def start(self, s: StateView, v: int) -> Effect:  # type: ignore[override]
        return then(s.x.becomes(v), *(s.a[i].becomes((2 + 2 * i) % 3)
                                      for i in range(self.p.n)))


def test_shifted_has_a_non_zero_initial_state_and_a_nontrivial_space() -> None:
    ts = Shifted({"n": 3}).build()
    assert ts.init == ((1, 0, 2, 1, 0),)
    exp = explore(ts)
    assert len(exp.states) > 100
    assert len(Starts({"n": 3}).build().init) == 2
