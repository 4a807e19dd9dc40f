"""Your own properties: the expression language of ``model.exprparse``, its errors, and
``--invariant-expr`` / ``--reachable-expr`` and spec keys ``invariant_expr`` /
``reachable_expr`` through checks, traces and the trace viewer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from toys import Ring

from mhpcheck.checker.checker import check
from mhpcheck.cli.main import main
from mhpcheck.cli.viewer.explain import Explainer
from mhpcheck.model.compile import compile_system
from mhpcheck.model.errors import UsageError
from mhpcheck.model.exprparse import (
    parse_expr,
    parse_property_name,
    property_name,
    with_expr_property,
    with_named_property,
)
from mhpcheck.model.system import Invariant, Reachable, TransitionSystem
from mhpcheck.registry import build_system


@pytest.fixture(scope="module")
def philo() -> TransitionSystem:
    return build_system("philosophers", {"n": 4})


def shown(ts: TransitionSystem, text: str) -> str:
    return Explainer(ts).show(parse_expr(ts, text))


# -- the language --------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "printed"), [
    ("pc[0] == eating", "pc[0] == eating"),
    ("eating == pc[0]", "eating == pc[0]"),
    ("pc[1] != 'left'", "pc[1] != left"),
    ("not fork[0] or fork[1] and fork[2]", "not fork[0] or (fork[1] and fork[2])"),
    ("~fork[0] | fork[1] & fork[2]", "not fork[0] or (fork[1] and fork[2])"),
    ("!(fork[0] || fork[1]) && fork[2]", "not (fork[0] or fork[1]) and fork[2]"),
    ("fork[0] => fork[1] => fork[2]", "fork[0] implies (fork[1] implies fork[2])"),
    ("fork[0] implies fork[1]", "fork[0] implies fork[1]"),
    ("exists i in phil: pc[i] == eating",
     "pc[0] == eating or pc[1] == eating or pc[2] == eating or pc[3] == eating"),
    ("forall i in phil: fork[(i + 1) % n]", "fork[1] and fork[2] and fork[3] and fork[0]"),
    ("count(i in phil: fork[i]) >= 2", "count(fork[0], fork[1], fork[2], fork[3]) >= 2"),
    ("sum(i in phil: i * 2) == 12", "12 == 12"),
    ("pc[0] == if fork[1] then left else thinking",
     "pc[0] == (if fork[1] then left else thinking)"),
    ("-7 // 2 == -4 and -7 % 2 == 1 and 7 % -2 == -1", "-4 == -4 and 1 == 1 and -1 == -1"),
    ("min(3, 1, 2) + max(1, 2) + abs(-5) == 8", "8 == 8"),
    ("(1 + 2) * 3 == 9", "9 == 9"),
    ("true and not false", "true and not false"),
])
def test_the_language_translates_into_the_models_ir(philo: TransitionSystem, text: str,
                                                     printed: str) -> None:
    assert shown(philo, text) == printed


def test_a_scalar_its_parameters_and_division_by_a_variable(philo: TransitionSystem) -> None:
    ts = Ring({"n": 3}).build()
    e = parse_expr(ts, "(head + count) % n == tail and buf[tail] <= 1 and 6 // (count + 1) > 0")
    pred = compile_system(ts).predicate(e)
    assert pred(ts.init[0])  # head = tail = count = 0


def test_an_index_may_be_a_label_of_the_index_set() -> None:
    from mhpcheck.model.domains import Bool
    from mhpcheck.model.system import IndexSet, VarDecl
    ts = build_system("philosophers", {"n": 2})
    sides = IndexSet("side", 2, ("left_side", "right_side"))
    labelled = TransitionSystem(ts.name, ts.params, ts.knobs,
                                (*ts.variables, VarDecl("up", Bool, sides, ts.n_slots)),
                                tuple((*s, 0, 0) for s in ts.init), ts.actions,
                                ts.action_infos, ts.properties)
    assert shown(labelled, "up[right_side] and up[0]") == "up[right_side] and up[left_side]"


@pytest.mark.parametrize(("text", "message"), [
    ("pcc[0] == eating", r"column 1: unknown family 'pcc' \(families: pc, fork\)"),
    ("x > 0", r"column 1: unknown name 'x': not a variable, parameter, bound index or label "
              r"\(variables: pc, fork\)"),
    ("pc[0] == eatin", r"column 10: 'eatin' is not a label of enum Pc \(thinking, left, eating\)"),
    ("pc == eating", r"column 1: pc is a family over phil: index it"),
    ("pc[4] == eating", r"column 4: pc\[4\]: index outside 0..3"),
    ("pc[0] < eating", r"column 7: '<' orders integers, not a label of Pc"),
    ("fork[0] = true", r"column 9: unexpected '=' \(compare with ==\)"),
    ("fork[0] and", r"column 12: the expression ends too early"),
    ("forall i in philo: fork[i]", r"column 13: unknown index set 'philo' \(index sets: phil\)"),
    ("count(i in phil: 1) > 0", r"column 18: the body of count must be a condition"),
    ("(fork[0]", r"column 9: expected '\)', found the end"),
    ("1 < 2 < 3", r"column 7: comparisons do not chain"),
    ("fork[0] % 0 == 1", r"an operand of '%' must be an integer, not a truth value"),
    ("7 % 0 == 1", r"column 3: '%' by zero"),
    ("fork[0] + 1 > 0", r"column 1: an operand of '\+' must be an integer"),
    ("fork[0] $ fork[1]", r"column 9: unexpected character '\$'"),
    ("n", r"column 1: the expression must be a condition, not an integer"),
    ("pc[0] == fork[0]", r"column 7: '==' between a label of Pc and a truth value"),
    ("if fork[0] then 1 else eating", r"the branches of if differ"),
    ("abs(1, 2) == 1", r"column 1: abs takes one argument"),
    ("forall in phil: fork[0]", r"column 8: expected an index name, found 'in'"),
])
def test_a_bad_expression_is_a_usage_error_naming_the_column_and_what_is_unknown(
        philo: TransitionSystem, text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as info:
        parse_expr(philo, text, condition=True)
    assert str(info.value).startswith(f"expression {text!r}: column ")


def test_huge_literals_and_deep_nesting_are_refused(philo: TransitionSystem) -> None:
    with pytest.raises(UsageError, match=r"column 13: integer 99999999999 is too large"):
        parse_expr(philo, "n * 2 + 1 < 99999999999", condition=True)
    with pytest.raises(UsageError, match="nested too deeply"):
        parse_expr(philo, "not " * 5000 + "fork[0]", condition=True)
    with pytest.raises(UsageError, match="nested too deeply"):
        parse_expr(philo, "(" * 5000 + "fork[0]" + ")" * 5000, condition=True)


def test_no_python_is_evaluated(philo: TransitionSystem) -> None:
    for text in ("__import__('os').system('true')", "fork[0].__class__", "lambda: 1"):
        with pytest.raises(UsageError):
            parse_expr(philo, text, condition=True)


# -- properties of your own ---------------------------------------------------------------

def test_an_own_property_is_added_to_a_new_system_under_its_own_name(
        philo: TransitionSystem) -> None:
    ts, prop = with_expr_property(philo, "invariant", "count(i in phil: pc[i] == eating) < 3")
    assert isinstance(prop, Invariant) and prop.name == "invariant-expr:count(i in phil: " \
        "pc[i] == eating) < 3"
    assert ts.property(prop.name) is prop and prop not in philo.properties
    assert ts.property("mutex") == philo.property("mutex")
    assert ts.var("pc") == philo.var("pc")
    again, same = with_expr_property(ts, "invariant", "count(i in phil: pc[i] == eating) < 3")
    assert again is ts and same is prop
    assert parse_property_name(prop.name) == ("invariant", "count(i in phil: pc[i] == eating) < 3")
    assert parse_property_name("mutex") is None
    rebuilt = with_named_property(philo, property_name("reachable", "fork[0]"))
    assert isinstance(rebuilt.property("reachable-expr:fork[0]"), Reachable)
    assert with_named_property(philo, "mutex") is philo


@pytest.mark.parametrize("engine", ["bfs", "bfs-vec", "pdr"])
def test_own_properties_are_checked_by_every_engine(philo: TransitionSystem,
                                                    engine: str) -> None:
    ts, holds = with_expr_property(philo, "invariant", "forall i in phil: pc[i] == eating "
                                   "implies fork[i] and fork[(i + 1) % n]")
    ts, two = with_expr_property(ts, "invariant", "count(i in phil: pc[i] == eating) < 2")
    ts, both = with_expr_property(ts, "reachable", "pc[0] == eating and pc[2] == eating")
    assert check(ts, holds, engine).verdict.value in ("holds", "proved")
    violated = check(ts, two, engine)
    assert violated.verdict.value == "violated"
    assert violated.trace is not None and len(violated.trace) == 4
    witness = check(ts, both, engine)
    assert witness.verdict.value == "reachable"
    assert witness.trace is not None and len(witness.trace) == 4


def test_an_own_property_of_the_ring_buffer_with_modulo() -> None:
    ts, prop = with_expr_property(Ring().build(), "invariant", "(head + count) % n == tail")
    for engine in ("bfs", "bfs-vec", "pdr"):
        assert check(ts, prop, engine).verdict.value in ("holds", "proved")


# -- the command line, spec files and the trace viewer -------------------------------------

def invoke(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_invariant_expr_that_holds_exits_0() -> None:
    code, out, _ = invoke("check", "philosophers", "--param", "n=4", "-q", "--invariant-expr",
                          "forall i in phil: pc[i] == eating implies fork[i]")
    assert code == 0, out
    assert out.startswith("invariant-expr:forall i in phil: pc[i] == eating implies fork[i]: "
                          "holds [bfs: 34 states")


def test_invariant_expr_violated_writes_a_trace_that_shows_and_replays(tmp_path: Path) -> None:
    trace = tmp_path / "t.json"
    code, out, _ = invoke("check", "philosophers", "--param", "n=4", "-q", "--invariant-expr",
                          "count(i in phil: pc[i] == eating) < 2", "--trace-out", str(trace))
    assert code == 1 and "violated" in out
    data = json.loads(trace.read_text())
    assert data["#meta"]["property"] == "invariant-expr:count(i in phil: pc[i] == eating) < 2"
    code, out, err = invoke("trace", "show", str(trace), "--ascii")
    assert code == 0, err
    assert "does not replay" not in err
    assert "invariant-expr:count(i in phil: pc[i] == eating) < 2 fails in state 4" in out
    assert "pc[0] = eating" in out and "not a property of this model" not in out


def test_reachable_expr_finds_a_witness_with_a_symbolic_engine() -> None:
    code, out, _ = invoke("check", "philosophers", "--param", "n=4", "-q", "-e", "bmc",
                          "--max-depth", "6", "--reachable-expr", "pc[1] == eating")
    assert code == 0 and "reachable-expr:pc[1] == eating: reachable" in out


def test_a_bad_expression_exits_2_naming_the_unknown_variable() -> None:
    code, out, err = invoke("check", "philosophers", "--invariant-expr", "pcc[0] == eating")
    assert code == 2 and out == ""
    assert err == ("check-model: error: --invariant-expr 'pcc[0] == eating': column 1: "
                   "unknown family 'pcc' (families: pc, fork)\n")
    code, _, err = invoke("check", "philosophers", "--reachable-expr", "turn == 1")
    assert code == 2 and "--reachable-expr 'turn == 1': column 1: unknown name 'turn'" in err


def test_exactly_one_property_option_is_given() -> None:
    for args in ([], ["-p", "mutex", "--invariant-expr", "true"],
                 ["--invariant-expr", "true", "--reachable-expr", "true"]):
        code, _, err = invoke("check", "philosophers", *args)
        assert code == 2
        assert "give exactly one of --property, --invariant-expr and --reachable-expr" in err


SPEC = """model = "philosophers"
params = { n = 4 }

[[check]]
invariant_expr = "count(i in phil: pc[i] == eating) <= 2"
expect = "holds"
expect_states = 34

[[check]]
reachable_expr = "count(i in phil: pc[i] == eating) == 2"
engine = "bmc"
max_depth = 6
expect = "reachable"
expect_trace_length = 4

[[check]]
invariant_expr = "count(i in phil: pc[i] == eating) // 2 < 1"
expect = "violated"
expect_trace_length = 4
"""


def test_spec_checks_state_their_own_properties(tmp_path: Path) -> None:
    spec = tmp_path / "own.toml"
    spec.write_text(SPEC)
    code, out, _ = invoke("run", "--json", str(spec), "--html-dir", str(tmp_path / "html"))
    assert code == 0, out
    results = json.loads(out)["results"]
    assert [r["property"] for r in results] == [
        "invariant-expr:count(i in phil: pc[i] == eating) <= 2",
        "reachable-expr:count(i in phil: pc[i] == eating) == 2",
        "invariant-expr:count(i in phil: pc[i] == eating) // 2 < 1"]
    assert all(r["ok"] for r in results)
    pages = list((tmp_path / "html").iterdir())
    assert len(pages) == 1 and "/" not in pages[0].name[len("own-"):]
    code, out, _ = invoke("run", "-q", str(spec))
    assert "pc[i] == eating" in out  # the table prints the brackets, not rich markup


@pytest.mark.parametrize(("check", "message"), [
    ('invariant_expr = "x > 0"\nexpect = "holds"',
     r"own.toml: check\[1\]: key 'invariant_expr': expression 'x > 0': column 1: unknown name"),
    ('reachable_expr = "pc[0] ="\nexpect = "reachable"',
     r"own.toml: check\[1\]: key 'reachable_expr': .*column 7: unexpected '='"),
    ('property = "mutex"\ninvariant_expr = "true"\nexpect = "holds"',
     r"check\[1\]: give one of the keys 'property', 'invariant_expr' and 'reachable_expr'"),
    ('invariant_expr = 3\nexpect = "holds"', r"key 'invariant_expr' must be str"),
])
def test_a_bad_spec_expression_names_the_file_check_and_key(tmp_path: Path, check: str,
                                                             message: str) -> None:
    spec = tmp_path / "own.toml"
    spec.write_text(f'model = "philosophers"\n\n[[check]]\n{check}\n')
    code, _, err = invoke("run", "-q", str(spec))
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    import re
    assert re.search(message, err), err
