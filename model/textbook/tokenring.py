"""Token-ring mutual exclusion: one token circulates; only its holder may enter.

Process i, when it holds the token and is idle, either enters its critical section or
passes the token to its successor in the ring. The token is an index-valued global
(``d.element``): in the parametric build it is an element of the ring, so the two
quantified lines "at most one process is critical" and "a critical process holds the
token" prove mutual exclusion for every ring size.
"""

from __future__ import annotations

from ..base import Declarations, Knob, Model, Param, action, init, invariant
from ..domains import Enum
from ..dsl import Effect, StateView, Term, then, when
from ..quantify import forall, succ

Pc = Enum("TokenPc", ["idle", "critical"])


class TokenRing(Model):
    """A ring of processes passing one token; the holder may enter its critical section."""

    name = "tokenring"
    summary = "token-ring mutual exclusion: only the token holder enters (index-valued token)"
    params = (Param("n", default=5, lo=1, hi=400, doc="number of processes in the ring"),)
    sizes = ("n",)
    knobs = (Knob("broken", False, (False, True),
                  doc="pass_token may hand the token on while its holder is critical"),)

    def declare(self, d: Declarations) -> None:
        d.index("proc", self.p.n, ring=True)
        d.var("pc", Pc, over="proc", doc="idle or in the critical section")
        d.element("token", "proc", doc="the process that holds the token")

    @init
    def start(self, s: StateView) -> Effect:
        return then(s.token.becomes(0))

    @action(i="proc", fair=True, cites="textbook: enter with the token")
    def enter(self, s: StateView, i: Term) -> Effect:
        """The token holder enters its critical section."""
        return when(s.token == i, s.pc[i] == "idle").then(s.pc[i].becomes("critical"))

    @action(i="proc", fair=True, cites="textbook: leave the critical section")
    def leave(self, s: StateView, i: Term) -> Effect:
        """Leave the critical section, keeping the token."""
        return when(s.pc[i] == "critical").then(s.pc[i].becomes("idle"))

    @action(i="proc", fair=True, cites="textbook: pass the token on")
    def pass_token(self, s: StateView, i: Term) -> Effect:
        """An idle holder passes the token to its successor."""
        idle = True if self.k.broken else (s.pc[i] == "idle")
        return when(s.token == i, idle).then(s.token.becomes(succ("proc", i)))

    @invariant(aliases=("mutex",))
    def at_most_one_critical(self, s: StateView) -> Term:
        """No two processes are critical at once."""
        return forall("proc", lambda i: forall("proc", lambda j: (
            (s.pc[i] == "critical") & (s.pc[j] == "critical")).implies(i == j)))

    @invariant
    def critical_holds_token(self, s: StateView) -> Term:
        """A critical process holds the token (the strengthening that makes mutex inductive)."""
        return forall("proc", lambda i: (s.pc[i] == "critical").implies(s.token == i))
