"""The forall engine's candidate atoms and the finite prune's unsat cores."""

from __future__ import annotations

from mhpcheck.checker.explicit.bfs import explore
from mhpcheck.checker.result import Budget
from mhpcheck.checker.symbolic.common import Clock
from mhpcheck.checker.symbolic.fprune import prune
from mhpcheck.checker.symbolic.infer import Atom, Focus, Sample, atoms, candidates
from mhpcheck.model.base import Declarations, Model, Param, action, init, invariant
from mhpcheck.model.domains import Enum
from mhpcheck.model.dsl import Effect, StateView, Term, then, when
from mhpcheck.model.expr import Cmp, Const, Expr, Var, walk
from mhpcheck.model.parametric import Quantified
from mhpcheck.model.quantify import IndexVar, forall

#: twelve steps, like offline_pages' pc: wider than a family's atom limit
Step = Enum("TestStep", [f"s{i}" for i in range(12)])


class Stepper(Model):
    """A global control location of twelve steps and a per-process mode of twelve."""

    name = "test-stepper"
    params = (Param("n", 2, lo=1, hi=4),)
    sizes = ("n",)

    def declare(self, d: Declarations) -> None:
        d.index("proc", self.p.n)
        d.var("pc", Step)
        d.var("mode", Step, over="proc")

    @init
    def start(self, s: StateView) -> Effect:
        return then()

    @action
    def advance(self, s: StateView) -> Effect:
        return when(s.pc != "s11").then(s.pc.becomes("s11"))

    @action(i="proc")
    def switch(self, s: StateView, i: Term) -> Effect:
        return when(s.pc == "s11", s.mode[i] == "s0").then(s.mode[i].becomes("s5"))

    @invariant
    def modes_switch_late(self, s: StateView) -> Term:
        return forall("proc", lambda i: (s.mode[i] == "s5").implies(s.pc == "s11"))

    @invariant
    def pc_at_start_or_end(self, s: StateView) -> Term:
        return (s.pc == "s0") | (s.pc == "s11")


def samples(sizes: tuple[int, ...]) -> list[Sample]:
    """The reachable states of the stepper at each of ``sizes``."""
    out = []
    for n in sizes:
        ts = Stepper(params={"n": n}).build()
        assert isinstance(ts.quantified, Quantified)
        out.append(Sample(ts, ts.quantified.instance, explore(ts, (), Budget()).states))
    return out


def compared_values(found: list[Atom], name: str) -> set[int]:
    """The values the atoms in ``found`` compare variable ``name`` with."""
    return {a.expr.rhs.value for a in found if isinstance(a.expr, Cmp)
            and isinstance(a.expr.lhs, Var) and a.expr.lhs.name == name
            and isinstance(a.expr.rhs, Const)}


def test_a_scalar_control_location_gets_an_atom_per_label() -> None:
    ps = Stepper().build_parametric()
    assert compared_values(atoms(ps, ()), "pc") == set(range(12))


def test_a_wide_family_gets_atoms_only_for_initial_and_named_values() -> None:
    ps = Stepper().build_parametric()
    ctx = (IndexVar("x", "proc"),)
    assert compared_values(atoms(ps, ctx), "mode") == set()
    target = ps.invariant("modes-switch-late")
    assert target is not None
    focus = Focus.of(target.expr, samples((1, 2)))
    # s0 is the initial mode, s5 the one the property names
    assert compared_values(atoms(ps, ctx, focus), "mode") == {0, 5}


def test_the_inferred_candidates_relate_the_focused_mode_to_the_control_location() -> None:
    ps = Stepper().build_parametric()
    smp = samples((1, 2))
    target = ps.invariant("modes-switch-late")
    assert target is not None
    found = candidates(ps, smp, focus=Focus.of(target.expr, smp))
    assert any({"mode", "pc"} <= {n.name for n in _vars(e)} for e in found)


def _vars(e: Expr) -> list[Var]:
    return [n for n in walk(e) if isinstance(n, Var)]


def test_the_finite_prune_reports_the_core_of_each_needed_candidate() -> None:
    ts = Stepper(params={"n": 2}).build()
    ps = Stepper().build_parametric()
    exprs = [p.expr for p in ps.invariants]
    names = [p.name for p in ps.invariants]
    target = names.index("modes-switch-late")
    pruned = prune(ts, exprs, list(range(len(exprs))), Clock(60), target=target)
    assert sorted(pruned.keep) == list(range(len(exprs)))
    assert target in pruned.need and set(pruned.cores) == set(pruned.need)
    assert all(core <= set(pruned.keep) for core in pruned.cores.values())
