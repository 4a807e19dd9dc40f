"""The engine protocol: what every engine declares and the one call the Checker makes.

An engine declares the property kinds it checks and the options it takes, so that the
``Checker`` can refuse a pair it does not support before anything runs. The engines
themselves (their name -> implementation table) live in ``checker.checker`` only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from mhpcheck.model.compile import Compiled
from mhpcheck.model.errors import UsageError
from mhpcheck.model.system import Property, TransitionSystem

from .result import Budget, CheckResult, ProgressFn

if TYPE_CHECKING:
    from .explicit.vector_compile import BatchSystem
    from .symbolic.learned import Learned

#: The property kinds (``Property.kind``), safety first.
SAFETY = frozenset({"invariant", "step-invariant", "reachable", "deadlock"})
LIVENESS = frozenset({"leads-to", "eventually"})
KINDS = ("invariant", "step-invariant", "reachable", "deadlock", "leads-to", "eventually")


@dataclass(frozen=True)
class Options:
    """Per-call engine options: ``symmetry`` (store one state per orbit),
    ``invariants`` (named invariants that strengthen an inductive check), and for
    random simulation ``runs`` (how many walks; their depth is the budget's
    ``max_depth``) and ``seed`` (which walks). ``None`` leaves the engine's default."""

    symmetry: bool = False
    invariants: tuple[str, ...] = ()
    runs: int | None = None
    seed: int | None = None
    workers: int | None = None  # bfs-dist: how many workers (default one per CPU)
    address: str | None = None  # bfs-dist: the Ray cluster to join (default: a local one)

    def __post_init__(self) -> None:
        """Refuse settings no simulation can honour: no walk at all, a negative seed."""
        if self.runs is not None and self.runs < 1:
            raise UsageError(f"runs must be 1 or more, got {self.runs}")
        if self.seed is not None and self.seed < 0:
            raise UsageError(f"seed must not be negative, got {self.seed}")
        if self.workers is not None and self.workers < 1:
            raise UsageError(f"workers must be 1 or more, got {self.workers}")

    def named(self) -> list[str]:
        """The options that are set, by name (as engines declare them)."""
        return [n for n, on in (("symmetry", self.symmetry),
                                ("invariants", bool(self.invariants)),
                                ("runs", self.runs is not None),
                                ("seed", self.seed is not None),
                                ("workers", self.workers is not None),
                                ("address", self.address is not None)) if on]


@dataclass(frozen=True)
class Run:
    """What an engine gets for one Checker call: the system, its pure compiled forms
    (the Checker's, shared by all its calls), and the state learned in this call only."""

    ts: TransitionSystem
    compiled_of: Callable[[], Compiled]  # the Checker's explicit semantics, on demand
    batch_of: Callable[[], BatchSystem]  # the Checker's vectorised semantics, on demand
    learned: Learned
    options: Options = Options()

    @property
    def compiled(self) -> Compiled:
        """The explicit semantics (compiled once per Checker, on first use: a symbolic
        engine that proves its property never needs them)."""
        return self.compiled_of()

    @property
    def batch(self) -> BatchSystem:
        """The vectorised semantics (compiled once per Checker, on first use)."""
        return self.batch_of()


class Engine(Protocol):
    """An engine: its name, the property kinds it checks, the options it takes (each
    with the kinds it applies to), whether it checks several properties in one run,
    and ``check``: one result per property, in order (one property unless ``batch``)."""

    @property
    def name(self) -> str: ...

    @property
    def kinds(self) -> frozenset[str]: ...

    @property
    def options(self) -> Mapping[str, frozenset[str]]: ...

    @property
    def batch(self) -> bool: ...

    def check(self, run: Run, props: Sequence[Property], budget: Budget,
              progress: ProgressFn) -> list[CheckResult]: ...
