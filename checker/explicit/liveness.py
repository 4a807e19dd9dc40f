"""Liveness under weak fairness: ``P ~> Q`` and "every run eventually reaches Q".

On the full state graph: a counterexample is a fair run that reaches a ``P`` state and
then never meets ``Q``. Such a run ends in the ``¬Q`` part of the graph, either in a
state where no fair action instance is enabled (the run may stop there and stutter
for ever: actions not marked fair are never forced to happen) or in a strongly
connected component of ``¬Q`` states that is *fair*: every weakly fair action
instance that is enabled in all of its states is also taken on one of its internal
edges. Checking the
maximal components suffices for weak fairness: a sub-cycle of an unfair component is
unfair too (the starved action stays enabled everywhere and is still never taken).

The counterexample is a lasso: the shortest prefix to the ``P`` state, a path into the
component, and a loop through it that takes or passes a disabling state of every fair
action instance, so that it is itself a fair run.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from mhpcheck.model.system import LeadsTo, TransitionSystem
from mhpcheck.model.trace import Step, Trace

from ..result import UNBOUNDED, Budget, CheckResult, ProgressFn, Verdict, no_progress
from .bfs import ENGINE, Exploration, Graph, explore


def strongly_connected(n: int, nodes: Iterable[int],
                       succ: list[list[int]]) -> tuple[list[int], int]:
    """Tarjan's algorithm, iterative: a component number per node (-1 outside ``nodes``)."""
    comp = [-1] * n
    low = [0] * n
    num = [-1] * n
    on_stack = [False] * n
    stack: list[int] = []
    counter = 0
    n_comps = 0
    for root in nodes:
        if num[root] >= 0:
            continue
        work = [(root, 0)]
        num[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        while work:
            v, pos = work[-1]
            edges = succ[v]
            if pos < len(edges):
                work[-1] = (v, pos + 1)
                w = edges[pos]
                if num[w] < 0:
                    num[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack[w] = True
                    work.append((w, 0))
                elif on_stack[w] and num[w] < low[v]:
                    low[v] = num[w]
                continue
            work.pop()
            if work:
                u = work[-1][0]
                if low[v] < low[u]:
                    low[u] = low[v]
            if low[v] == num[v]:
                while True:
                    w = stack.pop()
                    on_stack[w] = False
                    comp[w] = n_comps
                    if w == v:
                        break
                n_comps += 1
    return comp, n_comps


class _Lasso:
    """Finds fair ``¬Q`` components and builds a fair loop through one."""

    def __init__(self, exp: Exploration, not_q: list[bool]) -> None:
        assert exp.graph is not None
        self.exp = exp
        self.graph: Graph = exp.graph
        self.not_q = not_q
        n = len(exp.states)
        expanded = self.graph.expanded
        self.fair = [inst.fair for inst in exp.ts.actions]
        # successors restricted to expanded ¬Q states
        self.inner: list[list[int]] = [[] for _ in range(n)]
        self.nodes = [i for i in range(expanded) if not_q[i]]
        for i in self.nodes:
            self.inner[i] = [j for j, _ in self.graph.edges(i) if j < expanded and not_q[j]]
        self.comp, n_comps = strongly_connected(n, self.nodes, self.inner)
        self.bad = [False] * n
        members: list[list[int]] = [[] for _ in range(n_comps)]
        for i in self.nodes:
            members[self.comp[i]].append(i)
        self.members = members
        for i in self.nodes:
            if self.stutters(i):
                self.bad[i] = True  # the run may stop here and stutter in ¬Q for ever
        for c, group in enumerate(members):
            if self._fair_cycle(c, group):
                for i in group:
                    self.bad[i] = True

    def stutters(self, i: int) -> bool:
        """No fair action instance is enabled in state ``i``: a fair run may stop there."""
        return not any(self.fair[k] for _, k in self.graph.edges(i))

    def _fair_cycle(self, c: int, group: list[int]) -> bool:
        first = group[0]
        if len(group) == 1 and first not in self.inner[first]:
            return False
        always_enabled: set[int] | None = None
        taken: set[int] = set()
        for i in group:
            enabled = {k for _, k in self.graph.edges(i) if self.fair[k]}
            always_enabled = enabled if always_enabled is None else always_enabled & enabled
            taken.update(k for j, k in self.graph.edges(i) if self.comp[j] == c and self.not_q[j])
        return not ((always_enabled or set()) - taken)

    def can_reach_bad(self) -> list[bool]:
        """¬Q states from which a bad (fair-cycle or deadlock) state is reachable in ¬Q."""
        pred: list[list[int]] = [[] for _ in range(len(self.inner))]
        for i in self.nodes:
            for j in self.inner[i]:
                pred[j].append(i)
        reach = list(self.bad)
        queue = deque(i for i in self.nodes if self.bad[i])
        while queue:
            j = queue.popleft()
            for i in pred[j]:
                if not reach[i]:
                    reach[i] = True
                    queue.append(i)
        return reach

    def path(self, src: int, goal: set[int], within: int | None) -> list[tuple[int, int]]:
        """Shortest ¬Q path from ``src`` to a ``goal`` state as (state, action) hops."""
        if src in goal:
            return []
        back: dict[int, tuple[int, int]] = {src: (-1, -1)}
        queue = deque([src])
        while queue:
            i = queue.popleft()
            for j, k in self.graph.edges(i):
                if j in back or not self.not_q[j] or j >= self.graph.expanded:
                    continue
                if within is not None and self.comp[j] != within:
                    continue
                back[j] = (i, k)
                if j in goal:
                    hops = []
                    while j != src:
                        i, k = back[j]
                        hops.append((j, k))
                        j = i
                    hops.reverse()
                    return hops
                queue.append(j)
        raise AssertionError("no path inside a strongly connected component")

    def fair_loop(self, entry: int) -> list[tuple[int, int]]:
        """A cycle from ``entry`` back to it that satisfies every fair action instance."""
        c = self.comp[entry]
        group = self.members[c]
        loop: list[tuple[int, int]] = []
        cur = entry
        taken: set[int] = set()
        visited = {entry}
        for k in sorted({k for i in group for _, k in self.graph.edges(i) if self.fair[k]}):
            if k in taken or any(k not in {a for _, a in self.graph.edges(v)} for v in visited):
                continue
            disabled_at = [v for v in group if all(a != k for _, a in self.graph.edges(v))]
            if disabled_at:
                hops = self.path(cur, set(disabled_at), c)
            else:
                sources = {i for i in group for j, a in self.graph.edges(i)
                           if a == k and self.comp[j] == c and self.not_q[j]}
                hops = self.path(cur, sources, c)
                at = hops[-1][0] if hops else cur
                target = next(j for j, a in self.graph.edges(at)
                              if a == k and self.comp[j] == c and self.not_q[j])
                hops.append((target, k))
            for v, a in hops:
                visited.add(v)
                taken.add(a)
            loop += hops
            cur = loop[-1][0] if loop else cur
        if cur != entry or not loop:
            if not loop:
                # one step that stays in the component closes the cycle
                j, k = next((j, k) for j, k in self.graph.edges(entry) if self.comp[j] == c
                            and self.not_q[j])
                loop.append((j, k))
                cur = j
            loop += self.path(cur, {entry}, c)
        return loop


def check_leads_to(ts: TransitionSystem, prop: LeadsTo, budget: Budget = UNBOUNDED,
                   progress: ProgressFn = no_progress,
                   exp: Exploration | None = None) -> CheckResult:
    """Check ``prop`` under weak fairness of the instances of actions marked fair."""
    if exp is None or exp.graph is None:
        exp = explore(ts, (), budget, progress, keep_graph=True)
    assert exp.graph is not None
    q = exp.compiled.predicate(prop.rhs, prop.name)
    p = exp.compiled.predicate(prop.lhs, prop.name)
    not_q = [not q(s) for s in exp.states]
    lasso = _Lasso(exp, not_q)
    reach = lasso.can_reach_bad()
    n_init = sum(1 for i in range(len(exp.states)) if exp.parent[i] < 0)
    candidates = range(n_init) if prop.from_init else range(len(exp.states))
    start = next((i for i in candidates if reach[i] and p(exp.states[i])), None)
    common = {"property": prop.name, "kind": prop.kind, "engine": ENGINE,
              "stats": exp.stats(), "coverage": exp.coverage()}
    if start is None:
        if exp.complete:
            return CheckResult(verdict=Verdict.HOLDS, **common)  # type: ignore[arg-type]
        return CheckResult(verdict=Verdict.BOUNDED, bound=exp.bound, **common)  # type: ignore[arg-type]
    bad = {i for i in lasso.nodes if lasso.bad[i]}
    steps = exp.path(start)
    hops = lasso.path(start, bad, None)
    entry = hops[-1][0] if hops else start

    def step(j: int, k: int) -> Step:
        inst = ts.actions[k]
        return Step(inst.action, inst.args, exp.states[j])

    steps += [step(j, k) for j, k in hops]
    if lasso.stutters(entry):
        stuck = ("no action is enabled" if exp.graph.start[entry] == exp.graph.start[entry + 1]
                 else "no fair action is enabled (the others need never happen)")
        trace = Trace(ts.name, ts.params, ts.knobs, prop.name, "lasso", tuple(steps),
                      loop=len(steps) - 1, note=f"the run stops in a state where {stuck} "
                      "and never reaches the goal")
    else:
        loop = lasso.fair_loop(entry)
        loop_start = len(steps) - 1
        steps += [step(j, k) for j, k in loop[:-1]]
        inst = ts.actions[loop[-1][1]]
        trace = Trace(ts.name, ts.params, ts.knobs, prop.name, "lasso", tuple(steps),
                      loop=loop_start, loop_action=(inst.action, inst.args),
                      note="a fair cycle that never reaches the goal")
    return CheckResult(verdict=Verdict.VIOLATED, trace=trace, **common)  # type: ignore[arg-type]
