"""The batch semantics: the IR compiled into numpy code over arrays of packed states.

A state whose slots fit in 64 bits is packed into one ``uint64``: slot ``k`` holds
``value - domain.lo`` in ``bits[k]`` bits from bit ``shift[k]`` on (``Layout``). Every
guard, update and property is then compiled once into generated Python source whose
statements are numpy operations over a whole array of packed states, one operation
per IR node, so one call evaluates a guard on a BFS frontier of many thousands of
states.

Two shapes are special-cased because they dominate guarded-action models: a
comparison of a slot with a constant (``pc[3] == 1``) becomes a mask test on the
packed word, and a conjunction of such tests is merged into one test
``(x & M) == V``; constant updates of fixed slots become ``(x & ~M) | V``.

Errors keep the reference semantics (``model.compile``): where a dynamic index may
leave its family, or an updated value its domain, the generated code raises a flag
per state instead of failing, and the engine re-runs the flagged states through the
explicit semantics, which raise the same ``ModelError`` (or, where the explicit
evaluator short-circuits past the bad read, show that it does not matter).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from mhpcheck.model.compile import bounds
from mhpcheck.model.errors import ModelError
from mhpcheck.model.expr import And, Arith, Assign, Cmp, Const, Expr, Implies, Ite, Not, Or, Var
from mhpcheck.model.system import State, TransitionSystem

Packed = npt.NDArray[np.uint64]
Mask = npt.NDArray[np.bool_]
#: A generated batch function: packed states (and post-states) -> (result, error flags).
BatchFn = Callable[..., tuple[Any, Mask | None]]

WORD_BITS = 64


@dataclass(frozen=True)
class Layout:
    """Where each slot lives in a packed 64-bit state."""

    shifts: tuple[int, ...]
    bits: tuple[int, ...]
    los: tuple[int, ...]

    @property
    def total_bits(self) -> int:
        return (self.shifts[-1] + self.bits[-1]) if self.shifts else 0

    def mask(self, slot: int) -> int:
        """The bits of ``slot`` in place."""
        return ((1 << self.bits[slot]) - 1) << self.shifts[slot]

    def pack(self, state: State) -> int:
        word = 0
        for value, shift, lo in zip(state, self.shifts, self.los, strict=True):
            word |= (value - lo) << shift
        return word

    def unpack(self, word: int) -> State:
        return tuple(((word >> shift) & ((1 << bits) - 1)) + lo
                     for shift, bits, lo in zip(self.shifts, self.bits, self.los, strict=True))

    def pack_many(self, states: tuple[State, ...] | list[State]) -> Packed:
        return np.array([self.pack(s) for s in states], dtype=np.uint64)


def layout_of(ts: TransitionSystem) -> Layout | None:
    """The packed layout of ``ts``'s states, or None when they need more than 64 bits."""
    shifts: list[int] = []
    bits: list[int] = []
    los: list[int] = []
    at = 0
    for v in ts.variables:
        width = (v.domain.hi - v.domain.lo).bit_length()
        for _ in range(v.width):
            shifts.append(at)
            bits.append(width)
            los.append(v.domain.lo)
            at += width
    if at > WORD_BITS:
        return None
    return Layout(tuple(shifts), tuple(bits), tuple(los))


Kind = Literal["const", "bool", "int"]


@dataclass(frozen=True)
class _Val:
    """An emitted value: Python source, and whether it is a constant, a bool or an int array."""

    code: str
    kind: Kind
    const: int = 0


class _Emitter:
    """Generated numpy statements for one batch function, with common subexpressions shared."""

    def __init__(self, ts: TransitionSystem, layout: Layout, where: str) -> None:
        self.ts = ts
        self.layout = layout
        self.offsets = {v.name: v.offset for v in ts.variables}
        self.where = where
        self.lines: list[str] = []
        self.cache: dict[tuple[str, Expr], _Val] = {}
        self.fields: dict[tuple[str, int], _Val] = {}
        self.n_tmp = 0
        self.checked = False

    # -- statements --------------------------------------------------------------------
    def tmp(self, code: str, kind: Kind) -> _Val:
        name = f"t{self.n_tmp}"
        self.n_tmp += 1
        self.lines.append(f"    {name} = {code}")
        return _Val(name, kind)

    def flag(self, code: str) -> None:
        """Mark the states where ``code`` (a bool array) holds as needing the reference check."""
        self.lines.append(f"    err |= {code}")
        self.checked = True

    def function(self, name: str, args: str, result: str) -> str:
        head = [f"def {name}({args}):"]
        if self.checked:
            head.append("    err = np.zeros(x.shape, np.bool_)")
        tail = f"    return {result}, {'err' if self.checked else 'None'}"
        return "\n".join([*head, *self.lines, tail]) + "\n"

    # -- values ------------------------------------------------------------------------
    def field(self, state: str, slot: int) -> _Val:
        """The value of ``slot`` as an int64 array (or a constant for a one-value domain)."""
        key = (state, slot)
        if key in self.fields:
            return self.fields[key]
        lay = self.layout
        if lay.bits[slot] == 0:
            val = _Val(str(lay.los[slot]), "const", lay.los[slot])
        else:
            m = (1 << lay.bits[slot]) - 1
            code = f"(({state} >> {lay.shifts[slot]}) & {m}).view(np.int64)"
            if lay.los[slot]:
                code = f"({code} + {lay.los[slot]})"
            val = self.tmp(code, "int")
        self.fields[key] = val
        return val

    def as_bool(self, v: _Val) -> str:
        if v.kind == "bool":
            return v.code
        if v.kind == "const":
            return "True" if v.const else "False"
        return f"({v.code} != 0)"

    def as_int(self, v: _Val) -> str:
        if v.kind == "bool":
            return f"{v.code}.astype(np.int64)"
        return v.code

    def expr(self, e: Expr, state: str = "x") -> _Val:
        if isinstance(e, Const):
            return _Val(str(e.value), "const", e.value)
        key = (state, e)
        if key not in self.cache:
            self.cache[key] = self._expr(e, state)
        return self.cache[key]

    def _static_test(self, e: Expr) -> tuple[str, int, int, int, bool] | None:
        """``slot == c`` (or ``!=``) as (word, slot, mask, value bits, negated), if it is one.

        ``word`` is ``x`` for the pre-state and ``y`` for the post-state (primed reads).
        """
        if not isinstance(e, Cmp) or e.op not in ("==", "!="):
            return None
        var, const = e.lhs, e.rhs
        if isinstance(var, Const):
            var, const = const, var
        if not (isinstance(var, Var) and isinstance(const, Const)):
            return None
        if var.index is not None and not isinstance(var.index, Const):
            return None
        slot = self.offsets[var.name] + (0 if var.index is None else var.index.value)
        lay = self.layout
        code = const.value - lay.los[slot]
        if not 0 <= code < (1 << lay.bits[slot]) or lay.bits[slot] == 0:
            return None  # constant outside the slot, or a one-value slot: general path
        word = "y" if var.primed else "x"
        return word, slot, lay.mask(slot), code << lay.shifts[slot], e.op == "!="

    def _expr(self, e: Expr, state: str) -> _Val:
        where = self.where
        if isinstance(e, Var):
            st = "y" if e.primed else state
            base = self.offsets[e.name]
            if e.index is None:
                return self.field(st, base)
            index = self.expr(e.index, state)
            if index.kind == "const":
                if not 0 <= index.const < e.size:
                    raise ModelError(f"{where}: index {index.const} of {e.name} outside "
                                     f"0..{e.size - 1}")
                return self.field(st, base + index.const)
            lo, hi = bounds(e.index)
            lay = self.layout
            first = base
            ix = index.code
            if lo < 0 or hi >= e.size:
                self.flag(f"(({ix} < 0) | ({ix} >= {e.size}))")
                ix = self.tmp(f"np.clip({ix}, 0, {e.size - 1})", "int").code
            if lay.bits[first] == 0:  # a one-value domain: every element reads the same
                return self.field(st, first)
            # The elements of a family are adjacent slots of one width: shift by the index.
            width, m = lay.bits[first], (1 << lay.bits[first]) - 1
            shift = f"({lay.shifts[first]} + {width} * {ix}).astype(np.uint64)"
            code = f"(({st} >> {shift}) & {m}).view(np.int64)"
            if lay.los[first]:
                code = f"({code} + {lay.los[first]})"
            return self.tmp(code, "int")
        if isinstance(e, Not):
            a = self.expr(e.arg, state)
            if a.kind == "const":
                return _Val(str(int(not a.const)), "const", int(not a.const))
            return self.tmp(f"~{self.as_bool(a)}", "bool")
        if isinstance(e, And):
            return self._junction(e.args, state, conj=True)
        if isinstance(e, Or):
            return self._junction(e.args, state, conj=False)
        if isinstance(e, Implies):
            return self._junction((Not(e.lhs), e.rhs), state, conj=False)
        if isinstance(e, Cmp):
            test = self._static_test(e)
            if test is not None:
                word, _, mask, value, neg = test
                return self.tmp(f"({word} & {mask}) {'!=' if neg else '=='} {value}", "bool")
            a, b = self.expr(e.lhs, state), self.expr(e.rhs, state)
            if a.kind == "const" and b.kind == "const":
                r = int(_CMP[e.op](a.const, b.const))
                return _Val(str(r), "const", r)
            return self.tmp(f"({self.as_int(a)} {e.op} {self.as_int(b)})", "bool")
        if isinstance(e, Arith):
            a, b = self.expr(e.lhs, state), self.expr(e.rhs, state)
            if a.kind == "const" and b.kind == "const":
                r = _ARITH[e.op](a.const, b.const)
                return _Val(str(r), "const", r)
            x, y = self.as_int(a), self.as_int(b)
            if e.op == "min":
                return self.tmp(f"np.minimum({x}, {y})", "int")
            if e.op == "max":
                return self.tmp(f"np.maximum({x}, {y})", "int")
            return self.tmp(f"({x} {e.op} {y})", "int")
        if isinstance(e, Ite):
            c = self.expr(e.cond, state)
            if c.kind == "const":
                return self.expr(e.then if c.const else e.orelse, state)
            a, b = self.expr(e.then, state), self.expr(e.orelse, state)
            if a.kind == "bool" and b.kind == "bool":
                return self.tmp(f"np.where({c.code}, {a.code}, {b.code})", "bool")
            return self.tmp(f"np.where({self.as_bool(c)}, {self.as_int(a)}, {self.as_int(b)})",
                            "int")
        raise ModelError(f"{where}: unknown expression node {type(e).__name__}")

    def _junction(self, args: tuple[Expr, ...], state: str, conj: bool) -> _Val:
        """A conjunction (or disjunction), with slot tests against constants merged."""
        flat: list[Expr] = []
        todo = list(args)
        while todo:
            a = todo.pop(0)
            if (conj and isinstance(a, And)) or (not conj and isinstance(a, Or)):
                todo[0:0] = list(a.args)
            else:
                flat.append(a)
        mask = value = 0
        used: set[int] = set()
        parts: list[str] = []
        for a in flat:
            test = self._static_test(a)
            # In a conjunction, x == c tests merge; in a disjunction, x != c tests do.
            if test is not None and test[0] == "x" and test[4] != conj and test[1] not in used:
                _, slot, m, v, _ = test
                used.add(slot)
                mask |= m
                value |= v
                continue
            val = self.expr(a, state)
            if val.kind == "const":
                if bool(val.const) != conj:  # a false conjunct, a true disjunct
                    r = int(not conj)
                    return _Val(str(r), "const", r)
                continue
            parts.append(self.as_bool(val))
        if mask:
            parts.insert(0, f"(({state} & {mask}) {'==' if conj else '!='} {value})")
        if not parts:
            r = int(conj)
            return _Val(str(r), "const", r)
        if len(parts) == 1:
            return _Val(parts[0], "bool") if parts[0].startswith("t") else self.tmp(parts[0],
                                                                                   "bool")
        return self.tmp((" & " if conj else " | ").join(parts), "bool")


_CMP: dict[str, Callable[[int, int], bool]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}
_ARITH: dict[str, Callable[[int, int], int]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "min": min, "max": max,
}


def _update_lines(em: _Emitter, updates: tuple[Assign, ...]) -> str:
    """Emit the post-state of ``updates`` over ``x``; returns the name holding it."""
    lay = em.layout
    static: dict[int, _Val] = {}
    dynamic: list[tuple[Assign, _Val, _Val]] = []
    for u in updates:
        value = em.expr(u.value)
        lo, hi = bounds(u.value) if value.kind != "const" else (value.const, value.const)
        if value.kind == "bool":
            lo, hi = 0, 1
        if lo < u.domain.lo or hi > u.domain.hi:
            if value.kind == "const":
                em.flag("np.ones(x.shape, np.bool_)")
            else:
                v = em.as_int(value)
                em.flag(f"(({v} < {u.domain.lo}) | ({v} > {u.domain.hi}))")
        base = em.offsets[u.name]
        if u.index is None:
            static[base] = value
        elif isinstance(u.index, Const):
            if not 0 <= u.index.value < u.size:
                em.flag("np.ones(x.shape, np.bool_)")
            else:
                static[base + u.index.value] = value
        else:
            index = em.expr(u.index)
            dynamic.append((u, index, value))
    keep = (1 << WORD_BITS) - 1
    const_bits = 0
    for slot, value in static.items():
        keep &= ~lay.mask(slot)
        if value.kind == "const":
            const_bits |= ((value.const - lay.los[slot]) & ((1 << lay.bits[slot]) - 1)) \
                << lay.shifts[slot]
    out = em.tmp(f"(x & {keep}) | {const_bits}" if keep != (1 << WORD_BITS) - 1 or const_bits
                 else "x.copy()", "int").code
    for slot, value in static.items():
        if value.kind != "const" and lay.bits[slot]:
            em.lines.append(f"    {out} |= {_bits(em, value, slot)}")
    for u, index, value in dynamic:
        base = em.offsets[u.name]
        lo, hi = (index.const, index.const) if index.kind == "const" else bounds(u.index)  # type: ignore[arg-type]
        ix = index.code
        if lo < 0 or hi >= u.size:
            em.flag(f"(({ix} < 0) | ({ix} >= {u.size}))")
            if index.kind != "const":
                ix = em.tmp(f"np.clip({ix}, 0, {u.size - 1})", "int").code
        width = lay.bits[base]
        if not width:
            continue
        m = (1 << width) - 1
        shift = em.tmp(f"({lay.shifts[base]} + {width} * {ix}).astype(np.uint64)", "int").code
        code = value.code if value.kind == "bool" else f"({value.code} - {lay.los[base]})"
        bits = (f"np.uint64({(value.const - lay.los[base]) & m})" if value.kind == "const"
                else f"(({code}).astype(np.uint64) & {m})")
        em.lines.append(f"    {out} = ({out} & ~(np.uint64({m}) << {shift})) | ({bits} << {shift})")
    return out


def _bits(em: _Emitter, value: _Val, slot: int) -> str:
    """``value`` shifted into ``slot``'s bits, as uint64 (out-of-domain values masked)."""
    lay = em.layout
    m = (1 << lay.bits[slot]) - 1
    if value.kind == "const":
        return str(((value.const - lay.los[slot]) & m) << lay.shifts[slot])
    code = value.code if value.kind == "bool" else f"({value.code} - {lay.los[slot]})"
    return f"((({code}).astype(np.uint64) & {m}) << {lay.shifts[slot]})"


@dataclass(frozen=True)
class BatchAction:
    """One action instance over arrays: ``guard(x)`` and ``post(x)`` (on enabled states).

    ``guard`` is None when the guard is constantly true; ``never`` when constantly false.
    """

    guard: BatchFn | None
    post: BatchFn
    never: bool
    #: The post-states come out in the order of the (sorted) pre-states: the update only
    #: writes constants into slots whose value the guard fixes, so it adds a constant.
    monotone: bool = False


@dataclass(frozen=True)
class BatchSystem:
    """The batch semantics of one transition system."""

    ts: TransitionSystem
    layout: Layout
    actions: tuple[BatchAction, ...]
    source: str

    def predicate(self, expr: Expr, where: str = "property") -> BatchFn:
        """``pred(x) -> (bool array, flags)`` for a state property."""
        return _compile_one(self.ts, self.layout, where, lambda em: _pred(em, expr), "x")

    def step_predicate(self, expr: Expr, where: str = "property") -> BatchFn:
        """``pred(x, y) -> (bool array, flags)`` over pre-states ``x`` and post-states ``y``."""
        return _compile_one(self.ts, self.layout, where, lambda em: _pred(em, expr), "x, y")


def _pred(em: _Emitter, expr: Expr) -> str:
    v = em.expr(expr)
    if v.kind == "const":
        return f"np.full(x.shape, {bool(v.const)})"
    return em.as_bool(v)


def _compile_one(ts: TransitionSystem, layout: Layout, where: str,
                 body: Callable[[_Emitter], str], args: str) -> BatchFn:
    em = _Emitter(ts, layout, where)
    result = body(em)
    src = em.function("fn", args, result)
    ns: dict[str, Any] = {"np": np}
    exec(compile(src, f"<{ts.name}:{where}:batch>", "exec"), ns)
    fn: BatchFn = ns["fn"]
    return fn


def _guard_source(ts: TransitionSystem, layout: Layout, where: str, k: int,
                  guard: Expr) -> str:
    """``guard_k(x)``: the slot tests first, the rest only on the states that pass them.

    Reordering conjuncts keeps the value of the guard; only a malformed model whose
    later conjunct reads outside a family where an earlier test fails could differ
    (the explicit semantics would report the bad read; here it is never evaluated).
    """
    em = _Emitter(ts, layout, where)
    conjuncts = list(guard.args) if isinstance(guard, And) else [guard]
    mask = value = 0
    rest: list[Expr] = []
    for c in conjuncts:
        t = em._static_test(c)
        if t is not None and t[0] == "x" and not t[4] and not t[2] & mask:
            mask, value = mask | t[2], value | t[3]
        else:
            rest.append(c)
    if not mask or not rest:
        return em.function(f"guard_{k}", "x", em.as_bool(em.expr(guard)))
    em_rest = _Emitter(ts, layout, where)
    tail = em_rest.as_bool(em_rest.expr(And(tuple(rest))))
    lines = [f"def guard_{k}(x_all):",
             f"    g = (x_all & {mask}) == {value}",
             "    i = np.flatnonzero(g)",
             "    x = x_all[i]"]
    if em_rest.checked:
        lines.append("    err = np.zeros(x.shape, np.bool_)")
    lines += em_rest.lines
    lines.append(f"    g[i] = {tail}")
    if em_rest.checked:
        lines += ["    err_all = np.zeros(x_all.shape, np.bool_)", "    err_all[i] = err",
                  "    return g, err_all"]
    else:
        lines.append("    return g, None")
    return "\n".join(lines) + "\n"


def _fixed_bits(em: _Emitter, guard: Expr) -> int:
    """The bits of the pre-state that ``guard`` pins to one value (slot == constant tests)."""
    todo, mask = [guard], 0
    while todo:
        e = todo.pop()
        if isinstance(e, And):
            todo.extend(e.args)
            continue
        test = em._static_test(e)
        if test is None or test[0] != "x":
            continue
        _, slot, m, _, neg = test
        dom = em.layout.bits[slot]
        if not neg or (dom == 1 and _slot_codes(em, slot) == 2):
            mask |= m
    return mask


def _slot_codes(em: _Emitter, slot: int) -> int:
    for v in em.ts.variables:
        if v.offset <= slot < v.offset + v.width:
            return v.domain.size
    return 0


def _monotone(em: _Emitter, guard: Expr, updates: tuple[Assign, ...]) -> bool:
    written = 0
    for u in updates:
        if not isinstance(u.value, Const) or (u.index is not None
                                              and not isinstance(u.index, Const)):
            return False
        slot = em.offsets[u.name] + (0 if u.index is None else u.index.value)
        written |= em.layout.mask(slot)
    return written & ~_fixed_bits(em, guard) == 0


def compile_batch(ts: TransitionSystem, layout: Layout) -> BatchSystem:
    """Generate and compile the batch guard and post-state function of every action."""
    chunks: list[str] = []
    ns: dict[str, Any] = {"np": np}
    flags: list[tuple[bool, bool, bool]] = []
    for k, inst in enumerate(ts.actions):
        where = f"model {ts.name}, action {inst.label}"
        em = _Emitter(ts, layout, where)
        g = em.expr(inst.guard)
        never = g.kind == "const" and not g.const
        always = g.kind == "const" and bool(g.const)
        if not always and not never:
            chunks.append(_guard_source(ts, layout, where, k, inst.guard))
        em = _Emitter(ts, layout, where)
        out = _update_lines(em, inst.updates)
        chunks.append(em.function(f"post_{k}", "x", out))
        flags.append((always, never, _monotone(em, inst.guard, inst.updates)))
    source = "\n".join(chunks)
    exec(compile(source, f"<{ts.name}:batch>", "exec"), ns)
    actions = tuple(
        BatchAction(None if always or never else ns[f"guard_{k}"], ns[f"post_{k}"], never,
                    monotone)
        for k, (always, never, monotone) in enumerate(flags))
    return BatchSystem(ts, layout, actions, source)
