"""The ``check-model`` console script: the program's edges, before and after a command.

- A Ctrl-C while the program is still loading is "interrupted" (exit 130) like one
  during a command, never an import traceback: this module imports nothing heavy,
  and ``mhpcheck.cli.main`` (click, rich, numpy) loads inside the guard.
- A reader that stops reading (``check-model check ... | head -1``) does not change the
  outcome: the rest of stdout is dropped, files are still written, and the exit code
  is still the verdict's (not 1, which means "violated").
- A Ctrl-C that lands in a callback Python cannot raise from (Z3's error handler under
  Spacer, Ray's shutdown at exit) is not printed as an "ignored" traceback: the run
  still ends "interrupted" through the engines' own interrupt flag.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any, TextIO


class PipeSafe:
    """stdout that goes on, silently, once its reader has closed the pipe."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._closed = False

    def write(self, text: str) -> int:
        if not self._closed:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._drop()
        return len(text)

    def flush(self) -> None:
        if not self._closed:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._drop()

    def _drop(self) -> None:
        """From now on write nowhere; the descriptor too, so that the interpreter's own
        flush at exit does not report the broken pipe."""
        self._closed = True
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _quiet_interrupt(info: Any) -> None:
    """sys.unraisablehook: a KeyboardInterrupt nobody could raise is not news (the
    command reports the interrupt); anything else is printed as Python would."""
    if isinstance(info.exc_value, KeyboardInterrupt):
        return
    sys.__unraisablehook__(info)


def main() -> None:
    """Load the command line and run it."""
    sys.unraisablehook = _quiet_interrupt
    try:
        from mhpcheck.cli.main import main as command_line
    except KeyboardInterrupt:
        sys.stderr.write("check-model: error: interrupted (while loading)\n")
        sys.exit(130)
    sys.stdout = PipeSafe(sys.stdout)
    command_line()
