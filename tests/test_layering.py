"""The dependency rule: the modelling language imports no engine, no CLI and no
registry; engines see only the IR; z3 only under checker/symbolic.

Every way of naming a module counts: ``import`` and ``from`` statements anywhere (in
functions too, relative ones resolved), ``importlib.import_module("...")`` and
``__import__("...")`` with a literal, and strings such as ``"mhpcheck.x.y:name"``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import ROOT

#: Top-level folders and the package each one is installed as (setup.py's FOLDERS).
PACKAGES = {"_mhpcheck": "mhpcheck", "model": "mhpcheck.model", "checker": "mhpcheck.checker",
            "properties": "mhpcheck.properties", "cli": "mhpcheck.cli"}
MODULE_STRING = re.compile(r"(mhpcheck(?:\.\w+)+)(?::\w+)?")


def module_of(path: Path) -> str:
    """The dotted module name a source file is installed as."""
    rel = path.relative_to(ROOT)
    parts = [PACKAGES[rel.parts[0]], *rel.parts[1:-1]]
    if rel.stem != "__init__":
        parts.append(rel.stem)
    return ".".join(parts)


def _absolute(module: str, node: ast.ImportFrom) -> list[str]:
    """The modules a ``from`` import names: the base, and base.name for each name."""
    if node.level:  # relative to the package that holds ``module`` (a.b for a.b.__init__)
        package = module.split(".")[:-1]
        package = package[:len(package) - (node.level - 1)]
        base = ".".join([*package, *([node.module] if node.module else [])])
    else:
        base = node.module or ""
    return [base, *(f"{base}.{a.name}" for a in node.names)]


def _literal_call(node: ast.Call) -> str | None:
    """The module an ``importlib.import_module("m")`` or ``__import__("m")`` names."""
    fn = node.func
    name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) \
        else None
    if name not in ("import_module", "__import__") or not node.args:
        return None
    arg = node.args[0]
    return arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None


def imports_in(source: str, module: str) -> list[str]:
    """Every module ``source`` (installed as ``module``) names, however it names it."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found += _absolute(module, node)
        elif isinstance(node, ast.Call) and (target := _literal_call(node)) is not None:
            found.append(target)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = MODULE_STRING.fullmatch(node.value.strip())
            if match:
                found.append(match.group(1))
    return found


def imports(folder: str) -> list[tuple[Path, str]]:
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        name = module_of(path)
        if path.stem == "__init__":
            name += ".__init__"
        found += [(path, m) for m in imports_in(path.read_text(), name)]
    return found


def _bad(folder: str, prefixes: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(str(p.relative_to(ROOT)), m) for p, m in imports(folder)
            if any(m == x or m.startswith(x + ".") for x in prefixes)]


def test_engines_never_import_the_hotplug_model_the_registry_or_the_cli() -> None:
    assert not _bad("checker", ("mhpcheck.model.hotplug", "mhpcheck.properties",
                                "mhpcheck.cli", "mhpcheck.registry"))


def test_z3_is_imported_only_under_checker_symbolic() -> None:
    bad = [(str(p), m) for folder in ("_mhpcheck", "model", "checker", "properties", "cli")
           for p, m in imports(folder)
           if m.split(".")[0] == "z3" and "checker/symbolic" not in str(p)]
    assert not bad


def test_the_modelling_language_imports_no_engine_cli_properties_or_registry() -> None:
    assert not _bad("model", ("mhpcheck.checker", "mhpcheck.cli", "mhpcheck.properties",
                              "mhpcheck.registry"))


def test_the_scanner_sees_every_way_of_naming_a_module() -> None:
    source = '''
import os
def lazy():
    from mhpcheck.cli import main
    from ..checker import engine
    from . import sibling
    importlib.import_module("mhpcheck.properties.hotplug")
    __import__("z3")
TABLE = {"pdr": "mhpcheck.checker.symbolic.pdr:check"}
DOC = "a sentence that mentions mhpcheck.cli in passing is not an import"
'''
    found = imports_in(source, "mhpcheck.model.view")
    for name in ("os", "mhpcheck.cli", "mhpcheck.checker", "mhpcheck.checker.engine",
                 "mhpcheck.model.sibling", "mhpcheck.properties.hotplug", "z3",
                 "mhpcheck.checker.symbolic.pdr"):
        assert name in found, name
    assert found.count("mhpcheck.cli") == 1  # the import statement, not the sentence


def test_relative_imports_resolve_from_a_package_init() -> None:
    found = imports_in("from .explicit import bfs\n", "mhpcheck.checker.__init__")
    assert "mhpcheck.checker.explicit.bfs" in found


def test_module_names_follow_the_folder_mapping() -> None:
    assert module_of(ROOT / "model" / "hotplug" / "state.py") == "mhpcheck.model.hotplug.state"
    assert module_of(ROOT / "_mhpcheck" / "registry.py") == "mhpcheck.registry"
