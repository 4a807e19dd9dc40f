"""Spec regression: every spec of the default tier gives its expected verdicts and counts."""

from __future__ import annotations

import pytest
from conftest import ROOT

from mhpcheck.cli.runner import run_checks
from mhpcheck.cli.spec import collect, load_spec, resolve

SPECS = [p for p in collect([str(ROOT / "specs")]) if load_spec(p).tier == "default"]


@pytest.mark.parametrize("path", SPECS, ids=[str(p.relative_to(ROOT / "specs")) for p in SPECS])
def test_spec_meets_its_expectations(path: object) -> None:
    spec = load_spec(str(path))
    outcomes = run_checks(spec, resolve(spec))
    problems = [f"{o.check.key} {o.check.property}: {'; '.join(o.problems)}"
                for o in outcomes if not o.ok]
    assert not problems, "\n".join(problems)


def test_every_spec_has_a_readme_paragraph() -> None:
    readme = (ROOT / "specs" / "README.md").read_text()
    missing = [str(p.relative_to(ROOT / "specs")) for p in collect([str(ROOT / "specs")])
               if p.name not in readme]
    assert not missing, f"specs/README.md does not mention {missing}"
