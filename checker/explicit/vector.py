"""The fast explicit engine, ``bfs-vec``: breadth-first search a whole frontier at a time.

States are packed into 64-bit words (``vector_compile.Layout``): one word when they
fit, else an array of shape ``(words, n)``. Each BFS level is expanded in chunks: for
every action instance, one generated numpy function evaluates the guard over the chunk
and another computes the post-states of the enabled ones. The level's successors are
sorted and deduplicated, and those already visited are dropped by binary search in
the visited set.

The visited set is a few runs sorted by key (a log-structured merge: a new level
becomes a run, and runs of similar size are merged), each with a parallel array of
BFS levels. For one-word states the key is the word: 8 bytes per state plus 2 (4
past depth 65,535). Wider states are ordered by a 64-bit hash of their words and
stored with it (8 bytes per word plus 10); two states with the same hash are told
apart by their words, so counts stay exact. No parent links are stored: a shortest
trace to a state at level ``d`` is rebuilt backwards by re-expanding the states of
level ``d - 1`` and picking one (the smallest packed state) that reaches it, and so
on down to an initial state. That costs one pass over the visited set per step,
once, when a counterexample is reported.

The results have the same meaning as the ``bfs`` engine's: the same distinct-state
and transition counts, depth, action coverage, verdicts, errors, and shortest traces
(the same length; possibly another trace of that length). Liveness properties are
checked by ``bfs``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from mhpcheck.model.compile import Compiled, compile_system
from mhpcheck.model.errors import InternalError
from mhpcheck.model.system import (
    DeadlockFree,
    Invariant,
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
from .vector_compile import BatchFn, BatchSystem, Layout, Mask, Packed, compile_batch, layout_of

ENGINE = "bfs-vec"
#: States expanded per batch: big enough to amortise Python, small enough for the cache.
CHUNK = 1 << 15
#: Successors of one level kept before they are reduced to the new states among them
#: (then whenever they double): bounds memory and the time between timeout checks.
COMPACT = 1 << 24
#: A run is merged into the one before it when that one is at most this many times larger.
MERGE_RATIO = 4

Levels = npt.NDArray[np.unsignedinteger]
Keys = npt.NDArray[np.uint64]
#: A sorted run of the visited set: its sort keys, its states (the keys themselves for
#: one-word states) and the BFS level of each.
Run = tuple[Keys, Packed, Levels]

_H1, _H2, _H3 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), \
    np.uint64(0x94D049BB133111EB)


def state_keys(rows: Packed) -> Keys:
    """The sort key of each state: the word itself for one-word states, else a 64-bit hash
    of its words (two states with one key are told apart by their words)."""
    if rows.ndim == 1:
        return rows
    h = rows[0] * _H1
    for j in range(1, rows.shape[0]):
        h ^= rows[j]
        h *= _H2
        h ^= h >> np.uint64(31)
    h ^= h >> np.uint64(32)
    h *= _H3
    h ^= h >> np.uint64(29)
    keys: Keys = h
    return keys


def _same(a: Packed, b: Packed) -> Mask:
    """Element-wise equality of two arrays of states (all words equal)."""
    if a.ndim == 1:
        eq: Mask = a == b
        return eq
    eq = a[0] == b[0]
    for j in range(1, a.shape[0]):
        eq &= a[j] == b[j]
    return eq


@dataclass
class Visited:
    """The visited set: runs sorted by key, each with the BFS level of its states."""

    runs: list[Run] = field(default_factory=list)
    level_dtype: type[np.unsignedinteger] = np.uint16

    def __len__(self) -> int:
        return sum(len(r) for r, _, _ in self.runs)

    @property
    def nbytes(self) -> int:
        return sum(k.nbytes + (0 if r is k else r.nbytes) + lv.nbytes for k, r, lv in self.runs)

    def unseen(self, keys: Keys, rows: Packed) -> tuple[Keys, Packed]:
        """The states of ``rows`` (sorted by ``keys``, distinct) not in the set.

        The newest runs go first: they are the smallest and hold the last levels, where
        most successors of the frontier fall, so the big old runs see few candidates.
        """
        for run_keys, run_rows, _ in reversed(self.runs):
            if not len(run_keys) or not len(keys):
                continue
            pos = np.searchsorted(run_keys, keys)
            np.minimum(pos, len(run_keys) - 1, out=pos)
            hit = run_keys[pos] == keys
            if rows.ndim > 1:  # equal keys: compare the words, and look past a collision
                at = np.flatnonzero(hit)
                equal = _same(run_rows[:, pos[at]], rows[:, at])
                hit[at[~equal]] = False
                for i in at[~equal].tolist():
                    p = int(pos[i]) + 1
                    while p < len(run_keys) and run_keys[p] == keys[i]:
                        if (run_rows[:, p] == rows[:, i]).all():
                            hit[i] = True
                            break
                        p += 1
            keep = ~hit
            keys, rows = (keys[keep], rows.compress(keep, axis=-1)) if rows is not keys else \
                (keys[keep],) * 2
        return keys, rows

    def add(self, keys: Keys, rows: Packed, level: int) -> None:
        """Add ``rows`` (sorted by ``keys``, distinct, none present), all found at ``level``."""
        if level >= np.iinfo(self.level_dtype).max:
            self.level_dtype = np.uint32
            self.runs = [(k, r, lv.astype(np.uint32)) for k, r, lv in self.runs]
        self.runs.append((keys, rows, np.full(len(keys), level, dtype=self.level_dtype)))
        while len(self.runs) >= 2 and len(self.runs[-2][0]) <= MERGE_RATIO * len(self.runs[-1][0]):
            self.runs[-2:] = [_merge(self.runs[-2], self.runs[-1])]

    def at_level(self, level: int) -> Packed:
        """The states found at ``level``, in key order."""
        parts = [(k[lv == level], r.compress(lv == level, axis=-1)) for k, r, lv in self.runs]
        if not parts:
            return np.zeros(0, np.uint64)
        keys = np.concatenate([k for k, _ in parts])
        rows = np.concatenate([r for _, r in parts], axis=-1)
        return rows[..., np.argsort(keys, kind="stable")]


def _distinct(parts: list[Packed], runs: bool = False) -> tuple[Keys, Packed]:
    """The distinct states of ``parts``, sorted by key. One-word parts come sorted, and so
    do wide ones when ``runs``: the sort is a merge (timsort finds the runs)."""
    if parts[0].ndim > 1:
        return _distinct_wide(np.concatenate(parts, axis=1), runs)
    words = np.sort(np.concatenate(parts), kind="stable")
    if len(words) >= 2:
        keep = np.empty(len(words), dtype=np.bool_)
        keep[0] = True
        np.not_equal(words[1:], words[:-1], out=keep[1:])
        words = words[keep]
    return words, words


def _distinct_wide(rows: Packed, runs: bool = False) -> tuple[Keys, Packed]:
    """The distinct multi-word states of ``rows``, sorted by key.

    One fast sort of one word each: the key's high bits above the state's position
    (runs of ``rows`` sorted by key stay sorted runs). Equal states then sit side by
    side; where states that differ share those high bits (rare), their group is sorted
    again by key and words.
    """
    n = rows.shape[1]
    if n == 0:
        return np.zeros(0, np.uint64), rows
    b = max(1, (n - 1).bit_length())
    low = np.uint64((1 << b) - 1)
    order = state_keys(rows) & ~low
    order |= np.arange(n, dtype=np.uint64)
    order.sort(kind="stable" if runs else None)
    perm = (order & low).view(np.int64)
    out = np.empty_like(rows)
    for j in range(rows.shape[0]):
        np.take(rows[j], perm, out=out[j])
    rows = out
    top = order >> np.uint64(b)
    same_top = top[1:] == top[:-1]
    equal = _same(rows[:, 1:], rows[:, :-1])
    mixed = same_top & ~equal
    if mixed.any():
        group = np.concatenate(([0], np.cumsum(~same_top)))
        sel = np.flatnonzero(np.isin(group, group[1:][mixed]))
        sub = rows[:, sel]
        resort = np.lexsort((*sub, state_keys(sub), group[sel]))
        rows[:, sel] = sub[:, resort]
        equal = _same(rows[:, 1:], rows[:, :-1])
    keep = np.concatenate(([True], ~equal))
    rows = rows.compress(keep, axis=1)
    return state_keys(rows), rows


def _merge(a: Run, b: Run) -> Run:
    """Merge two sorted disjoint runs (keys, states and levels)."""
    (ka, ra, la), (kb, rb, lb) = a, b
    at = np.searchsorted(ka, kb) + np.arange(len(kb))
    from_a = np.ones(len(ka) + len(kb), dtype=np.bool_)
    from_a[at] = False

    def merged(x: npt.NDArray[Any], y: npt.NDArray[Any]) -> npt.NDArray[Any]:
        out = np.empty((*x.shape[:-1], len(from_a)), dtype=x.dtype)
        for o, xr, yr in ((out, x, y),) if x.ndim == 1 else zip(out, x, y, strict=True):
            o[at] = yr
            o[from_a] = xr
        return out

    keys = merged(ka, kb)
    return keys, keys if ra is ka else merged(ra, rb), merged(la, lb)


def coverage_of(ts: TransitionSystem, fired: Sequence[int]) -> tuple[tuple[str, int], ...]:
    """Transitions per action (with at least one instance) from those per instance."""
    per_action: dict[str, int] = {info.name: 0 for info in ts.action_infos}
    present = {inst.action for inst in ts.actions}
    for k, n in enumerate(fired):
        per_action[ts.actions[k].action] += n
    return tuple((a, n) for a, n in per_action.items() if a in present)


#: Where a property failed (or a target was reached): the state (as a Python int, see
#: ``Layout``) and level, and for a step invariant also the action and the post-state.
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
    _chains: dict[tuple[int, int], list[tuple[int, int]]] = field(default_factory=dict)

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
        """Transitions per action with at least one instance, as ``bfs`` reports them."""
        return coverage_of(self.ts, self.fired)

    def path(self, word: int, level: int) -> list[Step]:
        """A shortest run from an initial state to the state ``word`` found at ``level``.

        The first call rebuilds the runs to every state in ``found`` together (one pass
        over each level for all of them) and keeps them.
        """
        if (word, level) not in self._chains:
            targets = {(w[0], w[1]) for w in self.found.values()} | {(word, level)}
            self._chains.update(self._backwards(sorted(targets)))
        layout = self.batch.layout
        chain = self._chains[(word, level)]
        steps = [Step(None, (), layout.unpack(chain[0][0]))]
        for w, k in chain[1:]:
            inst = self.ts.actions[k]
            steps.append(Step(inst.action, inst.args, layout.unpack(w)))
        return steps

    def _backwards(self, targets: list[tuple[int, int]]) -> dict[tuple[int, int],
                                                                  list[tuple[int, int]]]:
        """For each (state, level): the run to it from an initial state, as (state, action
        into it) pairs. Level by level, the states of the level before are re-expanded
        once for every run still to extend, and each run steps back to the smallest
        state (then the first action) that reaches its current head."""
        chains = {t: [(t[0], -1)] for t in targets}
        for d in range(max((lv for _, lv in targets), default=0), 0, -1):
            heads = {c[-1][0] for t, c in chains.items() if t[1] >= d}
            if not heads:
                continue
            best = self._predecessors(d - 1, heads)
            for t, chain in chains.items():
                if t[1] >= d:
                    head = chain[-1][0]
                    if head not in best:  # cannot happen: every state has a parent
                        raise InternalError(
                            f"internal error: no predecessor at level {d - 1}")
                    pred, k = best[head]
                    chain[-1] = (head, k)
                    chain.append((pred, -1))
        return {t: chain[::-1] for t, chain in chains.items()}

    def _predecessors(self, level: int, heads: set[int]) -> dict[int, tuple[int, int]]:
        """For each of ``heads``: the smallest state of ``level`` that reaches it, and how."""
        return best_predecessors(self.batch, self.visited.at_level(level), heads)


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
        for w in layout.ints(words):
            self.compiled.apply[k](layout.unpack(w))

    def predicate(self, layout: Layout, prop: Property, words: Packed,
                  posts: Packed | None = None) -> None:
        expr = prop.expr  # type: ignore[attr-defined]
        if posts is None:
            pred = self.compiled.predicate(expr, prop.name)
            for w in layout.ints(words):
                pred(layout.unpack(w))
        else:
            spred = self.compiled.step_predicate(expr, prop.name)
            for w, p in zip(layout.ints(words), layout.ints(posts), strict=True):
                spred(layout.unpack(w), layout.unpack(p))


def _eval(fn: BatchFn, ref: _Reference, layout: Layout, prop: Property,
          x: Packed, y: Packed | None = None) -> Mask:
    """A batch predicate's values, with flagged states checked by the explicit semantics."""
    out, err = fn(x) if y is None else fn(x, y)
    if err is not None and err.any():
        ref.predicate(layout, prop, x.compress(err, axis=-1),
                      None if y is None else y.compress(err, axis=-1))
    result: Mask = out
    return result


def explore_vec(ts: TransitionSystem, properties: Sequence[Property] = (),
                budget: Budget = UNBOUNDED, progress: ProgressFn = no_progress,
                batch: BatchSystem | None = None,
                stop_when_decided: bool = False,
                started: float | None = None) -> VecExploration:
    """Explore ``ts`` breadth-first a level at a time, checking safety ``properties``.

    The budget's timeout runs from ``started`` (a ``time.perf_counter()`` value; by
    default now), so that compiling the batch semantics, which grows with the
    model's expressions, counts against it.
    """
    t_start = time.perf_counter() if started is None else started
    if batch is None:
        batch = compile_batch(ts, layout_of(ts))
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
                found[p.name] = (layout.at(words, int(np.argmax(bad))), level)
        for t, fn in targets:
            hit = _eval(fn, ref, layout, t, words)
            if hit.any():
                found[t.name] = (layout.at(words, int(np.argmax(hit))), level)
        invariants = [(p, f) for p, f in invariants if p.name not in found]
        targets = [(t, f) for t, f in targets if t.name not in found]

    t0 = t_start
    keys, frontier = _distinct([layout.pack_many(ts.init)])
    visited = Visited()
    visited.add(keys, frontier, 0)
    check_states(frontier, 0)
    fired = [0] * len(ts.actions)
    transitions = 0
    depth = 0
    bound: str | None = None
    while frontier.shape[-1] and bound is None:
        if budget.max_depth is not None and depth >= budget.max_depth:
            bound = "depth"
            break
        parts: list[Packed] = []
        compacted = 0
        for lo in range(0, frontier.shape[-1], CHUNK):
            x = frontier[..., lo:lo + CHUNK]
            posts = expand_chunk(batch, ref, x, depth, steps, deadlock, fired, found)
            transitions += sum(post.shape[-1] for post in posts)
            steps = [(p, f) for p, f in steps if p.name not in found]
            parts += posts
            if sum(part.shape[-1] for part in parts) > max(COMPACT, 2 * compacted):
                # bound the memory and the work left before the next time check
                parts = [visited.unseen(*_distinct(parts))[1]]
                compacted = parts[0].shape[-1]
            if budget.timeout is not None and time.perf_counter() - t0 > budget.timeout:
                bound = "time"
                break
        if bound is not None:
            break
        if parts:
            keys, new = visited.unseen(*_distinct(parts))
        else:
            keys, new = np.zeros(0, np.uint64), frontier[..., :0]
        depth += 1
        if new.shape[-1]:
            visited.add(keys, new, depth)
            check_states(new, depth)
        else:
            depth -= 1
        frontier = new
        now = time.perf_counter()
        progress(Progress(len(visited), depth, transitions, now - t0,
                          queue=int(new.shape[-1])))
        if (budget.max_states is not None and len(visited) >= budget.max_states
                and new.shape[-1]):
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
    """Check safety ``properties`` in one exploration (the timeout covers compiling)."""
    started = time.perf_counter()
    exp = explore_vec(ts, properties, budget, progress, compile_batch(ts, layout_of(ts)),
                      stop_when_decided, started)
    return [result_of_vec(exp, p) for p in properties]


def expand_chunk(batch: BatchSystem, ref: _Reference, x: Packed, depth: int,
                 steps: Sequence[tuple[Property, BatchFn]], deadlock: Sequence[str],
                 fired: list[int], found: dict[str, Found]) -> list[Packed]:
    """The successors of the states ``x`` (found at ``depth``), one array per enabled
    action (one-word ones sorted). Counts each action's transitions in ``fired`` and
    records in ``found`` the first violation of a step invariant not found yet, and a
    state with no action enabled when ``deadlock`` names a property."""
    layout = batch.layout
    parts: list[Packed] = []
    enabled: Mask | None = np.zeros(x.shape[-1], np.bool_) if deadlock else None
    for k, act in enumerate(batch.actions):
        if act.never:
            continue
        if act.guard is None:
            sub = x
            if enabled is not None:
                enabled[:] = True
        else:
            g, err = act.guard(x)
            if err is not None and err.any():
                ref.action(layout, k, x.compress(err, axis=-1))
            if enabled is not None:
                enabled |= g
            sub = x.compress(g, axis=-1)
        if not sub.shape[-1]:
            continue
        post, err = act.post(sub)
        if err is not None and err.any():
            ref.action(layout, k, sub.compress(err, axis=-1))
        fired[k] += sub.shape[-1]
        for p, fn in steps:
            if p.name in found:
                continue
            bad = ~_eval(fn, ref, layout, p, sub, post)
            if bad.any():
                i = int(np.argmax(bad))
                found[p.name] = (layout.at(sub, i), depth, k, layout.at(post, i))
        parts.append(post if act.monotone or post.ndim > 1 else np.sort(post))
    if enabled is not None and not enabled.all() and deadlock[0] not in found:
        found[deadlock[0]] = (layout.at(x, int(np.argmin(enabled))), depth)
    return parts


def best_predecessors(batch: BatchSystem, preds: Packed,
                      heads: set[int]) -> dict[int, tuple[int, int]]:
    """For each state of ``heads`` that a state of ``preds`` reaches in one step: the
    smallest such state, then the first action, as (state, action index)."""
    layout = batch.layout
    head_keys = state_keys(layout.array(sorted(heads)))
    best: dict[int, tuple[int, int]] = {}
    for k, act in enumerate(batch.actions):
        if act.never:
            continue
        sub = preds if act.guard is None else preds.compress(act.guard(preds)[0], axis=-1)
        if not sub.shape[-1]:
            continue
        post = act.post(sub)[0]
        near = np.flatnonzero(np.isin(state_keys(post), head_keys))
        for i in near.tolist():
            head, pred = layout.at(post, i), layout.at(sub, i)
            if head in heads and (head not in best or (pred, k) < best[head]):
                best[head] = (pred, k)
    return best
