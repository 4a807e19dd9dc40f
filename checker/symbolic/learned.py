"""What the symbolic engines learn about one system within one ``Checker`` call.

PDR reuses, across the properties of one ``check_many`` call, the invariants it proved
and re-checked, their lemmas, Houdini's invariant, the guesses it proved and the
invariants found consecutive. This object holds them; the ``Checker`` makes a new one
for every call, so no result depends on what ran before it in the process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mhpcheck.model.expr import Expr

if TYPE_CHECKING:
    from .houdini import Found

Cube = tuple[tuple[int, int], ...]  # sorted (slot, value) pairs, as in ic3.py


@dataclass
class Learned:
    """Learned state, scoped to one ``Checker`` call (mutable, never shared wider)."""

    #: (property, re-checked invariant, depth, how it was found), in proof order.
    invariants: list[tuple[str, Expr, int, str]] = field(default_factory=list)
    #: Cubes and other lemmas of the re-checked certificates, to seed the next proof.
    proved_lemmas: list[Cube] = field(default_factory=list)
    proved_relations: list[Expr] = field(default_factory=list)
    #: The affine guesses IC3 proved, with their supporting cubes (None: not tried).
    guesses: tuple[list[Expr], list[Cube]] | None = None
    #: Houdini's invariant of the system (None: not computed yet).
    houdini: Found | None = None
    #: Invariants whose consecution the re-check has established.
    consecutive: set[Expr] = field(default_factory=set)
