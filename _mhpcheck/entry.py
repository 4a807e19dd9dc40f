"""The ``check-model`` console script: a Ctrl-C while the program is still loading is
"interrupted" (exit 130) like one during a command, never an import traceback.

This module imports nothing heavy itself; ``mhpcheck.cli.main`` (click, rich, numpy)
loads inside the guard.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Load the command line and run it."""
    try:
        from mhpcheck.cli.main import main as command_line
    except KeyboardInterrupt:
        sys.stderr.write("check-model: error: interrupted (while loading)\n")
        sys.exit(130)
    command_line()
