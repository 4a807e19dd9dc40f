"""The run report's layout: spec names in the results table, the verdict matrix's rows,
merged cells and legend."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from mhpcheck.checker.result import Budget, CheckResult, Stats, Verdict
from mhpcheck.cli.report import LETTER, legend, results_table, verdict_matrix
from mhpcheck.cli.runner import Outcome, judge
from mhpcheck.cli.spec import Check, Spec
from mhpcheck.model.system import Property


def outcome(path: str, prop: str, verdict: Verdict, expect: str | None = None) -> Outcome:
    check = Check(prop, "bfs", expect or verdict.value, Budget(None, None, None))
    spec = Spec(path, "toy", (), (), None, (check,))
    result = CheckResult(prop, "invariant", "bfs", verdict, Stats(3, 4, 2, 0.0))
    status, problems = judge(check, result)
    return Outcome(spec, check, result, status, problems)


def text(table: Table) -> str:
    console = Console(width=200, record=True, color_system=None)
    console.print(table)
    return console.export_text()


PROPS = [Property("first-thing", "", ("S1",)), Property("second-thing", "", ("S2",)),
         Property("live-thing", "", ("L1",)), Property("can-reach", "", ())]


def test_merged_cell_shows_every_verdict_and_names_the_specs() -> None:
    got = text(verdict_matrix([
        outcome("s/a/design.toml", "S1", Verdict.VIOLATED),
        outcome("s/b/design.toml", "S1", Verdict.HOLDS),
        outcome("s/a/design.toml", "S2", Verdict.HOLDS),
        outcome("s/b/design.toml", "S2", Verdict.HOLDS),
    ], PROPS))
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip()
            for line in got.splitlines() if line.startswith("│")}
    assert rows["S1 first-thing"] == "V/H"
    assert rows["S2 second-thing"] == "H"
    flat = " ".join(got.split())
    assert "S1 x design: V in a/design; H in b/design" in flat
    assert "S2 x design" not in flat


def test_rows_follow_the_reference_order_with_names() -> None:
    got = text(verdict_matrix([
        outcome(f"s/{folder}/design.toml", prop, Verdict.HOLDS)
        for folder in ("a", "b")
        for prop in ("can-reach", "L1", "S2", "unknown-name", "S1")], PROPS))
    labels = [line.split("│")[1].strip() for line in got.splitlines() if line.startswith("│")]
    assert labels == ["S1 first-thing", "S2 second-thing", "L1 live-thing", "can-reach",
                      "unknown-name"]


def test_legend_names_every_letter() -> None:
    text_ = legend()
    for verdict, letter in LETTER.items():
        assert f"{letter} {verdict.value}" in text_
    assert "P proved" in text_


def test_results_table_names_specs_by_their_relative_path() -> None:
    got = text(results_table([outcome("specs/x/1-a/legacy.toml", "S1", Verdict.HOLDS),
                              outcome("specs/x/2-b/legacy.toml", "S1", Verdict.HOLDS)]))
    assert "1-a/legacy" in got and "2-b/legacy" in got
    rows = [line for line in got.splitlines() if line.startswith("│")]
    assert len(set(rows)) == 2
