"""A trace made readable, once, for every renderer (terminal, HTML, diff).

``tell(ts, trace)`` walks the trace with the model's view and produces a
``Story``: per step the action, its arguments, the kernel function it models, what
changed grouped by entity, the whole state, the map rows, the loop marks; and at
the end why the property fails, with the values that falsify it. Renderers only
lay this out; they never look at the model again.
"""

from __future__ import annotations

from dataclasses import dataclass

from mhpcheck.model.domains import BoolDomain, UserValue
from mhpcheck.model.errors import ModelError
from mhpcheck.model.system import (
    Args,
    DeadlockFree,
    Invariant,
    LeadsTo,
    Property,
    Reachable,
    State,
    StepInvariant,
    TransitionSystem,
)
from mhpcheck.model.trace import Trace
from mhpcheck.model.view import Entity, Field, Row, View, check_rows
from mhpcheck.registry import model_class, view_for

from .explain import Explainer


@dataclass(frozen=True)
class Change:
    """One field of an entity that changed: ``label old -> new``."""

    label: str
    old: str
    new: str


@dataclass(frozen=True)
class EntityDiff:
    entity: str
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class EntityState:
    entity: str
    values: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class MapCell:
    """A drawn cell, and whether it changed in the step (its letter or its entity)."""

    letter: str
    entity: str
    note: str
    changed: bool


@dataclass(frozen=True)
class MapRow:
    label: str
    note: str
    cells: tuple[MapCell, ...]
    groups: tuple[int, ...]
    note_changed: bool


@dataclass(frozen=True)
class StepStory:
    """One state of the trace and the step that led to it (none for state 0)."""

    number: int
    action: str | None
    args: Args
    label: str
    cites: str
    doc: str
    diff: tuple[EntityDiff, ...]
    state: tuple[EntityState, ...]
    rows: tuple[MapRow, ...]
    changed: frozenset[str]
    loop_start: bool
    in_loop: bool


@dataclass(frozen=True)
class Ending:
    """Why the trace is a counterexample (or a witness): the last word of the story."""

    headline: str
    formula: tuple[str, ...]
    values: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Story:
    model: str
    params: tuple[tuple[str, UserValue], ...]
    knobs: tuple[tuple[str, UserValue], ...]
    prop: str
    property_kind: str
    property_doc: str
    kind: str
    reachable: bool
    steps: tuple[StepStory, ...]
    loop: int | None
    loop_closing: str
    ending: Ending
    map_title: str
    legend: tuple[tuple[str, str, str, str], ...]  # letter, name, colour, doc
    note: str

    @property
    def title(self) -> str:
        return f"{self.model} ({describe_setting(self.params, self.knobs, self.model)})"

    @property
    def length(self) -> int:
        return len(self.steps) - 1


def reproduce_command(story: Story) -> str:
    """The command that checks the trace's property again on the trace's model, size
    and design (rebuilt from its #meta) and writes the trace. Traces do not record the
    engine: the command uses the default (bfs), which finds a counterexample of the same
    property, not necessarily the same one."""
    import shlex

    words = ["check-model", "check", story.model]
    words += [f"--param={k}={show_value(v)}" for k, v in story.params]
    words += [f"--set={k}={show_value(v)}" for k, v in story.knobs]
    from mhpcheck.model.exprparse import parse_property_name

    own = parse_property_name(story.prop)  # a user's --invariant-expr / --reachable-expr
    words += ["-p", story.prop] if own is None else [f"--{own[0]}-expr", own[1]]
    if story.kind == "cti":
        words += ["-e", "inductive"]
    words += ["--trace-out", "trace.json"]
    return " ".join(shlex.quote(w) for w in words)


def show_value(value: UserValue) -> str:
    """A value as a reader writes it: true/false, a label, a number."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def describe_setting(params: tuple[tuple[str, UserValue], ...],
                     knobs: tuple[tuple[str, UserValue], ...], model: str = "") -> str:
    """``n=5; broken=true``; with ``model``, only knobs off their defaults, and the
    preset whose values the knobs carry (``preset legacy``)."""
    parts = [", ".join(f"{k}={show_value(v)}" for k, v in params)]
    shown = list(knobs)
    if model:
        preset, shown = _knobs_off_default(model, knobs)
        if preset:
            parts.append(f"preset {preset}")
    parts.append(", ".join(f"{k}={show_value(v)}" for k, v in shown))
    text = "; ".join(p for p in parts if p)
    return text or "defaults"


def _knobs_off_default(model: str, knobs: tuple[tuple[str, UserValue], ...]) -> tuple[
        str, list[tuple[str, UserValue]]]:
    try:
        cls = model_class(model)
    except ModelError:
        return "", list(knobs)
    values = dict(knobs)
    defaults = {k.name: k.default for k in cls.knobs}
    preset = ""
    best = -1
    for name, setting in sorted(cls.presets.items()):
        matches = all(values.get(k) == v and type(values.get(k)) is type(v)
                      for k, v in setting.items())
        if matches and len(setting) > best:
            preset, best = name, len(setting)
    if preset:
        defaults.update(cls.presets[preset])
    return preset, [(k, v) for k, v in knobs
                    if k not in defaults or defaults[k] != v or type(defaults[k]) is not type(v)]


def complete_view(ts: TransitionSystem, view: View) -> View:
    """``view`` plus an entity for any slot it does not show (nothing stays hidden)."""
    names = ts.slot_names()
    covered = {f.slot for e in view.entities for f in e.fields}
    missing = tuple(Field(names[i], i) for i in range(ts.n_slots) if i not in covered)
    if not missing:
        return view
    return View((*view.entities, Entity("other", missing)), view.map)


class _Decoder:
    def __init__(self, ts: TransitionSystem) -> None:
        self.domains = []
        for v in ts.variables:
            self.domains.extend([v.domain] * v.width)

    def text(self, state: State, slot: int) -> str:
        dom = self.domains[slot]
        if isinstance(dom, BoolDomain):
            return "true" if state[slot] else "false"
        return show_value(dom.decode(state[slot]))


def _diff(view: View, dec: _Decoder, before: State, after: State) -> tuple[EntityDiff, ...]:
    out = []
    for entity in view.entities:
        changes = tuple(Change(f.label, dec.text(before, f.slot), dec.text(after, f.slot))
                        for f in entity.fields if before[f.slot] != after[f.slot])
        if changes:
            out.append(EntityDiff(entity.name, changes))
    return tuple(out)


def _whole(view: View, dec: _Decoder, state: State) -> tuple[EntityState, ...]:
    return tuple(EntityState(e.name, tuple((f.label, dec.text(state, f.slot)) for f in e.fields))
                 for e in view.entities)


def _label(action: str | None, args: Args) -> str:
    if action is None:
        return "initial state"
    return f"{action}({', '.join(f'{k}={show_value(v)}' for k, v in args)})"


def _map_rows(rows: tuple[Row, ...], before: tuple[Row, ...] | None,
              changed: frozenset[str]) -> tuple[MapRow, ...]:
    out = []
    for r, row in enumerate(rows):
        old = before[r] if before is not None and r < len(before) else None
        cells = []
        for c, cell in enumerate(row.cells):
            was = old.cells[c].letter if old is not None and c < len(old.cells) else cell.letter
            moved = before is not None and (was != cell.letter or cell.entity in changed)
            cells.append(MapCell(cell.letter, cell.entity, cell.note, moved))
        note_changed = old is not None and old.note != row.note
        out.append(MapRow(row.label, row.note, tuple(cells), row.groups, note_changed))
    return tuple(out)


def tell(ts: TransitionSystem, trace: Trace, view: View | None = None) -> Story:
    """The story of ``trace`` on ``ts`` (``view``: the model's own view by default)."""
    view = complete_view(ts, view if view is not None else view_for(ts))
    dec = _Decoder(ts)
    infos = {info.name: info for info in ts.action_infos}
    cites: dict[tuple[str, Args], str] = {(a.action, a.args): a.cites for a in ts.actions}
    steps: list[StepStory] = []
    prev: State | None = None
    prev_rows: tuple[Row, ...] = ()
    last = len(trace.steps) - 1
    for n, step in enumerate(trace.steps):
        info = infos.get(step.action or "")
        cite = cites.get((step.action or "", step.args), info.cites if info else "")
        diff = () if prev is None else _diff(view, dec, prev, step.state)
        drawn: tuple[Row, ...] = ()
        if view.map is not None:
            try:
                drawn = check_rows(ts, view, view.map.draw(ts.decode(step.state)))
            except (KeyError, IndexError, TypeError, ValueError, AttributeError) as err:
                raise ModelError(f"model {ts.name}, view: drawing the map of state {n} failed "
                                 f"({type(err).__name__}: {err})") from err
        changed = frozenset(d.entity for d in diff)
        rows = _map_rows(drawn, prev_rows if prev is not None else None, changed)
        prev_rows = drawn
        in_loop = trace.loop is not None and trace.loop <= n <= last
        steps.append(StepStory(
            number=n, action=step.action, args=step.args, label=_label(step.action, step.args),
            cites=cite, doc=info.doc if info else "", diff=diff,
            state=_whole(view, dec, step.state), rows=rows,
            changed=changed, loop_start=trace.loop == n,
            in_loop=in_loop))
        prev = step.state
    closing = ""
    if trace.loop is not None:
        if trace.loop_action is None:
            closing = f"no action is enabled: the run stays in state {last} for ever"
        else:
            name, args = trace.loop_action
            closing = (f"{_label(name, args)} returns to state {trace.loop}: the loop repeats "
                       f"for ever")
    try:
        prop: Property | None = ts.property(trace.property)
    except Exception:  # a trace of a property this model version no longer has
        prop = None
    legend: tuple[tuple[str, str, str, str], ...] = ()
    if view.map is not None:
        used = {c.letter for st in steps for r in st.rows for c in r.cells}
        legend = tuple((g.letter, g.name, g.colour, g.doc) for g in view.map.legend
                       if g.letter in used)
    return Story(
        model=trace.model, params=trace.params, knobs=trace.knobs, prop=trace.property,
        property_kind=prop.kind if prop else "unknown", property_doc=prop.doc if prop else "",
        kind=trace.kind, reachable=trace.reachable, steps=tuple(steps), loop=trace.loop,
        loop_closing=closing, ending=_ending(ts, trace, prop),
        map_title=view.map.title if view.map else "", legend=legend, note=trace.note)


def _ending(ts: TransitionSystem, trace: Trace, prop: Property | None) -> Ending:
    ex = Explainer(ts)
    last = len(trace.steps) - 1
    s = trace.steps[-1].state
    notes: list[str] = []
    if trace.note:
        notes.append(trace.note)
    if not trace.reachable:
        notes.append("a counterexample to induction: state 0 satisfies the invariants but "
                     "need not be reachable")
    if prop is None:
        return Ending(f"{trace.property}: not a property of this model", (), (), tuple(notes))
    name = prop.name
    if isinstance(prop, Invariant):
        if ex.value(prop.expr, s):
            return Ending(f"{name} holds in state {last}: this trace does not violate it "
                          f"(was the model changed since it was written?)", (), (), tuple(notes))
        parts = ex.failing_parts(prop.expr, s)
        atoms = [a for p in parts for a in ex.culprits(p, False, s)]
        return Ending(f"{name} fails in state {last}",
                      tuple(ex.show(p) for p in parts), tuple(ex.readings(atoms, s)),
                      tuple(notes))
    if isinstance(prop, StepInvariant):
        if last < 1:
            return Ending(f"{name}: the trace has no step", (), (), tuple(notes))
        pre = trace.steps[-2].state
        parts = ex.failing_parts(prop.expr, pre, s)
        atoms = [a for p in parts for a in ex.culprits(p, False, pre, s)]
        return Ending(f"{name} fails on step {last} (state {last - 1} -> {last}; primed names "
                      f"are after the step)", tuple(ex.show(p) for p in parts),
                      tuple(ex.readings(atoms, pre, s)), tuple(notes))
    if isinstance(prop, Reachable):
        atoms = ex.culprits(prop.expr, True, s)
        return Ending(f"{name} is reached in state {last}", (ex.show(prop.expr),),
                      tuple(ex.readings(atoms, s)), tuple(notes))
    if isinstance(prop, DeadlockFree):
        return Ending(f"{name} fails: no action is enabled in state {last}", (), (),
                      tuple(n for n in notes if n != "no action is enabled"))
    if isinstance(prop, LeadsTo):
        atoms = ex.culprits(prop.rhs, False, s)
        if prop.from_init:
            head = (f"{name} fails: no state of this run satisfies the goal, and the run "
                    f"goes on for ever")
        else:
            first = next((i for i, st in enumerate(trace.steps)
                          if ex.value(prop.lhs, st.state)), None)
            where = f"state {first}" if first is not None else "a state"
            head = (f"{name} fails: {where} satisfies {ex.show(prop.lhs)}, and no later state "
                    f"satisfies the goal")
        return Ending(head, (f"goal: {ex.show(prop.rhs)}",), tuple(ex.readings(atoms, s)),
                      tuple(notes))
    return Ending(f"{name} ({prop.kind})", (), (), tuple(notes))
