"""The counterexample trace viewer: a story of the trace, drawn for a terminal or a browser."""

from __future__ import annotations

from .story import Story, tell
from .terminal import Options, render_story

__all__ = ["Options", "Story", "render_story", "tell"]
