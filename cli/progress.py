"""Progress on stderr: a redrawn line on a terminal, periodic lines in a pipe.

On a terminal one line is redrawn in place (``\\r``). In a pipe (CI logs, ``2>
file``) a redrawn line would print nothing useful, and a line per report would
flood the log, so a new line is printed only every ``MHP_PROGRESS_SECONDS``
seconds (default 5) of wall-clock time: states, depth, the queue of unexpanded
states where the engine knows it, transitions, states per second, the process's
resident memory and the seconds of the current search. A search that printed a
periodic line also prints its final line ("done"), so a log shows where each long
search ended; short searches print nothing. Both go to stderr only: stdout, which
carries results, is the same with and without progress.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from rich.console import Console

from mhpcheck.checker.result import Progress, ProgressFn
from mhpcheck.model.resources import gigabytes

#: The environment variable that sets the seconds between lines in a pipe.
INTERVAL_ENV = "MHP_PROGRESS_SECONDS"
DEFAULT_INTERVAL = 5.0


def interval_from_env() -> float:
    """The seconds between periodic lines: MHP_PROGRESS_SECONDS when it is a finite,
    positive number, else 5 (a bad value is ignored, as COLUMNS is)."""
    raw = os.environ.get(INTERVAL_ENV, "").strip()
    try:
        seconds = float(raw)
    except ValueError:
        return DEFAULT_INTERVAL
    return seconds if 0 < seconds < float("inf") else DEFAULT_INTERVAL


def progress_text(p: Progress, resident: int | None = None) -> str:
    """One progress report as text: what was explored, how fast, with how much memory.

    The symbolic engines report no states but a note ("kind: not 5-inductive"),
    which then stands in for the counts."""
    if p.states or p.transitions or not p.note:
        rate = p.states / p.seconds if p.seconds > 0 else 0.0
        parts = [f"{p.states:,} states", f"depth {p.depth}"]
        if p.queue is not None:
            parts.append(f"queue {p.queue:,}")
        parts += [f"{p.transitions:,} transitions", f"{rate:,.0f} states/s"]
    else:
        parts = [p.note, f"depth {p.depth}"]
    if resident:
        parts.append(f"{gigabytes(resident)} RSS")
    if p.workers:
        parts.append(f"workers {' / '.join(gigabytes(w) for w in p.workers)} peak RSS")
    parts.append(f"{p.seconds:.1f} s")
    return ", ".join(parts)


def terminal_printer(console: Console) -> ProgressFn:
    """Redraw one line in place; the final report ("done") ends it with a newline."""

    def show(p: Progress) -> None:
        rate = p.states / p.seconds if p.seconds > 0 else 0.0
        end = "\n" if p.note == "done" else "\r"
        workers = f", workers {' / '.join(gigabytes(w) for w in p.workers)}" if p.workers \
            else ""
        console.print(f"  {p.states:,} states, depth {p.depth}, {p.transitions:,} transitions, "
                      f"{rate:,.0f} states/s{workers}", end=end, highlight=False)
    return show


def periodic_printer(write: Callable[[str], None], interval: float,
                     resident: Callable[[], int] = lambda: 0,
                     clock: Callable[[], float] = time.monotonic) -> ProgressFn:
    """Call ``write`` with a line at most every ``interval`` seconds of ``clock``.

    The interval runs across searches (a spec run of many short checks still gets a
    line every ``interval`` seconds, naming the search under way then); a search's
    final report is written only when a periodic line was written since the last
    final report, so short searches leave nothing in the log."""
    last = clock()
    shown = False  # a periodic line was written for the search under way

    def show(p: Progress) -> None:
        nonlocal last, shown
        now = clock()
        if p.note == "done":
            if shown:
                write(f"  progress: done: {progress_text(p, resident())}")
                last = now
            shown = False
            return
        if now - last >= interval:
            write(f"  progress: {progress_text(p, resident())}")
            last = now
            shown = True
    return show


__all__ = ["INTERVAL_ENV", "interval_from_env", "periodic_printer", "progress_text",
           "terminal_printer"]
