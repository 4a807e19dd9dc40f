"""Random simulation: seeded random walks over the explicit semantics (TLC's ``-simulate``).

A model writer's first look at a model, and the one check that still says something
about a configuration too big to explore: ``runs`` walks, each from an initial state
picked at random, each step an enabled transition picked at random, for at most
``depth`` steps (a walk also ends in a state with no successor). On every state a walk
reaches, all of its successors are computed (to pick one), and every one of them is
checked: invariants and reachability targets on each successor, step invariants on each
transition, deadlock where there is no successor. A violation is thus found one step
before the walk would take it, and walks of depth D check exactly the states up to D
steps deep that they meet, as ``bfs`` with ``max_depth`` D checks all of them.

The search is deterministic: one ``random.Random(seed)`` makes every choice, and the
choices depend only on the seed and the model, never on the properties checked; so the
same seed gives the same walks, the same traces and the same messages, and a property
checked alone gets the trace it gets when checked with others. The trace reported for a
property is the first violation found (in walk order), not the shortest across runs:
the search stops a property at its first violation and stops altogether once every
property is decided.

It never concludes "holds" or "unreachable": walks sample the state space. Without a
violation the verdict is ``holds-up-to-bound`` (a target not reached: ``unknown``) with
the runs, depth and seed in the message. Distinct states are counted by hash (a
statistic, to show how much of the space the walks saw, not a proof of anything).
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from mhpcheck.model.compile import Compiled
from mhpcheck.model.system import (
    Property,
    Reachable,
    State,
)
from mhpcheck.model.trace import Step, Trace

from ..result import Budget, CheckResult, Progress, ProgressFn, Stats, Verdict

ENGINE = "simulate"
#: Walks and steps per walk when neither is given (TLC's default depth is 100 too).
DEFAULT_RUNS = 100
DEFAULT_DEPTH = 100
#: The seed when none is given: a fixed one, so that a spec's simulate check and a
#: command run twice give the same answer; another seed gives other walks.
DEFAULT_SEED = 0
#: Seconds between progress reports.
REPORT_EVERY = 0.5

#: A walk so far: (action instance, state) per step, instance -1 for the initial state.
Path = list[tuple[int, State]]


@dataclass(frozen=True)
class Walks:
    """The settings of one simulation: how many walks, how long each, from which seed."""

    runs: int = DEFAULT_RUNS
    depth: int = DEFAULT_DEPTH
    seed: int = DEFAULT_SEED

    @staticmethod
    def of(budget: Budget, runs: int | None, seed: int | None) -> Walks:
        """The settings for a call: the budget's ``max_depth`` is the walk depth; runs and
        seed come from the engine options; each left out takes its default."""
        return Walks(DEFAULT_RUNS if runs is None else runs,
                     DEFAULT_DEPTH if budget.max_depth is None else budget.max_depth,
                     DEFAULT_SEED if seed is None else seed)

    def describe(self, done: int) -> str:
        """``N runs of depth D (seed S)``: what a verdict without a violation rests on."""
        asked = "" if done == self.runs else f" (of {self.runs} asked)"
        return (f"{done} run{'s' if done != 1 else ''}{asked} of depth {self.depth} "
                f"(seed {self.seed})")


@dataclass(frozen=True)
class Hit:
    """Where a property was decided: the walk (its steps) and the walk's number."""

    run: int
    path: tuple[tuple[int, State], ...]
    deadlock: bool = False


@dataclass(frozen=True)
class Simulation:
    """What the walks saw: per property its first hit, and the statistics."""

    walks: Walks
    found: dict[str, Hit]
    runs_done: int
    steps: int  # transitions taken by the walks
    generated: int  # states computed: initial states picked plus every successor
    distinct: int  # distinct states among those, by hash
    transitions: int
    deepest: int
    seconds: float
    bound: str  # "runs" (every walk done), "time" or "states"
    fired: tuple[int, ...]

    @property
    def states_per_second(self) -> float:
        """States computed per second (the walks' throughput)."""
        return self.generated / self.seconds if self.seconds > 0 else 0.0


def simulate(compiled: Compiled, properties: Sequence[Property], budget: Budget,
             progress: ProgressFn, walks: Walks) -> Simulation:
    """Run ``walks`` over ``compiled``, checking the safety ``properties`` on the way.

    ``budget.timeout`` and ``budget.max_states`` (distinct states seen) end the search
    early; ``budget.max_depth`` is already in ``walks``.
    """
    ts = compiled.ts
    successors = compiled.successors
    checks = compiled.safety(properties)
    invariants, targets, step_invs, deadlock = (checks.invariants, checks.targets,
                                                checks.steps, checks.deadlock)
    undecided = len({p.name for p in properties})
    found: dict[str, Hit] = {}
    rng = random.Random(walks.seed)
    init = ts.init
    fired = [0] * len(ts.actions)
    seen: set[int] = set()
    steps = generated = transitions = deepest = runs_done = 0
    bound = "runs"
    t0 = last_report = time.perf_counter()

    def check_state(run: int, path: Path) -> None:
        """Invariants and targets on the last state of ``path``."""
        nonlocal invariants, targets
        s = path[-1][1]
        for name, pred in invariants:
            if not pred(s):
                found[name] = Hit(run, tuple(path))
        for name, pred in targets:
            if pred(s):
                found[name] = Hit(run, tuple(path))
        invariants = [(n, p) for n, p in invariants if n not in found]
        targets = [(n, p) for n, p in targets if n not in found]

    for run in range(walks.runs):
        if len(found) == undecided:
            break
        if budget.timeout is not None and time.perf_counter() - t0 > budget.timeout:
            bound = "time"
            break
        s = init[rng.randrange(len(init))]
        path: Path = [(-1, s)]
        generated += 1
        seen.add(hash(s))
        if invariants or targets:
            check_state(run, path)
        for _ in range(walks.depth):
            succ = successors(s)
            transitions += len(succ)
            generated += len(succ)
            for k, t in succ:
                fired[k] += 1
                seen.add(hash(t))
            if not succ:
                for name in deadlock:
                    found[name] = Hit(run, tuple(path), deadlock=True)
                deadlock = []
                break
            if step_invs:
                for k, t in succ:
                    for name, spred in step_invs:
                        if name not in found and not spred(s, t):
                            found[name] = Hit(run, (*path, (k, t)))
                step_invs = [(n, p) for n, p in step_invs if n not in found]
            if invariants or targets:
                for k, t in succ:
                    path.append((k, t))
                    check_state(run, path)
                    path.pop()
                    if not (invariants or targets):
                        break
            if len(found) == undecided:
                break
            k, s = succ[rng.randrange(len(succ))]
            path.append((k, s))
            steps += 1
            now = time.perf_counter()
            if budget.timeout is not None and now - t0 > budget.timeout:
                bound = "time"
                break
            if budget.max_states is not None and len(seen) >= budget.max_states:
                bound = "states"
                break
            if now - last_report > REPORT_EVERY:
                last_report = now
                progress(Progress(len(seen), max(deepest, len(path) - 1), transitions,
                                  now - t0, f"run {run + 1} of {walks.runs}"))
        deepest = max(deepest, len(path) - 1)
        if bound != "runs":
            break  # a walk cut short is not a run done
        runs_done += 1
    seconds = time.perf_counter() - t0
    progress(Progress(len(seen), deepest, transitions, seconds, "done"))
    return Simulation(walks, found, runs_done, steps, generated, len(seen), transitions,
                      deepest, seconds, bound, tuple(fired))


def coverage(sim: Simulation, compiled: Compiled) -> tuple[tuple[str, int], ...]:
    """Transitions produced per action, for every action with at least one instance."""
    ts = compiled.ts
    per_action = {info.name: 0 for info in ts.action_infos}
    for k, n in enumerate(sim.fired):
        per_action[ts.actions[k].action] += n
    present = {inst.action for inst in ts.actions}
    return tuple((a, n) for a, n in per_action.items() if a in present)


def result_of(sim: Simulation, compiled: Compiled, prop: Property) -> CheckResult:
    """The verdict on ``prop``: violated or reachable with the walk that showed it, else
    holds-up-to-bound (a target: unknown) naming the runs, depth and seed."""
    ts = compiled.ts
    walks = sim.walks
    extra: dict[str, object] = {
        "runs": sim.runs_done, "runs_asked": walks.runs, "walk_depth": walks.depth,
        "seed": walks.seed, "steps": sim.steps, "states_generated": sim.generated,
        "states_per_second": round(sim.states_per_second, 1)}
    bounded = CheckResult(
        prop.name, prop.kind, ENGINE, Verdict.BOUNDED,
        Stats(sim.distinct, sim.transitions, sim.deepest, round(sim.seconds, 3)),
        bound=sim.bound, message=f"no violation in {walks.describe(sim.runs_done)}",
        coverage=coverage(sim, compiled), extra=extra)
    hit = sim.found.get(prop.name)
    if hit is None:
        if isinstance(prop, Reachable):  # never "unreachable": the walks are a sample
            return replace(bounded, verdict=Verdict.UNKNOWN,
                           message=f"target not reached in {walks.describe(sim.runs_done)}")
        return bounded
    steps = tuple(Step(None, (), s) if k < 0 else
                  Step(ts.actions[k].action, ts.actions[k].args, s) for k, s in hit.path)
    where = (f"run {hit.run + 1} of {walks.runs}, depth {len(steps) - 1} (seed {walks.seed}, "
             f"walks of depth {walks.depth})")
    if isinstance(prop, Reachable):
        trace = Trace(ts.name, ts.params, ts.knobs, prop.name, "witness", steps)
        return replace(bounded, verdict=Verdict.REACHABLE, trace=trace, bound=None,
                       message=f"reached in {where}")
    if hit.deadlock:
        trace = Trace(ts.name, ts.params, ts.knobs, prop.name, "lasso", steps,
                      loop=len(steps) - 1, note="no action is enabled")
    else:
        trace = Trace(ts.name, ts.params, ts.knobs, prop.name, "counterexample", steps)
    return replace(bounded, verdict=Verdict.VIOLATED, trace=trace, bound=None,
                   message=f"violated in {where}")


def check_by_simulation(compiled: Compiled, properties: Sequence[Property], budget: Budget,
                        progress: ProgressFn, runs: int | None = None,
                        seed: int | None = None) -> list[CheckResult]:
    """Check safety ``properties`` on one set of walks; one result per property."""
    sim = simulate(compiled, properties, budget, progress, Walks.of(budget, runs, seed))
    return [result_of(sim, compiled, p) for p in properties]
