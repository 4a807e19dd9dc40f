"""Symmetry declarations: index sets whose elements are interchangeable.

A model may declare that permuting the elements of an index set (all permutations,
or only rotations) maps reachable behaviour onto reachable behaviour: the slots of
every family over that set move with the permutation, and variables listed in
``values_of`` (whose values name elements of the set, such as Peterson's victim)
have their values renamed. The explicit engine then stores one canonical state per
orbit. ``slot_maps`` turns the declarations into permutations of state slots.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .errors import ModelError
from .system import SlotMap, VarDecl

#: The largest group enumerated element by element (8! = 40,320 permutations).
MAX_GROUP = 40_320


@dataclass(frozen=True)
class Symmetry:
    """The elements of index set ``index`` are interchangeable under ``group``."""

    index: str
    group: Literal["full", "rotation"] = "full"
    values_of: tuple[str, ...] = ()


def _permutations(size: int, group: str) -> list[tuple[int, ...]]:
    if group == "rotation":
        return [tuple((i + r) % size for i in range(size)) for r in range(size)]
    if math.factorial(size) > MAX_GROUP:
        raise ModelError(f"full symmetry over {size} elements has {math.factorial(size):,} "
                         f"permutations (at most {MAX_GROUP:,}); declare rotation instead")
    return list(itertools.permutations(range(size)))


def _element(variables: Sequence[VarDecl], syms: Sequence[Symmetry],
             sigmas: Sequence[tuple[int, ...]]) -> SlotMap:
    n_slots = sum(v.width for v in variables)
    relabel: list[tuple[int, int, tuple[int, ...]]] = []
    # The new slot offset + sigma[i] takes the old slot offset + i.
    source = list(range(n_slots))
    for sym, sigma in zip(syms, sigmas, strict=True):
        moved = list(source)
        for v in variables:
            if v.index is not None and v.index.name == sym.index:
                for i in range(v.width):
                    moved[v.offset + sigma[i]] = source[v.offset + i]
        source = moved
    for sym, sigma in zip(syms, sigmas, strict=True):
        for name in sym.values_of:
            v = next(x for x in variables if x.name == name)
            lo, hi = v.domain.lo, v.domain.hi
            table = tuple(sigma[c] if 0 <= c < len(sigma) else c for c in range(lo, hi + 1))
            relabel += [(v.offset + i, lo, table) for i in range(v.width)]
    return SlotMap(tuple(source), tuple(relabel))


def slot_maps(variables: Sequence[VarDecl], syms: Sequence[Symmetry],
              model: str) -> tuple[SlotMap, ...]:
    """Every group element other than the identity, as a slot map."""
    if not syms:
        return ()
    by_name = {v.name: v for v in variables}
    sizes: list[int] = []
    for sym in syms:
        families = [v for v in variables if v.index is not None and v.index.name == sym.index]
        if not families:
            raise ModelError(f"model {model}: symmetry over {sym.index!r}: no variable is "
                             "indexed by it")
        size = families[0].width
        sizes.append(size)
        for name in sym.values_of:
            v = by_name.get(name)
            if v is None:
                raise ModelError(f"model {model}: symmetry over {sym.index!r}: no variable "
                                 f"{name!r}")
            if v.domain.lo > 0 or v.domain.hi < size - 1:
                raise ModelError(f"model {model}: symmetry over {sym.index!r}: the values of "
                                 f"{name} ({v.domain.describe()}) cannot name all {size} elements")
    groups = [_permutations(size, sym.group) for size, sym in zip(sizes, syms, strict=True)]
    total = math.prod(len(g) for g in groups)
    if total > MAX_GROUP:
        raise ModelError(f"model {model}: the declared symmetries form a group of {total:,} "
                         f"elements (at most {MAX_GROUP:,})")
    identity = tuple(tuple(range(size)) for size in sizes)
    return tuple(_element(variables, syms, combo) for combo in itertools.product(*groups)
                 if combo != identity)


def generator_maps(variables: Sequence[VarDecl], syms: Sequence[Symmetry]) -> tuple[SlotMap, ...]:
    """A generating set of the group: a rotation by one, or a swap and a full cycle.

    The engine checks the declaration against these on every state it stores.
    """
    sizes = [next(v.width for v in variables if v.index is not None and v.index.name == s.index)
             for s in syms]
    maps: list[SlotMap] = []
    for n, (sym, size) in enumerate(zip(syms, sizes, strict=True)):
        cycle = tuple((i + 1) % size for i in range(size))
        gens = [cycle]
        if sym.group == "full" and size > 2:
            gens.append((1, 0, *range(2, size)))
        for g in gens:
            sigmas = [tuple(range(s)) for s in sizes]
            sigmas[n] = g
            maps.append(_element(variables, syms, sigmas))
    return tuple(maps)
