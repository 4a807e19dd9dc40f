"""bfs-dist, the search on Ray workers: the counts, depth, verdicts and trace lengths of
bfs-vec on a local cluster of two workers and on a two-node cluster started on this
machine; a worker killed mid-search ends the check with WorkerLost (exit 3)."""

from __future__ import annotations

import functools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from toys import Arrays

from mhpcheck.checker.checker import Checker
from mhpcheck.checker.engine import SAFETY
from mhpcheck.checker.explicit import distributed
from mhpcheck.checker.explicit.partition import owner, owners, split
from mhpcheck.checker.explicit.vector import state_keys
from mhpcheck.checker.result import CheckResult, Progress
from mhpcheck.cli.main import main
from mhpcheck.cli.spec import load_spec, resolve
from mhpcheck.model.errors import EXIT_INCONCLUSIVE, ModelError, UsageError
from mhpcheck.model.system import TransitionSystem
from mhpcheck.registry import build_system

SPECS = Path(__file__).parent.parent / "specs"
#: Every default-tier textbook spec that an explicit engine checks, and the hotplug
#: all-features ones (the largest default-tier configurations with every actor on).
EXPLICIT = frozenset({"bfs", "bfs-vec"})
SPEC_FILES = (*sorted(SPECS.glob("textbook/*.toml")),
              *sorted(SPECS.glob("hotplug/10-all-features/*.toml")))


@functools.cache
def _systems(paths: tuple[Path, ...]) -> dict[str, TransitionSystem]:
    """One system per distinct configuration among the specs."""
    out: dict[str, TransitionSystem] = {}
    seen: set[str] = set()
    for path in paths:
        spec = load_spec(path)
        if spec.tier != "default" or not any(c.engine in EXPLICIT for c in spec.checks):
            continue  # a proof at a size no search could finish (philosophers n = 64)
        config = repr((spec.model, spec.params, spec.knobs, spec.preset))
        if config not in seen:
            seen.add(config)
            out[path.stem] = resolve(spec)
    return out


def _safety(ts: TransitionSystem) -> list[str]:
    return [p.name for p in ts.properties if p.kind in SAFETY]


def _same(vec: list[CheckResult], dist: list[CheckResult]) -> None:
    for a, b in zip(vec, dist, strict=True):
        assert b.engine == "bfs-dist"
        assert (b.property, b.verdict, b.stats.distinct_states, b.stats.transitions,
                b.stats.depth, b.coverage, b.bound) == \
            (a.property, a.verdict, a.stats.distinct_states, a.stats.transitions,
             a.stats.depth, a.coverage, a.bound)
        assert (a.trace is None) == (b.trace is None)
        if a.trace is not None and b.trace is not None:
            assert len(b.trace.steps) == len(a.trace.steps), a.property


def test_owners_split_states_by_a_hash_of_their_key() -> None:
    words = np.arange(1000, dtype=np.uint64)
    who = owners(words, 3)
    assert set(who.tolist()) == {0, 1, 2}
    assert max(np.bincount(who)) < 400  # spread, although the words differ in low bits
    parts = split(words, words, 3)
    assert sum(len(p) for p in parts) == 1000
    for j, part in enumerate(parts):
        assert (owners(part, 3) == j).all()
        assert (np.diff(part.astype(np.int64)) > 0).all()  # the order is kept
    assert owner(int(words[7]), 3) == int(who[7])
    wide = np.stack([words, words[::-1]])
    assert sum(p.shape[-1] for p in split(state_keys(wide), wide, 2)) == 1000


@pytest.fixture(scope="module")
def local() -> Iterator[None]:
    distributed.connect(None)
    yield
    distributed.disconnect()


@pytest.mark.parametrize("key", list(_systems(SPEC_FILES)))
def test_two_local_workers_count_as_bfs_vec(local: None, key: str) -> None:
    ts = _systems(SPEC_FILES)[key]
    checker = Checker(ts)
    props = _safety(ts)
    _same(checker.check_many(props, "bfs-vec"),
          checker.check_many(props, "bfs-dist", workers=2))


def test_the_bounds_stop_the_search_where_bfs_vec_stops(local: None) -> None:
    from mhpcheck.checker.result import Budget
    checker = Checker(build_system("peterson", {"n": 3}))
    for budget in (Budget(max_depth=5), Budget(max_states=100)):
        _same(checker.check_many(["mutual-exclusion"], "bfs-vec", budget),
              checker.check_many(["mutual-exclusion"], "bfs-dist", budget, workers=2))


def test_a_model_error_in_a_worker_is_bfs_vecs_error(local: None) -> None:
    sys.path.insert(0, str(Path(__file__).parent))

    checker = Checker(Arrays({"n": 3}).build())
    props = _safety(checker.ts)
    with pytest.raises(ModelError) as vec:
        checker.check_many(props, "bfs-vec")
    with pytest.raises(ModelError) as dist:
        checker.check_many(props, "bfs-dist", workers=2)
    assert str(dist.value) == str(vec.value)
    assert distributed.current_workers() == []


def test_a_model_from_a_users_file_runs_on_workers_that_cannot_import_it(
        local: None) -> None:
    ring = Path(__file__).parent.parent / "examples" / "ring.py"
    ts = build_system(f"{ring}:RingBuffer", {}, {"forget_wrap": True})
    vec, dist = (Checker(ts).check("no-overwrite", e, **kw)
                 for e, kw in (("bfs-vec", {}), ("bfs-dist", {"workers": 2})))
    _same([vec], [dist])


def test_a_timeout_gives_a_bounded_result_never_holds(local: None) -> None:
    from mhpcheck.checker.result import Budget, Verdict
    r = Checker(build_system("peterson", {"n": 3})).check(
        "mutual-exclusion", "bfs-dist", Budget(timeout=0.0), workers=2)
    assert (r.verdict, r.bound) == (Verdict.BOUNDED, "time")


def test_workers_and_address_are_bfs_dist_options_only() -> None:
    got = CliRunner().invoke(main, ["check", "philosophers", "--param", "n=3", "-p",
                                    "deadlock-free", "--workers", "2"])
    assert got.exit_code == 2
    assert "engine bfs takes no option workers" in got.stderr


def test_a_spec_may_name_bfs_dist(local: None, tmp_path: Path) -> None:
    spec = tmp_path / "phil.toml"
    spec.write_text('model = "philosophers"\nparams = { n = 5 }\n[[check]]\n'
                    'property = "deadlock-free"\nengine = "bfs-dist"\nexpect = "violated"\n'
                    'expect_states = 82\nexpect_trace_length = 5\n')
    got = CliRunner().invoke(main, ["run", str(spec)])
    assert got.exit_code == 0, got.output


def test_the_cli_runs_bfs_dist_and_reports_each_workers_memory(local: None) -> None:
    got = CliRunner().invoke(main, ["check", "philosophers", "--param", "n=8", "-e",
                                    "bfs-dist", "--workers", "2", "-p", "deadlock-free"])
    assert got.exit_code == 1, got.output
    assert "deadlock-free: violated [bfs-dist: 1,154 states" in got.stdout
    got = CliRunner().invoke(main, ["check", "philosophers", "--param", "n=8", "-e",
                                    "bfs-dist", "--workers", "2", "-p", "deadlock-free",
                                    "--json"])
    spread = json.loads(got.stdout)["distributed"]
    assert spread["workers"] == 2 and len(spread["peak_rss_per_worker"]) == 2
    assert spread["bytes_sent_per_state"] > 0
    from mhpcheck.cli.progress import progress_text
    line = progress_text(Progress(10, 1, 20, 1.0, workers=(1 << 30, 1 << 29)))
    assert "workers 1.0 GB / 0.5 GB peak RSS" in line


def test_more_workers_than_cpus_is_a_usage_error(local: None) -> None:
    ts = build_system("philosophers", {"n": 3})
    with pytest.raises(UsageError, match="--workers 999: the Ray cluster has"):
        Checker(ts).check("deadlock-free", "bfs-dist", workers=999)


def test_workers_running_other_code_than_the_lead_are_refused(
        local: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # a worker with another partition hash would own states nobody looks for there
    monkeypatch.setattr(distributed, "code_fingerprint", lambda: "0123456789abcdef")
    ts = build_system("philosophers", {"n": 3})
    with pytest.raises(UsageError, match="runs other mhpcheck code than this process"):
        Checker(ts).check("deadlock-free", "bfs-dist", workers=2)
    assert distributed.current_workers() == []


def test_a_killed_worker_ends_the_check_with_worker_lost(local: None) -> None:
    ts = build_system("peterson", {"n": 4})

    def kill_one(p: Progress) -> None:
        if p.depth == 3 and p.note != "done":
            pid = distributed.current_workers()[1][0]
            os.kill(pid, signal.SIGKILL)

    with pytest.raises(distributed.WorkerLost) as err:
        Checker(ts).check("mutual-exclusion", "bfs-dist", progress=kill_one, workers=2)
    assert err.value.exit_code == EXIT_INCONCLUSIVE
    assert "a worker was lost" in str(err.value)
    # the cluster is still usable: the next search counts in full
    r = Checker(ts).check("mutual-exclusion", "bfs-dist", workers=2)
    assert r.stats.distinct_states == 4752


def test_an_address_where_no_cluster_listens_is_a_usage_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    got = CliRunner().invoke(main, ["check", "philosophers", "--param", "n=3", "-e",
                                    "bfs-dist", "--address", f"127.0.0.1:{port}", "-q",
                                    "-p", "deadlock-free"])
    assert got.exit_code == 2
    assert f"--address 127.0.0.1:{port}: no Ray cluster answers there" in got.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A head node and a second node on this machine, one CPU each; torn down after."""
    distributed.disconnect()
    ray = str(Path(sys.executable).parent / "ray")
    port = _free_port()
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    logs = tmp_path_factory.mktemp("ray")
    nodes: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str) -> Path:
        log = logs / f"{name}.log"
        nodes.append(subprocess.Popen([ray, "start", "--block", "--num-cpus=1", *args],
                                      stdout=log.open("wb"), stderr=subprocess.STDOUT,
                                      env=env))
        return log

    def wait_for(log: Path) -> None:
        for _ in range(600):
            if "Ray runtime started" in log.read_text(errors="replace"):
                return
            assert nodes[-1].poll() is None, log.read_text(errors="replace")
            time.sleep(0.1)
        pytest.fail(f"ray start did not start: {log.read_text(errors='replace')}")

    try:
        wait_for(start("head", "--head", f"--port={port}", "--include-dashboard=false"))
        wait_for(start("node", f"--address=127.0.0.1:{port}"))
        address = f"127.0.0.1:{port}"
        rt = distributed.connect(address)
        for _ in range(300):
            if distributed.cluster_cpus(rt) >= 2:
                break
            time.sleep(0.1)
        yield address
    finally:
        distributed.disconnect()
        for node in reversed(nodes):
            node.terminate()
        for node in nodes:
            try:
                node.wait(60)
            except subprocess.TimeoutExpired:
                node.kill()


CLUSTER_SPECS = (SPECS / "textbook/philosophers_broken_n5.toml",
                 SPECS / "textbook/peterson_n4.toml",
                 SPECS / "hotplug/10-all-features/skippable-v2-all-features.toml")


@pytest.mark.parametrize("key", list(_systems(CLUSTER_SPECS)))
def test_a_two_node_cluster_counts_as_bfs_vec(cluster: str, key: str) -> None:
    ts = _systems(CLUSTER_SPECS)[key]
    checker = Checker(ts)
    props = _safety(ts)
    seen: list[list[tuple[int, str]]] = []

    def where(p: Progress) -> None:
        if not seen:
            seen.append(distributed.current_workers())

    _same(checker.check_many(props, "bfs-vec"),
          checker.check_many(props, "bfs-dist", progress=where, address=cluster))
    assert len({node for _, node in seen[0]}) == 2  # one worker on each node
