"""Trace rendering for `check`: the trace viewer's step table (see cli/viewer/).

Kept as the entry point `check` calls; the work is done by ``viewer.tell`` (what
happened, per entity, with the model's view) and ``viewer.render_story`` (the layout).
"""

from __future__ import annotations

from mhpcheck.model.system import TransitionSystem
from mhpcheck.model.trace import Trace

from .viewer import Options, render_story, tell


def render_trace(ts: TransitionSystem, trace: Trace, opts: Options | None = None) -> str:
    """The step table of ``trace``: per step the action, its citation and the changes."""
    if opts is None:
        from .trace_cmd import terminal_options
        opts = terminal_options("auto", False, False, None)
    return render_story(tell(ts, trace), opts).rstrip("\n")
