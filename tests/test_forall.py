"""Quantifiers, declared relations, the parametric build and the forall engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mhpcheck.checker.checker import Checker
from mhpcheck.checker.result import Budget, Verdict
from mhpcheck.checker.symbolic.forall import Shower
from mhpcheck.cli.main import main
from mhpcheck.model.base import Declarations, Model, Param, action, hint, init, invariant
from mhpcheck.model.domains import Bool, Enum, IntRange
from mhpcheck.model.dsl import Effect, StateView, Term, all_of, ite, then, when
from mhpcheck.model.errors import ModelError
from mhpcheck.model.expr import And, Cmp, Const, Var, walk
from mhpcheck.model.quantify import Quant, apply, exists, finite_only, forall, succ, update_all
from mhpcheck.model.textbook.philosophers import Philosophers
from mhpcheck.model.textbook.tokenring import TokenRing

Pc = Enum("TestPc", ["idle", "busy"])


class Pages(Model):
    """Pages in pageblocks (functional membership, pfn order); a page is busy only
    while its pageblock is isolated."""

    name = "test-pages"
    params = (Param("pbs", 2, lo=1, hi=6), Param("per", 2, lo=1, hi=4))
    sizes = ("pbs", "per")

    def declare(self, d: Declarations) -> None:
        d.index("pageblock", self.p.pbs)
        d.index("page", self.p.pbs * self.p.per, ordered=True)
        per = self.p.per
        d.function("pageblock_of", "page", "pageblock", lambda p: p // per)
        d.var("isolated", Bool, over="pageblock")
        d.var("pc", Pc, over="page")

    @init
    def start(self, s: StateView) -> Effect:
        return then()

    @action(q="pageblock")
    def isolate(self, s: StateView, q: Term) -> Effect:
        return when(s.isolated[q] == False).then(s.isolated[q].becomes(True))  # noqa: E712

    @action(p="page")
    def work(self, s: StateView, p: Term) -> Effect:
        return when(s.isolated[apply("pageblock_of", p)] == True,  # noqa: E712
                    s.pc[p] == "idle").then(s.pc[p].becomes("busy"))

    @invariant
    def busy_pages_are_isolated(self, s: StateView) -> Term:
        return forall("page", lambda p: (s.pc[p] == "busy").implies(
            s.isolated[apply("pageblock_of", p)] == True))  # noqa: E712

    @hint
    def wrong_hint(self, s: StateView) -> Term:
        """False: pages do get busy."""
        return forall("page", lambda p: s.pc[p] == "idle")


Block = Enum("TestBlock", ["online", "going_offline"])


class Isolation(Model):
    """offline_pages' isolation pattern: a block's offlining isolates every pageblock of
    the block in one step (start_isolate_page_range) and undoes it on failure."""

    name = "test-isolation"
    params = (Param("blocks", 2, lo=1, hi=4), Param("per", 2, lo=1, hi=4))
    sizes = ("blocks", "per")

    def declare(self, d: Declarations) -> None:
        d.index("block", self.p.blocks)
        d.index("pageblock", self.p.blocks * self.p.per)
        per = self.p.per
        d.function("block_of", "pageblock", "block", lambda q: q // per)
        d.var("state", Block, over="block")
        d.var("isolated", Bool, over="pageblock")

    @init
    def start(self, s: StateView) -> Effect:
        return then()

    @action(b="block")
    def start_isolate_page_range(self, s: StateView, b: Term) -> Effect:
        return when(s.state[b] == "online").then(
            s.state[b].becomes("going_offline"),
            update_all("pageblock", lambda q: apply("block_of", q) == b,
                       lambda q: s.isolated[q].becomes(True)))

    @action(b="block")
    def undo_isolate_page_range(self, s: StateView, b: Term) -> Effect:
        return when(s.state[b] == "going_offline").then(
            s.state[b].becomes("online"),
            update_all("pageblock", lambda q: apply("block_of", q) == b,
                       lambda q: s.isolated[q].becomes(False)))

    @invariant
    def isolated_iff_going_offline(self, s: StateView) -> Term:
        return forall("pageblock", lambda q: (s.isolated[q] == True) ==  # noqa: E712
                      (s.state[apply("block_of", q)] == "going_offline"))


class Loop(Model):
    """Computes with its size in Python: the parametric build must refuse it."""

    name = "test-loop"
    params = (Param("n", 2, lo=1, hi=4),)
    sizes = ("n",)

    def declare(self, d: Declarations) -> None:
        d.index("proc", self.p.n)
        d.var("x", IntRange(0, 1), over="proc")

    @init
    def start(self, s: StateView) -> Effect:
        return then()

    @action
    def first(self, s: StateView) -> Effect:
        return when(all_of(s.x[i] == 0 for i in range(self.p.n))).then(s.x[0].becomes(1))

    @invariant
    def small(self, s: StateView) -> Term:
        return forall("proc", lambda i: s.x[i] <= 1)


def test_forall_and_exists_expand_to_the_loops_they_replace() -> None:
    ts = Philosophers(params={"n": 4}).build()
    mutex = ts.property("mutex").expr
    view = StateView({v.name: v for v in ts.variables})
    scope_free = all_of(~((view.pc[i] == "eating") & (view.pc[(i + 1) % 4] == "eating"))
                        for i in range(4))
    assert mutex == scope_free.node


def test_the_parametric_build_keeps_quantifiers_and_symbolic_indices() -> None:
    ps = Philosophers().build_parametric()
    assert isinstance(ps.invariant("mutex").expr, Quant)  # type: ignore[union-attr]
    assert [a.label for a in ps.actions] == ["take_left(i)", "take_right(i)", "release(i)"]
    assert "someone-eats" in ps.skipped


def test_a_python_loop_over_a_size_is_refused_in_the_parametric_build() -> None:
    with pytest.raises(ModelError, match="parameter n is a size"):
        Loop().build_parametric()
    r = Checker(Loop()).check("small", "forall")
    assert r.verdict is Verdict.UNKNOWN and "parameter n is a size" in r.message


def test_relations_outside_a_build_or_undeclared_are_errors() -> None:
    with pytest.raises(ModelError, match="outside a model's build"):
        forall("proc", lambda i: True)
    with pytest.raises(ModelError, match="outside a model's build"):
        exists("proc", lambda i: True)
    with pytest.raises(ModelError, match="outside a model's build"):
        succ("proc", 0)


def test_philosophers_are_proved_for_every_n_with_a_quantified_invariant() -> None:
    for prop in ("neighbours-never-both-eat", "eating-holds-both-forks"):
        r = Checker(Philosophers(params={"n": 64})).check(prop, "forall", Budget(timeout=60))
        assert r.verdict is Verdict.PROVED, r.message
        assert r.certificate is not None and "∀x∈phil" in r.certificate
        assert "EPR: yes" in r.message


def test_the_token_ring_is_proved_for_every_n_and_rechecked_at_a_ring_of_40() -> None:
    r = Checker(TokenRing(params={"n": 40})).check("mutex", "forall", Budget(timeout=60))
    assert r.verdict is Verdict.PROVED, r.message
    assert r.certificate is not None and "token" in r.certificate


def test_a_broken_ring_gives_bfs_counterexample_at_a_sampled_size() -> None:
    """The sampled instances show the bug before any proof is tried: the answer names
    them and carries bfs's (reachable, replayed) trace at the first."""
    r = Checker(TokenRing(knobs={"broken": True})).check("mutex", "forall")
    assert r.verdict is Verdict.UNKNOWN and r.bound == "sampled"
    assert ("at-most-one-critical cannot be proved for every size: bfs finds it violated "
            "at 2 sampled instances, (n=2); (n=3)") in r.message
    assert "run this command with --param n=2 and -e bfs" in r.message
    assert r.trace.note is not None and "bfs's counterexample at (n=2)" in r.trace.note
    assert r.trace is not None and r.trace.kind == "counterexample" and r.trace.reachable


class UnsampledRing(TokenRing):
    """The token ring with no instance sampled: nothing shows a bug before the proof."""

    def sample_sizes(self) -> list[dict[str, int]]:
        return []


def test_an_unsampled_broken_ring_gives_a_replayed_counterexample_to_induction() -> None:
    r = Checker(UnsampledRing(knobs={"broken": True})).check("mutex", "forall")
    assert r.verdict is Verdict.UNKNOWN and r.bound == "cti"
    assert r.trace is not None and r.trace.kind == "cti" and not r.trace.reachable
    assert len(r.trace.steps) == 2


class GappedRing(TokenRing):
    """The token ring as a model whose parametric build does not cover its knobs."""

    parametric_gaps = "a feature the parametric build leaves out (test)"


def test_without_a_parametric_build_the_sampled_instances_are_still_searched() -> None:
    """No proof is possible, but a violation at an instance a proof would cover still
    shows that none can exist: the answer says so with bfs's trace; without one, the
    answer says how many instances bfs searched."""
    r = Checker(GappedRing(knobs={"broken": True})).check("mutex", "forall")
    assert r.verdict is Verdict.UNKNOWN and r.bound == "sampled" and r.trace is not None
    assert r.message.startswith("at-most-one-critical cannot be proved for every size: bfs "
                                "finds it violated at 2 sampled instances, (n=2); (n=3)")
    assert r.message.endswith("no parametric build: model tokenring has no parametric build "
                              "yet: a feature the parametric build leaves out (test)")
    r = Checker(GappedRing()).check("mutex", "forall")
    assert r.verdict is Verdict.UNKNOWN and r.bound is None and r.trace is None
    assert r.message.endswith("; bfs finds no violation at the 3 sampled instances a proof "
                              "would cover")


def test_functional_membership_and_a_false_hint_that_is_dropped() -> None:
    r = Checker(Pages(params={"pbs": 3, "per": 2})).check("busy-pages-are-isolated",
                                                          "forall", Budget(timeout=60))
    assert r.verdict is Verdict.PROVED, r.message
    assert r.certificate is not None and "wrong-hint" not in r.certificate
    assert "pageblock_of(" in r.certificate


def test_a_quantified_update_isolates_a_whole_block_for_every_size() -> None:
    for blocks, per in ((1, 1), (2, 2), (3, 1)):
        finite = Checker(Isolation(params={"blocks": blocks, "per": per}))
        assert finite.check("isolated-iff-going-offline").verdict is Verdict.HOLDS
    r = Checker(Isolation(params={"blocks": 3, "per": 2})).check(
        "isolated-iff-going-offline", "forall", Budget(timeout=60))
    assert r.verdict is Verdict.PROVED, r.message


def test_the_cli_prints_and_writes_the_quantified_certificate(tmp_path: Path) -> None:
    out = str(tmp_path / "cert.txt")
    got = CliRunner().invoke(main, ["check", "philosophers", "-p", "mutex", "-e", "forall",
                                    "--certificate-out", out])
    assert got.exit_code == 0, got.output
    text = Path(out).read_text(encoding="utf-8")
    assert "proved for every size (phil: 2 or more)" in text and "∀" in text


# -- attributes: a fixed label per element (a page's owner class), any labelling -------------
def _observers() -> type[Model]:
    from mhpcheck.registry import build_system
    ts = build_system(f"{Path(__file__).resolve().parent.parent / 'examples'}/observers.py"
                      ":ObservedRing", {})
    return type(ts.quantified.model)  # type: ignore[union-attr]


def test_an_attribute_is_a_table_in_the_finite_build_and_uninterpreted_in_the_parametric() -> None:
    from mhpcheck.model.quantify import AttrFn
    ring = _observers()
    ts = ring(params={"n": 3}, knobs={"roles": "MO"}).build()
    inst = ts.quantified.instance  # type: ignore[union-attr]
    assert inst.functions["role"] == (0, 1, 0)  # member, observer, member: the pattern repeated
    prop = ts.property("observers-never-enter").expr
    assert "role" not in repr(prop)  # folded: a fixed role is a constant
    ps = ring().build_parametric()
    expr = ps.invariant("observers-never-enter").expr  # type: ignore[union-attr]
    assert any(isinstance(node, AttrFn) for node in walk(expr))


def test_an_initial_value_chosen_by_an_attribute_admits_the_finite_initial_states() -> None:
    from mhpcheck.model.compile import compile_system
    from mhpcheck.model.parametric import Quantified
    from mhpcheck.model.quantify import instantiate
    ring = _observers()
    ps = ring().build_parametric()
    for n, roles in ((1, "O"), (3, "MO"), (5, "MMO")):
        ts = ring(params={"n": n}, knobs={"roles": roles}).build()
        assert isinstance(ts.quantified, Quantified)
        pred = compile_system(ts).predicate(instantiate(ps.init, ts.quantified.instance), "init")
        assert [pred(s) for s in ts.init] == [True]
        other = "".join("O" if c == "M" else "M" for c in roles)  # the roles swapped
        swapped = ring(params={"n": n}, knobs={"roles": other}).build()
        assert not any(pred(s) for s in swapped.init)


def test_observers_are_proved_for_every_size_and_every_assignment_of_roles() -> None:
    ring = _observers()
    for prop in ("observers-never-enter", "mutex"):
        r = Checker(ring(params={"n": 7}, knobs={"roles": "MMO"})).check(
            prop, "forall", Budget(timeout=60))
        assert r.verdict is Verdict.PROVED, r.message
        assert "EPR: yes" in r.message
    r = Checker(ring(params={"n": 7}, knobs={"roles": "MMO"})).check(
        "observers-never-enter", "forall", Budget(timeout=60))
    assert r.certificate is not None and "role(x) = member" in r.certificate


def test_observers_that_start_idle_give_a_sampled_counterexample_and_a_trace() -> None:
    ring = _observers()
    broken = ring(knobs={"broken": True})
    r = Checker(broken).check("observers-never-enter", "forall")
    assert r.verdict is Verdict.UNKNOWN and r.bound == "sampled" and r.trace is not None
    assert Checker(broken).check("observers-never-enter").verdict is Verdict.VIOLATED


def test_an_initial_value_that_reads_the_state_is_refused_in_the_parametric_build() -> None:
    class ReadsState(Model):
        name = "test-reads-state"
        params = (Param("n", 2, lo=1, hi=4),)
        sizes = ("n",)

        def declare(self, d: Declarations) -> None:
            d.index("proc", self.p.n)
            d.var("a", Bool, over="proc")
            d.var("b", Bool, over="proc")

        @init
        def start(self, s: StateView) -> Effect:
            return then(*update_all("proc", lambda i: True, lambda i: s.a[i].becomes(s.b[i])))

        @invariant
        def fine(self, s: StateView) -> Term:
            return forall("proc", lambda i: s.a[i] | ~s.a[i])

    with pytest.raises(ModelError, match="initial value of a reads the state"):
        ReadsState().build_parametric()


# -- counts: integers the parametric build does not track ------------------------------------
class Entries(Model):
    """A token ring that counts entries into the critical section, up to n."""

    name = "test-entries"
    params = (Param("n", 3, lo=1, hi=6),)
    sizes = ("n",)

    def declare(self, d: Declarations) -> None:
        d.index("proc", self.p.n, ring=True)
        d.var("crit", Bool, over="proc")
        d.element("token", "proc")
        d.count("entries", lambda: (0, self.p.n), doc="entries so far, at most n")

    @init
    def start(self, s: StateView) -> Effect:
        return then(s.token.becomes(0), s.entries.becomes(0))

    @action(i="proc")
    def enter(self, s: StateView, i: Term) -> Effect:
        n = self.p.n
        return when(s.token == i, ~s.crit[i]).then(
            s.crit[i].becomes(True),
            s.entries.becomes(finite_only(lambda: ite(s.entries < n, s.entries + 1, n))))

    @action(i="proc")
    def leave(self, s: StateView, i: Term) -> Effect:
        return when(s.crit[i]).then(s.crit[i].becomes(False))

    @action(i="proc")
    def pass_token(self, s: StateView, i: Term) -> Effect:
        return when(s.token == i, ~s.crit[i]).then(s.token.becomes(succ("proc", i)))

    @invariant
    def mutex(self, s: StateView) -> Term:
        return forall("proc", lambda i: forall("proc", lambda j: (
            s.crit[i] & s.crit[j]).implies(i == j)))

    @invariant
    def never_entered(self, s: StateView) -> Term:
        """False: entries do happen."""
        return term_of(s.entries == 0)

    @invariant
    def entered_if_critical(self, s: StateView) -> Term:
        """True, but only a tracked count could show it."""
        return forall("proc", lambda i: s.crit[i].implies(s.entries >= 1))


def term_of(t: Any) -> Term:
    assert isinstance(t, Term)
    return t


def test_a_count_is_a_bounded_integer_in_the_finite_build() -> None:
    ts = Entries(params={"n": 4}).build()
    assert (ts.var("entries").domain.lo, ts.var("entries").domain.hi) == (0, 4)
    assert Checker(ts).check("entered-if-critical").verdict is Verdict.HOLDS
    assert Checker(ts).check("never-entered").verdict is Verdict.VIOLATED


def test_an_untracked_count_leaves_the_proofs_that_do_not_read_it() -> None:
    r = Checker(Entries(params={"n": 5})).check("mutex", "forall", Budget(timeout=60))
    assert r.verdict is Verdict.PROVED, r.message
    assert r.certificate is not None and "EPR: yes" in r.message
    assert "entries" not in r.certificate.split("\n", 2)[2]  # the formulas, not the title


def test_a_property_of_an_untracked_count_is_never_proved() -> None:
    for prop in ("never-entered", "entered-if-critical"):
        r = Checker(Entries(params={"n": 3})).check(prop, "forall", Budget(timeout=60))
        assert r.verdict is not Verdict.PROVED, (prop, r.message)


def test_two_conditions_compared_print_as_an_equivalence() -> None:
    flag, busy = Var("flag", Bool), Var("busy", Bool)
    e = Cmp("==", Cmp("==", flag, Const(1)), And((busy, flag)))
    assert Shower(None).cmp(e) == "(flag) ⇔ (busy ∧ flag)"  # type: ignore[arg-type]


# -- assumptions: facts about the attributes, axioms of every proof ---------------------------
def _members_only() -> type[Model]:
    """The observers ring with the ``broken`` start (observers idle too) and the
    assumption that every process is a member: the property about observers then holds
    vacuously, and only under the assumption."""
    ring = _observers()

    class MembersOnly(ring):  # type: ignore[valid-type,misc]
        name = "test-members-only"

        def declare(self, d: Declarations) -> None:
            super().declare(d)
            d.assume("members-only",
                     lambda: forall("proc", lambda i: apply("role", i) == "member"),
                     doc="no process is an observer")

    return MembersOnly


def test_an_assumption_is_an_axiom_of_the_proof_and_printed_with_it() -> None:
    ring = _observers()
    broken = {"roles": "M", "broken": True}
    # without it, an observer may start idle and enter: the proof cannot exist
    r = Checker(ring(knobs=broken)).check("observers-never-enter", "forall")
    assert r.verdict is Verdict.UNKNOWN
    r = Checker(_members_only()(knobs=broken)).check("observers-never-enter", "forall")
    assert r.verdict is Verdict.PROVED, r.message
    assert "under the model's assumption members-only" in r.message
    assert r.certificate is not None
    assert ("# assuming ∀proc0∈proc. role(proc0) = member    [members-only: no process is an "
            "observer]") in r.certificate.splitlines()


def test_a_configuration_that_breaks_an_assumption_is_refused_naming_it() -> None:
    with pytest.raises(ModelError, match="assumption members-only does not hold in this "
                                         "configuration: no process is an observer"):
        _members_only()(knobs={"roles": "MO"}).build()


def test_an_assumption_that_reads_the_state_is_refused() -> None:
    class ReadsState(Model):
        name = "test-assumes-state"
        params = (Param("n", 2, lo=1, hi=4),)
        sizes = ("n",)

        def declare(self, d: Declarations) -> None:
            d.index("proc", self.p.n)
            d.var("a", Bool, over="proc")
            d.assume("a-off", lambda: forall("proc", lambda i: ~Term(Var("a", Bool, Const(i)))))

        @init
        def start(self, s: StateView) -> Effect:
            return then()

        @invariant
        def fine(self, s: StateView) -> Term:
            return forall("proc", lambda i: s.a[i] | ~s.a[i])

    with pytest.raises(ModelError, match="assumption a-off reads the state"):
        ReadsState().build()
