"""What an engine returns: a verdict, statistics, and a trace or certificate.

A bounded search never says "holds": it says ``holds-up-to-bound`` and names the bound
it hit. A solver's "unknown" is a verdict too. A "holds" or "proved" over a configuration
in which an action the property is about never fires is ``vacuous``, never "holds".
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from mhpcheck.model.errors import UsageError
from mhpcheck.model.trace import Trace


class Verdict(StrEnum):
    """The outcome of checking one property."""

    HOLDS = "holds"  # exhaustive search found no violation
    PROVED = "proved"  # an unbounded proof (certificate checked)
    BOUNDED = "holds-up-to-bound"  # nothing found within a bound; not a proof
    VIOLATED = "violated"
    REACHABLE = "reachable"
    UNREACHABLE = "unreachable"
    UNKNOWN = "unknown"
    #: holds (or proved), but an action the property is about (``Property.about``) has no
    #: instance in this configuration or never fired: the check could not have failed
    VACUOUS = "vacuous"

    @builtins.property
    def conclusive(self) -> bool:
        return self not in (Verdict.BOUNDED, Verdict.UNKNOWN)

    def satisfies(self, expected: str) -> bool:
        """Whether this verdict meets a spec's ``expect`` (a proof also meets "holds")."""
        if self.value == expected:
            return True
        return expected == "holds" and self is Verdict.PROVED


@dataclass(frozen=True)
class Budget:
    """Limits on a search; ``None`` means unlimited."""

    max_depth: int | None = None
    max_states: int | None = None
    timeout: float | None = None

    def __post_init__(self) -> None:
        """Refuse bounds no search can honour: a negative bound, or a timeout that is
        negative or not finite (``nan`` compares false with every time and would switch
        the limit off)."""
        for name in ("max_depth", "max_states"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise UsageError(f"budget: {name} must not be negative, got {value}")
        if self.timeout is not None and not (math.isfinite(self.timeout)
                                             and self.timeout >= 0):
            raise UsageError(f"budget: timeout must be a finite number of seconds, 0 or "
                             f"more, got {self.timeout!r}")


UNBOUNDED = Budget()


@dataclass(frozen=True)
class Stats:
    """How much a search explored."""

    distinct_states: int = 0
    transitions: int = 0
    depth: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class CheckResult:
    """The result of checking one property with one engine."""

    property: str
    kind: str
    engine: str
    verdict: Verdict
    stats: Stats
    trace: Trace | None = None
    bound: str | None = None  # which bound was hit, for holds-up-to-bound / unknown
    message: str = ""
    coverage: tuple[tuple[str, int], ...] = ()  # (action, transitions it produced)
    certificate: str | None = None
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    @builtins.property
    def never_fired(self) -> list[str]:
        """Actions that never produced a transition (a "holds" over them proves little)."""
        return [name for name, n in self.coverage if n == 0]


@dataclass(frozen=True)
class Progress:
    """A progress report from a running engine."""

    states: int
    depth: int
    transitions: int
    seconds: float
    note: str = ""
    queue: int | None = None  # states found but not yet expanded, where the engine knows
    workers: tuple[int, ...] = ()  # peak resident bytes of each worker (bfs-dist)


ProgressFn = Callable[[Progress], None]


def no_progress(_: Progress) -> None:
    """A progress callback that ignores reports."""
