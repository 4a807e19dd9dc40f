"""Reports of spec runs: the fixed JSON schema, the results table and the verdict matrix."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from mhpcheck.checker.result import CheckResult, Verdict
from mhpcheck.model.errors import MhpError
from mhpcheck.model.system import TransitionSystem

from .runner import Outcome

SCHEMA = 1

#: One letter per verdict for the matrix.
LETTER = {
    Verdict.HOLDS: "H", Verdict.PROVED: "P", Verdict.BOUNDED: "B", Verdict.VIOLATED: "V",
    Verdict.REACHABLE: "R", Verdict.UNREACHABLE: "U", Verdict.UNKNOWN: "?",
}


def result_json(result: CheckResult, ts: TransitionSystem) -> dict[str, Any]:
    """The engine-side fields of a report entry."""
    return {
        "property": result.property,
        "kind": result.kind,
        "engine": result.engine,
        "verdict": result.verdict.value,
        "distinct_states": result.stats.distinct_states,
        "transitions": result.stats.transitions,
        "depth": result.stats.depth,
        "seconds": result.stats.seconds,
        "bound": result.bound,
        "never_fired": result.never_fired,
        "certificate": result.certificate,
        "trace": None if result.trace is None else result.trace.to_itf(ts),
    }


def outcome_json(outcome: Outcome, ts: TransitionSystem) -> dict[str, Any]:
    """One entry of the ``results`` list of the JSON report (schema 1)."""
    spec = outcome.spec
    entry = {
        "spec": spec.path,
        "model": spec.model,
        "preset": spec.preset,
        "params": dict(ts.params),
        "knobs": dict(ts.knobs),
        "expected": outcome.check.expect,
        "ok": outcome.ok,
        "status": outcome.status,
        "problems": list(outcome.problems),
    }
    entry.update(result_json(outcome.result, ts))
    entry["property"] = outcome.check.property
    return entry


def report_json(entries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"schema": SCHEMA, "results": list(entries)}


def _status_cell(outcome: Outcome) -> str:
    return {"ok": "[green]ok[/]", "mismatch": "[red]MISMATCH[/]",
            "inconclusive": "[yellow]inconclusive[/]"}[outcome.status]


def results_table(outcomes: Sequence[Outcome]) -> Table:
    """One row per check: spec, property, engine, expected, verdict, states, depth, time."""
    table = Table(title="check-model results", show_lines=False)
    for col in ("spec", "property", "engine", "expected", "verdict", "states", "depth",
                "trace", "s", ""):
        justify = "right" if col in ("states", "depth", "trace", "s") else "left"
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for o in outcomes:
        r = o.result
        table.add_row(
            Path(o.spec.path).stem, o.check.property, r.engine, o.check.expect,
            r.verdict.value, f"{r.stats.distinct_states:,}", str(r.stats.depth),
            "" if r.trace is None else str(len(r.trace)), f"{r.stats.seconds:.2f}",
            _status_cell(o))
    return table


#: When one property is checked in several specs of a column (several populations),
#: the column's verdict is the strongest: a violation anywhere is a violation.
STRENGTH = {"V": 5, "R": 4, "?": 3, "B": 2, "P": 1, "H": 1, "U": 0}


def _column_order(outcomes: Sequence[Outcome]) -> list[str]:
    """Columns named like a preset first, in the model's preset order (the designs in
    the thread's order), then the variants (other file names), in order of appearance."""
    from mhpcheck.model.registry import model_class

    first: dict[str, tuple[int, int, int]] = {}
    for n, o in enumerate(outcomes):
        col = Path(o.spec.path).stem
        if col in first:
            continue
        try:
            presets = list(model_class(o.spec.model).presets)
        except MhpError:
            presets = []
        rank = presets.index(o.spec.preset) if o.spec.preset in presets else len(presets)
        first[col] = (0 if col in presets else 1, rank, n)
    return sorted(first, key=lambda c: first[c])


def verdict_matrix(outcomes: Sequence[Outcome]) -> Table:
    """Properties as rows, specs (designs: the file name) as columns, a letter per verdict.

    Specs with the same file name in different folders (populations) share a column,
    whose cell shows the strongest verdict (V before R before H). A cell carries "!"
    where some verdict differs from its spec's expectation and "?" where one was
    inconclusive.
    """
    columns = _column_order(outcomes)
    rows: list[str] = []
    letters: dict[tuple[str, str], list[str]] = {}
    marks: dict[tuple[str, str], set[str]] = {}
    for o in outcomes:
        key = (o.check.property, Path(o.spec.path).stem)
        if key[0] not in rows:
            rows.append(key[0])
        letters.setdefault(key, []).append(LETTER[o.result.verdict])
        marks.setdefault(key, set()).add(o.status)
    table = Table(title="verdicts (H holds, V violated, R reachable, U unreachable, "
                  "B bounded; ! differs from expectation, ? inconclusive)")
    table.add_column("property", no_wrap=True)
    for col in columns:
        table.add_column(col, justify="center", overflow="fold")
    for row in rows:
        cells = []
        for col in columns:
            got = letters.get((row, col))
            if not got:
                cells.append("")
                continue
            text = max(got, key=lambda letter: STRENGTH[letter])
            status = marks[(row, col)]
            if "mismatch" in status:
                cells.append(f"[red]{text}![/]")
            elif "inconclusive" in status:
                cells.append(f"[yellow]{text}?[/]")
            else:
                cells.append(text)
        table.add_row(row, *cells)
    return table


def print_table(table: Table, console: Console) -> None:
    console.print(table)
