"""Exhaustive breadth-first exploration with parent links (shortest counterexamples).

``explore`` visits every reachable state once, in a deterministic order, and checks
many safety properties in the same pass: invariants (on each new state), step
invariants (on each transition), reachability targets and deadlocks. It keeps
exploring after a violation (like SPIN's ``-c0``) unless told to stop, so the
distinct-state count is the full one; the first violation found of each property is
a shortest one, because states are found in order of depth. With ``keep_graph`` it
also records every edge, which the liveness checker needs.

Bounds (depth, states, time) stop the search early; results then say which bound was
hit and never claim "holds".
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field

from mhpcheck.model.compile import Compiled, compile_system
from mhpcheck.model.errors import ModelError
from mhpcheck.model.system import (
    DeadlockFree,
    Invariant,
    Property,
    Reachable,
    State,
    StepInvariant,
    TransitionSystem,
)
from mhpcheck.model.trace import Step, Trace

from ..result import (
    UNBOUNDED,
    Budget,
    CheckResult,
    Progress,
    ProgressFn,
    Stats,
    Verdict,
    no_progress,
)
from .symmetry import Canon, check_declaration, compile_canon, concretize

ENGINE = "bfs"
SAFETY_KINDS = (Invariant, StepInvariant, Reachable, DeadlockFree)


@dataclass
class Graph:
    """Every edge of an explored state space, by source state (states numbered by BFS).

    The edges of state ``i`` are ``to[start[i]:start[i + 1]]`` with actions ``act[...]``;
    only the first ``expanded`` states had their successors computed.
    """

    start: array[int] = field(default_factory=lambda: array("q", [0]))
    to: array[int] = field(default_factory=lambda: array("q"))
    act: array[int] = field(default_factory=lambda: array("l"))

    @property
    def expanded(self) -> int:
        return len(self.start) - 1

    def edges(self, i: int) -> zip[tuple[int, int]]:
        lo, hi = self.start[i], self.start[i + 1]
        return zip(self.to[lo:hi], self.act[lo:hi], strict=True)


@dataclass
class Exploration:
    """The explored state space: states by number, parent links, and what was found."""

    ts: TransitionSystem
    compiled: Compiled
    states: list[State]
    parent: array[int]
    via: array[int]
    depth: int
    transitions: int
    seconds: float
    bound: str | None  # "depth", "states" or "time" when a bound stopped the search
    fired: list[int]
    # property name -> (state number, or (state number, action, post-state) for steps)
    found: dict[str, int | tuple[int, int, State]]
    graph: Graph | None = None
    index: dict[State, int] = field(default_factory=dict)
    canon: Canon | None = None  # set when states are canonical orbit representatives

    @property
    def complete(self) -> bool:
        return self.bound is None

    def path(self, i: int) -> list[Step]:
        """The steps from an initial state to state ``i`` (shortest, by BFS); under
        symmetry reduction a concrete path through the orbits of the stored states."""
        chain = []
        while i >= 0:
            chain.append(i)
            i = self.parent[i]
        chain.reverse()
        if self.canon is not None:
            return concretize(self.ts, self.compiled, self.canon,
                              [self.states[n] for n in chain], [self.via[n] for n in chain[1:]])
        steps = []
        for n in chain:
            k = self.via[n]
            if k < 0:
                steps.append(Step(None, (), self.states[n]))
            else:
                inst = self.ts.actions[k]
                steps.append(Step(inst.action, inst.args, self.states[n]))
        return steps

    def stats(self) -> Stats:
        return Stats(len(self.states), self.transitions, self.depth, round(self.seconds, 3))

    def coverage(self) -> tuple[tuple[str, int], ...]:
        """Transitions per action, for every action with at least one instance (an
        action the configuration left without instances is not "never fired")."""
        per_action: dict[str, int] = {info.name: 0 for info in self.ts.action_infos}
        present = {inst.action for inst in self.ts.actions}
        for k, n in enumerate(self.fired):
            per_action[self.ts.actions[k].action] += n
        return tuple((a, n) for a, n in per_action.items() if a in present)


def explore(ts: TransitionSystem, properties: Sequence[Property] = (),
            budget: Budget = UNBOUNDED, progress: ProgressFn = no_progress,
            compiled: Compiled | None = None, keep_graph: bool = False,
            stop_when_decided: bool = False, symmetry: bool = False) -> Exploration:
    """Explore ``ts`` breadth-first, checking the safety ``properties`` on the way.

    With ``symmetry`` only one canonical state per orbit of the model's declared
    symmetry group is stored, and the declaration is checked on each of them.
    """
    compiled = compiled or compile_system(ts)
    canon: Canon | None = None
    if symmetry:
        if not ts.symmetry:
            raise ModelError(f"model {ts.name} declares no symmetry")
        if keep_graph:
            raise ModelError("symmetry reduction is for safety properties only")
        canon = compile_canon(ts)
    successors = compiled.successors
    checks = compiled.safety(properties)
    invariants, targets, steps, deadlock = (checks.invariants, checks.targets, checks.steps,
                                            checks.deadlock)
    n_props = len(invariants) + len(targets) + len(steps) + len(deadlock)
    declared = [*invariants, *targets]
    found: dict[str, int | tuple[int, int, State]] = {}

    def check_state(i: int, s: State) -> None:
        nonlocal invariants, targets
        if invariants:
            for name, pred in invariants:
                if not pred(s):
                    found[name] = i
            invariants = [(n, p) for n, p in invariants if n not in found]
        if targets:
            for name, pred in targets:
                if pred(s):
                    found[name] = i
            targets = [(n, p) for n, p in targets if n not in found]

    t0 = time.perf_counter()
    states: list[State] = []
    index: dict[State, int] = {}
    parent = array("q")
    via = array("l")
    for s in ts.init:
        if canon is not None:
            s = canon(s)
        if s not in index:
            index[s] = len(states)
            states.append(s)
            parent.append(-1)
            via.append(-1)
            check_state(index[s], s)
    graph = Graph() if keep_graph else None
    fired = [0] * len(ts.actions)
    transitions = 0
    depth = 0
    bound: str | None = None
    lo, hi = 0, len(states)
    last_report = t0
    while lo < hi and bound is None:
        if budget.max_depth is not None and depth >= budget.max_depth:
            bound = "depth"
            break
        for i in range(lo, hi):
            s = states[i]
            succ = successors(s)
            if not succ and deadlock and deadlock[0] not in found:
                found[deadlock[0]] = i
            reps: set[State] = set()
            for k, t in succ:
                fired[k] += 1
                if steps:
                    for name, spred in steps:
                        if not spred(s, t):
                            found[name] = (i, k, t)
                    steps = [(n, p) for n, p in steps if n not in found]
                if canon is not None:
                    t = canon(t)
                    reps.add(t)
                j = index.get(t)
                if j is None:
                    j = len(states)
                    index[t] = j
                    states.append(t)
                    parent.append(i)
                    via.append(k)
                    if invariants or targets:
                        check_state(j, t)
                if graph is not None:
                    graph.to.append(j)
                    graph.act.append(k)
            transitions += len(succ)
            if canon is not None:
                check_declaration(ts, compiled, canon, declared, s, reps)
            if graph is not None:
                graph.start.append(len(graph.to))
            if budget.max_states is not None and len(states) >= budget.max_states:
                bound = "states"
                break
            if i & 1023 == 1023:
                now = time.perf_counter()
                if budget.timeout is not None and now - t0 > budget.timeout:
                    bound = "time"
                if now - last_report > 0.5:
                    last_report = now
                    progress(Progress(len(states), depth, transitions, now - t0,
                                      queue=len(states) - i - 1))
                if bound is not None:
                    break
            if stop_when_decided and len(found) == n_props:
                bound = "stopped at first violation"
                break
        else:
            lo, hi = hi, len(states)
            depth += 1
            continue
        break
    seconds = time.perf_counter() - t0
    deepest = _level(parent, len(states) - 1) if states else 0
    progress(Progress(len(states), deepest, transitions, seconds, "done"))
    return Exploration(ts, compiled, states, parent, via, deepest, transitions, seconds, bound,
                       fired, found, graph, index, canon)


def _level(parent: array[int], i: int) -> int:
    """The BFS depth of state ``i`` (the last state found is a deepest one)."""
    level = 0
    while parent[i] >= 0:
        i = parent[i]
        level += 1
    return level


def _trace(exp: Exploration, prop: Property, kind: str, steps: list[Step]) -> Trace:
    ts = exp.ts
    return Trace(ts.name, ts.params, ts.knobs, prop.name, kind, tuple(steps))


def result_of(exp: Exploration, prop: Property) -> CheckResult:
    """The verdict on ``prop`` (a safety property checked during ``exp``)."""
    where = exp.found.get(prop.name)
    stats, coverage = exp.stats(), exp.coverage()
    common = {"property": prop.name, "kind": prop.kind, "engine": ENGINE, "stats": stats,
              "coverage": coverage}
    if isinstance(prop, Reachable):
        if isinstance(where, int):
            trace = _trace(exp, prop, "witness", exp.path(where))
            return CheckResult(verdict=Verdict.REACHABLE, trace=trace, **common)  # type: ignore[arg-type]
        if exp.complete:
            return CheckResult(verdict=Verdict.UNREACHABLE, **common)  # type: ignore[arg-type]
        return CheckResult(verdict=Verdict.UNKNOWN, bound=exp.bound, **common)  # type: ignore[arg-type]
    if where is None:
        if exp.complete:
            return CheckResult(verdict=Verdict.HOLDS, **common)  # type: ignore[arg-type]
        return CheckResult(verdict=Verdict.BOUNDED, bound=exp.bound, **common)  # type: ignore[arg-type]
    if isinstance(where, tuple):
        i, k, t = where
        inst = exp.ts.actions[k]
        steps = exp.path(i)
        if exp.canon is None:
            steps.append(Step(inst.action, inst.args, t))
        else:  # a concrete step that breaks the step invariant from the concrete state
            assert isinstance(prop, StepInvariant)
            pred = exp.compiled.step_predicate(prop.expr, prop.name)
            last = steps[-1].state
            j, nxt = next((j, nxt) for j, nxt in exp.compiled.successors(last)
                          if not pred(last, nxt))
            steps.append(Step(exp.ts.actions[j].action, exp.ts.actions[j].args, nxt))
    else:
        steps = exp.path(where)
    trace = _trace(exp, prop, "counterexample", steps)
    if isinstance(prop, DeadlockFree):
        trace = Trace(trace.model, trace.params, trace.knobs, trace.property, "lasso",
                      trace.steps, loop=len(trace.steps) - 1, note="no action is enabled")
    return CheckResult(verdict=Verdict.VIOLATED, trace=trace, **common)  # type: ignore[arg-type]


def check_safety(ts: TransitionSystem, properties: Sequence[Property],
                 budget: Budget = UNBOUNDED, progress: ProgressFn = no_progress,
                 compiled: Compiled | None = None,
                 stop_when_decided: bool = False, symmetry: bool = False) -> list[CheckResult]:
    """Check safety ``properties`` in one exploration; one result per property."""
    exp = explore(ts, properties, budget, progress, compiled,
                  stop_when_decided=stop_when_decided, symmetry=symmetry)
    return [result_of(exp, p) for p in properties]
