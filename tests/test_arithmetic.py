"""Integer operators of the IR (``//``, ``%``, negation, ``abs``, minimum, maximum):
every meaning of the IR agrees with Python's, and a zero divisor is a model error in
every engine, naming the action."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from toys import Ring

from mhpcheck.checker.checker import check
from mhpcheck.checker.explicit.vector_compile import compile_batch, layout_of
from mhpcheck.checker.symbolic import z3api as z
from mhpcheck.checker.symbolic.encode import Encoding
from mhpcheck.cli.viewer.explain import Explainer, evaluate
from mhpcheck.model.base import Declarations
from mhpcheck.model.compile import bounds, compile_system
from mhpcheck.model.domains import IntRange
from mhpcheck.model.dsl import StateView, maximum, minimum
from mhpcheck.model.errors import ModelError
from mhpcheck.model.expr import TRUE, Arith, Cmp, Const, Expr, Var
from mhpcheck.model.promela import _Writer, export_promela
from mhpcheck.model.system import ActionInfo, ActionInstance, TransitionSystem, VarDecl

X, Y = IntRange(-5, 5), IntRange(-3, 3)
XV, YV = Var("x", X), Var("y", Y)


def _pair_system() -> TransitionSystem:
    return TransitionSystem("pair", (), (), (VarDecl("x", X, None, 0), VarDecl("y", Y, None, 1)),
                            ((0, 0),), (ActionInstance("a", (), TRUE, ()),),
                            (ActionInfo("a", (), False, "", ""),), ())


#: Dividends and divisors of every sign: variables, constants, a wide dividend (Z3's own
#: division) and a divisor with many values (a case split per value).
OPERANDS: list[tuple[Expr, Expr]] = [
    (XV, YV), (XV, Const(3)), (XV, Const(-2)), (Arith("*", XV, Const(20)), Const(7)),
    (Arith("*", XV, Const(200)), Const(3)), (XV, Arith("*", YV, Const(30))), (Const(7), YV)]


@pytest.mark.parametrize("op", ["//", "%"])
def test_floor_division_and_modulo_are_pythons_in_every_semantics(op: str) -> None:
    ts = _pair_system()
    enc, compiled = Encoding(ts), compile_system(ts)
    batch = compile_batch(ts, layout_of(ts))
    frame = enc.frame("e")
    states = list(itertools.product(range(-5, 6), range(-3, 4)))
    packed = layout_of(ts).pack_many(states)
    for lhs, rhs in OPERANDS:
        e = Arith(op, lhs, rhs)  # type: ignore[arg-type]
        tr = enc.translator(frame)
        for state in states:
            a, b = evaluate(lhs, state, offsets={"x": 0, "y": 1}), evaluate(
                rhs, state, offsets={"x": 0, "y": 1})
            pairs = list(zip(frame, [z.int_val(v) for v in state], strict=True))
            defined = z.const_value(z.substitute(tr.defined(e), pairs))
            value = z.const_value(z.substitute(tr.term(e), pairs))
            if b == 0:
                assert defined == 0, (e, state)
                with pytest.raises(ModelError, match="by zero"):
                    compiled.predicate(Cmp("==", e, Const(0)), "where")(state)
                continue
            want = a // b if op == "//" else a % b
            assert defined == 1 and value == want, (e, state, value, want)
            assert compiled.predicate(Cmp("==", e, Const(want)))(state)
            assert bounds(e)[0] <= want <= bounds(e)[1]
        got, err = batch.predicate(Cmp("==", e, Arith(op, lhs, rhs)))(packed)  # type: ignore[arg-type]
        zero = np.array([evaluate(rhs, s, offsets={"x": 0, "y": 1}) == 0 for s in states])
        assert got[~zero].all()
        assert err is None if not zero.any() else (err == zero).all()


def test_bounds_of_division_and_modulo_contain_every_value() -> None:
    for a0, a1, b0, b1 in itertools.product(range(-4, 4), repeat=4):
        if a0 > a1 or b0 > b1:
            continue
        x, y = Var("x", IntRange(a0, a1)), Var("y", IntRange(b0, b1))
        for op in ("//", "%"):
            lo, hi = bounds(Arith(op, x, y))  # type: ignore[arg-type]
            for p, q in itertools.product(range(a0, a1 + 1), range(b0, b1 + 1)):
                if q:
                    assert lo <= (p // q if op == "//" else p % q) <= hi


def _view() -> StateView:
    d = Declarations("t")
    d.var("x", IntRange(-3, 3))
    d.var("y", IntRange(0, 4))
    return StateView(d.vars)


def test_python_operators_build_division_modulo_negation_and_abs() -> None:
    s = _view()
    assert ((s.x + 1) % 4).node == Arith("%", Arith("+", s.x.node, Const(1)), Const(4))
    assert (7 // s.y).node == Arith("//", Const(7), s.y.node)
    assert (-s.x).node == Arith("-", Const(0), s.x.node)
    assert abs(s.x).node == Arith("max", s.x.node, Arith("-", Const(0), s.x.node))
    assert minimum(s.x, s.y, 2).node == Arith("min", Arith("min", s.x.node, s.y.node), Const(2))
    assert maximum(s.x, 0).node == Arith("max", s.x.node, Const(0))


def test_true_division_and_a_constant_zero_divisor_are_refused() -> None:
    s = _view()
    with pytest.raises(ModelError, match="use '//'"):
        _ = s.x / 2
    with pytest.raises(ModelError, match="'%' by zero"):
        _ = s.x % 0


@pytest.mark.parametrize("engine", ["bfs", "bfs-vec", "pdr"])
def test_ring_buffer_with_modulo_gives_the_same_answers_in_bfs_bfs_vec_and_pdr(
        engine: str) -> None:
    ts = Ring({"n": 3}).build()
    holds = check(ts, ts.property("tail-follows-head"), engine)
    full = check(ts, ts.property("never-full"), engine)
    wrapped = check(ts, ts.property("full-and-wrapped"), engine)
    assert holds.verdict.value == ("proved" if engine == "pdr" else "holds")
    assert full.verdict.value == "violated" and full.trace is not None and len(full.trace) == 3
    assert wrapped.verdict.value == "reachable"
    assert wrapped.trace is not None and len(wrapped.trace) == 5
    if engine != "pdr":
        assert holds.stats.distinct_states == 3 * (2 ** 4 - 1)  # n * (2**(n+1) - 1)


@pytest.mark.parametrize("engine", ["bfs", "bfs-vec", "pdr", "bmc", "kind"])
def test_a_zero_divisor_is_a_model_error_naming_the_action_in_every_engine(
        engine: str) -> None:
    ts = Ring(knobs={"zero": True}).build()
    with pytest.raises(ModelError, match=r"action advance\(\): modulo by zero"):
        check(ts, ts.property("tail-follows-head"), engine)


def test_printers_parenthesise_division_and_modulo() -> None:
    ts = Ring().build()
    inv = ts.property("tail-follows-head")
    assert Explainer(ts).show(inv.expr) == "(head + count) % 3 == tail"  # type: ignore[attr-defined]
    from mhpcheck.checker.symbolic.certificate import Printer
    assert "(head + count) % 3" in Printer(ts).show(inv.expr)  # type: ignore[attr-defined]


def test_promela_export_rewrites_floor_division_only_where_signs_differ() -> None:
    text = export_promela(Ring().build()).text
    assert "% 3)" in text and "!= 0 &&" not in text  # non-negative: C's % is Python's
    writer = _Writer(_pair_system())
    assert writer.expr(Arith("//", XV, Const(2))) == (
        "(((x % 2) != 0 && ((x % 2) < 0) != (2 < 0)) -> x / 2 - 1 : x / 2)")
    assert writer.expr(Arith("%", XV, YV)) == (
        "(((x % y) != 0 && ((x % y) < 0) != (y < 0)) -> (x % y) + y : (x % y))")
