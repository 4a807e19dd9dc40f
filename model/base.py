"""The decorator front-end: a ``Model`` subclass declares variables, actions and properties.

A model class lists its size parameters (``params``) and design knobs (``knobs``),
declares index sets and variables in ``declare``, and marks methods with ``@init``,
``@action``, ``@invariant``, ``@step_invariant``, ``@reachable``, ``@eventually``
(alias ``@terminates``) and ``@leads_to``. ``build()`` instantiates every action over
its finite parameters and validates the result, naming the action and variable at
fault.
"""

from __future__ import annotations

import contextlib
import itertools
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar, overload

from .domains import Domain, EnumDomain, IntRange, UserValue
from .dsl import Effect, StateView, condition_node
from .errors import MhpError, ModelError
from .expr import FALSE, TRUE, Assign, Const, Expr, Var, uses_primed, walk
from .quantify import FunctionDecl, IndexDecl, Scope, Symbolic, building
from .symmetry import Symmetry, generator_maps, slot_maps
from .system import (
    ActionInfo,
    ActionInstance,
    IndexSet,
    Invariant,
    LeadsTo,
    Property,
    Reachable,
    State,
    StepInvariant,
    TransitionSystem,
    VarDecl,
)


@dataclass(frozen=True)
class Param:
    """A size parameter (an integer in ``lo..hi``)."""

    name: str
    default: int
    lo: int = 0
    hi: int = 1 << 30
    doc: str = ""

    def check(self, value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ModelError(f"{where}: parameter {self.name} must be an integer, got {value!r}")
        if not self.lo <= value <= self.hi:
            raise ModelError(f"{where}: parameter {self.name}={value} outside {self.lo}..{self.hi}")
        return value


def shown_value(value: Any) -> str:
    """A knob or parameter value as the command line spells it (``true``, ``2``, ``V|f``)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


@dataclass(frozen=True)
class Knob:
    """A design choice: one of ``choices``, or (``choices`` empty) any value of the
    default's type that ``validate`` accepts (it returns an error text or None)."""

    name: str
    default: UserValue
    choices: tuple[UserValue, ...] = ()
    doc: str = ""
    validate: Callable[[UserValue], str | None] | None = None

    def check(self, value: Any, where: str) -> UserValue:
        if not self.choices:
            if type(value) is not type(self.default):
                raise ModelError(f"{where}: knob {self.name} must be a "
                                 f"{type(self.default).__name__}, got {value!r}")
            problem = self.validate(value) if self.validate else None
            if problem:
                raise ModelError(f"{where}: knob {self.name}={value!r}: {problem}")
            return value
        for choice in self.choices:
            if value == choice and type(value) is type(choice):
                return choice
        shown = ", ".join(shown_value(c) for c in self.choices)
        raise ModelError(f"{where}: knob {self.name}={shown_value(value)} is not one of "
                         f"{shown}")


ParamSpec = str | Domain | range | tuple[UserValue, ...]


@dataclass(frozen=True)
class _Mark:
    """What a decorator records on a method."""

    role: str
    name: str | None = None
    params: tuple[tuple[str, ParamSpec], ...] = ()
    fair: bool = False
    cites: str = ""
    aliases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    about: tuple[tuple[str, ...], ...] = ()
    switch: str = ""


#: What a property's ``about`` takes: action names, each alone or a tuple of alternatives.
About = Iterable[str | tuple[str, ...]]


F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")


def _mark(mark: _Mark) -> Callable[[F], F]:
    def deco(fn: F) -> F:
        if not callable(fn):
            raise ModelError(f"@{mark.role} decorates a method, not {fn!r}")
        fn.__mhp_mark__ = mark  # type: ignore[attr-defined]
        return fn
    return deco


def _decorate(mark: _Mark, fn: Any) -> Any:
    """``@deco`` (``fn`` is the method: mark it) and ``@deco(...)`` (``fn`` is None:
    return the decorator) alike; anything else in ``fn`` is a misplaced argument."""
    if fn is None:
        return _mark(mark)
    if not callable(fn):
        example = 'i="phil"' if mark.role in ("action", "init") else 'name="..."'
        raise ModelError(f"@{mark.role}({fn!r}): give its options as keywords, such as "
                         f"@{mark.role}({example})")
    return _mark(mark)(fn)


@overload
def init(fn: F, /) -> F: ...
@overload
def init(fn: None = None, /, **params: ParamSpec) -> Callable[[F], F]: ...
def init(fn: Any = None, /, **params: ParamSpec) -> Any:
    """Mark the method that gives the initial state (one per argument tuple); ``@init``
    and ``@init(...)`` alike."""
    return _decorate(_Mark("init", params=tuple(params.items())), fn)


@overload
def action(fn: F, /) -> F: ...
@overload
def action(fn: None = None, /, *, fair: bool = False, cites: str = "", name: str | None = None,
           tags: Iterable[str] = (), switch: str = "",
           **params: ParamSpec) -> Callable[[F], F]: ...
def action(fn: Any = None, /, *, fair: bool = False, cites: str = "", name: str | None = None,
           tags: Iterable[str] = (), switch: str = "", **params: ParamSpec) -> Any:
    """Mark an action method ``(self, s, **args) -> Effect | None``; ``@action`` (no
    parameters, no options) and ``@action(...)`` alike.

    Each keyword names a parameter and its values: an index-set name, a Domain, a
    range or a tuple. ``None`` from the method drops that instance. ``fair`` asks for
    weak fairness of every instance; ``cites`` names the kernel function modelled;
    ``switch`` the knob setting that gives the action instances ("allocator=true"), which
    a vacuous check names.
    """
    return _decorate(_Mark("action", name, tuple(params.items()), fair, cites, (), tuple(tags),
                           switch=switch), fn)


def _property_mark(role: str, fn: F | None, name: str | None,
                   aliases: Iterable[str], about: About = ()) -> Any:
    groups = tuple((a,) if isinstance(a, str) else tuple(a) for a in about)
    return _decorate(_Mark(role, name, aliases=tuple(aliases), about=groups), fn)


@overload
def invariant(fn: F) -> F: ...
@overload
def invariant(*, name: str | None = None, aliases: Iterable[str] = (),
              about: About = ()) -> Callable[[F], F]: ...
def invariant(fn: F | None = None, *, name: str | None = None,
              aliases: Iterable[str] = (), about: About = ()) -> Any:
    """Mark ``(self, s) -> Term``: the condition holds in every reachable state."""
    return _property_mark("invariant", fn, name, aliases, about)


@overload
def step_invariant(fn: F) -> F: ...
@overload
def step_invariant(*, name: str | None = None, aliases: Iterable[str] = (),
                   about: About = ()) -> Callable[[F], F]: ...
def step_invariant(fn: F | None = None, *, name: str | None = None,
                   aliases: Iterable[str] = (), about: About = ()) -> Any:
    """Mark ``(self, s, t) -> Term``: the condition holds on every transition s -> t."""
    return _property_mark("step_invariant", fn, name, aliases, about)


@overload
def reachable(fn: F) -> F: ...
@overload
def reachable(*, name: str | None = None, aliases: Iterable[str] = (),
              about: About = ()) -> Callable[[F], F]: ...
def reachable(fn: F | None = None, *, name: str | None = None,
              aliases: Iterable[str] = (), about: About = ()) -> Any:
    """Mark ``(self, s) -> Term``: some reachable state satisfies the condition."""
    return _property_mark("reachable", fn, name, aliases, about)


@overload
def eventually(fn: F) -> F: ...
@overload
def eventually(*, name: str | None = None, aliases: Iterable[str] = (),
               about: About = ()) -> Callable[[F], F]: ...
def eventually(fn: F | None = None, *, name: str | None = None,
               aliases: Iterable[str] = (), about: About = ()) -> Any:
    """Mark ``(self, s) -> Term``: every fair run eventually satisfies the condition."""
    return _property_mark("eventually", fn, name, aliases, about)


terminates = eventually


@overload
def leads_to(fn: F) -> F: ...
@overload
def leads_to(*, name: str | None = None, aliases: Iterable[str] = (),
             about: About = ()) -> Callable[[F], F]: ...
def leads_to(fn: F | None = None, *, name: str | None = None,
             aliases: Iterable[str] = (), about: About = ()) -> Any:
    """Mark ``(self, s) -> (P, Q)``: every fair run in a P state later reaches Q."""
    return _property_mark("leads_to", fn, name, aliases, about)


@overload
def hint(fn: F) -> F: ...
@overload
def hint(*, name: str | None = None) -> Callable[[F], F]: ...
def hint(fn: F | None = None, *, name: str | None = None) -> Any:
    """Mark ``(self, s) -> Term | None``: a hand-written candidate invariant for the proof
    for every size; checked like every inferred candidate, never trusted, and not a
    property of the finite build. ``None``: not offered in this configuration."""
    return _property_mark("hint", fn, name, ())


class Declarations:
    """Collects the index sets and variables a model declares, in order."""

    def __init__(self, model: str, parametric: bool = False) -> None:
        self.model = model
        self.scope = Scope(model, None if parametric else {})
        self.indices: dict[str, IndexSet] = {}
        self.vars: dict[str, VarDecl] = {}
        self._offset = 0

    @property
    def parametric(self) -> bool:
        """Whether this is the parametric build (every size symbolic)."""
        return self.scope.parametric

    def index(self, name: str, size: int, labels: Iterable[str] = (), *, ring: bool = False,
              ordered: bool = False, min_size: int = 1) -> IndexSet:
        """An index set of ``size`` elements; ``ring`` declares a successor (``succ``),
        ``ordered`` the order of its elements (``<`` between indices, such as pfns), and
        ``min_size`` the least size the parametric build assumes."""
        if name in self.indices:
            raise ModelError(f"model {self.model}: index set {name!r} declared twice")
        self.scope.indices[name] = IndexDecl(name, ring, ordered, min_size)
        if isinstance(size, Symbolic):
            idx = IndexSet(name, 0)
            self.indices[name] = idx
            return idx
        if size < 1:
            raise ModelError(f"model {self.model}: index set {name!r} has size {size}")
        labels = tuple(labels)
        if labels and len(labels) != size:
            raise ModelError(f"model {self.model}: index set {name!r} has {len(labels)} labels "
                             f"for {size} elements")
        idx = IndexSet(name, size, labels)
        self.indices[name] = idx
        if self.scope.sizes is not None:
            self.scope.sizes[name] = size
        return idx

    def function(self, name: str, dom: str, cod: str, fn: Callable[[int], int]) -> None:
        """A function from index set ``dom`` to ``cod`` (``apply(name, i)``): in the
        finite build its table ``fn(0), fn(1), ...``; in the parametric build an
        uninterpreted function (functional membership, such as a page's pageblock)."""
        where = f"model {self.model}: function {name}"
        for over in (dom, cod):
            if over not in self.indices:
                raise ModelError(f"{where}: unknown index set {over!r}")
        if name in self.scope.functions or name == "succ":
            raise ModelError(f"{where}: declared twice")
        if self.scope.sizes is None:
            self.scope.functions[name] = FunctionDecl(name, dom, cod)
            return
        table = tuple(_call(where, fn, i) for i in range(self.scope.sizes[dom]))
        bad = [v for v in table if not 0 <= v < self.scope.sizes[cod]]
        if bad:
            raise ModelError(f"{where}: value {bad[0]} is not an element of {cod}")
        self.scope.functions[name] = FunctionDecl(name, dom, cod, table)

    def attribute(self, name: str, over: str, values: EnumDomain,
                  fn: Callable[[int], str]) -> None:
        """A fixed label of each element of ``over`` (``apply(name, i)``), such as a
        page's owner class: in the finite build the table ``fn(0), fn(1), ...``; in the
        parametric build an uninterpreted function, so a proof covers every labelling."""
        where = f"model {self.model}: attribute {name}"
        if over not in self.indices:
            raise ModelError(f"{where}: unknown index set {over!r}")
        if name in self.scope.functions or name == "succ":
            raise ModelError(f"{where}: declared twice")
        if self.scope.sizes is None:
            self.scope.functions[name] = FunctionDecl(name, over, values.name, values=values)
            return
        table = tuple(values.encode(_call(where, fn, i), where)
                      for i in range(self.scope.sizes[over]))
        self.scope.functions[name] = FunctionDecl(name, over, values.name, table, values)

    def assume(self, name: str, fact: Callable[[], Any], doc: str = "") -> None:
        """A fact about the declared functions and attributes (``fact()``, a condition
        that reads no state), such as "no page is a class-2 page": the finite build
        refuses a configuration that breaks it, the parametric build takes it as an
        axiom, so a proof for every size covers exactly the configurations it allows."""
        where = f"model {self.model}: assumption {name}"
        if any(n == name for n, _, _ in self.scope.assumptions):
            raise ModelError(f"{where}: declared twice")
        node = condition_node(_call(where, fact), where)
        if any(isinstance(n, Var) for n in walk(node)):
            raise ModelError(f"{where} reads the state; an assumption may read only "
                             "declared functions and attributes")
        if self.scope.sizes is not None:
            if node not in (TRUE, FALSE):
                raise ModelError(f"{where}: the finite build could not decide it from the "
                                 "declared functions and attributes alone")
            if node == FALSE:
                raise ModelError(f"{where} does not hold in this configuration"
                                 + (f": {doc}" if doc else ""))
        self.scope.assumptions.append((name, node, doc))

    def element(self, name: str, over: str, doc: str = "") -> VarDecl:
        """A scalar whose value is an element of index set ``over`` (a token holder, a
        leader): an integer ``0..size-1`` in the finite build."""
        if over not in self.indices:
            raise ModelError(f"model {self.model}: element {name} of unknown index set "
                             f"{over!r}")
        self.scope.elements[name] = over
        size = self.indices[over].size
        return self.var(name, IntRange(0, max(size, 1) - 1), doc=doc)

    def count(self, name: str, bounds: Callable[[], tuple[int, int]],
              over: IndexSet | str | None = None, doc: str = "") -> VarDecl:
        """A count over the model's elements (a block's managed pages): an integer in
        ``bounds()`` in the finite build. The parametric build does not track it: it may
        hold any integer in any state, a sound over-approximation for every property
        that does not depend on it (``bounds`` may compute with sizes; it is not called
        there)."""
        if self.scope.sizes is None:
            self.scope.untracked.add(name)
            return self.var(name, IntRange(0, 0), over, doc)
        lo, hi = _call(f"model {self.model}: count {name}", bounds)
        return self.var(name, IntRange(lo, hi), over, doc)

    def var(self, name: str, domain: Domain, over: IndexSet | str | None = None,
            doc: str = "") -> VarDecl:
        if name in self.vars:
            raise ModelError(f"model {self.model}: variable {name!r} declared twice")
        if not name.isidentifier() or name.startswith("_"):
            raise ModelError(f"model {self.model}: variable name {name!r} is not an identifier")
        if isinstance(over, str) and over not in self.indices:
            known = ", ".join(self.indices) or "none"
            raise ModelError(f"model {self.model}: variable {name} ranges over unknown index "
                             f"set {over!r} (index sets: {known})")
        index = self.indices[over] if isinstance(over, str) else over
        decl = VarDecl(name, domain, index, self._offset, doc)
        self._offset += decl.width
        self.vars[name] = decl
        return decl


class Namespace:
    """Read-only attribute access to parameter or knob values (``self.p.n``)."""

    def __init__(self, kind: str, values: Mapping[str, UserValue]) -> None:
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, name: str) -> Any:
        values: dict[str, UserValue] = object.__getattribute__(self, "_values")
        if name not in values:
            raise AttributeError(f"no {object.__getattribute__(self, '_kind')} {name!r}")
        return values[name]

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("parameters and knobs are read-only")

    def items(self) -> list[tuple[str, UserValue]]:
        return sorted(object.__getattribute__(self, "_values").items())


@dataclass
class _Built:
    inits: list[State] = field(default_factory=list)
    actions: list[ActionInstance] = field(default_factory=list)
    infos: list[ActionInfo] = field(default_factory=list)
    props: list[Property] = field(default_factory=list)


class Model:
    """Base class of every model. Subclasses set ``name`` and implement ``declare``."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    knobs: ClassVar[tuple[Knob, ...]] = ()
    #: the parameters that are index-set sizes: symbolic in the parametric build
    sizes: ClassVar[tuple[str, ...]] = ()
    presets: ClassVar[dict[str, dict[str, UserValue]]] = {}
    #: Where each preset comes from (a kernel tree, a patch series), shown by ``models``.
    preset_sources: ClassVar[dict[str, str]] = {}

    def __init__(self, params: Mapping[str, Any] | None = None,
                 knobs: Mapping[str, Any] | None = None, preset: str | None = None) -> None:
        where = f"model {self.name}"
        params = dict(params or {})
        knob_values = dict(knobs or {})
        by_param = {p.name: p for p in self.params}
        by_knob = {k.name: k for k in self.knobs}
        for key in params:
            if key not in by_param:
                known = ", ".join(by_param) or "none"
                raise ModelError(f"{where}: unknown parameter {key!r} (parameters: {known})")
        chosen: dict[str, UserValue] = {k.name: k.default for k in self.knobs}
        if preset is not None:
            if preset not in self.presets:
                known = ", ".join(self.presets) or "none"
                raise ModelError(f"{where}: unknown preset {preset!r} (presets: {known})")
            chosen.update(self.presets[preset])
        for key, value in knob_values.items():
            if key not in by_knob:
                known = ", ".join(by_knob) or "none"
                raise ModelError(f"{where}: unknown knob {key!r} (knobs: {known})")
            chosen[key] = by_knob[key].check(value, where)
        self.preset = preset
        self.p = Namespace("parameter", {
            p.name: p.check(params.get(p.name, p.default), where) for p in self.params})
        self.k = Namespace("knob", chosen)

    # -- to be provided by subclasses ------------------------------------------------
    def knobs_at(self, sizes: Mapping[str, int]) -> dict[str, UserValue]:
        """The knobs of this model's finite build at other ``sizes`` (the forall engine's
        samples and re-checks): the same knobs, unless a knob describes the geometry
        (the hotplug population), which the model then redraws for the new sizes."""
        return dict(self.k.items())

    def sample_sizes(self) -> list[dict[str, int]] | None:
        """The sizes whose reachable states the forall engine samples for candidate
        invariants (None: its default, every combination of the least values and the
        next ``SAMPLE_SPAN - 1``)."""
        return None

    def check_sizes(self) -> list[dict[str, int]] | None:
        """The larger sizes the forall engine prunes its candidates at before the proof
        (None: its default, the least sizes plus 3 and plus 4)."""
        return None

    def sample_variants(self) -> list[tuple[dict[str, int], dict[str, UserValue]]]:
        """Other finite builds (sizes and knobs) that the parametric build covers as well
        as this one's, such as the hotplug model's other populations: the forall engine
        searches them (bfs) for a violation before it tries a proof, so that a claim
        for every size that fails for one of them says where. By default there are none."""
        return []

    def declare(self, d: Declarations) -> None:
        """Declare index sets and variables (``d.index``, ``d.var``)."""
        raise NotImplementedError

    def symmetry(self) -> tuple[Symmetry, ...]:
        """Index sets whose elements are interchangeable (none unless overridden).

        The explicit engine verifies the declaration on every state it stores.
        """
        return ()

    # -- building -------------------------------------------------------------------
    @classmethod
    def _marked(cls) -> list[tuple[str, Callable[..., Any], _Mark]]:
        seen: dict[str, tuple[Callable[..., Any], _Mark]] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                mark = getattr(value, "__mhp_mark__", None)
                if isinstance(mark, _Mark):
                    seen[attr] = (value, mark)
                elif attr in seen:
                    del seen[attr]
        return [(attr, fn, mark) for attr, (fn, mark) in seen.items()]

    def build(self) -> TransitionSystem:
        """Instantiate and validate everything; the result is what engines check."""
        decls = Declarations(self.name)
        with building(decls.scope):
            return self._build(decls)

    def build_parametric(self) -> Any:
        """The symbolic-size form of this model (``model.parametric``): index sets stay
        symbolic, quantifiers stay quantifiers; for the ``forall`` engine."""
        from .parametric import build_parametric
        return build_parametric(self)

    def _build_hint(self, decls: Declarations, attr: str, fn: Callable[..., Any],
                    mark: _Mark, built: _Built) -> None:
        """Hints are candidate invariants for the parametric build only."""

    def _build(self, decls: Declarations) -> TransitionSystem:
        _call(f"model {self.name}, declare", self.declare, decls)
        if not decls.vars:
            raise ModelError(f"model {self.name}: declares no variables")
        built = _Built()
        for attr, fn, mark in self._marked():
            handler = getattr(self, f"_build_{mark.role}")
            handler(decls, attr, fn, mark, built)
        if not built.inits:
            raise ModelError(f"model {self.name}: no @init method")
        if not built.actions:
            raise ModelError(f"model {self.name}: no action has an instance")
        names: set[str] = set()
        actions = {info.name for info in built.infos}
        for prop in built.props:
            unknown = [a for group in prop.about for a in group if a not in actions]
            if unknown:
                raise ModelError(f"model {self.name}: property {prop.name} is about unknown "
                                 f"actions {', '.join(unknown)}")
            for n in (prop.name, *prop.aliases):
                if n in names:
                    raise ModelError(f"model {self.name}: two properties are called {n!r}")
                names.add(n)
        symmetry = _call(f"model {self.name}, symmetry", self.symmetry)
        return TransitionSystem(
            name=self.name,
            params=tuple(self.p.items()),
            knobs=tuple(self.k.items()),
            variables=tuple(decls.vars.values()),
            init=tuple(dict.fromkeys(built.inits)),
            actions=tuple(built.actions),
            action_infos=tuple(built.infos),
            properties=tuple(built.props),
            symmetry=slot_maps(tuple(decls.vars.values()), symmetry, self.name),
            symmetry_generators=generator_maps(tuple(decls.vars.values()), symmetry),
            quantified=self._quantified(decls),
        )

    def _quantified(self, decls: Declarations) -> Any:
        """How the forall engine gets from this finite build to the parametric one."""
        from .parametric import Quantified
        return Quantified.of(self, decls)

    def _arg_values(self, decls: Declarations, where: str,
                    spec: ParamSpec) -> list[tuple[UserValue, UserValue]]:
        """(value passed to the method, value shown in traces) for each parameter value."""
        if isinstance(spec, str):
            idx = decls.indices.get(spec)
            if idx is None:
                raise ModelError(f"{where}: parameter ranges over unknown index set {spec!r}")
            return [(i, i) for i in range(idx.size)]
        if isinstance(spec, Domain):
            return [(spec.decode(c), spec.decode(c)) for c in spec.codes()]
        if not isinstance(spec, (range, tuple, list)):
            raise ModelError(f"{where}: values must be an index-set name, a Domain, a range "
                             f"or a tuple, got {spec!r}")
        return [(v, v) for v in spec]

    def _instances(self, decls: Declarations, where: str,
                   mark: _Mark) -> Iterable[dict[str, UserValue]]:
        names = [n for n, _ in mark.params]
        pools = [self._arg_values(decls, f"{where}, parameter {n}", spec)
                 for n, spec in mark.params]
        for combo in itertools.product(*pools):
            yield {n: v[0] for n, v in zip(names, combo, strict=True)}

    def _build_init(self, decls: Declarations, attr: str, fn: Callable[..., Any], mark: _Mark,
                    built: _Built) -> None:
        where = f"model {self.name}, @init {attr}"
        for args in self._instances(decls, where, mark):
            view = StateView(decls.vars, where=where)
            result = _call(where, fn, self, view, **args)
            if result is None:
                continue
            updates = _updates_of(result, where)
            slots = [decl.domain.lo for decl in decls.vars.values() for _ in range(decl.width)]
            for u in updates:
                slot = _static_slot(decls, u, where)
                if not isinstance(u.value, Const):
                    raise ModelError(f"{where}: initial value of {u.name} must be a constant")
                slots[slot] = u.value.value
            built.inits.append(tuple(slots))

    def _build_action(self, decls: Declarations, attr: str, fn: Callable[..., Any], mark: _Mark,
                      built: _Built) -> None:
        name = mark.name or attr
        where = f"model {self.name}, action {name}"
        if any(info.name == name for info in built.infos):
            raise ModelError(f"{where}: declared twice")
        doc = " ".join((fn.__doc__ or "").strip().split("\n\n")[0].split())  # first paragraph
        built.infos.append(ActionInfo(name, tuple(n for n, _ in mark.params), mark.fair,
                                      mark.cites, doc, mark.tags, mark.switch))
        for args in self._instances(decls, where, mark):
            inst_where = f"{where}({', '.join(f'{k}={v}' for k, v in args.items())})"
            view = StateView(decls.vars, where=inst_where)
            try:
                result = _call(inst_where, fn, self, view, **args)
            except ModelError as err:
                if str(err).startswith(inst_where):
                    raise
                raise ModelError(f"{inst_where}: {err}") from None
            if result is None:
                continue
            if not isinstance(result, Effect):
                raise ModelError(f"{inst_where}: must return when(...).then(...) or None, "
                                 f"got {type(result).__name__}")
            if result.guard == TRUE and not result.updates:
                raise ModelError(f"{inst_where}: an unguarded action without updates")
            seen: set[int] = set()
            for u in result.updates:
                if u.index is None or _is_const(u.index):
                    slot = _static_slot(decls, u, inst_where)
                    if slot in seen:
                        raise ModelError(f"{inst_where}: assigns {u.name} twice")
                    seen.add(slot)
            if uses_primed(result.guard):
                raise ModelError(f"{inst_where}: guard reads the post-state")
            built.actions.append(ActionInstance(
                name, tuple(args.items()), result.guard, result.updates, mark.fair, mark.cites))

    def _prop_name(self, attr: str, mark: _Mark) -> tuple[str, str]:
        return mark.name or attr.replace("_", "-"), attr

    def _bool_expr(self, value: Any, where: str) -> Expr:
        """The condition a property method returned, or a ModelError naming the method."""
        if value is None:
            raise ModelError(f"{where}: returns None; it must return a condition (a "
                             "forgotten return?)")
        return condition_node(value, where)

    def _build_invariant(self, decls: Declarations, attr: str, fn: Callable[..., Any],
                         mark: _Mark, built: _Built) -> None:
        name, _ = self._prop_name(attr, mark)
        where = f"model {self.name}, invariant {name}"
        expr = self._bool_expr(_call(where, fn, self, StateView(decls.vars, where=where)), where)
        built.props.append(Invariant(name, _doc(fn), mark.aliases, expr,
                                      about=mark.about))

    def _build_step_invariant(self, decls: Declarations, attr: str, fn: Callable[..., Any],
                              mark: _Mark, built: _Built) -> None:
        name, _ = self._prop_name(attr, mark)
        where = f"model {self.name}, step invariant {name}"
        expr = self._bool_expr(_call(where, fn, self, StateView(decls.vars, where=where),
                                     StateView(decls.vars, primed=True, where=where)), where)
        built.props.append(StepInvariant(name, _doc(fn), mark.aliases, expr,
                                      about=mark.about))

    def _build_reachable(self, decls: Declarations, attr: str, fn: Callable[..., Any],
                         mark: _Mark, built: _Built) -> None:
        name, _ = self._prop_name(attr, mark)
        where = f"model {self.name}, reachable {name}"
        expr = self._bool_expr(_call(where, fn, self, StateView(decls.vars, where=where)), where)
        built.props.append(Reachable(name, _doc(fn), mark.aliases, expr,
                                      about=mark.about))

    def _build_eventually(self, decls: Declarations, attr: str, fn: Callable[..., Any],
                          mark: _Mark, built: _Built) -> None:
        name, _ = self._prop_name(attr, mark)
        where = f"model {self.name}, eventually {name}"
        expr = self._bool_expr(_call(where, fn, self, StateView(decls.vars, where=where)), where)
        built.props.append(LeadsTo(name, _doc(fn), mark.aliases, TRUE, expr, from_init=True,
                                   about=mark.about))

    def _build_leads_to(self, decls: Declarations, attr: str, fn: Callable[..., Any],
                        mark: _Mark, built: _Built) -> None:
        name, _ = self._prop_name(attr, mark)
        where = f"model {self.name}, leads-to {name}"
        result = _call(where, fn, self, StateView(decls.vars, where=where))
        if not isinstance(result, tuple) or len(result) != 2:
            raise ModelError(f"{where}: must return (P, Q) for P ~> Q")
        lhs = self._bool_expr(result[0], where)
        rhs = self._bool_expr(result[1], where)
        built.props.append(LeadsTo(name, _doc(fn), mark.aliases, lhs, rhs, about=mark.about))


#: The modelling language's own modules: a model's mistake is located in the frame
#: below them (the model's own code), not in them.
_LANGUAGE_FILES = frozenset(str(Path(__file__).with_name(f"{m}.py")) for m in (
    "base", "dsl", "expr", "domains", "system", "symmetry"))


def _origin(err: BaseException) -> str:
    """`` (file:line)`` of the innermost frame of ``err`` in the model's own code."""
    frames = [f for f in traceback.extract_tb(err.__traceback__)
              if str(Path(f.filename).resolve()) not in _LANGUAGE_FILES]
    if not frames:
        return ""
    path = Path(frames[-1].filename)
    with contextlib.suppress(ValueError):
        path = path.resolve().relative_to(Path.cwd())
    return f" ({path}:{frames[-1].lineno})"


def _call(where: str, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """``fn(*args, **kwargs)``, a method of the model's own code run while building: any
    Python exception it raises (a ZeroDivisionError, a TypeError, a typo's NameError)
    becomes one ModelError naming the model, the method, the exception and the line,
    since a model's mistake is the user's to fix and never a traceback."""
    try:
        return fn(*args, **kwargs)
    except ModelError as err:
        if type(err) is ModelError and not str(err).startswith("model "):
            # the expression language's own errors do not know which method built them
            raise ModelError(f"{where}: {err}{_origin(err)}") from None
        raise
    except (MhpError, MemoryError):
        raise
    except Exception as err:
        raise ModelError(f"{where}: {type(err).__name__}: {err}{_origin(err)}") from err


def _doc(fn: Callable[..., Any]) -> str:
    return " ".join((fn.__doc__ or "").split())


def _is_const(expr: Expr) -> bool:
    return isinstance(expr, Const)


def _static_slot(decls: Declarations, u: Assign, where: str) -> int:
    decl = decls.vars[u.name]
    if u.index is None:
        return decl.offset
    if not isinstance(u.index, Const):
        raise ModelError(f"{where}: {u.name} needs a constant index here")
    return decl.offset + u.index.value


def _updates_of(result: Any, where: str) -> tuple[Assign, ...]:
    if isinstance(result, Effect):
        if result.guard != TRUE:
            raise ModelError(f"{where}: an initial state has no guard")
        return result.updates
    if isinstance(result, Assign):
        return (result,)
    if isinstance(result, (list, tuple)) and all(isinstance(u, Assign) for u in result):
        return tuple(result)
    raise ModelError(f"{where}: must return updates (x.becomes(v), ...) or then(...)")
