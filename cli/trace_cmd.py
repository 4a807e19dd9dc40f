"""``check-model trace``: show, export, diff and draw traces written with --trace-out."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import click

from mhpcheck.checker.replay import replay
from mhpcheck.checker.result import CheckResult, Verdict
from mhpcheck.model.errors import MhpError, ReplayMismatch, TraceError, UsageError
from mhpcheck.model.exprparse import with_named_property
from mhpcheck.model.parametric import system_of
from mhpcheck.model.system import TransitionSystem
from mhpcheck.model.trace import Trace
from mhpcheck.registry import build_system

from .options import env_columns, user_errors
from .output import check_output_file, write_atomic
from .viewer import Options, render_story, tell
from .viewer.html import render_html


def load_trace(path: str) -> tuple[Trace, TransitionSystem]:
    """The trace in ``path`` and the system it belongs to, rebuilt from the registry.

    The file is validated against the trace schema (``validate_itf``) and replayed
    on the model as it is now before any command uses it: a trace that does not
    replay is a TraceError naming the step. A counterexample to induction
    (``"reachable": false``, kind cti) starts from a state that need not be
    reachable, so it is replayed from its first state, not from an initial one;
    stderr says so, since the file, not the replay, vouches for that state.
    """
    folder = Path(path).parent  # a model file is named relative to the trace file
    trace, ts = Trace.load(path, lambda m, p, k: build_system(m, p, k, base=folder))
    trace = dataclasses.replace(trace, model=ts.source or trace.model)  # from any folder
    with contextlib.suppress(MhpError):  # else shown as "not a property of this model"
        ts = with_named_property(ts, trace.property)  # a user's own --invariant-expr
    try:
        replay(ts, trace)
    except ReplayMismatch as err:
        raise TraceError(f"{path}: does not replay on model {ts.name} as it is now: "
                         f"{err}") from None
    if not trace.reachable:
        click.echo(f"check-model: note: {path} is a counterexample to induction "
                   "(\"reachable\": false): replayed from its first state, which is not "
                   "an initial state and need not be reachable", err=True)
    return trace, ts


def terminal_options(colour: str, ascii_only: bool, full: bool, width: int | None,
                     show_map: bool = True, docs: bool = True) -> Options:
    """Options from the command line and the environment (NO_COLOR, COLUMNS)."""
    columns = env_columns()
    if width is None:
        if columns is not None:
            width = columns
        elif sys.stdout.isatty():
            width = shutil.get_terminal_size((100, 24)).columns
        else:
            width = 100
    if colour == "auto":
        use = sys.stdout.isatty() and not os.environ.get("NO_COLOR") and not ascii_only
    else:
        use = colour == "always" and not ascii_only
    return Options(width=max(width, 40), colour=use, ascii=ascii_only, full=full,
                   show_map=show_map, docs=docs)


@click.group("trace")
def trace_group() -> None:
    """Read a trace written by `check --trace-out` (ITF JSON)."""


@trace_group.command("show")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--full", is_flag=True, help="Show the whole state after every step.")
@click.option("--ascii", "ascii_only", is_flag=True, help="Plain ASCII text, no colour.")
@click.option("--color", "colour", type=click.Choice(["auto", "always", "never"]),
              default="auto", show_default=True, help="Colour (NO_COLOR turns auto off).")
@click.option("--width", type=click.IntRange(1, 10_000), default=None,
              help="Columns (default: COLUMNS or the tty).")
@click.option("--no-map", is_flag=True, help="Do not draw the model's map at each step.")
@click.option("--no-doc", is_flag=True, help="Do not print each action's description.")
@click.option("--format", "fmt", type=click.Choice(["text", "itf"]), default="text",
              show_default=True, help="text: the step table; itf: strict ITF JSON.")
def show_cmd(file: str, full: bool, ascii_only: bool, colour: str, width: int | None,
             no_map: bool, no_doc: bool, fmt: str) -> None:
    """Print FILE as a step table: each step's action, kernel function and changes."""
    with user_errors():
        trace, ts = load_trace(file)
        if fmt == "itf":
            from .viewer.itf import itf_dumps
            click.echo(itf_dumps(trace, ts), nl=False)
            return
        opts = terminal_options(colour, ascii_only, full, width, not no_map, not no_doc)
        click.echo(render_story(tell(ts, trace), opts), nl=False, color=opts.colour)


@trace_group.command("html")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="The page to write (one self-contained HTML file).")
def html_cmd(file: str, output: str) -> None:
    """Write FILE as one self-contained HTML page with a step-by-step timeline."""
    with user_errors():
        check_output_file(output, "--output", [file])
        trace, ts = load_trace(file)
        write_atomic(output, render_html(tell(ts, trace)), "--output")
    click.echo(f"wrote {output}", err=True)


@trace_group.command("diff")
@click.argument("first", type=click.Path(dir_okay=False))
@click.argument("second", type=click.Path(dir_okay=False))
def diff_cmd(first: str, second: str) -> None:
    """Show where traces FIRST and SECOND diverge (exit 0 same run, 1 different)."""
    from .viewer.diff import diverge
    with user_errors():
        ta, sa = load_trace(first)
        tb, sb = load_trace(second)
        result = diverge(ta, sa, tb, sb, (first, second))
    click.echo("\n".join(result.lines))
    sys.exit(0 if result.identical else 1)


@trace_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write here (default: stdout).")
@click.option("--families", type=click.Choice(["list", "map"]), default="list",
              show_default=True,
              help="A family as a JSON array (a Quint list) or a #map from index to value.")
@click.option("--mbt", is_flag=True,
              help="Add Quint's mbt::actionTaken and mbt::nondetPicks variables.")
def export_cmd(file: str, output: str | None, families: str, mbt: bool) -> None:
    """Write FILE as strict ITF (ADR-015) for Apalache and Quint tooling."""
    from .viewer.itf import itf_dumps
    with user_errors():
        check_output_file(output, "--output", [file])
        trace, ts = load_trace(file)
        text = itf_dumps(trace, ts, families, mbt)
        if not output:
            click.echo(text, nl=False)
            return
        write_atomic(output, text, "--output")
    click.echo(f"wrote {output}", err=True)


def write_html_pages(folder: str, results: list[tuple[str, CheckResult, TransitionSystem]],
                     taken: dict[Path, str] | None = None) -> list[Path]:
    """One page per violated check with a trace: ``FOLDER/<spec>-<property>.html``.

    A page is never overwritten by another of the same run: specs in different
    folders may share a file name (``specs/hotplug/*/legacy.toml``), and one spec may
    check a property with several engines. ``taken`` maps the pages the run wrote so
    far to their spec files (this call adds its own). A name another spec took becomes
    ``<folder>-<spec>-<property>`` with the spec's parent folder; a name the same spec
    took gets the engine, ``<spec>-<property>-<engine>``, and then ``-2``, ``-3``, ...
    A page left by an earlier run is replaced, as before.
    """
    out = Path(folder)
    written: list[Path] = []
    taken = {} if taken is None else taken
    for spec_path, result, ts in results:
        if result.trace is None or result.verdict is not Verdict.VIOLATED:
            continue
        if not written:
            try:
                out.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise UsageError(f"--html-dir {folder}: cannot make the folder "
                                 f"({err.strerror})") from None
        page = _page_name(out, spec_path, result, taken)
        write_atomic(page, render_html(tell(system_of(ts, result.trace), result.trace)),
                     "--html-dir")
        taken[page] = spec_path
        written.append(page)
    return written


def _page_name(out: Path, spec_path: str, result: CheckResult, taken: dict[Path, str]) -> Path:
    """The page for ``result`` of ``spec_path`` that no page of this run has
    (``write_html_pages``); file-name-safe characters only."""
    def safe(text: str) -> str:  # "x // 2" is a user's property
        return re.sub(r"[^\w.-]+", "_", text)

    def page(name: str) -> Path:
        return out / f"{name}.html"
    spec = Path(spec_path)
    base = f"{safe(spec.stem)}-{safe(result.property)}"
    if taken.get(page(base), spec_path) != spec_path:  # another spec's: add the folder
        base = f"{safe(spec.absolute().parent.name)}-{base}"
    candidates = [base, f"{base}-{safe(result.engine)}"]
    n = 2
    while all(page(c) in taken for c in candidates):
        candidates.append(f"{base}-{safe(result.engine)}-{n}")
        n += 1
    return next(page(c) for c in candidates if page(c) not in taken)


def register(main: Any) -> None:
    main.add_command(trace_group)


__all__ = ["load_trace", "register", "terminal_options", "trace_group"]
