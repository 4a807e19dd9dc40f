"""The models the CLI and spec files know by name.

The package's own models are imported (by real ``import`` statements) on the first
lookup. A user adds one without editing the package: ``register(name, cls)`` from
Python, or an entry point in the ``mhpcheck.models`` group of an installed
distribution (``name = "package.module:ModelClass"``), read at every lookup. A built-in
name cannot be taken by an entry point; ``register`` replaces one only when asked.

Wherever a name goes, a model file may go instead: ``path/to/file.py:Class`` (or
``file.py`` when it defines one Model), loaded by ``mhpcheck.userfile``, the path
relative to ``base`` (the current folder on the command line, a spec's folder in a
spec). A system built from a file records the file's absolute ref as its ``source``,
which a trace file records relative to its own folder, so ``trace show`` rebuilds it
from any current folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from mhpcheck.model.base import Model
from mhpcheck.model.errors import ModelError, UsageError
from mhpcheck.model.system import TransitionSystem
from mhpcheck.model.view import View, default_view, view_of
from mhpcheck.userfile import is_model_file, load_model, split_ref

#: The entry-point group a distribution lists its models under.
ENTRY_POINT_GROUP = "mhpcheck.models"

_registered: dict[str, type[Model]] = {}


def _builtin() -> dict[str, type[Model]]:
    """The package's own models. The hotplug model's registered class lives in
    properties/, which adds the named properties (S1.., L1..) to model/hotplug/."""
    from mhpcheck.model.textbook.peterson import Peterson
    from mhpcheck.model.textbook.philosophers import Philosophers
    from mhpcheck.model.textbook.tokenring import TokenRing
    from mhpcheck.properties.hotplug import Hotplug
    return {"hotplug": Hotplug, "peterson": Peterson, "philosophers": Philosophers,
            "tokenring": TokenRing}


def _model(name: str, cls: object, where: str) -> type[Model]:
    if not (isinstance(cls, type) and issubclass(cls, Model)):
        raise ModelError(f"model {name!r} ({where}) is not a Model subclass: {cls!r}")
    return cls


def _entry_points() -> dict[str, type[Model]]:
    found: dict[str, type[Model]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
        except Exception as err:  # a broken plug-in is named, never a traceback
            raise ModelError(f"model {ep.name!r} (entry point {ep.value}) cannot be "
                             f"loaded: {err}") from None
        found[ep.name] = _model(ep.name, cls, f"entry point {ep.value}")
    return found


def models() -> dict[str, type[Model]]:
    """Every known model by name: entry points, the built-in ones, then registered."""
    return {**_entry_points(), **_builtin(), **_registered}


def register(name: str, cls: type[Model], *, replace: bool = False) -> None:
    """Make ``cls`` known as ``name`` (to ``check-model`` run in this process and to
    spec files it reads); an existing name is a UsageError unless ``replace``."""
    _model(name, cls, "register")
    known = models()
    if name in known and known[name] is not cls and not replace:
        raise UsageError(f"model {name!r} is registered already "
                         f"({known[name].__qualname__}); pass replace=True to replace it")
    _registered[name] = cls


def unregister(name: str) -> None:
    """Forget a model ``register`` added (the built-in ones stay)."""
    _registered.pop(name, None)


def names() -> list[str]:
    return sorted(models())


def model_class(name: str, base: Path | None = None) -> type[Model]:
    """The Model subclass registered as ``name``, or the one the model file ref ``name``
    names (relative to ``base``, default the current folder); a ModelError (a
    UsageError for a missing file) otherwise."""
    if is_model_file(name):
        return load_model(name, Path() if base is None else base)
    known = models()
    cls = known.get(name)
    if cls is None:
        raise ModelError(f"unknown model {name!r} (models: {', '.join(sorted(known))}; "
                         "or a model file, FILE.py:CLASS)")
    return cls


def model_source(name: str, base: Path | None = None) -> str:
    """What rebuilds ``name`` from any folder: a registered name as it is, a model file
    as its absolute ``/path/file.py:Class`` (the class named even when ``name`` left it
    out)."""
    if not is_model_file(name):
        return name
    file, _ = split_ref(name)
    path = (Path() if base is None else base) / file  # an absolute file stays as it is
    return f"{path.resolve()}:{model_class(name, base).__name__}"


def with_source(ts: TransitionSystem, name: str, base: Path | None = None) -> TransitionSystem:
    """``ts`` (built from ``name``) stamped with ``model_source(name, base)``."""
    return replace(ts, source=model_source(name, base))


def build_system(name: str, params: Mapping[str, Any] | None = None,
                 knobs: Mapping[str, Any] | None = None,
                 preset: str | None = None, base: Path | None = None) -> TransitionSystem:
    """Build the registered model or model file ``name`` with ``params`` and ``knobs``."""
    return with_source(model_class(name, base)(params, knobs, preset).build(), name, base)


def view_for(ts: TransitionSystem) -> View:
    """The view of the model that built ``ts`` (its source, else its name), else the
    default one."""
    if is_model_file(ts.source):
        cls: type[Model] | None = model_class(ts.source)
    else:
        cls = models().get(ts.source or ts.name)
    if cls is None or getattr(cls, "view", None) is None:
        return default_view(ts)
    return view_of(cls(dict(ts.params), dict(ts.knobs)), ts)
