"""Generated parameterised systems for the forall engine's agreement tests.

Each seed gives a small model over one index set ``proc`` (a ring or not): an enum and
a Bool family, perhaps an index-valued ``tok``, perhaps an attribute ``kind`` (a fixed
label per process, a repeated pattern in the finite builds, any labelling in the
parametric one) that sets ``b``'s initial value, two to four guarded actions on a
process ``i`` (and its successor), and one quantified invariant. The same source gives
the finite builds at every size and the parametric build.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from mhpcheck.model.base import Declarations, Model, Param, action, init, invariant
from mhpcheck.model.domains import Bool, Enum
from mhpcheck.model.dsl import Effect, StateView, Term, any_of, then, when
from mhpcheck.model.quantify import apply, forall, succ, update_all

Read = Callable[[StateView, Any], Term]


def _reads(rng: random.Random, ring: bool, tok: bool, values: int, kind: bool) -> list[Read]:
    """Atoms about process ``i`` (and its successor on a ring)."""
    out: list[Read] = []
    for shift in ([False, True] if ring else [False]):
        def at(i: Any, shift: bool = shift) -> Any:
            return succ("proc", i) if shift else i
        v = rng.randrange(values)
        out.append(lambda s, i, at=at, v=v: s.a[at(i)] == f"v{v}")
        out.append(lambda s, i, at=at: s.b[at(i)] == True)  # noqa: E712
    if tok:
        out.append(lambda s, i: s.tok == i)
    if kind:
        out.append(lambda s, i: apply("kind", i) == "k1")
    return out


def make(seed: int) -> type[Model]:
    """The model of ``seed``."""
    rng = random.Random(seed)
    ring = rng.random() < 0.7
    tok = rng.random() < 0.4
    values = rng.choice([2, 3])
    kinds = Enum(f"G{seed}", [f"v{k}" for k in range(values)])

    actions: list[tuple[list[Any], list[Any]]] = []
    for _ in range(rng.randint(2, 4)):
        guard = [rng.getrandbits(32) for _ in range(rng.randint(1, 2))]
        families = rng.sample(["a", "b", "tok"], rng.randint(1, 2))
        writes = [f + ("+" if ring and f != "tok" and rng.random() < 0.4 else "")
                  for f in families]
        actions.append((guard, [(w, rng.randrange(values)) for w in writes
                                if w != "tok" or tok]))
    shape = rng.choice(["one", "pair"])
    inv_seed = rng.getrandbits(32)
    kind = rng.random() < 0.4
    pattern = [rng.randrange(2) for _ in range(rng.randint(1, 3))]
    kinds_of = Enum(f"K{seed}", ["k0", "k1"])

    class Generated(Model):
        name = f"gen{seed}"
        summary = "a generated parameterised system"
        has_attribute = kind
        params = (Param("n", default=3, lo=1, hi=8),)
        sizes = ("n",)

        def declare(self, d: Declarations) -> None:
            d.index("proc", self.p.n, ring=ring)
            d.var("a", kinds, over="proc")
            d.var("b", Bool, over="proc")
            if tok:
                d.element("tok", "proc")
            if kind:
                d.attribute("kind", "proc", kinds_of,
                            lambda i: f"k{pattern[i % len(pattern)]}")

        @init
        def start(self, s: StateView) -> Effect:
            if not kind:
                return then()
            return then(*update_all("proc", lambda i: True,
                                    lambda i: s.b[i].becomes(apply("kind", i) == "k1")))

        @invariant
        def claim(self, s: StateView) -> Term:
            """The generated invariant."""
            pick = random.Random(inv_seed)
            reads = _reads(pick, ring, tok, values, kind)
            one, two = pick.choice(reads), pick.choice(reads)
            signs = (pick.random() < 0.5, pick.random() < 0.5)
            if shape == "one":
                return forall("proc", lambda x: any_of([
                    one(s, x) if signs[0] else ~one(s, x),
                    two(s, x) if signs[1] else ~two(s, x)]))
            return forall("proc", lambda x: forall("proc", lambda y: (
                one(s, x) & one(s, y)).implies(x == y)))

    def body(guard: list[int], writes: list[tuple[str, int]]) -> Callable[..., Effect]:
        def act(self: Model, s: StateView, i: Any) -> Effect:
            lits = []
            for g in guard:
                pick = random.Random(g)
                read = pick.choice(_reads(pick, ring, tok, values, kind))
                lits.append(read(s, i) if pick.random() < 0.6 else ~read(s, i))
            ups = []
            for w, v in writes:
                target = succ("proc", i) if w.endswith("+") else i
                if w.startswith("a"):
                    ups.append(s.a[target].becomes(f"v{v}"))
                elif w.startswith("b"):
                    ups.append(s.b[target].becomes(bool(v % 2)))
                else:
                    ups.append(s.tok.becomes(succ("proc", i) if ring else i))
            return when(*lits).then(*ups)
        return act

    for k, (guard, writes) in enumerate(actions):
        if not writes:
            writes = [("b", 1)]
        fn = body(guard, writes)
        fn.__name__ = f"step{k}"
        setattr(Generated, f"step{k}", action(i="proc")(fn))
    return Generated
