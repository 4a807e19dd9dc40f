"""The modelling language: IR built by operators, constant folding, and build-time errors."""

from __future__ import annotations

import pytest
from toys import Arrays, Counter

from mhpcheck.model.base import (
    Declarations,
    Knob,
    Model,
    action,
    eventually,
    init,
    invariant,
    leads_to,
    reachable,
    step_invariant,
)
from mhpcheck.model.domains import Bool, Enum, IntRange
from mhpcheck.model.dsl import Effect, StateView, Term, all_of, any_of, count, ite, then, when
from mhpcheck.model.errors import ModelError
from mhpcheck.model.expr import FALSE, TRUE, And, Cmp, Const, Ite, Var
from mhpcheck.model.symmetry import Symmetry


def view(decls: dict[str, object]) -> StateView:
    d = Declarations("t")
    d.index("i", 3)
    d.var("x", IntRange(0, 4))
    d.var("e", Enum("E", ["a", "b"]))
    d.var("f", Bool, over="i")
    return StateView(d.vars)


def test_comparison_builds_a_cmp_node_with_an_encoded_label() -> None:
    s = view({})
    node = (s.e == "b").node
    assert isinstance(node, Cmp)
    assert node.rhs == Const(1, node.lhs.sort)


def test_nodes_have_structural_equality() -> None:
    s = view({})
    assert (s.x + 1 < 3).node == (s.x + 1 < 3).node
    assert (s.f[1] == True).node != (s.f[2] == True).node  # noqa: E712


def test_conjunction_folds_constants_and_flattens() -> None:
    s = view({})
    assert all_of([True, True]).node == TRUE
    assert all_of([s.x == 1, False]).node == FALSE
    node = all_of([s.x == 1, all_of([s.x < 3, s.e == "a"])]).node
    assert isinstance(node, And) and len(node.args) == 3
    assert any_of([]).node == FALSE


def test_count_sums_conditions() -> None:
    s = view({})
    node = count([s.f[0] == True, True, False]).node  # noqa: E712
    assert node.sort == "int"
    assert isinstance(node.lhs, Ite)  # type: ignore[attr-defined]


def test_python_truth_value_of_an_expression_is_refused() -> None:
    s = view({})
    with pytest.raises(ModelError, match=r"Python truth value"):
        if s.x == 1:
            pass


def test_unknown_label_is_named() -> None:
    s = view({})
    with pytest.raises(ModelError, match="'c' is not a label of enum E"):
        _ = s.e == "c"


def test_sort_mismatch_is_refused() -> None:
    s = view({})
    with pytest.raises(ModelError, match="between"):
        _ = s.x == s.e


def test_ordering_an_enum_is_refused() -> None:
    s = view({})
    with pytest.raises(ModelError, match="needs integers"):
        _ = s.e < "b"


def test_static_index_outside_the_family_is_refused() -> None:
    s = view({})
    with pytest.raises(ModelError, match=r"f\[3\]: index outside 0..2"):
        _ = s.f[3]


def test_unknown_variable_names_the_variable() -> None:
    s = view({})
    with pytest.raises(ModelError, match="no variable 'y'"):
        _ = s.y


def test_ite_takes_the_enum_of_its_other_branch() -> None:
    s = view({})
    node = ite(s.x == 0, "a", s.e).node
    assert isinstance(node, Ite) and node.then == Const(0, node.orelse.sort)


def test_parameters_and_knobs_are_validated() -> None:
    with pytest.raises(ModelError, match="unknown parameter 'size'"):
        Counter({"size": 3})
    with pytest.raises(ModelError, match=r"limit=0 outside 1\.\.100"):
        Counter({"limit": 0})
    with pytest.raises(ModelError, match="knob overflow=yes is not one of false, true"):
        Counter(knobs={"overflow": "yes"})
    with pytest.raises(ModelError, match="unknown knob 'speed'"):
        Counter(knobs={"speed": 1})


def test_action_instances_are_named_with_their_arguments() -> None:
    ts = Arrays({"n": 2}).build()
    assert [a.label for a in ts.actions] == ["write()"]
    from mhpcheck.registry import build_system
    ts = build_system("philosophers", {"n": 3})
    assert ts.actions[0].label == "take_left(i=0)"


class TwiceAssigned(Model):
    name = "twice"

    def declare(self, d: Declarations) -> None:
        d.var("x", IntRange(0, 3))

    @init
    def start(self, s: StateView) -> Effect:
        return then()

    @action()
    def bump(self, s: StateView) -> Effect:
        return when(s.x < 3).then(s.x.becomes(1), s.x.becomes(2))


def test_an_action_assigning_a_variable_twice_is_named() -> None:
    with pytest.raises(ModelError, match=r"action bump\(\): assigns x twice"):
        TwiceAssigned().build()


class BadValue(Model):
    name = "bad"

    def declare(self, d: Declarations) -> None:
        d.var("x", IntRange(0, 3))

    @init
    def start(self, s: StateView) -> Effect:
        return then()

    @action()
    def store(self, s: StateView) -> Effect:
        return when(s.x < 3).then(s.x.becomes(7))


def test_a_constant_outside_the_domain_names_action_and_variable() -> None:
    with pytest.raises(ModelError, match=r"action store\(\).*assignment to x.*7"):
        BadValue().build()


class NoInit(Model):
    name = "noinit"

    def declare(self, d: Declarations) -> None:
        d.var("x", Bool)

    @action()
    def flip(self, s: StateView) -> Effect:
        return then(s.x.becomes(~(s.x == True)))  # noqa: E712


def test_a_model_without_init_is_refused() -> None:
    with pytest.raises(ModelError, match="no @init"):
        NoInit().build()


def test_var_nodes_carry_domain_and_family_size() -> None:
    s = view({})
    node = s.f[s.x].node
    assert isinstance(node, Var) and node.size == 3 and node.index is not None


def test_ite_between_two_labels_takes_the_enum_of_its_target() -> None:
    s = view({})
    choice = ite(s.x == 0, "b", "a")
    update = s.e.becomes(choice)
    assert isinstance(update.value, Ite)
    assert update.value.then == Const(1, update.value.orelse.sort)
    assert isinstance((s.e == ite(s.x == 1, "a", "b")).node, Cmp)


def test_ite_between_two_labels_without_an_enum_is_refused() -> None:
    s = view({})
    with pytest.raises(ModelError, match="no enum is known"):
        _ = s.x == ite(s.x == 0, "a", "b")


# -- decorators with and without parentheses ---------------------------------------------

class Bare(Model):
    """Every decorator bare and with empty parentheses: both spellings mark the method."""

    name = "bare"

    def declare(self, d: Declarations) -> None:
        d.var("x", IntRange(0, 2))

    @init
    def start(self, s: StateView) -> Effect:
        return then()

    @action
    def up(self, s: StateView) -> Effect:
        return when(s.x < 2).then(s.x.becomes(s.x + 1))

    @action()
    def down(self, s: StateView) -> Effect:
        return when(s.x > 0).then(s.x.becomes(s.x - 1))

    @invariant
    def small(self, s: StateView) -> Term:
        return s.x <= 2

    @invariant()
    def natural(self, s: StateView) -> Term:
        return s.x >= 0

    @reachable
    def top(self, s: StateView) -> Term:
        return s.x == 2

    @reachable()
    def bottom(self, s: StateView) -> Term:
        return s.x == 0

    @step_invariant
    def by_one(self, s: StateView, t: StateView) -> Term:
        return ((t.x - s.x) == 1) | ((s.x - t.x) == 1)

    @step_invariant()
    def moves(self, s: StateView, t: StateView) -> Term:
        return t.x != s.x

    @eventually
    def somewhere(self, s: StateView) -> Term:
        return s.x >= 0

    @eventually()
    def anywhere(self, s: StateView) -> Term:
        return s.x <= 2

    @leads_to
    def top_to_bottom(self, s: StateView) -> tuple[Term, Term]:
        return s.x == 2, s.x <= 2

    @leads_to()
    def bottom_to_top(self, s: StateView) -> tuple[Term, Term]:
        return s.x == 0, s.x >= 0


class InitCalled(Model):
    name = "init-called"

    def declare(self, d: Declarations) -> None:
        d.var("x", IntRange(0, 2))

    @init()
    def start(self, s: StateView) -> Effect:
        return then(s.x.becomes(1))

    @action
    def stay(self, s: StateView) -> Effect:
        return when(s.x == 1).then(s.x.becomes(1))


def test_decorators_work_with_and_without_parentheses() -> None:
    ts = Bare().build()
    assert [a.action for a in ts.actions] == ["up", "down"]
    assert {p.name: p.kind for p in ts.properties} == {
        "small": "invariant", "natural": "invariant", "top": "reachable",
        "bottom": "reachable", "by-one": "step-invariant", "moves": "step-invariant",
        "somewhere": "eventually", "anywhere": "eventually", "top-to-bottom": "leads-to",
        "bottom-to-top": "leads-to"}
    assert InitCalled().build().init == ((1,),)


def test_a_positional_decorator_argument_is_refused_with_a_hint() -> None:
    with pytest.raises(ModelError, match=r"@action\('phil'\): give its options as keywords"):
        action("phil")  # type: ignore[call-overload]
    with pytest.raises(ModelError, match=r"@invariant\('S1'\).*name="):
        invariant("S1")  # type: ignore[call-overload]


# -- a model's own Python errors while it is built ------------------------------------------

class Raises(Model):
    """Raises a Python exception in the method the knob ``where`` names."""

    name = "raises"
    knobs = (Knob("where", "none", ("none", "declare", "init", "guard", "update", "invariant",
                                    "reachable", "symmetry")),)

    def declare(self, d: Declarations) -> None:
        if self.k.where == "declare":
            d.var("x", IntRange(0, self.p.missing))
        d.index("cell", 2)
        d.var("x", IntRange(0, 3))

    def symmetry(self) -> tuple[Symmetry, ...]:
        if self.k.where == "symmetry":
            return (Symmetry("cell", "ring"),) + None  # type: ignore[operator]
        return ()

    @init
    def start(self, s: StateView) -> Effect:
        if self.k.where == "init":
            return {}["x"]  # type: ignore[no-any-return]
        return then()

    @action(i="cell")
    def advance(self, s: StateView, i: int) -> Effect:
        guard = s.x < 3 if self.k.where != "guard" else s.x < 3 // (i - 1)
        value = (s.x + 1) % 4 if self.k.where != "update" else len(s.x)  # type: ignore[arg-type]
        return when(guard).then(s.x.becomes(value))

    @invariant
    def bounded(self, s: StateView) -> Term:
        return s.x <= 3 if self.k.where != "invariant" else s.nothing.at_all  # type: ignore[no-any-return]

    @reachable
    def three(self, s: StateView) -> Term:
        return s.x == 3 if self.k.where != "reachable" else undefined_name  # type: ignore[name-defined]  # noqa: F821


@pytest.mark.parametrize(("where", "message"), [
    ("declare", r"model raises, declare: AttributeError: no parameter 'missing' "
                r"\(.*test_language\.py:\d+\)"),
    ("init", r"model raises, @init start: KeyError: 'x' \(.*test_language\.py:\d+\)"),
    ("guard", r"model raises, action advance\(i=1\): ZeroDivisionError: integer division or "
              r"modulo by zero \(.*test_language\.py:\d+\)"),
    ("update", r"model raises, action advance\(i=0\): TypeError: object of type 'Term' has "
               r"no len\(\) \(.*test_language\.py:\d+\)"),
    ("invariant", r"model raises, invariant bounded: .*no variable 'nothing'"),
    ("reachable", r"model raises, reachable three: NameError: name 'undefined_name' is not "
                  r"defined \(.*test_language\.py:\d+\)"),
    ("symmetry", r"model raises, symmetry: TypeError: .*tuple"),
])
def test_a_python_exception_in_a_method_is_one_model_error_naming_model_method_and_line(
        where: str, message: str) -> None:
    with pytest.raises(ModelError, match=message) as info:
        Raises(knobs={"where": where}).build()
    assert "\n" not in str(info.value)


class Mistaken(Model):
    """An invariant that makes the expression-language mistake the knob ``mistake`` names."""

    name = "mistaken"
    knobs = (Knob("mistake", "python-and", ("python-and", "static-index", "none",
                                            "integer", "label")),)

    def declare(self, d: Declarations) -> None:
        d.index("cell", 2)
        d.var("x", IntRange(0, 3))
        d.var("a", IntRange(0, 3), over="cell")

    @init
    def start(self, s: StateView) -> Effect:
        return then()

    @invariant
    def small(self, s: StateView) -> object:
        mistake = self.k.mistake
        if mistake == "python-and":
            return (s.x < 3) and (s.x > 0)
        if mistake == "static-index":
            return s.a[5] == 0
        if mistake == "none":
            return None
        if mistake == "integer":
            return s.x
        return s.x == "idle"


@pytest.mark.parametrize(("mistake", "message"), [
    ("python-and", r"model mistaken, invariant small: a model expression was used as a "
                   r"Python truth value.* \(.*test_language\.py:\d+\)$"),
    ("static-index", r"model mistaken, invariant small: a\[5\]: index outside 0..1 "
                     r"\(.*test_language\.py:\d+\)$"),
    ("none", r"model mistaken, invariant small: returns None; it must return a condition"),
    ("integer", r"model mistaken, invariant small: expected a condition, got an int$"),
    ("label", r"model mistaken, invariant small: '==': label 'idle' used where an int is "
              r"expected"),
])
def test_an_expression_mistake_in_a_method_names_the_model_and_method(
        mistake: str, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        Mistaken(knobs={"mistake": mistake}).build()


class BadParameter(Model):
    name = "badparam"

    def declare(self, d: Declarations) -> None:
        d.var("x", IntRange(0, 3))

    @init
    def start(self, s: StateView) -> Effect:
        return then()

    @action(i=5)  # type: ignore[arg-type]
    def step(self, s: StateView, i: int) -> Effect:
        return when(s.x < 3).then(s.x.becomes(s.x + 1))


def test_parameter_values_that_are_not_a_set_are_named() -> None:
    with pytest.raises(ModelError, match=r"action step, parameter i: values must be an "
                                         r"index-set name, a Domain, a range or a tuple, got 5"):
        BadParameter().build()


def test_a_family_over_an_unknown_index_set_is_named() -> None:
    d = Declarations("m")
    d.index("cell", 2)
    with pytest.raises(ModelError, match=r"model m: variable x ranges over unknown index set "
                                         r"'nowhere' \(index sets: cell\)"):
        d.var("x", Bool, over="nowhere")


def test_a_model_raising_while_built_exits_2_with_one_line() -> None:
    from click.testing import CliRunner

    from mhpcheck.cli.main import main
    from mhpcheck.registry import register, unregister
    register("raises", Raises)
    try:
        r = CliRunner().invoke(main, ["check", "raises", "--set", "where=guard", "-p", "bounded"])
    finally:
        unregister("raises")
    assert r.exit_code == 2, r.output
    assert "ZeroDivisionError" in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1
