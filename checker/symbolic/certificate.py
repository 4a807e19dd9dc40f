"""Inductive invariants as certificates: read back, re-checked, printed readably.

A proof by PDR ends with a formula over the model's state, the solver's inductive
invariant. ``from_solver`` turns it back into the model's own IR (Vars with the
model's names and indices), so the certificate is checked by a different road than
the one that produced it (``recheck``):

1. initiation: every initial state satisfies it, by the *explicit* evaluator;
2. consecution: from a state satisfying it, every transition leads to one that does
   (Z3, over this package's own translation of the IR, not the solver's formula);
3. strength: it rules out the property's bad states (and every model error).

``render`` prints an invariant one lemma per line in the model's names, enum codes
decoded to labels: ``pc[0] = eating ⇒ fork[0] ∧ fork[1]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mhpcheck.model.compile import compile_system
from mhpcheck.model.domains import BoolDomain, EnumDomain
from mhpcheck.model.errors import ModelError
from mhpcheck.model.expr import (
    FALSE,
    TRUE,
    And,
    Arith,
    Cmp,
    CmpOp,
    Const,
    Expr,
    Implies,
    Ite,
    Not,
    Or,
    Var,
)
from mhpcheck.model.system import Property, State, TransitionSystem

from . import z3api as z
from .common import Clock, Goal, make_goal
from .encode import Encoding
from .learned import Learned
from .z3api import Term


class Unreadable(Exception):
    """The solver's formula uses an operator the IR does not have."""


# -- solver formula -> IR -----------------------------------------------------------------
def slot_var(ts: TransitionSystem, slot: int) -> Var:
    """The IR read of state slot ``slot``."""
    v = ts.var_at(slot)
    if v.index is None:
        return Var(v.name, v.domain)
    return Var(v.name, v.domain, Const(slot - v.offset), v.index.size)


def from_solver(enc: Encoding, t: Term) -> Expr:
    """The IR of ``t``, a formula over the template frame ``enc.x``."""
    by_name = {z.name(v): i for i, v in enumerate(enc.x)}

    def conv(u: Term) -> Expr:
        node = z.view(u)
        k = node.kind
        if k == "bool":
            return TRUE if node.value else FALSE
        if k == "int":
            return Const(node.value)
        if k == "var":
            if node.name not in by_name:
                raise Unreadable(f"unknown constant {node.name}")
            return slot_var(enc.ts, by_name[node.name])
        args = [conv(a) for a in node.args]
        if k == "and":
            return And(tuple(args))
        if k == "or":
            return Or(tuple(args))
        if k == "not":
            return Not(args[0])
        if k == "=>":
            return Implies(args[0], args[1])
        if k == "ite":
            return Ite(args[0], args[1], args[2])
        if k in ("==", "<=", "<", ">=", ">") and len(args) == 2:
            return Cmp(k, args[0], args[1])  # type: ignore[arg-type]
        if k == "xor" and len(args) == 2:
            return Cmp("!=", args[0], args[1])
        if k == "distinct":
            return And(tuple(Cmp("!=", a, b) for i, a in enumerate(args) for b in args[i + 1:]))
        if k in ("+", "-", "*") and args:
            out = args[0]
            for b in args[1:]:
                out = Arith(k, out, b)  # type: ignore[arg-type]
            return out
        if k == "neg":
            return Arith("-", Const(0), args[0])
        if k in ("div", "mod") and isinstance(args[1], Const) and args[1].value > 0:
            # SMT-LIB's div and mod agree with Python's // and % for a positive divisor
            return Arith("//" if k == "div" else "%", args[0], args[1])
        raise Unreadable(f"operator {k}")

    return conv(t)


def lemmas(e: Expr) -> list[Expr]:
    """The conjuncts of ``e`` (nested conjunctions flattened)."""
    if isinstance(e, And):
        return [x for a in e.args for x in lemmas(a)]
    if e == TRUE:
        return []
    return [e]


def conjoin(parts: Sequence[Expr]) -> Expr:
    if not parts:
        return TRUE
    return parts[0] if len(parts) == 1 else And(tuple(parts))


# -- re-checking ------------------------------------------------------------------------
@dataclass(frozen=True)
class Recheck:
    """Which of the three conditions hold, and a state breaking the first that fails."""

    initiation: bool
    consecution: bool
    strength: bool
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.initiation and self.consecution and self.strength


def failing_init(ts: TransitionSystem, inv: Expr) -> State | None:
    """An initial state that violates ``inv``, by the explicit evaluator."""
    pred = compile_system(ts).predicate(inv, "certificate")
    for s in ts.init:
        try:
            if not pred(s):
                return s
        except ModelError:
            return s
    return None


def inv_term(enc: Encoding, inv: Expr, frame: Sequence[Term]) -> Term:
    tr = enc.translator(list(frame))
    return z.and_([tr.defined(inv), tr.pred(inv)])


class Inductiveness:
    """One incremental solver that checks candidate invariants for strength and consecution.

    Strength: no state satisfying the candidate is bad (violates the property, makes
    it raise, or is a model error); for a step invariant, no transition from such a
    state is bad. Consecution: every transition from a good state satisfying the
    candidate leads to a state satisfying it. A failed check leaves its model in
    ``model`` (pre-state frame ``x``, action ``a``, post-state frame ``x'``).
    """

    def __init__(self, enc: Encoding, goal: Goal) -> None:
        self.enc = enc
        self.goal = goal
        self.solver = z.Solver()
        self.solver.add(enc.domain(enc.x))
        self.model: z.Model | None = None

    def _ask(self, parts: list[Term], clock: Clock) -> z.Answer:
        self.solver.push()
        for p in parts:
            self.solver.add(p)
        answer = self.solver.check(timeout=clock.left())
        self.model = self.solver.model() if answer == "sat" else None
        self.solver.pop()
        return answer

    def strength(self, inv: Expr, clock: Clock) -> z.Answer:
        enc, goal = self.enc, self.goal
        now = inv_term(enc, inv, enc.x)
        if goal.step:
            answer = self._ask([now, enc.error], clock)
            if answer != "unsat":
                return answer
            return self._ask([now, enc.trans, z.or_([goal.bad, goal.perr])], clock)
        return self._ask([now, z.or_([goal.bad, goal.perr, enc.error])], clock)

    def consecution(self, inv: Expr, clock: Clock) -> z.Answer:
        enc = self.enc
        now, nxt = inv_term(enc, inv, enc.x), inv_term(enc, inv, enc.xn)
        return self._ask([now, z.not_(enc.error), enc.trans, z.not_(nxt)], clock)


#: Where ``recheck`` keeps the invariants whose consecution it checked (per system).
def recheck(enc: Encoding, goal: Goal, inv: Expr, clock: Clock) -> Recheck:
    """Check initiation (explicitly), consecution and strength (Z3) of ``inv``.

    Consecution does not depend on the property, so an invariant already found
    consecutive in the same Checker call (S1..S6 often share one, kept in
    ``enc.learned``) is not asked again.
    """
    bad_init = failing_init(enc.ts, inv)
    if bad_init is not None:
        return Recheck(False, False, False, f"initial state {enc.ts.decode(bad_init)} "
                       "violates it")
    checker = Inductiveness(enc, goal)
    strong = checker.strength(inv, clock)
    if strong != "unsat":
        return Recheck(True, False, False, "it does not rule out the bad states"
                       if strong == "sat" else f"strength check: solver {strong}")
    done = enc.learned.consecutive
    if inv in done:
        return Recheck(True, True, True)
    cons = checker.consecution(inv, clock)
    if cons != "unsat":
        return Recheck(True, False, True, "it is not preserved by every transition"
                       if cons == "sat" else f"consecution check: solver {cons}")
    done.add(inv)
    return Recheck(True, True, True)


@z.fresh_context
def recheck_alone(ts: TransitionSystem, prop: Property, inv: Expr,
                  learned: Learned | None = None, timeout: float | None = None,
                  unchecked: frozenset[str] = frozenset()) -> Recheck:
    """``recheck`` in a fresh encoding of ``ts``: the Checker's check of a certificate
    an engine reported (consecution is taken from ``learned`` if established in the
    same call; an update of a count in ``unchecked`` leaving its range is not an error
    state there)."""
    enc = Encoding(ts, learned, unchecked)
    return recheck(enc, make_goal(enc, prop), inv, Clock(timeout))


# -- printing ---------------------------------------------------------------------------
_FLIP: dict[str, CmpOp] = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_SYM = {"==": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}


class Printer:
    """Expressions in the model's names, with enum codes decoded to labels."""

    def __init__(self, ts: TransitionSystem) -> None:
        self.ts = ts

    def var(self, v: Var) -> str:
        name = v.name + ("'" if v.primed else "")
        if v.index is None:
            return name
        if isinstance(v.index, Const):
            decl = self.ts.var(v.name)
            label = decl.index.label(v.index.value) if decl.index is not None else str(
                v.index.value)
            return f"{name}[{label}]"
        return f"{name}[{self.show(v.index)}]"

    def _domain_cmp(self, op: str, v: Var, code: int) -> str | None:
        """A comparison with a constant, said with the values of the variable's domain."""
        dom = v.domain
        if isinstance(dom, BoolDomain):
            return None
        ok = [c for c in dom.codes() if _holds(op, c, code)]
        name = self.var(v)

        def show(c: int) -> str:
            return str(dom.decode(c))
        if not ok:
            return "false"
        if len(ok) == dom.size:
            return "true"
        if len(ok) == 1:
            return f"{name} = {show(ok[0])}"
        if len(ok) == dom.size - 1:
            missing = next(c for c in dom.codes() if c not in ok)
            return f"{name} ≠ {show(missing)}"
        if not isinstance(dom, EnumDomain):
            return f"{name} {_SYM[op]} {code}"
        return f"{name} ∈ {{{', '.join(show(c) for c in ok)}}}"

    def _bool_cmp(self, op: str, v: Var, code: int) -> str | None:
        if not isinstance(v.domain, BoolDomain) or op not in ("==", "!="):
            return None
        positive = (code != 0) == (op == "==")
        return self.var(v) if positive else f"¬{self.var(v)}"

    def cmp(self, op: CmpOp, lhs: Expr, rhs: Expr) -> str:
        if isinstance(lhs, Const) and isinstance(rhs, Var):
            lhs, rhs, op = rhs, lhs, _MIRROR[op]
        if isinstance(lhs, Var) and isinstance(rhs, Const):
            for how in (self._domain_cmp, self._bool_cmp):
                text = how(op, lhs, rhs.value)
                if text is not None:
                    return text
        return f"{self.show(lhs, 2)} {_SYM[op]} {self.show(rhs, 2)}"

    def show(self, e: Expr, prec: int = 0) -> str:
        """``e`` as text; ``prec`` is the binding strength of the context."""
        if isinstance(e, Const):
            if e.sort == "bool":
                return "true" if e.value else "false"
            if isinstance(e.sort, EnumDomain):
                return e.sort.labels[e.value]
            return str(e.value)
        if isinstance(e, Var):
            return self.var(e)
        if isinstance(e, Not):
            inner = e.arg
            if isinstance(inner, Cmp):
                return self.cmp(_FLIP[inner.op], inner.lhs, inner.rhs)
            if isinstance(inner, Var) and isinstance(inner.domain, BoolDomain):
                return f"¬{self.var(inner)}"
            return f"¬({self.show(inner)})"
        if isinstance(e, Cmp):
            text = self.cmp(e.op, e.lhs, e.rhs)
            return text if prec < 5 else f"({text})"
        if isinstance(e, And):
            if not e.args:
                return "true"
            text = " ∧ ".join(self.show(a, 4) for a in e.args)
            return text if prec < 4 or len(e.args) == 1 else f"({text})"
        if isinstance(e, Or):
            return self._or(e, prec)
        if isinstance(e, Implies):
            text = f"{self.show(e.lhs, 4)} ⇒ {self.show(e.rhs, 2)}"
            return text if prec < 2 else f"({text})"
        if isinstance(e, Arith):
            if e.op in ("min", "max"):
                return f"{e.op}({self.show(e.lhs)}, {self.show(e.rhs)})"
            left = 4 if e.op in ("+", "-") else 5  # a + b + c needs no parentheses
            text = f"{self.show(e.lhs, left)} {e.op} {self.show(e.rhs, 6)}"
            return text if prec < 5 else f"({text})"
        if isinstance(e, Ite) and e.then == Const(1) and e.orelse == Const(0):
            return f"[{self.show(e.cond)}]"  # Iverson's bracket: 1 if it holds, else 0
        if isinstance(e, Ite):
            text = (f"if {self.show(e.cond)} then {self.show(e.then)} "
                    f"else {self.show(e.orelse)}")
            return text if prec == 0 else f"({text})"
        return repr(e)

    def _or(self, e: Or, prec: int) -> str:
        """A clause ``¬a ∨ ¬b ∨ c`` reads better as ``a ∧ b ⇒ c``."""
        if not e.args:
            return "false"
        negs = [a.arg for a in e.args if isinstance(a, Not)]
        negs += [Cmp(_FLIP[a.op], a.lhs, a.rhs) for a in e.args
                 if isinstance(a, Cmp) and _is_negative(a)]
        rest = [a for a in e.args if not isinstance(a, Not)
                and not (isinstance(a, Cmp) and _is_negative(a))]
        if negs and len(e.args) > 1:
            lhs = " ∧ ".join(self.show(a, 4) for a in negs)
            if not rest:
                text = f"¬({lhs})"
            else:
                text = f"{lhs} ⇒ " + " ∨ ".join(self.show(a, 4) for a in rest)
            return text if prec < 2 else f"({text})"
        text = " ∨ ".join(self.show(a, 4) for a in e.args)
        return text if prec < 3 or len(e.args) == 1 else f"({text})"

    def lemmas(self, inv: Expr) -> list[str]:
        return [self.show(x) for x in lemmas(inv)]


_MIRROR: dict[CmpOp, CmpOp] = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<",
                               ">=": "<="}


def _is_negative(c: Cmp) -> bool:
    return c.op == "!="


def _holds(op: str, a: int, b: int) -> bool:
    return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b,
            ">=": a >= b}[op]


def render(ts: TransitionSystem, inv: Expr, title: str = "") -> str:
    """The certificate text: a header and one lemma per line."""
    lines = [title] if title else []
    lines += Printer(ts).lemmas(inv) or ["true"]
    return "\n".join(lines) + "\n"
