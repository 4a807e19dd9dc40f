"""Spec files: TOML naming a model, its parameters and knobs, and checks with expectations.

    model = "philosophers"
    params = { n = 8 }
    knobs = { broken = false }      # optional
    preset = "legacy"               # optional, applied before knobs

    [[check]]
    property = "deadlock-free"
    engine = "bfs"                  # default bfs
    expect = "violated"
    expect_states = 1154            # optional: pinned distinct-state count
    expect_trace_length = 8         # optional: steps of the shortest counterexample
    max_depth = 20                  # optional bounds: max_depth, max_states, timeout

With ``engine = "simulate"`` (random walks) ``max_depth`` is the depth of each walk, and
``runs`` (how many walks) and ``seed`` (which walks) may be given; such a check can
expect "violated", "reachable", "holds-up-to-bound" or "unknown", never a conclusion
that needs the whole state space.

Instead of ``property``, a check may state a property of its own:
``invariant_expr = "forall i in phil: pc[i] == eating implies fork[i]"`` or
``reachable_expr = "..."`` (the language of ``model.exprparse``).

Every problem is a SpecError naming the file and the key.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mhpcheck.checker.checker import ENGINES, admit, get_engine
from mhpcheck.checker.engine import Options
from mhpcheck.checker.explicit.bfs import SAFETY_KINDS
from mhpcheck.checker.result import Budget
from mhpcheck.model.compile import check_fits
from mhpcheck.model.errors import MhpError, ModelError, ResourceLimit, SpecError, UsageError
from mhpcheck.model.exprparse import parse_property_name, property_name, with_named_property
from mhpcheck.model.system import Invariant, TransitionSystem
from mhpcheck.model.textfile import read_text_file
from mhpcheck.registry import model_class, model_source

EXPECTATIONS = ("holds", "violated", "reachable", "unreachable", "proved", "holds-up-to-bound",
                "unknown", "vacuous")
TOP_KEYS = {"model", "params", "knobs", "preset", "check", "description", "tier"}
CHECK_KEYS = {"property", "engine", "expect", "expect_states", "expect_trace_length",
              "max_depth", "max_states", "timeout", "note", "invariants", "symmetry",
              "invariant_expr", "reachable_expr", "runs", "seed"}
#: What a random simulation can conclude (it samples: never "holds" or "unreachable").
SIMULATE_EXPECTATIONS = ("violated", "reachable", "holds-up-to-bound", "unknown")
#: Keys that state a property of the user's own instead of naming one (model/exprparse).
EXPR_KEYS = {"invariant_expr": "invariant", "reachable_expr": "reachable"}


@dataclass(frozen=True)
class Check:
    """One ``[[check]]`` entry: which property, with which engine, expecting what."""

    property: str
    engine: str
    expect: str
    budget: Budget
    expect_states: int | None = None
    expect_trace_length: int | None = None
    note: str = ""
    invariants: tuple[str, ...] = ()  # for engine "inductive": strengthening invariants
    key: str = ""  # "check[3]", for messages
    symmetry: bool = False  # explore one state per orbit of the model's symmetry (bfs)
    runs: int | None = None  # engine simulate: how many walks (None: its default)
    seed: int | None = None  # engine simulate: which walks (None: its default seed)


@dataclass(frozen=True)
class Spec:
    """A parsed spec file."""

    path: str
    model: str
    params: tuple[tuple[str, Any], ...]
    knobs: tuple[tuple[str, Any], ...]
    preset: str | None
    checks: tuple[Check, ...]
    description: str = ""
    tier: str = "default"


def _get(table: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str,
         required: bool = False, default: Any = None) -> Any:
    if key not in table:
        if required:
            raise SpecError(f"{where}: missing key '{key}'")
        return default
    value = table[key]
    if isinstance(value, bool) and kind is int:
        raise SpecError(f"{where}: key '{key}' must be an integer, got {value!r}")
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise SpecError(f"{where}: key '{key}' must be {names}, got {value!r}")
    return value


def _check(raw: Any, where: str, key: str) -> Check:
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: {key} must be a table")
    here = f"{where}: {key}"
    unknown = sorted(set(raw) - CHECK_KEYS)
    if unknown:
        keys = ", ".join(sorted(CHECK_KEYS))
        raise SpecError(f"{here}: unknown key '{unknown[0]}' (keys: {keys})")
    expect = _get(raw, "expect", str, here, required=True)
    if expect not in EXPECTATIONS:
        raise SpecError(f"{here}: key 'expect' must be one of {', '.join(EXPECTATIONS)}, "
                        f"got {expect!r}")
    timeout = _get(raw, "timeout", (int, float), here)
    if timeout is not None and (isinstance(timeout, bool) or not math.isfinite(timeout)
                                or timeout < 0):
        raise SpecError(f"{here}: key 'timeout' must be a finite number of seconds, at least "
                        f"0, got {timeout!r}")
    for name in ("max_depth", "max_states", "expect_states", "expect_trace_length"):
        value = _get(raw, name, int, here)
        if value is not None and value < 0:
            raise SpecError(f"{here}: key '{name}' must not be negative")
    invariants = _get(raw, "invariants", list, here, default=[])
    if not all(isinstance(x, str) for x in invariants):
        raise SpecError(f"{here}: key 'invariants' must be a list of property names")
    engine = _get(raw, "engine", str, here, default="bfs")
    if engine not in ENGINES:
        raise SpecError(f"{here}: key 'engine': unknown engine {engine!r} "
                        f"(engines: {', '.join(ENGINES)})")
    if invariants and engine != "inductive":
        raise SpecError(f"{here}: key 'invariants': only engine inductive takes "
                        f"strengthening invariants, not {engine}")
    symmetry = _get(raw, "symmetry", bool, here, default=False)
    if symmetry and engine != "bfs":
        raise SpecError(f"{here}: key 'symmetry': only engine bfs reduces by symmetry")
    runs, seed = _walks(raw, here, engine, expect)
    return Check(
        property=_property(raw, here),
        engine=engine,
        expect=expect,
        budget=Budget(_get(raw, "max_depth", int, here), _get(raw, "max_states", int, here),
                      None if timeout is None else float(timeout)),
        expect_states=_get(raw, "expect_states", int, here),
        expect_trace_length=_get(raw, "expect_trace_length", int, here),
        note=_get(raw, "note", str, here, default=""),
        invariants=tuple(invariants),
        key=key,
        symmetry=symmetry,
        runs=runs,
        seed=seed,
    )


def _walks(raw: dict[str, Any], here: str, engine: str, expect: str) -> \
        tuple[int | None, int | None]:
    """The keys 'runs' (1 or more) and 'seed' (0 or more) of a simulate check; refused
    for other engines, as is an expectation a random simulation can never meet."""
    runs = _get(raw, "runs", int, here)
    seed = _get(raw, "seed", int, here)
    for name, value, least in (("runs", runs, 1), ("seed", seed, 0)):
        if value is None:
            continue
        if engine != "simulate":
            raise SpecError(f"{here}: key '{name}': only engine simulate takes {name}, "
                            f"not {engine}")
        if value < least:
            raise SpecError(f"{here}: key '{name}' must be {least} or more, got {value}")
    if engine == "simulate" and expect not in SIMULATE_EXPECTATIONS:
        raise SpecError(f"{here}: key 'expect': engine simulate samples the state space "
                        f"and never concludes {expect!r}; expect one of "
                        f"{', '.join(SIMULATE_EXPECTATIONS)}")
    return runs, seed


def _property(raw: dict[str, Any], here: str) -> str:
    """The check's property name: its key 'property', or the name of the property that
    'invariant_expr' or 'reachable_expr' states (added to the system by ``resolve``)."""
    own = [key for key in EXPR_KEYS if key in raw]
    if not own:
        return str(_get(raw, "property", str, here, required=True))
    if len(own) > 1 or "property" in raw:
        raise SpecError(f"{here}: give one of the keys 'property', 'invariant_expr' and "
                        "'reachable_expr'")
    return property_name(EXPR_KEYS[own[0]], _get(raw, own[0], str, here))


def parse_spec(text: str, path: str) -> Spec:
    """Parse and validate the spec ``text`` read from ``path``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{path}: TOML syntax error: {err}") from None
    except RecursionError:
        raise SpecError(f"{path}: TOML nested too deeply") from None
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        keys = ", ".join(sorted(TOP_KEYS))
        raise SpecError(f"{path}: unknown key '{unknown[0]}' (keys: {keys})")
    model = _get(data, "model", str, path, required=True)
    params = _get(data, "params", dict, path, default={})
    knobs = _get(data, "knobs", dict, path, default={})
    preset = _get(data, "preset", str, path)
    raw_checks = _get(data, "check", list, path, required=True)
    if not raw_checks:
        raise SpecError(f"{path}: key 'check' has no entries")
    checks = tuple(_check(raw, path, f"check[{i + 1}]") for i, raw in enumerate(raw_checks))
    return Spec(path, model, tuple(sorted(params.items())), tuple(sorted(knobs.items())), preset,
                checks, _get(data, "description", str, path, default=""),
                _get(data, "tier", str, path, default="default"))


def resolve(spec: Spec) -> TransitionSystem:
    """Build the spec's system, naming the key at fault for an unknown model, parameter,
    knob, preset or property."""
    base = Path(spec.path).parent  # a model file is named relative to the spec
    try:
        cls = model_class(spec.model, base)
        source = model_source(spec.model, base)
    except (ModelError, UsageError) as err:
        raise SpecError(f"{spec.path}: key 'model': {err}") from None
    try:
        instance = cls(dict(spec.params), dict(spec.knobs), spec.preset)
    except ModelError as err:
        text = str(err)
        key = "preset" if "preset" in text else "knobs" if "knob" in text else "params"
        raise SpecError(f"{spec.path}: key '{key}': {text}") from None
    try:
        ts = replace(instance.build(), source=source)
    except ModelError as err:
        raise SpecError(f"{spec.path}: {err}") from None
    try:
        check_fits(ts)
    except ResourceLimit as err:
        raise ResourceLimit(f"{spec.path}: {err}") from None
    for check in spec.checks:
        own = parse_property_name(check.property)
        try:
            ts = with_named_property(ts, check.property)
        except MhpError as err:
            key = f"{own[0] if own else 'property'}_expr"
            raise SpecError(f"{spec.path}: {check.key}: key '{key}': {err}") from None
        try:
            prop = ts.property(check.property)
        except ModelError as err:
            raise SpecError(f"{spec.path}: {check.key}: key 'property': {err}") from None
        for extra in check.invariants:
            try:
                strengthen = ts.property(extra)
            except ModelError as err:
                raise SpecError(f"{spec.path}: {check.key}: key 'invariants': {err}") from None
            if not isinstance(strengthen, Invariant):
                raise SpecError(f"{spec.path}: {check.key}: key 'invariants': {extra} is a "
                                f"{strengthen.kind} property; only invariants strengthen")
        if check.symmetry and not isinstance(prop, SAFETY_KINDS):
            raise SpecError(f"{spec.path}: {check.key}: key 'symmetry': symmetry reduction "
                            f"works on safety properties only, and {prop.name} is a "
                            f"{prop.kind} property")
        try:  # the Checker's own rule, before the first check of any spec runs
            admit(get_engine(check.engine), [prop],
                  Options(symmetry=check.symmetry, invariants=check.invariants,
                          runs=check.runs, seed=check.seed))
        except MhpError as err:
            raise SpecError(f"{spec.path}: {check.key}: key 'engine': {err}") from None
    return ts


#: A spec is a few kilobytes; anything much larger is not one (and is not read whole).
MAX_SPEC_BYTES = 1 << 20


def load_spec(path: str | Path) -> Spec:
    """Read and validate one spec file."""
    return parse_spec(read_text_file(path, "spec file", SpecError, MAX_SPEC_BYTES), str(path))


def _natural(path: Path) -> list[Any]:
    """Sort key that puts n8 before n10."""
    return [int(part) if part.isdigit() else part
            for part in re.split(r"(\d+)", str(path))]


def collect(paths: list[str]) -> list[Path]:
    """Spec files named by ``paths``: files as given, folders searched for *.toml in
    natural order (n8 before n10)."""
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found.extend(sorted(p.rglob("*.toml"), key=_natural))
        elif p.exists():  # a FIFO or a device too: load_spec says what it is
            found.append(p)
        else:
            raise SpecError(f"{raw}: no such file or folder")
    return found
