"""The compiled explicit engine, ``bfs-jit``: breadth-first search in machine code.

The model's guards, updates and safety properties are generated as scalar Python
over packed states (``jit_compile``), wrapped in a search kernel (``jit_kernels``)
and compiled by numba; the compiled module is cached on disk under the hash of its
source, so a second run of the same system does not compile again. This module
drives the kernel: one BFS level at a time, the frontier in chunks (between chunks
it checks the timeout and lets Ctrl-C through), the hash table grown by
``table_policy`` before a batch could fill it past its load limit, and errors
flagged by the kernel re-run through the explicit semantics so that they raise the
reference ``ModelError``.

Results mean what ``bfs``'s and ``bfs-vec``'s do: the same distinct-state and
transition counts, depth, action coverage and verdicts, and shortest traces (rebuilt
backwards, one level at a time, by re-expanding the level before).
"""

from __future__ import annotations

import bisect
import importlib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from mhpcheck.model.compile import Compiled
from mhpcheck.model.errors import InternalError, ResourceLimit, UsageError
from mhpcheck.model.system import (
    DeadlockFree,
    Invariant,
    Property,
    Reachable,
    StepInvariant,
    TransitionSystem,
)
from mhpcheck.model.trace import Step, Trace

from ..result import UNBOUNDED, Budget, CheckResult, Progress, ProgressFn, Stats, Verdict
from .jit_compile import Loaded, kernel_source, load
from .jit_kernels import TablePolicy, table_policy
from .vector import coverage_of
from .vector_compile import Layout, layout_of

# An OpenMP thread that waits spins by default, taking a core from the serial half of
# each batch (and from other processes): waiting threads sleep instead. Set before numba
# starts its threading layer, on the first parallel call (a user's own setting wins).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ENGINE = "bfs-jit"
#: Threads that probe the hash table ($MHPCHECK_JIT_THREADS; 1 by default: on a busy
#: machine a second thread costs more in waiting than it gains).
THREADS_ENV = "MHPCHECK_JIT_THREADS"
#: Frontier states per kernel call: the timeout and Ctrl-C are seen between calls.
CHUNK = 1 << 14
#: The table's first size (entries); it grows from there by ``table_policy``.
FIRST_TABLE = 1 << 12

Rows = npt.NDArray[np.uint64]


@dataclass
class Kernel:
    """A system's compiled kernels for one set of properties, and how long they took."""

    layout: Layout
    loaded: Loaded
    states_props: tuple[Property, ...]
    step_props: tuple[Property, ...]
    seconds: float

    @property
    def module(self) -> Any:
        return self.loaded.module

    @property
    def cached(self) -> bool:
        """Whether the machine code came from the disk cache (no kernel was compiled)."""
        fns = (self.module.expand, self.module.check, self.module.rehash)
        return not any(sum(fn.stats.cache_misses.values()) for fn in fns)


def threads() -> int:
    """The probing threads asked for by $MHPCHECK_JIT_THREADS (1 when unset), at most
    the threads numba has."""
    raw = os.environ.get(THREADS_ENV, "1")
    try:
        n = int(raw)
    except ValueError:
        raise UsageError(f"${THREADS_ENV} must be a whole number of threads, got {raw!r}") \
            from None
    if n < 1:
        raise UsageError(f"${THREADS_ENV} must be 1 or more, got {n}")
    config = importlib.import_module("numba.core.config")
    return min(n, int(config.NUMBA_NUM_THREADS))


def build_kernel(ts: TransitionSystem, properties: Sequence[Property],
                 word_bits: int = 64, parallel: bool | None = None) -> Kernel:
    """Generate, load (from the disk cache where it is there) and compile the kernels
    (``word_bits`` as ``layout_of``'s: smaller spreads states over more words; a
    parallel probe where ``parallel``, by default where ``threads()`` is above 1)."""
    t0 = time.perf_counter()
    layout = layout_of(ts, word_bits)
    # every safety property of the system, so that one kernel serves every call on it
    # (a check of other properties of the same system finds it in the cache)
    wanted = [*ts.properties, *properties]
    props = tuple({p.name: p for p in wanted
                   if isinstance(p, (Invariant, Reachable, StepInvariant))}.values())
    states_props = tuple(p for p in props if not isinstance(p, StepInvariant))
    step_props = tuple(p for p in props if isinstance(p, StepInvariant))
    if parallel is None:
        parallel = threads() > 1
    loaded = load(kernel_source(ts, layout, states_props + step_props, parallel))
    kernel = Kernel(layout, loaded, states_props, step_props, 0.0)
    _warm(kernel, len(ts.actions))
    kernel.seconds = time.perf_counter() - t0
    return kernel


def _warm(kernel: Kernel, n_actions: int) -> None:
    """Compile (or load) every kernel for the argument types the search uses."""
    w = kernel.layout.n_words
    states = np.zeros((1, w), np.uint64)
    table = np.zeros(FIRST_TABLE, np.int32)
    m = kernel.module
    m.rehash(states, 0, table)
    m.expand(states, 0, 0, 0, table, 0, np.zeros(n_actions, np.int64), np.full(1, -1),
             np.full(len(kernel.step_props), -1), np.zeros(len(kernel.step_props), np.int64),
             np.zeros((len(kernel.step_props), w), np.uint64), np.zeros(4, np.int64), 0,
             np.zeros(w, np.uint64))
    m.check(states, 0, 0, np.full(len(kernel.states_props), -1), np.zeros(4, np.int64))


@dataclass
class Store:
    """The visited set: every state in BFS order, and the hash table over them."""

    states: Rows
    table: npt.NDArray[np.int32]
    policy: TablePolicy
    count: int = 0

    @property
    def limit(self) -> int:
        """The most states the table takes before it grows."""
        return self.policy.limit(len(self.table))

    @property
    def nbytes(self) -> int:
        """Bytes per the stored states and the table (the unused tail of ``states`` is
        allocated but never written, so it takes no memory)."""
        return int(self.count * self.states.shape[1] * 8 + self.table.nbytes)

    def grow(self, module: Any) -> None:
        """Grow the table (and the room for states) and rebuild it."""
        size = self.policy.grown(len(self.table))
        if size <= len(self.table):
            raise ResourceLimit(f"bfs-jit: the visited set would need more than {size:,} "
                                "table entries")
        table = np.zeros(size, np.int32)
        self.table = table
        module.rehash(self.states, self.count, table)
        room = self.limit + 1
        if room > len(self.states):
            states = np.empty((room, self.states.shape[1]), np.uint64)
            states[:self.count] = self.states[:self.count]
            self.states = states


#: Where a property failed (or a target was reached): a state's index, and for a step
#: invariant also the action and the post-state (as a Python int).
Found = tuple[int] | tuple[int, int, int]


@dataclass
class JitExploration:
    """The explored state space of ``bfs-jit``: counts, the visited set and what was found."""

    ts: TransitionSystem
    kernel: Kernel
    store: Store
    starts: list[int]  # the first state index of each level, and the count after the last
    transitions: int
    seconds: float
    bound: str | None
    fired: list[int]
    found: dict[str, Found]
    n_succ: int
    threads: int = 1

    @property
    def complete(self) -> bool:
        return self.bound is None

    @property
    def depth(self) -> int:
        return len(self.starts) - 2

    @property
    def distinct_states(self) -> int:
        return self.store.count

    @property
    def bytes_per_state(self) -> float:
        return self.store.nbytes / max(1, self.store.count)

    def stats(self) -> Stats:
        return Stats(self.store.count, self.transitions, max(self.depth, 0),
                     round(self.seconds, 3))

    def coverage(self) -> tuple[tuple[str, int], ...]:
        """Transitions per action with at least one instance, as ``bfs`` reports them."""
        return coverage_of(self.ts, self.fired)

    def level_of(self, index: int) -> int:
        """The BFS level of state ``index`` (levels are contiguous ranges of indices)."""
        return bisect.bisect_right(self.starts, index) - 1

    def word(self, index: int) -> int:
        """State ``index`` as one Python int (``Layout``'s packing)."""
        row = self.store.states[index]
        return sum(int(v) << (64 * j) for j, v in enumerate(row))

    def path(self, index: int) -> list[Step]:
        """A shortest run from an initial state to state ``index``: each step back finds
        the first state of the level before with a successor equal to the current one."""
        chain = [(index, -1)]
        m = self.kernel.module
        w = self.store.states.shape[1]
        err = np.zeros(4, np.int64)
        for d in range(self.level_of(index), 0, -1):
            target = np.ascontiguousarray(self.store.states[chain[-1][0]])
            i, k, status = m.expand(
                self.store.states, self.starts[d - 1], self.starts[d], 0, self.store.table,
                0, np.zeros(len(self.fired), np.int64), np.full(1, -1),
                np.full(len(self.kernel.step_props), -1),
                np.zeros(len(self.kernel.step_props), np.int64),
                np.zeros((len(self.kernel.step_props), w), np.uint64), err, 1, target)
            if status != 3:  # cannot happen: every state past level 0 has a predecessor
                raise InternalError(f"internal error: bfs-jit found no predecessor at "
                                    f"level {d - 1}")
            chain[-1] = (chain[-1][0], int(k))
            chain.append((int(i), -1))
        chain.reverse()
        unpack = self.kernel.layout.unpack
        steps = [Step(None, (), unpack(self.word(chain[0][0])))]
        for idx, k in chain[1:]:  # each with the action into it
            inst = self.ts.actions[k]
            steps.append(Step(inst.action, inst.args, unpack(self.word(idx))))
        return steps


def explore_jit(ts: TransitionSystem, compiled: Compiled, properties: Sequence[Property] = (),
                budget: Budget = UNBOUNDED, progress: ProgressFn = lambda _: None,
                kernel: Kernel | None = None, started: float | None = None) -> JitExploration:
    """Explore ``ts`` breadth-first a level at a time, checking safety ``properties``.

    The timeout runs from ``started`` (default now), so compiling counts against it;
    the seconds reported are the search's alone (the compile's are the kernel's)."""
    t_start = time.perf_counter() if started is None else started
    if kernel is None:
        kernel = build_kernel(ts, properties)
    numba.set_num_threads(threads())
    t0 = time.perf_counter()
    layout, m = kernel.layout, kernel.module
    w = layout.n_words
    n_actions = len(ts.actions)
    n_succ = n_actions + 1
    deadlock = [p.name for p in properties if isinstance(p, DeadlockFree)]
    found: dict[str, Found] = {}
    # the initial states, distinct, in the order given
    words = list(dict.fromkeys(layout.pack(s) for s in ts.init))
    policy = table_policy(w)
    size = FIRST_TABLE
    while policy.limit(size) < len(words) + n_succ:
        size = policy.grown(size)
    table = np.zeros(size, np.int32)
    states = np.empty((policy.limit(size) + 1, w), np.uint64)
    for i, word in enumerate(words):
        for j in range(w):
            states[i, j] = (word >> (64 * j)) & ((1 << 64) - 1)
    store = Store(states, table, policy, len(words))
    m.rehash(store.states, store.count, store.table)
    fired = np.zeros(n_actions, np.int64)
    dead = np.full(1, -1)
    n_step = len(kernel.step_props)
    asked = {p.name for p in properties}
    # -2: not asked in this call, never evaluated
    step_at = np.array([-1 if p.name in asked else -2 for p in kernel.step_props], np.int64)
    step_act = np.zeros(n_step, np.int64)
    step_post = np.zeros((n_step, w), np.uint64)
    state_found = np.array([-1 if p.name in asked else -2 for p in kernel.states_props],
                           np.int64)
    err = np.zeros(4, np.int64)
    no_target = np.zeros(w, np.uint64)

    def reference_error(i: int, k: int) -> None:
        """Re-run state ``i`` through the explicit semantics: they raise the error."""
        state = layout.unpack(sum(int(v) << (64 * j) for j, v in enumerate(store.states[i])))
        post = compiled.apply[k](state)
        if err[3]:
            p = kernel.step_props[int(err[3]) - 1]
            assert post is not None
            compiled.step_predicate(p.expr, p.name)(state, post)  # type: ignore[attr-defined]
        raise InternalError(f"internal error: bfs-jit flagged a model error on action "
                            f"{ts.actions[k].label} that the explicit semantics do not raise")

    def check_states(lo: int, hi: int) -> None:
        """The state properties on states lo..hi-1; a flagged error is re-raised by the
        explicit semantics."""
        while lo < hi:
            lo, j = m.check(store.states, lo, hi, state_found, err)
            if j >= 0:
                p = kernel.states_props[j]
                state = layout.unpack(sum(int(v) << (64 * q)
                                          for q, v in enumerate(store.states[lo])))
                compiled.predicate(p.expr, p.name)(state)
                raise InternalError(f"internal error: bfs-jit flagged a model error in "
                                    f"{p.name} that the explicit semantics do not raise")

    check_states(0, store.count)
    starts = [0, store.count]
    bound: str | None = None
    timeout = budget.timeout
    while starts[-1] > starts[-2] and bound is None:
        depth = len(starts) - 2
        if budget.max_depth is not None and depth >= budget.max_depth:
            bound = "depth"
            break
        lo, hi = starts[-2], starts[-1]
        count = store.count
        while lo < hi:
            stop = min(lo + CHUNK, hi)
            while lo < stop:
                lo, count, status = m.expand(store.states, lo, stop, count, store.table,
                                             store.limit, fired, dead, step_at, step_act,
                                             step_post, err, 0, no_target)
                store.count = count
                if status == 1:
                    store.grow(m)
                elif status == 2:
                    reference_error(int(err[1]), int(err[2]))
            if timeout is not None and time.perf_counter() - t_start > timeout:
                bound = "time"
                break
        if bound is not None:
            break
        if store.count == hi:
            break
        check_states(hi, store.count)
        starts.append(store.count)
        progress(Progress(store.count, len(starts) - 2, int(fired.sum()),
                          time.perf_counter() - t0, queue=store.count - hi))
        if (budget.max_states is not None and store.count >= budget.max_states):
            bound = "states"
    for j, p in enumerate(kernel.states_props):
        if state_found[j] >= 0 and p.name in asked:
            found[p.name] = (int(state_found[j]),)
    for j, p in enumerate(kernel.step_props):
        if step_at[j] >= 0 and p.name in asked:
            post = sum(int(v) << (64 * q) for q, v in enumerate(step_post[j]))
            found[p.name] = (int(step_at[j]), int(step_act[j]), post)
    if deadlock and dead[0] >= 0:
        found[deadlock[0]] = (int(dead[0]),)
    seconds = time.perf_counter() - t0
    exp = JitExploration(ts, kernel, store, starts, int(fired.sum()), seconds, bound,
                         [int(f) for f in fired], found, n_succ, numba.get_num_threads())
    progress(Progress(store.count, max(exp.depth, 0), exp.transitions, seconds, "done"))
    return exp


def result_of_jit(exp: JitExploration, prop: Property) -> CheckResult:
    """The verdict on ``prop`` (a safety property checked during ``exp``), as ``bfs`` gives it."""
    where = exp.found.get(prop.name)
    stats, coverage = exp.stats(), exp.coverage()
    extra: dict[str, object] = {"bytes_per_state": round(exp.bytes_per_state, 2),
                                "compile_seconds": round(exp.kernel.seconds, 3),
                                "jit_cache": "hit" if exp.kernel.cached else "miss",
                                "threads": exp.threads}
    ts = exp.ts

    def result(verdict: Verdict, steps: list[Step] | None = None, kind: str = "",
               bound: str | None = None) -> CheckResult:
        trace = None
        if steps is not None:
            trace = Trace(ts.name, ts.params, ts.knobs, prop.name, kind, tuple(steps))
            if isinstance(prop, DeadlockFree):
                trace = Trace(ts.name, ts.params, ts.knobs, prop.name, "lasso",
                              tuple(steps), loop=len(steps) - 1, note="no action is enabled")
        return CheckResult(property=prop.name, kind=prop.kind, engine=ENGINE, verdict=verdict,
                           stats=stats, trace=trace, bound=bound, coverage=coverage,
                           extra=extra)

    if isinstance(prop, Reachable):
        if where is not None:
            return result(Verdict.REACHABLE, exp.path(where[0]), "witness")
        return result(Verdict.UNREACHABLE) if exp.complete else \
            result(Verdict.UNKNOWN, bound=exp.bound)
    if where is None:
        return result(Verdict.HOLDS) if exp.complete else \
            result(Verdict.BOUNDED, bound=exp.bound)
    steps = exp.path(where[0])
    if len(where) == 3:
        inst = ts.actions[where[1]]
        steps.append(Step(inst.action, inst.args, exp.kernel.layout.unpack(where[2])))
    return result(Verdict.VIOLATED, steps, "counterexample")
