"""The models of examples/: every spec there is judged as expected, each example shows
both sides (a property that holds and one violated with a short trace), and their
traces, recorded with the model file's ref, show from any folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT

from mhpcheck.cli.main import main
from mhpcheck.cli.spec import load_spec

EXAMPLES = ROOT / "examples"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def report() -> list[dict[str, object]]:
    code, out, err = run("run", str(EXAMPLES), "--json", "-q")
    results: list[dict[str, object]] = json.loads(out)["results"]
    bad = [(r["spec"], r["property"], r["problems"]) for r in results if not r["ok"]]
    assert code == 0 and not bad, (bad, err)
    return results


def test_every_example_spec_is_as_expected(report: list[dict[str, object]]) -> None:
    specs = {Path(str(r["spec"])).name for r in report}
    assert specs == {p.name for p in EXAMPLES.glob("*.toml")}
    assert len(specs) >= 6


def test_every_example_model_has_specs_that_show_both_sides(
        report: list[dict[str, object]]) -> None:
    models = sorted(p.name for p in EXAMPLES.glob("*.py"))
    assert len(models) >= 2
    for model in models:
        mine = [r for r in report if str(r["model"]).startswith(f"{model}:")]
        verdicts = {r["verdict"] for r in mine}
        assert {"holds", "violated", "reachable"} <= verdicts, (model, verdicts)
        short = [r for r in mine if r["verdict"] == "violated" and r["kind"] == "invariant"
                 and len(r["trace"]["states"]) - 1 <= 5]  # type: ignore[index]
        assert short, f"{model}: no invariant violated with a trace of at most 5 steps"


def test_every_exhaustive_check_pins_its_state_count() -> None:
    for path in EXAMPLES.glob("*.toml"):
        for check in load_spec(path).checks:
            if check.engine == "bfs":
                assert check.expect_states is not None, (path.name, check.key)
            if check.expect == "violated":
                assert check.expect_trace_length is not None, (path.name, check.key)


def test_an_example_spec_asks_its_own_question(report: list[dict[str, object]]) -> None:
    own = {r["verdict"] for r in report if str(r["property"]).startswith("invariant-expr:")}
    assert own == {"holds", "violated"}


def test_a_trace_of_the_ring_example_shows_from_another_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    trace = tmp_path / "ring.json"
    code, out, _ = run("check", "examples/ring.py:RingBuffer", "-p", "no-overwrite",
                       "--set", "forget_wrap=true", "--trace-out", str(trace), "-q")
    assert code == 1 and "4 steps" in out
    meta = json.loads(trace.read_text())["#meta"]
    file, _, cls = meta["model"].rpartition(":")
    assert cls == "RingBuffer"
    assert (trace.parent / file).resolve() == (EXAMPLES / "ring.py").resolve()
    monkeypatch.chdir(tmp_path)
    code, out, err = run("trace", "show", str(trace), "--ascii", "--no-doc")
    assert code == 0, err
    assert "lost false -> true" in out and "never-overwrites-unread fails in state 4" in out
