"""The HTML rendering of a story: one self-contained page (no network, works from file://).

The page is ``cli/html/viewer.html`` with its stylesheet and script inlined and the
story embedded as JSON; the script only lays the story out (a timeline, step
navigation with buttons and arrow keys, the map, the diff of the current step, the
kernel citation and the failing property).
"""

from __future__ import annotations

import html
import json
from importlib import resources
from typing import Any

from mhpcheck import __version__

from .story import Story, describe_setting, reproduce_command

WHAT = {"counterexample": "counterexample to", "lasso": "counterexample (a lasso) to",
        "witness": "witness of", "cti": "counterexample to induction of"}


def story_json(story: Story) -> dict[str, Any]:
    """The story as the page's script reads it."""
    return {
        "title": story.title,
        "command": reproduce_command(story),
        "version": __version__,
        "model": story.model,
        "setting": describe_setting(story.params, story.knobs),
        "property": story.prop,
        "propertyKind": story.property_kind,
        "propertyDoc": story.property_doc,
        "kind": story.kind,
        "what": WHAT.get(story.kind, f"{story.kind} of"),
        "length": story.length,
        "loop": story.loop,
        "loopClosing": story.loop_closing,
        "mapTitle": story.map_title,
        "legend": [{"letter": letter, "name": name, "colour": colour, "doc": doc}
                   for letter, name, colour, doc in story.legend],
        "ending": {"headline": story.ending.headline, "formula": list(story.ending.formula),
                   "values": [list(v) for v in story.ending.values],
                   "notes": list(story.ending.notes)},
        "steps": [{
            "n": s.number, "label": s.label, "action": s.action, "cites": s.cites,
            "doc": s.doc, "loopStart": s.loop_start, "inLoop": s.in_loop,
            "changed": sorted(s.changed),
            "diff": [{"entity": d.entity, "changes": [[c.label, c.old, c.new]
                                                       for c in d.changes]} for d in s.diff],
            "state": [{"entity": e.entity, "values": [list(v) for v in e.values]}
                      for e in s.state],
            "rows": [{"label": r.label, "note": r.note, "noteChanged": r.note_changed,
                      "groups": list(r.groups),
                      "cells": [{"l": c.letter, "e": c.entity, "n": c.note, "c": c.changed}
                                for c in r.cells]}
                     for r in s.rows],
        } for s in story.steps],
    }


def _asset(name: str) -> str:
    return (resources.files("mhpcheck.cli.html") / name).read_text(encoding="utf-8")


def _script_safe(text: str) -> str:
    """JSON that cannot close the <script> element it sits in."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_html(story: Story) -> str:
    """The page for ``story``."""
    page = _asset("viewer.html")
    data = _script_safe(json.dumps(story_json(story), sort_keys=True, separators=(",", ":")))
    title = f"{story.prop}: {WHAT.get(story.kind, story.kind)} in {story.title}"
    # Replace the data last: it is the only part that may contain the other markers.
    for marker, value in (("__TITLE__", html.escape(title)), ("__STYLE__", _asset("viewer.css")),
                          ("__SCRIPT__", _asset("viewer.js"))):
        page = page.replace(marker, value)
    return page.replace("__DATA__", data)
