"""PDR's counterexamples along IC3's proof obligations, pinned on systems that the
agreement tests (tests/test_agreement.py) once drew and PDR got wrong.

Each system is built directly in the IR, shrunk by hand from what hypothesis found, with
a note on what it pins.
"""

from __future__ import annotations

from mhpcheck.checker.checker import check
from mhpcheck.checker.result import Budget
from mhpcheck.checker.symbolic import pdr
from mhpcheck.checker.symbolic import z3api as z
from mhpcheck.checker.symbolic.common import make_goal
from mhpcheck.checker.symbolic.encode import Encoding
from mhpcheck.checker.symbolic.ic3 import Outcome
from mhpcheck.model.domains import Enum, IntRange
from mhpcheck.model.errors import ModelError
from mhpcheck.model.expr import TRUE, Assign, Cmp, Const, Ite, Var
from mhpcheck.model.system import (
    ActionInfo,
    ActionInstance,
    IndexSet,
    StepInvariant,
    TransitionSystem,
    VarDecl,
)

COLOUR = Enum("Colour", ["red", "green", "blue"])
V = IntRange(0, 2)


def error_after_one_step() -> TransitionSystem:
    """v: 0..2, f: a family of two colours; from v = 0, ``flip`` sets v to 2 (and back
    to 0 from 2); ``probe``'s guard reads f[v], which raises once v = 2. The step
    invariant is ``true``, so its only bad "steps" are the error states: BFS reports a
    model error after one ``flip``.

    From hypothesis seed 290079086668693558853191400364218526586 (``make test`` on a
    fresh clone): the query for a bad step of a step invariant is satisfied by an error
    state, where the solver leaves the action free; IC3 took its default, action 0
    (``flip``), as the bad step, so its path was ``flip, flip``, which ends in a state
    with nothing wrong, and the InternalError that ``classify`` raised there escaped
    PDR instead of letting the search for a shortest trace run.
    """
    flip = Ite(Cmp("==", Var("v", V), Const(0)), Const(2), Const(0))
    probe = Cmp("==", Var("f", COLOUR, Var("v", V), 2), Const(0, COLOUR))
    acts = (ActionInstance("flip", (), TRUE, (Assign("v", V, flip),), False),
            ActionInstance("probe", (), probe, (Assign("v", V, Const(0)),), False))
    infos = tuple(ActionInfo(a.action, (), False, "", "") for a in acts)
    return TransitionSystem(
        "error-after-one-step", (), (),
        (VarDecl("v", V, None, 0), VarDecl("f", COLOUR, IndexSet("i", 2), 1)),
        ((0, 0, 0),), acts, infos, (StepInvariant("step", "", (), TRUE),))


def test_bfs_reports_the_model_error_the_regression_is_about() -> None:
    ts = error_after_one_step()
    try:
        check(ts, ts.property("step"), "bfs", Budget())
    except ModelError as err:
        assert "index of f outside 0..1 (got 2)" in str(err), err
    else:
        raise AssertionError("BFS found no model error")


def test_pdr_reports_a_model_error_in_an_error_state_not_a_bad_step() -> None:
    ts = error_after_one_step()
    try:
        got = check(ts, ts.property("step"), "pdr", Budget(timeout=60))
    except ModelError as err:
        assert "index of f outside 0..1 (got 2)" in str(err), err
        assert "after flip()" in str(err), err  # one step, as BFS found it
    else:
        raise AssertionError(f"PDR reported {got.verdict.value}: {got.message}")


@z.fresh_context
def _judge(ts: TransitionSystem, actions: tuple[int, ...]) -> object:
    goal = make_goal(Encoding(ts), ts.property("step"))
    return pdr._from_obligations(ts, goal, Outcome("violated", start=ts.init[0],
                                                   actions=actions))


def test_an_obligation_path_that_misses_the_bad_states_is_no_trace() -> None:
    """IC3's path is a guide: one that passes an error state, or ends where nothing is
    wrong, gives None (the search for a shortest trace then runs), never an error."""
    ts = error_after_one_step()
    assert _judge(ts, (0, 0)) is None  # through the error state after one flip
    assert _judge(ts, ()) is None  # the initial state: nothing wrong there
    assert _judge(ts, (0,)) is None  # ends in the error state: a model error, for BFS to say
