"""The IR as Z3 formulas: state frames, guards, the transition relation, properties.

One ``Encoding`` per transition system. A state is a *frame*: one Z3 constant per slot
(a Bool for a Bool variable, an Int with its domain's bounds otherwise). The
transition relation ``T(x, a, x')`` is built once over template frames and copied to
each unrolling step by substitution; ``a`` is an Int that selects the action instance
(so traces name their actions without guessing).

The translation follows the explicit semantics of ``model.compile`` exactly,
including Python's truthiness (a Bool is 0/1 in arithmetic, an integer is true when
non-zero) and its errors: a dynamic index outside its family, an update outside its
variable's domain, or a zero divisor, is a ``ModelError`` in the explicit semantics.
Here such a state is an *error state*: ``defined`` gives the condition under which an
expression evaluates without error (following Python's short-circuit order), and
``error`` the states from which some action would raise. Engines look for error
states along with violations and report them as model errors, never as silently
wrapped values.
"""

from __future__ import annotations

from collections.abc import Sequence

from mhpcheck.model.compile import bounds, divisor_may_be_zero
from mhpcheck.model.domains import BoolDomain, Domain
from mhpcheck.model.errors import ModelError
from mhpcheck.model.expr import (
    DIVISIONS,
    And,
    Arith,
    Assign,
    Cmp,
    Const,
    Expr,
    Implies,
    Ite,
    Not,
    Or,
    Var,
    walk,
)
from mhpcheck.model.system import ActionInstance, State, TransitionSystem

from . import z3api as z
from .learned import Learned
from .z3api import Term

Frame = list[Term]


def _checked_index(v: Var) -> bool:
    """Whether the explicit semantics range-checks this read's index at run time."""
    if v.index is None or isinstance(v.index, Const):
        return False
    lo, hi = bounds(v.index)
    return lo < 0 or hi >= v.size


def needs_definedness(e: Expr) -> bool:
    """Whether ``e`` can raise in the explicit semantics (a checked dynamic index, or a
    divisor that may be zero)."""
    return any((isinstance(n, Var) and _checked_index(n))
               or (isinstance(n, Arith) and divisor_may_be_zero(n)) for n in walk(e))


#: Above this many steps of a quotient, ``//`` and ``%`` use Z3's own division (which
#: the finite-domain solver cannot bit-blast: the general solver takes over).
MAX_QUOTIENT_STEPS = 64


def _quotient_steps(x: Term, c: int, lo: int, hi: int) -> Term | None:
    """``x // c`` for a constant ``c > 0`` and ``x`` in ``lo..hi``: its least value plus
    one for each multiple of ``c`` that ``x`` reaches. That is linear, so the
    finite-domain solver bit-blasts it (it gives up on SMT division); None when it
    takes more than ``MAX_QUOTIENT_STEPS`` steps."""
    q0, q1 = lo // c, hi // c
    if q1 - q0 > MAX_QUOTIENT_STEPS:
        return None
    out = z.int_val(q0)
    for k in range(q0 + 1, q1 + 1):
        reached = z.cmp(">=", x, z.int_val(k * c))
        out = z.arith("+", out, z.ite(reached, z.int_val(1), z.int_val(0)))
    return out


def _divide_by(op: str, x: Term, c: int, lo: int, hi: int) -> Term:
    """``x // c`` or ``x % c`` (Python's) for a constant ``c != 0``, ``x`` in ``lo..hi``."""
    if c > 0:
        q = _quotient_steps(x, c, lo, hi)
    else:  # x // c == (-x) // (-c), with -x in -hi..-lo
        q = _quotient_steps(z.arith("-", z.int_val(0), x), -c, -hi, -lo)
    if q is None:
        return z.arith("//" if op == "//" else "%", x, z.int_val(c))
    if op == "//":
        return q
    return z.arith("-", x, z.arith("*", z.int_val(c), q))


class Translator:
    """Translates expressions over one pre-state frame (and a post-state frame)."""

    def __init__(self, enc: Encoding, cur: Frame, nxt: Frame | None = None) -> None:
        self.enc = enc
        self.cur = cur
        self.nxt = nxt
        self._memo: dict[int, tuple[Expr, Term]] = {}
        self._dmemo: dict[int, tuple[Expr, Term]] = {}

    # -- values --------------------------------------------------------------------------
    def term(self, e: Expr) -> Term:
        hit = self._memo.get(id(e))
        if hit is not None:
            return hit[1]
        t = self._term(e)
        self._memo[id(e)] = (e, t)
        return t

    def pred(self, e: Expr) -> Term:
        return z.to_bool(self.term(e))

    def _read(self, v: Var) -> Term:
        if v.primed and self.nxt is None:
            raise ModelError(f"primed variable {v.name}' outside a step invariant")
        frame = self.nxt if v.primed and self.nxt is not None else self.cur
        base = self.enc.offset(v.name)
        if v.index is None:
            return frame[base]
        if isinstance(v.index, Const):
            return frame[base + v.index.value]
        lo, hi = bounds(v.index)
        lo, hi = max(lo, 0), min(hi, v.size - 1)
        if lo > hi:  # never in range: an error state whenever evaluated
            return frame[base]
        idx = z.to_int(self.term(v.index))
        out = frame[base + hi]
        for i in range(hi - 1, lo - 1, -1):
            out = z.ite(z.eq(idx, z.int_val(i)), frame[base + i], out)
        return out

    def _term(self, e: Expr) -> Term:
        if isinstance(e, Const):
            if e.sort == "bool":
                return z.true() if e.value else z.false()
            return z.int_val(e.value)
        if isinstance(e, Var):
            return self._read(e)
        if isinstance(e, Not):
            return z.not_(self.pred(e.arg))
        if isinstance(e, And):
            return z.and_([self.pred(a) for a in e.args])
        if isinstance(e, Or):
            return z.or_([self.pred(a) for a in e.args])
        if isinstance(e, Implies):
            return z.implies(self.pred(e.lhs), self.pred(e.rhs))
        if isinstance(e, Cmp):
            return z.cmp(e.op, self.term(e.lhs), self.term(e.rhs))
        if isinstance(e, Arith) and e.op in DIVISIONS:
            return self._division(e)
        if isinstance(e, Arith):
            return z.arith(e.op, self.term(e.lhs), self.term(e.rhs))
        if isinstance(e, Ite):
            c = self.pred(e.cond)
            a, b = self.term(e.then), self.term(e.orelse)
            if e.sort == "bool":
                return z.ite(c, z.to_bool(a), z.to_bool(b))
            return z.ite(c, z.to_int(a), z.to_int(b))
        raise ModelError(f"the symbolic engines cannot translate {type(e).__name__}")

    def _division(self, e: Arith) -> Term:
        """``//`` or ``%`` as the explicit semantics compute it, and 0 for a zero divisor
        (an error state: ``defined`` is false there). A divisor with few possible values
        is a case split over them, each a division by a constant."""
        x = z.to_int(self.term(e.lhs))
        lo, hi = bounds(e.lhs)
        if isinstance(e.rhs, Const):
            return _divide_by(e.op, x, e.rhs.value, lo, hi) if e.rhs.value else z.int_val(0)
        blo, bhi = bounds(e.rhs)
        y = z.to_int(self.term(e.rhs))
        if bhi - blo > MAX_QUOTIENT_STEPS:
            return z.arith(e.op, x, y)
        out = z.int_val(0)
        for c in range(blo, bhi + 1):
            if c:
                out = z.ite(z.eq(y, z.int_val(c)), _divide_by(e.op, x, c, lo, hi), out)
        return out

    # -- definedness (no ModelError when evaluated, in Python's evaluation order) -------
    def defined(self, e: Expr) -> Term:
        if not needs_definedness(e):
            return z.true()
        return self._defined(e)

    def _defined(self, e: Expr) -> Term:
        hit = self._dmemo.get(id(e))
        if hit is not None:
            return hit[1]
        d = self._defined_node(e)
        self._dmemo[id(e)] = (e, d)
        return d

    def _defined_node(self, e: Expr) -> Term:
        if isinstance(e, Const):
            return z.true()
        if isinstance(e, Var):
            if e.index is None or isinstance(e.index, Const):
                return z.true()
            d = self._defined(e.index)
            if _checked_index(e):
                idx = z.to_int(self.term(e.index))
                d = z.and_([d, z.cmp("<=", z.int_val(0), idx),
                            z.cmp("<", idx, z.int_val(e.size))])
            return d
        if isinstance(e, Not):
            return self._defined(e.arg)
        if isinstance(e, (And, Or)):
            parts: list[Term] = []
            sofar: list[Term] = []
            for a in e.args:
                da = self._defined(a)
                if isinstance(e, And):
                    parts.append(z.implies(z.and_(sofar), da))
                    sofar.append(self.pred(a))
                else:
                    parts.append(z.implies(z.not_(z.or_(sofar)), da))
                    sofar.append(self.pred(a))
            return z.and_(parts)
        if isinstance(e, Implies):
            return z.and_([self._defined(e.lhs),
                           z.implies(self.pred(e.lhs), self._defined(e.rhs))])
        if isinstance(e, Arith) and divisor_may_be_zero(e):
            divisor = z.to_int(self.term(e.rhs))
            return z.and_([self._defined(e.lhs), self._defined(e.rhs),
                           z.not_(z.eq(divisor, z.int_val(0)))])
        if isinstance(e, (Cmp, Arith)):
            return z.and_([self._defined(e.lhs), self._defined(e.rhs)])
        if isinstance(e, Ite):
            c = self.pred(e.cond)
            return z.and_([self._defined(e.cond), z.implies(c, self._defined(e.then)),
                           z.implies(z.not_(c), self._defined(e.orelse))])
        raise ModelError(f"the symbolic engines cannot translate {type(e).__name__}")


class Encoding:
    """Frames, initial states, the transition relation and error states of ``ts``."""

    def __init__(self, ts: TransitionSystem, learned: Learned | None = None,
                 unchecked: frozenset[str] = frozenset()) -> None:
        self.ts = ts
        #: Counts whose updates may leave their range without that being an error state
        #: here (the forall engine's proofs do not track them; a finite engine still
        #: reports such an update as a model error).
        self.unchecked = unchecked
        #: What engines learned about ``ts`` in the current Checker call (pdr's reuse).
        self.learned = Learned() if learned is None else learned
        self.names = ts.slot_names()
        self.domains: list[Domain] = []
        self._offsets: dict[str, int] = {}
        for v in ts.variables:
            self._offsets[v.name] = v.offset
            self.domains.extend([v.domain] * v.width)
        self.sorts: list[z.SortName] = [
            "bool" if isinstance(d, BoolDomain) else "int" for d in self.domains]
        self.n_actions = len(ts.actions)
        self._frames: dict[str, Frame] = {}
        self._acts: dict[str, Term] = {}
        # templates: x (pre-state), x' (post-state), a (the action instance taken)
        self.x = self.frame("x")
        self.xn = self.frame("x'")
        self.a = self.act("x")
        self.update: Term = z.false()  # set with the transition relation
        self.enabled: Term = z.false()
        tr = Translator(self, self.x)
        self.guards: list[Term] = [tr.pred(inst.guard) for inst in ts.actions]
        self.trans = self._transition(tr)
        self.error = self._error(tr)  # states from which some action raises
        self.deadlock = z.and_([z.not_(g) for g in self.guards])

    # -- frames --------------------------------------------------------------------------
    def offset(self, name: str) -> int:
        return self._offsets[name]

    def frame(self, tag: str | int) -> Frame:
        """The state constants of frame ``tag`` (created on first use)."""
        key = str(tag)
        f = self._frames.get(key)
        if f is None:
            f = [z.var(f"{n}@{key}", s) for n, s in zip(self.names, self.sorts, strict=True)]
            self._frames[key] = f
        return f

    def act(self, tag: str | int) -> Term:
        key = str(tag)
        t = self._acts.get(key)
        if t is None:
            t = z.int_var(f"action@{key}")
            self._acts[key] = t
        return t

    def at(self, t: Term, i: int | str, j: int | str | None = None) -> Term:
        """``t`` (over the templates) moved to frame ``i`` (and post-frame ``j``)."""
        pairs = list(zip(self.x, self.frame(i), strict=True))
        pairs.append((self.a, self.act(i)))
        if j is not None:
            pairs += list(zip(self.xn, self.frame(j), strict=True))
        return z.substitute(t, pairs)

    def translator(self, cur: Frame, nxt: Frame | None = None) -> Translator:
        return Translator(self, cur, nxt)

    def domain(self, f: Frame) -> Term:
        parts = []
        for t, d, s in zip(f, self.domains, self.sorts, strict=True):
            if s == "bool":
                continue
            if d.lo == d.hi:
                parts.append(z.eq(t, z.int_val(d.lo)))
            else:
                parts.append(z.cmp("<=", z.int_val(d.lo), t))
                parts.append(z.cmp("<=", t, z.int_val(d.hi)))
        return z.and_(parts)

    def value_term(self, slot: int, code: int) -> Term:
        if self.sorts[slot] == "bool":
            return z.true() if code else z.false()
        return z.int_val(code)

    def state_is(self, f: Frame, state: State) -> Term:
        return z.and_([z.eq(t, self.value_term(i, c)) for i, (t, c) in
                       enumerate(zip(f, state, strict=True))])

    def init(self, f: Frame) -> Term:
        """The initial states (one disjunct per state; slots they agree on factored out)."""
        states = sorted(set(self.ts.init))
        if not states:
            return z.false()
        common = [i for i in range(len(self.names)) if len({s[i] for s in states}) == 1]
        differ = [i for i in range(len(self.names)) if i not in set(common)]
        fixed = [z.eq(f[i], self.value_term(i, states[0][i])) for i in common]
        options = [z.and_([z.eq(f[i], self.value_term(i, s[i])) for i in differ])
                   for s in states]
        return z.and_([*fixed, z.or_(options)])

    # -- the transition relation -----------------------------------------------------------
    def _store(self, u: Assign, tr: Translator) -> Term:
        v = tr.term(u.value)
        return z.to_bool(v) if isinstance(u.domain, BoolDomain) else z.to_int(v)

    def _transition(self, tr: Translator) -> Term:
        if not self.ts.actions:
            self.update = self.enabled = z.false()
            return z.false()
        nxt: list[Term] = list(self.x)
        for k, inst in enumerate(self.ts.actions):
            chosen = z.eq(self.a, z.int_val(k))
            statics = [u for u in inst.updates if u.index is None or isinstance(u.index, Const)]
            dynamics = [u for u in inst.updates if u not in statics]
            for u in statics:
                slot = self.offset(u.name)
                if isinstance(u.index, Const):
                    slot += u.index.value
                nxt[slot] = z.ite(chosen, self._store(u, tr), nxt[slot])
            for u in dynamics:
                assert u.index is not None
                base = self.offset(u.name)
                lo, hi = bounds(u.index)
                idx = z.to_int(tr.term(u.index))
                val = self._store(u, tr)
                for i in range(max(lo, 0), min(hi, u.size - 1) + 1):
                    cond = z.and_([chosen, z.eq(idx, z.int_val(i))])
                    nxt[base + i] = z.ite(cond, val, nxt[base + i])
        parts = [z.cmp("<=", z.int_val(0), self.a),
                 z.cmp("<", self.a, z.int_val(self.n_actions))]
        parts += [z.eq(post, value) for post, value in zip(self.xn, nxt, strict=True)]
        #: x' is what action a does to x (whether or not a is enabled)
        self.update = z.and_(parts)
        #: the action a is enabled in x
        self.enabled = z.and_([z.implies(z.eq(self.a, z.int_val(k)), g)
                               for k, g in enumerate(self.guards)])
        return z.and_([self.update, self.enabled, self.domain(self.xn)])

    def _update_ok(self, inst: ActionInstance, tr: Translator) -> Term:
        """The updates of ``inst`` evaluate without error (indices and domains)."""
        parts: list[Term] = []
        for u in inst.updates:
            parts.append(tr.defined(u.value))
            is_flag = u.value.sort == "bool" and not isinstance(u.value, Const)
            lo, hi = bounds(u.value)
            if not is_flag and u.name not in self.unchecked and (
                    lo < u.domain.lo or hi > u.domain.hi):
                v = z.to_int(tr.term(u.value))
                parts.append(z.cmp("<=", z.int_val(u.domain.lo), v))
                parts.append(z.cmp("<=", v, z.int_val(u.domain.hi)))
            if u.index is not None and not isinstance(u.index, Const):
                parts.append(tr.defined(u.index))
                ilo, ihi = bounds(u.index)
                if ilo < 0 or ihi >= u.size:
                    i = z.to_int(tr.term(u.index))
                    parts.append(z.cmp("<=", z.int_val(0), i))
                    parts.append(z.cmp("<", i, z.int_val(u.size)))
        return z.and_(parts)

    def _error(self, tr: Translator) -> Term:
        parts = []
        for inst, g in zip(self.ts.actions, self.guards, strict=True):
            parts.append(z.not_(tr.defined(inst.guard)))
            parts.append(z.and_([g, z.not_(self._update_ok(inst, tr))]))
        return z.or_(parts)

    # -- reading answers ---------------------------------------------------------------
    def state(self, m: z.Model, tag: int | str) -> State:
        return tuple(m.value(t) for t in self.frame(tag))

    def action_taken(self, m: z.Model, tag: int | str) -> int:
        return m.value(self.act(tag))

    def frames_distinct(self, i: int | str, j: int | str) -> Term:
        a, b = self.frame(i), self.frame(j)
        return z.or_([z.not_(z.eq(p, q)) for p, q in zip(a, b, strict=True)])


def conjunction(terms: Sequence[Term]) -> Term:
    return z.and_(terms)
