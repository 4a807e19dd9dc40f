"""The dependency rule: engines see only the IR; z3 only under checker/symbolic."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT


def imports(folder: str) -> list[tuple[Path, str]]:
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [(path, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((path, node.module))
    return found


def test_engines_never_import_the_hotplug_model_or_the_cli() -> None:
    bad = [(str(p), m) for p, m in imports("checker")
           if m.startswith(("mhpcheck.model.hotplug", "mhpcheck.properties", "mhpcheck.cli"))]
    assert not bad


def test_z3_is_imported_only_under_checker_symbolic() -> None:
    bad = [(str(p), m) for folder in ("model", "checker", "properties", "cli")
           for p, m in imports(folder)
           if m.split(".")[0] == "z3" and "checker/symbolic" not in str(p)]
    assert not bad


def test_the_modelling_language_imports_no_engine() -> None:
    bad = [(str(p), m) for p, m in imports("model")
           if m.startswith(("mhpcheck.checker", "mhpcheck.cli", "mhpcheck.properties"))]
    assert not bad
