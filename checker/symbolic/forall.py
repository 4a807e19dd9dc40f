"""The forall engine: an invariant proved for every size, as quantified formulas.

1. The parametric build of the model (``Model.build_parametric``) is encoded with
   index sets as uninterpreted sorts (``pencode``).
2. Candidates: the property, the model's other invariants, its ``@hint``s, and the
   clauses true in every reachable state of the smallest finite instances (``infer``).
3. Houdini in the parametric encoding: drop every candidate that some initial state
   breaks, then, until nothing changes, every candidate that some transition from a
   state satisfying all the others breaks (each failure's model is used to drop every
   candidate it breaks at once).
4. If the property survives, the invariant is shortened to the candidates the proof
   needs (unsat cores, from the property backwards) and re-proved; it is printed as
   quantified formulas in the model's names and, instantiated at the checked size,
   handed to the Checker's finite certificate re-check.
5. Otherwise: a counterexample to induction of the strongest invariant found, as two
   states of the checked instance (replayed by the Checker), or unknown with the reason.

Before step 2, bfs runs on the sampled instances and on the model's
``sample_variants`` (other instances the claim covers, such as the hotplug model's
other populations). Where the property fails on one, no proof for every size can
exist: the answer is unknown, naming those instances, with bfs's counterexample at the
first (a reachable trace of that instance, replayed there by the Checker). The search
runs even where the model has no parametric build with the checked knobs, since its
answer does not depend on one.
"""

from __future__ import annotations

import itertools
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import z3  # type: ignore[import-untyped]

from mhpcheck.model.domains import BoolDomain, EnumDomain
from mhpcheck.model.errors import MhpError, ResourceLimit
from mhpcheck.model.expr import (
    And,
    Arith,
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
from mhpcheck.model.parametric import ParametricSystem, Quantified
from mhpcheck.model.quantify import AttrFn, IndexFn, IndexVar, Quant, instantiate
from mhpcheck.model.system import Invariant, Property, TransitionSystem
from mhpcheck.model.trace import Step, Trace

from ..explicit.bfs import Exploration, explore, result_of
from ..result import Budget, CheckResult, ProgressFn, Verdict
from . import z3api as z
from .certificate import Inductiveness
from .common import Clock, make_goal, result
from .encode import Encoding
from .fprune import prune
from .infer import Focus, Sample, candidates
from .pencode import PEncoding

ENGINE = "forall"
#: states kept from the BFS of each sampled instance
SAMPLE_STATES = 20_000
#: sampled sizes per size parameter: its least value and the next ones
SAMPLE_SPAN = 3
#: the instances named where bfs found the property violated (the rest are counted)
VIOLATIONS_SHOWN = 3
#: the most lemmas the certificate is shortened one by one (each try re-proves the rest)
GREEDY_MAX = 24
#: Z3's resource limit (its own count of work, about 2 s here) for one candidate's query;
#: a candidate whose query runs out is dropped. Work, not seconds, so that a busy machine
#: gives the same proof (docs/design.md); only the run's --timeout is in seconds.
QUERY_LIMIT = 5_000_000
#: the same for an inferred candidate asked alone (99 % of the hotplug model's
#: consecution queries that finish take under 190,000; one that runs out is dropped,
#: and inference offers many more)
INFERRED_LIMIT = 300_000
#: the same for the query of all candidates at once (where it runs out, each is asked)
JOINT_LIMIT = 1_000_000


@dataclass(eq=False)
class Cand:
    """One candidate invariant: where it came from and its formulas in both frames."""

    name: str
    expr: Expr
    now: Any = None
    nxt: Any = None
    guard: Any = None  # the assumption literal that asserts ``now``
    #: the candidates its consecution needed at the finite sizes (unsat cores): what a
    #: query the solver gives up on is asked again under, before it is dropped
    relevant: frozenset[int] = frozenset()
    #: the state variables it reads
    reads: frozenset[str] = frozenset()
    #: whether inference offered it (rather than the property, the model's invariants
    #: or its hints): such a candidate gets the smaller work limit and is not assumed
    #: in the first retry tier
    inferred: bool = False


def _unknown(prop: Property, clock: Clock, why: str, bound: str | None = None,
             trace: Trace | None = None, extra: dict[str, object] | None = None) -> CheckResult:
    return result(prop, ENGINE, Verdict.UNKNOWN, clock, len(trace.steps) - 1 if trace else 0,
                  trace,
                  bound=bound, message=why, extra=extra)


@z.fresh_context
def check(ts: TransitionSystem, prop: Property, budget: Budget,
          progress: ProgressFn) -> CheckResult:
    clock = Clock(budget.timeout)
    q = ts.quantified
    if not isinstance(q, Quantified):
        return _unknown(prop, clock, f"model {ts.name} is not built from a Model class, so it "
                        "has no parametric build")
    if not isinstance(prop, Invariant):
        return _unknown(prop, clock, "the forall engine proves invariants only")
    try:
        ps = q.parametric()
    except MhpError as err:
        return _unbuilt(ts, q, prop, clock, f"no parametric build: {err}")
    target = ps.invariant(prop.name)
    if target is None:
        return _unknown(prop, clock, f"{prop.name} is not an invariant of the parametric build")
    try:
        enc = PEncoding(ps)
        return Prover(ts, q, ps, enc, target, clock, progress).run(prop)
    except _OutOfTime:
        return _unknown(prop, clock, "the timeout ran out", "time")
    except MhpError as err:
        if isinstance(err, ResourceLimit):
            raise
        return _unknown(prop, clock, f"cannot encode the parametric build: {err}")
    except z3.Z3Exception as err:
        return _unknown(prop, clock, f"solver error: {err}")


def _check(s: Any, literals: Sequence[Any]) -> Any:
    """``s.check(*literals)`` without z3py's per-literal cast (a query here has a literal
    per candidate, hundreds, and the cast cost more than many of the queries)."""
    arr = (z3.Ast * len(literals))(*[lit.as_ast() for lit in literals])
    return z3.CheckSatResult(z3.Z3_solver_check_assumptions(
        s.ctx.ref(), s.solver, len(literals), arr))


class _OutOfTime(Exception):
    """The run's timeout passed during a query."""


class Steps:
    """Consecution in the parametric encoding, one solver per action: each holds the
    action's step, every candidate guarded by its literal (``c.guard`` asserts it now),
    a probe per candidate (it fails after the step) and a probe per integer variable
    (it leaves its range after the step)."""

    def __init__(self, prover: Prover, cands: list[Cand]) -> None:
        self.prover = prover
        enc = prover.enc
        self.solvers: list[Any] = []
        self.probes = {id(c): z3.Bool(f"probe#{k}", enc.ctx) for k, c in enumerate(cands)}
        self.domain_probes = [(name, z3.Bool(f"domain#{name}", enc.ctx))
                              for name, _ in enc.domain(enc.xn)]
        self.by_guard = {str(c.guard): c for c in cands}
        self.why_target = ""
        self.rounds = 0
        # what each action may change: what it assigns and the untracked counts (any
        # value after every step); a candidate that reads none of it is kept by the step
        havoc = {v.name for v in prover.ps.variables if v.untracked}
        self.writes = [frozenset({u.name for u in act.updates} | havoc)
                       for act in prover.ps.actions]
        self.probe_reads = {str(self.probes[id(c)]): c.reads for c in cands}
        self.probe_reads.update({str(p): frozenset({name}) for name, p in self.domain_probes})
        for k, act in enumerate(prover.ps.actions):
            s = prover.solver()
            for _, d in enc.domain(enc.x):
                s.add(d)
            s.add(enc.step(act, enc.params(act, k), k))
            for c in cands:
                s.add(z3.Implies(c.guard, c.now))
                s.add(z3.Implies(self.probes[id(c)], z3.Not(c.nxt)))
            for (_, probe), (_, d) in zip(self.domain_probes, enc.domain(enc.xn), strict=True):
                s.add(z3.Implies(probe, z3.Not(d)))
            self.solvers.append(s)

    def ask(self, k: int, alive: list[Cand], extra: list[Any],
            limit: int | None = None) -> str:
        """Action ``k`` from a state satisfying ``alive``, under the literals ``extra``."""
        return self.prover.ask(self.solvers[k], [c.guard for c in alive] + extra, limit)

    def moves(self, k: int, c: Cand) -> bool:
        """Whether action ``k`` writes a variable candidate ``c`` reads (if not, the
        step keeps ``c`` and its query is not asked)."""
        return not c.reads.isdisjoint(self.writes[k])

    def broken(self, k: int, alive: list[Cand]) -> list[Cand]:
        """Candidates a step of action ``k`` breaks from a state satisfying all of
        ``alive`` (empty: none)."""
        s = self.solvers[k]
        moved = [c for c in alive if self.moves(k, c)]
        if not moved:
            return []
        self.rounds += 1
        some = z3.Bool(f"some#{k}.{self.rounds}", self.prover.enc.ctx)
        s.add(z3.Implies(some, z3.Or([self.probes[id(c)] for c in moved])))
        r = self.ask(k, alive, [some], JOINT_LIMIT)
        if r == "unsat":
            return []
        if r == "sat":
            m = s.model()
            named = [c for c in moved if z3.is_true(m.eval(self.probes[id(c)],
                                                           model_completion=True))
                     or z3.is_false(m.eval(c.nxt, model_completion=True))]
            if named:
                return named
        # the joint query gave up (or its model named no candidate): one at a time, each
        # under the candidates not yet found broken, every model dropping all it breaks
        out: list[Cand] = []
        for c in moved:
            if c in out:
                continue
            rest = [d for d in alive if d not in out]
            r = self.ask(k, rest, [self.probes[id(c)]], self.limit(c))
            if r == "unsat" or (r == "unknown" and self.relevant_proves(k, c, rest)):
                continue
            if r == "sat":
                m = s.model()
                out += [d for d in rest if d is c or (self.moves(k, d) and z3.is_false(
                    m.eval(d.nxt, model_completion=True)))]
                continue
            if c.name == self.prover.target.name:
                self.why_target = (f"consecution of {c.name} under "
                                   f"{self.prover.ps.actions[k].label}: solver {r} "
                                   f"({s.reason_unknown()})")
            self.prover.gave_up += 1
            out.append(c)
        return out

    def relevant_proves(self, k: int, c: Cand, alive: list[Cand]) -> bool:
        """Whether action ``k`` keeps ``c`` under fewer assumptions: first the model's
        own invariants and hints, then the candidates ``c``'s finite proof used. An
        "unsat" under fewer holds under all of ``alive`` too; a query over fewer
        quantified formulas is often one the solver finishes."""
        tiers = [[d for d in alive if not d.inferred or d is c],
                 [d for d in alive if id(d) in c.relevant or d is c]]
        return any(len(few) < len(alive) and self.ask(
            k, few, [self.probes[id(c)]], self.limit(c)) == "unsat" for few in tiers)

    @staticmethod
    def limit(c: Cand) -> int:
        """The work limit for candidate ``c``'s query alone."""
        return INFERRED_LIMIT if c.inferred else QUERY_LIMIT

    def kept_by(self, k: int, probe: Any) -> bool:
        """Whether action ``k`` writes nothing the candidate or range of ``probe`` reads."""
        return self.probe_reads[str(probe)].isdisjoint(self.writes[k])

    def core(self, alive: list[Cand], probe: Any) -> list[Cand] | None:
        """The candidates some unsat core of ``probe`` uses, over every action (None:
        some action does not prove it)."""
        out: list[Cand] = []
        for k, s in enumerate(self.solvers):
            if self.kept_by(k, probe):
                continue
            if self.ask(k, alive, [probe]) != "unsat":
                return None
            for lit in s.unsat_core():
                d = self.by_guard.get(str(lit))
                if d is not None and d not in out:
                    out.append(d)
        return out


def _unbuilt(ts: TransitionSystem, q: Quantified, prop: Property, clock: Clock,
             why: str) -> CheckResult:
    """Unknown for a model with no parametric build in this configuration, after bfs on
    the instances a proof would cover: a violation there still shows that no proof for
    every size can exist. A model without size parameters has no other instance."""
    if not q.model.sizes:
        return _unknown(prop, clock, why)
    sampler = Sampler(ts, q, prop.name, clock)
    sampler.search_all()
    if sampler.violated:
        return sampler.refutation(prop, why)
    n = sampler.searched
    return _unknown(prop, clock, f"{why}; bfs finds no violation at the {n} sampled "
                    f"instance{'s' if n != 1 else ''} a proof would cover")


class Sampler:
    """bfs on small instances a claim for every size covers (the sampled sizes and the
    model's ``sample_variants``), noting each where property ``name`` fails: there no
    proof for every size can exist."""

    def __init__(self, ts: TransitionSystem, q: Quantified, name: str, clock: Clock) -> None:
        self.ts, self.q, self.name, self.clock = ts, q, name, clock
        self.violated: list[Miss] = []  # sampled instances where bfs found a violation
        self.example: Trace | None = None  # bfs's counterexample at the first of them
        self.searched = 0
        self.searched_checked = False  # whether the checked instance was among them

    def search_all(self) -> list[Sample]:
        """bfs on the sampled sizes, then on the variants; the samples inference reads."""
        samples = self.sizes()
        self.variants()
        return samples

    def sizes(self) -> list[Sample]:
        """bfs on the sampled sizes (the model's ``sample_sizes``), whose reachable
        states inference reads."""
        base = self.q.smallest()
        names = sorted(base)
        out: list[Sample] = []
        spans = [range(base[n], base[n] + SAMPLE_SPAN) for n in names]
        chosen = self.q.model.sample_sizes()
        combos = (itertools.product(*spans) if chosen is None
                  else [tuple(c[n] for n in names) for c in chosen])
        for combo in combos:
            if self.clock.expired():
                break
            sizes = dict(zip(names, combo, strict=True))
            small = self.q.resized(sizes)
            if small is None or not isinstance(small.quantified, Quantified):
                continue
            exp = self.search(small)
            out.append(Sample(small, small.quantified.instance, exp.states))
        return out

    def variants(self) -> None:
        """bfs on the model's other builds that the claim covers (``sample_variants``,
        such as other populations), noting each where the property fails."""
        for sizes, knobs in self.q.model.sample_variants():
            if self.clock.expired():
                break
            small = self.q.variant(sizes, knobs)
            if small is not None:
                self.search(small)

    def search(self, small: TransitionSystem) -> Exploration:
        """bfs on instance ``small`` (at most ``SAMPLE_STATES`` states), noting it where
        the property fails there."""
        self.searched += 1
        if (small.params, small.knobs) == (self.ts.params, self.ts.knobs):
            self.searched_checked = True
        prop = small.property(self.name)
        exp = explore(small, (prop,),
                      Budget(max_states=SAMPLE_STATES, timeout=self.clock.left()))
        if prop.name in exp.found:
            self.missed(small, exp, prop)
        return exp

    def missed(self, small: TransitionSystem, exp: Exploration, prop: Property) -> None:
        """Note instance ``small``, where bfs found ``prop`` violated, and keep bfs's trace
        at the first such instance."""
        own_params, own_knobs = dict(self.ts.params), dict(self.ts.knobs)
        params = [(k, v) for k, v in small.params if own_params.get(k) != v]
        knobs = [(k, v) for k, v in small.knobs if own_knobs.get(k) != v]
        miss = Miss(_sizes(small, self.q), tuple(f"{k}={v}" for k, v in knobs),
                    " ".join([*(f"--param {k}={v}" for k, v in params),
                              *(f"--set {shlex.quote(f'{k}={v}')}" for k, v in knobs)]))
        self.violated.append(miss)
        if self.example is None:
            trace = result_of(exp, prop).trace
            assert trace is not None
            self.example = trace.with_note(
                f"bfs's counterexample at {miss.label}, an instance a proof for every size "
                "would cover (forall engine)")

    def refutation(self, prop: Property, notes: str) -> CheckResult:
        """Unknown, bound ``sampled``: the instances where bfs found ``prop`` violated,
        with bfs's counterexample at the first."""
        misses = self.violated
        sizes = {m.sizes for m in misses}
        common = len(sizes) == 1 and all(m.knobs for m in misses)
        labels = [", ".join(m.knobs) if common else m.label for m in misses]
        more = len(labels) - VIOLATIONS_SHOWN
        joined = (", " if common else "; ").join(labels[:VIOLATIONS_SHOWN])
        listing = (f"{misses[0].sizes} with " if common else "") + joined + (
            f" and {more} more" if more > 0 else "")
        n = len(misses)
        again = f"with {misses[0].options} and -e bfs" if misses[0].options else "with -e bfs"
        searched = ("The checked instance is one of the sampled ones" if self.searched_checked
                    else "The checked instance itself was not searched (-e bfs decides it)")
        text = (f"{prop.name} cannot be proved for every size: bfs finds it violated at {n} "
                f"sampled instance{'s' if n > 1 else ''}, {listing}. The trace is bfs's "
                f"counterexample at the first; to see it again, run this command {again}. "
                f"{searched}")
        message = f"{text}; {notes}" if notes else text
        return _unknown(prop, self.clock, message, "sampled", self.example)


class Prover:
    """One proof attempt of one property."""

    def __init__(self, ts: TransitionSystem, q: Quantified, ps: ParametricSystem,
                 enc: PEncoding, target: Invariant, clock: Clock,
                 progress: ProgressFn) -> None:
        self.ts, self.q, self.ps, self.enc = ts, q, ps, enc
        self.target, self.clock, self.progress = target, clock, progress
        self.queries = 0
        self.notes: list[str] = []
        self.small: list[TransitionSystem] = []
        self.sampler = Sampler(ts, q, target.name, clock)
        self.gave_up = 0  # candidates dropped because the solver gave up on them
        self.dropped_hints: dict[str, str] = {}  # hint -> the action that broke it

    # -- candidates -----------------------------------------------------------------
    def candidates(self, samples: list[Sample]) -> list[Cand]:
        out = [Cand(self.target.name, self.target.expr)]
        out += [Cand(p.name, p.expr) for p in self.ps.invariants if p.name != self.target.name]
        out += [Cand(f"hint {name}", e) for name, e in self.ps.hints]
        base = self.q.smallest()
        chosen = self.q.model.check_sizes()
        larger = ([{n: v + extra for n, v in base.items()}
                   for extra in range(SAMPLE_SPAN, SAMPLE_SPAN + 2)]
                  if chosen is None else chosen)
        for sizes in larger:
            bigger = self.q.resized(sizes)
            if bigger is not None:
                self.small.append(bigger)
        self.notes.append(f"{sum(len(s.states) for s in samples)} states sampled at "
                          + ", ".join(_sizes(s.ts, self.q) for s in samples))
        inferred = candidates(self.ps, samples, focus=Focus.of(self.target.expr, samples))
        out += [Cand(f"inferred {k + 1}", e, inferred=True) for k, e in enumerate(inferred)]
        seen: set[Expr] = set()
        unique = []
        for c in out:
            if c.expr not in seen:
                seen.add(c.expr)
                unique.append(c)
        return unique

    # -- solving ----------------------------------------------------------------------
    def solver(self) -> Any:
        s = z3.Solver(ctx=self.enc.ctx)
        s.set("ctrl_c", False)
        for ax in self.enc.axioms:
            s.add(ax)
        return s

    def ask(self, s: Any, assumptions: Sequence[Any], limit: int | None = None) -> str:
        """Satisfiability under ``assumptions``, within ``limit`` units of Z3's resource
        count (None: no limit) and the run's timeout."""
        left = self.clock.left()
        s.set("timeout", 4294967295 if left is None else max(1, int(left * 1000)))
        s.set("rlimit", 0 if limit is None else limit)
        self.queries += 1
        z.check_interrupt()
        r = _check(s, assumptions)
        z.check_interrupt()
        if r == z3.unknown and self.clock.expired():
            raise _OutOfTime
        return str(r)

    def run(self, prop: Property) -> CheckResult:
        enc = self.enc
        samples = self.sampler.search_all()
        if self.sampler.violated:  # no proof for every size can exist
            return self.fail(prop, "")
        cands = self.candidates(samples)
        for k, c in enumerate(cands):
            c.reads = frozenset(node.name for node in walk(c.expr) if isinstance(node, Var))
            c.now = enc.formula(c.expr, enc.x)
            c.nxt = enc.formula(c.expr, enc.xn)
            c.guard = z3.Bool(f"cand#{k}", enc.ctx)
        kept = list(range(len(cands)))
        needs: set[int] = set()
        for small in self.small:
            pruned = prune(small, [c.expr for c in cands], kept, self.clock, target=0)
            kept = pruned.keep
            if 0 not in kept:
                return self.fail(prop, f"{prop.name} is not inductive relative to the "
                                 f"candidate invariants at {_sizes(small, self.q)}")
            needs |= set(pruned.need)
            for k, core in pruned.cores.items():
                cands[k].relevant |= frozenset(id(cands[j]) for j in core)
        self.notes.append(f"{len(cands)} candidates, {len(kept)} inductive at "
                          + ", ".join(_sizes(t, self.q) for t in self.small)
                          + f", {len(needs)} needed there")
        why = ""
        # first the model's own invariants and hints (few and to the point), then what
        # the finite prune needed, then every candidate that survived it
        own = [k for k in kept if not cands[k].inferred
               or self.bounds_a_range(cands[k].expr)]
        stages = [own] if len(own) < len(needs) else []
        for stage in (*stages, sorted(needs | set(own)), kept):
            got = self.houdini([cands[k] for k in stage])
            if isinstance(got, str):
                why = got
                continue
            steps, alive = got
            if cands[0] in alive:
                return self.proved(prop, self.shorten(steps, alive))
            why = (f"{prop.name} is not inductive relative to the {len(alive)} candidate "
                   "invariants that are")
            if len(stage) == len(kept):
                break
        return self.fail(prop, why)

    def bounds_a_range(self, e: Expr) -> bool:
        """Whether candidate ``e`` reads only integer-range variables (a bound such as
        ``ref_owner[x] = 0 ∨ ref_owner[x] = 1``, which keeps updates in their range)."""
        names = {node.name for node in walk(e) if isinstance(node, Var)}
        return bool(names) and all(
            not isinstance(self.ps.var(n).domain, (BoolDomain, EnumDomain)) for n in names)

    def houdini(self, cands: list[Cand]) -> tuple[Steps, list[Cand]] | str:
        """The largest inductive subset of ``cands`` in the parametric encoding (with the
        per-action queries that showed it), or why there is none to report.

        Consecution is asked one action at a time, of all the candidates at once: "does
        a step of this action from a state satisfying them all break one?". A model
        drops every candidate it breaks; where the solver gives up on the joint query,
        each candidate is asked on its own, then under fewer assumptions, and dropped
        only if the solver gives up on those too (always sound)."""
        alive, why = self.initiation(cands)
        if why:
            return why
        steps = Steps(self, alive)
        changed = True
        while changed:
            changed = False
            for k in range(len(steps.solvers)):
                while self.target.name in {c.name for c in alive}:
                    if self.clock.expired():
                        return "time ran out in Houdini"
                    broken = steps.broken(k, alive)
                    if not broken:
                        break
                    changed = True
                    for d in broken:
                        alive.remove(d)
                        if d.name.startswith("hint "):
                            self.dropped_hints[d.name[5:]] = self.ps.actions[k].label
                if self.target.name not in {c.name for c in alive}:
                    self.hint_note()
                    return steps.why_target or (
                        f"{self.target.name} is not inductive relative to the candidate "
                        f"invariants that are ({self.ps.actions[k].label} breaks it)")
        for name, probe in steps.domain_probes:
            for k in range(len(steps.solvers)):
                if not steps.kept_by(k, probe) and steps.ask(k, alive, [probe]) != "unsat":
                    return (f"{self.ps.actions[k].label} may store a value outside the "
                            f"domain of {name} (or the solver gave up on it)")
        self.progress_note(len(alive))
        self.hint_note()
        return steps, alive

    def initiation(self, cands: list[Cand]) -> tuple[list[Cand], str]:
        """The candidates every initial state satisfies, or why the target is not one.

        Like consecution: "does some initial state break any of them?", each model
        dropping all it breaks; where the joint query gives up, one at a time."""
        enc = self.enc
        init = self.solver()
        init.add(enc.formula(self.ps.init, enc.x))
        alive = list(cands)
        answer = {id(c): "unsat" for c in cands}
        r = "unsat"
        while alive:
            r = self.ask(init, [z3.Not(z3.And([c.now for c in alive]))], QUERY_LIMIT)
            if r != "sat":
                break
            m = init.model()
            broken = [c for c in alive if z3.is_false(m.eval(c.now, model_completion=True))]
            if not broken:
                break
            answer.update({id(c): "sat" for c in broken})
            alive = [c for c in alive if c not in broken]
        if r != "unsat":  # one at a time
            answer.update({id(c): self.ask(init, [z3.Not(c.now)], Steps.limit(c))
                           for c in alive})
            alive = [c for c in alive if answer[id(c)] == "unsat"]
        target = next(c for c in cands if c.name == self.target.name)
        if answer[id(target)] == "sat":
            return [], "an initial state breaks it"
        if answer[id(target)] != "unsat":
            return [], f"initiation check: solver {answer[id(target)]}"
        return alive, ""

    def shorten(self, steps: Steps, alive: list[Cand]) -> list[Cand]:
        """The candidates the property's proof needs, by unsat cores from it backwards
        (what keeps every update in range included: the finite re-check asks that no
        step from the invariant raises a model error); the whole inductive set if the
        shortened one does not re-prove."""
        need = [next(c for c in alive if c.name == self.target.name)]
        todo: list[Cand] = list(need)

        def add_core(probe: Any) -> bool:
            got = steps.core(alive, probe)
            if got is None:
                return False
            for d in got:
                if d not in need:
                    need.append(d)
                    todo.append(d)
            return True
        for _, probe in steps.domain_probes:
            if not add_core(probe):
                return alive
        while todo:
            if not add_core(steps.probes[id(todo.pop())]):
                return alive

        def proves(kept: list[Cand], limit: int | None = None) -> bool:
            every = [p for _, p in steps.domain_probes] + [steps.probes[id(c)] for c in kept]
            return all(steps.kept_by(k, p) or steps.ask(k, kept, [p], limit) == "unsat"
                       for p in every for k in range(len(steps.solvers)))
        if not proves(need):
            return alive
        for c in list(need):
            if c.name == self.target.name or len(need) > GREEDY_MAX:
                continue
            rest = [d for d in need if d is not c]
            if proves(rest, QUERY_LIMIT):
                need = rest
        order = {id(c): k for k, c in enumerate(alive)}
        return sorted(need, key=lambda c: order[id(c)])

    def hint_note(self) -> None:
        """Which hand-written hints the proof dropped, and the step that broke each."""
        if self.dropped_hints:
            self.notes.append("hints dropped: " + ", ".join(
                f"{name} (broken by {act})" for name, act in sorted(self.dropped_hints.items())))
            self.dropped_hints = {}

    def progress_note(self, alive: int) -> None:
        gave_up = (f" ({self.gave_up} dropped because the solver reached "
                   "its work limit)" if self.gave_up else "")
        self.notes.append(f"{alive} candidates inductive after Houdini{gave_up}, "
                          f"{self.queries} queries")

    # -- answers ----------------------------------------------------------------------
    def epr(self, exprs: list[Expr]) -> str:
        notes = self.enc.epr_notes(exprs)
        return "EPR: yes" if not notes else "EPR: no, " + "; ".join(notes)

    def proved(self, prop: Property, need: list[Cand]) -> CheckResult:
        exprs = [c.expr for c in need]
        untracked = {v.name for v in self.ps.variables if v.untracked}
        epr = self.epr(exprs + [fact for _, fact, _ in self.ps.assumptions]
                       + [a.guard for a in self.ps.actions]
                       + [u.value for a in self.ps.actions for u in a.updates
                          if u.name not in untracked])
        shown = Shower(self.ps)
        lines = [f"{shown.expr(c.expr)}    [{c.name}]" for c in need]
        # the axioms assume each index set's declared least size, whatever the parameters
        sizes = ", ".join(f"{i.name}: {i.min_size} or more" if i.min_size > 1 else
                          f"{i.name}: any" for i in self.ps.indices)
        title = (f"# {prop.name} of {self.ts.name} proved for every size ({sizes or 'no sizes'})"
                 f" by the forall engine; {epr}\n# knobs: "
                 + ", ".join(f"{k}={v}" for k, v in self.ts.knobs))
        assumed = [f"# assuming {shown.expr(fact)}    [{name}: {doc}]" if doc else
                   f"# assuming {shown.expr(fact)}    [{name}]"
                   for name, fact, doc in self.ps.assumptions]
        certificate = "\n".join([title, *assumed, *lines])
        finite = instantiate(And(tuple(exprs)) if len(exprs) > 1 else exprs[0],
                             self.q.instance)
        counts = sorted(untracked)
        if counts:
            self.notes.append(f"counts not tracked (any value in every state, their ranges "
                              f"not checked by this proof): {', '.join(counts)}")
        under = ("" if not self.ps.assumptions else " under the model's assumption"
                 + ("s " if len(self.ps.assumptions) > 1 else " ")
                 + ", ".join(name for name, _, _ in self.ps.assumptions))
        message = (f"proved for every size{under}: an inductive invariant of {len(need)} "
                   f"quantified formula(s); {epr}; {'; '.join(self.notes)}")
        return result(prop, ENGINE, Verdict.PROVED, self.clock, 0, message=message,
                      certificate=certificate,
                      extra={"invariant": finite, "quantified": exprs, "epr": epr,
                             "lemmas": lines, "queries": self.queries,
                             "untracked": counts})

    def fail(self, prop: Property, why: str) -> CheckResult:
        """Unknown: with bfs's counterexample at a sampled instance where there is one,
        else with a counterexample to induction at the checked size where one is."""
        message = "; ".join(x for x in (why, *self.notes) if x)
        if self.sampler.violated:
            return self.sampler.refutation(prop, message)
        trace = self.cti(prop)
        if trace is not None:
            message += ("; a counterexample to induction of the property alone at the checked "
                        "size: its first state satisfies the property and need not be "
                        "reachable (bfs decides)")
        return _unknown(prop, self.clock, message, "cti" if trace else None, trace)

    def cti(self, prop: Property) -> Trace | None:
        """Two states of the checked instance: one that satisfies the property, a step
        that breaks it (not necessarily reachable)."""
        assert isinstance(prop, Invariant)
        try:
            fin = Encoding(self.ts)
            checker = Inductiveness(fin, make_goal(fin, prop))
            if checker.consecution(prop.expr, self.clock) != "sat" or checker.model is None:
                return None
            m = checker.model
            pre, post = fin.state(m, "x"), fin.state(m, "x'")
            inst = self.ts.actions[fin.action_taken(m, "x")]
        except MhpError:
            return None
        steps = (Step(None, (), pre), Step(inst.action, inst.args, post))
        return Trace(self.ts.name, self.ts.params, self.ts.knobs, prop.name, "cti", steps,
                     reachable=False, note="counterexample to induction (forall engine)")


@dataclass(frozen=True)
class Miss:
    """A sampled instance where bfs found the property violated: its sizes, the knobs
    it sets otherwise than the checked instance, and the options that reproduce it."""

    sizes: str
    knobs: tuple[str, ...]
    options: str

    @property
    def label(self) -> str:
        return " with ".join([self.sizes, ", ".join(self.knobs)]) if self.knobs else self.sizes


def _sizes(ts: TransitionSystem, q: Quantified) -> str:
    values = dict(ts.params)
    return "(" + ", ".join(f"{n}={values[n]}" for n in sorted(q.smallest())) + ")"


# -- printing ---------------------------------------------------------------------------------
_SYM = {"==": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}


class Shower:
    """Parametric formulas in the model's names: ``∀x∈phil. pc[x] = eating ⇒ fork[succ(x)]``."""

    def __init__(self, ps: ParametricSystem) -> None:
        self.ps = ps

    def expr(self, e: Expr) -> str:
        if isinstance(e, Quant):
            names = [f"{e.var.name}∈{e.var.over}"]
            body = e.body
            while isinstance(body, Quant) and body.kind == e.kind:
                names.append(f"{body.var.name}∈{body.var.over}")
                body = body.body
            return f"{'∀' if e.kind == 'forall' else '∃'}{', '.join(names)}. {self.expr(body)}"
        if isinstance(e, Or):
            neg = [a for a in e.args if isinstance(a, Not)]
            pos = [a for a in e.args if not isinstance(a, Not)]
            if neg and pos:
                lhs = " ∧ ".join(self.atom(a.arg) for a in neg if isinstance(a, Not))
                return f"{lhs} ⇒ {' ∨ '.join(self.atom(a) for a in pos)}"
            return " ∨ ".join(self.atom(a) for a in e.args)
        return self.atom(e)

    def atom(self, e: Expr) -> str:
        if isinstance(e, Not):
            inner = e.arg
            if isinstance(inner, Cmp) and inner.op == "==":
                return self.cmp(Cmp("!=", inner.lhs, inner.rhs))
            return f"¬({self.expr(inner)})" if not isinstance(inner, Var) else \
                f"¬{self.term(inner)}"
        if isinstance(e, Cmp):
            return self.cmp(e)
        if isinstance(e, And):
            return "(" + " ∧ ".join(self.atom(a) for a in e.args) + ")"
        if isinstance(e, Or):
            return "(" + " ∨ ".join(self.atom(a) for a in e.args) + ")"
        if isinstance(e, Implies):
            return f"({self.atom(e.lhs)} ⇒ {self.atom(e.rhs)})"
        if isinstance(e, Quant):
            return f"({self.expr(e)})"
        return self.term(e)

    def cmp(self, e: Cmp) -> str:
        lhs, rhs = e.lhs, e.rhs
        if isinstance(lhs, Var) and isinstance(lhs.domain, BoolDomain) and isinstance(rhs, Const):
            truth = bool(rhs.value) == (e.op == "==")
            return self.term(lhs) if truth else f"¬{self.term(lhs)}"
        if isinstance(lhs, (Cmp, Not)) or isinstance(rhs, (Cmp, Not)):
            # two conditions compared: an equivalence, each side in parentheses
            op = "⇔" if e.op == "==" else "⇎"
            sides = [self.atom(x) for x in (lhs, rhs)]
            a, b = (x if x.startswith("(") else f"({x})" for x in sides)
            return f"{a} {op} {b}"
        return f"{self.term(lhs)} {_SYM[e.op]} {self.term(rhs, lhs)}"

    def term(self, e: Expr, other: Expr | None = None) -> str:
        if isinstance(e, IndexVar):
            return e.name
        if isinstance(e, (IndexFn, AttrFn)):
            return f"{e.fn}({self.term(e.arg)})"
        if isinstance(e, Var):
            name = e.name + ("'" if e.primed else "")
            return name if e.index is None else f"{name}[{self.term(e.index)}]"
        if isinstance(e, Const):
            domain = getattr(other, "domain", None)
            if isinstance(domain, EnumDomain) and 0 <= e.value < len(domain.labels):
                return str(domain.labels[e.value])
            if isinstance(domain, BoolDomain):
                return str(bool(e.value)).lower()
            if isinstance(other, Var) and other.index is None and \
                    self.ps.var(other.name).element is not None and e.value == 0:
                return "first"
            return str(e.value)
        if isinstance(e, Arith):
            return f"({self.term(e.lhs)} {e.op} {self.term(e.rhs)})"
        if isinstance(e, Ite):
            return f"(if {self.atom(e.cond)} then {self.term(e.then)} else {self.term(e.orelse)})"
        return self.atom(e)
