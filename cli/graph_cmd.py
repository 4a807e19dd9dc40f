"""``check-model graph``: the reachable state graph as DOT or GraphML, a trace highlighted.

The explicit engine explores the model (keeping every edge); the graph is built
with networkx (a ``MultiDiGraph``: two actions may join the same states) and
written as GraphML by networkx or as DOT by ``to_dot``. A node's label is the
state's compact view, one short line: the model's map (the hotplug model's page
letters and each block's note), else each entity's values; ``--full-labels`` shows
each state grouped by entity, as the trace viewer does (always in the node's
``full`` attribute, a DOT tooltip). ``--trace`` marks the states and steps of a
trace, whose model, parameters and knobs the graph then uses; ``--around-trace N``
keeps only the trace's states and those within N steps of them.
"""

from __future__ import annotations

from typing import Any

import click
import networkx as nx  # type: ignore[import-untyped]

from mhpcheck.checker.checker import Checker
from mhpcheck.checker.result import Budget
from mhpcheck.model.errors import UsageError
from mhpcheck.model.system import State, TransitionSystem
from mhpcheck.model.trace import Trace
from mhpcheck.model.view import View
from mhpcheck.registry import view_for

from .options import NON_NEGATIVE, model_inputs, model_options, system_from_options, user_errors
from .output import check_output_file, write_atomic
from .trace_cmd import load_trace
from .viewer.story import complete_view, describe_setting, show_value

TRACE_COLOUR = "#c0392b"


def state_label(ts: TransitionSystem, view: View, state: State) -> str:
    """A state as lines ``entity: field value, ...`` (what DOT and GraphML nodes show)."""
    lines = []
    for entity in view.entities:
        parts = []
        for f in entity.fields:
            decl = ts.var_at(f.slot)
            value = show_value(decl.domain.decode(state[f.slot]))
            parts.append(f"{f.label} {value}" if f.label else value)
        lines.append(f"{entity.name}: {', '.join(parts)}")
    return "\n".join(lines)


def compact_label(ts: TransitionSystem, view: View, state: State) -> str:
    """A state as one short line: the map's rows (letters, ``|`` between groups, and the
    row's note), else each entity's values joined by ``/``."""
    if view.map is not None:
        rows = view.map.draw(ts.decode(state))
        parts = []
        for row in rows:
            letters = "".join(c.letter for c in row.cells)
            if row.groups:
                cut, at = [], 0
                for size in row.groups:
                    cut.append(letters[at:at + size])
                    at += size
                letters = "|".join(cut)
            head = f"{row.label} " if len(rows) > 1 else ""
            parts.append(f"{head}{letters} {row.note}".strip())
        return "; ".join(parts)
    parts = []
    for entity in view.entities:
        values = [show_value(ts.var_at(f.slot).domain.decode(state[f.slot]))
                  for f in entity.fields]
        parts.append(f"{entity.name} {'/'.join(values)}")
    return ", ".join(parts)


def _edge_label(ts: TransitionSystem, k: int) -> str:
    inst = ts.actions[k]
    return f"{inst.action}({', '.join(f'{a}={show_value(v)}' for a, v in inst.args)})"


def state_graph(ts: TransitionSystem, max_states: int = 2000,
                trace: Trace | None = None, full_labels: bool = False,
                around_trace: int | None = None) -> nx.MultiDiGraph:
    """The reachable graph of ``ts`` (the first ``max_states`` states, in BFS order);
    with ``around_trace`` only the trace's states and those within that many steps of
    them (either way along an edge)."""
    exp = Checker(ts).state_graph(Budget(max_states=max_states))
    assert exp.graph is not None
    view = complete_view(ts, view_for(ts))
    n = min(len(exp.states), max_states)
    g = nx.MultiDiGraph(name=ts.name, model=ts.name,
                        setting=describe_setting(ts.params, ts.knobs),
                        complete=exp.complete and n == len(exp.states), states=n)
    init = set(ts.init)
    for i in range(n):
        s = exp.states[i]
        expanded = i < exp.graph.expanded
        full = state_label(ts, view, s)
        label = full if full_labels else f"s{i}: {compact_label(ts, view, s)}"
        g.add_node(f"s{i}", label=label, full=full, init=s in init, trace=False,
                   deadlock=expanded and exp.graph.start[i] == exp.graph.start[i + 1],
                   expanded=expanded)
    for i in range(min(n, exp.graph.expanded)):
        for j, k in exp.graph.edges(i):
            if j < n:
                g.add_edge(f"s{i}", f"s{j}", key=k, label=_edge_label(ts, k),
                           cites=ts.actions[k].cites, trace=False)
    if trace is not None:
        _highlight(g, ts, view, exp.index, trace, full_labels)
        if around_trace is not None:
            g = _around(g, around_trace)
    return g


def _around(g: nx.MultiDiGraph, n: int) -> nx.MultiDiGraph:
    """The subgraph of the trace's nodes and the nodes within ``n`` steps of them."""
    undirected = g.to_undirected(as_view=True)
    keep: set[str] = set()
    for node, attrs in g.nodes(data=True):
        if attrs.get("trace"):
            keep.update(nx.single_source_shortest_path_length(undirected, node, cutoff=n))
    sub_g = g.subgraph(keep).copy()
    sub_g.graph["complete"] = g.graph["complete"] and len(keep) == g.number_of_nodes()
    sub_g.graph["states"] = len(keep)
    sub_g.graph["around_trace"] = n
    return sub_g


def _highlight(g: nx.MultiDiGraph, ts: TransitionSystem, view: View, index: dict[State, int],
               trace: Trace, full_labels: bool = False) -> None:
    ids: list[str] = []
    for step in trace.steps:
        i = index.get(step.state)
        node = f"s{i}" if i is not None else f"t{len(ids)}"
        if node not in g:
            full = state_label(ts, view, step.state)
            label = full if full_labels else f"{node}: {compact_label(ts, view, step.state)}"
            g.add_node(node, label=label, full=full, init=False, trace=True,
                       deadlock=False, expanded=False)
        g.nodes[node]["trace"] = True
        ids.append(node)
    hops: list[tuple[str, str, int]] = [
        (a, b, ts.action_instance(step.action or "", dict(step.args)))
        for a, b, step in zip(ids, ids[1:], trace.steps[1:], strict=False)]
    if trace.loop is not None and trace.loop_action is not None:
        name, args = trace.loop_action
        hops.append((ids[-1], ids[trace.loop], ts.action_instance(name, dict(args))))
    for a, b, k in hops:
        if not g.has_edge(a, b, key=k):
            g.add_edge(a, b, key=k, label=_edge_label(ts, k), cites=ts.actions[k].cites,
                       trace=False)
        g.edges[a, b, k]["trace"] = True


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\l") + '"'


def to_dot(g: nx.MultiDiGraph) -> str:
    """DOT text for a graph from ``state_graph`` (trace in red, initial states shaded)."""
    title = f"{g.graph.get('model', '')} ({g.graph.get('setting', '')})"
    lines = [f"digraph {_dot_quote(g.graph.get('name', 'states'))} {{",
             f"  label={_dot_quote(title)};",
             '  node [shape=box, fontname="monospace", fontsize=9];',
             '  edge [fontname="monospace", fontsize=8];']
    for node, attrs in g.nodes(data=True):
        extra = []
        if attrs.get("init"):
            extra.append('style=filled, fillcolor="#dde8fa"')
        if attrs.get("deadlock"):
            extra.append("peripheries=2")
        if attrs.get("trace"):
            extra.append(f'color="{TRACE_COLOUR}", penwidth=2.5')
        text = str(attrs.get("label", node))
        label = _dot_quote(text + "\n") if "\n" in text else _dot_quote(text)
        if attrs.get("full") and attrs["full"] != text:
            extra.append(f"tooltip={_dot_quote(str(attrs['full']))}")
        lines.append(f"  {node} [label={label}{''.join(', ' + e for e in extra)}];")
    for a, b, attrs in g.edges(data=True):
        style = f', color="{TRACE_COLOUR}", fontcolor="{TRACE_COLOUR}", penwidth=2.5' if \
            attrs.get("trace") else ""
        lines.append(f"  {a} -> {b} [label={_dot_quote(str(attrs.get('label', '')))}{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_graph(g: nx.MultiDiGraph, fmt: str, path: str) -> None:
    """Write ``g`` to ``path`` as DOT or GraphML, whole or not at all."""
    if fmt == "dot":
        write_atomic(path, to_dot(g), "--output")
    else:
        write_atomic(path, lambda fh: nx.write_graphml(g, fh), "--output")


@click.command("graph")
@click.argument("model", required=False)
@model_options
@click.option("--format", "fmt", type=click.Choice(["dot", "graphml"]), default="dot",
              show_default=True, help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="File to write.")
@click.option("--max-states", type=NON_NEGATIVE, default=2000, show_default=True,
              help="Keep the first N states (BFS order).")
@click.option("--trace", "trace_file", type=click.Path(dir_okay=False), default=None,
              help="Highlight this trace; its model, parameters and knobs are the graph's "
                   "(MODEL and the options may be left out).")
@click.option("--around-trace", type=NON_NEGATIVE, default=None, metavar="N",
              help="With --trace: only the trace's states and those within N steps.")
@click.option("--full-labels", is_flag=True,
              help="Label each state with every value, grouped by entity (default: the "
                   "model's compact view, one line per state).")
def graph_cmd(model: str | None, params: tuple[str, ...], knobs: tuple[str, ...],
              preset: str | None, fmt: str, output: str, max_states: int,
              trace_file: str | None, around_trace: int | None, full_labels: bool) -> None:
    """Write the reachable state graph of MODEL (DOT or GraphML), a trace highlighted.

    MODEL is a registered model's name or a model file, FILE.py:CLASS; with --trace it
    may be left out.
    """
    with user_errors():
        check_output_file(output, "--output",
                          [*([trace_file] if trace_file else []), *model_inputs(model)])
        if around_trace is not None and trace_file is None:
            raise UsageError("--around-trace needs --trace")
        trace = None
        if trace_file is None:
            if model is None:
                raise UsageError("give MODEL, or --trace FILE (the trace names its model)")
            ts = system_from_options(model, params, knobs, preset)
        else:
            trace, tts = load_trace(trace_file)
            if model is None or (model in (trace.model, tts.name) and not params
                                 and not knobs and preset is None):
                ts = tts
            else:
                ts = system_from_options(model, params, knobs, preset)
                if (tts.name, tts.params, tts.knobs) != (ts.name, ts.params, ts.knobs):
                    theirs = describe_setting(tts.params, tts.knobs)
                    ours = describe_setting(ts.params, ts.knobs)
                    raise UsageError(
                        f"--trace {trace_file} is a trace of {tts.name} ({theirs}), not of "
                        f"{ts.name} ({ours}): pass the same --param, --set and --preset, "
                        "or leave MODEL and them out")
        g = state_graph(ts, max_states, trace, full_labels, around_trace)
        write_graph(g, fmt, output)
    note = "" if g.graph["complete"] else f" (truncated at {max_states} states)"
    if around_trace is not None:
        note = f" (the trace and its neighbours within {around_trace} steps)"
    traced = sum(1 for _, d in g.nodes(data=True) if d.get("trace"))
    extra = f", {traced} on the trace" if trace is not None else ""
    click.echo(f"wrote {output}: {g.number_of_nodes()} states, {g.number_of_edges()} "
               f"transitions{extra}{note}", err=True)


def register(main: Any) -> None:
    main.add_command(graph_cmd)
