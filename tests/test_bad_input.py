"""Bad input, class by class: one line naming the file, option or field, and its exit code.

Every test drives the ``check-model`` command line (click's CliRunner, or a real
process where a signal or a FIFO is involved) the way a careless or hostile user
would, and pins three things: the exit code (2 for a mistake, 3 for a resource
limit, 130 for Ctrl-C; never 1, which means "violated"), a message that names
what to fix, and no traceback.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import ROOT

from mhpcheck.checker.result import Progress
from mhpcheck.cli import main as main_module
from mhpcheck.cli import options, output
from mhpcheck.cli.main import main
from mhpcheck.model import resources
from mhpcheck.model.compile import tree_size
from mhpcheck.model.domains import IntRange
from mhpcheck.model.errors import (
    EXIT_ERROR,
    EXIT_INCONCLUSIVE,
    EXIT_INTERRUPTED,
    EXIT_VIOLATED,
    UsageError,
)
from mhpcheck.model.expr import Arith, Expr, Var

ENV = {"NO_COLOR": "1", "COLUMNS": "100"}
CHECK_MODEL = str(Path(sys.executable).parent / "check-model")


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env or ENV)
    return result.exit_code, result.stdout, result.stderr


def one_error(code: int, err: str, want_code: int, *names: str) -> None:
    """``err`` is one ``check-model: error:`` line naming each of ``names``."""
    assert code == want_code, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("check-model: error: "), err
    assert "Traceback" not in err
    for name in names:
        assert name in lines[0], (name, lines[0])


SPEC = """model = "philosophers"
params = { n = 3 }

[[check]]
property = "deadlock-free"
expect = "violated"
"""


def spec_file(folder: Path, name: str = "ok.toml", text: str = SPEC) -> str:
    path = folder / name
    path.write_text(text)
    return str(path)


def save_trace(folder: Path, name: str = "t.json", model: str = "philosophers",
               prop: str = "deadlock-free", extra: tuple[str, ...] = ("--param", "n=3"),
               engine: str = "bfs") -> Path:
    path = folder / name
    code, _, err = cli("check", model, *extra, "-p", prop, "-e", engine, "-q",
                       "--trace-out", str(path))
    assert path.exists(), err
    assert code in (0, 1, 3)
    return path


# -- spec files that are not text -------------------------------------------------------------
def test_a_binary_or_non_utf8_spec_is_refused_naming_the_file(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(SPEC.encode() + "# caf\xe9\n".encode("latin-1"))
    one_error(*cli("run", str(latin1))[::2], EXIT_ERROR, "latin1.toml", "not UTF-8")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"model = \"x\"\x00\x01\x02")
    one_error(*cli("run", str(binary))[::2], EXIT_ERROR, "binary.toml", "NUL")


def test_a_spec_nested_too_deeply_for_the_toml_parser_is_refused(tmp_path: Path) -> None:
    deep = spec_file(tmp_path, "deep.toml", "a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    one_error(*cli("run", deep)[::2], EXIT_ERROR, "deep.toml", "nested too deeply")


def test_a_spec_linked_to_dev_zero_is_refused_not_read(tmp_path: Path) -> None:
    link = tmp_path / "zero.toml"
    link.symlink_to("/dev/zero")
    one_error(*cli("run", str(link))[::2], EXIT_ERROR, "zero.toml", "not a regular file")


def test_a_fifo_named_toml_in_a_spec_folder_does_not_hang_run(tmp_path: Path) -> None:
    spec_file(tmp_path)
    os.mkfifo(tmp_path / "pipe.toml")
    proc = subprocess.run([CHECK_MODEL, "run", "-q", str(tmp_path)], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **ENV})
    one_error(proc.returncode, proc.stderr, EXIT_ERROR, "pipe.toml", "not a regular file")


# -- output options ---------------------------------------------------------------------------
def _output_commands(tmp_path: Path, target: str) -> list[tuple[str, list[str]]]:
    """Every command with an output option, writing to ``target``."""
    trace = str(save_trace(tmp_path))
    spec = spec_file(tmp_path)
    phil = ["philosophers", "--param", "n=3"]
    return [
        ("--trace-out", ["check", *phil, "-p", "deadlock-free", "--trace-out", target]),
        ("--certificate-out", ["check", *phil, "-p", "mutex", "-e", "pdr",
                               "--certificate-out", target]),
        ("--output", ["trace", "html", trace, "-o", target]),
        ("--output", ["trace", "export", trace, "-o", target]),
        ("--output", ["graph", *phil, "-o", target]),
        ("--output", ["export", *phil, "-o", target]),
        ("--html-dir", ["run", "-q", spec, "--html-dir", target]),
    ]


def test_every_output_option_refuses_a_missing_folder_before_working(tmp_path: Path) -> None:
    target = str(tmp_path / "no" / "such" / "folder" / "out")
    for option, args in _output_commands(tmp_path, target):
        code, out, err = cli(*args)
        if option == "--html-dir":  # a missing folder is made, but its parent must exist
            code, out, err = cli(*args[:-1], "/proc/no-such/dir")
        one_error(code, err, EXIT_ERROR, option)
        assert out == "", args  # refused before the search: no verdict printed, none lost


def test_every_output_option_refuses_a_path_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("x")
    target = str(tmp_path / "plain" / "out")
    for option, args in _output_commands(tmp_path, target):
        one_error(*cli(*args)[::2], EXIT_ERROR, option, "not a folder")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_every_output_option_refuses_a_read_only_folder_and_file(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "out").write_text("old")
    locked.chmod(0o555)
    try:
        for option, args in _output_commands(tmp_path, str(locked / "new")):
            one_error(*cli(*args)[::2], EXIT_ERROR, option, "not writable")
        (tmp_path / "ro.txt").write_text("old")
        (tmp_path / "ro.txt").chmod(0o444)
        code, _, err = cli("export", "philosophers", "-o", str(tmp_path / "ro.txt"))
        one_error(code, err, EXIT_ERROR, "--output", "not writable")
    finally:
        locked.chmod(0o755)


def test_an_unwritable_folder_is_found_by_a_probe_before_the_search(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root ignores permission bits; a read-only mount does not: the probe file is what
    tells, so refuse it the way a read-only mount would."""
    def refuse(*_: Any, **__: Any) -> Any:
        raise PermissionError(13, "Read-only file system")
    started: list[bool] = []
    monkeypatch.setattr(output.tempfile, "mkstemp", refuse)
    monkeypatch.setattr(main_module.Checker, "check_many", lambda *a, **k: started.append(True))
    code, out, err = cli("check", "philosophers", "-p", "mutex", "-e", "pdr",
                         "--certificate-out", str(tmp_path / "c.txt"))
    one_error(code, err, EXIT_ERROR, "--certificate-out", "not writable", "Read-only")
    assert not started and out == ""


def test_an_output_equal_to_an_input_trace_is_refused_and_the_trace_kept(
        tmp_path: Path) -> None:
    trace = save_trace(tmp_path)
    before = trace.read_bytes()
    alias = tmp_path / "alias.json"
    alias.symlink_to(trace)
    for args in (["trace", "export", str(trace), "-o", str(trace)],
                 ["trace", "html", str(trace), "-o", str(alias)],
                 ["graph", "philosophers", "--param", "n=3", "--trace", str(trace),
                  "-o", str(trace)]):
        one_error(*cli(*args)[::2], EXIT_ERROR, "also an input")
    assert trace.read_bytes() == before


def test_a_file_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old contents")

    def half_then_fail(fh: Any) -> None:
        fh.write(b"half of the new")
        raise OSError(28, "No space left on device")
    with pytest.raises(UsageError, match=r"out\.txt: cannot write \(No space left on device\)"):
        output.write_atomic(target, half_then_fail, "-o")
    assert target.read_text() == "old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]  # no temporary left
    output.write_atomic(target, "new contents", "-o")
    assert target.read_text() == "new contents"


# -- budgets: timeouts and bounds ---------------------------------------------------------------
@pytest.mark.parametrize("engine", ["pdr", "bmc"])
@pytest.mark.parametrize("value", ["inf", "nan", "-1", "-inf", "soon"])
def test_a_timeout_must_be_finite_and_not_negative(engine: str, value: str) -> None:
    code, out, err = cli("check", "philosophers", "-p", "mutex", "-e", engine,
                         "--timeout", value)
    one_error(code, err, EXIT_ERROR, "--timeout")
    assert out == ""


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "-1.5"])
def test_a_spec_timeout_must_be_finite_and_not_negative(tmp_path: Path, value: str) -> None:
    spec = spec_file(tmp_path, "t.toml", SPEC.replace('expect = "violated"',
                                                      f'expect = "violated"\ntimeout = {value}'))
    one_error(*cli("run", spec)[::2], EXIT_ERROR, "t.toml", "check[1]", "'timeout'")


@pytest.mark.parametrize("option", ["--max-states", "--max-depth"])
def test_negative_bounds_are_refused_on_the_command_line_as_in_a_spec(option: str) -> None:
    one_error(*cli("check", "philosophers", "-p", "mutex", option, "-1")[::2], EXIT_ERROR,
              option, "negative")


# -- environment -------------------------------------------------------------------------------
@pytest.mark.parametrize("columns", ["abc", "", "0", "-3", "1e9", "99999999999"])
def test_a_bad_columns_value_is_ignored(tmp_path: Path, columns: str) -> None:
    env = {"NO_COLOR": "1", "COLUMNS": columns}
    code, out, err = cli("run", "-q", spec_file(tmp_path), env=env)
    assert code == 0 and "1 of 1 checks as expected" in out, err
    code, out, err = cli("trace", "show", str(save_trace(tmp_path)), env=env)
    assert code == 0 and "Traceback" not in err and out


# -- trace files --------------------------------------------------------------------------------
def _mutate(data: dict[str, Any], how: str) -> Any:
    """``data`` (a good trace) broken in one way."""
    if how == "states-not-list":
        data["states"] = {"0": data["states"][0]}
    elif how == "state-not-object":
        data["states"][1] = [1, 2]
    elif how == "states-empty":
        data["states"] = []
    elif how == "params-list":
        data["#meta"]["params"] = [3]
    elif how == "knobs-null":
        data["#meta"]["knobs"] = None
    elif how == "loop-string":
        data["loop"] = "0"
    elif how == "meta-model-int":
        data["#meta"]["model"] = 7
    elif how == "meta-reachable-string":
        data["#meta"]["reachable"] = "yes"
    elif how == "args-list":
        data["states"][1]["#meta"]["args"] = [0]
    elif how == "top-level-list":
        return [data]
    return data


BAD_SHAPES = {  # how -> the field the message must name
    "states-not-list": "states", "state-not-object": "states[1]", "states-empty": "states",
    "params-list": "#meta.params", "knobs-null": "#meta.knobs", "loop-string": "loop",
    "meta-model-int": "#meta.model", "meta-reachable-string": "#meta.reachable",
    "args-list": "states[1].#meta.args", "top-level-list": "top level",
}


def _trace_commands(path: str, good: str, out: Path) -> list[list[str]]:
    return [["trace", "show", path], ["trace", "html", path, "-o", str(out / "p.html")],
            ["trace", "diff", good, path], ["trace", "export", path],
            ["graph", "philosophers", "--param", "n=3", "--trace", path,
             "-o", str(out / "g.dot")]]


@pytest.mark.parametrize("how", sorted(BAD_SHAPES))
def test_a_trace_of_the_wrong_shape_is_refused_naming_the_field(tmp_path: Path,
                                                                how: str) -> None:
    good = save_trace(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_mutate(json.loads(good.read_text()), how)))
    for args in _trace_commands(str(bad), str(good), tmp_path):
        code, out, err = cli(*args)
        one_error(code, err, EXIT_ERROR, "bad.json", BAD_SHAPES[how])
        assert out == "", args


def test_deeply_nested_and_non_utf8_trace_files_are_refused(tmp_path: Path) -> None:
    good = save_trace(tmp_path)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    latin = tmp_path / "latin.json"
    latin.write_bytes(good.read_bytes().replace(b'"philosophers"', b'"philosoph\xe9rs"'))
    for path, says in ((deep, "nested too deeply"), (latin, "not UTF-8")):
        for args in _trace_commands(str(path), str(good), tmp_path):
            one_error(*cli(*args)[::2], EXIT_ERROR, path.name, says)


def test_a_trace_that_does_not_replay_is_refused_by_every_trace_command(
        tmp_path: Path) -> None:
    good = save_trace(tmp_path)
    data = json.loads(good.read_text())
    data["states"][2]["pc"][0] = data["states"][0]["pc"][0]  # step 2 leads nowhere
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps(data))
    for args in _trace_commands(str(stale), str(good), tmp_path):
        code, out, err = cli(*args)
        one_error(code, err, EXIT_ERROR, "stale.json", "does not replay", "step 2",
                  "pc[0]: trace has thinking, semantics give ")  # labels, not codes
        assert out == ""
    assert not (tmp_path / "p.html").exists() and not (tmp_path / "g.dot").exists()


def test_a_counterexample_to_induction_replays_from_its_first_state_and_says_so(
        tmp_path: Path) -> None:
    cti = save_trace(tmp_path, "cti.json", prop="eating-holds-both-forks", engine="inductive")
    data = json.loads(cti.read_text())
    assert data["#meta"]["reachable"] is False and data["#meta"]["kind"] == "cti"
    for args in (["trace", "show", str(cti)], ["trace", "export", str(cti)]):
        code, out, err = cli(*args)
        assert code == 0 and out
        assert "counterexample to induction" in err and "not an initial state" in err
    data["#meta"]["kind"] = "counterexample"  # switching replay from init off: refused
    sneaky = tmp_path / "sneaky.json"
    sneaky.write_text(json.dumps(data))
    one_error(*cli("trace", "show", str(sneaky))[::2], EXIT_ERROR, "#meta.reachable", "cti")


# -- specs are validated whole, before the first check -------------------------------------
def test_an_unknown_engine_in_a_later_spec_stops_the_run_before_any_check(
        tmp_path: Path) -> None:
    spec_file(tmp_path, "a.toml")
    spec_file(tmp_path, "b.toml", SPEC.replace('expect = "violated"',
                                               'expect = "violated"\nengine = "bsf"'))
    pages = tmp_path / "pages"
    code, out, err = cli("run", str(tmp_path), "--html-dir", str(pages))
    one_error(code, err, EXIT_ERROR, "b.toml", "check[1]", "'engine'", "bsf", "bfs-vec")
    assert out == "" and not pages.exists()


def test_symmetry_on_a_liveness_check_is_refused_in_a_spec_as_on_the_cli(
        tmp_path: Path) -> None:
    spec = spec_file(tmp_path, "live.toml", """model = "philosophers"
params = { n = 3 }

[[check]]
property = "someone-eats"
expect = "holds"
symmetry = true
""")
    one_error(*cli("run", spec)[::2], EXIT_ERROR, "live.toml", "check[1]", "'symmetry'")
    code, _, err = cli("check", "philosophers", "-p", "someone-eats", "--symmetry")
    one_error(code, err, EXIT_ERROR, "symmetry")


@pytest.mark.parametrize(("check", "says"), [
    ('engine = "bfs"\ninvariants = ["mutex"]', "only engine inductive"),
    ('engine = "inductive"\ninvariants = ["nosuch"]', "no property 'nosuch'"),
    ('engine = "inductive"\ninvariants = ["someone-eats"]', "only invariants strengthen"),
])
def test_strengthening_invariants_are_checked_before_any_check_runs(
        tmp_path: Path, check: str, says: str) -> None:
    spec_file(tmp_path, "a.toml")
    spec_file(tmp_path, "b.toml", 'model = "philosophers"\nparams = { n = 3 }\n\n[[check]]\n'
              f'property = "eating-holds-both-forks"\nexpect = "holds"\n{check}\n')
    code, out, err = cli("run", str(tmp_path))
    one_error(code, err, EXIT_ERROR, "b.toml", "check[1]", "'invariants'", says)
    assert out == ""


def test_an_unknown_tier_is_a_usage_error_listing_the_tiers() -> None:
    code, out, err = cli("run", str(ROOT / "specs" / "textbook"), "--tier", "slwo")
    one_error(code, err, EXIT_ERROR, "--tier slwo", "default", "all")
    assert "0 of 0" not in out


def test_a_run_with_nothing_to_check_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    one_error(*cli("run", str(tmp_path / "empty"))[::2], EXIT_ERROR, "no spec files")


# -- Ctrl-C -----------------------------------------------------------------------------------
def test_ctrl_c_in_a_command_is_one_line_and_exit_130(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(ts: Any, prop: Any, engine: str, budget: Any, progress: Any,
                    *rest: Any, **options: Any) -> Any:
        progress(Progress(1234, 7, 5678, 2.0))
        raise KeyboardInterrupt
    monkeypatch.setattr(main_module.Checker, "check_many", interrupted)
    code, out, err = cli("check", "philosophers", "-p", "mutex")
    one_error(code, err, EXIT_INTERRUPTED, "interrupted", "1,234 states", "depth 7")
    assert "Aborted" not in err and out == ""


def test_sigint_to_a_running_check_exits_130_without_a_traceback() -> None:
    # n = 18 runs for minutes under bfs: the signal always finds it running (n = 15
    # took under 5 s, too close to the 3 s wait on a fast machine)
    proc = subprocess.Popen([CHECK_MODEL, "check", "philosophers", "--param", "n=18", "-p",
                             "mutex", "-e", "bfs", "-q"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **ENV})
    time.sleep(3)
    assert proc.poll() is None, "the check finished before the signal: pick a longer run"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    one_error(proc.returncode, err, EXIT_INTERRUPTED, "interrupted")


# -- resources --------------------------------------------------------------------------------
#: Every actor on, two blocks of four pageblocks of four pages (1.7 million expression
#: nodes: seconds to compile).
MID = ["hotplug", "--preset", "skippable-v2", "--param", "blocks=2", "--param", "pageblocks=4",
       "--param", "pages=4", "--set", "population=VVVV|BfLL|fLLB|LLBf/VVVV|BfLL|fLLB|LLBf",
       "--set", "stray=transient", "--set", "signals=true", "--set", "allocator=true",
       "--set", "walker=true", "--set", "forced_unload=true", "--set", "vmem_remove=true",
       "--set", "vmem_unplug=true", "--set", "vmem_plug=true", "--set", "notifier_veto=true"]
#: The same on four blocks of eight pageblocks (29 million nodes: about 25 GB to compile).
BIG = [a.replace("blocks=2", "blocks=4").replace("pageblocks=4", "pageblocks=8").replace(
    "VVVV|BfLL|fLLB|LLBf/VVVV|BfLL|fLLB|LLBf",
    "/".join(["VVVV|BfLL|fLLB|LLBf|VVVV|BfLL|fLLB|LLBf"] * 4)) for a in MID]


def test_an_instance_too_big_for_memory_is_refused_before_it_is_compiled() -> None:
    start = time.perf_counter()
    code, out, err = cli("check", *BIG, "-p", "S1", "--timeout", "20")
    one_error(code, err, EXIT_INCONCLUSIVE, "model hotplug", "blocks=4", "GB of memory",
              "available")
    assert out == "" and time.perf_counter() - start < 30


def test_the_timeout_covers_compiling_the_model() -> None:
    start = time.perf_counter()
    code, out, err = cli("check", *MID, "-p", "S1", "--timeout", "1")
    one_error(code, err, EXIT_INCONCLUSIVE, "to compile", "left of the timeout")
    assert out == ""
    assert time.perf_counter() - start < 10


def test_running_out_of_memory_in_a_search_is_exit_3_with_what_was_explored(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def hungry(ts: Any, prop: Any, engine: str, budget: Any, progress: Any,
               *rest: Any, **options: Any) -> Any:
        progress(Progress(98765, 12, 300000, 4.0))
        raise MemoryError
    monkeypatch.setattr(main_module.Checker, "check_many", hungry)
    code, out, err = cli("check", "philosophers", "-p", "mutex")
    one_error(code, err, EXIT_INCONCLUSIVE, "out of memory", "98,765 states", "depth 12")
    assert out == ""


def test_a_search_past_the_memory_the_machine_had_stops_with_exit_3(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The real bfs engine, with the machine's memory set to nothing: its first progress
    report stops it, saying what it explored. The resident size is made to grow by a
    byte a report: in a test process, freed memory from earlier tests may absorb the
    search without any growth, which made this test depend on the tests before it."""
    monkeypatch.setattr(options, "available_memory", lambda: 0)
    monkeypatch.setattr(options, "_resident", itertools.count().__next__)
    code, out, err = cli("check", "philosophers", "--param", "n=12", "-p", "mutex")
    one_error(code, err, EXIT_INCONCLUSIVE, "out of memory", "explored", "states")
    assert out == ""


def test_memory_available_is_the_least_of_free_memory_cgroup_and_address_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "_meminfo_available", lambda: 8 * resources.GB)
    monkeypatch.setattr(resources, "_cgroup_available", lambda: None)
    monkeypatch.setattr(resources, "_rlimit_available", lambda: 3 * resources.GB)
    assert resources.available_memory() == 3 * resources.GB
    monkeypatch.setattr(resources, "_cgroup_available", lambda: resources.GB)
    assert resources.available_memory() == resources.GB


def test_the_size_estimate_counts_shared_subterms_as_written_out() -> None:
    """An update substituted into the next one is one object used twice: the generated
    code writes it twice, and the estimate must count it twice, in linear time."""
    x = Var("x", IntRange(0, 9))
    term: Expr = x
    for _ in range(200):  # 2**200 nodes written out, 200 objects
        term = Arith("+", term, term)
    assert tree_size(term, {}) == 2 ** 201 - 1


# -- usage -------------------------------------------------------------------------------------
def test_a_bad_option_is_one_line_naming_it_and_a_bare_command_shows_its_help() -> None:
    code, out, err = cli("check", "philosophers", "-p", "mutex", "--bogus")
    one_error(code, err, EXIT_ERROR, "--bogus", " check --help")
    assert out == ""
    code, out, err = cli("trace")
    assert code == EXIT_ERROR and err.startswith("Usage: ") and " trace " in err
    assert "show" in err and "error" not in err


def test_ctrl_c_while_the_command_line_loads_is_exit_130_without_a_traceback(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A Ctrl-C in the first second, while click, rich and numpy load, hits an import."""
    import types

    from mhpcheck import entry

    class Loading(types.ModuleType):
        def __getattr__(self, name: str) -> Any:
            raise KeyboardInterrupt

    monkeypatch.setitem(sys.modules, "mhpcheck.cli.main", Loading("mhpcheck.cli.main"))
    with pytest.raises(SystemExit) as stop:
        entry.main()
    assert stop.value.code == EXIT_INTERRUPTED
    assert capsys.readouterr().err == "check-model: error: interrupted (while loading)\n"


def test_an_output_naming_the_model_file_is_refused_and_the_model_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model file of the user's own is an input too: --trace-out must not replace it."""
    model = tmp_path / "ring.py"
    model.write_text((ROOT / "examples/ring.py").read_text())
    before = model.read_bytes()
    monkeypatch.chdir(tmp_path)
    for option in ("--trace-out", "--certificate-out"):
        code, out, err = cli("check", "ring.py:RingBuffer", "--set", "forget_wrap=true",
                             "-p", "no-overwrite", option, "ring.py")
        one_error(code, err, EXIT_ERROR, option, "is also an input")
        assert out == "" and model.read_bytes() == before


def test_run_junit_naming_a_spec_s_model_file_is_refused(tmp_path: Path) -> None:
    model = tmp_path / "ring.py"
    model.write_text((ROOT / "examples/ring.py").read_text())
    (tmp_path / "ring.toml").write_text((ROOT / "examples/ring.toml").read_text())
    before = model.read_bytes()
    code, _, err = cli("run", str(tmp_path / "ring.toml"), "--junit", str(model))
    one_error(code, err, EXIT_ERROR, "--junit", "is also an input")
    assert model.read_bytes() == before


def test_stdout_closed_by_its_reader_drops_the_rest_and_keeps_going() -> None:
    from mhpcheck.entry import PipeSafe

    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self) -> int:
            raise io.UnsupportedOperation("no descriptor")

    out = PipeSafe(Closed())
    assert out.write("first line\n") == len("first line\n")
    out.flush()
    assert out.write("more\n") == len("more\n")


def test_a_reader_that_stops_early_changes_neither_files_nor_the_exit_code(
        tmp_path: Path) -> None:
    """`check ... | head -1`: the trace is still written and the exit code is still the
    verdict's (1 violated here, 0 for a property that holds), not click's 1 for EPIPE."""
    trace = tmp_path / "t.json"
    for args, want in ((f"--set broken=true -p mutex --trace-out {trace}", EXIT_VIOLATED),
                       ("-p mutex", 0)):
        done = subprocess.run(
            ["bash", "-c", f"{CHECK_MODEL} check peterson --param n=3 {args} | head -c 1 "
                           ">/dev/null; exit ${PIPESTATUS[0]}"],
            capture_output=True, text=True, env={**os.environ, **ENV}, timeout=120)
        assert done.returncode == want, done.stderr
        assert "Traceback" not in done.stderr and "Broken pipe" not in done.stderr
    assert trace.exists()


def test_a_second_preset_is_refused_not_silently_replacing_the_first() -> None:
    code, _, err = cli("check", "hotplug", "--preset", "skippable-v2", "--preset", "legacy",
                       "-p", "S1")
    one_error(code, err, EXIT_ERROR, "--preset", "skippable-v2, legacy", "do not combine")


def test_a_property_name_in_the_wrong_case_suggests_the_right_one() -> None:
    code, _, err = cli("check", "hotplug", "--preset", "skippable-v2", "-p", "s3")
    one_error(code, err, EXIT_ERROR, "no property 's3'", "did you mean 'S3'?")
