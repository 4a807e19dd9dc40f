"""Symmetry reduction for the explicit engine: one canonical state per orbit.

The canonical state of ``s`` is the least of ``g(s)`` over the declared group (the
model's ``symmetry``), compiled once into straight-line Python. The engine explores
canonical states only, checks the declaration on each of them (every generator must
map it to a state with the same canonical successors and the same property values;
a necessary condition, checked where it is cheap), and turns a path of canonical
states back into a concrete trace, which is replayed like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mhpcheck.model.compile import Compiled, Predicate
from mhpcheck.model.errors import ModelError
from mhpcheck.model.system import SlotMap, State, TransitionSystem
from mhpcheck.model.trace import Step

Canon = Callable[[State], State]


def _image_code(m: SlotMap, tables: dict[tuple[int, ...], str]) -> str:
    cells = [f"s[{j}]" for j in m.source]
    for slot, lo, table in m.relabel:
        name = tables.setdefault(table, f"T{len(tables)}")
        shift = f" - {lo}" if lo else ""
        cells[slot] = f"{name}[{cells[slot]}{shift}]"
    return "(" + ", ".join(cells) + ",)"


def compile_canon(ts: TransitionSystem) -> Canon:
    """The canonicalising function of ``ts``'s symmetry group (identity without one)."""
    if not ts.symmetry:
        return lambda s: s
    tables: dict[tuple[int, ...], str] = {}
    lines = ["def canon(s):", "    best = s"]
    for m in ts.symmetry:
        lines.append(f"    c = {_image_code(m, tables)}")
        lines.append("    if c < best:")
        lines.append("        best = c")
    lines.append("    return best")
    namespace: dict[str, object] = {name: table for table, name in tables.items()}
    exec(compile("\n".join(lines) + "\n", f"<{ts.name}:symmetry>", "exec"), namespace)
    canon: Canon = namespace["canon"]  # type: ignore[assignment]
    return canon


def check_declaration(ts: TransitionSystem, compiled: Compiled, canon: Canon,
                      predicates: Sequence[tuple[str, Predicate]], state: State,
                      successors: set[State]) -> None:
    """Raise a ModelError if a generator maps ``state`` to a state that behaves otherwise."""
    for g in ts.symmetry_generators:
        image = g.apply(state)
        theirs = {canon(t) for _, t in compiled.successors(image)}
        if theirs != successors:
            raise ModelError(
                f"model {ts.name}: the declared symmetry does not hold: a renamed state has "
                f"other successors than the state {ts.decode(state)}")
        for name, pred in predicates:
            if pred(image) != pred(state):
                raise ModelError(
                    f"model {ts.name}: property {name} is not symmetric under the declared "
                    f"symmetry (it differs on a renamed copy of {ts.decode(state)}); check it "
                    "without symmetry reduction")


def concretize(ts: TransitionSystem, compiled: Compiled, canon: Canon,
               reps: Sequence[State], actions: Sequence[int]) -> list[Step]:
    """A concrete path whose states are, in order, in the orbits of ``reps``.

    ``actions[i]`` is the instance that led from ``reps[i]`` to ``reps[i + 1]`` on the
    canonical path; the concrete step may be a renamed instance of it.
    """
    first = next((s for s in ts.init if canon(s) == reps[0]), None)
    if first is None:
        raise AssertionError("no initial state in the first orbit")
    steps = [Step(None, (), first)]
    cur = first
    for target, k in zip(reps[1:], actions, strict=True):
        preferred = ts.actions[k].action
        found = None
        for j, nxt in sorted(compiled.successors(cur),
                             key=lambda kv: ts.actions[kv[0]].action != preferred):
            if canon(nxt) == target:
                found = (j, nxt)
                break
        if found is None:
            raise AssertionError("symmetry: no concrete step into the next orbit")
        j, cur = found
        inst = ts.actions[j]
        steps.append(Step(inst.action, inst.args, cur))
    return steps
