"""``check-model simulate``: random walks through a model (TLC's ``-simulate``).

The same model options, property options, trace file and JSON as ``check``, with the
walks' own settings: ``--runs`` walks of at most ``--depth`` steps from ``--seed``. It
prints the verdict line ``check`` prints, what the verdict rests on (runs, depth,
seed), the walks' throughput and how often each action fired; exit 1 on a violation,
0 on a target reached, 3 when the walks found nothing (never 0 for "holds": a sample
proves nothing).
"""

from __future__ import annotations

import json
import os
import sys
import time

import click

from mhpcheck.checker.checker import Checker
from mhpcheck.checker.checker import exit_code as verdict_exit
from mhpcheck.checker.explicit.simulate import DEFAULT_DEPTH, DEFAULT_RUNS, DEFAULT_SEED
from mhpcheck.checker.result import Budget, CheckResult

from .options import (
    NON_NEGATIVE,
    SECONDS,
    model_inputs,
    model_options,
    system_from_options,
    user_errors,
)
from .output import check_output_file, write_atomic
from .render import render_trace
from .report import result_json


@click.command("simulate")
@click.argument("model")
@model_options
@click.option("--property", "-p", "prop", default=None, help="Property name or alias.")
@click.option("--invariant-expr", default=None, metavar="EXPR",
              help="Instead of --property: your own invariant (docs/guide.md).")
@click.option("--reachable-expr", default=None, metavar="EXPR",
              help="Instead of --property: a state to reach, such as 'count == 3'.")
@click.option("--runs", type=click.IntRange(min=1), default=DEFAULT_RUNS, show_default=True,
              help="Number of random walks.")
@click.option("--depth", type=NON_NEGATIVE, default=DEFAULT_DEPTH, show_default=True,
              help="Steps per walk at most (a walk also ends where no action is enabled).")
@click.option("--seed", type=NON_NEGATIVE, default=DEFAULT_SEED, show_default=True,
              help="Seed of the walks: the same seed gives the same walks and trace.")
@click.option("--max-states", type=NON_NEGATIVE, default=None,
              help="Stop once the walks have seen this many distinct states.")
@click.option("--timeout", type=SECONDS, default=None,
              help="Seconds before giving up (building the model included).")
@click.option("--trace-out", type=click.Path(dir_okay=False), default=None,
              help="Write the trace (ITF JSON) here.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
def simulate_cmd(model: str, params: tuple[str, ...], knobs: tuple[str, ...],
                 preset: str | None, prop: str | None, invariant_expr: str | None,
                 reachable_expr: str | None, runs: int, depth: int, seed: int,
                 max_states: int | None, timeout: float | None, trace_out: str | None,
                 as_json: bool, quiet: bool) -> None:
    """Check one safety property of MODEL on random walks (exit 1 violated, 0 target
    reached, 3 nothing found: a sample never shows that a property holds)."""
    # check's helpers; imported here, since cli.main imports this module when it loads
    from .main import chosen_property, progress_printer, search_time_left
    with user_errors():
        check_output_file(trace_out, "--trace-out", model_inputs(model))
        t0 = time.perf_counter()
        ts = system_from_options(model, params, knobs, preset)
        ts, prop_obj = chosen_property(ts, prop, invariant_expr, reachable_expr)
        progress = progress_printer(not quiet and not as_json)
        checker = Checker(ts)
        timeout = search_time_left(checker, timeout, t0)
        result = checker.check(prop_obj, "simulate", Budget(depth, max_states, timeout),
                               progress, runs=runs, seed=seed)
    if as_json:
        entry: dict[str, object] = {"model": model, "params": dict(ts.params),
                                    "knobs": dict(ts.knobs)}
        entry.update(result_json(result, ts))
        entry.update(simulation_json(result))
        click.echo(json.dumps(entry, indent=1, sort_keys=True))
    else:
        click.echo(summary(result))
        if result.trace is not None:
            click.echo(render_trace(ts, result.trace))
        if result.never_fired:
            click.echo(f"warning: actions that never fired: {', '.join(result.never_fired)}",
                       err=True)
    with user_errors():  # after the verdict is printed: a full disk loses only the file
        if trace_out and result.trace is not None:
            write_atomic(trace_out, result.trace.dumps(ts, os.path.dirname(trace_out)),
                         "--trace-out")
    sys.exit(verdict_exit(result.verdict))


def summary(result: CheckResult) -> str:
    """The verdict line (as ``check`` prints it), what it rests on, the walks'
    throughput and the transitions each action produced."""
    s = result.stats
    bound = f" ({result.bound})" if result.bound else ""
    lines = [f"{result.property}: {result.verdict.value}{bound} [{result.engine}: "
             f"{s.distinct_states:,} distinct states, {s.transitions:,} transitions, depth "
             f"{s.depth}, {s.seconds:.2f} s]",
             result.message,
             f"{_number(result, 'steps'):,.0f} steps taken, "
             f"{_number(result, 'states_generated'):,.0f} states generated "
             f"({_number(result, 'states_per_second'):,.0f} states/s)"]
    if result.coverage:
        width = max(len(a) for a, _ in result.coverage)
        lines.append("transitions per action:")
        lines += [f"  {a:<{width}} {n:>10,}" for a, n in result.coverage]
    return "\n".join(lines)


def _number(result: CheckResult, key: str) -> float:
    value = result.extra.get(key)
    return float(value) if isinstance(value, (int, float)) else 0.0


def simulation_json(result: CheckResult) -> dict[str, object]:
    """The simulation's own fields of the JSON entry: the message, the walks' settings
    and throughput, and the transitions each action produced."""
    keys = ("runs", "runs_asked", "walk_depth", "seed", "steps", "states_generated",
            "states_per_second")
    return {"message": result.message,
            "simulation": {k: result.extra[k] for k in keys if k in result.extra},
            "coverage": dict(result.coverage)}


__all__ = ["simulate_cmd", "simulation_json", "summary"]
