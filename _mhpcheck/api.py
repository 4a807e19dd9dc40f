"""The public API on one screen: ``from mhpcheck import ...`` gives these names.

Write a model (``Model`` with ``@action``, ``@invariant``, ... over ``StateView``
expressions), then ``check(Model(), "property")`` or ``Checker(Model()).check_many``;
``register`` makes a model known to ``check-model`` and spec files by name.
"""

from __future__ import annotations

from mhpcheck.checker.checker import ENGINES, Checker, check, exit_code
from mhpcheck.checker.result import Budget, CheckResult, Stats, Verdict
from mhpcheck.model.base import (
    Declarations,
    Knob,
    Model,
    Param,
    action,
    eventually,
    init,
    invariant,
    leads_to,
    reachable,
    step_invariant,
    terminates,
)
from mhpcheck.model.domains import Bool, Enum, IntRange
from mhpcheck.model.dsl import (
    StateView,
    all_of,
    any_of,
    count,
    implies,
    ite,
    label,
    not_,
    then,
    total,
    when,
)
from mhpcheck.model.errors import MhpError, ModelError, Unsupported, UsageError
from mhpcheck.model.symmetry import Symmetry
from mhpcheck.model.system import TransitionSystem
from mhpcheck.model.trace import Trace
from mhpcheck.registry import build_system, register

__all__ = [
    "ENGINES",
    "Bool",
    "Budget",
    "CheckResult",
    "Checker",
    "Declarations",
    "Enum",
    "IntRange",
    "Knob",
    # errors
    "MhpError",
    # writing a model
    "Model",
    "ModelError",
    "Param",
    "StateView",
    "Stats",
    "Symmetry",
    "Trace",
    "TransitionSystem",
    "Unsupported",
    "UsageError",
    "Verdict",
    "action",
    "all_of",
    "any_of",
    "build_system",
    # checking it
    "check",
    "count",
    "eventually",
    "exit_code",
    "implies",
    "init",
    "invariant",
    "ite",
    "label",
    "leads_to",
    "not_",
    "reachable",
    "register",
    "step_invariant",
    "terminates",
    "then",
    "total",
    "when",
]
