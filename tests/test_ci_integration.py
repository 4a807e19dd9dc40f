"""CI integration: progress in a pipe, the pytest plugin, JUnit and JSON summaries, and
the run's output files (trace-out note, unique HTML pages)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from mhpcheck.checker.result import Progress
from mhpcheck.cli.progress import interval_from_env, periodic_printer, progress_text

pytest_plugins = ["pytester"]

CHECK_MODEL = [sys.executable, "-c", "from mhpcheck.cli.main import main; main()"]


def check_model(*args: str, env: dict[str, str] | None = None,
                cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """check-model in a subprocess, stdout and stderr piped (as in CI)."""
    return subprocess.run([*CHECK_MODEL, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, cwd=cwd)


# -- progress when stderr is not a terminal -----------------------------------------------
def test_a_long_search_in_a_pipe_prints_periodic_progress_lines_on_stderr() -> None:
    got = check_model("check", "philosophers", "--param", "n=14", "-p", "mutex",
                      env={"MHP_PROGRESS_SECONDS": "0.25"})
    assert got.returncode == 0, got.stderr
    lines = [line for line in got.stderr.splitlines() if "progress:" in line]
    assert len(lines) >= 3, got.stderr
    periodic = [line for line in lines if "done" not in line]
    assert periodic and all(re.search(r"[\d,]+ states, depth \d+, queue [\d,]+, .*states/s, "
                                      r".*GB RSS, [\d.]+ s$", line) for line in periodic), lines
    assert "progress: done:" in lines[-1]
    assert "progress" not in got.stdout and "\r" not in got.stderr
    assert got.stdout.startswith("neighbours-never-both-eat: holds [bfs: ")


def test_quiet_silences_progress_in_a_pipe() -> None:
    got = check_model("check", "philosophers", "--param", "n=13", "-p", "mutex", "-q",
                      env={"MHP_PROGRESS_SECONDS": "0.05"})
    assert got.returncode == 0 and got.stderr == ""


def test_periodic_lines_come_at_most_every_interval_and_short_searches_stay_silent() -> None:
    now = [0.0]
    lines: list[str] = []
    show = periodic_printer(lines.append, 5.0, lambda: 2 << 30, lambda: now[0])
    for t in (0.5, 1.0, 4.9):  # the first interval has not passed
        now[0] = t
        show(Progress(100, 3, 200, t))
    assert lines == []
    now[0] = 5.0
    show(Progress(1000, 4, 3000, 5.0, queue=17))
    now[0] = 6.0
    show(Progress(1100, 4, 3300, 6.0))
    assert lines == ["  progress: 1,000 states, depth 4, queue 17, 3,000 transitions, "
                     "200 states/s, 2.0 GB RSS, 5.0 s"]
    show(Progress(1200, 5, 3600, 6.5, "done"))
    assert lines[-1].startswith("  progress: done: 1,200 states, depth 5")
    now[0] = 7.0  # a short search: no periodic line, so no final line either
    show(Progress(5, 1, 9, 0.1, "done"))
    assert len(lines) == 2


def test_a_symbolic_engines_note_stands_in_for_the_counts() -> None:
    assert progress_text(Progress(0, 5, 0, 2.0, "kind: not 5-inductive")) == \
        "kind: not 5-inductive, depth 5, 2.0 s"


def test_a_bad_interval_in_the_environment_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    for raw, want in (("2", 2.0), ("0.5", 0.5), ("0", 5.0), ("-1", 5.0), ("nan", 5.0),
                      ("inf", 5.0), ("soon", 5.0), ("", 5.0)):
        monkeypatch.setenv("MHP_PROGRESS_SECONDS", raw)
        assert interval_from_env() == want, raw
