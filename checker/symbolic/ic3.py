"""IC3 / PDR over finite-domain state, on Z3's finite-domain (SAT) solver.

The algorithm of Bradley ("SAT-based model checking without unrolling", 2011) and
Een, Mishchenko and Brayton ("Efficient implementation of property directed
reachability", 2011), for states whose variables have finite domains:

- a *cube* is a set of literals ``slot = value``; a lemma is the clause ``¬cube``;
- frames F1 ⊇ ... are kept delta-encoded: ``lemmas[i]`` are the cubes blocked at level
  exactly ``i``; one solver holds every lemma behind an activation literal of its
  level, so a query "in F_i" assumes the literals of levels >= i;
- a bad state found in the last frame becomes a proof obligation; obligations are
  blocked by relative induction (``F_(i-1) ∧ ¬c ∧ T ∧ c'`` unsatisfiable), or yield a
  predecessor, itself an obligation one level down;
- cubes are generalised with the unsat core of the next-state literals, then by
  dropping literals one at a time (MIC without counterexamples to generalisation);
  every cube stays disjoint from the initial states (checked on the concrete
  initial states, in Python);
- bad states and predecessors are *lifted* (a core over the full-state literals shows
  which of them matter), so obligations are small;
- after each round lemmas are pushed forward; when a level empties, the lemmas above
  it form an inductive invariant;
- ``seed``: cubes whose lemmas together form an inductive invariant found beforehand
  (the model's Houdini invariant, ``houdini.py``, and the lemmas of certificates
  already proved on the same system): every frame assumes them and they join the
  invariant; ``facts``: the lemmas of that invariant that are not clauses (affine
  relations, ``affine.py``), assumed the same way; ``hints``: candidate cubes (true
  in sampled reachable states), each added to F_1 when it is inductive relative to
  Init and pushed like any lemma; ``guesses``: candidate lemmas that are not clauses
  (affine relations Houdini could not keep on its own), handled like hints: one
  enters F_1 when it is inductive relative to Init, is pushed while it is inductive
  relative to its frame, and joins the invariant when it reaches the fixpoint.

Reaching an obligation at level 0 means a real path to a bad state of length at most
the frame count; the shortest one is then found by BMC and replayed.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from mhpcheck.model.expr import TRUE, And, Cmp, Const, Expr, Not
from mhpcheck.model.system import State

from ..result import Progress, ProgressFn
from . import z3api as z
from .certificate import conjoin, slot_var
from .common import Clock, Goal
from .encode import Encoding
from .z3api import Term

Cube = tuple[tuple[int, int], ...]  # sorted (slot, value) pairs


@dataclass(frozen=True)
class Guess:
    """A candidate lemma that is not a clause: its terms over x and x', and whether
    the initial states satisfy it (checked by the caller, explicitly)."""

    now: Term
    nxt: Term
    initial: bool

#: Literal-dropping attempts per generalisation (beyond the unsat core).
MIC_ATTEMPTS = 40


@dataclass(frozen=True)
class Outcome:
    """``proved`` with the invariant's cubes, ``violated`` at a depth, or ``unknown``."""

    status: str
    cubes: tuple[Cube, ...] = ()
    depth: int = 0
    frames: int = 0
    queries: int = 0
    message: str = ""
    #: indices of the guesses that are part of the invariant
    guesses: tuple[int, ...] = ()
    #: ``violated``: an initial state and the action instances of a path from it to a
    #: bad state (through the proof obligations, each lifted for its action)
    start: State | None = None
    actions: tuple[int, ...] = ()


class IC3:
    def __init__(self, enc: Encoding, goal: Goal, clock: Clock, progress: ProgressFn,
                 seed: Sequence[Cube] = (), hints: Sequence[Cube] = (),
                 facts: Sequence[Term] = (), guesses: Sequence[Guess] = (),
                 max_queries: int | None = None) -> None:
        self.enc = enc
        #: give up ("unknown") after this many queries of the main solver: a budget
        #: that, unlike seconds, ends the same way on every run
        self.max_queries = max_queries
        self.goal = goal
        self.clock = clock
        self.progress = progress
        self.init_states: list[State] = sorted(set(enc.ts.init))
        s = self.solver = z.Solver()
        s.add(enc.domain(enc.x))
        self.t_on = z.bool_var("ic3:T")
        self.init_on = z.bool_var("ic3:init")
        self.bad_on = z.bool_var("ic3:bad")
        s.add(z.implies(self.t_on, enc.trans))
        s.add(z.implies(self.init_on, enc.init(enc.x)))
        if goal.step:
            bad = z.or_([enc.error, z.and_([enc.trans, z.or_([goal.bad, goal.perr])])])
            lift_bad = z.or_([enc.error, z.and_([enc.enabled, enc.domain(enc.xn),
                                                   z.or_([goal.bad, goal.perr])])])
        else:
            bad = z.or_([enc.error, goal.bad, goal.perr])
            lift_bad = bad
        s.add(z.implies(self.bad_on, bad))
        # every frame F_i, i >= 1, lies inside the property once its bad states are
        # blocked, so relative induction may assume it (a stronger, property-directed
        # hypothesis); a step invariant's states are only known to be error-free
        self.p_on = z.bool_var("ic3:P")
        good = z.not_(enc.error) if goal.step else z.not_(bad)
        s.add(z.implies(self.p_on, good))
        self.lift = z.Solver()
        self.lift.add(enc.domain(enc.x))
        if enc.n_actions:
            self.lift.add(enc.update)
        self.lift_bad = lift_bad
        self.step_ok = z.and_([enc.enabled, enc.domain(enc.xn)])
        self.levels: list[Term] = [self.init_on]  # activation literal per level (0: Init)
        self.lemmas: list[set[Cube]] = [set()]
        self._next: dict[tuple[int, int], Term] = {}
        self._cur: dict[tuple[int, int], Term] = {}
        self._by_name: dict[str, tuple[int, int]] = {}
        self._lits: dict[tuple[int, int, int], Term] = {}
        # an inductive invariant found beforehand (houdini.py): it holds in every
        # reachable state, so every frame may assume it, and it joins the certificate
        self.seed = tuple(seed)
        for cube in self.seed:
            s.add(self.clause(cube))
        # the rest of that invariant: lemmas that are not clauses (affine relations,
        # affine.py), over the current state
        for fact in facts:
            s.add(fact)
        # candidate lemmas (believed invariant, not known inductive): each enters F_1
        # once it is inductive relative to Init, like any lemma, and propagation then
        # pushes it as far as the frames allow
        self.hints = tuple(hints)
        self.guesses = tuple(guesses)
        #: per level, the guesses blocked at exactly that level (like ``lemmas``)
        self.guessed: list[set[int]] = [set()]
        #: the obligations of the current ``block``: each one's successor obligation and
        #: the action into it (the first is the bad cube, with the action of a bad step
        #: for a step invariant); and the path found, once one is
        self._chain: list[tuple[int | None, int | None]] = []
        self._bad_action: int | None = None
        self.path: tuple[State, tuple[int, ...]] | None = None

    # -- literals ---------------------------------------------------------------------
    def _literal(self, frame: list[Term], slot: int, value: int) -> Term:
        key = (id(frame), slot, value)
        t = self._lits.get(key)
        if t is None:
            t = z.eq(frame[slot], self.enc.value_term(slot, value))
            self._lits[key] = t
        return t

    def next_lit(self, lit: tuple[int, int]) -> Term:
        """A proxy Boolean for ``x'[slot] = value`` in the main solver."""
        p = self._next.get(lit)
        if p is None:
            name = f"ic3:n:{lit[0]}={lit[1]}"
            p = z.bool_var(name)
            self.solver.add(z.eq(p, self._literal(self.enc.xn, *lit)))
            self._next[lit] = p
            self._by_name[name] = lit
        return p

    def cur_lit(self, lit: tuple[int, int]) -> Term:
        """A proxy Boolean for ``x[slot] = value`` in the lifting solver."""
        p = self._cur.get(lit)
        if p is None:
            name = f"ic3:c:{lit[0]}={lit[1]}"
            p = z.bool_var(name)
            self.lift.add(z.eq(p, self._literal(self.enc.x, *lit)))
            self._cur[lit] = p
            self._by_name[name] = lit
        return p

    def cube_term(self, cube: Cube, frame: list[Term]) -> Term:
        return z.and_raw([self._literal(frame, s, v) for s, v in cube])

    def clause(self, cube: Cube) -> Term:
        """``¬cube`` over the current state."""
        return z.or_raw([z.not_raw(self._literal(self.enc.x, s, v)) for s, v in cube])

    def _core_lits(self, core: list[Term]) -> set[tuple[int, int]]:
        out = set()
        for t in core:
            lit = self._by_name.get(z.name(t))
            if lit is not None:
                out.add(lit)
        return out

    # -- frames -----------------------------------------------------------------------
    @property
    def depth(self) -> int:
        return len(self.levels) - 1

    def new_frame(self) -> None:
        self.levels.append(z.bool_var(f"ic3:F{len(self.levels)}"))
        self.lemmas.append(set())
        self.guessed.append(set())

    def frame(self, i: int) -> list[Term]:
        """Assumptions that restrict x to F_i (for i >= 1 inside the property)."""
        return [self.init_on] if i == 0 else [self.p_on, *self.levels[i:]]

    def add_lemma(self, cube: Cube, level: int) -> None:
        for j in range(1, level + 1):  # drop lemmas this one subsumes
            self.lemmas[j] = {c for c in self.lemmas[j] if not set(cube) <= set(c)}
        self.lemmas[level].add(cube)
        self.solver.add(z.or_raw([z.not_raw(self.levels[level]), self.clause(cube)]))

    def blocked(self, cube: Cube, level: int) -> bool:
        cs = set(cube)
        return any(set(c) <= cs for j in range(level, len(self.lemmas)) for c in self.lemmas[j])

    def meets_init(self, cube: Cube) -> State | None:
        for s in self.init_states:
            if all(s[slot] == v for slot, v in cube):
                return s
        return None

    def _repair_init(self, small: set[tuple[int, int]], full: Cube) -> Cube:
        """``small`` (a subset of ``full``) with literals of ``full`` added back until it
        excludes every initial state (``full`` itself does)."""
        cube = tuple(sorted(small))
        while (s := self.meets_init(cube)) is not None:
            lit = next(lit for lit in full if s[lit[0]] != lit[1])
            cube = tuple(sorted({*cube, lit}))
        return cube

    # -- queries ----------------------------------------------------------------------
    def _check(self, solver: z.Solver, assumptions: list[Term]) -> z.Answer:
        if self.max_queries is not None and self.solver.checks >= self.max_queries:
            raise TimeoutError(f"query budget ({self.max_queries}) spent")
        answer = solver.check(assumptions, timeout=self.clock.left())
        if answer == "unknown":
            raise TimeoutError(solver.reason_unknown())
        return answer

    def relative(self, cube: Cube, i: int, pred: bool = True) -> tuple[bool, Cube | None]:
        """Is ``¬cube`` inductive relative to F_i? (True, a core-reduced cube) or
        (False, a lifted predecessor in F_i; None unless ``pred``: generalisation and
        pushing only need the answer, and reading and lifting a model costs more than
        the query)."""
        ok, small, found = self._relative(cube, i, pred)
        if ok or found is None:
            return ok, small
        return False, self.lift_pred(found[0], found[1], cube)

    def _relative(self, cube: Cube, i: int, model: bool
                  ) -> tuple[bool, Cube | None, tuple[State, int] | None]:
        """``relative`` without lifting: (True, a core-reduced cube, None), or (False,
        None, the predecessor and the action it takes into the cube, when ``model``)."""
        s = self.solver
        lits = [self.next_lit(lit) for lit in cube]  # proxies are defined outside push
        s.push()
        s.add(self.clause(cube))
        answer = self._check(s, [*self.frame(i), self.t_on, *lits])
        if answer == "unsat":
            core = self._core_lits(s.unsat_core())
            s.pop()
            small = {lit for lit in cube if lit in core}
            return True, self._repair_init(small, cube), None
        if not model:
            s.pop()
            return False, None, None
        m = s.model()
        state = tuple(m.value(t) for t in self.enc.x)
        action = m.value(self.enc.a)
        s.pop()
        return False, None, (state, action)

    def lift_pred(self, state: State, action: int, cube: Cube) -> Cube:
        full = tuple(enumerate(state))
        s = self.lift
        lits = [self.cur_lit(lit) for lit in full]  # proxies are defined outside push
        s.push()
        s.add(z.not_raw(z.and_raw([self.step_ok, self.cube_term(cube, self.enc.xn)])))
        answer = self._check(s, [*lits, z.eq(self.enc.a, z.int_val(action))])
        core = self._core_lits(s.unsat_core()) if answer == "unsat" else set(full)
        s.pop()
        return tuple(sorted(core))

    def bad_cube(self, k: int) -> Cube | None:
        s = self.solver
        answer = self._check(s, [*self.levels[k:], self.bad_on])
        if answer == "unsat":
            return None
        m = s.model()
        state = tuple(m.value(t) for t in self.enc.x)
        full = tuple(enumerate(state))
        lift = self.lift
        assumptions = [self.cur_lit(lit) for lit in full]  # defined outside push
        lift.push()
        lift.add(z.not_(self.lift_bad))
        # a step invariant's bad cube is a bad step (its action is the model's, which
        # the transition relation pins) or an error state (where the model leaves the
        # action free: any value it picks names no step, so none is recorded); an
        # error state that also starts a bad step counts as the error state, and the
        # search for a shortest trace decides which one BFS meets first
        action: int | None = None
        if self.goal.step and not m.value(self.enc.error):
            action = m.value(self.enc.a)
            assert 0 <= action < self.enc.n_actions, action
            assumptions.append(z.eq(self.enc.a, z.int_val(action)))
        answer = self._check(lift, assumptions)
        core = self._core_lits(lift.unsat_core()) if answer == "unsat" else set(full)
        lift.pop()
        cube = tuple(sorted(core))
        self._bad_action = action
        # a lifted bad cube holds no initial state (they were checked); if lifting went
        # wrong anyway, keep the concrete state rather than block the initial states
        return cube if self.meets_init(cube) is None else full

    # -- blocking ---------------------------------------------------------------------
    def generalize(self, cube: Cube, i: int) -> Cube:
        """Drop literals while ``¬cube`` stays inductive relative to F_i and off Init."""
        attempts = 0
        for lit in list(cube):
            if lit not in cube or len(cube) == 1 or attempts >= MIC_ATTEMPTS:
                continue
            cand = tuple(x for x in cube if x != lit)
            if self.meets_init(cand) is not None:
                continue
            attempts += 1
            ok, smaller = self.relative(cand, i, pred=False)
            if ok and smaller is not None:
                cube = smaller
        return cube

    def block(self, bad: Cube, k: int) -> int | None:
        """Block ``bad`` at level k; None when done, else the length of a real path from
        an initial state to a bad state (every obligation carries its distance to bad)."""
        tick = itertools.count()
        self._chain = [(None, self._bad_action)]
        queue: list[tuple[int, int, int, Cube, int]] = [(k, next(tick), 0, bad, 0)]
        while queue:
            if self.clock.expired():
                raise TimeoutError("timeout")
            i, _, dist, cube, node = heapq.heappop(queue)
            if self.blocked(cube, i):
                continue
            ok, small, found = self._relative(cube, i - 1, model=True)
            if ok:
                assert small is not None
                g = self.generalize(small, i - 1)
                level = i
                while level < k:
                    up, _ = self.relative(g, level, pred=False)
                    if not up:
                        break
                    level += 1
                self.add_lemma(g, level)
                if level < k:
                    heapq.heappush(queue, (level + 1, next(tick), dist, cube, node))
            else:
                assert found is not None
                state, action = found
                other = self.lift_pred(state, action, cube)
                self._chain.append((node, action))
                pred = len(self._chain) - 1
                # every state of a lifted cube reaches the bad states
                start = state if i - 1 == 0 else self.meets_init(other)
                if start is not None:
                    self.path = (start, self._actions_from(pred))
                    return dist + 1
                heapq.heappush(queue, (i - 1, next(tick), dist + 1, other, pred))
                heapq.heappush(queue, (i, next(tick), dist, cube, node))
        return None

    def _actions_from(self, node: int) -> tuple[int, ...]:
        """The actions from obligation ``node`` to the bad cube (and of the bad step)."""
        out: list[int] = []
        at: int | None = node
        while at is not None:
            nxt, action = self._chain[at]
            if action is not None:
                out.append(action)
            at = nxt
        return tuple(out)

    def use_hints(self) -> None:
        for cube in self.hints:
            if self.clock.expired():
                raise TimeoutError("timeout")
            if self.meets_init(cube) is not None or self.blocked(cube, 1):
                continue
            ok, small = self.relative(cube, 0, pred=False)
            if ok and small is not None:
                self.add_lemma(small, 1)

    def guess_holds(self, g: int, i: int) -> bool:
        """Is guess ``g`` inductive relative to F_i?"""
        s = self.solver
        s.push()
        s.add(self.guesses[g].now)
        s.add(z.not_(self.guesses[g].nxt))
        answer = self._check(s, [*self.frame(i), self.t_on])
        s.pop()
        return answer == "unsat"

    def add_guess(self, g: int, level: int) -> None:
        self.guessed[level].add(g)
        self.solver.add(z.or_raw([z.not_raw(self.levels[level]), self.guesses[g].now]))

    def use_guesses(self) -> None:
        for g, guess in enumerate(self.guesses):
            if self.clock.expired():
                raise TimeoutError("timeout")
            if guess.initial and self.guess_holds(g, 0):
                self.add_guess(g, 1)

    def propagate(self) -> int | None:
        """Push lemmas forward; the level that emptied (a fixpoint), if any."""
        k = self.depth
        for i in range(1, k):
            for g in sorted(self.guessed[i]):
                if self.guess_holds(g, i):
                    self.guessed[i].discard(g)
                    self.add_guess(g, i + 1)
            for cube in sorted(self.lemmas[i]):
                if cube not in self.lemmas[i]:
                    continue
                ok, _ = self.relative(cube, i, pred=False)
                if ok:
                    self.lemmas[i].discard(cube)
                    self.add_lemma(cube, i + 1)
            if not self.lemmas[i] and not self.guessed[i]:
                return i
        return None

    def run(self) -> Outcome:
        try:
            if self._check(self.solver, [self.init_on, self.bad_on]) == "sat":
                return Outcome("violated", depth=0, frames=0, queries=self.solver.checks)
            self.new_frame()
            self.use_hints()
            self.use_guesses()
            while True:
                k = self.depth
                while (bad := self.bad_cube(k)) is not None:
                    reached = self.block(bad, k)
                    if reached is not None:
                        start, actions = self.path if self.path else (None, ())
                        return Outcome("violated", depth=reached, frames=k,
                                       queries=self.solver.checks, start=start,
                                       actions=actions)
                self.new_frame()
                fixed = self.propagate()
                n = sum(len(x) for x in self.lemmas)
                self.progress(Progress(0, k, 0, self.clock.elapsed,
                                       f"ic3: frame {k} done, {n} lemmas"))
                if fixed is not None:
                    cubes = tuple(sorted({*self.seed, *(
                        c for j in range(fixed + 1, len(self.lemmas))
                        for c in self.lemmas[j])}))
                    kept = tuple(sorted(g for j in range(fixed + 1, len(self.guessed))
                                        for g in self.guessed[j]))
                    return Outcome("proved", cubes, frames=k, queries=self.solver.checks,
                                   guesses=kept)
        except TimeoutError as err:
            return Outcome("unknown", frames=self.depth, queries=self.solver.checks,
                           message=str(err) or "timeout")


def invariant_expr(enc: Encoding, cubes: tuple[Cube, ...]) -> Expr:
    """The invariant ``∧ ¬cube`` in the model's IR."""
    clauses: list[Expr] = []
    for cube in cubes:
        lits = [Cmp("==", slot_var(enc.ts, s), Const(v, _const_sort(enc, s)))
                for s, v in cube]
        clauses.append(Not(lits[0] if len(lits) == 1 else And(tuple(lits))))
    return conjoin(clauses) if clauses else TRUE


def _const_sort(enc: Encoding, slot: int) -> z.SortName:
    return "bool" if enc.sorts[slot] == "bool" else "int"
