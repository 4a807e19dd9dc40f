"""Engines by name: one entry point, ``check``, for every engine and property kind.

Each engine is a function ``(ts, prop, budget, progress) -> CheckResult``, imported on
first use so that z3 loads only when a symbolic engine runs. Every trace an engine
returns is replayed here with the explicit semantics before anyone sees it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from mhpcheck.model.errors import InternalError, ModelError, ReplayMismatch
from mhpcheck.model.system import LeadsTo, Property, TransitionSystem

from .explicit.bfs import SAFETY_KINDS, check_safety
from .explicit.liveness import check_leads_to
from .replay import replay
from .result import UNBOUNDED, Budget, CheckResult, ProgressFn, no_progress

EngineFn = Callable[[TransitionSystem, Property, Budget, ProgressFn], CheckResult]


def _bfs(ts: TransitionSystem, prop: Property, budget: Budget,
         progress: ProgressFn) -> CheckResult:
    if isinstance(prop, LeadsTo):
        return check_leads_to(ts, prop, budget, progress)
    if isinstance(prop, SAFETY_KINDS):
        return check_safety(ts, [prop], budget, progress)[0]
    raise ModelError(f"engine bfs cannot check {prop.kind} property {prop.name}")


#: name -> the engine function, or "module:function" for lazily imported engines.
ENGINES: dict[str, EngineFn | str] = {
    "bfs": _bfs,
    "bfs-vec": "mhpcheck.checker.explicit.vector:check",
    "bmc": "mhpcheck.checker.symbolic.bmc:check",
    "kind": "mhpcheck.checker.symbolic.kinduction:check",
    "pdr": "mhpcheck.checker.symbolic.pdr:check",
    "inductive": "mhpcheck.checker.symbolic.inductive:check",
}


def engine(name: str) -> EngineFn:
    """The engine called ``name``, or a ModelError listing the engines."""
    entry = ENGINES.get(name)
    if entry is None:
        raise ModelError(f"unknown engine {name!r} (engines: {', '.join(ENGINES)})")
    if isinstance(entry, str):
        module_name, _, fn_name = entry.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            raise ModelError(f"engine {name!r} is not available ({err})") from None
        fn: EngineFn = getattr(module, fn_name)
        return fn
    return entry


def verified(ts: TransitionSystem, result: CheckResult) -> CheckResult:
    """``result`` after replaying its trace; a trace that does not replay is a tool bug."""
    if result.trace is not None:
        try:
            replay(ts, result.trace)
        except ReplayMismatch as err:
            raise InternalError(
                f"internal error: engine {result.engine} returned a trace for "
                f"{result.property} that does not replay: {err}") from None
    return result


def check(ts: TransitionSystem, prop: Property, engine_name: str = "bfs",
          budget: Budget = UNBOUNDED, progress: ProgressFn = no_progress,
          invariants: tuple[str, ...] = (), symmetry: bool = False) -> CheckResult:
    """Check ``prop`` on ``ts`` with the named engine; traces are replayed first.

    ``invariants`` names extra invariants that strengthen ``prop`` for the
    ``inductive`` engine; other engines take none. ``symmetry`` asks the explicit
    engine to store one state per orbit of the model's symmetry group.
    """
    fn = engine(engine_name)
    if symmetry:
        if engine_name != "bfs" or not isinstance(prop, SAFETY_KINDS):
            raise ModelError("symmetry reduction works with engine bfs on safety properties")
        return verified(ts, check_safety(ts, [prop], budget, progress, symmetry=True)[0])
    if invariants:
        if engine_name != "inductive":
            raise ModelError(f"engine {engine_name} takes no strengthening invariants")
        result = fn(ts, prop, budget, progress, invariants=invariants)  # type: ignore[call-arg]
    else:
        result = fn(ts, prop, budget, progress)
    return verified(ts, result)
