"""mhpcheck: a model checker for Linux memory hot(un)plug lifecycles.

``from mhpcheck import Model, action, invariant, check, Checker, ...``: the names of
``mhpcheck.api``, imported on first use, so that ``import mhpcheck.model.base`` loads
neither the engines nor z3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # the names ``__getattr__`` gives, for type checkers
    from .api import *  # noqa: F403


def __getattr__(name: str) -> Any:
    if name.startswith("_") or name == "api":  # submodules load by the import system
        raise AttributeError(f"module 'mhpcheck' has no attribute {name!r}")
    from . import api

    if name in api.__all__:
        return getattr(api, name)
    raise AttributeError(f"module 'mhpcheck' has no attribute {name!r}")


def __dir__() -> list[str]:
    from . import api

    return sorted([*globals(), *api.__all__])
