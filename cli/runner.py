"""Run a spec's checks and judge each result against its expectation.

Checks that the explicit engine can answer from one exploration share it: every
safety check of a spec with the same bounds is answered by one BFS pass, and every
liveness check by one exploration that keeps the state graph. Other engines run one
check at a time through ``checker.engines.check``. Every trace is replayed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mhpcheck.checker.engines import check as engine_check
from mhpcheck.checker.engines import verified
from mhpcheck.checker.explicit.bfs import SAFETY_KINDS, explore, result_of
from mhpcheck.checker.explicit.liveness import check_leads_to
from mhpcheck.checker.explicit.vector import check_safety_vec
from mhpcheck.checker.result import Budget, CheckResult, ProgressFn, Verdict, no_progress
from mhpcheck.model.compile import compile_system
from mhpcheck.model.system import LeadsTo, TransitionSystem

from .spec import Check, Spec


@dataclass(frozen=True)
class Outcome:
    """A check, its result and the judgement: ok, mismatch or inconclusive."""

    spec: Spec
    check: Check
    result: CheckResult
    status: str  # "ok", "mismatch" or "inconclusive"
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def judge(check: Check, result: CheckResult) -> tuple[str, tuple[str, ...]]:
    """Compare ``result`` with what ``check`` expects."""
    problems: list[str] = []
    verdict = result.verdict
    if not verdict.satisfies(check.expect):
        if not verdict.conclusive and check.expect not in ("holds-up-to-bound", "unknown"):
            why = f" ({result.bound})" if result.bound else ""
            return "inconclusive", (f"expected {check.expect}, got {verdict.value}{why}",)
        problems.append(f"expected {check.expect}, got {verdict.value}")
    if check.expect_states is not None and result.stats.distinct_states != check.expect_states:
        problems.append(f"expected {check.expect_states} distinct states, "
                        f"got {result.stats.distinct_states}")
    if check.expect_trace_length is not None:
        got = None if result.trace is None else len(result.trace)
        if got != check.expect_trace_length:
            problems.append(f"expected a trace of {check.expect_trace_length} steps, got {got}")
    return ("mismatch" if problems else "ok"), tuple(problems)


def _bfs_group_key(check: Check) -> tuple[Budget, bool]:
    return check.budget, check.symmetry


def run_checks(spec: Spec, ts: TransitionSystem,
               progress: ProgressFn = no_progress,
               on_outcome: Callable[[Outcome], None] = lambda _: None) -> list[Outcome]:
    """Run every check of ``spec`` on ``ts``; outcomes in the spec's order."""
    compiled = compile_system(ts)
    results: dict[int, CheckResult] = {}
    safety_groups: dict[tuple[Budget, bool], list[int]] = {}
    liveness_groups: dict[tuple[Budget, bool], list[int]] = {}
    vec_groups: dict[tuple[Budget, bool], list[int]] = {}
    for n, check in enumerate(spec.checks):
        prop = ts.property(check.property)
        if check.engine == "bfs-vec" and isinstance(prop, SAFETY_KINDS):
            vec_groups.setdefault(_bfs_group_key(check), []).append(n)
        elif check.engine == "bfs" and isinstance(prop, SAFETY_KINDS):
            safety_groups.setdefault(_bfs_group_key(check), []).append(n)
        elif check.engine == "bfs" and isinstance(prop, LeadsTo):
            liveness_groups.setdefault(_bfs_group_key(check), []).append(n)
    for (budget, symmetry), members in safety_groups.items():
        props = [ts.property(spec.checks[n].property) for n in members]
        exp = explore(ts, props, budget, progress, compiled, symmetry=symmetry)
        for n, prop in zip(members, props, strict=True):
            results[n] = verified(ts, result_of(exp, prop))
    for (budget, _), members in vec_groups.items():  # bfs-vec: one pass per budget too
        props = [ts.property(spec.checks[n].property) for n in members]
        for n, result in zip(members, check_safety_vec(ts, props, budget, progress), strict=True):
            results[n] = verified(ts, result)
    for (budget, _), members in liveness_groups.items():
        exp = explore(ts, (), budget, progress, compiled, keep_graph=True)
        for n in members:
            prop = ts.property(spec.checks[n].property)
            assert isinstance(prop, LeadsTo)
            results[n] = verified(ts, check_leads_to(ts, prop, budget, progress, exp))
    outcomes = []
    for n, check in enumerate(spec.checks):
        if n not in results:
            prop = ts.property(check.property)
            results[n] = engine_check(ts, prop, check.engine, check.budget, progress,
                                      invariants=check.invariants)
        status, problems = judge(check, results[n])
        outcome = Outcome(spec, check, results[n], status, problems)
        on_outcome(outcome)
        outcomes.append(outcome)
    return outcomes


def exit_code(outcomes: list[Outcome]) -> int:
    """0 all as expected, 1 any mismatch, 3 inconclusive (and no mismatch)."""
    if any(o.status == "mismatch" for o in outcomes):
        return 1
    if any(o.status == "inconclusive" for o in outcomes):
        return 3
    return 0


__all__ = ["Outcome", "Verdict", "exit_code", "judge", "run_checks"]
