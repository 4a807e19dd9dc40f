"""Peterson's filter lock for n processes: the twin of SPIN's ``peterson`` model.

Each process climbs levels 1..n-1; at each level it names itself the victim and may
go up only when no other process is at its level or higher, or when it is no longer
the victim. Same variables and guarded actions as the Promela twin, so the number of
distinct states equals SPIN's ``states, stored``. The ``broken`` knob makes ``enter``
skip the wait at the top level, which lets two processes into the critical section.
"""

from __future__ import annotations

from ..base import Declarations, Knob, Model, Param, action, init, invariant, leads_to
from ..domains import IntRange
from ..dsl import Effect, StateView, Term, all_of, any_of, count, then, when
from ..symmetry import Symmetry


class Peterson(Model):
    """The filter lock: pc 0 idle, 1 about to write victim, 2 waiting, 3 critical."""

    name = "peterson"
    summary = "Peterson's filter lock for n processes (twin of SPIN's peterson)"
    params = (Param("n", default=3, lo=2, hi=16, doc="number of processes"),)
    knobs = (Knob("broken", False, (False, True),
                  doc="enter skips the wait at the top level"),)

    def declare(self, d: Declarations) -> None:
        n = self.p.n
        d.index("proc", n)
        d.index("level", n)
        d.var("pc", IntRange(0, 3), over="proc",
              doc="0 idle, 1 about to write victim, 2 waiting, 3 critical")
        d.var("level", IntRange(0, n - 1), over="proc", doc="filter level, 0 = not competing")
        d.var("victim", IntRange(0, n - 1), over="level",
              doc="victim[L] for L = 1..n-1; victim[0] unused")

    def symmetry(self) -> tuple[Symmetry, ...]:
        """Processes are interchangeable: renaming them renames the victims too.

        All n! renamings up to n = 6; beyond, the rotations only (a subgroup is still
        a symmetry, and canonicalising over n! renamings would cost more than it saves).
        """
        if self.p.n <= 6:
            return (Symmetry("proc", "full", values_of=("victim",)),)
        return (Symmetry("proc", "rotation", values_of=("victim",)),)

    @init
    def start(self, s: StateView) -> Effect:
        return then()

    def may_pass(self, s: StateView, i: int) -> Term:
        """No other process at i's level or above, or i is no longer the victim there."""
        others_below = all_of(s.level[k] < s.level[i] for k in range(self.p.n) if k != i)
        return any_of([others_below, s.victim[s.level[i]] != i])

    @action(name="try", i="proc", fair=True, cites="textbook: enter level 1")
    def try_(self, s: StateView, i: int) -> Effect:
        """Start competing at level 1."""
        return when(s.pc[i] == 0).then(s.level[i].becomes(1), s.pc[i].becomes(1))

    @action(i="proc", fair=True, cites="textbook: name yourself the victim of your level")
    def victim(self, s: StateView, i: int) -> Effect:
        """Write victim[level[i]] = i."""
        return when(s.pc[i] == 1).then(s.victim[s.level[i]].becomes(i), s.pc[i].becomes(2))

    @action(i="proc", fair=True, cites="textbook: climb one level")
    def up(self, s: StateView, i: int) -> Effect:
        """Climb a level when allowed."""
        return when(s.pc[i] == 2, s.level[i] < self.p.n - 1, self.may_pass(s, i)).then(
            s.level[i].becomes(s.level[i] + 1), s.pc[i].becomes(1))

    @action(i="proc", fair=True, cites="textbook: enter the critical section")
    def enter(self, s: StateView, i: int) -> Effect:
        """Enter the critical section from the top level."""
        wait = True if self.k.broken else self.may_pass(s, i)
        return when(s.pc[i] == 2, s.level[i] == self.p.n - 1, wait).then(s.pc[i].becomes(3))

    @action(i="proc", fair=True, cites="textbook: leave the critical section")
    def exit(self, s: StateView, i: int) -> Effect:
        """Leave the critical section and stop competing."""
        return when(s.pc[i] == 3).then(s.level[i].becomes(0), s.pc[i].becomes(0))

    @invariant(aliases=("mutex",))
    def mutual_exclusion(self, s: StateView) -> Term:
        """At most one process is in the critical section."""
        return count(s.pc[i] == 3 for i in range(self.p.n)) <= 1

    @leads_to
    def waiting_process_enters(self, s: StateView) -> tuple[Term, Term]:
        """A process that starts competing eventually enters (process 0; fair scheduling)."""
        return s.pc[0] == 1, s.pc[0] == 3
