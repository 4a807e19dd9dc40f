"""The forall engine against bfs on generated parameterised systems (fixed seeds).

For each of 100 generated systems (``forall_systems``, about 40 with an attribute): a
proof for every size is never contradicted by bfs at sizes 1 to 4, a property bfs
finds violated at one of those sizes is never proved, and the parametric build's
initial condition, instantiated at each size, admits the finite build's initial state.
"""

from __future__ import annotations

from collections import Counter

import pytest
from forall_systems import make

from mhpcheck.checker.checker import Checker
from mhpcheck.checker.result import Budget, Verdict
from mhpcheck.model.compile import compile_system
from mhpcheck.model.parametric import Quantified
from mhpcheck.model.quantify import instantiate

SEEDS = range(100)
SIZES = range(1, 5)


@pytest.fixture(scope="module")
def outcomes() -> dict[int, tuple[Verdict, list[Verdict]]]:
    out = {}
    for seed in SEEDS:
        model = make(seed)
        finite = [Checker(model(params={"n": n})).check("claim").verdict for n in SIZES]
        proof = Checker(model(params={"n": 3})).check("claim", "forall", Budget(timeout=60))
        out[seed] = (proof.verdict, finite)
    return out


def test_a_proof_for_every_size_agrees_with_bfs_at_sizes_1_to_4(
        outcomes: dict[int, tuple[Verdict, list[Verdict]]]) -> None:
    wrong = [seed for seed, (proof, finite) in outcomes.items()
             if proof is Verdict.PROVED and any(v is not Verdict.HOLDS for v in finite)]
    assert wrong == []


def test_the_generated_systems_give_both_proofs_and_violations(
        outcomes: dict[int, tuple[Verdict, list[Verdict]]]) -> None:
    seen = Counter((proof.value, all(v is Verdict.HOLDS for v in finite))
                   for proof, finite in outcomes.values())
    assert seen[("proved", True)] >= 20, seen
    assert sum(n for (_, holds), n in seen.items() if not holds) >= 10, seen


def test_systems_with_an_attribute_give_both_proofs_and_violations(
        outcomes: dict[int, tuple[Verdict, list[Verdict]]]) -> None:
    """A proof over every labelling of the attribute, and a pattern bfs refutes, both occur."""
    seen = Counter((proof.value, all(v is Verdict.HOLDS for v in finite))
                   for seed, (proof, finite) in outcomes.items() if make(seed).has_attribute)
    assert seen[("proved", True)] >= 5, seen
    assert sum(n for (_, holds), n in seen.items() if not holds) >= 5, seen


def test_a_violated_property_is_never_proved(
        outcomes: dict[int, tuple[Verdict, list[Verdict]]]) -> None:
    for seed, (proof, finite) in outcomes.items():
        if Verdict.VIOLATED in finite:
            assert proof in (Verdict.UNKNOWN, Verdict.VIOLATED), seed


@pytest.mark.parametrize("seed", range(0, 100, 10))
def test_the_parametric_initial_condition_admits_the_finite_initial_states(seed: int) -> None:
    model = make(seed)
    ps = model().build_parametric()
    for n in SIZES:
        ts = model(params={"n": n}).build()
        assert isinstance(ts.quantified, Quantified)
        pred = compile_system(ts).predicate(instantiate(ps.init, ts.quantified.instance), "init")
        assert all(pred(s) for s in ts.init)
