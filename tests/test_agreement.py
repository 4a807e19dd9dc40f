"""Engines agree: BFS and BMC up to a depth, exhaustive BFS and PDR / k-induction /
the inductive check, and the explicit evaluator and Z3 on random expressions.

Random small transition systems are built directly in the IR (a few scalars and a
family of Bool, Enum and IntRange variables, a handful of guarded actions, one
property of each safety kind). Updates are usually clamped into their domains; some
are not, some families are indexed by a variable that can leave the family, and some
divisors of ``//`` and ``%`` can be zero, so model errors (which the explicit
semantics raise) are exercised too: where BFS
raises a ModelError, a symbolic engine must raise one as well, or report a genuine,
replayed violation found no later than the error.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from mhpcheck.checker.checker import check
from mhpcheck.checker.result import Budget, CheckResult, Verdict
from mhpcheck.checker.symbolic import z3api as z
from mhpcheck.checker.symbolic.encode import Encoding
from mhpcheck.model.compile import compile_system
from mhpcheck.model.domains import Bool, Domain, Enum, EnumDomain, IntRange, IntRangeDomain
from mhpcheck.model.errors import ModelError
from mhpcheck.model.expr import (
    And,
    Arith,
    Assign,
    Cmp,
    Const,
    Expr,
    Implies,
    Ite,
    Not,
    Or,
    Var,
)
from mhpcheck.model.system import (
    ActionInfo,
    ActionInstance,
    IndexSet,
    Invariant,
    Property,
    Reachable,
    StepInvariant,
    TransitionSystem,
    VarDecl,
)

EXAMPLES = int(os.environ.get("MHP_AGREEMENT_EXAMPLES", "200"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=False,
                    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target)
                    if os.environ.get("MHP_AGREEMENT_NO_SHRINK") else tuple(Phase),
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])

COLOUR = Enum("Colour", ["red", "green", "blue"])
DOMAINS: list[Domain] = [Bool, COLOUR, IntRange(0, 2), IntRange(0, 3)]


class Gen:
    """Draws expressions over a fixed set of variables."""

    def __init__(self, draw: Any, decls: list[VarDecl], primed: bool = False) -> None:
        self.draw = draw
        self.decls = decls
        self.primed = primed

    def read(self, decl: VarDecl, prime: bool = False) -> Var:
        if decl.index is None:
            return Var(decl.name, decl.domain, primed=prime)
        size = decl.index.size
        ints = [d for d in self.decls if d.index is None and isinstance(d.domain, IntRangeDomain)]
        idx: Expr
        if ints and self.draw(st.integers(0, 4)) == 0:  # a dynamic index, maybe out of range
            d = self.draw(st.sampled_from(ints))
            idx = Var(d.name, d.domain)
        else:
            idx = Const(self.draw(st.integers(0, size - 1)))
        return Var(decl.name, decl.domain, idx, size, prime)

    def var_of(self, pred: Any) -> Var | None:
        options = [d for d in self.decls if pred(d.domain)]
        if not options:
            return None
        decl = self.draw(st.sampled_from(options))
        prime = self.primed and self.draw(st.booleans())
        return self.read(decl, prime)

    def boolean(self, depth: int) -> Expr:
        choice = self.draw(st.integers(0, 9 if depth > 0 else 3))
        if choice == 0:
            return Const(self.draw(st.integers(0, 1)), "bool")
        if choice in (1, 2):
            v = self.var_of(lambda d: d is Bool)
            if v is not None:
                return v
        if choice == 3:
            v = self.var_of(lambda d: isinstance(d, EnumDomain))
            if v is not None:
                assert isinstance(v.domain, EnumDomain)
                op = self.draw(st.sampled_from(["==", "!="]))
                return Cmp(op, v, Const(self.draw(st.integers(0, 2)), v.domain))
        if choice in (4, 5) or depth == 0:
            op = self.draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
            return Cmp(op, self.integer(max(depth - 1, 0)), self.integer(max(depth - 1, 0)))
        if choice == 6:
            return Not(self.boolean(depth - 1))
        if choice == 7:
            n = self.draw(st.integers(0, 3))
            cls = self.draw(st.sampled_from([And, Or]))
            return cls(tuple(self.boolean(depth - 1) for _ in range(n)))  # type: ignore[no-any-return]
        if choice == 8:
            return Implies(self.boolean(depth - 1), self.boolean(depth - 1))
        return Ite(self.boolean(depth - 1), self.boolean(depth - 1), self.boolean(depth - 1))

    def integer(self, depth: int) -> Expr:
        choice = self.draw(st.integers(0, 5 if depth > 0 else 1))
        if choice == 0:
            return Const(self.draw(st.integers(-1, 3)))
        if choice == 1:
            v = self.var_of(lambda d: not isinstance(d, EnumDomain) and d is not Bool)
            if v is not None:
                return v
            return Const(self.draw(st.integers(0, 3)))
        if choice in (2, 3):
            op = self.draw(st.sampled_from(["+", "-", "min", "max", "*", "//", "%"]))
            lhs = self.integer(depth - 1)
            if op in ("//", "%") and self.draw(st.integers(0, 3)):
                # mostly a non-zero constant divisor; else any (a zero one is a model error)
                return Arith(op, lhs, Const(self.draw(st.sampled_from([-3, -2, -1, 1, 2, 3]))))
            return Arith(op, lhs, self.integer(depth - 1))
        if choice == 4:
            b = self.var_of(lambda d: d is Bool)
            if b is not None:  # a Bool in arithmetic is 0/1, as in Python
                return Arith("+", b, self.integer(depth - 1))
        return Ite(self.boolean(depth - 1), self.integer(depth - 1), self.integer(depth - 1))

    def value_for(self, domain: Domain, exact: bool) -> Expr:
        """A new value for a variable of ``domain`` (clamped into it unless not ``exact``)."""
        if domain is Bool:
            return self.boolean(2)
        if isinstance(domain, EnumDomain):
            pick = self.draw(st.integers(0, 2))
            if pick == 0:
                v = self.var_of(lambda d: d == domain)
                if v is not None:
                    return v
            if pick == 1:
                return Ite(self.boolean(1), Const(self.draw(st.integers(0, 2)), domain),
                           Const(self.draw(st.integers(0, 2)), domain))
            return Const(self.draw(st.integers(0, 2)), domain)
        e = self.integer(2)
        if exact:
            return e
        return Arith("min", Arith("max", e, Const(domain.lo)), Const(domain.hi))


@st.composite
def systems(draw: Any) -> TransitionSystem:
    decls: list[VarDecl] = []
    offset = 0
    for i in range(draw(st.integers(1, 3))):
        d = draw(st.sampled_from(DOMAINS))
        decls.append(VarDecl(f"v{i}", d, None, offset))
        offset += 1
    if draw(st.booleans()):
        size = draw(st.integers(2, 3))
        d = draw(st.sampled_from(DOMAINS))
        decls.append(VarDecl("f", d, IndexSet("i", size), offset))
        offset += size
    gen = Gen(draw, decls)

    def random_state() -> tuple[int, ...]:
        out: list[int] = []
        for d in decls:
            out += [draw(st.integers(d.domain.lo, d.domain.hi)) for _ in range(d.width)]
        return tuple(out)

    init = tuple(random_state() for _ in range(draw(st.integers(1, 2))))
    actions = []
    infos = []
    for k in range(draw(st.integers(1, 4))):
        guard = gen.boolean(2)
        updates = []
        for decl in draw(st.lists(st.sampled_from(decls), min_size=1, max_size=2,
                                  unique_by=lambda d: d.name)):
            exact = draw(st.integers(0, 7)) == 0
            value = gen.value_for(decl.domain, not exact)
            if decl.index is None:
                updates.append(Assign(decl.name, decl.domain, value))
            else:
                target = gen.read(decl)
                assert target.index is not None
                updates.append(Assign(decl.name, decl.domain, value, target.index,
                                      decl.index.size))
        fair = draw(st.booleans())
        actions.append(ActionInstance(f"a{k}", (), guard, tuple(updates), fair))
        infos.append(ActionInfo(f"a{k}", (), fair, "", ""))
    step_gen = Gen(draw, decls, primed=True)
    props: list[Property] = [
        Invariant("inv", "", (), gen.boolean(2)),
        Reachable("reach", "", (), gen.boolean(2)),
        StepInvariant("step", "", (), step_gen.boolean(2)),
    ]
    return TransitionSystem("random", (), (), tuple(decls), init, tuple(actions),
                            tuple(infos), tuple(props))


PROPS = ["inv", "reach", "step", "deadlock-free"]


def run(ts: TransitionSystem, prop: str, engine: str, budget: Budget) -> CheckResult | str:
    """The result, or "model-error" (the explicit semantics raise, so must the engine)."""
    try:
        return check(ts, ts.property(prop), engine, budget)
    except ModelError as err:
        return f"model-error: {err}"


def trace_len(r: CheckResult) -> int | None:
    return None if r.trace is None else len(r.trace)


def compatible_with_error(r: CheckResult | str) -> bool:
    return isinstance(r, str) or (isinstance(r, CheckResult) and r.verdict in (
        Verdict.VIOLATED, Verdict.REACHABLE) and r.trace is not None)


@SETTINGS
@given(systems(), st.integers(2, 5))
def test_bfs_and_bmc_agree_up_to_depth(ts: TransitionSystem, depth: int) -> None:
    budget = Budget(max_depth=depth)
    for prop in PROPS:
        explicit = run(ts, prop, "bfs", budget)
        symbolic = run(ts, prop, "bmc", budget)
        if isinstance(explicit, str):
            assert compatible_with_error(symbolic), (prop, symbolic)
            continue
        assert isinstance(explicit, CheckResult)
        assert isinstance(symbolic, CheckResult), (prop, explicit.verdict, symbolic)
        v = explicit.verdict
        if v in (Verdict.VIOLATED, Verdict.REACHABLE):
            assert symbolic.verdict is v, (prop, v, symbolic.verdict)
            assert trace_len(symbolic) == trace_len(explicit), prop
        elif v in (Verdict.HOLDS, Verdict.BOUNDED):
            assert symbolic.verdict is Verdict.BOUNDED, (prop, v, symbolic.verdict)
        else:
            assert v in (Verdict.UNREACHABLE, Verdict.UNKNOWN)
            assert symbolic.verdict is Verdict.UNKNOWN, (prop, v, symbolic.verdict)


@SETTINGS
@given(systems())
def test_unbounded_engines_agree_with_exhaustive_bfs(ts: TransitionSystem) -> None:
    reachable = None
    for prop in PROPS:
        explicit = run(ts, prop, "bfs", Budget())
        pdr = run(ts, prop, "pdr", Budget(timeout=30))
        kind = run(ts, prop, "kind", Budget(max_depth=12, timeout=30))
        ind = run(ts, prop, "inductive", Budget(timeout=30))
        if isinstance(explicit, str):
            assert compatible_with_error(pdr), (prop, pdr)
            assert compatible_with_error(kind) or (
                isinstance(kind, CheckResult) and kind.verdict is Verdict.UNKNOWN), (prop, kind)
            assert isinstance(ind, str) or (isinstance(ind, CheckResult) and ind.verdict in (
                Verdict.UNKNOWN, Verdict.VIOLATED)), (prop, ind)
            continue
        assert isinstance(explicit, CheckResult)
        assert isinstance(pdr, CheckResult) and isinstance(kind, CheckResult), (prop, pdr, kind)
        assert isinstance(ind, CheckResult), (prop, ind)
        v = explicit.verdict
        if v in (Verdict.VIOLATED, Verdict.REACHABLE):
            assert pdr.verdict is v and trace_len(pdr) == trace_len(explicit), (prop, pdr)
            assert kind.verdict is v and trace_len(kind) == trace_len(explicit), (prop, kind)
            assert ind.verdict in (Verdict.UNKNOWN, Verdict.VIOLATED), (prop, ind.verdict)
        else:
            safe = Verdict.PROVED if v is Verdict.HOLDS else Verdict.UNREACHABLE
            assert v in (Verdict.HOLDS, Verdict.UNREACHABLE), v
            assert pdr.verdict is safe, (prop, pdr.verdict, pdr.message)
            assert kind.verdict in (safe, Verdict.UNKNOWN), (prop, kind.verdict)
            assert ind.verdict in (safe, Verdict.UNKNOWN), (prop, ind.verdict)
            # the certificate holds in every reachable state, by the explicit evaluator
            inv = pdr.extra.get("invariant")
            assert isinstance(inv, Expr)
            if reachable is None:
                from mhpcheck.checker.explicit.bfs import explore
                reachable = explore(ts).states
            pred = compile_system(ts).predicate(inv)
            assert all(pred(s) for s in reachable), (prop, pdr.certificate)


@SETTINGS
@given(st.data())
def test_explicit_and_z3_evaluate_expressions_alike(data: Any) -> None:
    ts = data.draw(systems())
    gen = Gen(data.draw, list(ts.variables))
    enc = Encoding(ts)
    compiled = compile_system(ts)
    frame = enc.frame("eval")
    exprs = [gen.boolean(3), gen.integer(3)]
    for _ in range(3):
        state = tuple(data.draw(st.integers(d.lo, d.hi)) for d in enc.domains)
        pairs = list(zip(frame, [enc.value_term(i, c) for i, c in enumerate(state)],
                         strict=True))
        for e in exprs:
            tr = enc.translator(frame)
            defined = z.const_value(z.substitute(tr.defined(e), pairs))
            value = z.const_value(z.substitute(tr.term(e), pairs))
            assert defined is not None and value is not None
            try:
                if e.sort == "bool":
                    explicit = int(compiled.predicate(e)(state))
                    assert explicit == value, (e, state)
                else:
                    assert compiled.predicate(Cmp("==", e, Const(value)))(state), (e, state)
                    assert not compiled.predicate(Cmp("==", e, Const(value + 1)))(state)
                raised = False
            except ModelError:
                raised = True
            assert raised == (defined == 0), (e, state, raised, defined)


def test_generator_builds_valid_systems() -> None:
    @settings(max_examples=20, deadline=None)
    @given(systems())
    def inner(ts: TransitionSystem) -> None:
        assert ts.n_slots >= 1
        compile_system(ts)
    inner()


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__, "-q"])


@settings(SETTINGS, max_examples=max(4, EXAMPLES // 50))
@given(systems())
def test_compiled_engine_agrees_with_exhaustive_bfs(ts: TransitionSystem) -> None:
    """bfs-jit (one compiled kernel per system, so few examples) gives bfs's counts,
    verdicts and trace lengths, and raises the same model error where bfs does."""
    from mhpcheck.checker.checker import Checker
    props = [ts.property(p) for p in PROPS]
    try:
        want = Checker(ts).check_many(props, "bfs")
    except ModelError as err:
        with pytest.raises(ModelError) as got:
            Checker(ts).check_many(props, "bfs-jit")
        assert str(got.value) == str(err)
        return
    for w, g in zip(want, Checker(ts).check_many(props, "bfs-jit"), strict=True):
        assert (g.verdict, g.stats.distinct_states, g.stats.transitions, g.stats.depth) == \
            (w.verdict, w.stats.distinct_states, w.stats.transitions, w.stats.depth), g.property
        assert trace_len(g) == trace_len(w), g.property
