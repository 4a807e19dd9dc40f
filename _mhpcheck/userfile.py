"""Your own model file: load a ``Model`` subclass from ``path/to/file.py:ClassName``.

A user models a protocol in a file of their own, outside the package, and names it
where a registered model's name goes (``check-model check ring.py:Ring``, or
``model = "ring.py:Ring"`` in a spec, whose folder is then the base of the path). The
file runs as a module of its own, once per version of the file; its folder is on the
import path while it runs, so it may import helpers next to it. Every problem is one
line naming the file (and the class): a missing file, a syntax error, an exception
while the file runs (an import that fails, a typo), no such class, or a class that is
not a Model.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
import traceback
from pathlib import Path
from types import ModuleType

from mhpcheck.model.base import Model
from mhpcheck.model.errors import MhpError, ModelError, UsageError

#: Modules already loaded, by resolved path and modification time: a spec's checks and
#: a trace's replay load the same file once, and an edited file is loaded again.
_LOADED: dict[tuple[str, int], ModuleType] = {}


def is_model_file(ref: str) -> bool:
    """Whether ``ref`` names a model file (``file.py`` or ``file.py:Class``) rather than
    a registered model."""
    return ref.partition(":")[0].endswith(".py")


def split_ref(ref: str) -> tuple[str, str | None]:
    """``("path/file.py", "Class")`` of ``ref``; the class is None when not given."""
    file, sep, cls = ref.rpartition(":") if ":" in ref else (ref, "", "")
    if not file.endswith(".py") or (sep and not cls.isidentifier()):
        raise UsageError(f"model file {ref!r}: expected FILE.py:CLASS, such as ring.py:Ring")
    return file, cls or None


def load_model(ref: str, base: Path) -> type[Model]:
    """The Model subclass ``ref`` names: ``path/to/file.py:ClassName``, the path relative
    to ``base`` unless absolute. Without ``:ClassName`` the file must define exactly
    one Model subclass."""
    file, cls_name = split_ref(ref)
    path = Path(file) if Path(file).is_absolute() else base / file
    if not path.is_file():
        raise UsageError(f"model file {path}: no such file")
    module = _module(path)
    if cls_name is None:
        found = _models_defined(module)
        if len(found) != 1:
            names = ", ".join(c.__name__ for c in found) or "none"
            raise ModelError(f"model file {path}: name the class as {file}:CLASS (Model "
                             f"subclasses defined there: {names})")
        cls: object = found[0]
    else:
        cls = getattr(module, cls_name, None)
        if cls is None:
            names = ", ".join(c.__name__ for c in _models_defined(module)) or "none"
            raise ModelError(f"model file {path}: no class {cls_name!r} (Model subclasses "
                             f"defined there: {names})")
    shown = getattr(cls, "__name__", repr(cls))
    if not (isinstance(cls, type) and issubclass(cls, Model)) or cls is Model:
        raise ModelError(f"model file {path}: {shown} is not a Model subclass (class "
                         f"{shown}(Model) with `from mhpcheck.model.base import Model`)")
    if not cls.name:
        raise ModelError(f"model file {path}: class {shown} has no name (set name = "
                         f"\"{shown.lower()}\"; messages name the model by it)")
    return cls


def _models_defined(module: ModuleType) -> list[type[Model]]:
    return [c for _, c in inspect.getmembers(module, inspect.isclass)
            if issubclass(c, Model) and c is not Model and c.__module__ == module.__name__]


def _module(path: Path) -> ModuleType:
    """The module of ``path``, run once per version of the file."""
    resolved = path.resolve()
    key = (str(resolved), resolved.stat().st_mtime_ns)
    if key in _LOADED:
        return _LOADED[key]
    digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:12]
    name = f"mhpcheck_user_{resolved.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise ModelError(f"model file {path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and typing look their module up by name
    folder = str(resolved.parent)
    sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as err:
        del sys.modules[name]
        raise ModelError(f"model file {path}, line {err.lineno}: syntax error: "
                         f"{err.msg}") from None
    except MhpError as err:
        del sys.modules[name]
        raise ModelError(f"model file {path}: {err}") from None
    except Exception as err:
        del sys.modules[name]
        raise ModelError(f"model file {path}{_line_in(err, resolved)}: "
                         f"{type(err).__name__}: {err}") from err
    finally:
        if sys.path and sys.path[0] == folder:
            sys.path.pop(0)
    _LOADED[key] = module
    return module


def _line_in(err: BaseException, path: Path) -> str:
    """``, line N`` of the innermost frame of ``err`` in the file ``path``."""
    lines = [f.lineno for f in traceback.extract_tb(err.__traceback__)
             if Path(f.filename).resolve() == path]
    return f", line {lines[-1]}" if lines else ""
