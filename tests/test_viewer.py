"""The trace viewer: golden terminal output, model views, ITF export, HTML, diff and graph.

Golden files live in tests/golden/ and are the output of `check-model trace show` with
NO_COLOR=1 and COLUMNS=100 (and --ascii where the name says so). After an intended
change of the renderer or of a model, rewrite them with

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_viewer.py

and read the diff before committing it.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from click.testing import CliRunner
from conftest import ROOT

from mhpcheck.checker.checker import check as engine_check
from mhpcheck.cli.main import main
from mhpcheck.cli.spec import load_spec, resolve
from mhpcheck.cli.viewer import Options, render_story, tell
from mhpcheck.cli.viewer.html import _script_safe, render_html, story_json
from mhpcheck.cli.viewer.itf import check_itf, to_strict_itf
from mhpcheck.cli.viewer.story import Change, EntityDiff
from mhpcheck.model.base import Declarations, Model, action, eventually, init, reachable
from mhpcheck.model.base import step_invariant as step_invariant_mark
from mhpcheck.model.domains import Bool, Enum, IntRange
from mhpcheck.model.dsl import Effect, StateView, Term, then, when
from mhpcheck.model.errors import ModelError
from mhpcheck.model.system import TransitionSystem
from mhpcheck.model.trace import Trace
from mhpcheck.model.view import Cell, Glyph, Row, StateMap, View, check_view, default_view
from mhpcheck.registry import build_system

GOLDEN = ROOT / "tests" / "golden"
ENV = {"NO_COLOR": "1", "COLUMNS": "100"}


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=ENV)
    return result.exit_code, result.stdout, result.stderr


def make_trace(model: str, prop: str, params: dict[str, Any] | None = None,
               knobs: dict[str, Any] | None = None,
               preset: str | None = None) -> tuple[Trace, TransitionSystem]:
    ts = build_system(model, params or {}, knobs or {}, preset)
    result = engine_check(ts, ts.property(prop))
    assert result.trace is not None, f"{model} {prop}: no trace ({result.verdict})"
    return result.trace, ts


def save_trace(tmp_path: Path, name: str, trace: Trace, ts: TransitionSystem) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(trace.dumps(ts), encoding="utf-8")
    return str(path)


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no golden file {path}; create it with UPDATE_GOLDEN=1"
    want = path.read_text(encoding="utf-8")
    if text != want:
        diff = "".join(difflib.unified_diff(want.splitlines(True), text.splitlines(True),
                                            f"golden/{name}", "now"))
        pytest.fail(f"output differs from tests/golden/{name} (UPDATE_GOLDEN=1 rewrites it "
                    f"after an intended change):\n{diff}")


# -- a toy with a real loop and its own map: the generic view mechanism -------------------
Mark = Enum("Mark", ["empty", "token"])


class Ring(Model):
    """A token passes around a ring of three slots; finishing is possible but not fair."""

    name = "ring"

    def declare(self, d: Declarations) -> None:
        d.index("slot", 3)
        d.var("mark", Mark, over="slot", doc="where the token is")
        d.var("done", Bool, doc="the run finished")
        d.var("laps", IntRange(0, 1), doc="a lap counter that saturates")

    @init
    def start(self, s: StateView) -> Effect:
        return then(s.mark[0].becomes("token"))

    @action(i="slot", fair=True, cites="toy: pass the token on")
    def pass_token(self, s: StateView, i: int) -> Effect:
        """Hand the token to the next slot."""
        nxt = (i + 1) % 3
        lap = [s.laps.becomes(1)] if nxt == 0 else []
        return when(s.mark[i] == "token", s.done == False).then(  # noqa: E712
            s.mark[i].becomes("empty"), s.mark[nxt].becomes("token"), *lap)

    @action(cites="toy: stop")
    def finish(self, s: StateView) -> Effect:
        """Stop passing (not fair: a run may never do it)."""
        return when(s.done == False).then(s.done.becomes(True))  # noqa: E712

    @eventually
    def finishes(self, s: StateView) -> Term:
        """Every fair run finishes (violated: the token may circle for ever)."""
        return s.done == True  # noqa: E712

    @reachable
    def token_at_two(self, s: StateView) -> Term:
        """The token reaches slot 2."""
        return s.mark[2] == "token"

    @step_invariant_mark
    def laps_never_move(self, s: StateView, t: StateView) -> Term:
        """The lap counter never changes (violated on the first full lap)."""
        return t.laps == s.laps

    def view(self, ts: TransitionSystem) -> View:
        base = default_view(ts)

        def draw(v: Any) -> list[Row]:
            cells = tuple(Cell("T" if m == "token" else ".", f"slot {i}")
                          for i, m in enumerate(v["mark"]))
            return [Row("ring", cells, "done" if v["done"] else "running", (1, 2))]

        legend = (Glyph("T", "token", "yellow"), Glyph(".", "empty", "grey"))
        return View(base.entities, StateMap("the ring", legend, draw))


def ring_trace(prop: str) -> tuple[Trace, TransitionSystem, View]:
    model = Ring()
    ts = model.build()
    result = engine_check(ts, ts.property(prop))
    assert result.trace is not None
    return result.trace, ts, model.view(ts)


# -- golden terminal output ---------------------------------------------------------------
TEXTBOOK = [
    ("philosophers_deadlock.txt", "philosophers", {"n": 5}, {}, "deadlock-free", []),
    ("philosophers_someone_eats.ascii.txt", "philosophers", {"n": 4}, {}, "someone-eats",
     ["--ascii"]),
    ("philosophers_broken_mutex_full.ascii.txt", "philosophers", {"n": 3}, {"broken": True},
     "mutex", ["--ascii", "--full"]),
    ("peterson_broken_mutex.ascii.txt", "peterson", {"n": 3}, {"broken": True}, "mutex",
     ["--ascii"]),
]


@pytest.mark.parametrize(("name", "model", "params", "knobs", "prop", "args"), TEXTBOOK,
                         ids=[t[0] for t in TEXTBOOK])
def test_textbook_traces_match_their_golden_files(tmp_path: Path, name: str, model: str,
                                                   params: dict[str, Any],
                                                   knobs: dict[str, Any], prop: str,
                                                   args: list[str]) -> None:
    trace, ts = make_trace(model, prop, params, knobs)
    code, out, err = cli("trace", "show", save_trace(tmp_path, "t", trace, ts), *args)
    assert code == 0, err
    golden(name, out)


#: Hotplug traces come from the specs themselves, so the goldens follow the specs.
HOTPLUG = [
    ("hotplug_s3_legacy.ascii.txt", "1-unplugged-subblock/legacy.toml", "S3"),
    ("hotplug_s9_skippable_v1.ascii.txt", "5-forced-unload/skippable-v1.toml", "S9"),
]


def spec_trace(spec_file: str, prop: str) -> tuple[Trace, TransitionSystem]:
    spec = load_spec(ROOT / "specs" / "hotplug" / spec_file)
    ts = resolve(spec)
    result = engine_check(ts, ts.property(prop))
    assert result.trace is not None, f"{spec_file} {prop}: no trace ({result.verdict})"
    return result.trace, ts


@pytest.mark.parametrize(("name", "spec_file", "prop"), HOTPLUG, ids=[h[0] for h in HOTPLUG])
def test_hotplug_traces_match_their_golden_files(tmp_path: Path, name: str, spec_file: str,
                                                  prop: str) -> None:
    trace, ts = spec_trace(spec_file, prop)
    code, out, err = cli("trace", "show", save_trace(tmp_path, "t", trace, ts), "--ascii")
    assert code == 0, err
    golden(name, out)
    assert "map block memory0" in out  # the model's own view is drawn


def test_a_toy_with_its_own_map_and_a_real_loop_matches_its_golden_file() -> None:
    trace, ts, view = ring_trace("finishes")
    assert trace.loop_action is not None
    text = render_story(tell(ts, trace, view), Options(width=100, ascii=True))
    golden("ring_finishes_lasso.ascii.txt", text)
    assert "returns to state" in text


# -- what the story says --------------------------------------------------------------------
def test_changes_are_grouped_by_entity() -> None:
    trace, ts = make_trace("philosophers", "deadlock-free", {"n": 3})
    story = tell(ts, trace)
    assert story.steps[1].diff == (EntityDiff("phil 0", (Change("pc", "thinking", "left"),
                                                         Change("fork", "false", "true"))),)
    assert [e.entity for e in story.steps[0].state] == ["phil 0", "phil 1", "phil 2"]
    assert story.steps[1].cites == "textbook: pick up the left fork"


def test_the_ending_names_the_values_that_falsify_the_invariant() -> None:
    trace, ts = make_trace("philosophers", "mutex", {"n": 5}, {"broken": True})
    end = tell(ts, trace).ending
    assert end.headline.startswith("neighbours-never-both-eat fails in state")
    values = dict(end.values)
    eating = [k for k, v in values.items() if v == "eating"]
    assert len(eating) == 2, values
    assert end.formula and all("eating" in f for f in end.formula)


def test_step_invariants_and_witnesses_are_explained() -> None:
    trace, ts, view = ring_trace("laps-never-move")
    end = tell(ts, trace, view).ending
    assert "fails on step" in end.headline
    assert ("laps'", "1") in end.values and ("laps", "0") in end.values
    trace, ts, view = ring_trace("token-at-two")
    end = tell(ts, trace, view).ending
    assert end.headline == "token-at-two is reached in state 2"
    assert end.values == (("mark[2]", "token"),)


def test_the_map_marks_cells_that_changed() -> None:
    trace, ts, view = ring_trace("token-at-two")
    story = tell(ts, trace, view)
    first = story.steps[1].rows[0]
    assert [c.letter for c in first.cells] == [".", "T", "."]
    assert [c.changed for c in first.cells] == [True, True, False]
    assert not any(c.changed for c in story.steps[0].rows[0].cells)
    assert {letter for letter, *_ in story.legend} == {"T", "."}


def test_colour_only_when_asked_and_ascii_is_ascii(tmp_path: Path) -> None:
    trace, ts = make_trace("philosophers", "deadlock-free", {"n": 3})
    path = save_trace(tmp_path, "t", trace, ts)
    _, plain, _ = cli("trace", "show", path)
    _, coloured, _ = cli("trace", "show", path, "--color", "always")
    _, ascii_text, _ = cli("trace", "show", path, "--ascii", "--color", "always")
    assert "\x1b[" not in plain and "\x1b[" in coloured
    assert "\x1b[" not in ascii_text and ascii_text.isascii()


def test_view_mistakes_are_reported_with_the_model_name() -> None:
    ts = Ring().build()
    bad_colour = View(default_view(ts).entities,
                      StateMap("m", (Glyph("T", "token", "purple"),), lambda v: []))
    with pytest.raises(ModelError, match="model ring, view: glyph 'T' has colour 'purple'"):
        check_view(ts, bad_colour)
    trace, ts, view = ring_trace("token-at-two")
    assert view.map is not None
    missing = View(view.entities, StateMap("m", view.map.legend[:1], view.map.draw))
    with pytest.raises(ModelError, match=r"draws '\.', which the legend lacks"):
        tell(ts, trace, missing)


def test_a_map_that_fails_to_draw_is_a_model_error() -> None:
    trace, ts, view = ring_trace("token-at-two")
    assert view.map is not None
    broken = View(view.entities, StateMap("m", view.map.legend, lambda v: v["no_such_var"]))
    with pytest.raises(ModelError, match="model ring, view: drawing the map of state 0 failed"):
        tell(ts, trace, broken)


def test_a_trace_that_does_not_replay_is_refused_naming_the_step(tmp_path: Path) -> None:
    trace, ts = make_trace("philosophers", "deadlock-free", {"n": 3})
    data = json.loads(trace.dumps(ts))
    data["states"][1]["#meta"]["action"] = "release"
    path = tmp_path / "stale.json"
    path.write_text(json.dumps(data))
    code, out, err = cli("trace", "show", str(path))
    assert code == 2 and out == ""
    assert "does not replay on model philosophers as it is now: step 1" in err


def test_a_trace_that_no_longer_fits_its_model_says_so(tmp_path: Path) -> None:
    trace, ts = make_trace("philosophers", "deadlock-free", {"n": 3})
    data = json.loads(trace.dumps(ts))
    data["states"][1]["pc"] = ["thinking", "hungry", "thinking"]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    code, _, err = cli("trace", "show", str(path))
    assert code == 2 and "hungry" in err and "Traceback" not in err


# -- ITF --------------------------------------------------------------------------------------
def test_strict_itf_follows_adr_015_and_itf_readers_accept_it(tmp_path: Path) -> None:
    itf_py = pytest.importorskip("itf_py")
    trace, ts = make_trace("peterson", "mutex", {"n": 3}, {"broken": True})
    path = save_trace(tmp_path, "t", trace, ts)
    code, out, _ = cli("trace", "show", path, "--format", "itf")
    assert code == 0
    data = json.loads(out)
    assert check_itf(data) == []
    assert set(data) == {"#meta", "vars", "states"}  # no loop: not a lasso
    assert data["states"][0]["pc"][0] == {"#bigint": "0"}
    read = itf_py.trace_from_json(data)
    for step, state in zip(trace.steps, read.states, strict=True):
        assert {k: list(v) for k, v in state.values.items()} == ts.decode(step.state)
    assert read.states[1].meta == {"index": 1, "action": "try", "args": {"i": {"#bigint": "0"}}}


def test_hotplug_traces_export_to_strict_itf() -> None:
    trace, ts = spec_trace(*HOTPLUG[0][1:])
    data = to_strict_itf(trace, ts, families="map", mbt=True)
    assert check_itf(json.loads(json.dumps(data))) == []
    assert data["states"][0]["ptype"]["#map"][0] == ["pfn0", "Offline"]


def test_itf_export_of_a_lasso_with_maps_and_mbt_variables(tmp_path: Path) -> None:
    itf_py = pytest.importorskip("itf_py")
    trace, ts = make_trace("philosophers", "someone-eats", {"n": 3})
    out = tmp_path / "out.itf.json"
    code, _, _ = cli("trace", "export", save_trace(tmp_path, "t", trace, ts), "-o", str(out),
                     "--families", "map", "--mbt")
    assert code == 0
    data = json.loads(out.read_text())
    assert check_itf(data) == [] and data["loop"] == trace.loop
    read = itf_py.trace_from_json(data)
    assert dict(read.states[1].values["pc"]) == {0: "left", 1: "thinking", 2: "thinking"}
    assert read.states[1].values["mbt::actionTaken"] == "take_left"


def test_itf_export_to_a_file_says_where_it_wrote(tmp_path: Path) -> None:
    trace, ts = make_trace("philosophers", "mutex", {"n": 3}, {"broken": True})
    out = tmp_path / "out.itf.json"
    code, stdout, err = cli("trace", "export", save_trace(tmp_path, "t", trace, ts), "-o",
                            str(out))
    assert code == 0 and stdout == ""
    assert err.strip() == f"wrote {out}"
    assert check_itf(json.loads(out.read_text())) == []


def test_the_native_trace_file_is_itf_but_not_strict() -> None:
    trace, ts = make_trace("philosophers", "mutex", {"n": 3}, {"broken": True})
    assert check_itf(json.loads(trace.dumps(ts))) == ["loop must be a state index, got None"]
    assert check_itf(to_strict_itf(trace, ts)) == []
    assert check_itf({"vars": ["x"], "states": [{"x": {"#bigint": 3}}], "extra": 1}) == [
        "unknown top-level key 'extra'", "states[0].x: malformed #bigint {'#bigint': 3}"]


# -- HTML ------------------------------------------------------------------------------------
def test_the_html_page_is_self_contained(tmp_path: Path) -> None:
    trace, ts = make_trace("peterson", "mutex", {"n": 3}, {"broken": True})
    out = tmp_path / "page.html"
    code, _, _ = cli("trace", "html", save_trace(tmp_path, "t", trace, ts), "-o", str(out))
    assert code == 0
    page = out.read_text()
    for remote in ("<script src", "<link rel=\"stylesheet\"", "http://", "https://", "@import"):
        assert remote not in page
    start = page.index('id="trace-data">') + len('id="trace-data">')
    data = json.loads(page[start:page.index("</script>", start)])
    assert data == json.loads(json.dumps(story_json(tell(ts, trace))))
    assert data["steps"][12]["label"] == "enter(i=1)"


def test_embedded_data_cannot_close_its_script_element() -> None:
    text = _script_safe(json.dumps({"x": "</script><script>alert(1)</script>"}))
    assert "</" not in text and json.loads(text)["x"].startswith("</script>")


def test_run_writes_one_page_per_violated_check(tmp_path: Path) -> None:
    spec = ROOT / "specs" / "textbook" / "philosophers_broken_n5.toml"
    code, _, _ = cli("run", "-q", "--html-dir", str(tmp_path / "pages"), str(spec))
    assert code == 0
    pages = sorted(p.name for p in (tmp_path / "pages").iterdir())
    # Each property is violated under bfs, bmc and pdr: a page each, none overwritten.
    assert pages == ["philosophers_broken_n5-eating-holds-both-forks-bmc.html",
                     "philosophers_broken_n5-eating-holds-both-forks-pdr.html",
                     "philosophers_broken_n5-eating-holds-both-forks.html",
                     "philosophers_broken_n5-neighbours-never-both-eat-bmc.html",
                     "philosophers_broken_n5-neighbours-never-both-eat-pdr.html",
                     "philosophers_broken_n5-neighbours-never-both-eat.html"]


def test_the_hotplug_page_carries_the_map() -> None:
    trace, ts = spec_trace(*HOTPLUG[0][1:])
    page = render_html(tell(ts, trace))
    data = story_json(tell(ts, trace))
    assert data["steps"][-1]["rows"][0]["cells"][0] == {
        "l": "a", "e": "page pfn0", "n": "type none, owner lru, refcount 1", "c": True}
    assert "rmqueue" in page


# -- diff and graph ----------------------------------------------------------------------------
def test_trace_diff_finds_the_first_divergence(tmp_path: Path) -> None:
    a = save_trace(tmp_path, "a", *make_trace("philosophers", "deadlock-free", {"n": 5}))
    b = save_trace(tmp_path, "b", *make_trace("philosophers", "mutex", {"n": 5},
                                              {"broken": True}))
    code, out, _ = cli("trace", "diff", a, b)
    assert code == 1
    assert "settings differ: broken A false | B true" in out
    assert "they diverge at step 3:" in out
    assert "A takes take_left(i=2)" in out and "B takes take_right(i=0)" in out
    assert "phil 0: pc A left | B eating" in out
    code, out, _ = cli("trace", "diff", a, a)
    assert code == 0 and "the traces are the same run" in out


def test_trace_diff_of_two_designs(tmp_path: Path) -> None:
    knobs = {"population": "V|f", "stray": "long-held", "allocator": True}
    a = save_trace(tmp_path, "a", *make_trace("hotplug", "S3", {}, knobs, "legacy-newest"))
    b = save_trace(tmp_path, "b", *spec_trace(*HOTPLUG[0][1:]))
    code, out, _ = cli("trace", "diff", a, b)
    assert code == 1 and "settings differ:" in out and "cancel_refcount" in out
    assert "A: " in out and "B: " in out


def test_graph_highlights_the_trace(tmp_path: Path) -> None:
    trace, ts = make_trace("philosophers", "deadlock-free", {"n": 3})
    path = save_trace(tmp_path, "t", trace, ts)
    dot = tmp_path / "g.dot"
    code, _, err = cli("graph", "philosophers", "--param", "n=3", "--trace", path, "-o", str(dot))
    assert code == 0 and "14 states" in err, err
    text = dot.read_text()
    assert text.startswith('digraph "philosophers" {') and text.rstrip().endswith("}")
    assert text.count('color="#c0392b", fontcolor') == 3  # the three steps
    graphml = tmp_path / "g.graphml"
    code, _, _ = cli("graph", "philosophers", "--param", "n=3", "--trace", path,
                     "--format", "graphml", "-o", str(graphml))
    g = nx.read_graphml(graphml)
    assert g.number_of_nodes() == 14
    assert sum(1 for _, d in g.nodes(data=True) if d["trace"]) == 4
    assert sum(1 for *_, d in g.edges(data=True) if d["trace"]) == 3
    code, _, err = cli("graph", "philosophers", "--param", "n=4", "--trace", path, "-o", str(dot))
    assert code == 2 and "pass the same --param" in err


def test_graph_follows_a_lasso_back_to_its_loop(tmp_path: Path) -> None:
    from mhpcheck.cli.graph_cmd import state_graph
    trace, ts, _ = ring_trace("finishes")
    g = state_graph(ts, 100, trace)
    traced = [(a, b) for a, b, d in g.edges(data=True) if d["trace"]]
    assert len(traced) == len(trace.steps)  # the steps and the loop-closing one


def test_the_page_shows_the_command_that_reproduces_the_trace(tmp_path: Path) -> None:
    import shlex

    from mhpcheck import __version__
    knobs = {"population": "V|f", "stray": "transient", "allocator": True, "signals": True}
    trace, ts = make_trace("hotplug", "S3", {}, knobs, "legacy")
    data = story_json(tell(ts, trace))
    assert data["version"] == __version__
    words = shlex.split(data["command"])
    assert words[:3] == ["check-model", "check", "hotplug"]
    out = tmp_path / "again.json"
    words[words.index("--trace-out") + 1] = str(out)
    code, _, err = cli(*words[1:], "--quiet")
    assert code == 1, err
    again = Trace.load(str(out), lambda m, p, k: build_system(m, p, k))[0]
    assert (again.model, again.params, again.knobs, again.property) == (
        trace.model, trace.params, trace.knobs, trace.property)
    assert data["version"] in render_html(tell(ts, trace))


def test_an_unplugged_page_in_the_buddy_is_drawn_as_danger() -> None:
    from mhpcheck.model.hotplug.view import LEGEND
    colours = {g.letter: g.colour for g in LEGEND}
    assert colours["f"] == colours["i"] == colours["a"] == "danger"
    assert colours["F"] == "green" and colours["o"] != "danger"


def test_trace_diff_reports_every_divergence(tmp_path: Path) -> None:
    from dataclasses import replace

    from mhpcheck.checker.replay import _apply
    from mhpcheck.model.compile import compile_system
    from mhpcheck.model.trace import Step
    trace, ts = make_trace("philosophers", "deadlock-free", {"n": 5})
    compiled = compile_system(ts)
    # B takes the first two forks in the other order: steps 1 and 2 differ (state 2 is the
    # same, reached by another action), steps 3.. agree
    s0 = trace.steps[0].state
    s1 = _apply(ts, compiled, s0, "take_left", (("i", 1),), "step 1")
    swapped = (trace.steps[0], Step("take_left", (("i", 1),), s1),
               Step("take_left", (("i", 0),), trace.steps[2].state), *trace.steps[3:])
    # ... and its last step is a different one again
    last = trace.steps[-1]
    other = _apply(ts, compiled, trace.steps[-2].state, "take_right", (("i", 3),), "last")
    b_steps = (*swapped[:-1], Step("take_right", (("i", 3),), other))
    a = save_trace(tmp_path, "a", replace(trace, kind="counterexample", loop=None,
                                          loop_action=None), ts)
    b = save_trace(tmp_path, "b", replace(trace, steps=b_steps, kind="counterexample",
                                          loop=None, loop_action=None), ts)
    assert last.action == "take_left"
    code, out, _ = cli("trace", "diff", a, b)
    assert code == 1
    assert "the traces agree on states 0..0; they diverge at step 1:" in out
    assert "step 2:\n  A takes take_left(i=1)\n  B takes take_left(i=0)\n" in out
    assert "the traces agree again from state 3" in out
    assert f"they diverge again at step {len(trace)}:" in out
    assert f"3 of {len(trace) + 1} shared steps differ" in out


def test_trace_diff_refuses_traces_of_different_models(tmp_path: Path) -> None:
    a = save_trace(tmp_path, "a", *make_trace("philosophers", "deadlock-free", {"n": 3}))
    b = save_trace(tmp_path, "b", *make_trace("peterson", "mutex", {}, {"broken": True}))
    code, out, err = cli("trace", "diff", a, b)
    assert code == 2 and out == ""
    assert "of model philosophers" in err and "of model peterson" in err


def test_graph_takes_the_setting_from_the_trace_with_compact_labels(tmp_path: Path) -> None:
    knobs = {"population": "V|f", "stray": "transient", "allocator": True, "signals": True}
    path = save_trace(tmp_path, "t", *make_trace("hotplug", "S3", {}, knobs, "legacy"))
    dot = tmp_path / "g.dot"
    code, _, err = cli("graph", "--trace", path, "-o", str(dot))
    assert code == 0 and "1032 states" in err and "9 on the trace" in err, err
    text = dot.read_text()
    assert 's0 [label="s0: o|F online"' in text  # one line: the page map and the note
    assert "tooltip=" in text and "page pfn0: type Offline" in text
    code, _, err = cli("graph", "hotplug", "--trace", path, "-o", str(dot))
    assert code == 0 and "1032 states" in err, err
    near = tmp_path / "near.graphml"
    code, _, err = cli("graph", "--trace", path, "--around-trace", "1", "--format", "graphml",
                       "-o", str(near))
    assert code == 0, err
    g = nx.read_graphml(near)
    assert sum(1 for _, d in g.nodes(data=True) if d["trace"]) == 9
    assert 9 < g.number_of_nodes() < 1032
    code, _, err = cli("graph", "hotplug", "--around-trace", "1", "-o", str(dot))
    assert code == 2 and "--around-trace needs --trace" in err
    code, _, err = cli("graph", "-o", str(dot))
    assert code == 2 and "give MODEL" in err


def test_graph_compact_label_without_a_map() -> None:
    from mhpcheck.cli.graph_cmd import state_graph
    ts = build_system("philosophers", {"n": 3}, {})
    g = state_graph(ts, 100)
    assert g.nodes["s0"]["label"] == ("s0: phil 0 thinking/false, phil 1 thinking/false, "
                                      "phil 2 thinking/false")
    assert state_graph(ts, 100, full_labels=True).nodes["s0"]["label"].count("\n") == 2


def test_the_reproducing_command_of_a_users_own_invariant() -> None:
    import shlex

    from mhpcheck.model.exprparse import with_expr_property
    ts = build_system("philosophers", {"n": 3}, {})
    ts, prop = with_expr_property(ts, "invariant", "count(i in phil: pc[i] == eating) <= 0")
    result = engine_check(ts, prop)
    assert result.trace is not None
    words = shlex.split(story_json(tell(ts, result.trace))["command"])
    assert words[words.index("--invariant-expr") + 1] == "count(i in phil: pc[i] == eating) <= 0"
    code, out, _ = cli(*words[1:words.index("--trace-out")], "-q")
    assert code == 1 and "violated" in out
