"""The Promela exporter: the twin's shape, and SPIN's counts where SPIN is installed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT
from test_fast_models import Shifted, Starts

from mhpcheck.checker.explicit.bfs import explore
from mhpcheck.cli.main import main
from mhpcheck.model.promela import export_promela
from mhpcheck.model.system import TransitionSystem
from mhpcheck.registry import build_system

HAVE_SPIN = shutil.which("spin") is not None and shutil.which("gcc") is not None
needs_spin = pytest.mark.skipif(not HAVE_SPIN, reason="spin and gcc are not installed")
#: SPIN 6.5's "states, stored" for the Promela twins, as measured with pan -DBFS.
COUNTS = ROOT / "tests/data/spin_counts.json"


def test_twin_is_one_process_looping_over_d_steps() -> None:
    ts = build_system("philosophers", {"n": 3})
    twin = export_promela(ts)
    text = twin.text
    assert twin.spin_offset == 0
    assert text.count("active proctype") == 1
    assert text.count(":: d_step {") == len(ts.actions) == 9
    assert "byte pc[3];" in text and "bit fork[3];" in text
    assert "/* take_left(i=0) */" in text
    assert re.search(r"^\s*do$", text, re.M) and re.search(r"^\s*od$", text, re.M)


def test_initial_values_are_declaration_initialisers() -> None:
    text = export_promela(Shifted({"n": 3}).build()).text
    assert "short x = 1;" in text  # a negative range needs a signed type
    assert "byte a_0 = 2;" in text and "byte a_2 = 0;" in text  # differing: one per element
    assert "byte p;" in text
    assert "mhp_t0 = 0" in text  # swap reads what it writes: temporaries, reset


def test_several_initial_states_cost_spin_one_state() -> None:
    twin = export_promela(Starts({"n": 2}).build())
    assert twin.spin_offset == 1
    assert "  if\n" in twin.text


def test_invariants_become_assertions() -> None:
    ts = build_system("peterson", {"n": 3})
    text = export_promela(ts, invariants=True).text
    assert text.count("assert(") >= len(ts.actions)


def test_negations_never_print_as_spins_send_operator() -> None:
    # A negated negation or a negated implication once printed as `!!`, which SPIN
    # parses as a channel send and rejects.
    ts = build_system("hotplug", {"pageblocks": 1}, {"population": "V"}, "skippable-v2")
    text = export_promela(ts, invariants=True).text
    assert "assert(" in text
    assert "!!" not in text


def test_cli_export_writes_the_twin(tmp_path: Path) -> None:
    out = tmp_path / "p.pml"
    r = CliRunner().invoke(main, ["export", "peterson", "--param", "n=3", "--format",
                                  "promela", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_text() == export_promela(build_system("peterson", {"n": 3})).text
    r = CliRunner().invoke(main, ["export", "philosophers", "--param", "n=2",
                                  "--set", "broken=true"])
    assert r.exit_code == 0 and "broken=True" in r.output
    r = CliRunner().invoke(main, ["export", "nosuch"])
    assert r.exit_code == 2


# -- SPIN itself ----------------------------------------------------------------------------

def spin_counts(text: str, workdir: Path) -> tuple[int, int, str]:
    """SPIN's stored states and transitions for ``text`` (exhaustive, no reduction, BFS)."""
    (workdir / "m.pml").write_text(text)
    subprocess.run(["spin", "-o2", "-a", "m.pml"], cwd=workdir, check=True, capture_output=True)
    subprocess.run(["gcc", "-O1", "-DSAFETY", "-DNOREDUCE", "-DBFS", "-o", "pan", "pan.c"],
                   cwd=workdir, check=True, capture_output=True)
    out = subprocess.run(["./pan", "-c0", "-n", "-w18"], cwd=workdir, check=True,
                         capture_output=True, text=True).stdout
    stored = re.search(r"(\d+) states, stored", out)
    trans = re.search(r"(\d+) transitions", out)
    assert stored and trans, out
    return int(stored.group(1)), int(trans.group(1)), out


def _ours(ts: TransitionSystem) -> tuple[int, int]:
    exp = explore(ts)
    return len(exp.states), exp.transitions


@needs_spin
@pytest.mark.parametrize(("name", "n"), [("philosophers", 3), ("philosophers", 7),
                                         ("peterson", 2), ("peterson", 4)])
def test_spin_counts_equal_counts_json(name: str, n: int, tmp_path: Path) -> None:
    ts = build_system(name, {"n": n})
    stored, transitions, _ = spin_counts(export_promela(ts).text, tmp_path)
    ours, our_transitions = _ours(ts)
    assert stored == ours
    assert transitions - 1 == our_transitions
    assert json.loads(COUNTS.read_text())[name][str(n)] == stored


@needs_spin
@pytest.mark.parametrize("model", [Shifted({"n": 2}), Shifted({"n": 3}), Starts({"n": 3})])
def test_spin_counts_equal_ours_on_shifted_initial_states(model: Shifted,
                                                           tmp_path: Path) -> None:
    ts = model.build()
    twin = export_promela(ts)
    stored, transitions, out = spin_counts(twin.text, tmp_path)
    ours, our_transitions = _ours(ts)
    assert stored == ours + twin.spin_offset
    assert transitions - 1 == our_transitions + len(ts.init) * twin.spin_offset
    assert "errors: 0" in out  # no domain assertion fails


@needs_spin
def test_spin_finds_the_broken_lock_through_the_asserted_invariant(tmp_path: Path) -> None:
    ts = build_system("peterson", {"n": 3}, {"broken": True})
    _, _, out = spin_counts(export_promela(ts, invariants=True).text, tmp_path)
    assert "assertion violated" in out


@needs_spin
def test_spin_accepts_the_hotplug_twin_with_its_invariants(tmp_path: Path) -> None:
    ts = build_system("hotplug", {"pageblocks": 1}, {"population": "V"}, "skippable-v2")
    stored, _, out = spin_counts(export_promela(ts, invariants=True).text, tmp_path)
    assert stored == _ours(ts)[0]
    assert "errors: 0" in out


@needs_spin
def test_spin_counts_states_that_differ_only_in_a_global_nothing_reads(tmp_path: Path) -> None:
    # Here no action reads the pageblock's isolated flag nor the ghost unload_clean:
    # plain `spin -a` drops both from the state vector and stores 270, one short.
    knobs = {"population": "V", "forced_unload": True, "stray": "transient",
             "kthread_offline": True}
    ts = build_system("hotplug", {"pageblocks": 1}, knobs, "legacy")
    twin = export_promela(ts)
    assert "spin -o2 -a" in twin.text
    stored, transitions, _ = spin_counts(twin.text, tmp_path)
    assert (stored, transitions - 1) == _ours(ts)
    assert stored == 271
