"""A token ring whose processes have fixed roles: members use the token, observers only
pass it on.

Each process's role is an attribute (``d.attribute``): fixed for the run, given by the
``roles`` pattern in a finite build (repeated around the ring) and left arbitrary by the
parametric build, so the forall engine proves the properties for every ring size and
every assignment of roles at once. Members start idle and observers off: the initial
value of ``pc`` reads the attribute (``update_all`` in the @init). Only an idle process
may enter. The ``broken`` knob starts every process idle, observers included, and an
observer then enters.

The hotplug model's population has this shape (docs/hotplug.md, "Proofs for every
size"): each page's owner class is an attribute of the page, and its initial state
follows from it.
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
from mhpcheck.model.domains import Enum, UserValue
from mhpcheck.model.dsl import Effect, StateView, Term, ite, then, when
from mhpcheck.model.expr import Assign
from mhpcheck.model.quantify import apply, exists, forall, succ, update_all
from mhpcheck.model.system import TransitionSystem
from mhpcheck.model.view import Entity, View, group_by_index

Pc = Enum("ObserverPc", ["off", "idle", "critical"])
Role = Enum("Role", ["member", "observer"])


def _pattern(value: UserValue) -> str | None:
    text = str(value)
    if not text or set(text) - {"M", "O"}:
        return f"{text!r} is not a pattern of M (member) and O (observer), such as MO"
    return None


class ObservedRing(Model):
    """A token ring of members and observers; only an idle token holder enters."""

    name = "observers"
    summary = "token ring of members and observers, roles an attribute (examples/observers.py)"
    params = (Param("n", default=4, lo=1, hi=64, doc="processes in the ring"),)
    sizes = ("n",)
    knobs = (Knob("roles", "MO", doc="the roles around the ring, repeated: M a member, O an "
                  "observer", validate=_pattern),
             Knob("broken", False, (False, True),
                  doc="every process starts idle, observers included"))

    def declare(self, d: Declarations) -> None:
        d.index("proc", self.p.n, ring=True)
        d.attribute("role", "proc", Role, self.role_of)
        d.var("pc", Pc, over="proc", doc="off (an observer), idle or critical")
        d.element("token", "proc", doc="the process that holds the token")

    def role_of(self, i: int) -> str:
        """Process ``i``'s role in a finite build: the pattern, repeated."""
        pattern = str(self.k.roles)
        return "member" if pattern[i % len(pattern)] == "M" else "observer"

    def view(self, ts: TransitionSystem) -> View:
        """Each process named with its role, so that a trace shows who is an observer."""
        def named(e: Entity) -> Entity:
            if not e.name.startswith("proc "):
                return e
            return Entity(f"{e.name} ({self.role_of(int(e.name.split()[1]))})", e.fields)
        return View(tuple(named(e) for e in group_by_index(ts)))

    @init
    def start(self, s: StateView) -> Effect:
        """The token at the first process; members idle, observers off."""
        def first(i: Term) -> Assign:
            if self.k.broken:
                return s.pc[i].becomes("idle")
            return s.pc[i].becomes(ite(apply("role", i) == "observer", "off", "idle"))
        return then(s.token.becomes(0), *update_all("proc", lambda i: True, first))

    @action(i="proc", fair=True, cites="textbook: enter with the token")
    def enter(self, s: StateView, i: Term) -> Effect:
        """An idle token holder enters its critical section."""
        return when(s.token == i, s.pc[i] == "idle").then(s.pc[i].becomes("critical"))

    @action(i="proc", fair=True, cites="textbook: leave the critical section")
    def leave(self, s: StateView, i: Term) -> Effect:
        """Leave the critical section, keeping the token."""
        return when(s.pc[i] == "critical").then(s.pc[i].becomes("idle"))

    @action(i="proc", fair=True, cites="textbook: pass the token on")
    def pass_token(self, s: StateView, i: Term) -> Effect:
        """A holder outside its critical section passes the token to its successor."""
        return when(s.token == i, s.pc[i] != "critical").then(
            s.token.becomes(succ("proc", i)))

    @invariant(aliases=("mutex",))
    def at_most_one_critical(self, s: StateView) -> Term:
        """No two processes are critical at once."""
        return forall("proc", lambda i: forall("proc", lambda j: (
            (s.pc[i] == "critical") & (s.pc[j] == "critical")).implies(i == j)))

    @invariant
    def observers_never_enter(self, s: StateView) -> Term:
        """An observer is never in a critical section, whatever the roles."""
        return forall("proc", lambda i: (apply("role", i) == "observer").implies(
            s.pc[i] != "critical"))

    @reachable
    def a_member_enters(self, s: StateView) -> Term:
        """Sanity: some process does enter (the properties are not vacuous)."""
        return exists("proc", lambda i: s.pc[i] == "critical")
