"""The ``check-model`` command line.

Results go to stdout; progress and messages to stderr. Exit codes: 0 all as expected
(or the property holds), 1 a mismatch (or a violation), 2 a usage, spec, model or
trace error, 3 inconclusive (a bound, a timeout, an engine's "unknown", or a resource
limit), 4 an internal error, 130 interrupted (see ``model.errors``).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape

from mhpcheck import __version__
from mhpcheck.checker.checker import ENGINES, Checker
from mhpcheck.checker.checker import exit_code as verdict_exit
from mhpcheck.checker.result import Budget, CheckResult, ProgressFn, Verdict, no_progress
from mhpcheck.model.base import shown_value
from mhpcheck.model.compile import check_fits
from mhpcheck.model.errors import UsageError
from mhpcheck.model.exprparse import with_expr_property
from mhpcheck.model.parametric import system_of
from mhpcheck.model.system import Property, TransitionSystem
from mhpcheck.registry import model_class, names

from .ci import failure_message, junit_tree, summary_json, write_junit
from .options import (
    NON_NEGATIVE,
    SECONDS,
    Explored,
    Main,
    env_columns,
    fail,
    model_inputs,
    model_options,
    resident_memory,
    system_from_options,
    user_errors,
)
from .output import check_output_file, check_output_folder, write_atomic
from .progress import interval_from_env, periodic_printer, terminal_printer
from .render import render_trace
from .report import (
    outcome_json,
    report_json,
    result_json,
    results_table,
    variant_table,
    verdict_matrix,
)
from .runner import Outcome, exit_code, run_checks
from .spec import collect, load_spec, resolve

F = TypeVar("F", bound=Callable[..., Any])


def stdout_console() -> Console:
    """The results console: the terminal's width, or COLUMNS (default 160) when piped."""
    if sys.stdout.isatty():
        return Console(width=env_columns())
    return Console(width=env_columns() or 160)


def progress_printer(enabled: bool) -> ProgressFn:
    """The progress callback for a search: on a terminal a line on stderr redrawn in place,
    elsewhere (a pipe, CI) a line on stderr every MHP_PROGRESS_SECONDS (default 5)
    seconds; nothing when not ``enabled`` (--quiet, --json). Wrapped by
    ``Explored.record`` in every case, for the memory watch and the Ctrl-C summary."""
    if not enabled:
        return Explored.record(no_progress)
    if sys.stderr.isatty():
        return Explored.record(terminal_printer(Console(stderr=True)))
    return Explored.record(periodic_printer(lambda line: click.echo(line, err=True),
                                            interval_from_env(), resident_memory))


@click.group(cls=Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="check-model")
def main() -> None:
    """Model checker for Linux memory hot(un)plug lifecycles (and other state protocols)."""


@main.command("models")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def models_cmd(as_json: bool) -> None:
    """List the models with their parameters, knobs, presets and properties."""
    listing: list[dict[str, Any]] = []
    with user_errors():
        for name in names():
            cls = model_class(name)
            ts = cls().build()
            listing.append({
                "name": name,
                "summary": cls.summary,
                "params": [{"name": p.name, "default": p.default, "range": [p.lo, p.hi],
                            "doc": p.doc} for p in cls.params],
                "knobs": [{"name": k.name, "default": k.default, "choices": list(k.choices),
                           "doc": k.doc} for k in cls.knobs],
                "presets": sorted(cls.presets),
                "preset_knobs": {n: dict(v) for n, v in sorted(cls.presets.items())},
                "preset_sources": dict(sorted(cls.preset_sources.items())),
                "properties": [{"name": p.name, "aliases": list(p.aliases), "kind": p.kind,
                                "doc": p.doc, "about": [list(g) for g in p.about]}
                               for p in ts.properties],
                "actions": [a.name for a in ts.action_infos],
            })
    if as_json:
        click.echo(json.dumps(listing, indent=1, sort_keys=True))
        return
    for m in listing:
        click.echo(f"{m['name']}: {m['summary']}")
        for p in m["params"]:
            click.echo(f"  param {p['name']} (default {p['default']}): {p['doc']}")
        for k in m["knobs"]:
            choices = "|".join(shown_value(c) for c in k["choices"]) or "free"
            click.echo(f"  knob  {k['name']} = {shown_value(k['default'])} [{choices}]: "
                       f"{k['doc']}")
        for name, values in m["preset_knobs"].items():
            sets = ", ".join(f"{k}={shown_value(v)}" for k, v in values.items())
            click.echo(f"  preset {name}: {sets}")
            if name in m["preset_sources"]:
                click.echo(f"         from: {m['preset_sources'][name]}")
        for p in m["properties"]:
            alias = f" ({', '.join(p['aliases'])})" if p["aliases"] else ""
            # The doc's first sentence: what the property asserts, in one line.
            first = re.split(r"(?<=[.!?])\s+(?=[A-Z])", " ".join(p["doc"].split()), maxsplit=1)[0]
            click.echo(f"  {p['kind']:<14} {p['name']}{alias}" + (f": {first}" if first else ""))
        click.echo("  deadlock       deadlock-free (built in): every reachable state has a "
                   "next step")


def _run_options(fn: F) -> F:
    fn = click.option("--json", "as_json", is_flag=True,
                      help="Print the JSON report (schema 1) instead of the table.")(fn)
    fn = click.option("--matrix", is_flag=True,
                      help="Also print the verdict matrix (properties x specs).")(fn)
    fn = click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")(fn)
    fn = click.option("--coverage", is_flag=True,
                      help="List, per spec, the actions that never fired while properties "
                           "held (a 'holds' over actions that never fire proves little).")(fn)
    fn = click.option("--tier", default="default", show_default=True,
                      help="Run specs of this tier ('all' for every tier).")(fn)
    return fn


@main.command("run")
@click.argument("paths", nargs=-1, required=True)
@_run_options
@click.option("--html-dir", type=click.Path(file_okay=False), default=None,
              help="Write one HTML trace page per violated check into this folder.")
@click.option("--junit", "junit", type=click.Path(dir_okay=False), default=None,
              metavar="FILE",
              help="Also write a JUnit XML report here: one testcase per check, a failure "
                   "with expected and actual, the trace and the command that reproduces it.")
def run_cmd(paths: tuple[str, ...], as_json: bool, matrix: bool, quiet: bool, coverage: bool,
            tier: str,
            html_dir: str | None = None, junit: str | None = None) -> None:
    """Run spec files (or folders of them) and judge each check against its expectation."""
    console = stdout_console()
    err_console = Console(stderr=True)
    with user_errors():
        files = collect(list(paths))
        if not files:
            fail(f"no spec files under {', '.join(paths)}")
        check_output_folder(html_dir, "--html-dir")
        loaded = [(load_spec(f)) for f in files]
        check_output_file(junit, "--junit", [
            *(str(f) for f in files),
            *(m for s in loaded for m in model_inputs(s.model, Path(s.path).parent))])
        tiers = sorted({s.tier for s in loaded})
        if tier != "all" and tier not in tiers:
            raise UsageError(f"--tier {tier}: no spec of that tier under "
                             f"{', '.join(paths)} (tiers: {', '.join([*tiers, 'all'])})")
        specs = [s for s in loaded if tier in ("all", s.tier)]
        systems = [resolve(s) for s in specs]
        if not any(s.checks for s in specs):
            raise UsageError(f"nothing to check under {', '.join(paths)}")
    outcomes: list[Outcome] = []
    entries: list[dict[str, Any]] = []
    cases: list[tuple[Outcome, str | None]] = []  # for --junit: each with its failure message
    pages: dict[Path, str] = {}  # --html-dir pages of this run, never overwritten: spec
    progress = progress_printer(not quiet and not as_json)
    t0 = time.perf_counter()
    for spec, ts in zip(specs, systems, strict=True):
        if not quiet:
            n = len(spec.checks)
            err_console.print(f"[bold]{spec.path}[/] ({n} check{'s' if n != 1 else ''})",
                              highlight=False)
        with user_errors():
            got = run_checks(spec, ts, progress)
        outcomes.extend(got)
        entries.extend(outcome_json(o, ts) for o in got)
        if junit:
            cases.extend((o, None if o.ok else failure_message(o, ts)) for o in got)
        if html_dir:
            from .trace_cmd import write_html_pages
            with user_errors():
                write_html_pages(html_dir, [(o.spec.path, o.result, ts) for o in got], pages)
    seconds = time.perf_counter() - t0
    skipped = len(loaded) - len(specs)
    if junit:
        tree = junit_tree(cases, [s for s in loaded if s not in specs], seconds, tier)
        with user_errors():
            write_atomic(junit, write_junit(tree), "--junit")
    if as_json:
        summary = summary_json(outcomes, seconds, len(specs), skipped)
        click.echo(json.dumps(report_json(entries, summary), indent=1, sort_keys=True))
    else:
        console.print(results_table(outcomes))
        if matrix:
            reference: dict[str, Property] = {}
            for ts in systems:
                for prop in ts.properties:
                    reference.setdefault(prop.name, prop)
            console.print(verdict_matrix(outcomes, list(reference.values())))
            variants = variant_table(outcomes)
            if variants is not None:
                console.print(variants)
        idle = never_fired_by_spec(outcomes)
        if coverage:
            for spec_path, actions in idle.items():
                err_console.print(
                    f"[yellow]coverage[/]: {spec_path}: properties hold although these "
                    f"actions never fired: {', '.join(actions)}", highlight=False)
        elif idle:
            err_console.print(
                f"[yellow]note[/]: in {len(idle)} spec files some actions never fired while "
                "properties held; --coverage lists them", highlight=False)
        for o in outcomes:
            if o.status != "ok":
                console.print(f"[red]{o.spec.path}[/] {o.check.key} {escape(o.check.property)}: "
                              f"{'; '.join(o.problems)}", highlight=False)
        bad = sum(1 for o in outcomes if o.status != "ok")
        note = f", {skipped} spec files of other tiers skipped" if skipped else ""
        console.print(f"{len(outcomes) - bad} of {len(outcomes)} checks as expected "
                      f"({seconds:.1f} s{note})", highlight=False)
    sys.exit(exit_code(outcomes))


def never_fired_by_spec(outcomes: list[Outcome]) -> dict[str, list[str]]:
    """Per spec with a passing "holds", the actions that never fired in any of its checks.

    A property that holds while the interesting actions never fire proves little.
    """
    fired: dict[str, set[str]] = {}
    never: dict[str, list[str]] = {}
    for o in outcomes:
        if not o.result.coverage:
            continue
        path = o.spec.path
        fired.setdefault(path, set()).update(a for a, n in o.result.coverage if n)
        if o.ok and o.result.verdict is Verdict.HOLDS:
            never.setdefault(path, [])
            never[path] += [a for a in o.result.never_fired if a not in never[path]]
    return {path: [a for a in acts if a not in fired[path]]
            for path, acts in never.items() if any(a not in fired[path] for a in acts)}


@main.command("check")
@click.argument("model")
@model_options
@click.option("--property", "-p", "props", multiple=True,
              help="Property name or alias (repeatable: every one is checked, in one run).")
@click.option("--invariant-expr", default=None, metavar="EXPR",
              help="Instead of --property: your own invariant, such as "
                   "'forall i in phil: pc[i] == eating implies fork[i]' (docs/guide.md).")
@click.option("--reachable-expr", default=None, metavar="EXPR",
              help="Instead of --property: a state to reach, such as 'count == 3'.")
@click.option("--engine", "-e", default="bfs", show_default=True,
              type=click.Choice(list(ENGINES)),
              help="Engine (pdr-spacer: PDR with Z3's Spacer instead of IC3).")
@click.option("--max-depth", type=NON_NEGATIVE, default=None, help="Depth bound.")
@click.option("--max-states", type=NON_NEGATIVE, default=None, help="Distinct-state bound.")
@click.option("--timeout", type=SECONDS, default=None,
              help="Seconds before giving up (building the model included).")
@click.option("--symmetry", is_flag=True,
              help="Store one state per orbit of the model's declared symmetry (bfs, safety).")
@click.option("--invariant", "invariants", multiple=True,
              help="For --engine inductive: named invariants that strengthen the property.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="For --engine bfs-dist: how many Ray workers (default one per CPU).")
@click.option("--address", default=None, metavar="ADDR",
              help="For --engine bfs-dist: join the Ray cluster at ADDR (host:port) "
                   "instead of starting one on this machine.")
@click.option("--trace-out", type=click.Path(dir_okay=False), default=None,
              help="Write the trace (ITF JSON) here; with several properties one file "
                   "each, the property's name before the suffix (t.json: t-NAME.json).")
@click.option("--certificate-out", type=click.Path(dir_okay=False), default=None,
              help="Write the proof's certificate (an inductive invariant) here (several "
                   "properties: one file each, named as for --trace-out).")
@click.option("--show-certificate", is_flag=True,
              help="Print the proof's certificate (by default only its size is printed).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the result as JSON (several properties: a list of results).")
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
def check_cmd(model: str, params: tuple[str, ...], knobs: tuple[str, ...], preset: str | None,
              props: tuple[str, ...], invariant_expr: str | None, reachable_expr: str | None,
              engine: str, max_depth: int | None, max_states: int | None,
              timeout: float | None, symmetry: bool, invariants: tuple[str, ...],
              workers: int | None, address: str | None, trace_out: str | None,
              certificate_out: str | None, show_certificate: bool, as_json: bool,
              quiet: bool) -> None:
    """Check properties of MODEL (exit 0 all hold, 1 one violated, 3 inconclusive or vacuous).

    MODEL is a registered model's name (`check-model models`) or a model file of your
    own, FILE.py:CLASS (FILE.py alone when it defines one Model). Several --property
    options are checked in one run of the engine (one exploration for bfs), one result
    each; the exit code is the worst (violated over inconclusive over holds).
    """
    with user_errors():
        check_output_file(trace_out, "--trace-out", model_inputs(model))
        check_output_file(certificate_out, "--certificate-out", model_inputs(model))
        if trace_out is not None and certificate_out is not None and \
                Path(trace_out).resolve() == Path(certificate_out).resolve():
            raise UsageError("--trace-out and --certificate-out name the same file")
        t0 = time.perf_counter()
        ts = system_from_options(model, params, knobs, preset)
        ts, chosen = chosen_properties(ts, props, invariant_expr, reachable_expr)
        progress = progress_printer(not quiet and not as_json)
        checker = Checker(ts)
        timeout = search_time_left(checker, timeout, t0)
        results = checker.check_many(chosen, engine, Budget(max_depth, max_states, timeout),
                                     progress, symmetry=symmetry, invariants=invariants,
                                     workers=workers, address=address)
    several = len(results) > 1
    if as_json:
        entries = []
        for result in results:
            entry = {"model": model, "params": dict(ts.params), "knobs": dict(ts.knobs)}
            entry.update(result_json(result, ts))
            entries.append(entry)
        click.echo(json.dumps(entries if several else entries[0], indent=1, sort_keys=True))
    else:
        for n, (prop_obj, result) in enumerate(zip(chosen, results, strict=True)):
            if n:
                click.echo("")
            bound = f" ({result.bound})" if result.bound else ""
            click.echo(f"{prop_obj.name}: {result.verdict.value}{bound} [{result.engine}: "
                       f"{stats_text(result)}]")
            if result.message:
                click.echo(result.message)
            if result.certificate and show_certificate:
                click.echo(f"certificate: {result.certificate}")
            elif result.certificate and not certificate_out:
                size = len([line for line in result.certificate.splitlines()
                            if line.strip() and not line.startswith("#")])
                click.echo(f"certificate: {size} lines (--show-certificate prints it, "
                           "--certificate-out FILE writes it)")
            if result.trace is not None:
                click.echo(render_trace(system_of(ts, result.trace), result.trace))
            if result.never_fired and result.verdict in (Verdict.HOLDS, Verdict.BOUNDED,
                                                         Verdict.UNREACHABLE):
                # after a "holds" they may mean a weak check; after a trace they are noise
                click.echo(f"warning: {prop_obj.name}: actions that never fired: "
                           f"{', '.join(result.never_fired)}", err=True)
    with user_errors():  # after the verdicts are printed: a full disk loses only the file
        for result in results:
            name = result.property
            if trace_out and result.trace is not None:
                target = per_property(trace_out, name, several)
                write_atomic(target, result.trace.dumps(system_of(ts, result.trace),
                                                        os.path.dirname(target)), "--trace-out")
                if several:
                    click.echo(f"check-model: {name}: trace written to {target}", err=True)
            elif trace_out:
                target = per_property(trace_out, name, several)
                click.echo(f"check-model: note: --trace-out {target}: nothing written, "
                           f"{no_trace_reason(result.verdict)}", err=True)
            if certificate_out and result.certificate is not None:
                target = per_property(certificate_out, name, several)
                write_atomic(target, result.certificate, "--certificate-out")
                click.echo(f"check-model: {name}: certificate written to {target}", err=True)
    sys.exit(worst_exit([verdict_exit(r.verdict) for r in results]))


def worst_exit(codes: list[int]) -> int:
    """The exit code of several checks: violated (1) over inconclusive (3) over ok (0)."""
    for code in (1, 3):
        if code in codes:
            return code
    return 0


def per_property(path: str, name: str, several: bool) -> str:
    """The file for property ``name`` of ``path`` (--trace-out, --certificate-out): the
    path itself for one property, else the name inserted before the suffix."""
    if not several:
        return path
    p = Path(path)
    safe = re.sub(r"[^\w.-]+", "_", name)
    return str(p.with_name(f"{p.stem}-{safe}{p.suffix}"))


#: Engines that search symbolically: they count no states, so their text says what they
#: report instead (a depth, k, frames and lemmas, conjuncts).
SYMBOLIC = ("bmc", "kind", "pdr", "pdr-spacer", "inductive", "forall")


def stats_text(result: CheckResult) -> str:
    """What the engine explored, in its own terms, and the time."""
    s = result.stats
    if result.engine not in SYMBOLIC:
        return (f"{s.distinct_states:,} states, {s.transitions:,} transitions, depth "
                f"{s.depth}, {s.seconds:.2f} s")
    extra = result.extra
    if result.engine == "kind":
        what = f"k {extra.get('k', s.depth)}"
    elif result.engine.startswith("pdr"):
        what = f"{s.depth} frame{'s' if s.depth != 1 else ''}"
        if isinstance(extra.get("lemmas"), int):
            what += f", {extra['lemmas']} lemmas"
    elif result.engine == "inductive":
        conjuncts = extra.get("conjuncts")
        what = (f"{len(conjuncts)} conjuncts" if isinstance(conjuncts, (list, tuple))
                else f"depth {s.depth}")
    elif result.engine == "forall":
        lemmas = extra.get("lemmas")
        if not isinstance(lemmas, (list, tuple)):
            return f"{s.seconds:.2f} s"
        what = f"{len(lemmas)} quantified lemma{'s' if len(lemmas) != 1 else ''}"
    else:
        what = f"depth {s.depth}"
    return f"{what}, {s.seconds:.2f} s"


def no_trace_reason(verdict: Verdict) -> str:
    """Why a check has no trace to write, for the --trace-out note."""
    if verdict in (Verdict.HOLDS, Verdict.PROVED):
        return "no trace: the property holds"
    if verdict is Verdict.VACUOUS:
        return "no trace: the property holds only vacuously"
    if verdict is Verdict.UNREACHABLE:
        return "no trace: the state is unreachable"
    return f"no trace: the check is inconclusive ({verdict.value})"


def chosen_property(ts: TransitionSystem, prop: str | None, invariant_expr: str | None,
                    reachable_expr: str | None) -> tuple[TransitionSystem, Property]:
    """The property of --property, or the user's own of --invariant-expr or
    --reachable-expr (added to a new system, which the trace is then written with)."""
    given = [x for x in (prop, invariant_expr, reachable_expr) if x is not None]
    if len(given) != 1:
        raise UsageError("give exactly one of --property, --invariant-expr and --reachable-expr")
    if invariant_expr is not None:
        return with_expr_property(ts, "invariant", invariant_expr, "--invariant-expr")
    if reachable_expr is not None:
        return with_expr_property(ts, "reachable", reachable_expr, "--reachable-expr")
    assert prop is not None
    return ts, ts.property(prop)


def chosen_properties(ts: TransitionSystem, props: tuple[str, ...],
                      invariant_expr: str | None,
                      reachable_expr: str | None) -> tuple[TransitionSystem, list[Property]]:
    """The properties of --property (each once, in the order given), or the user's own
    of --invariant-expr or --reachable-expr (see ``chosen_property``)."""
    if len(props) > 1:
        if invariant_expr is not None or reachable_expr is not None:
            raise UsageError("give exactly one of --property, --invariant-expr and "
                             "--reachable-expr")
        chosen: dict[str, Property] = {}
        for name in props:
            prop = ts.property(name)
            chosen.setdefault(prop.name, prop)
        return ts, list(chosen.values())
    ts, prop = chosen_property(ts, props[0] if props else None, invariant_expr,
                               reachable_expr)
    return ts, [prop]


def search_time_left(checker: Checker, timeout: float | None, t0: float) -> float | None:
    """What is left of ``timeout`` (seconds since ``t0``) for the search, once the model
    is built and its explicit semantics compiled: the timeout covers both.

    Compiling is refused up front (a ResourceLimit, exit 3) when its estimate alone
    exceeds what is left (``check_fits``); a search left with no time gives the
    engine's own "out of time" verdict (exit 3 too).
    """
    if timeout is None:
        return None
    check_fits(checker.ts, timeout - (time.perf_counter() - t0))
    _ = checker.compiled
    return max(timeout - (time.perf_counter() - t0), 0.0)


from .graph_cmd import graph_cmd  # noqa: E402  (the viewer's commands)
from .trace_cmd import trace_group  # noqa: E402

main.add_command(trace_group)
main.add_command(graph_cmd)

from .export_cmd import export_cmd  # noqa: E402  (the Promela exporter)

main.add_command(export_cmd)

from .simulate_cmd import simulate_cmd  # noqa: E402  (random simulation)

main.add_command(simulate_cmd)

if __name__ == "__main__":  # pragma: no cover
    main()
