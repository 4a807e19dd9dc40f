"""CI integration: progress in a pipe, the pytest plugin, JUnit and JSON summaries, and
the run's output files (trace-out note, unique HTML pages)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from mhpcheck.checker.checker import Checker
from mhpcheck.checker.result import Budget, Progress
from mhpcheck.cli.ci import reproduce_command
from mhpcheck.cli.main import main
from mhpcheck.cli.progress import interval_from_env, periodic_printer, progress_text
from mhpcheck.cli.spec import parse_spec
from mhpcheck.cli.trace_cmd import write_html_pages
from mhpcheck.registry import build_system

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
    # The search of the test above, which prints progress lines without --quiet.
    got = check_model("check", "philosophers", "--param", "n=14", "-p", "mutex", "-q",
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


# -- spec files for the plugin and run --junit --------------------------------------------
#: check 1 pins a wrong state count (34 is right): a mismatch; check 2 is as expected.
FAILING = """model = "philosophers"
params = { n = 4 }

[[check]]
property = "deadlock-free"
expect = "violated"
expect_states = 35
expect_trace_length = 4

[[check]]
property = "mutex"
expect = "holds"
"""
SLOW = """model = "philosophers"
params = { n = 3 }
tier = "slow"

[[check]]
property = "mutex"
expect = "holds"
"""
NOT_SPECS = {"pyproject.toml": '[project]\nname = "x"\n',
             "other.toml": 'model = "philosophers"\n[settings]\ncheck = 1\n'}


def spec_tree(root: Path, others: bool = True) -> Path:
    """``root/specs`` with a failing spec, a slow-tier spec and (``others``) two TOML
    files that are not specs (one has a ``model`` key but no ``[[check]]`` tables)."""
    (root / "specs" / "textbook").mkdir(parents=True)
    (root / "specs" / "slow").mkdir()
    (root / "specs" / "textbook" / "phil.toml").write_text(FAILING)
    (root / "specs" / "slow" / "phil.toml").write_text(SLOW)
    for name, text in NOT_SPECS.items() if others else ():
        (root / "specs" / name).write_text(text)
    return root / "specs"


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_the_plugin_runs_each_check_as_an_item_and_explains_a_failure(
        pytester: pytest.Pytester) -> None:
    spec_tree(pytester.path)
    got = pytester.runpytest("specs", "-rs")
    got.assert_outcomes(passed=1, failed=1, skipped=1)
    out = got.stdout.str()
    assert "phil.toml::check1:deadlock-free" in out
    assert "specs/textbook/phil.toml check[1] deadlock-free (engine bfs): mismatch" in out
    assert "expected: violated, 35 distinct states, a trace of 4 steps" in out
    assert "actual:   violated, 34 distinct states, a trace of 4 steps" in out
    assert "problem:  expected 35 distinct states, got 34" in out
    assert "trace (lasso, 4 steps): take_left(i=0) -> take_left(i=1)" in out
    assert "reproduce: check-model check philosophers --param n=4 -p deadlock-free -e bfs" \
        in out
    assert "tier slow (run it with --mhp-tier slow or --mhp-tier all)" in out
    assert "Traceback" not in out and "pyproject.toml::" not in out and "other.toml" not in out


def test_the_plugin_runs_other_tiers_when_asked(pytester: pytest.Pytester) -> None:
    spec_tree(pytester.path)
    pytester.runpytest("specs", "--mhp-tier", "all").assert_outcomes(passed=2, failed=1)
    pytester.runpytest("specs", "--mhp-tier", "slow").assert_outcomes(passed=1, skipped=2)


def test_the_plugin_runs_only_the_selected_checks(pytester: pytest.Pytester) -> None:
    spec_tree(pytester.path)
    got = pytester.runpytest("specs/textbook/phil.toml::check2:mutex")
    got.assert_outcomes(passed=1)


def test_spec_files_are_not_collected_from_testpaths_unless_asked(
        pytester: pytest.Pytester) -> None:
    spec_tree(pytester.path)
    pytester.makeini("[pytest]\ntestpaths = specs\n")
    got = pytester.runpytest()
    assert got.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    pytester.runpytest("--mhp-specs").assert_outcomes(passed=1, failed=1, skipped=1)
    pytester.makeini("[pytest]\ntestpaths = specs\nmhp_specs = true\n")
    pytester.runpytest().assert_outcomes(passed=1, failed=1, skipped=1)


def test_a_broken_spec_is_a_one_line_collection_error(pytester: pytest.Pytester) -> None:
    (pytester.path / "specs").mkdir()
    (pytester.path / "specs" / "bad.toml").write_text(
        FAILING.replace('expect = "holds"', 'expect = "fine"'))
    got = pytester.runpytest("specs")
    got.assert_outcomes(errors=1)
    assert "check[2]: key 'expect' must be one of" in got.stdout.str()
    assert "Traceback" not in got.stdout.str()


def test_pytest_junitxml_has_a_testcase_per_check(pytester: pytest.Pytester) -> None:
    spec_tree(pytester.path)
    pytester.makeini("[pytest]\n")  # the root folder: class names start with specs.
    pytester.runpytest("specs", "--junitxml=report.xml")
    cases = ET.parse(pytester.path / "report.xml").getroot().iter("testcase")
    by_name = {(c.get("classname"), c.get("name")): c for c in cases}
    assert set(by_name) == {("specs.textbook.phil.toml", "check1:deadlock-free"),
                            ("specs.textbook.phil.toml", "check2:mutex"),
                            ("specs.slow.phil.toml", "check1:mutex")}
    failure = by_name[("specs.textbook.phil.toml", "check1:deadlock-free")].find("failure")
    assert failure is not None
    assert "reproduce: check-model check philosophers" in (failure.text or "")


def test_run_junit_writes_a_testcase_per_check_with_the_failure_message(
        tmp_path: Path) -> None:
    specs = spec_tree(tmp_path, others=False)  # check-model run takes every *.toml
    report = tmp_path / "junit.xml"
    code, out, _ = cli("run", "-q", str(specs), "--junit", str(report))
    assert code == 1 and "1 of 2 checks as expected" in out
    root = ET.parse(report).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    cases = {(c.get("classname", "").rsplit(".", 2)[-2], c.get("name")): c
             for c in suite.iter("testcase")}
    assert set(cases) == {("textbook", "check1:deadlock-free"), ("textbook", "check2:mutex"),
                          ("slow", "check1:mutex")}
    failure = cases[("textbook", "check1:deadlock-free")].find("failure")
    assert failure is not None and failure.get("type") == "mismatch"
    assert failure.get("message") == "expected 35 distinct states, got 34"
    text = failure.text or ""
    for part in ("expected: violated, 35 distinct states", "actual:   violated, 34 distinct",
                 "trace (lasso, 4 steps): take_left(i=0)",
                 "reproduce: check-model check philosophers --param n=4 -p deadlock-free"):
        assert part in text, part
    assert cases[("textbook", "check2:mutex")].find("failure") is None
    assert cases[("slow", "check1:mutex")].find("skipped") is not None


def test_run_junit_path_is_checked_before_the_run(tmp_path: Path) -> None:
    specs = spec_tree(tmp_path, others=False)  # check-model run takes every *.toml
    code, out, err = cli("run", "-q", str(specs), "--junit", str(tmp_path / "no" / "j.xml"))
    assert code == 2 and out == "" and "--junit" in err and "does not exist" in err
    spec = str(specs / "textbook" / "phil.toml")
    code, out, err = cli("run", "-q", spec, "--junit", spec)
    assert code == 2 and "is also an input" in err


def test_run_json_has_summary_counts(tmp_path: Path) -> None:
    specs = spec_tree(tmp_path, others=False)  # check-model run takes every *.toml
    code, out, _ = cli("run", "--json", str(specs))
    report = json.loads(out)
    assert code == 1 and report["schema"] == 1 and len(report["results"]) == 2
    summary = report["summary"]
    assert {k: summary[k] for k in ("checks", "ok", "mismatch", "inconclusive", "specs",
                                    "skipped_specs")} == {
        "checks": 2, "ok": 1, "mismatch": 1, "inconclusive": 0, "specs": 1, "skipped_specs": 1}
    assert isinstance(summary["seconds"], float) and summary["seconds"] >= 0


def test_the_reproduce_command_runs_the_same_check(tmp_path: Path) -> None:
    spec = parse_spec("""model = "philosophers"
params = { n = 4 }
knobs = { broken = true }

[[check]]
invariant_expr = "count(i in phil: pc[i] == eating) <= 1"
engine = "bfs"
expect = "holds"
max_depth = 9
symmetry = true
""", "x.toml")
    command = reproduce_command(spec, spec.checks[0])
    assert command == ("check-model check philosophers --param n=4 --set broken=true "
                       "--invariant-expr 'count(i in phil: pc[i] == eating) <= 1' -e bfs "
                       "--max-depth 9 --symmetry")
    import shlex
    argv = shlex.split(command)[1:]
    code, out, err = cli(*argv, "-q")
    assert code == 1, err  # the broken table lets two philosophers eat within 9 steps
    assert out.startswith("invariant-expr:count(i in phil: pc[i] == eating) <= 1: violated")


# -- the run's output files ---------------------------------------------------------------
def test_trace_out_says_why_nothing_was_written(tmp_path: Path) -> None:
    target = tmp_path / "t.json"
    code, out, err = cli("check", "philosophers", "--param", "n=3", "-p", "mutex", "-q",
                         "--trace-out", str(target))
    assert code == 0 and not target.exists()
    assert "no trace: the property holds" in err and "no trace" not in out
    code, _, err = cli("check", "philosophers", "--param", "n=3", "-p", "deadlock-free", "-q",
                       "--trace-out", str(target))
    assert code == 1 and target.exists() and "no trace" not in err


def test_html_pages_of_specs_with_one_file_name_do_not_overwrite_each_other(
        tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / "specs" / folder).mkdir(parents=True)
        (tmp_path / "specs" / folder / "phil.toml").write_text(FAILING.replace(
            "expect_states = 35", "expect_states = 34"))
    pages = tmp_path / "pages"
    code, _, _ = cli("run", "-q", str(tmp_path / "specs"), "--html-dir", str(pages))
    assert code == 0
    assert sorted(p.name for p in pages.iterdir()) == ["b-phil-deadlock-free.html",
                                                       "phil-deadlock-free.html"]


def test_html_pages_of_one_spec_and_property_get_the_engine_then_a_number(
        tmp_path: Path) -> None:
    ts = build_system("philosophers", {"n": 3}, {})
    result = Checker(ts).check(ts.property("deadlock-free"), "bfs", Budget())
    taken: dict[Path, str] = {}
    first = write_html_pages(str(tmp_path), [("s/x.toml", result, ts)] * 2, taken)
    again = write_html_pages(str(tmp_path), [("s/x.toml", result, ts),
                                             ("t/x.toml", result, ts)], taken)
    assert [p.name for p in first + again] == [
        "x-deadlock-free.html", "x-deadlock-free-bfs.html", "x-deadlock-free-bfs-2.html",
        "t-x-deadlock-free.html"]
    assert set(taken) == set(first + again) and taken[again[-1]] == "t/x.toml"
