"""Model files on the command line and in specs: ``check-model check file.py:Class``,
``model = "file.py:Class"`` in a spec (relative to the spec), and traces of such models
that ``trace show`` rebuilds from any folder, while traces of registered models keep
recording the model's name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mhpcheck.cli.main import main

COUNTER = '''
from mhpcheck.model.base import Declarations, Model, Param, action, init, invariant
from mhpcheck.model.domains import IntRange
from mhpcheck.model.dsl import StateView, then, when


class Counter(Model):
    name = "counter"
    params = (Param("top", default=3, lo=1, hi=9),)

    def declare(self, d: Declarations) -> None:
        d.var("x", IntRange(0, self.p.top))

    @init
    def start(self, s: StateView):
        return then()

    @action
    def step(self, s: StateView):
        return when(s.x < self.p.top).then(s.x.becomes(s.x + 1))

    @invariant
    def below_two(self, s: StateView):
        return s.x < 2
'''


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder ``models/counter.py``; the current folder is ``tmp_path``."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "counter.py").write_text(COUNTER)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_check_takes_a_model_file_relative_to_the_current_folder(models: Path) -> None:
    code, out, _ = run("check", "models/counter.py:Counter", "-p", "below-two", "-q")
    assert code == 1 and out.startswith("below-two: violated [bfs: 4 states")
    code, out, _ = run("check", "models/counter.py", "--param", "top=1", "-p", "below-two")
    assert code == 0 and out.startswith("below-two: holds [bfs: 2 states")


def test_a_trace_names_its_model_file_relative_to_itself_and_shows_anywhere(
        models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trace = models / "t.json"
    code, _, _ = run("check", "models/counter.py", "-p", "below-two", "--trace-out", str(trace))
    assert code == 1
    meta = json.loads(trace.read_text())["#meta"]
    assert meta["model"] == "models/counter.py:Counter"  # the same text in any clone
    elsewhere = models / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out, err = run("trace", "show", str(trace), "--ascii")
    assert code == 0, err
    assert "counterexample to below-two" in out and "x 1 -> 2" in out


def test_a_trace_and_its_model_file_moved_together_still_show(
        models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trace = models / "models" / "t.json"
    code, _, _ = run("check", "models/counter.py", "-p", "below-two", "--trace-out", str(trace))
    assert code == 1
    assert json.loads(trace.read_text())["#meta"]["model"] == "counter.py:Counter"
    moved = tmp_path / "moved"
    (models / "models").rename(moved)
    monkeypatch.chdir(tmp_path)
    code, out, err = run("trace", "show", str(moved / "t.json"), "--ascii")
    assert code == 0, err
    assert "counterexample to below-two" in out


def test_a_trace_of_a_registered_model_still_records_its_name(tmp_path: Path) -> None:
    trace = tmp_path / "t.json"
    code, _, _ = run("check", "philosophers", "--param", "n=2", "-p", "deadlock-free",
                     "--trace-out", str(trace), "-q")
    assert code == 1
    assert json.loads(trace.read_text())["#meta"]["model"] == "philosophers"


def test_a_spec_names_its_model_file_relative_to_itself(models: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    (models / "models" / "counter.toml").write_text(
        'model = "counter.py:Counter"\nparams = { top = 3 }\n'
        '[[check]]\nproperty = "below-two"\nexpect = "violated"\nexpect_states = 4\n'
        'expect_trace_length = 2\n'
        '[[check]]\ninvariant_expr = "x <= top"\nexpect = "holds"\nexpect_states = 4\n')
    monkeypatch.chdir(models.parent)  # the spec's folder, not the current one, is the base
    code, out, err = run("run", str(models / "models"), "-q")
    assert code == 0, out + err
    assert "2 of 2 checks as expected" in out


@pytest.mark.parametrize(("ref", "message"), [
    ("models/nothere.py:Counter", r"model file .*nothere\.py: no such file"),
    ("models/counter.py:Nope", r"counter\.py: no class 'Nope' \(Model subclasses defined "
                               r"there: Counter\)"),
    ("models/broken.py", r"broken\.py, line 1: syntax error"),
])
def test_a_bad_model_file_is_one_line_and_exit_2(models: Path, ref: str, message: str) -> None:
    import re
    (models / "models" / "broken.py").write_text("class (:\n")
    for command in (["check", ref, "-p", "below-two"], ["graph", ref, "-o", "g.dot"],
                    ["export", ref]):
        code, out, err = run(*command)
        assert code == 2 and out == "", command
        assert err.count("\n") == 1 and re.search(message, err), (command, err)


def test_a_bad_model_file_in_a_spec_names_the_key(models: Path) -> None:
    spec = models / "bad.toml"
    spec.write_text('model = "models/nothere.py:X"\n[[check]]\nproperty = "p"\n'
                    'expect = "holds"\n')
    code, _, err = run("run", str(spec))
    assert code == 2 and "bad.toml: key 'model': model file" in err and "no such file" in err


def test_graph_and_export_take_a_model_file(models: Path) -> None:
    code, _, err = run("graph", "models/counter.py", "--param", "top=2", "-o", "g.dot")
    assert code == 0, err
    assert "digraph" in (models / "g.dot").read_text()
    code, out, _ = run("export", "models/counter.py", "--param", "top=2")
    assert code == 0 and "proctype" in out
