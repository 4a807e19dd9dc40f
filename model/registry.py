"""The models the CLI and spec files know by name, imported on first use."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from .base import Model
from .errors import ModelError
from .system import TransitionSystem

#: name -> "module:Class". The hotplug model's registered class lives in properties/,
#: which adds the named properties (S1.., L1..) to the system of model/hotplug/.
KNOWN: dict[str, str] = {
    "philosophers": "mhpcheck.model.textbook.philosophers:Philosophers",
    "peterson": "mhpcheck.model.textbook.peterson:Peterson",
    "hotplug": "mhpcheck.properties.hotplug:Hotplug",
}


def names() -> list[str]:
    return sorted(KNOWN)


def model_class(name: str) -> type[Model]:
    """The Model subclass registered as ``name``, or a ModelError listing the known ones."""
    target = KNOWN.get(name)
    if target is None:
        raise ModelError(f"unknown model {name!r} (models: {', '.join(names())})")
    module_name, _, cls_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        raise ModelError(f"model {name!r} is registered but not installed ({err})") from None
    cls = getattr(module, cls_name)
    assert isinstance(cls, type) and issubclass(cls, Model)
    return cls


def build_system(name: str, params: Mapping[str, Any] | None = None,
                 knobs: Mapping[str, Any] | None = None,
                 preset: str | None = None) -> TransitionSystem:
    """Build the registered model ``name`` with ``params`` and ``knobs``."""
    return model_class(name)(params, knobs, preset).build()
