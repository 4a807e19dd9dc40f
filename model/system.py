"""The transition system: the only thing engines see.

A ``TransitionSystem`` is flat and concrete: variables laid out in numbered slots,
concrete initial states, action instances (one per argument tuple) with an
``Expr`` guard and ``Assign`` updates, and named properties. A state is a tuple of
integer codes, one per slot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .domains import Domain, UserValue
from .errors import ModelError
from .expr import Assign, Const, Expr, Var, walk

State = tuple[int, ...]
Args = tuple[tuple[str, UserValue], ...]


@dataclass(frozen=True)
class IndexSet:
    """A finite index set of a variable family, such as pages or blocks (0..size-1)."""

    name: str
    size: int
    labels: tuple[str, ...] = ()

    def label(self, i: int) -> str:
        return self.labels[i] if self.labels else str(i)


@dataclass(frozen=True)
class VarDecl:
    """A scalar variable (``index`` None) or a family, stored from slot ``offset`` on."""

    name: str
    domain: Domain
    index: IndexSet | None
    offset: int
    doc: str = ""

    @property
    def width(self) -> int:
        return 1 if self.index is None else self.index.size


@dataclass(frozen=True)
class ActionInstance:
    """One action applied to one argument tuple: a guarded simultaneous update."""

    action: str
    args: Args
    guard: Expr
    updates: tuple[Assign, ...]
    fair: bool = False
    cites: str = ""

    @property
    def label(self) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in self.args)
        return f"{self.action}({inner})"


@dataclass(frozen=True)
class ActionInfo:
    """What a model says about an action as a whole (for listings and coverage)."""

    name: str
    params: tuple[str, ...]
    fair: bool
    cites: str
    doc: str
    tags: tuple[str, ...] = ()
    #: the knob setting that gives the action instances, such as "allocator=true" (for
    #: the message of a vacuous check; empty: none names it)
    switch: str = ""


@dataclass(frozen=True)
class Property:
    """A named property; ``aliases`` are other names it answers to (such as "S1").

    ``about`` names the actions the property is about: each entry is a group of
    alternative action names, and the property can only fail in a configuration where
    some action of every group has instances and fires. An exhaustive "holds" where one
    does not is reported as vacuous (the Checker; empty: the property claims nothing).
    """

    name: str
    doc: str
    aliases: tuple[str, ...]
    about: tuple[tuple[str, ...], ...] = field(default=(), kw_only=True)

    @property
    def kind(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Invariant(Property):
    """``expr`` holds in every reachable state."""

    expr: Expr

    @property
    def kind(self) -> str:
        return "invariant"


@dataclass(frozen=True)
class StepInvariant(Property):
    """``expr`` over the pre-state and the primed post-state holds on every transition."""

    expr: Expr

    @property
    def kind(self) -> str:
        return "step-invariant"


@dataclass(frozen=True)
class Reachable(Property):
    """Some reachable state satisfies ``expr`` (a sanity check or a witness)."""

    expr: Expr

    @property
    def kind(self) -> str:
        return "reachable"


@dataclass(frozen=True)
class LeadsTo(Property):
    """Every fair run that reaches ``lhs`` later reaches ``rhs`` (``lhs ~> rhs``).

    "Every run eventually reaches P" is ``LeadsTo`` with ``lhs`` true in the initial
    states (``from_init``). Fairness is weak fairness of every instance of each
    action marked fair.
    """

    lhs: Expr
    rhs: Expr
    from_init: bool = False

    @property
    def kind(self) -> str:
        return "eventually" if self.from_init else "leads-to"


@dataclass(frozen=True)
class DeadlockFree(Property):
    """Every reachable state has an enabled action."""

    @property
    def kind(self) -> str:
        return "deadlock"


DEADLOCK_FREE = DeadlockFree("deadlock-free", "every reachable state has an enabled action", ())


@dataclass(frozen=True)
class SlotMap:
    """One symmetry group element acting on states: ``new[i] = old[source[i]]``, then
    for each (slot, lo, table) of ``relabel`` the value ``v`` there becomes
    ``table[v - lo]`` (the renaming of element ids stored as values)."""

    source: tuple[int, ...]
    relabel: tuple[tuple[int, int, tuple[int, ...]], ...] = ()

    def apply(self, state: State) -> State:
        new = [state[j] for j in self.source]
        for slot, lo, table in self.relabel:
            new[slot] = table[new[slot] - lo]
        return tuple(new)


@dataclass(frozen=True)
class TransitionSystem:
    """A finite transition system over integer-coded slots, ready for any engine."""

    name: str
    params: tuple[tuple[str, UserValue], ...]
    knobs: tuple[tuple[str, UserValue], ...]
    variables: tuple[VarDecl, ...]
    init: tuple[State, ...]
    actions: tuple[ActionInstance, ...]
    action_infos: tuple[ActionInfo, ...]
    properties: tuple[Property, ...]
    #: The declared symmetry group, without the identity (empty: no symmetry).
    symmetry: tuple[SlotMap, ...] = ()
    #: A generating set of that group, against which engines check the declaration.
    symmetry_generators: tuple[SlotMap, ...] = ()
    #: What rebuilds this system in another process, and so what a trace records as its
    #: model: the registered name, or a model file's absolute ``/path/file.py:Class``
    #: (set by the registry; empty when a Model was built directly, then ``name``).
    source: str = ""
    #: The way to the parametric build of the same model source and this build's index
    #: sizes and relation tables (``model.parametric.Quantified``; None: not a Model's).
    quantified: Any = field(default=None, compare=False, repr=False)
    _by_name: dict[str, VarDecl] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update({v.name: v for v in self.variables})

    @property
    def n_slots(self) -> int:
        return sum(v.width for v in self.variables)

    def var(self, name: str) -> VarDecl:
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(v.name for v in self.variables)
            raise ModelError(
                f"model {self.name}: no variable {name!r} (variables: {known})") from None

    def var_at(self, slot: int) -> VarDecl:
        """The variable that stores state slot ``slot``."""
        for v in self.variables:
            if v.offset <= slot < v.offset + v.width:
                return v
        raise ModelError(f"model {self.name}: no slot {slot}")

    def slots_of(self, name: str, index: Expr | None) -> list[int]:
        """The slots ``name[index]`` may denote: one for a scalar or a constant index,
        the whole family for a computed one."""
        v = self.var(name)
        if index is None:
            return [v.offset]
        if isinstance(index, Const):
            return [v.offset + index.value]
        return list(range(v.offset, v.offset + v.width))

    def writes(self, inst: ActionInstance) -> frozenset[int]:
        """The slots action instance ``inst`` may write."""
        return frozenset(slot for u in inst.updates for slot in self.slots_of(u.name, u.index))

    def footprint(self, inst: ActionInstance) -> frozenset[int]:
        """The slots action instance ``inst`` reads or writes."""
        exprs = [inst.guard, *(u.value for u in inst.updates),
                 *(u.index for u in inst.updates if u.index is not None)]
        return self.writes(inst) | {slot for e in exprs for node in walk(e)
                                    if isinstance(node, Var)
                                    for slot in self.slots_of(node.name, node.index)}

    def property(self, name: str) -> Property:
        """The property called ``name`` (or with that alias), or a ModelError listing them."""
        for prop in (*self.properties, DEADLOCK_FREE):
            if name == prop.name or name in prop.aliases:
                return prop
        every = (*self.properties, DEADLOCK_FREE)
        near = [n for p in every for n in (p.name, *p.aliases) if n.lower() == name.lower()]
        if near:
            raise ModelError(f"model {self.name}: no property {name!r}; did you mean "
                             f"{near[0]!r}? (names are case-sensitive)")
        known = ", ".join(f"{p.name} ({', '.join(p.aliases)})" if p.aliases else p.name
                          for p in every)
        raise ModelError(f"model {self.name}: no property {name!r} (properties: {known})")

    def slot_names(self) -> list[str]:
        """A readable name per slot, such as ``pc[2]``."""
        names: list[str] = []
        for v in self.variables:
            if v.index is None:
                names.append(v.name)
            else:
                names.extend(f"{v.name}[{v.index.label(i)}]" for i in range(v.index.size))
        return names

    def decode(self, state: State) -> dict[str, Any]:
        """User values by variable: a scalar's value, or a family's list of values."""
        out: dict[str, Any] = {}
        for v in self.variables:
            codes = state[v.offset:v.offset + v.width]
            values = [v.domain.decode(c) for c in codes]
            out[v.name] = values[0] if v.index is None else values
        return out

    def encode(self, values: Mapping[str, Any], where: str = "state") -> State:
        """The state whose variables have ``values`` (the inverse of ``decode``)."""
        slots: list[int] = []
        missing = [v.name for v in self.variables if v.name not in values]
        if missing:
            raise ModelError(f"{where}: missing variables {', '.join(missing)}")
        for v in self.variables:
            raw = values[v.name]
            if v.index is None:
                slots.append(v.domain.encode(raw, f"{where}: {v.name}"))
                continue
            if not isinstance(raw, Sequence) or isinstance(raw, str) or len(raw) != v.width:
                raise ModelError(f"{where}: {v.name} must be a list of {v.width} values")
            slots.extend(v.domain.encode(x, f"{where}: {v.name}[{i}]") for i, x in enumerate(raw))
        return tuple(slots)

    def action_instance(self, action: str, args: Mapping[str, UserValue]) -> int:
        """The number of the instance of ``action`` with ``args``, or a ModelError."""
        wanted = tuple(sorted(args.items()))
        for k, inst in enumerate(self.actions):
            if inst.action == action and tuple(sorted(inst.args)) == wanted:
                return k
        if not any(inst.action == action for inst in self.actions):
            raise ModelError(f"model {self.name}: no action {action!r}")
        raise ModelError(f"model {self.name}: action {action!r} has no instance with {dict(args)}")
