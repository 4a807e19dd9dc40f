"""The modelling language: IR built by operators, constant folding, and build-time errors."""

from __future__ import annotations

import pytest
from toys import Arrays, Counter

from mhpcheck.model.base import Declarations, Model, action, init
from mhpcheck.model.domains import Bool, Enum, IntRange
from mhpcheck.model.dsl import Effect, StateView, all_of, any_of, count, ite, then, when
from mhpcheck.model.errors import ModelError
from mhpcheck.model.expr import FALSE, TRUE, And, Cmp, Const, Ite, Var


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
    with pytest.raises(ModelError, match="knob overflow='yes' is not one of"):
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
