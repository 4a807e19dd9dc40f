"""Reports of spec runs: the fixed JSON schema, the results table and the verdict matrix."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mhpcheck.checker.result import CheckResult, Verdict
from mhpcheck.model.errors import MhpError
from mhpcheck.model.parametric import system_of
from mhpcheck.model.system import Property, TransitionSystem

from .runner import Outcome

SCHEMA = 1

#: One letter per verdict for the matrix.
LETTER = {
    Verdict.HOLDS: "H", Verdict.PROVED: "P", Verdict.BOUNDED: "B", Verdict.VIOLATED: "V",
    Verdict.REACHABLE: "R", Verdict.UNREACHABLE: "U", Verdict.UNKNOWN: "?",
    Verdict.VACUOUS: "h",  # holds only vacuously: weaker than H
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
        "message": result.message,
        "certificate": result.certificate,
        "trace": None if result.trace is None else result.trace.to_itf(
            system_of(ts, result.trace)),
    } | _distributed(result)


#: What bfs-dist reports about its workers (``--json``'s ``distributed`` object).
DISTRIBUTED_KEYS = ("workers", "bytes_sent_per_state", "bytes_per_state",
                    "peak_rss_per_worker", "cpu_seconds_per_worker", "phase_seconds")


def _distributed(result: CheckResult) -> dict[str, Any]:
    """For bfs-dist, how the work was spread over the workers (an added key: readers of
    schema 1 need no change); nothing for the other engines."""
    if result.engine != "bfs-dist":
        return {}
    return {"distributed": {k: result.extra[k] for k in DISTRIBUTED_KEYS if k in result.extra}}


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


def report_json(entries: Sequence[dict[str, Any]],
                summary: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON report (schema 1): ``results``, and from ``run --json`` a ``summary``
    (checks, ok, mismatch, inconclusive, seconds, specs, skipped_specs). The summary is
    an added key, so readers of schema 1 need no change."""
    report: dict[str, Any] = {"schema": SCHEMA, "results": list(entries)}
    if summary is not None:
        report["summary"] = summary
    return report


def _status_cell(outcome: Outcome) -> str:
    return {"ok": "[green]ok[/]", "mismatch": "[red]MISMATCH[/]",
            "inconclusive": "[yellow]inconclusive[/]"}[outcome.status]


def spec_labels(paths: Sequence[str]) -> dict[str, str]:
    """Each spec path as the results table names it: relative to the folder all the
    specs share (the run's argument, for one folder), without ".toml", so that specs of
    the same file name in different folders never look alike."""
    unique = list(dict.fromkeys(paths))
    if not unique:
        return {}
    parents = [os.path.dirname(os.path.abspath(p)) for p in unique]
    base = os.path.commonpath(parents)
    return {p: str(Path(os.path.relpath(os.path.abspath(p), base)).with_suffix(""))
            for p in unique}


def results_table(outcomes: Sequence[Outcome]) -> Table:
    """One row per check: spec, property, engine, expected, verdict, states, depth, time.

    A spec is named by its path relative to the folder that holds all the run's specs."""
    labels = spec_labels([o.spec.path for o in outcomes])
    table = Table(title="check-model results", show_lines=False)
    for col in ("spec", "property", "engine", "expected", "verdict", "states", "depth",
                "trace", "s", ""):
        justify = "right" if col in ("states", "depth", "trace", "s") else "left"
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for o in outcomes:
        r = o.result
        table.add_row(
            escape(labels[o.spec.path]), escape(o.check.property), r.engine, o.check.expect,
            r.verdict.value, f"{r.stats.distinct_states:,}", str(r.stats.depth),
            "" if r.trace is None else str(len(r.trace)), f"{r.stats.seconds:.2f}",
            _status_cell(o))
    return table


#: When one property is checked in several specs of a column (several populations),
#: the column's cell lists their verdicts strongest first: a violation anywhere leads.
STRENGTH = {"V": 5, "R": 4, "?": 3, "B": 2, "P": 1, "H": 1, "h": 0.5, "U": 0}


def _column_order(outcomes: Sequence[Outcome]) -> list[str]:
    """Columns named like a preset first, in the model's preset order (the designs in
    the thread's order), then the variants (other file names), in order of appearance."""
    from mhpcheck.registry import model_class

    first: dict[str, tuple[int, int, int]] = {}
    for n, o in enumerate(outcomes):
        col = Path(o.spec.path).stem
        if col in first:
            continue
        try:
            presets = list(model_class(o.spec.model, Path(o.spec.path).parent).presets)
        except MhpError:
            presets = []
        rank = presets.index(o.spec.preset) if o.spec.preset in presets else len(presets)
        first[col] = (0 if col in presets else 1, rank, n)
    return sorted(first, key=lambda c: first[c])


def _cell(letters: list[str], statuses: set[str]) -> str:
    """The cell of one property and one design column: the strongest verdict first, and
    when the column's specs (populations) disagree, every other verdict after a "/"
    (``V/H``), so that a merge never hides a verdict."""
    distinct = sorted(set(letters), key=lambda letter: (-STRENGTH.get(letter, 0), letter))
    text = "/".join(distinct)
    if "mismatch" in statuses:
        return f"[red]{text}![/]"
    if "inconclusive" in statuses:
        return f"[yellow]{text}?[/]"
    return text


def _design_columns(outcomes: Sequence[Outcome], columns: list[str]) -> list[str]:
    """Columns that are designs: named like a preset, or repeated across scenario
    folders. The rest are one-off variants, listed below the matrix."""
    from mhpcheck.registry import model_class

    folders: dict[str, set[str]] = {}
    presets: set[str] = set()
    for o in outcomes:
        folders.setdefault(Path(o.spec.path).stem, set()).add(str(Path(o.spec.path).parent))
        with contextlib.suppress(MhpError):
            presets.update(model_class(o.spec.model, Path(o.spec.path).parent).presets)
    return [c for c in columns if c in presets or len(folders[c]) > 1]


def legend() -> str:
    """Every verdict letter with its meaning, and the marks."""
    letters = ", ".join(f"{letter} {verdict.value}" for verdict, letter in LETTER.items())
    return (f"verdicts ({letters}; X/Y the column's specs disagree, see the notes; "
            "! differs from expectation, ? inconclusive)")


def _row_order(names: list[str], properties: Sequence[Property]) -> list[str]:
    """Rows in the properties' reference order (the model's: S1..S13, L1..L4, then the
    sanity checks), any name the model does not know after them in order of appearance."""
    rank: dict[str, int] = {}
    for n, prop in enumerate(properties):
        for name in (prop.name, *prop.aliases):
            rank.setdefault(name, n)
    return sorted(names, key=lambda name: (rank.get(name, len(properties)),
                                           names.index(name)))


def _row_label(name: str, properties: Sequence[Property]) -> str:
    """A row's label: the name checked, and the property's own name when that was an
    alias ("S3 unplugged-never-allocated")."""
    for prop in properties:
        if name in prop.aliases and name != prop.name:
            return f"{name} {prop.name}"
    return name


def verdict_matrix(outcomes: Sequence[Outcome],
                   properties: Sequence[Property] = ()) -> Table:
    """Properties as rows, designs (spec file names) as columns, a letter per verdict.

    Rows follow ``properties`` (the model's reference order), labelled with the
    property's name. Specs with the same file name in different folders (populations)
    share a column; where their verdicts differ the cell shows them all, strongest first
    (``V/H``), and a note under the table names the spec of each. A cell carries "!"
    where some verdict differs from its spec's expectation and "?" where one was
    inconclusive. One-off variant specs get a row each in ``variant_table``.
    """
    columns = _design_columns(outcomes, _column_order(outcomes))
    labels = spec_labels([o.spec.path for o in outcomes])
    rows: list[str] = []
    letters: dict[tuple[str, str], list[str]] = {}
    marks: dict[tuple[str, str], set[str]] = {}
    where: dict[tuple[str, str], dict[str, list[str]]] = {}
    for o in outcomes:
        key = (o.check.property, Path(o.spec.path).stem)
        if key[1] not in columns:
            continue
        if key[0] not in rows:
            rows.append(key[0])
        letter = LETTER[o.result.verdict]
        letters.setdefault(key, []).append(letter)
        marks.setdefault(key, set()).add(o.status)
        where.setdefault(key, {}).setdefault(letter, []).append(labels[o.spec.path])
    rows = _row_order(rows, properties)
    notes = []
    for row in rows:
        for col in columns:
            seen = where.get((row, col), {})
            if len(seen) > 1:
                parts = "; ".join(f"{letter} in {', '.join(specs)}"
                                  for letter, specs in sorted(
                                      seen.items(), key=lambda kv: -STRENGTH.get(kv[0], 0)))
                notes.append(f"{row} x {col}: {parts}")
    table = Table(title=legend(),
                  caption="\n".join(escape(n) for n in notes) if notes else None,
                  caption_justify="left")
    table.add_column("property", no_wrap=True)
    for col in columns:
        table.add_column(col.replace("-", "-\n"), justify="center")
    for row in rows:
        table.add_row(escape(_row_label(row, properties)),
                      *(_cell(letters[(row, col)], marks[(row, col)])
                        if (row, col) in letters else "" for col in columns))
    return table


def variant_table(outcomes: Sequence[Outcome]) -> Table | None:
    """One row per variant spec (not a design column): its verdicts, property by property."""
    columns = _column_order(outcomes)
    designs = set(_design_columns(outcomes, columns))
    by_spec: dict[str, list[Outcome]] = {}
    for o in outcomes:
        if Path(o.spec.path).stem not in designs:
            by_spec.setdefault(o.spec.path, []).append(o)
    if not by_spec:
        return None
    table = Table(title="variants")
    table.add_column("spec", no_wrap=True)
    table.add_column("verdicts")
    for path, group in by_spec.items():
        cells = [f"{escape(o.check.property)} {_cell([LETTER[o.result.verdict]], {o.status})}"
                 for o in group]
        table.add_row(str(Path(path).relative_to(Path(path).parents[1])), ", ".join(cells))
    return table


def print_table(table: Table, console: Console) -> None:
    console.print(table)
