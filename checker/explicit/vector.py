"""The fast explicit engine, ``bfs-vec``: breadth-first search a whole frontier at a time.

States are packed into 64-bit words (``vector_compile.Layout``). Each BFS level is
expanded in chunks: for every action instance, one generated numpy function
evaluates the guard over the chunk and another computes the post-states of the
enabled ones. The level's successors are sorted and deduplicated (``np.unique``),
and those already visited are dropped by binary search in the visited set.

The visited set is a few sorted runs of packed states (a log-structured merge: a
new level becomes a run, and runs of similar size are merged), each with a parallel
array of BFS levels: 8 bytes per state plus 2 (4 past depth 65,535). No parent
links are stored: a shortest trace to a state at level ``d`` is rebuilt backwards by
re-expanding the states of level ``d - 1`` and picking one (the smallest packed
word) that reaches it, and so on down to an initial state. That costs one pass over
the visited set per step, once, when a counterexample is reported.

The results have the same meaning as the ``bfs`` engine's: the same distinct-state
and transition counts, depth, action coverage, verdicts, and shortest traces (the
same length; possibly another trace of that length). A state wider than 64 bits
falls back to the pure-Python ``bfs`` engine, and so do liveness properties.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from mhpcheck.model.compile import Compiled, compile_system
from mhpcheck.model.errors import ModelError
from mhpcheck.model.system import (
    DeadlockFree,
    Invariant,
    LeadsTo,
    Property,
    Reachable,
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
from .bfs import SAFETY_KINDS, check_safety
from .liveness import check_leads_to
from .vector_compile import BatchFn, BatchSystem, Layout, Mask, Packed, compile_batch, layout_of

ENGINE = "bfs-vec"
#: States expanded per batch: big enough to amortise Python, small enough for the cache.
CHUNK = 1 << 15
#: A run is merged into the one before it when that one is at most this many times larger.
MERGE_RATIO = 4

Levels = npt.NDArray[np.unsignedinteger]


@dataclass
class Visited:
    """The visited set: sorted runs of packed states, each with the BFS level of its states."""

    runs: list[tuple[Packed, Levels]] = field(default_factory=list)
    level_dtype: type[np.unsignedinteger] = np.uint16

    def __len__(self) -> int:
        return sum(len(r) for r, _ in self.runs)

    @property
    def nbytes(self) -> int:
        return sum(r.nbytes + lv.nbytes for r, lv in self.runs)

    def unseen(self, words: Packed) -> Packed:
        """The members of ``words`` (sorted, distinct) not in the set.

        The newest runs go first: they are the smallest and hold the last levels, where
        most successors of the frontier fall, so the big old runs see few candidates.
        """
        for run, _ in reversed(self.runs):
            if not len(run) or not len(words):
                continue
            pos = np.searchsorted(run, words)
            np.minimum(pos, len(run) - 1, out=pos)
            words = words[run[pos] != words]
        return words

    def add(self, words: Packed, level: int) -> None:
        """Add ``words`` (sorted, distinct, none already present), all found at ``level``."""
        if level >= np.iinfo(self.level_dtype).max:
            self.level_dtype = np.uint32
            self.runs = [(r, lv.astype(np.uint32)) for r, lv in self.runs]
        self.runs.append((words, np.full(len(words), level, dtype=self.level_dtype)))
        while len(self.runs) >= 2 and len(self.runs[-2][0]) <= MERGE_RATIO * len(self.runs[-1][0]):
            (a, la), (b, lb) = self.runs[-2], self.runs[-1]
            self.runs[-2:] = [_merge(a, la, b, lb)]

    def at_level(self, level: int) -> Packed:
        """The states found at ``level``, sorted."""
        parts = [run[lv == level] for run, lv in self.runs]
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.uint64)


def _distinct(parts: list[Packed]) -> Packed:
    """The distinct words of sorted ``parts``, sorted (a merge: timsort finds the runs)."""
    words = np.sort(np.concatenate(parts), kind="stable")
    if len(words) < 2:
        return words
    keep = np.empty(len(words), dtype=np.bool_)
    keep[0] = True
    np.not_equal(words[1:], words[:-1], out=keep[1:])
    return words[keep]


def _merge(a: Packed, la: Levels, b: Packed, lb: Levels) -> tuple[Packed, Levels]:
    """Merge two sorted disjoint runs (and their level arrays)."""
    at = np.searchsorted(a, b) + np.arange(len(b))
    out = np.empty(len(a) + len(b), dtype=np.uint64)
    lout = np.empty(len(a) + len(b), dtype=la.dtype)
    from_a = np.ones(len(out), dtype=np.bool_)
    from_a[at] = False
    out[at] = b
    lout[at] = lb
    out[from_a] = a
    lout[from_a] = la
    return out, lout


#: Where a property failed (or a target was reached): the state's word and level, and
#: for a step invariant also the action and the post-state's word.
Found = tuple[int, int] | tuple[int, int, int, int]


@dataclass
class VecExploration:
    """The explored state space of ``bfs-vec``: counts, the visited set and what was found."""

    ts: TransitionSystem
    batch: BatchSystem
    visited: Visited
    transitions: int
    depth: int
    seconds: float
    bound: str | None
    fired: list[int]
    found: dict[str, Found]

    @property
    def complete(self) -> bool:
        return self.bound is None

    @property
    def distinct_states(self) -> int:
        return len(self.visited)

    @property
    def bytes_per_state(self) -> float:
        """Bytes the visited set stores per state (no other per-state structure is kept)."""
        return self.visited.nbytes / max(1, len(self.visited))

    def stats(self) -> Stats:
        return Stats(len(self.visited), self.transitions, self.depth, round(self.seconds, 3))

    def coverage(self) -> tuple[tuple[str, int], ...]:
        per_action: dict[str, int] = {info.name: 0 for info in self.ts.action_infos}
        for k, n in enumerate(self.fired):
            per_action[self.ts.actions[k].action] += n
        return tuple(per_action.items())

    def path(self, word: int, level: int) -> list[Step]:
        """A shortest run from an initial state to the state ``word`` found at ``level``."""
        layout, actions = self.batch.layout, self.batch.actions
        chain: list[tuple[int, int]] = [(word, -1)]
        for d in range(level, 0, -1):
            preds = self.visited.at_level(d - 1)
            best: tuple[int, int] | None = None
            for k, act in enumerate(actions):
                if act.never:
                    continue
                sub = preds if act.guard is None else preds[act.guard(preds)[0]]
                if not len(sub):
                    continue
                hit = sub[act.post(sub)[0] == np.uint64(word)]
                if len(hit) and (best is None or int(hit[0]) < best[0]):
                    best = (int(hit[0]), k)
            if best is None:  # cannot happen: every state at level d has a parent at d - 1
                raise ModelError(f"internal error: no predecessor at level {d - 1}")
            chain[-1] = (chain[-1][0], best[1])
            chain.append((best[0], -1))
            word = best[0]
        chain.reverse()
        steps = [Step(None, (), layout.unpack(chain[0][0]))]
        for w, k in chain[1:]:
            inst = self.ts.actions[k]
            steps.append(Step(inst.action, inst.args, layout.unpack(w)))
        return steps


class _Reference:
    """The explicit semantics, compiled on first use, for states the batch code flagged."""

    def __init__(self, ts: TransitionSystem) -> None:
        self.ts = ts
        self._compiled: Compiled | None = None

    @property
    def compiled(self) -> Compiled:
        if self._compiled is None:
            self._compiled = compile_system(self.ts)
        return self._compiled

    def action(self, layout: Layout, k: int, words: Packed) -> None:
        """Run action ``k`` on each word: raises the reference ModelError if there is one."""
        for w in words.tolist():
            self.compiled.apply[k](layout.unpack(w))

    def predicate(self, layout: Layout, prop: Property, words: Packed,
                  posts: Packed | None = None) -> None:
        expr = prop.expr  # type: ignore[attr-defined]
        if posts is None:
            pred = self.compiled.predicate(expr, prop.name)
            for w in words.tolist():
                pred(layout.unpack(w))
        else:
            spred = self.compiled.step_predicate(expr, prop.name)
            for w, p in zip(words.tolist(), posts.tolist(), strict=True):
                spred(layout.unpack(w), layout.unpack(p))


def _eval(fn: BatchFn, ref: _Reference, layout: Layout, prop: Property,
          x: Packed, y: Packed | None = None) -> Mask:
    """A batch predicate's values, with flagged states checked by the explicit semantics."""
    out, err = fn(x) if y is None else fn(x, y)
    if err is not None and err.any():
        ref.predicate(layout, prop, x[err], None if y is None else y[err])
    result: Mask = out
    return result


def explore_vec(ts: TransitionSystem, properties: Sequence[Property] = (),
                budget: Budget = UNBOUNDED, progress: ProgressFn = no_progress,
                batch: BatchSystem | None = None,
                stop_when_decided: bool = False) -> VecExploration:
    """Explore ``ts`` breadth-first a level at a time, checking safety ``properties``.

    Raises ModelError when a state does not fit in 64 bits (``layout_of`` is None).
    """
    if batch is None:
        layout = layout_of(ts)
        if layout is None:
            raise ModelError(f"model {ts.name}: a state needs more than 64 bits")
        batch = compile_batch(ts, layout)
    layout = batch.layout
    ref = _Reference(ts)
    invariants = [(p, batch.predicate(p.expr, p.name))
                  for p in properties if isinstance(p, Invariant)]
    targets = [(p, batch.predicate(p.expr, p.name))
               for p in properties if isinstance(p, Reachable)]
    steps = [(p, batch.step_predicate(p.expr, p.name))
             for p in properties if isinstance(p, StepInvariant)]
    deadlock = [p.name for p in properties if isinstance(p, DeadlockFree)]
    n_props = len(invariants) + len(targets) + len(steps) + len(deadlock)
    found: dict[str, Found] = {}

    def check_states(words: Packed, level: int) -> None:
        nonlocal invariants, targets
        for p, fn in invariants:
            bad = ~_eval(fn, ref, layout, p, words)
            if bad.any():
                found[p.name] = (int(words[bad][0]), level)
        for t, fn in targets:
            hit = _eval(fn, ref, layout, t, words)
            if hit.any():
                found[t.name] = (int(words[hit][0]), level)
        invariants = [(p, f) for p, f in invariants if p.name not in found]
        targets = [(t, f) for t, f in targets if t.name not in found]

    t0 = time.perf_counter()
    frontier = np.unique(layout.pack_many(ts.init))
    visited = Visited()
    visited.add(frontier, 0)
    check_states(frontier, 0)
    fired = [0] * len(ts.actions)
    transitions = 0
    depth = 0
    bound: str | None = None
    actions = batch.actions
    while len(frontier) and bound is None:
        if budget.max_depth is not None and depth >= budget.max_depth:
            bound = "depth"
            break
        parts: list[Packed] = []
        for lo in range(0, len(frontier), CHUNK):
            x = frontier[lo:lo + CHUNK]
            enabled: Mask | None = np.zeros(len(x), np.bool_) if deadlock else None
            for k, act in enumerate(actions):
                if act.never:
                    continue
                if act.guard is None:
                    sub = x
                    if enabled is not None:
                        enabled[:] = True
                else:
                    g, err = act.guard(x)
                    if err is not None and err.any():
                        ref.action(layout, k, x[err])
                    if enabled is not None:
                        enabled |= g
                    sub = x[g]
                if not len(sub):
                    continue
                post, err = act.post(sub)
                if err is not None and err.any():
                    ref.action(layout, k, sub[err])
                fired[k] += len(sub)
                transitions += len(sub)
                for p, fn in steps:
                    bad = ~_eval(fn, ref, layout, p, sub, post)
                    if bad.any():
                        i = int(np.flatnonzero(bad)[0])
                        found[p.name] = (int(sub[i]), depth, k, int(post[i]))
                steps = [(p, f) for p, f in steps if p.name not in found]
                parts.append(post if act.monotone else np.sort(post))
            if enabled is not None and not enabled.all() and deadlock[0] not in found:
                found[deadlock[0]] = (int(x[~enabled][0]), depth)
            if budget.timeout is not None and time.perf_counter() - t0 > budget.timeout:
                bound = "time"
                break
        if bound is not None:
            break
        new = visited.unseen(_distinct(parts)) if parts else frontier[:0]
        depth += 1
        if len(new):
            visited.add(new, depth)
            check_states(new, depth)
        else:
            depth -= 1
        frontier = new
        now = time.perf_counter()
        progress(Progress(len(visited), depth, transitions, now - t0))
        if budget.max_states is not None and len(visited) >= budget.max_states and len(new):
            bound = "states"
        if stop_when_decided and len(found) == n_props and n_props:
            bound = "stopped at first violation"
    seconds = time.perf_counter() - t0
    progress(Progress(len(visited), depth, transitions, seconds, "done"))
    return VecExploration(ts, batch, visited, transitions, depth, seconds, bound, fired, found)


def _trace(exp: VecExploration, prop: Property, kind: str, steps: list[Step]) -> Trace:
    ts = exp.ts
    return Trace(ts.name, ts.params, ts.knobs, prop.name, kind, tuple(steps))


def result_of_vec(exp: VecExploration, prop: Property) -> CheckResult:
    """The verdict on ``prop`` (a safety property checked during ``exp``), as ``bfs`` gives it."""
    where = exp.found.get(prop.name)
    stats, coverage = exp.stats(), exp.coverage()
    extra: dict[str, object] = {"bytes_per_state": round(exp.bytes_per_state, 2)}

    def result(verdict: Verdict, trace: Trace | None = None,
               bound: str | None = None) -> CheckResult:
        return CheckResult(property=prop.name, kind=prop.kind, engine=ENGINE, verdict=verdict,
                           stats=stats, trace=trace, bound=bound, coverage=coverage,
                           extra=extra)

    if isinstance(prop, Reachable):
        if where is not None:
            return result(Verdict.REACHABLE, _trace(exp, prop, "witness", exp.path(*where[:2])))
        if exp.complete:
            return result(Verdict.UNREACHABLE)
        return result(Verdict.UNKNOWN, bound=exp.bound)
    if where is None:
        if exp.complete:
            return result(Verdict.HOLDS)
        return result(Verdict.BOUNDED, bound=exp.bound)
    steps = exp.path(where[0], where[1])
    if len(where) == 4:
        inst = exp.ts.actions[where[2]]
        steps.append(Step(inst.action, inst.args, exp.batch.layout.unpack(where[3])))
    trace = _trace(exp, prop, "counterexample", steps)
    if isinstance(prop, DeadlockFree):
        trace = Trace(trace.model, trace.params, trace.knobs, trace.property, "lasso",
                      trace.steps, loop=len(trace.steps) - 1, note="no action is enabled")
    return result(Verdict.VIOLATED, trace)


def check_safety_vec(ts: TransitionSystem, properties: Sequence[Property],
                     budget: Budget = UNBOUNDED, progress: ProgressFn = no_progress,
                     stop_when_decided: bool = False) -> list[CheckResult]:
    """Check safety ``properties`` in one exploration; falls back to ``bfs`` past 64 bits."""
    layout = layout_of(ts)
    if layout is None:
        note = "states need more than 64 bits: checked by the pure-Python bfs engine"
        return [replace(r, engine=ENGINE, message=note)
                for r in check_safety(ts, properties, budget, progress,
                                      stop_when_decided=stop_when_decided)]
    exp = explore_vec(ts, properties, budget, progress, compile_batch(ts, layout),
                      stop_when_decided)
    return [result_of_vec(exp, p) for p in properties]


def check(ts: TransitionSystem, prop: Property, budget: Budget = UNBOUNDED,
          progress: ProgressFn = no_progress) -> CheckResult:
    """The ``bfs-vec`` engine: safety properties a frontier at a time; liveness by ``bfs``."""
    if isinstance(prop, LeadsTo):
        return check_leads_to(ts, prop, budget, progress)
    if isinstance(prop, SAFETY_KINDS):
        return check_safety_vec(ts, [prop], budget, progress)[0]
    raise ModelError(f"engine {ENGINE} cannot check {prop.kind} property {prop.name}")
