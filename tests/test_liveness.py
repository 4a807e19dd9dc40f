"""Liveness under weak fairness: lassos through fair cycles and deadlocks."""

from __future__ import annotations

from toys import Toggle

from mhpcheck.checker.explicit.liveness import check_leads_to, strongly_connected
from mhpcheck.checker.replay import replay
from mhpcheck.checker.result import Verdict
from mhpcheck.model.base import Declarations, Model, action, eventually, init
from mhpcheck.model.domains import IntRange
from mhpcheck.model.dsl import Effect, StateView, Term, then, when
from mhpcheck.model.system import LeadsTo
from mhpcheck.registry import build_system


def leads(ts, name):  # type: ignore[no-untyped-def]
    prop = ts.property(name)
    assert isinstance(prop, LeadsTo)
    return prop


def test_action_enabled_only_intermittently_is_not_forced_by_weak_fairness() -> None:
    ts = Toggle().build()
    r = check_leads_to(ts, leads(ts, "finishes"))
    assert r.verdict is Verdict.VIOLATED
    trace = r.trace
    assert trace is not None and trace.loop is not None and trace.loop_action is not None
    # the loop cycles the light through all three colours
    assert {s.action for s in trace.steps[trace.loop + 1:]} | {trace.loop_action[0]} == {"step"}
    replay(ts, trace)


def test_action_enabled_everywhere_is_forced_by_weak_fairness() -> None:
    ts = Toggle(knobs={"always": True}).build()
    assert check_leads_to(ts, leads(ts, "finishes")).verdict is Verdict.HOLDS


def test_leads_to_holds_when_a_fair_action_must_move_on() -> None:
    ts = Toggle().build()
    assert check_leads_to(ts, leads(ts, "green-leads-to-red")).verdict is Verdict.HOLDS


def test_deadlock_before_the_goal_is_a_stuttering_lasso() -> None:
    ts = build_system("philosophers", {"n": 3})
    r = check_leads_to(ts, leads(ts, "someone-eats"))
    assert r.verdict is Verdict.VIOLATED
    assert r.trace is not None and r.trace.loop == len(r.trace.steps) - 1
    assert r.trace.loop_action is None
    replay(ts, r.trace)


def test_filter_lock_lets_a_waiting_process_in_under_fairness() -> None:
    ts = build_system("peterson", {"n": 3})
    assert check_leads_to(ts, leads(ts, "waiting-process-enters")).verdict is Verdict.HOLDS


def test_tarjan_finds_components() -> None:
    succ = [[1], [2], [0, 3], [3], []]
    comp, n = strongly_connected(5, range(5), succ)
    assert n == 3
    assert comp[0] == comp[1] == comp[2]
    assert len({comp[0], comp[3], comp[4]}) == 3


class Lazy(Model):
    """x may become 1, but the action is not fair: nothing forces it."""

    name = "lazy"

    def declare(self, d: Declarations) -> None:
        d.var("x", IntRange(0, 1))

    @init
    def start(self, s: StateView) -> Effect:
        return then()

    @action()
    def go(self, s: StateView) -> Effect:
        return when(s.x == 0).then(s.x.becomes(1))

    @eventually
    def done(self, s: StateView) -> Term:
        return s.x == 1


def test_a_run_may_stop_where_only_unfair_actions_are_enabled() -> None:
    ts = Lazy().build()
    r = check_leads_to(ts, leads(ts, "done"))
    assert r.verdict is Verdict.VIOLATED
    assert r.trace is not None and len(r.trace) == 0 and r.trace.loop == 0
    assert r.trace.loop_action is None and "no fair action" in r.trace.note
    replay(ts, r.trace)
