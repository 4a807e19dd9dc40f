"""A "holds" over a configuration in which an action the property is about never fires
is reported as ``vacuous`` (exit code 3), never as a plain "holds"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mhpcheck.checker.checker import Checker, exit_code
from mhpcheck.checker.result import UNBOUNDED, Budget, CheckResult, Stats, Verdict
from mhpcheck.cli.main import main
from mhpcheck.cli.runner import judge
from mhpcheck.cli.spec import Check
from mhpcheck.model.base import Declarations, Knob, Model, action, init, invariant
from mhpcheck.model.domains import IntRange
from mhpcheck.model.dsl import Effect, StateView, Term, then, when
from mhpcheck.model.errors import EXIT_INCONCLUSIVE, EXIT_OK, ModelError
from mhpcheck.registry import build_system

#: spec 1-unplugged-subblock/legacy: every actor S3, S4, S6 and S8 need is on
LEGACY_ACTORS = {"population": "V|f", "stray": "transient", "signals": True,
                 "allocator": True}


class Gate(Model):
    """x climbs 0..2 by ``up``, which exists only with the knob ``open``; ``drop`` exists
    always and fires only where ``x`` is 2."""

    name = "gate"
    knobs = (Knob("open", False, (False, True), doc="up has instances"),)

    def declare(self, d: Declarations) -> None:
        d.var("x", IntRange(0, 2))

    @init
    def start(self, s: StateView) -> Effect:
        return then()

    @action(switch="open=true")
    def up(self, s: StateView) -> Effect | None:
        """Climb one."""
        return when(s.x < 2).then(s.x.becomes(s.x + 1)) if self.k.open else None

    @action
    def drop(self, s: StateView) -> Effect:
        """Fall back from the top."""
        return when(s.x == 2).then(s.x.becomes(0))

    @action
    def stay(self, s: StateView) -> Effect:
        """Do nothing useful (keeps the closed gate from deadlocking)."""
        return when(s.x == 0).then(s.x.becomes(0))

    @invariant(about=("up",))
    def bounded(self, s: StateView) -> Term:
        """x stays within 0..2, about ``up``."""
        return s.x <= 2

    @invariant(about=("drop",))
    def bounded_after_drop(self, s: StateView) -> Term:
        """The same, about ``drop`` (which needs ``up`` to fire)."""
        return s.x <= 2

    @invariant(about=(("up", "stay"),))
    def bounded_either(self, s: StateView) -> Term:
        """The same, about one of ``up`` or ``stay``."""
        return s.x <= 2

    @invariant
    def bounded_plain(self, s: StateView) -> Term:
        """The same, about nothing in particular."""
        return s.x <= 2


def test_the_default_legacy_s3_is_vacuous_and_names_the_knob() -> None:
    result = CliRunner().invoke(main, ["check", "hotplug", "--preset", "legacy", "-p", "S3"])
    assert result.exit_code == EXIT_INCONCLUSIVE == 3
    first = result.output.splitlines()[0]
    assert first.startswith("unplugged-never-allocated: vacuous [bfs: 8 states")
    assert "holds [" not in result.output
    assert "S3" in result.output and "rmqueue (no instance)" in result.output
    assert "--set allocator=true" in result.output


@pytest.mark.parametrize(("prop", "knob"), [("S4", None), ("S6", "allocator=true"),
                                            ("S8", "stray=transient"),
                                            ("L4", "kthread_offline=true")])
def test_the_other_measured_defaults_are_vacuous_too(prop: str, knob: str | None) -> None:
    ts = build_system("hotplug", preset="legacy")
    result = Checker(ts).check(prop)
    assert result.verdict is Verdict.VACUOUS and exit_code(result.verdict) == 3
    assert "only vacuously" in result.message
    if knob is not None:
        assert f"--set {knob}" in result.message


def test_the_json_names_the_verdict_and_the_message() -> None:
    result = CliRunner().invoke(main, ["check", "hotplug", "--preset", "legacy", "-p", "S3",
                                       "--json"])
    entry = json.loads(result.stdout)
    assert entry["verdict"] == "vacuous"
    assert "--set allocator=true" in entry["message"]
    assert result.exit_code == 3


def test_with_every_actor_on_the_verdicts_are_plain() -> None:
    checker = Checker(build_system("hotplug", knobs=LEGACY_ACTORS, preset="legacy"))
    got = {p: checker.check(p).verdict for p in ("S2", "S3", "S4", "S5", "S6", "S6c", "S8")}
    assert got == {"S2": Verdict.HOLDS, "S3": Verdict.VIOLATED, "S4": Verdict.VIOLATED,
                   "S5": Verdict.HOLDS, "S6": Verdict.HOLDS, "S6c": Verdict.VIOLATED,
                   "S8": Verdict.VIOLATED}
    assert exit_code(Verdict.HOLDS) == EXIT_OK


def test_a_textbook_model_without_about_lists_is_unchanged() -> None:
    ts = build_system("philosophers")
    assert all(not p.about for p in ts.properties)
    result = Checker(ts).check("neighbours-never-both-eat")
    assert result.verdict is Verdict.HOLDS and not result.message


def test_an_action_without_instances_makes_a_holds_vacuous() -> None:
    checker = Checker(Gate())
    result = checker.check("bounded")
    assert result.verdict is Verdict.VACUOUS
    assert result.message == ("bounded holds only vacuously: these actions it is about never "
                              "fire in this configuration: up (no instance); switch on: "
                              "--set open=true")
    assert checker.check("bounded-plain").verdict is Verdict.HOLDS


def test_an_action_that_never_fires_makes_a_holds_vacuous() -> None:
    result = Checker(Gate()).check("bounded-after-drop")
    assert result.verdict is Verdict.VACUOUS
    assert "drop (fired 0 times)" in result.message and "switch on" not in result.message


def test_one_firing_alternative_of_a_group_is_enough() -> None:
    assert Checker(Gate()).check("bounded-either").verdict is Verdict.HOLDS


def test_with_the_knob_on_the_holds_is_plain() -> None:
    checker = Checker(Gate(knobs={"open": True}))
    for name in ("bounded", "bounded-after-drop", "bounded-either"):
        assert checker.check(name).verdict is Verdict.HOLDS, name


@pytest.mark.parametrize("engine", ["bfs-vec", "pdr", "kind"])
def test_other_engines_are_judged_the_same_way(engine: str) -> None:
    checker = Checker(Gate())
    assert checker.check("bounded", engine).verdict is Verdict.VACUOUS
    assert checker.check("bounded-plain", engine).verdict in (Verdict.HOLDS, Verdict.PROVED)
    opened = Checker(Gate(knobs={"open": True}))
    assert opened.check("bounded", engine).verdict in (Verdict.HOLDS, Verdict.PROVED)


def test_a_proof_sees_only_absent_actions() -> None:
    """A proof counts no transitions: an action with instances is taken to fire."""
    assert Checker(Gate()).check("bounded-after-drop", "pdr").verdict is Verdict.PROVED


def test_a_bounded_search_is_left_alone() -> None:
    result = Checker(Gate()).check("bounded", "bfs", Budget(max_depth=0))
    assert result.verdict is Verdict.BOUNDED


def test_an_about_list_naming_an_unknown_action_is_refused() -> None:
    class Typo(Gate):
        @invariant(about=("upp",))
        def typo(self, s: StateView) -> Term:
            """About an action that does not exist."""
            return s.x <= 2

    with pytest.raises(ModelError, match="property typo is about unknown actions upp"):
        Typo().build()


def _result(verdict: Verdict) -> CheckResult:
    return CheckResult("p", "invariant", "bfs", verdict, Stats())


def _check(expect: str) -> Check:
    return Check("p", "bfs", expect, UNBOUNDED)


def test_a_spec_expecting_holds_gets_a_mismatch_from_a_vacuous_result() -> None:
    status, problems = judge(_check("holds"), _result(Verdict.VACUOUS))
    assert status == "mismatch" and problems == ("expected holds, got vacuous",)
    assert judge(_check("vacuous"), _result(Verdict.VACUOUS)) == ("ok", ())
    assert judge(_check("vacuous"), _result(Verdict.HOLDS))[0] == "mismatch"


def test_a_spec_file_may_expect_vacuous(tmp_path: Path) -> None:
    spec = tmp_path / "legacy-defaults.toml"
    spec.write_text('model = "hotplug"\npreset = "legacy"\n\n'
                    '[[check]]\nproperty = "S3"\nexpect = "vacuous"\nexpect_states = 8\n\n'
                    '[[check]]\nproperty = "S4"\nexpect = "holds"\n')
    result = CliRunner().invoke(main, ["run", str(spec), "-q", "--json"])
    outcomes = json.loads(result.stdout)["results"]
    assert [(o["verdict"], o["status"]) for o in outcomes] == [("vacuous", "ok"),
                                                               ("vacuous", "mismatch")]
    assert result.exit_code == 1


def _knob_value(text: str) -> object:
    return {"true": True, "false": False}.get(text, int(text) if text.isdigit() else text)


def test_every_hotplug_switch_names_the_knob_that_gives_the_action_instances() -> None:
    """With its switch an actor action has instances, with the knob's other value none
    (the hint a vacuous check prints would otherwise send the user the wrong way)."""
    from mhpcheck.model.hotplug.knobs import KNOBS
    default = {k.name: k.default for k in KNOBS}
    base = {"population": "V|L|B"}
    params = {"pageblocks": 3}
    infos = build_system("hotplug", params, base, "legacy").action_infos
    switched = [(i.name, i.switch) for i in infos if i.switch]
    assert len(switched) == 22
    for name, switch in switched:
        knob, _, text = switch.partition("=")
        on = _knob_value(text)
        off = default[knob]
        if off == on:  # switched on by default (user_offline, user_online): switch it off
            assert on is True, switch
            off = False
        for value, wanted in ((on, True), (off, False)):
            ts = build_system("hotplug", params, {**base, knob: value}, "legacy")
            assert any(a.action == name for a in ts.actions) is wanted, (name, knob, value)


def test_the_trace_out_note_of_a_vacuous_check_says_vacuously() -> None:
    from mhpcheck.cli.main import no_trace_reason

    assert no_trace_reason(Verdict.VACUOUS) == "no trace: the property holds only vacuously"
    assert no_trace_reason(Verdict.HOLDS) == "no trace: the property holds"
