"""PDR: an inductive invariant that proves a safety property, re-checked, as a certificate.

Two backends find the invariant:

- ``ic3`` (the default): this package's own IC3 over Z3's finite-domain solver
  (``ic3.py``); its lemmas are clauses over ``variable = value`` literals, so the
  certificate reads in the model's own names and labels;
- ``spacer`` (engine ``pdr-spacer``): Z3's Spacer on constrained Horn clauses over one
  predicate ``Inv``::

      Inv(x)  <- Init(x)
      Inv(x') <- Inv(x) ∧ T(x, a, x')
      Bad     <- Inv(x) ∧ (bad(x) ∨ error(x))     (a step invariant: ∧ T ∧ bad(x, x'))

  whose solution for ``Inv`` is read back from Z3 terms into the model's IR. On the
  textbook models it is much slower than ``ic3`` (seconds where ic3 needs a tenth),
  so it is kept as a second opinion, not the default.

IC3 starts from a seed (``_seed``): the model's Houdini invariant (pairwise facts
and affine relations guessed from sampled reachable states, pruned to an inductive
set, ``houdini.py`` and ``affine.py``) and the
lemmas of the certificates already proved, and re-checked, for other properties of
the same system in the same ``Checker`` call (kept in ``enc.learned``), so proving
S1..S6 in one ``check_many`` shares the work. The seed's lemmas join the certificate,
which is re-checked as a whole; trimming leaves them be. Before any of that, an
invariant already proved for another property in the same call is re-checked for this
one (``_reuse``): where it rules out this property's bad states too, it is the proof,
at the cost of one query.

Either way the invariant is trimmed (lemmas that only restate variable domains go,
then lemmas the rest does not need, within a query budget) and re-checked independently
by ``certificate.recheck`` (initiation by the explicit evaluator, consecution and
strength over our own translation of the IR) before "proved" is reported. An
invariant that fails the re-check gives "unknown", never "proved".

A reachable bad state gives a shortest counterexample, replayed like every other
(``_counterexample``). The first choice is IC3's own path along its proof obligations,
when it is provably shortest. Next comes a depth-bounded bfs-vec search up to that path's
length, then BMC. If neither finishes in time, IC3's path is reported and marked as not
necessarily shortest. Liveness is unsupported here.
"""

from __future__ import annotations

from mhpcheck.model.compile import compile_system
from mhpcheck.model.errors import InternalError, ModelError
from mhpcheck.model.expr import TRUE, Expr
from mhpcheck.model.system import Invariant, Property, TransitionSystem
from mhpcheck.model.trace import Trace

from ..result import Budget, CheckResult, Progress, ProgressFn, Verdict
from . import houdini
from . import z3api as z
from .certificate import Unreadable, conjoin, failing_init, from_solver, lemmas, recheck, render
from .common import (
    Clock,
    Goal,
    classify,
    found_verdict,
    make_goal,
    result,
    safe_verdict,
)
from .encode import Encoding
from .ic3 import IC3, Cube, Guess, Outcome, invariant_expr
from .learned import Learned

ENGINE = "pdr"

#: Queries a proof's certificate may be trimmed with: this share of the queries IC3 made,
#: within these bounds. Like every budget here it counts queries or states, not
#: seconds, so that the same system and property give the same certificate on every
#: run; only the run's own timeout may stop it, with "unknown".
TRIM_SHARE = 0.05
TRIM_MIN_QUERIES = 200
TRIM_MAX_QUERIES = 2000
#: Seed IC3 with the model's Houdini invariant (houdini.py).
HOUDINI = True
#: Seed IC3 also with the lemmas of certificates already proved on the same system.
SHARE_PROVED = True
#: Prove Houdini's dropped affine relations with IC3 first (``_prove_guesses``), in at
#: most this many queries (hotplug 2x2x1 needs about 10,000; 2x3x1 needed 50,000).
GUESSES = True
GUESS_QUERIES = 100_000
#: States the bfs-vec runs that drop the false guesses may store (the first has no
#: depth bound; hotplug 2x2x1 has 1.2 million states).
REFUTE_STATES = 2_000_000
#: States the search for a shortest counterexample may store (``_counterexample``).
BFS_CAP = 20_000_000


@z.fresh_context
def check(ts: TransitionSystem, prop: Property, budget: Budget,
          progress: ProgressFn, backend: str = "ic3",
          learned: Learned | None = None) -> CheckResult:
    """Prove ``prop`` with an inductive invariant (``backend`` "ic3" or "spacer"),
    reusing what ``learned`` holds from the other properties of the same call."""
    clock = Clock(budget.timeout)
    enc = Encoding(ts, learned)
    goal = make_goal(enc, prop)
    if backend == "spacer":
        return _spacer(enc, goal, budget, progress, clock)
    if SHARE_PROVED and (shared := _reuse(enc, goal, clock)) is not None:
        return shared
    seed, relations, hints, guessed = _seed(enc, clock)
    now, nxt = enc.translator(enc.x), enc.translator(enc.xn)
    facts = [z.and_([now.defined(r), now.pred(r)]) for r in relations]
    guesses = [Guess(z.and_([now.defined(e), now.pred(e)]),
                     z.and_([nxt.defined(e), nxt.pred(e)]),
                     failing_init(ts, e) is None) for e in guessed]
    outcome = IC3(enc, goal, clock, progress, seed, hints, facts, guesses).run()
    if outcome.status == "violated":
        return _counterexample(ts, goal, budget, progress, clock, outcome.depth,
                               _from_obligations(ts, goal, outcome), outcome.frames)
    if outcome.status == "unknown":
        return result(prop, ENGINE, Verdict.UNKNOWN, clock, outcome.frames,
                      bound="time" if "time" in outcome.message or "cancel" in
                      outcome.message else "solver",
                      message=f"ic3 stopped at frame {outcome.frames}: {outcome.message}")
    # the seed's lemmas first: trimming leaves them be (they are cheap facts about the
    # model, and trying to drop each would cost a query apiece)
    seeded = set(seed)
    fixed = [c for c in outcome.cubes if c in seeded]
    own = [c for c in outcome.cubes if c not in seeded]
    invariant = conjoin([*relations, *lemmas(invariant_expr(enc, tuple(fixed))),
                         *(guessed[g] for g in outcome.guesses),
                         *lemmas(invariant_expr(enc, tuple(own)))])
    how = f"ic3, {outcome.frames} frames, {outcome.queries} queries"
    if seed or relations:
        how += f", seeded with {len(seed) + len(relations)} lemmas"
        if relations:
            how += f" ({len(relations)} affine)"
    proved = _proved(enc, goal, invariant, clock, outcome.frames, how,
                     fixed=len(relations) + len(fixed), queries=outcome.queries)
    _remember(enc, proved, {*fixed, *own}, set(relations))
    return proved


def _reuse(enc: Encoding, goal: Goal, clock: Clock) -> CheckResult | None:
    """The proof by the invariant of a property already proved on the same system, when
    it is strong enough for this one too (S1..S6 share most of one): re-checked for
    this property like any certificate, at the cost of one strength query, as its
    consecution was checked already. None if no such invariant rules out the bad
    states."""
    ts, prop = enc.ts, goal.prop
    for name, invariant, depth, how in enc.learned.invariants:
        checked = recheck(enc, goal, invariant, clock)
        if checked.ok:
            return _report(ts, prop, goal, invariant, clock, depth,
                           f"{how}; found for {name}, re-checked for {prop.name}")
    return None


def _seed(enc: Encoding, clock: Clock
          ) -> tuple[list[Cube], list[Expr], list[Cube], list[Expr]]:
    """Lemmas every frame may assume: the model's Houdini invariant (cubes and affine
    relations), and the lemmas of the invariants already proved (and re-checked) for
    other properties of the same system object. Each is an inductive invariant by
    itself (a re-checked certificate rules out the error states, from which alone a
    transition may leave it), so their conjunction holds in every reachable state. Also
    Houdini's dropped candidates, as hints and guesses (see ``IC3``)."""
    found = houdini.invariant(enc, clock) if HOUDINI else houdini.Found()
    seed: list[Cube] = list(found.cubes)
    relations = list(found.relations)
    guesses = list(found.guesses)
    if guesses and GUESSES:
        more, support = _prove_guesses(enc, clock, seed, relations, list(found.hints),
                                       guesses)
        relations += more
        seed += [c for c in support if c not in set(seed)]
        guesses = [e for e in guesses if e not in more]
    if SHARE_PROVED:
        have = set(seed)
        seed += [c for c in enc.learned.proved_lemmas if c not in have]
        relations += [e for e in enc.learned.proved_relations if e not in relations]
        guesses = [e for e in guesses if e not in relations]
    return seed, relations, list(found.hints), guesses


def _prove_guesses(enc: Encoding, clock: Clock, seed: list[Cube], relations: list[Expr],
                   hints: list[Cube], guesses: list[Expr]) -> tuple[list[Expr], list[Cube]]:
    """The guesses (affine relations Houdini could not keep on its own) proved by IC3 as
    one invariant (each may need the others), with the cubes that support them; ([], [])
    if that fails. A short bfs-vec run first drops the guesses it finds false; another,
    to the depth IC3 reached, does the same each time IC3 finds the conjunction broken.
    Kept in ``enc.learned``, unless it ran out of time. Nothing is trusted yet: whatever a
    proof assumes joins its certificate, which is re-checked as a whole."""
    if enc.learned.guesses is not None:
        return enc.learned.guesses
    now = enc.translator(enc.x)
    facts = [z.and_([now.defined(r), now.pred(r)]) for r in relations]
    out: tuple[list[Expr], list[Cube]] = ([], [])
    # false guesses are cheaper to find by search than by IC3 (which would first have
    # to fail to prove them): a short bfs-vec run drops those it reaches
    if REFUTE_STATES > 0:
        wrong = _refuted(enc.ts, guesses, None, clock)
        guesses = [g for g in guesses if g not in wrong]
    while guesses:
        target = Invariant("affine-relations", "the relations affine.py guessed", (),
                           conjoin(guesses))
        outcome = IC3(enc, make_goal(enc, target), clock, lambda _: None, seed, hints,
                      facts, max_queries=GUESS_QUERIES).run()
        if outcome.status == "unknown":
            if clock.expired():  # out of time: a later proof with more may retry
                return out
            break  # out of queries: so would a retry be
        if outcome.status == "proved":
            have = set(seed)
            out = (guesses, [c for c in outcome.cubes if c not in have])
            break
        wrong = _refuted(enc.ts, guesses, outcome.depth, clock)
        if not wrong:
            break
        guesses = [g for g in guesses if g not in wrong]
    enc.learned.guesses = out
    return out


def _refuted(ts: TransitionSystem, guesses: list[Expr], depth: int | None,
             clock: Clock) -> set[Expr]:
    """The guesses that some state within ``depth`` steps of an initial state breaks
    (IC3 found their conjunction broken that deep; None: as deep as REFUTE_STATES
    states allow), by the vectorised explicit BFS: cheaper than a BMC path for a big
    conjunction. Empty if none is found in time."""
    from ..explicit.vector import check_safety_vec
    props = [Invariant(f"guess-{i}", "a guessed relation", (), g)
             for i, g in enumerate(guesses)]
    try:
        found = check_safety_vec(ts, props, Budget(
            max_depth=None if depth is None else depth + 1, max_states=REFUTE_STATES,
            timeout=clock.left()))
    except ModelError:  # a model error shallower than the relations: nothing to learn
        return set()
    return {g for g, r in zip(guesses, found, strict=True) if r.verdict is Verdict.VIOLATED}


def _remember(enc: Encoding, proved: CheckResult, cubes: set[Cube],
              seeded: set[Expr]) -> None:
    """Keep the lemmas of a re-checked certificate for the next property's proof: its
    cubes, and its other lemmas (affine relations) that were not seeded already."""
    inv = proved.extra.get("invariant")
    if not SHARE_PROVED or not isinstance(inv, Expr) or not proved.verdict.conclusive:
        return
    by_expr = {invariant_expr(enc, (c,)): c for c in cubes}
    parts = lemmas(inv)
    store = enc.learned.proved_lemmas
    have = set(store)
    store.extend(c for x in parts if (c := by_expr.get(x)) is not None and c not in have)
    others = enc.learned.proved_relations
    others.extend(x for x in parts if x not in by_expr and x not in seeded
                  and x not in others)


def _proved(enc: Encoding, goal: Goal, invariant: Expr, clock: Clock, depth: int,
            how: str, fixed: int = 0, queries: int = 0) -> CheckResult:
    """The proof by ``invariant`` (found with ``queries`` queries), trimmed and
    re-checked; "unknown" if it fails the re-check."""
    ts, prop = enc.ts, goal.prop
    budget = min(TRIM_MAX_QUERIES, max(TRIM_MIN_QUERIES, int(TRIM_SHARE * queries)))
    invariant = trim(enc, goal, invariant, clock, budget, fixed)
    checked = recheck(enc, goal, invariant, clock)
    if not checked.ok:
        return result(prop, ENGINE, Verdict.UNKNOWN, clock, depth, bound="certificate",
                      message=f"the invariant found ({how}) fails the independent "
                      f"re-check: {checked.detail}; not reported as proved")
    if SHARE_PROVED:
        enc.learned.invariants.append((prop.name, invariant, depth, how))
    return _report(ts, prop, goal, invariant, clock, depth, how)


def _report(ts: TransitionSystem, prop: Property, goal: Goal, invariant: Expr,
            clock: Clock, depth: int, how: str) -> CheckResult:
    """The proof of ``prop`` by ``invariant`` (re-checked by the caller), with its
    certificate."""
    params = ", ".join(f"{k}={v}" for k, v in (*ts.params, *ts.knobs))
    title = (f"# inductive invariant for {prop.name} on {ts.name}({params})\n"
             "# re-checked: initiation (explicit), consecution and strength (z3)")
    n = len(lemmas(invariant))
    plural = "" if n == 1 else "s"
    return result(prop, ENGINE, safe_verdict(goal), clock, depth,
                  message=f"proved by an inductive invariant of {n} lemma{plural} ({how})",
                  certificate=render(ts, invariant, title),
                  extra={"invariant": invariant, "lemmas": n})


def _spacer(enc: Encoding, goal: Goal, budget: Budget, progress: ProgressFn,
            clock: Clock) -> CheckResult:
    ts, prop = enc.ts, goal.prop
    horn = z.Horn(clock.left())
    inv = horn.relation("Inv", enc.sorts)
    bad = horn.relation("Bad", [])
    horn.declare([*enc.x, *enc.xn, enc.a])
    horn.rule(inv(enc.x), [enc.init(enc.x)])
    horn.rule(inv(enc.xn), [inv(enc.x), enc.trans])
    if goal.step:
        horn.rule(bad([]), [inv(enc.x), enc.trans, z.or_([goal.bad, goal.perr])])
        horn.rule(bad([]), [inv(enc.x), enc.error])
    else:
        horn.rule(bad([]), [inv(enc.x), z.or_([goal.bad, goal.perr, enc.error])])
    progress(Progress(0, 0, 0, clock.elapsed, "pdr: spacer running"))
    answer = horn.query(bad)
    levels = horn.levels(inv)
    if answer == "sat":
        return _counterexample(ts, goal, budget, progress, clock, levels)
    if answer == "unknown":
        why = horn.reason_unknown()
        return result(prop, ENGINE, Verdict.UNKNOWN, clock, levels,
                      bound="time" if "timeout" in why or "canceled" in why else "solver",
                      message=f"spacer: {why}")
    raw = z.simplify(horn.interpretation(inv, enc.x))
    try:
        invariant = from_solver(enc, raw)
    except Unreadable as err:
        return result(prop, ENGINE, Verdict.UNKNOWN, clock, levels, bound="certificate",
                      message=f"spacer proved {prop.name}, but its invariant cannot be read "
                      f"back ({err}); not reported as proved")
    return _proved(enc, goal, invariant, clock, levels, f"spacer, {levels} levels")


def trim(enc: Encoding, goal: Goal, inv: Expr, clock: Clock, queries: int,
         fixed: int = 0) -> Expr:
    """``inv`` without lemmas implied by the domains, then without lemmas not needed
    (the first ``fixed`` lemmas are kept as they are), in at most ``queries`` queries:
    the lemmas not tried by then stay. Under a timeout, trimming also stops while half
    the time left at its start remains, for the re-check (a trimmed certificate is a
    nicety, a re-checked one is the proof); only then may the result depend on the
    machine's speed.

    Each lemma is translated once, for the pre- and the post-state, behind a selector
    literal; a candidate subset is then one query for strength and one for consecution.
    """
    parts = lemmas(inv)
    if not parts:
        return inv
    now_tr, nxt_tr = enc.translator(enc.x), enc.translator(enc.xn)
    now = [z.and_([now_tr.defined(x), now_tr.pred(x)]) for x in parts]
    nxt = [z.and_([nxt_tr.defined(x), nxt_tr.pred(x)]) for x in parts]
    s = z.Solver()
    s.add(enc.domain(enc.x))
    left = clock.left()
    reserve = None if left is None else left / 2

    def late() -> bool:
        now = clock.left()
        return reserve is not None and now is not None and now <= reserve

    kept = list(range(min(fixed, len(parts))))
    for i in range(len(kept), len(parts)):
        if s.checks >= queries or late():
            kept.append(i)
            continue
        s.push()
        s.add(z.not_(now[i]))
        if s.check(timeout=clock.left()) != "unsat":
            kept.append(i)
        s.pop()
    if not kept:
        return TRUE
    sel = [z.bool_var(f"trim:{i}") for i in range(len(parts))]
    for i in kept:
        s.add(z.implies(sel[i], now[i]))
    if goal.step:
        bad = z.or_([enc.error, z.and_([enc.trans, z.or_([goal.bad, goal.perr])])])
    else:
        bad = z.or_([goal.bad, goal.perr, enc.error])
    trans = z.and_([z.not_(enc.error), enc.trans])

    def enough(subset: list[int]) -> bool:
        assume = [sel[i] for i in subset]
        s.push()
        s.add(bad)
        strong = s.check(assume, timeout=clock.left())
        s.pop()
        if strong != "unsat":
            return False
        s.push()
        s.add(trans)
        s.add(z.or_raw([z.not_(nxt[i]) for i in subset]))
        cons = s.check(assume, timeout=clock.left())
        s.pop()
        return cons == "unsat"

    j = len(kept) - 1
    while j >= fixed and len(kept) > 1 and s.checks + 2 <= queries and not late():
        candidate = kept[:j] + kept[j + 1:]
        if enough(candidate):
            kept = candidate
        j -= 1
    return conjoin([parts[i] for i in kept])


def _from_obligations(ts: TransitionSystem, goal: Goal, outcome: Outcome) -> Trace | None:
    """The path IC3's proof obligations lead along, run and judged by the explicit
    semantics; None if there is none, if it meets a model error on the way or at its
    end, or if it does not end at a violation (or witness) at all. The search for a
    shortest trace then runs and reports what BFS would.

    IC3's path is a guide, not a proof: each obligation is a lifted cube, whose every
    state reaches the bad states in some way, so the state the path meets there may be
    an error state rather than the start of the bad step IC3 recorded (or an action
    recorded for a bad step may not be enabled in it). Only the explicit run says which
    it is, so every state before the last is expanded like BFS would (a model error
    there comes first), and ``classify`` judges the end; its InternalError (nothing bad
    where IC3 expected something) means only that this path is no trace."""
    if outcome.start is None:
        return None
    compiled = compile_system(ts)
    states = [outcome.start]
    try:
        for k in outcome.actions:
            compiled.successors(states[-1])  # raises where BFS would report a model error
            nxt = compiled.apply[k](states[-1])
            if nxt is None:  # not enabled here: the path leaves the explicit semantics
                return None
            states.append(nxt)
        return classify(ts, compiled, goal, states, list(outcome.actions), expanding=True)
    except (ModelError, InternalError):
        return None


def _counterexample(ts: TransitionSystem, goal: Goal, budget: Budget,
                    progress: ProgressFn, clock: Clock, depth: int,
                    path: Trace | None = None, frames: int = 0) -> CheckResult:
    """A shortest path to the bad states found reachable (within ``depth`` steps).

    ``path`` is IC3's own (from its proof obligations), and none is shorter than
    ``frames`` steps. It is the answer when it is that short. Otherwise a
    depth-bounded bfs-vec search, up to BFS_CAP states and half the time left, finds a
    shortest one. Failing that BMC does, and failing that too in time ``path`` is
    reported as it is, not necessarily shortest."""
    from ..explicit.vector import check_safety_vec
    from . import bmc
    prop, verdict = goal.prop, found_verdict(goal)
    if path is not None:
        steps = len(path.steps) - 1
        if steps <= frames:
            return result(prop, ENGINE, verdict, clock, steps, path,
                          message=f"{verdict.value}; shortest trace from IC3's proof "
                          f"obligations (no trace is shorter than {frames} steps)")
        left = clock.left()
        # steps + 1: deadlocks count only in states the bound expands
        found = check_safety_vec(ts, [prop], Budget(
            max_depth=steps + 1, max_states=BFS_CAP,
            timeout=None if left is None else left / 2))[0]
        if found.trace is not None:
            return result(prop, ENGINE, found.verdict, clock, len(found.trace.steps) - 1,
                          found.trace, message=f"{found.verdict.value}; shortest trace by "
                          f"bfs-vec (IC3's own has {steps} steps)")
    left = clock.left()
    # depth + 1: deadlocks and model errors count only in states the bound expands
    found = bmc.check(ts, prop, Budget(max_depth=depth + 1, timeout=left), progress)
    if found.trace is not None:
        return result(prop, ENGINE, found.verdict, clock, found.stats.depth, found.trace,
                      message=f"{found.verdict.value}; shortest trace by BMC "
                      f"({found.message})")
    if path is not None:
        return result(prop, ENGINE, verdict, clock, len(path.steps) - 1, path,
                      message=f"{verdict.value}; trace from IC3's proof obligations, not "
                      "necessarily shortest (bfs-vec and BMC found none in time)")
    return result(prop, ENGINE, Verdict.UNKNOWN, clock, depth, bound="time",
                  message="pdr found the property violated, but BMC found no "
                  f"trace in the time left ({found.message})")
