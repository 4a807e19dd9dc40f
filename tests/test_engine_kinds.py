"""Every engine on every property kind: a real result from the engine asked, or the one
``Unsupported`` error (exit 2), decided from the engine's declared kinds before it runs."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence

import pytest
from click.testing import CliRunner
from test_public_api import Counter

from mhpcheck.checker.checker import ENGINES, KINDS, Checker, engines_for, exit_code
from mhpcheck.checker.engine import Run
from mhpcheck.checker.result import Budget, CheckResult, ProgressFn, Stats, Verdict
from mhpcheck.cli.main import main
from mhpcheck.model.errors import EXIT_ERROR, InternalError, Unsupported, UsageError
from mhpcheck.model.system import Invariant, Property
from mhpcheck.model.trace import Step, Trace
from mhpcheck.registry import register, unregister

#: One property of Counter per kind.
PROPERTY = {"invariant": "below-limit", "step-invariant": "moves-by-one-or-wraps",
            "reachable": "at-limit", "deadlock": "deadlock-free",
            "leads-to": "one-leads-to-limit", "eventually": "reaches-limit"}
BUDGET = Budget(max_depth=8, timeout=60)
PAIRS = [(e, k) for e in ENGINES for k in KINDS]


def test_every_kind_has_a_property_and_an_engine() -> None:
    ts = Counter().build()
    for kind in KINDS:
        assert ts.property(PROPERTY[kind]).kind == kind
        assert engines_for(kind), kind


@pytest.fixture(scope="module")
def checker() -> Checker:
    return Checker(Counter())


@pytest.fixture(scope="module")
def exhaustive(checker: Checker) -> dict[str, Verdict]:
    return {k: checker.check(PROPERTY[k], "bfs").verdict for k in KINDS}


@pytest.fixture(scope="module", autouse=True)
def registered() -> Iterator[None]:
    register(Counter.name, Counter)
    yield
    unregister(Counter.name)


def _compatible(got: Verdict, exhaustive: Verdict) -> bool:
    """An engine may prove what bfs found to hold, or stop at a bound or "unknown"."""
    return got in (exhaustive, Verdict.BOUNDED, Verdict.UNKNOWN) or (
        got is Verdict.PROVED and exhaustive is Verdict.HOLDS)


@pytest.mark.parametrize(("engine", "kind"), PAIRS)
def test_engine_gives_a_result_or_the_unsupported_error(
        checker: Checker, exhaustive: dict[str, Verdict], engine: str, kind: str) -> None:
    prop = PROPERTY[kind]
    if kind not in ENGINES[engine].kinds:
        with pytest.raises(Unsupported) as err:
            checker.check(prop, engine, BUDGET)
        assert str(err.value) == str(Unsupported(engine, kind, prop, engines_for(kind)))
        assert err.value.exit_code == EXIT_ERROR
        return
    r = checker.check(prop, engine, BUDGET)
    assert (r.engine, r.property, r.kind) == (engine, prop, kind)
    assert _compatible(r.verdict, exhaustive[kind]), (engine, kind, r.verdict, r.message)


@pytest.mark.parametrize(("engine", "kind"), PAIRS)
def test_the_cli_names_the_engine_asked_or_exits_2(
        exhaustive: dict[str, Verdict], engine: str, kind: str) -> None:
    prop = PROPERTY[kind]
    got = CliRunner().invoke(main, ["check", Counter.name, "-p", prop, "-e", engine,
                                    "--max-depth", "8", "--timeout", "60", "--json", "-q"])
    if kind not in ENGINES[engine].kinds:
        assert got.exit_code == EXIT_ERROR
        assert str(Unsupported(engine, kind, prop, engines_for(kind))) in got.stderr
        return
    report = json.loads(got.stdout)
    assert report["engine"] == engine
    assert got.exit_code == exit_code(Verdict(report["verdict"]))


def test_the_text_report_names_the_engine_the_json_names() -> None:
    got = CliRunner().invoke(main, ["check", Counter.name, "-p", "below-limit", "-e",
                                    "bfs-vec", "-q"])
    assert "[bfs-vec:" in got.stdout


def test_an_option_the_engine_does_not_take_is_refused_before_it_runs(
        checker: Checker) -> None:
    with pytest.raises(UsageError, match="engine bmc takes no option symmetry"):
        checker.check("below-limit", "bmc", symmetry=True)
    with pytest.raises(UsageError, match="engine bfs takes no option symmetry for leads-to"):
        checker.check("one-leads-to-limit", "bfs", symmetry=True)
    with pytest.raises(UsageError, match="engine pdr takes no option invariants"):
        checker.check("below-limit", "pdr", invariants=("below-two",))


def test_an_unknown_engine_lists_the_engines(checker: Checker) -> None:
    with pytest.raises(UsageError, match=r"unknown engine 'dfs'.*pdr-spacer"):
        checker.check("below-limit", "dfs")


def test_properties_left_when_the_total_time_runs_out_are_not_run(checker: Checker) -> None:
    results = checker.check_many(["below-limit", "at-limit"], "kind", total_timeout=0.0)
    assert [(r.verdict, r.bound, r.engine) for r in results] == [
        (Verdict.UNKNOWN, "time", "kind")] * 2
    assert all("not run" in r.message for r in results)


class Liar:
    """An engine that answers with whatever it is given: to see the Checker catch it."""

    name = "liar"
    kinds = frozenset(KINDS)
    options: Mapping[str, frozenset[str]] = {}
    batch = False

    def __init__(self, answer: CheckResult) -> None:
        self.answer = answer

    def check(self, run: Run, props: Sequence[Property], budget: Budget,
              progress: ProgressFn) -> list[CheckResult]:
        return [self.answer]


def _lie(monkeypatch: pytest.MonkeyPatch, answer: CheckResult) -> None:
    monkeypatch.setitem(ENGINES, "liar", Liar(answer))


def test_a_trace_that_does_not_replay_is_an_internal_error(
        checker: Checker, monkeypatch: pytest.MonkeyPatch) -> None:
    ts = checker.ts
    jump = Trace(ts.name, ts.params, ts.knobs, "below-limit", "counterexample",
                 (Step(None, (), (0,)), Step("inc", (), (2,))))
    _lie(monkeypatch, CheckResult("below-limit", "invariant", "liar", Verdict.VIOLATED,
                                  Stats(), trace=jump))
    with pytest.raises(InternalError, match="does not replay"):
        checker.check("below-limit", "liar")


@pytest.mark.parametrize(("prop", "kind", "verdict", "trace", "why"), [
    ("below-two", "invariant", Verdict.VIOLATED, [0, 1], "holds in the trace's last state"),
    ("at-limit", "reachable", Verdict.REACHABLE, [0, 1], "does not hold in the trace's last"),
    ("moves-by-one-or-wraps", "step-invariant", Verdict.VIOLATED, [0, 1],
     "holds on the trace's last step"),
])
def test_a_trace_that_replays_but_does_not_show_the_verdict_is_an_internal_error(
        checker: Checker, monkeypatch: pytest.MonkeyPatch, prop: str, kind: str,
        verdict: Verdict, trace: list[int], why: str) -> None:
    ts = checker.ts
    steps = (Step(None, (), (trace[0],)), *(Step("inc", (), (x,)) for x in trace[1:]))
    fake = Trace(ts.name, ts.params, ts.knobs, prop, "counterexample", steps)
    _lie(monkeypatch, CheckResult(prop, kind, "liar", verdict, Stats(), trace=fake))
    with pytest.raises(InternalError, match=f"does not show it {verdict}: .*{why}"):
        checker.check(prop, "liar")


def test_a_lasso_that_reaches_the_right_side_is_no_leads_to_counterexample(
        checker: Checker, monkeypatch: pytest.MonkeyPatch) -> None:
    ts = checker.ts  # limit 3: 0 -> 1 -> 2 -> 3 -> 0 loops through x == 3
    steps = (Step(None, (), (0,)), *(Step("inc", (), (x,)) for x in (1, 2, 3)))
    fake = Trace(ts.name, ts.params, ts.knobs, "one-leads-to-limit", "counterexample",
                 steps, loop=0, loop_action=("wrap", ()))
    _lie(monkeypatch, CheckResult("one-leads-to-limit", "leads-to", "liar", Verdict.VIOLATED,
                                  Stats(), trace=fake))
    with pytest.raises(InternalError, match="right side false from there on"):
        checker.check("one-leads-to-limit", "liar")


def test_a_certificate_that_fails_the_recheck_is_an_internal_error(
        checker: Checker, monkeypatch: pytest.MonkeyPatch) -> None:
    prop = checker.property("below-two")  # violated: no invariant can prove it
    assert isinstance(prop, Invariant)
    _lie(monkeypatch, CheckResult("below-two", "invariant", "liar", Verdict.PROVED, Stats(),
                                  certificate="x < 2", extra={"invariant": prop.expr}))
    with pytest.raises(InternalError, match="fails the re-check"):
        checker.check("below-two", "liar")


def test_an_answer_under_another_engine_name_is_an_internal_error(
        checker: Checker, monkeypatch: pytest.MonkeyPatch) -> None:
    _lie(monkeypatch, CheckResult("below-limit", "invariant", "bfs", Verdict.HOLDS, Stats()))
    with pytest.raises(InternalError, match="engine liar answered"):
        checker.check("below-limit", "liar")
