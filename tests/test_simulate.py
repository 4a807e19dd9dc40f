"""Random simulation (engine ``simulate``, ``check-model simulate``): seeded walks that
find the textbook bugs bfs finds, the same walks for the same seed, and never a "holds"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from toys import Counter

from mhpcheck.checker.checker import Checker
from mhpcheck.checker.explicit.simulate import DEFAULT_DEPTH, DEFAULT_RUNS
from mhpcheck.checker.replay import replay
from mhpcheck.checker.result import Budget, CheckResult, Progress, Verdict
from mhpcheck.cli.main import main
from mhpcheck.cli.spec import load_spec, resolve
from mhpcheck.model.compile import check_fits
from mhpcheck.model.errors import (
    EXIT_ERROR,
    EXIT_INCONCLUSIVE,
    EXIT_OK,
    EXIT_VIOLATED,
    SpecError,
    UsageError,
)
from mhpcheck.model.system import Invariant, Reachable
from mhpcheck.registry import build_system

#: What a sample of the state space can never conclude.
CONCLUSIONS = (Verdict.HOLDS, Verdict.PROVED, Verdict.UNREACHABLE)


@pytest.fixture(scope="module")
def philosophers() -> Checker:
    return Checker(build_system("philosophers", {"n": 5}, {}))


@pytest.fixture(scope="module")
def broken_peterson() -> Checker:
    return Checker(build_system("peterson", {"n": 3}, {"broken": True}))


@pytest.fixture(scope="module")
def peterson() -> Checker:
    return Checker(build_system("peterson", {"n": 3}, {}))


@pytest.fixture(scope="module")
def counter() -> Checker:
    return Checker(Counter({"limit": 5}))


def _violates(checker: Checker, r: CheckResult) -> None:
    """``r`` is a violation whose trace replays and ends where the property fails."""
    assert r.verdict is Verdict.VIOLATED, r.message
    assert r.trace is not None
    replay(checker.ts, r.trace, checker.compiled)
    prop = checker.property(r.property)
    last = r.trace.steps[-1].state
    if isinstance(prop, Invariant):
        assert not checker.compiled.predicate(prop.expr)(last)
    else:  # deadlock: the last state has no successor
        assert checker.compiled.successors(last) == []


# -- finds what bfs finds ---------------------------------------------------------------

def test_finds_the_philosophers_deadlock_that_bfs_finds(philosophers: Checker) -> None:
    bfs = philosophers.check("deadlock-free", "bfs")
    sim = philosophers.check("deadlock-free", "simulate")
    assert bfs.verdict is sim.verdict is Verdict.VIOLATED
    _violates(philosophers, sim)
    assert sim.trace is not None and bfs.trace is not None
    assert sim.trace.kind == "lasso" and sim.trace.note == "no action is enabled"
    assert len(sim.trace) >= len(bfs.trace)  # bfs's is a shortest one
    assert sim.message.startswith("violated in run ") and "(seed 0," in sim.message


def test_finds_the_broken_peterson_mutex_violation_that_bfs_finds(
        broken_peterson: Checker) -> None:
    bfs = broken_peterson.check("mutual-exclusion", "bfs")
    sim = broken_peterson.check("mutual-exclusion", "simulate")
    assert bfs.verdict is sim.verdict is Verdict.VIOLATED
    _violates(broken_peterson, sim)
    assert sim.trace is not None and bfs.trace is not None
    assert len(sim.trace) >= len(bfs.trace)


def test_walk_depth_means_what_bfs_max_depth_means(counter: Checker) -> None:
    # below-three fails at x = 3, three steps deep: found with walks of depth 3, where
    # the walk at x = 2 checks its successors, not with walks of depth 2 (nor by bfs)
    for depth in range(5):
        budget = Budget(max_depth=depth)
        sim = counter.check("below-three", "simulate", budget)
        assert sim.verdict is counter.check("below-three", "bfs", budget).verdict
    r = counter.check("below-three", "simulate", Budget(max_depth=3))
    _violates(counter, r)
    assert r.trace is not None and len(r.trace) == 3


def test_a_step_invariant_is_broken_by_the_step_the_trace_ends_with(counter: Checker) -> None:
    r = counter.check("never-resets", "simulate")
    assert r.verdict is Verdict.VIOLATED and r.trace is not None
    replay(counter.ts, r.trace, counter.compiled)
    assert r.trace.steps[-1].action == "reset"


def test_a_target_found_is_reachable_with_a_witness(counter: Checker) -> None:
    r = counter.check("at-limit", "simulate")
    assert r.verdict is Verdict.REACHABLE and r.trace is not None
    assert r.trace.kind == "witness" and r.bound is None
    replay(counter.ts, r.trace, counter.compiled)
    assert r.trace.steps[-1].state == (5,)


# -- never a conclusion ---------------------------------------------------------------------

def test_no_violation_is_holds_up_to_bound_naming_runs_depth_and_seed(
        peterson: Checker) -> None:
    assert peterson.check("mutual-exclusion", "bfs").verdict is Verdict.HOLDS
    r = peterson.check("mutual-exclusion", "simulate")
    assert r.verdict is Verdict.BOUNDED and r.bound == "runs" and r.trace is None
    assert r.message == (f"no violation in {DEFAULT_RUNS} runs of depth {DEFAULT_DEPTH} "
                         "(seed 0)")
    r = peterson.check("mutual-exclusion", "simulate", Budget(max_depth=7), runs=3, seed=42)
    assert r.message == "no violation in 3 runs of depth 7 (seed 42)"
    assert r.extra["runs"] == 3 and r.stats.depth == 7


def test_a_target_not_found_is_unknown_never_unreachable(counter: Checker) -> None:
    assert counter.check("beyond", "bfs").verdict is Verdict.UNREACHABLE
    r = counter.check("beyond", "simulate")
    assert r.verdict is Verdict.UNKNOWN and r.bound == "runs"
    assert r.message.startswith("target not reached in 100 runs of depth 100")


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**40), runs=st.integers(1, 6), depth=st.integers(0, 12),
       prop=st.sampled_from(["below-three", "in-range", "moves-by-one-or-resets",
                             "never-resets", "at-limit", "beyond", "deadlock-free"]))
def test_simulate_never_concludes_and_every_trace_replays(
        counter: Checker, seed: int, runs: int, depth: int, prop: str) -> None:
    r = counter.check(prop, "simulate", Budget(max_depth=depth), runs=runs, seed=seed)
    assert r.verdict not in CONCLUSIONS
    assert (r.trace is None) == (r.verdict in (Verdict.BOUNDED, Verdict.UNKNOWN))
    if r.trace is not None:
        replay(counter.ts, r.trace, counter.compiled)
        assert len(r.trace) <= depth
    else:
        assert f"of depth {depth} (seed {seed})" in r.message


# -- deterministic --------------------------------------------------------------------------

def test_the_same_seed_gives_the_same_trace_and_message() -> None:
    def once(seed: int) -> CheckResult:
        fresh = Checker(build_system("philosophers", {"n": 5}, {}))
        return fresh.check("deadlock-free", "simulate", seed=seed)

    a, b = once(3), once(3)
    assert a.trace == b.trace and a.message == b.message
    assert (a.stats.distinct_states, a.stats.transitions) == \
        (b.stats.distinct_states, b.stats.transitions)
    assert a.coverage == b.coverage
    others = {once(seed).trace for seed in range(4, 9)}
    assert len(others | {a.trace}) > 1  # the seed chooses the walks


def test_a_property_gets_the_same_trace_alone_as_with_others(philosophers: Checker) -> None:
    alone = philosophers.check("deadlock-free", "simulate", seed=5)
    together = philosophers.check_many(
        ["neighbours-never-both-eat", "deadlock-free", "eating-holds-both-forks"],
        "simulate", seed=5)
    assert together[1].trace == alone.trace
    assert together[1].message == alone.message


# -- statistics, coverage, progress, bounds ---------------------------------------------

def test_coverage_counts_every_transition_of_every_action(peterson: Checker) -> None:
    r = peterson.check("mutual-exclusion", "simulate", runs=20)
    assert [a for a, _ in r.coverage] == [a.name for a in peterson.ts.action_infos]
    assert sum(n for _, n in r.coverage) == r.stats.transitions > 0
    assert r.never_fired == []
    assert r.extra["states_generated"] == r.stats.transitions + 20
    assert r.extra["steps"] == 20 * r.stats.depth
    assert isinstance(r.extra["states_per_second"], float)
    assert 0 < r.stats.distinct_states <= 288  # bfs's count: walks see part of it


def test_progress_ends_with_done(peterson: Checker) -> None:
    seen: list[Progress] = []
    r = peterson.check("mutual-exclusion", "simulate", progress=seen.append, runs=5)
    assert seen and seen[-1].note == "done"
    assert seen[-1].states == r.stats.distinct_states
    assert seen[-1].transitions == r.stats.transitions


def test_the_timeout_and_the_state_bound_end_the_walks(peterson: Checker) -> None:
    r = peterson.check("mutual-exclusion", "simulate", Budget(timeout=0.0), runs=10**6)
    assert r.verdict is Verdict.BOUNDED and r.bound == "time"
    assert "(of 1000000 asked)" in r.message
    r = peterson.check("mutual-exclusion", "simulate", Budget(max_states=50), runs=10**6)
    assert r.verdict is Verdict.BOUNDED and r.bound == "states"
    assert 50 <= r.stats.distinct_states < 288


def test_runs_and_seed_are_simulate_options_only(peterson: Checker) -> None:
    with pytest.raises(UsageError, match="runs must be 1 or more"):
        peterson.check("mutual-exclusion", "simulate", runs=0)
    with pytest.raises(UsageError, match="seed must not be negative"):
        peterson.check("mutual-exclusion", "simulate", seed=-1)
    with pytest.raises(UsageError, match=r"engine bfs takes no option runs.*simulate"):
        peterson.check("mutual-exclusion", "bfs", runs=5)
    with pytest.raises(UsageError, match="engine simulate takes no option symmetry"):
        peterson.check("mutual-exclusion", "simulate", symmetry=True)


# -- a hotplug instance too big for bfs -----------------------------------------------------

ALL_ACTORS = {"population": "V|L|B|f/V|P|L|X", "stray": "transient", "signals": True,
              "allocator": True, "walker": True, "forced_unload": True, "vmem_remove": True,
              "vmem_unplug": True, "vmem_plug": True, "notifier_veto": True,
              "hwpoison": True, "balloon_ops": True}
BIG = {"blocks": 2, "pageblocks": 4, "pages": 1, "spare": 3}


def test_a_large_hotplug_instance_is_walked_in_seconds() -> None:
    ts = build_system("hotplug", BIG, ALL_ACTORS, "skippable-v2")
    check_fits(ts)
    props = [p.name for p in ts.properties if isinstance(p, (Invariant, Reachable))]
    results = Checker(ts).check_many(props, "simulate", Budget(max_depth=60, timeout=120),
                                     runs=5, seed=1)
    for r in results:
        assert r.verdict not in CONCLUSIONS, r.property
        assert r.bound in ("runs", None), (r.property, r.bound)  # not cut by the timeout
        assert r.stats.transitions > 0
    assert sum(1 for _, n in results[0].coverage if n) >= 10  # many actors took steps


# -- the command line -----------------------------------------------------------------------

def run(*args: str) -> tuple[int, str, str]:
    got = CliRunner().invoke(main, list(args))
    return got.exit_code, got.stdout, got.stderr


def test_cli_exit_1_on_a_violation_and_the_trace_file_loads(tmp_path: Path) -> None:
    out = tmp_path / "t.json"
    code, stdout, _ = run("simulate", "philosophers", "-p", "deadlock-free", "--seed", "2",
                          "--trace-out", str(out), "-q")
    assert code == EXIT_VIOLATED
    assert stdout.startswith("deadlock-free: violated [simulate: ")
    assert "violated in run 1 of 100" in stdout and "states/s" in stdout
    assert "transitions per action:" in stdout and "take_left" in stdout
    code, shown, _ = run("trace", "show", str(out), "--ascii", "--no-map")
    assert code == EXIT_OK and "take_left" in shown
    again = tmp_path / "u.json"
    run("simulate", "philosophers", "-p", "deadlock-free", "--seed", "2",
        "--trace-out", str(again), "-q")
    assert out.read_bytes() == again.read_bytes()  # same seed, same file


def test_cli_exit_3_on_holds_up_to_bound() -> None:
    code, stdout, _ = run("simulate", "peterson", "-p", "mutex", "--runs", "7", "--depth",
                          "9", "--seed", "11", "-q")
    assert code == EXIT_INCONCLUSIVE
    assert "mutual-exclusion: holds-up-to-bound (runs)" in stdout
    assert "no violation in 7 runs of depth 9 (seed 11)" in stdout
    assert "63 steps taken" in stdout


def test_cli_json_has_the_walks_and_the_coverage() -> None:
    code, stdout, _ = run("simulate", "peterson", "--param", "n=3", "--set", "broken=true",
                          "-p", "mutex", "--runs", "50", "--json")
    assert code == EXIT_VIOLATED
    report = json.loads(stdout)
    assert report["engine"] == "simulate" and report["verdict"] == "violated"
    assert report["simulation"]["runs_asked"] == 50 and report["simulation"]["seed"] == 0
    assert set(report["coverage"]) == {"try", "victim", "up", "enter", "exit"}
    assert report["trace"] is not None and report["message"].startswith("violated in run")


def test_cli_own_reachable_expression_and_bad_options() -> None:
    code, stdout, _ = run("simulate", "philosophers", "--reachable-expr",
                          "pc[0] == eating", "-q")
    assert code == EXIT_OK and ": reachable [simulate:" in stdout
    assert run("simulate", "peterson", "-p", "mutex", "--runs", "0")[0] == EXIT_ERROR
    assert run("simulate", "peterson", "-p", "mutex", "--seed", "-1")[0] == EXIT_ERROR
    code, _, stderr = run("simulate", "peterson", "-p", "waiting-process-enters")
    assert code == EXIT_ERROR and "engine simulate does not check leads-to" in stderr


def test_check_takes_engine_simulate() -> None:
    code, stdout, _ = run("check", "peterson", "-p", "mutex", "-e", "simulate",
                          "--max-depth", "5", "-q")
    assert code == EXIT_INCONCLUSIVE
    assert "no violation in 100 runs of depth 5 (seed 0)" in stdout


# -- specs ----------------------------------------------------------------------------------

SPEC = """model = "peterson"
params = {{ n = 3 }}
knobs = {{ broken = true }}

[[check]]
property = "mutual-exclusion"
engine = "simulate"
{extra}
"""


def _spec(tmp_path: Path, extra: str) -> str:
    path = tmp_path / "sim.toml"
    path.write_text(SPEC.format(extra=extra))
    return str(path)


def test_a_spec_runs_simulate_with_runs_and_seed(tmp_path: Path) -> None:
    path = _spec(tmp_path, 'expect = "violated"\nruns = 30\nseed = 4\nmax_depth = 40')
    check = load_spec(path).checks[0]
    assert (check.runs, check.seed, check.budget.max_depth) == (30, 4, 40)
    resolve(load_spec(path))
    code, stdout, _ = run("run", path, "-q")
    assert code == EXIT_OK, stdout
    code, stdout, _ = run("run", _spec(tmp_path, 'expect = "holds-up-to-bound"\nruns = 1\n'
                                                 "max_depth = 2"), "-q")
    assert code == EXIT_OK, stdout


@pytest.mark.parametrize(("extra", "message"), [
    ('expect = "holds"', "engine simulate samples the state space and never concludes"),
    ('expect = "unreachable"', "never concludes 'unreachable'"),
    ('expect = "violated"\nruns = 0', "key 'runs' must be 1 or more"),
    ('expect = "violated"\nseed = -3', "key 'seed' must be 0 or more"),
    ('expect = "violated"\nseed = true', "key 'seed' must be an integer"),
])
def test_a_spec_check_simulate_cannot_meet_is_refused(tmp_path: Path, extra: str,
                                                      message: str) -> None:
    with pytest.raises(SpecError, match=message):
        load_spec(_spec(tmp_path, extra))


def test_runs_and_seed_on_another_engine_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "bfs.toml"
    path.write_text(SPEC.format(extra='expect = "violated"\nruns = 3').replace(
        'engine = "simulate"', 'engine = "bfs"'))
    with pytest.raises(SpecError, match="key 'runs': only engine simulate takes runs"):
        load_spec(path)
