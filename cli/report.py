"""Reports of spec runs: the fixed JSON schema, the results table and the verdict matrix."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from mhpcheck.checker.result import CheckResult, Verdict
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


def verdict_matrix(outcomes: Sequence[Outcome]) -> Table:
    """Properties as rows, specs (designs) as columns, a letter per verdict.

    A cell carries "!" where the verdict differs from the spec's expectation and "?"
    where it was inconclusive. Legend: H holds, P proved, V violated, R reachable,
    U unreachable, B holds up to a bound.
    """
    columns: list[str] = []
    rows: list[str] = []
    cells: dict[tuple[str, str], str] = {}
    for o in outcomes:
        col = o.spec.preset or Path(o.spec.path).stem
        if Path(o.spec.path).stem != col:
            col = Path(o.spec.path).stem
        if col not in columns:
            columns.append(col)
        row = o.check.property
        if row not in rows:
            rows.append(row)
        letter = LETTER[o.result.verdict]
        mark = {"ok": "", "mismatch": "!", "inconclusive": "?"}[o.status]
        style = {"ok": "", "mismatch": "red", "inconclusive": "yellow"}[o.status]
        text = letter + mark
        key = (row, col)
        cells[key] = f"{cells[key]} {text}" if key in cells else (
            f"[{style}]{text}[/]" if style else text)
    table = Table(title="verdicts (H holds, V violated, R reachable, U unreachable, "
                  "B bounded; ! differs from expectation)")
    table.add_column("property")
    for col in columns:
        table.add_column(col, justify="center")
    for row in rows:
        table.add_row(row, *(cells.get((row, col), "") for col in columns))
    return table


def print_table(table: Table, console: Console) -> None:
    console.print(table)
