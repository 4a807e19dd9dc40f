"""The distributed explicit engine, ``bfs-dist``: ``bfs-vec``'s level-at-a-time search
spread over Ray actors, each owning one hash partition of the visited set.

The lead (this process) keeps no states. Each level, every worker expands its share of
the frontier with the batch semantics (``vector.expand_chunk``), deduplicates the
successors, cuts them by owner (``partition.split``) and returns one numpy array per
owner; the arrays travel through Ray's object store straight to their owners, which
drop the states they have already seen and keep the rest as their share of the next
level. Levels are synchronous: the lead starts a level once every owner has absorbed
the last one, so depth and counts are exactly ``bfs-vec``'s.

Counterexamples: each partition keeps the BFS level of each of its states (as
``bfs-vec`` does), so a shortest run to a state at level ``d`` is rebuilt backwards:
every worker re-expands its states of level ``d - 1`` and names the smallest one that
reaches the head; the lead takes the smallest over the workers (``bfs-vec``'s choice)
and steps down to an initial state. The trace is then replayed by the Checker like
every other.

A worker that dies (its process or its node lost) ends the check with ``WorkerLost``
(a resource limit, exit 3): the states it owned are gone, so no count is reported.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import resource
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mhpcheck.model.errors import InternalError, MhpError, ResourceLimit, UsageError
from mhpcheck.model.system import (
    DeadlockFree,
    Invariant,
    Property,
    Reachable,
    StepInvariant,
    TransitionSystem,
)

from ..result import UNBOUNDED, Budget, CheckResult, Progress, ProgressFn, Stats, no_progress
from .partition import split
from .vector import (
    CHUNK,
    COMPACT,
    Found,
    VecExploration,
    Visited,
    _distinct,
    _eval,
    _Reference,
    expand_chunk,
    result_of_vec,
    state_keys,
)
from .vector_compile import BatchSystem, Packed, compile_batch, layout_of

ENGINE = "bfs-dist"

#: Ray's own chatter (usage statistics, log deduplication notes, the errors of tasks
#: whose results are dropped after a worker failed) kept off our stderr.
QUIET_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_DEDUP_LOGS": "0",
             "RAY_IGNORE_UNHANDLED_ERRORS": "1",
             "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"}


class WorkerLost(ResourceLimit):
    """A worker (its process or its machine) died during the search: the states it
    owned are lost, so the check ends without a result (exit 3)."""


@dataclass
class Report:
    """What a worker tells the lead after a step: new states it owns, properties it
    found violated (or targets reached), its memory."""

    new: int = 0
    found: dict[str, Found] = field(default_factory=dict)
    transitions: int = 0
    fired: list[int] = field(default_factory=list)
    sent: int = 0  # bytes of states sent to other workers in this step
    visited_bytes: int = 0
    peak_rss: int = 0
    cpu_seconds: float = 0.0  # the worker's CPU time so far (user and system)
    phases: dict[str, float] = field(default_factory=dict)  # wall seconds of this step's phases
    timed_out: bool = False


def code_fingerprint() -> str:
    """A hash of the code that decides where a state goes and what its successors are:
    a worker whose copy differs from the lead's would put states where others never
    look for them, and counts would be wrong without any error."""
    from . import partition, vector, vector_compile
    h = hashlib.sha256()
    for module in (partition, vector, vector_compile, sys.modules[__name__]):
        h.update(Path(str(module.__file__)).read_bytes())
    return h.hexdigest()[:16]


def _peak_rss() -> int:
    """This process's peak resident memory in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _cpu_seconds() -> float:
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


class Partition:
    """One worker: owns the states whose ``partition.owner`` is its index."""

    def __init__(self, index: int, n: int, ts: TransitionSystem,
                 properties: Sequence[Property]) -> None:
        self.index, self.n, self.ts = index, n, ts
        self.batch = compile_batch(ts, layout_of(ts))
        self.ref = _Reference(ts)
        self.props = list(properties)
        self.visited = Visited()
        self.frontier: Packed = np.zeros(0, np.uint64)
        self.cpu0 = _cpu_seconds()

    def pid(self) -> tuple[int, str, str]:
        """The worker's process id, Ray node (to see where it runs) and code fingerprint."""
        import ray
        return os.getpid(), str(ray.get_runtime_context().get_node_id()), code_fingerprint()

    def _report(self, **kw: Any) -> Report:
        return Report(visited_bytes=self.visited.nbytes, peak_rss=_peak_rss(),
                      cpu_seconds=_cpu_seconds() - self.cpu0, **kw)

    def _check_states(self, words: Packed, level: int, open_: set[str]) -> dict[str, Found]:
        """Invariants broken and targets reached among ``words`` (sorted by key)."""
        found: dict[str, Found] = {}
        layout = self.batch.layout
        for p in self.props:
            if p.name not in open_ or not isinstance(p, Invariant | Reachable):
                continue
            hit = _eval(self.batch.predicate(p.expr, p.name), self.ref, layout, p, words)
            if isinstance(p, Invariant):
                hit = ~hit
            if hit.any():
                found[p.name] = (layout.at(words, int(np.argmax(hit))), level)
        return found

    def absorb(self, level: int, open_: list[str], *parts: Packed) -> Report:
        """Keep the states of ``parts`` (each sorted by key) not seen yet as this
        worker's share of ``level``; check the state properties still ``open_`` on them."""
        parts_ = [p for p in parts if p.shape[-1]]
        if not parts_:
            self.frontier = self.frontier[..., :0]
            return self._report()
        t0 = time.perf_counter()
        keys, new = self.visited.unseen(*_distinct(parts_, runs=True))
        self.frontier = new
        found: dict[str, Found] = {}
        t1 = time.perf_counter()
        if new.shape[-1]:
            self.visited.add(keys, new, level)
        t2 = time.perf_counter()
        if new.shape[-1]:
            found = self._check_states(new, level, set(open_))
        t3 = time.perf_counter()
        return self._report(new=int(new.shape[-1]), found=found,
                            phases={"dedup_owner": t1 - t0, "store": t2 - t1,
                                    "check_states": t3 - t2})

    def expand(self, depth: int, open_: list[str], deadline: float | None) -> list[Any]:
        """The successors of this worker's frontier (at ``depth``), one array per owner,
        then a ``Report`` (transitions, step invariants broken, deadlocks, bytes sent)."""
        batch = self.batch
        still = set(open_)
        steps = [(p, batch.step_predicate(p.expr, p.name)) for p in self.props
                 if isinstance(p, StepInvariant) and p.name in still]
        deadlock = [p.name for p in self.props if isinstance(p, DeadlockFree)]
        deadlock = deadlock[:1] if deadlock and deadlock[0] in still else []
        found: dict[str, Found] = {}
        fired = [0] * len(self.ts.actions)
        parts: list[Packed] = []
        compacted = 0
        timed_out = False
        t0 = time.perf_counter()
        for lo in range(0, self.frontier.shape[-1], CHUNK):
            x = self.frontier[..., lo:lo + CHUNK]
            parts += expand_chunk(batch, self.ref, x, depth, steps, deadlock, fired, found)
            if sum(part.shape[-1] for part in parts) > max(COMPACT, 2 * compacted):
                parts = [_distinct(parts)[1]]
                compacted = parts[0].shape[-1]
            if deadline is not None and time.time() > deadline:
                timed_out = True
                break
        t1 = time.perf_counter()
        if parts and not timed_out:
            keys, rows = _distinct(parts)
        else:
            rows = self.frontier[..., :0]
            keys = state_keys(rows)
        t2 = time.perf_counter()
        out: list[Any] = split(keys, rows, self.n)
        t3 = time.perf_counter()
        sent = sum(int(p.nbytes) for j, p in enumerate(out) if j != self.index)
        report = self._report(transitions=sum(fired), fired=fired, found=found, sent=sent,
                              timed_out=timed_out,
                              phases={"expand": t1 - t0, "dedup_sender": t2 - t1,
                                      "split": t3 - t2})
        return [*out, report]

    def predecessors(self, level: int, heads: list[int]) -> dict[int, tuple[int, int]]:
        """For each of ``heads``: this worker's smallest state of ``level`` that reaches
        it in one step, and the action (``vector.best_predecessors``)."""
        from .vector import best_predecessors
        return best_predecessors(self.batch, self.visited.at_level(level), set(heads))


# --- the Ray session (one per process) ---------------------------------------------

_session: dict[str, Any] = {}


def _ray() -> Any:
    """The ``ray`` module, imported only when this engine runs, with its chatter off."""
    for k, v in QUIET_ENV.items():
        os.environ.setdefault(k, v)
    import ray
    return ray


def local_cpus() -> int:
    """The cores this process may run on (its affinity: a container's cpuset, taskset)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def connect(address: str | None) -> Any:
    """Join the Ray cluster at ``address``, or start one on this machine (no address):
    once per process; a different address leaves the old cluster first."""
    ray = _ray()
    where = address or "local"
    if ray.is_initialized() and _session.get("address") == where:
        return ray
    if ray.is_initialized():
        ray.shutdown()
    if address is not None:
        _reachable(address)
    kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                          "logging_level": logging.ERROR, "namespace": "mhpcheck"}
    if address is None:
        kw["num_cpus"] = local_cpus()
    try:
        ray.init(address=where, **kw)
    except (ConnectionError, RuntimeError, ValueError) as err:
        raise UsageError(f"--address {address}: cannot join the Ray cluster there: "
                         f"{str(err).splitlines()[0] if str(err) else type(err).__name__}"
                         ) from None
    _session["address"] = where
    return ray


def disconnect() -> None:
    """Leave the Ray cluster this process joined (a local one stops)."""
    if _session.pop("address", None) is not None:
        _ray().shutdown()


def current_workers() -> list[tuple[int, str]]:
    """The process id and Ray node of each worker of the search under way (for tests
    and for seeing where a search runs); empty when none runs."""
    pool = _session.get("workers")
    return list(pool.where) if pool is not None else []


def _reachable(address: str) -> None:
    """Refuse at once an address where nothing listens (Ray itself would retry for
    minutes)."""
    host, _, port = address.rpartition(":")
    if address.startswith(("ray://", "auto", "local")) or not port.isdigit():
        return
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=5).close()
    except OSError as err:
        raise UsageError(f"--address {address}: no Ray cluster answers there "
                         f"({err.strerror or err})") from None


def cluster_cpus(ray: Any) -> int:
    """The CPUs of the cluster joined (one worker each by default)."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def _first_line(err: BaseException) -> str:
    """The first line of an error's text that says something (Ray's run long)."""
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    return lines[0][:300] if lines else type(err).__name__


class Workers:
    """The lead's handles on the workers of one search; ``close`` ends them."""

    def __init__(self, ts: TransitionSystem, properties: Sequence[Property],
                 workers: int | None, address: str | None) -> None:
        self.ray = ray = connect(address)
        cpus = cluster_cpus(ray)
        n = cpus if workers is None else workers
        if n < 1:
            raise UsageError(f"--workers must be 1 or more, got {n}")
        if n > cpus:
            raise UsageError(f"--workers {n}: the Ray cluster has {cpus} CPUs "
                             f"(one worker each)")
        actor = ray.remote(num_cpus=1, max_restarts=0)(Partition)
        # the workers explore only: the model object behind the parametric form may live
        # in a user's file that no worker can import, so it stays with the lead
        ts_ref = ray.put(dataclasses.replace(ts, quantified=None))
        self.n = n
        self.handles = [actor.options(scheduling_strategy="SPREAD").remote(
            i, n, ts_ref, list(properties)) for i in range(n)]
        got = self.get([h.pid.remote() for h in self.handles])
        self.where: list[tuple[int, str]] = [(pid, node) for pid, node, _ in got]
        _session["workers"] = self
        ours = code_fingerprint()
        for pid, node, theirs in got:
            if theirs != ours:
                self.close()
                raise UsageError(
                    f"{ENGINE}: the worker on Ray node {node} (pid {pid}) runs other "
                    f"mhpcheck code than this process ({theirs} against {ours}): install "
                    f"the same mhpcheck on every machine of the cluster")

    def get(self, refs: Any) -> Any:
        """``ray.get``, with a dead worker turned into ``WorkerLost``."""
        ray = self.ray
        try:
            return ray.get(refs)
        except ray.exceptions.RayTaskError as err:
            # an error in the model (a read outside an array) is the user's, as in bfs-vec
            self.close()
            cause = getattr(err, "cause", None)
            if isinstance(cause, MhpError):
                raise cause from None
            raise InternalError(f"internal error: {ENGINE}: a worker failed: "
                                f"{_first_line(cause or err)}") from None
        except (ray.exceptions.RayActorError, ray.exceptions.ObjectLostError,
                ray.exceptions.WorkerCrashedError, ray.exceptions.OwnerDiedError) as err:
            self.close()
            raise WorkerLost(
                f"{ENGINE}: a worker was lost during the search "
                f"({type(err).__name__}: {_first_line(err)}); its states are gone, so "
                f"there is no result: rerun the check (exit 3)") from None

    def close(self) -> None:
        """End the workers (their memory is freed at once)."""
        for h in getattr(self, "handles", []):
            self.ray.kill(h)
        self.handles = []
        if _session.get("workers") is self:
            del _session["workers"]


@dataclass
class DistExploration(VecExploration):
    """``bfs-vec``'s exploration record, its visited set held by the workers."""

    workers: Workers | None = None
    workers_n: int = 0
    states: int = 0
    visited_bytes: int = 0
    sent: int = 0
    peak_rss: list[int] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def distinct_states(self) -> int:
        return self.states

    @property
    def bytes_per_state(self) -> float:
        return self.visited_bytes / max(1, self.states)

    def stats(self) -> Stats:
        return Stats(self.states, self.transitions, self.depth, round(self.seconds, 3))

    def _predecessors(self, level: int, heads: set[int]) -> dict[int, tuple[int, int]]:
        assert self.workers is not None
        w = self.workers
        best: dict[int, tuple[int, int]] = {}
        for part in w.get([h.predecessors.remote(level, sorted(heads)) for h in w.handles]):
            for head, pk in part.items():
                if head not in best or pk < best[head]:
                    best[head] = pk
        return best


def _rank(layout_key: Any, f: Found) -> tuple[Any, ...]:
    """The order in which findings of several workers are kept: the earliest level,
    then the smallest sort key (``bfs-vec``'s choice within a level)."""
    return (f[1], layout_key(f[0]), f)


def explore_dist(ts: TransitionSystem, properties: Sequence[Property] = (),
                 budget: Budget = UNBOUNDED, progress: ProgressFn = no_progress,
                 batch: BatchSystem | None = None, workers: int | None = None,
                 address: str | None = None,
                 started: float | None = None) -> DistExploration:
    """Explore ``ts`` level by level on Ray workers, checking safety ``properties``.

    The caller closes ``exploration.workers`` once it has the traces it needs."""
    t0 = time.perf_counter() if started is None else started
    if batch is None:
        batch = compile_batch(ts, layout_of(ts))
    layout = batch.layout
    pool = Workers(ts, properties, workers, address)
    n, handles = pool.n, pool.handles

    def key(word: int) -> int:
        return int(state_keys(layout.array([word]))[0])

    found: dict[str, Found] = {}
    names = [p.name for p in properties]
    fired = [0] * len(ts.actions)
    states = transitions = depth = sent = 0
    visited_bytes = [0] * n
    peak = [0] * n
    cpu = [0.0] * n
    phases: dict[str, float] = {}  # per phase: the slowest worker's seconds, summed over levels
    level_wall = 0.0  # the lead's wall seconds from starting a level to its last report

    def merge(rs: list[Report]) -> None:
        for i, r in enumerate(rs):
            visited_bytes[i] = max(visited_bytes[i], r.visited_bytes)
            peak[i] = max(peak[i], r.peak_rss)
            cpu[i] = max(cpu[i], r.cpu_seconds)
            for name, f in r.found.items():
                if name not in found or _rank(key, f) < _rank(key, found[name]):
                    found[name] = f

    def open_names() -> list[str]:
        return [m for m in names if m not in found]

    init_keys, init = _distinct([layout.pack_many(ts.init)])
    parts = split(init_keys, init, n)
    got: list[Report] = pool.get([h.absorb.remote(0, open_names(), parts[i])
                                  for i, h in enumerate(handles)])
    merge(got)
    states = frontier = sum(r.new for r in got)
    bound: str | None = None
    deadline = None if budget.timeout is None else \
        time.time() + budget.timeout - (time.perf_counter() - t0)
    while frontier and bound is None:
        if budget.max_depth is not None and depth >= budget.max_depth:
            bound = "depth"
            break
        still = open_names()
        t_level = time.perf_counter()
        outs = [h.expand.options(num_returns=n + 1).remote(depth, still, deadline)
                for h in handles]
        absorbed = [h.absorb.remote(depth + 1, still, *[outs[i][j] for i in range(n)])
                    for j, h in enumerate(handles)]
        expanded: list[Report] = pool.get([o[n] for o in outs])
        got = pool.get(absorbed)
        del outs, absorbed  # the level's batches leave the object store now
        level_wall += time.perf_counter() - t_level
        for rs in (expanded, got):
            for name in {k for r in rs for k in r.phases}:
                phases[name] = phases.get(name, 0.0) + max(r.phases.get(name, 0.0) for r in rs)
        if any(r.timed_out for r in expanded):
            bound = "time"
            break
        for r in expanded:
            transitions += r.transitions
            sent += r.sent
            fired = [a + b for a, b in zip(fired, r.fired, strict=True)]
        merge(expanded)
        merge(got)
        frontier = sum(r.new for r in got)
        if frontier:
            depth += 1
            states += frontier
        now = time.perf_counter()
        progress(Progress(states, depth, transitions, now - t0, queue=frontier,
                          workers=tuple(peak)))
        if deadline is not None and time.time() > deadline and frontier:
            bound = "time"
        if budget.max_states is not None and states >= budget.max_states and frontier:
            bound = "states"
    seconds = time.perf_counter() - t0
    progress(Progress(states, depth, transitions, seconds, "done"))
    return DistExploration(
        ts, batch, Visited(), transitions, depth, seconds, bound, fired, found,
        workers=pool, workers_n=n, states=states, visited_bytes=sum(visited_bytes), sent=sent,
        peak_rss=peak, cpu_seconds=cpu,
        phases={**phases, "levels_wall": level_wall})


def check(ts: TransitionSystem, properties: Sequence[Property], budget: Budget,
          progress: ProgressFn, batch: BatchSystem, workers: int | None,
          address: str | None) -> list[CheckResult]:
    """Check safety ``properties`` in one distributed exploration; the workers end
    once every trace is rebuilt."""
    started = time.perf_counter()
    exp = explore_dist(ts, properties, budget, progress, batch, workers, address, started)
    try:
        results = [result_of_vec(exp, p) for p in properties]
    finally:
        if exp.workers is not None:
            exp.workers.close()
    extra = {"bytes_per_state": round(exp.bytes_per_state, 2), "workers": exp.workers_n,
             "bytes_sent_per_state": round(exp.sent / max(1, exp.states), 2),
             "peak_rss_per_worker": exp.peak_rss,
             "cpu_seconds_per_worker": [round(c, 2) for c in exp.cpu_seconds],
             "phase_seconds": {k: round(v, 2) for k, v in exp.phases.items()}}
    return [dataclasses.replace(r, engine=ENGINE, extra=extra) for r in results]
