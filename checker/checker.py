"""The one way into the engines: ``Checker(system)``, and ``check`` for one-off calls.

A ``Checker`` owns a built system and its compiled forms (pure caches, shared by all
its calls). Each call refuses an engine/property-kind pair the engine does not declare
(``Unsupported``, before anything runs), runs the engine with learned state scoped to
that call only, replays every trace and re-checks every certificate before anyone sees
the result. This module is the only one that maps engine names to implementations; the
symbolic engines are imported inside the functions that call them, so z3 loads only
when one runs.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from functools import cached_property

from mhpcheck.model.base import Model
from mhpcheck.model.compile import Compiled, compile_system
from mhpcheck.model.errors import (
    EXIT_INCONCLUSIVE,
    EXIT_OK,
    EXIT_VIOLATED,
    InternalError,
    ModelError,
    ReplayMismatch,
    Unsupported,
    UsageError,
)
from mhpcheck.model.expr import Expr
from mhpcheck.model.parametric import system_of
from mhpcheck.model.system import LeadsTo, Property, TransitionSystem
from mhpcheck.model.trace import Trace

from .engine import KINDS, LIVENESS, SAFETY, Engine, Options, Run
from .explicit.bfs import Exploration, explore, result_of
from .explicit.liveness import check_leads_to
from .explicit.simulate import check_by_simulation
from .explicit.vector import explore_vec, result_of_vec
from .explicit.vector_compile import BatchSystem, compile_batch, layout_of
from .replay import replay, unwitnessed
from .result import UNBOUNDED, Budget, CheckResult, ProgressFn, Stats, Verdict, no_progress
from .symbolic.learned import Learned

NO_OPTIONS: Mapping[str, frozenset[str]] = {}


class Bfs:
    """Explicit breadth-first search: safety properties share one exploration, liveness
    properties another that keeps the state graph."""

    name = "bfs"
    kinds = SAFETY | LIVENESS
    options: Mapping[str, frozenset[str]] = {"symmetry": SAFETY}
    batch = True

    def check(self, run: Run, props: Sequence[Property], budget: Budget,
              progress: ProgressFn) -> list[CheckResult]:
        out: dict[int, CheckResult] = {}
        safety = [(n, p) for n, p in enumerate(props) if not isinstance(p, LeadsTo)]
        live = [(n, p) for n, p in enumerate(props) if isinstance(p, LeadsTo)]
        if safety:
            exp = explore(run.ts, [p for _, p in safety], budget, progress, run.compiled,
                          symmetry=run.options.symmetry)
            out.update((n, result_of(exp, p)) for n, p in safety)
        if live:
            graph = explore(run.ts, (), budget, progress, run.compiled, keep_graph=True)
            for n, p in live:
                assert isinstance(p, LeadsTo)
                out[n] = check_leads_to(run.ts, p, budget, progress, graph)
        return [out[n] for n in range(len(props))]


class BfsVec:
    """The vectorised explicit search: safety properties a frontier at a time."""

    name = "bfs-vec"
    kinds = SAFETY
    options = NO_OPTIONS
    batch = True

    def check(self, run: Run, props: Sequence[Property], budget: Budget,
              progress: ProgressFn) -> list[CheckResult]:
        exp = explore_vec(run.ts, props, budget, progress, run.batch)
        return [result_of_vec(exp, p) for p in props]


class BfsDist:
    """The vectorised explicit search on Ray workers, each owning a hash partition of
    the visited set: the counts, depth and verdicts of ``bfs-vec``."""

    name = "bfs-dist"
    kinds = SAFETY
    options: Mapping[str, frozenset[str]] = {"workers": SAFETY, "address": SAFETY}
    batch = True

    def check(self, run: Run, props: Sequence[Property], budget: Budget,
              progress: ProgressFn) -> list[CheckResult]:
        from .explicit import distributed
        return distributed.check(run.ts, props, budget, progress, run.batch,
                                 run.options.workers, run.options.address)


class Bmc:
    """Bounded model checking (a bounded lasso search for liveness)."""

    name = "bmc"
    kinds = SAFETY | LIVENESS
    options = NO_OPTIONS
    batch = False

    def check(self, run: Run, props: Sequence[Property], budget: Budget,
              progress: ProgressFn) -> list[CheckResult]:
        from .symbolic import bmc
        return [bmc.check(run.ts, p, budget, progress) for p in props]


class KInduction:
    """k-induction."""

    name = "kind"
    kinds = SAFETY
    options = NO_OPTIONS
    batch = False

    def check(self, run: Run, props: Sequence[Property], budget: Budget,
              progress: ProgressFn) -> list[CheckResult]:
        from .symbolic import kinduction
        return [kinduction.check(run.ts, p, budget, progress) for p in props]


class Pdr:
    """PDR with one of its backends: this package's IC3 (``pdr``) or Z3's Spacer
    (``pdr-spacer``). Proofs of the properties of one call reuse each other."""

    kinds = SAFETY
    options = NO_OPTIONS
    batch = False

    def __init__(self, name: str, backend: str) -> None:
        self.name, self.backend = name, backend

    def check(self, run: Run, props: Sequence[Property], budget: Budget,
              progress: ProgressFn) -> list[CheckResult]:
        from .symbolic import pdr
        return [dataclasses.replace(pdr.check(run.ts, p, budget, progress, self.backend,
                                              run.learned), engine=self.name)
                for p in props]


class Inductive:
    """Is the property (with named strengthening invariants) inductive?"""

    name = "inductive"
    kinds = SAFETY
    options: Mapping[str, frozenset[str]] = {"invariants": SAFETY}
    batch = False

    def check(self, run: Run, props: Sequence[Property], budget: Budget,
              progress: ProgressFn) -> list[CheckResult]:
        from .symbolic import inductive
        return [inductive.check(run.ts, p, budget, progress, run.options.invariants)
                for p in props]


class Forall:
    """Proofs for every size: quantified inductive invariants over the model's parametric
    build (index sets as uninterpreted sorts), inferred from small instances (Houdini)."""

    name = "forall"
    kinds = frozenset({"invariant"})
    options = NO_OPTIONS
    batch = False

    def check(self, run: Run, props: Sequence[Property], budget: Budget,
              progress: ProgressFn) -> list[CheckResult]:
        from .symbolic import forall
        return [forall.check(run.ts, p, budget, progress) for p in props]


class Simulate:
    """Random simulation: seeded random walks (``runs`` of them, each at most the
    budget's ``max_depth`` steps) checking safety properties on every state and step
    they generate; a violation or a target found, else holds-up-to-bound."""

    name = "simulate"
    kinds = SAFETY
    options: Mapping[str, frozenset[str]] = {"runs": SAFETY, "seed": SAFETY}
    batch = True

    def check(self, run: Run, props: Sequence[Property], budget: Budget,
              progress: ProgressFn) -> list[CheckResult]:
        return check_by_simulation(run.compiled, props, budget, progress, run.options.runs,
                                   run.options.seed)


class BfsJit:
    """The compiled explicit search: safety properties, the model in machine code."""

    name = "bfs-jit"
    kinds = SAFETY
    options = NO_OPTIONS
    batch = True

    def check(self, run: Run, props: Sequence[Property], budget: Budget,
              progress: ProgressFn) -> list[CheckResult]:
        from .explicit.jit import explore_jit, result_of_jit
        exp = explore_jit(run.ts, run.compiled, props, budget, progress)
        return [result_of_jit(exp, p) for p in props]


#: Every engine by name: the one table.
ENGINES: dict[str, Engine] = {e.name: e for e in (
    Bfs(), BfsVec(), Bmc(), KInduction(), Pdr("pdr", "ic3"), Pdr("pdr-spacer", "spacer"),
    Inductive(), Forall(), Simulate(), BfsJit(), BfsDist())}


def engines_for(kind: str) -> tuple[str, ...]:
    """The engines that check properties of ``kind``, in table order."""
    return tuple(name for name, e in ENGINES.items() if kind in e.kinds)


def get_engine(name: str) -> Engine:
    """The engine called ``name``, or a UsageError listing the engines."""
    try:
        return ENGINES[name]
    except KeyError:
        raise UsageError(f"unknown engine {name!r} (engines: {', '.join(ENGINES)})") from None


def exit_code(verdict: Verdict) -> int:
    """The exit code of a check's verdict: 0 holds/proved/reachable, 1 violated or
    unreachable, 3 inconclusive (a bound, a timeout, a solver's "unknown") or vacuous (it
    holds only because an action it is about never fires: never 0)."""
    if verdict in (Verdict.HOLDS, Verdict.PROVED, Verdict.REACHABLE):
        return EXIT_OK
    if verdict in (Verdict.VIOLATED, Verdict.UNREACHABLE):
        return EXIT_VIOLATED
    return EXIT_INCONCLUSIVE


class Checker:
    """Checks properties of one built system; results never depend on earlier calls."""

    def __init__(self, system: TransitionSystem | Model) -> None:
        self.ts = system.build() if isinstance(system, Model) else system

    @cached_property
    def compiled(self) -> Compiled:
        """The explicit semantics (replay and the explicit engines use it)."""
        return compile_system(self.ts)

    @cached_property
    def batch(self) -> BatchSystem:
        """The vectorised semantics (bfs-vec uses it)."""
        return compile_batch(self.ts, layout_of(self.ts))

    def property(self, prop: Property | str) -> Property:
        """``prop``, or the property of this system called (or aliased) ``prop``."""
        return self.ts.property(prop) if isinstance(prop, str) else prop

    def state_graph(self, budget: Budget = UNBOUNDED,
                    progress: ProgressFn = no_progress) -> Exploration:
        """Every reachable state and edge, by the explicit engine (for the graph view)."""
        return explore(self.ts, (), budget, progress, self.compiled, keep_graph=True)

    def check(self, prop: Property | str, engine: str = "bfs", budget: Budget = UNBOUNDED,
              progress: ProgressFn = no_progress, *, symmetry: bool = False,
              invariants: Sequence[str] = (), runs: int | None = None,
              seed: int | None = None, workers: int | None = None,
              address: str | None = None) -> CheckResult:
        """Check one property with the named engine."""
        return self.check_many([prop], engine, budget, progress, symmetry=symmetry,
                               invariants=invariants, runs=runs, seed=seed,
                               workers=workers, address=address)[0]

    def check_many(self, props: Sequence[Property | str], engine: str = "bfs",
                   budget: Budget = UNBOUNDED, progress: ProgressFn = no_progress, *,
                   symmetry: bool = False, invariants: Sequence[str] = (),
                   total_timeout: float | None = None, runs: int | None = None,
                   seed: int | None = None, workers: int | None = None,
                   address: str | None = None) -> list[CheckResult]:
        """Check several properties with one engine and budget, sharing what the engine
        can share within this call: one exploration (bfs, bfs-vec), proved invariants
        (pdr), one set of walks (simulate). ``budget`` applies to each property;
        ``total_timeout`` caps the whole call (properties left when it runs out are
        "unknown", not run). ``runs`` and ``seed`` are simulate's: how many walks (each
        ``budget.max_depth`` steps at most) and from which seed. ``workers`` and
        ``address`` are bfs-dist's: how many workers, and which Ray cluster to join."""
        chosen = [self.property(p) for p in props]
        eng = get_engine(engine)
        options = Options(symmetry, tuple(invariants), runs, seed, workers, address)
        admit(eng, chosen, options)
        run = Run(self.ts, lambda: self.compiled, lambda: self.batch, Learned(), options)
        t0 = time.perf_counter()
        if eng.batch:
            got = eng.check(run, chosen, _capped(budget, total_timeout, t0), progress)
        else:
            got = []
            for prop in chosen:
                capped = _capped(budget, total_timeout, t0)
                if capped.timeout is not None and capped.timeout <= 0:
                    got.append(_not_run(eng.name, prop))
                else:
                    got += eng.check(run, [prop], capped, progress)
        # the Checker's own re-check keeps its own record of consecution, apart from the
        # engine's: each invariant's consecution is asked once per call, by us
        rechecked = Learned()
        return [vacuity(self.ts, prop, self._verified(rechecked, eng, prop, r))
                for prop, r in zip(chosen, got, strict=True)]

    def _verified(self, rechecked: Learned, eng: Engine, prop: Property,
                  result: CheckResult) -> CheckResult:
        """``result`` after replaying its trace and re-checking its certificate; either
        failing is a bug in mhpcheck (an InternalError), never a verdict."""
        if result.engine != eng.name or result.property != prop.name:
            raise InternalError(f"internal error: engine {eng.name} answered for "
                                f"{result.property} with {result.engine}, asked {prop.name}")
        if result.trace is not None:
            try:
                ts, compiled = self._instance_of(result.trace)
                replay(ts, result.trace, compiled)
            except ReplayMismatch as err:
                raise InternalError(
                    f"internal error: engine {eng.name} returned a trace for "
                    f"{prop.name} that does not replay: {err}") from None
            why = (unwitnessed(self.ts, prop, result.trace, self.compiled)
                   if result.verdict in (Verdict.VIOLATED, Verdict.REACHABLE) else None)
            if why is not None:
                raise InternalError(f"internal error: engine {eng.name}'s trace for "
                                    f"{prop.name} does not show it {result.verdict}: {why}")
        if result.certificate is not None:
            _recheck_certificate(self.ts, rechecked, eng, prop, result)
        return result

    def _instance_of(self, trace: Trace) -> tuple[TransitionSystem, Compiled | None]:
        """The system ``trace`` runs in (``system_of``), with its compiled semantics where
        that is this one."""
        try:
            ts = system_of(self.ts, trace)
        except ModelError as err:
            raise InternalError(f"internal error: {err}") from None
        return ts, (self.compiled if ts is self.ts else None)


def vacuity(ts: TransitionSystem, prop: Property, result: CheckResult) -> CheckResult:
    """``result``, or, when it says holds or proved although an action ``prop`` is about
    never fires, the same result with verdict ``vacuous`` and a message naming those
    actions and the knob settings that give them instances.

    Each group of ``prop.about`` needs one action with instances in ``ts`` (seen
    statically, so this applies to proofs too) and, where the engine counted
    transitions per action (an exhaustive explicit search, ``coverage``), one that
    produced a transition.
    """
    if not prop.about or result.verdict not in (Verdict.HOLDS, Verdict.PROVED):
        return result
    present = {inst.action for inst in ts.actions}
    fired = {a for a, n in result.coverage if n}
    counted = bool(result.coverage)
    switch = {info.name: info.switch for info in ts.action_infos}
    missing: list[str] = []
    hints: list[str] = []
    for group in prop.about:
        if any(a in fired or (a in present and not counted) for a in group):
            continue
        words = [f"{a} ({'fired 0 times' if a in present else 'no instance'})"
                 for a in group]
        missing.append(words[0] if len(group) == 1 else f"one of {', '.join(words)}")
        on = [f"--set {switch[a]}" for a in group if a not in present and switch[a]]
        if on and " or ".join(on) not in hints:
            hints.append(" or ".join(on))
    if not missing:
        return result
    label = prop.name + (f" ({', '.join(prop.aliases)})" if prop.aliases else "")
    why = (f"{label} {result.verdict.value} only vacuously: these actions it is about never "
           f"fire in this configuration: {'; '.join(missing)}")
    if hints:
        why += f"; switch on: {', '.join(hints)}"
    message = f"{result.message}\n{why}" if result.message else why
    return dataclasses.replace(result, verdict=Verdict.VACUOUS, message=message,
                               extra={**result.extra, "vacuous": missing})


def admit(eng: Engine, props: Sequence[Property], options: Options) -> None:
    """Refuse, before running, a property kind or an option the engine does not take."""
    for prop in props:
        if prop.kind not in eng.kinds:
            raise Unsupported(eng.name, prop.kind, prop.name, engines_for(prop.kind))
        for option in options.named():
            if prop.kind not in eng.options.get(option, frozenset()):
                takers = [f"{n} ({', '.join(k for k in KINDS if k in e.options[option])})"
                          for n, e in ENGINES.items() if option in e.options]
                raise UsageError(f"engine {eng.name} takes no option {option} for "
                                 f"{prop.kind} property {prop.name}; engines that do: "
                                 f"{', '.join(takers)}")


def _capped(budget: Budget, total: float | None, t0: float) -> Budget:
    if total is None:
        return budget
    left = max(total - (time.perf_counter() - t0), 0.0)
    timeout = left if budget.timeout is None else min(budget.timeout, left)
    return dataclasses.replace(budget, timeout=timeout)


def _not_run(engine: str, prop: Property) -> CheckResult:
    return CheckResult(prop.name, prop.kind, engine, Verdict.UNKNOWN, Stats(), bound="time",
                       message="not run: the call's total time ran out")


def _recheck_certificate(ts: TransitionSystem, rechecked: Learned, eng: Engine,
                         prop: Property, result: CheckResult) -> None:
    """Re-check the invariant behind a reported certificate (initiation, consecution,
    strength) in a fresh encoding of the system, trusting nothing the engine learned."""
    inv = result.extra.get("invariant")
    if not isinstance(inv, Expr):
        raise InternalError(f"internal error: engine {eng.name} reported a certificate for "
                            f"{prop.name} without its invariant")
    from .symbolic.certificate import recheck_alone
    # the forall engine does not track counts (d.count): their ranges are not its claim
    untracked = result.extra.get("untracked", ())
    unchecked = frozenset(untracked) if isinstance(untracked, (list, tuple)) else frozenset()
    checked = recheck_alone(ts, prop, inv, rechecked, unchecked=unchecked)
    if not checked.ok:
        raise InternalError(f"internal error: engine {eng.name}'s certificate for "
                            f"{prop.name} fails the re-check: {checked.detail}")


def check(model: TransitionSystem | Model, prop: Property | str, engine: str = "bfs",
          budget: Budget = UNBOUNDED, progress: ProgressFn = no_progress, *,
          max_depth: int | None = None, max_states: int | None = None,
          timeout: float | None = None, symmetry: bool = False,
          invariants: Sequence[str] = (), runs: int | None = None,
          seed: int | None = None) -> CheckResult:
    """Check one property of a model (or a built system) with the named engine; the
    budget is ``budget`` or the ``max_depth``/``max_states``/``timeout`` keywords
    (``runs`` and ``seed``: engine simulate's walks, see ``Checker.check_many``)."""
    if (max_depth, max_states, timeout) != (None, None, None):
        if budget != UNBOUNDED:
            raise UsageError("give a budget or max_depth/max_states/timeout, not both")
        budget = Budget(max_depth, max_states, timeout)
    return Checker(model).check(prop, engine, budget, progress, symmetry=symmetry,
                                invariants=invariants, runs=runs, seed=seed)


__all__ = ["ENGINES", "KINDS", "Checker", "Engine", "check", "engines_for", "exit_code",
           "get_engine", "vacuity"]
