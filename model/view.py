"""How a model shows its states to a reader: entities, and optionally a map.

The trace viewer (terminal and HTML) never knows which model it draws. It asks
``mhpcheck.registry.view_for(ts)`` for a ``View`` (the registered model's
``view_of``):

- ``entities``: how the state's slots group into things a reader names ("page 3",
  "block 0", "globals"). A step's changes are printed per entity, as in
  ``page 3: type Offline -> Buddy, refcount 1 -> 0``. Every model gets a default
  grouping for free (``group_by_index``): each element of an index set is one
  entity holding every family over that set, and the scalars form one entity.
- ``map`` (optional): rows of lettered, coloured cells drawn at every step, such
  as one row per memory block and one cell per page. ``draw`` turns a decoded
  state into rows; ``legend`` says what each letter means.

A model declares its view by defining a method ``view(self, ts) -> View`` on its
``Model`` subclass (the parameters and knobs are in ``self.p`` and ``self.k``, as
in ``declare``). Without one, ``default_view`` applies. Views are for readers only:
engines never see them, so ``draw`` may be any Python function of the values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import ModelError
from .system import TransitionSystem

#: A decoded state: variable name -> value (a scalar's value, or a family's list).
Values = Mapping[str, Any]

#: The colours a glyph may use; the terminal and the HTML page each map them. "danger"
#: marks the states a reader must not miss (the bug itself): white on red in the
#: terminal, a striped red cell on the HTML page.
COLOURS = ("default", "grey", "red", "green", "yellow", "blue", "magenta", "cyan", "white",
           "danger")


@dataclass(frozen=True)
class Field:
    """One slot of an entity: shown as ``label`` (empty: the entity's only value)."""

    label: str
    slot: int


@dataclass(frozen=True)
class Entity:
    """Something a reader names (``page 3``) and the slots that make up its state."""

    name: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Glyph:
    """A letter of the map, its colour and what it means."""

    letter: str
    name: str
    colour: str = "default"
    doc: str = ""


@dataclass(frozen=True)
class Cell:
    """One cell of a map row: a glyph's letter, the entity it shows, a tooltip."""

    letter: str
    entity: str = ""
    note: str = ""


@dataclass(frozen=True)
class Row:
    """One row of a map (such as a memory block), with a short note (its state).

    ``groups`` optionally splits the cells into runs drawn with a gap between them
    (such as the pages of each pageblock); their sizes must add up to the cells.
    """

    label: str
    cells: tuple[Cell, ...]
    note: str = ""
    groups: tuple[int, ...] = ()


@dataclass(frozen=True)
class StateMap:
    """A picture of a state: ``draw`` gives the rows, ``legend`` the letters."""

    title: str
    legend: tuple[Glyph, ...]
    draw: Callable[[Values], Sequence[Row]]

    def glyph(self, letter: str) -> Glyph:
        for g in self.legend:
            if g.letter == letter:
                return g
        return Glyph(letter, "unknown")


@dataclass(frozen=True)
class View:
    """What the viewer shows of a model's states."""

    entities: tuple[Entity, ...]
    map: StateMap | None = None
    _owner: dict[int, tuple[int, int]] = field(default_factory=dict, compare=False,
                                               repr=False)

    def __post_init__(self) -> None:
        for e, entity in enumerate(self.entities):
            for f, fld in enumerate(entity.fields):
                self._owner.setdefault(fld.slot, (e, f))

    def owner(self, slot: int) -> tuple[Entity, Field] | None:
        """The entity and field that show ``slot`` (None if no entity does)."""
        where = self._owner.get(slot)
        if where is None:
            return None
        entity = self.entities[where[0]]
        return entity, entity.fields[where[1]]


class HasView(Protocol):
    """A model that declares its own view."""

    def view(self, ts: TransitionSystem) -> View: ...


def group_by_index(ts: TransitionSystem, *, labels: Mapping[str, str] | None = None,
                   entity_names: Mapping[str, str] | None = None,
                   order: Iterable[str] = (), globals_name: str = "globals",
                   skip: Iterable[str] = ()) -> tuple[Entity, ...]:
    """Entities by index set: element i of set X is the entity ``X i`` (``X label``).

    ``labels`` renames variables as field labels (``{"page_type": "type"}``);
    ``entity_names`` renames index sets as entity names (``{"pb": "pageblock"}``);
    ``order`` lists index sets to put first (the rest follow in declaration order,
    the scalars last, as one entity called ``globals_name``); ``skip`` leaves
    variables out.
    """
    labels = dict(labels or {})
    entity_names = dict(entity_names or {})
    skipped = set(skip)
    by_index: dict[str, list[Any]] = {}
    index_sets: dict[str, Any] = {}
    scalars: list[Field] = []
    for v in ts.variables:
        if v.name in skipped:
            continue
        if v.index is None:
            scalars.append(Field(labels.get(v.name, v.name), v.offset))
            continue
        index_sets.setdefault(v.index.name, v.index)
        by_index.setdefault(v.index.name, []).append(v)
    names = [n for n in order if n in by_index]
    names += [n for n in by_index if n not in names]
    entities: list[Entity] = []
    for name in names:
        idx = index_sets[name]
        shown = entity_names.get(name, name)
        for i in range(idx.size):
            fields = tuple(Field(labels.get(v.name, v.name), v.offset + i)
                           for v in by_index[name])
            entities.append(Entity(f"{shown} {idx.label(i)}".strip(), fields))
    if scalars:
        entities.append(Entity(globals_name, tuple(scalars)))
    return tuple(entities)


def scalars(ts: TransitionSystem, name: str, variables: Iterable[str],
            labels: Mapping[str, str] | None = None) -> Entity:
    """One entity called ``name`` made of the scalar ``variables`` (in that order)."""
    labels = dict(labels or {})
    fields = []
    for var in variables:
        decl = ts.var(var)
        if decl.index is not None:
            raise ModelError(f"model {ts.name}, view: {var} is a family, not a scalar")
        fields.append(Field(labels.get(var, var), decl.offset))
    return Entity(name, tuple(fields))


def default_view(ts: TransitionSystem) -> View:
    """The view every model gets: entities by index set, no map."""
    return View(group_by_index(ts))


def check_view(ts: TransitionSystem, view: View) -> View:
    """``view`` if it fits ``ts``, else a ModelError saying what to fix."""
    where = f"model {ts.name}, view"
    n = ts.n_slots
    seen: dict[int, str] = {}
    for entity in view.entities:
        for fld in entity.fields:
            if not 0 <= fld.slot < n:
                raise ModelError(f"{where}: entity {entity.name!r} field {fld.label!r} has slot "
                                 f"{fld.slot}, outside 0..{n - 1}")
            if fld.slot in seen:
                raise ModelError(f"{where}: slot {fld.slot} shown twice ({seen[fld.slot]} and "
                                 f"{entity.name})")
            seen[fld.slot] = entity.name
    if view.map is not None:
        letters = [g.letter for g in view.map.legend]
        for g in view.map.legend:
            if len(g.letter) != 1:
                raise ModelError(f"{where}: legend letter {g.letter!r} must be one character")
            if g.colour not in COLOURS:
                raise ModelError(f"{where}: glyph {g.letter!r} has colour {g.colour!r} "
                                 f"(colours: {', '.join(COLOURS)})")
        if len(set(letters)) != len(letters):
            raise ModelError(f"{where}: a legend letter is used twice ({', '.join(letters)})")
    return view


def check_rows(ts: TransitionSystem, view: View, rows: Sequence[Row]) -> tuple[Row, ...]:
    """The rows ``draw`` returned, checked against the legend."""
    assert view.map is not None
    letters = {g.letter for g in view.map.legend}
    for row in rows:
        if row.groups and sum(row.groups) != len(row.cells):
            raise ModelError(f"model {ts.name}, view: row {row.label!r} has groups "
                             f"{row.groups} for {len(row.cells)} cells")
        for cell in row.cells:
            if cell.letter not in letters:
                raise ModelError(f"model {ts.name}, view: row {row.label!r} draws "
                                 f"{cell.letter!r}, which the legend lacks")
    return tuple(rows)


def view_of(model: object, ts: TransitionSystem) -> View:
    """``model``'s own view of ``ts`` (its ``view`` method), else the default one."""
    hook = getattr(model, "view", None)
    if hook is None:
        return default_view(ts)
    view = hook(ts)
    if not isinstance(view, View):
        raise ModelError(f"model {ts.name}: view() must return a View, "
                         f"got {type(view).__name__}")
    return check_view(ts, view)
