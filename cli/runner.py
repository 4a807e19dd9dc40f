"""Run a spec's checks and judge each result against its expectation.

The checks of a spec with the same engine, bounds and options go to the ``Checker`` as
one batch: the explicit engines answer them from one exploration (liveness from one
that keeps the state graph), PDR lets their proofs reuse each other. The Checker
replays every trace.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mhpcheck.checker.checker import Checker
from mhpcheck.checker.result import Budget, CheckResult, ProgressFn, Verdict, no_progress
from mhpcheck.model.system import TransitionSystem

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


def run_checks(spec: Spec, ts: TransitionSystem,
               progress: ProgressFn = no_progress,
               on_outcome: Callable[[Outcome], None] = lambda _: None) -> list[Outcome]:
    """Run every check of ``spec`` on ``ts``; outcomes in the spec's order.

    Checks with the same engine, budget and options go to the Checker as one batch, so
    they share what that engine shares (one exploration, proved invariants)."""
    checker = Checker(ts)
    groups: dict[tuple[str, Budget, bool, tuple[str, ...], int | None, int | None],
                 list[int]] = {}
    for n, check in enumerate(spec.checks):
        key = (check.engine, check.budget, check.symmetry, check.invariants, check.runs,
               check.seed)
        groups.setdefault(key, []).append(n)
    results: dict[int, CheckResult] = {}
    for (engine, budget, symmetry, invariants, runs, seed), members in groups.items():
        props = [ts.property(spec.checks[n].property) for n in members]
        got = checker.check_many(props, engine, budget, progress, symmetry=symmetry,
                                 invariants=invariants, runs=runs, seed=seed)
        results.update(zip(members, got, strict=True))
    outcomes = []
    for n, check in enumerate(spec.checks):
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
