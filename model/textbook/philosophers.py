"""Dining philosophers: the twin of the classic Promela ``philo`` model.

Philosopher i takes fork i (its left), then fork i+1 mod n (its right), eats, and
puts both down. Same variables and guarded actions as the twin, so the number of
distinct states equals SPIN's ``states, stored``. When every philosopher holds its
left fork the system deadlocks. The ``broken`` knob lets ``take_right`` ignore
whether the right fork is taken, so two neighbours can eat at once.
"""

from __future__ import annotations

from ..base import Declarations, Knob, Model, Param, action, eventually, init, invariant
from ..domains import Bool, Enum
from ..dsl import Effect, StateView, Term, then, when
from ..quantify import exists, forall, succ
from ..symmetry import Symmetry

Pc = Enum("Pc", ["thinking", "left", "eating"])


class Philosophers(Model):
    """Dining philosophers with left-then-right fork order."""

    name = "philosophers"
    summary = "dining philosophers (twin of SPIN's philo): a deadlock when all hold the left fork"
    params = (Param("n", default=5, lo=2, hi=64, doc="number of philosophers and forks"),)
    sizes = ("n",)
    knobs = (Knob("broken", False, (False, True),
                  doc="take_right ignores whether the right fork is taken"),)

    def declare(self, d: Declarations) -> None:
        d.index("phil", self.p.n, ring=True, min_size=2)
        d.var("pc", Pc, over="phil", doc="thinking, holds its left fork, or eating")
        d.var("fork", Bool, over="phil", doc="fork i (left of i, right of i-1) is taken")

    def symmetry(self) -> tuple[Symmetry, ...]:
        """Philosophers sit in a ring: rotating the table changes nothing."""
        return (Symmetry("phil", "rotation"),)

    def right(self, i: int) -> int:
        """The philosopher on the right: the ring's successor (fork i+1 mod n)."""
        right: int = succ("phil", i)
        return right

    @init
    def start(self, s: StateView) -> Effect:
        return then()

    @action(i="phil", fair=True, cites="textbook: pick up the left fork")
    def take_left(self, s: StateView, i: int) -> Effect:
        """Pick up the left fork when thinking and the fork is free."""
        return when(s.pc[i] == "thinking", s.fork[i] == False).then(  # noqa: E712
            s.fork[i].becomes(True), s.pc[i].becomes("left"))

    @action(i="phil", fair=True, cites="textbook: pick up the right fork")
    def take_right(self, s: StateView, i: int) -> Effect:
        """Pick up the right fork while holding the left one, and start eating."""
        r = self.right(i)
        free = True if self.k.broken else (s.fork[r] == False)  # noqa: E712
        return when(s.pc[i] == "left", free).then(
            s.fork[r].becomes(True), s.pc[i].becomes("eating"))

    @action(i="phil", fair=True, cites="textbook: put both forks down")
    def release(self, s: StateView, i: int) -> Effect:
        """Put both forks down and think again."""
        return when(s.pc[i] == "eating").then(
            s.fork[i].becomes(False), s.fork[self.right(i)].becomes(False),
            s.pc[i].becomes("thinking"))

    @invariant(aliases=("mutex",))
    def neighbours_never_both_eat(self, s: StateView) -> Term:
        """No two neighbouring philosophers eat at the same time (they share a fork)."""
        return forall("phil", lambda i: ~((s.pc[i] == "eating")
                                          & (s.pc[self.right(i)] == "eating")))

    @invariant
    def eating_holds_both_forks(self, s: StateView) -> Term:
        """An eating philosopher holds both its forks."""
        return forall("phil", lambda i: (s.pc[i] == "eating").implies(
            (s.fork[i] == True) & (s.fork[self.right(i)] == True)))  # noqa: E712

    @eventually
    def someone_eats(self, s: StateView) -> Term:
        """Every fair run eventually has a philosopher eating (violated: the deadlock)."""
        return exists("phil", lambda i: s.pc[i] == "eating")
