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
leave its family, an updated value its domain, or a divisor be zero, the generated
code raises a flag per state instead of failing, and the engine re-runs the flagged
states through the explicit semantics, which raise the same ``ModelError`` (or, where the explicit
evaluator short-circuits past the bad read, show that it does not matter).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from mhpcheck.model.compile import bounds, divisor_may_be_zero
from mhpcheck.model.errors import ModelError
from mhpcheck.model.expr import (
    DIVISIONS,
    And,
    Arith,
    Assign,
    Cmp,
    Const,
    Expr,
    Implies,
    Ite,
    Not,
    Or,
    Var,
)
from mhpcheck.model.system import State, TransitionSystem

Packed = npt.NDArray[np.uint64]
Mask = npt.NDArray[np.bool_]
#: A generated batch function: packed states (and post-states) -> (result, error flags).
BatchFn = Callable[..., tuple[Any, Mask | None]]

WORD_BITS = 64
MASK64 = (1 << WORD_BITS) - 1


@dataclass(frozen=True)
class Group:
    """Adjacent elements ``first .. first + count - 1`` of a family, side by side in one word."""

    first: int
    count: int
    word: int
    shift: int


@dataclass(frozen=True)
class Layout:
    """Where each slot lives in a packed state: ``bits[k]`` bits of word ``words[k]``,
    from bit ``shifts[k]`` on, holding ``value - los[k]``.

    A state of at most 64 bits is one word and its slots follow each other in order.
    A wider one is ``n_words`` words (arrays of shape ``(n_words, n)``); no slot
    straddles two words, and a family is kept in one word when it fits in one, so a
    dynamic index is one shift. As a Python int, word ``j`` of a state is its bits
    ``64 j`` to ``64 j + 63``.
    """

    shifts: tuple[int, ...]
    bits: tuple[int, ...]
    los: tuple[int, ...]
    words: tuple[int, ...]
    n_words: int = 1

    @property
    def total_bits(self) -> int:
        return sum(self.bits)

    def mask(self, slot: int) -> int:
        """The bits of ``slot`` in place (in its word)."""
        return ((1 << self.bits[slot]) - 1) << self.shifts[slot]

    def groups(self, base: int, size: int) -> list[Group]:
        """The family at slots ``base .. base + size - 1`` as runs of adjacent elements."""
        out: list[Group] = []
        for i in range(size):
            slot = base + i
            last = out[-1] if out else None
            if (last is not None and self.words[slot] == last.word
                    and self.shifts[slot] == last.shift + last.count * self.bits[base]):
                out[-1] = Group(last.first, last.count + 1, last.word, last.shift)
            else:
                out.append(Group(i, 1, self.words[slot], self.shifts[slot]))
        return out

    def pack(self, state: State) -> int:
        word = 0
        for value, shift, lo, w in zip(state, self.shifts, self.los, self.words, strict=True):
            word |= (value - lo) << (shift + WORD_BITS * w)
        return word

    def unpack(self, word: int) -> State:
        return tuple(((word >> (shift + WORD_BITS * w)) & ((1 << bits) - 1)) + lo
                     for shift, bits, lo, w in zip(self.shifts, self.bits, self.los, self.words,
                                                   strict=True))

    def array(self, words: list[int]) -> Packed:
        """Packed states (Python ints) as an array: shape ``(n,)``, or ``(n_words, n)``."""
        if self.n_words == 1:
            return np.array(words, dtype=np.uint64)
        return np.array([[(w >> (WORD_BITS * j)) & MASK64 for w in words]
                         for j in range(self.n_words)], dtype=np.uint64).reshape(
                             self.n_words, len(words))

    def pack_many(self, states: tuple[State, ...] | list[State]) -> Packed:
        return self.array([self.pack(s) for s in states])

    def ints(self, x: Packed) -> list[int]:
        """The packed states of an array as Python ints."""
        if self.n_words == 1:
            out: list[int] = x.tolist()
            return out
        cols = [x[j].tolist() for j in range(self.n_words)]
        return [sum(c << (WORD_BITS * j) for j, c in enumerate(col))
                for col in zip(*cols, strict=True)]

    def at(self, x: Packed, i: int) -> int:
        """The ``i``-th packed state of an array as a Python int."""
        if self.n_words == 1:
            return int(x[i])
        return sum(int(x[j, i]) << (WORD_BITS * j) for j in range(self.n_words))


def layout_of(ts: TransitionSystem, word_bits: int = WORD_BITS) -> Layout:
    """The packed layout of ``ts``'s states: one word when they fit in 64 bits.

    A smaller ``word_bits`` packs at most that many bits (or one slot) into a word, so
    that small states take several words (to test and measure the wide path).
    """
    widths: list[tuple[int, int, int]] = []  # (first slot, element bits, elements)
    shifts: list[int] = []
    bits: list[int] = []
    los: list[int] = []
    for v in ts.variables:
        width = (v.domain.hi - v.domain.lo).bit_length()
        widths.append((len(bits), width, v.width))
        bits += [width] * v.width
        los += [v.domain.lo] * v.width
    if sum(bits) <= min(word_bits, WORD_BITS):
        at = 0
        for b in bits:
            shifts.append(at)
            at += b
        return Layout(tuple(shifts), tuple(bits), tuple(los), (0,) * len(bits))
    # Pieces: whole families where they fit in a word, else as many elements as fit;
    # placed largest first into the first word with room (first-fit decreasing).
    pieces: list[tuple[int, int, int]] = []  # (first slot, element bits, elements)
    room = max([min(word_bits, WORD_BITS), *bits])
    for first, width, count in widths:
        if not width:
            continue
        per = room // width
        for i in range(0, count, per):
            pieces.append((first + i, width, min(per, count - i)))
    pieces.sort(key=lambda p: -p[1] * p[2])
    shifts = [0] * len(bits)
    words = [0] * len(bits)
    used: list[int] = []
    for first, width, count in pieces:
        size = width * count
        w = next((j for j, u in enumerate(used) if u + size <= room), len(used))
        if w == len(used):
            used.append(0)
        for i in range(count):
            shifts[first + i] = used[w] + i * width
            words[first + i] = w
        used[w] += size
    return Layout(tuple(shifts), tuple(bits), tuple(los), tuple(words), len(used))


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
            head.append("    err = np.zeros(x.shape[-1], np.bool_)")
        tail = f"    return {result}, {'err' if self.checked else 'None'}"
        return "\n".join([*head, *self.lines, tail]) + "\n"

    def word(self, state: str, j: int) -> str:
        """Word ``j`` of the states in ``state`` (the array itself when states are one word)."""
        return state if self.layout.n_words == 1 else f"{state}[{j}]"

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
            w = self.word(state, lay.words[slot])
            code = f"(({w} >> {lay.shifts[slot]}) & {m}).view(np.int64)"
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
        """``slot == c`` (or ``!=``) as (state, slot, mask, value bits, negated), if it is one.

        ``state`` is ``x`` for the pre-state and ``y`` for the post-state (primed reads);
        the mask and value are in the slot's word.
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
        state = "y" if var.primed else "x"
        return state, slot, lay.mask(slot), code << lay.shifts[slot], e.op == "!="

    def mask_test(self, state: str, tests: dict[int, list[int]], conj: bool) -> str:
        """``all(word & M == V)`` (``conj``) or ``any(word & M != V)`` over words' (M, V)."""
        op, join = ("==", " & ") if conj else ("!=", " | ")
        parts = [f"(({self.word(state, j)} & {m}) {op} {v})" for j, (m, v) in sorted(tests.items())]
        return parts[0] if len(parts) == 1 else "(" + join.join(parts) + ")"

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
            ix = index.code
            if lo < 0 or hi >= e.size:
                self.flag(f"(({ix} < 0) | ({ix} >= {e.size}))")
                ix = self.tmp(f"np.clip({ix}, 0, {e.size - 1})", "int").code
            if lay.bits[base] == 0:  # a one-value domain: every element reads the same
                return self.field(st, base)
            # The elements of a family are adjacent slots of one width: shift by the index
            # (within each run of the family that shares a word, then pick the run).
            width, m = lay.bits[base], (1 << lay.bits[base]) - 1
            out: _Val | None = None
            for g in lay.groups(base, e.size):
                local = ix if g.first == 0 else f"({ix} - {g.first})"
                if len(lay.groups(base, e.size)) > 1:
                    local = f"np.clip({local}, 0, {g.count - 1})"
                shift = f"({g.shift} + {width} * {local}).astype(np.uint64)"
                code = f"(({self.word(st, g.word)} >> {shift}) & {m}).view(np.int64)"
                val = self.tmp(code, "int")
                out = val if out is None else self.tmp(
                    f"np.where({ix} >= {g.first}, {val.code}, {out.code})", "int")
            assert out is not None
            if lay.los[base]:
                return self.tmp(f"({out.code} + {lay.los[base]})", "int")
            return out
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
                word, slot, mask, value, neg = test
                w = self.word(word, self.layout.words[slot])
                return self.tmp(f"({w} & {mask}) {'!=' if neg else '=='} {value}", "bool")
            a, b = self.expr(e.lhs, state), self.expr(e.rhs, state)
            if a.kind == "const" and b.kind == "const":
                r = int(_CMP[e.op](a.const, b.const))
                return _Val(str(r), "const", r)
            return self.tmp(f"({self.as_int(a)} {e.op} {self.as_int(b)})", "bool")
        if isinstance(e, Arith):
            a, b = self.expr(e.lhs, state), self.expr(e.rhs, state)
            if e.op in DIVISIONS and b.kind == "const" and b.const == 0:
                self.flag("np.ones(x.shape[-1], np.bool_)")  # raises wherever evaluated
                return _Val("0", "const", 0)
            if a.kind == "const" and b.kind == "const":
                r = _ARITH[e.op](a.const, b.const)
                return _Val(str(r), "const", r)
            x, y = self.as_int(a), self.as_int(b)
            if e.op in DIVISIONS and b.kind != "const" and divisor_may_be_zero(e):
                # flag a zero divisor and divide by 1 there (numpy would warn and give 0)
                self.flag(f"({y} == 0)")
                y = self.tmp(f"np.where({y} == 0, 1, {y})", "int").code
            if e.op in DIVISIONS:  # numpy's // and % on int64 floor, as Python's do
                return self.tmp(f"({x} {e.op} {y})", "int")
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
        """A conjunction (or disjunction), with slot tests against constants merged.

        Every operand is evaluated on every state (flagging bad reads); the reference
        check of flagged states restores the short-circuit semantics.
        """
        flat = flatten(args, conj)
        tests: dict[int, list[int]] = {}
        used: set[int] = set()
        parts: list[str] = []
        for a in flat:
            test = self._static_test(a)
            # In a conjunction, x == c tests merge; in a disjunction, x != c tests do.
            if (test is not None and test[0] == "x" and state == "x" and test[4] != conj
                    and test[1] not in used):
                _, slot, m, v, _ = test
                used.add(slot)
                mv = tests.setdefault(self.layout.words[slot], [0, 0])
                mv[0] |= m
                mv[1] |= v
                continue
            val = self.expr(a, state)
            if val.kind == "const":
                if bool(val.const) != conj:  # a false conjunct, a true disjunct
                    r = int(not conj)
                    return _Val(str(r), "const", r)
                continue
            parts.append(self.as_bool(val))
        if tests:
            parts.insert(0, self.mask_test(state, tests, conj))
        if not parts:
            r = int(conj)
            return _Val(str(r), "const", r)
        if len(parts) == 1:
            return _Val(parts[0], "bool") if parts[0].startswith("t") else self.tmp(parts[0],
                                                                                   "bool")
        return self.tmp((" & " if conj else " | ").join(parts), "bool")


def flatten(args: tuple[Expr, ...], conj: bool) -> list[Expr]:
    """The operands of a conjunction (``conj``) or disjunction, nested ones spliced in
    place, in order."""
    flat: list[Expr] = []
    todo = list(args)
    while todo:
        a = todo.pop(0)
        if (conj and isinstance(a, And)) or (not conj and isinstance(a, Or)):
            todo[0:0] = list(a.args)
        else:
            flat.append(a)
    return flat


_CMP: dict[str, Callable[[int, int], bool]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}
_ARITH: dict[str, Callable[[int, int], int]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "min": min, "max": max, "//": lambda a, b: a // b, "%": lambda a, b: a % b,
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
                em.flag("np.ones(x.shape[-1], np.bool_)")
            else:
                v = em.as_int(value)
                em.flag(f"(({v} < {u.domain.lo}) | ({v} > {u.domain.hi}))")
        base = em.offsets[u.name]
        if u.index is None:
            static[base] = value
        elif isinstance(u.index, Const):
            if not 0 <= u.index.value < u.size:
                em.flag("np.ones(x.shape[-1], np.bool_)")
            else:
                static[base + u.index.value] = value
        else:
            index = em.expr(u.index)
            dynamic.append((u, index, value))
    keep = [MASK64] * lay.n_words
    const_bits = [0] * lay.n_words
    for slot, value in static.items():
        w = lay.words[slot]
        keep[w] &= ~lay.mask(slot)
        if value.kind == "const":
            const_bits[w] |= ((value.const - lay.los[slot]) & ((1 << lay.bits[slot]) - 1)) \
                << lay.shifts[slot]
    if keep == [MASK64] * lay.n_words and not any(const_bits):
        out = em.tmp("x.copy()", "int").code
    elif lay.n_words == 1:
        out = em.tmp(f"(x & {keep[0]}) | {const_bits[0]}", "int").code
    else:
        out = em.tmp("np.empty_like(x)", "int").code
        for j in range(lay.n_words):
            if keep[j] == MASK64 and not const_bits[j]:
                em.lines.append(f"    {out}[{j}] = x[{j}]")
            else:
                em.lines.append(f"    np.bitwise_or(x[{j}] & {keep[j]}, {const_bits[j]}, "
                                f"out={out}[{j}])")
    for slot, value in static.items():
        if value.kind != "const" and lay.bits[slot]:
            em.lines.append(f"    {em.word(out, lay.words[slot])} |= {_bits(em, value, slot)}")
    for u, index, value in dynamic:
        base = em.offsets[u.name]
        lo, hi = (index.const, index.const) if index.kind == "const" else bounds(u.index)  # type: ignore[arg-type]
        ix = index.code
        if lo < 0 or hi >= u.size:
            em.flag(f"(({ix} < 0) | ({ix} >= {u.size}))")
            if index.kind != "const":
                ix = em.tmp(f"np.clip({ix}, 0, {u.size - 1})", "int").code
        if index.kind == "const":  # a constant expression as index: clipped like the rest
            ix = str(min(max(index.const, 0), u.size - 1))
        width = lay.bits[base]
        if not width:
            continue
        m = (1 << width) - 1
        code = value.code if value.kind == "bool" else f"({value.code} - {lay.los[base]})"
        bits = (f"np.uint64({(value.const - lay.los[base]) & m})" if value.kind == "const"
                else f"(({code}).astype(np.uint64) & {m})")
        groups = lay.groups(base, u.size)
        for g in groups:
            word = em.word(out, g.word)
            local = ix if g.first == 0 else f"({ix} - {g.first})"
            if len(groups) > 1:
                local = f"np.clip({local}, 0, {g.count - 1})"
            shift = em.tmp(f"np.asarray({g.shift} + {width} * {local}).astype(np.uint64)",
                           "int").code
            new = f"({word} & ~(np.uint64({m}) << {shift})) | ({bits} << {shift})"
            if len(groups) == 1:
                em.lines.append(f"    {word} = {new}")
            else:
                inside = f"({ix} >= {g.first}) & ({ix} < {g.first + g.count})"
                em.lines.append(f"    {word} = np.where({inside}, {new}, {word})")
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
        return f"np.full(x.shape[-1], {bool(v.const)})"
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


def may_fail(e: Expr) -> bool:
    """Whether evaluating ``e`` can raise: it reads a family at an index that may be outside
    it, or divides by a divisor that may be zero (interval analysis, as the explicit
    semantics decide where to check)."""
    if isinstance(e, Var) and e.index is not None and not isinstance(e.index, Const):
        lo, hi = bounds(e.index)
        if lo < 0 or hi >= e.size:
            return True
    if isinstance(e, Arith) and divisor_may_be_zero(e):
        return True
    return any(may_fail(c) for c in e.children())


def _guard_source(ts: TransitionSystem, layout: Layout, where: str, k: int,
                  guard: Expr) -> str:
    """``guard_k(x)``: the slot tests first, the rest only on the states that pass them.

    Only the slot tests that come before every conjunct that may read outside a family
    are moved first: a state failing one of them fails the guard in the explicit
    semantics too before anything that could raise is evaluated, so skipping the rest
    on it changes neither the value nor the errors.
    """
    em = _Emitter(ts, layout, where)
    conjuncts = list(guard.args) if isinstance(guard, And) else [guard]
    tests: dict[int, list[int]] = {}
    used = 0
    rest: list[Expr] = []
    for n, c in enumerate(conjuncts):
        if may_fail(c):
            rest += conjuncts[n:]
            break
        t = em._static_test(c)
        mv = tests.get(layout.words[t[1]], [0, 0]) if t is not None else [0, 0]
        if t is not None and t[0] == "x" and not t[4] and not mv[0] & t[2]:
            _, slot, m, v, _ = t
            tests[layout.words[slot]] = [mv[0] | m, mv[1] | v]
            used += 1
        else:
            rest.append(c)
    if not used or not rest:
        return em.function(f"guard_{k}", "x", _pred(em, guard))
    em_rest = _Emitter(ts, layout, where)
    tail = em_rest.as_bool(em_rest.expr(And(tuple(rest))))
    lines = [f"def guard_{k}(x_all):",
             f"    g = {em.mask_test('x_all', tests, True)}",
             "    i = np.flatnonzero(g)",
             f"    x = x_all[{'' if layout.n_words == 1 else ':, '}i]"]
    if em_rest.checked:
        lines.append("    err = np.zeros(x.shape[-1], np.bool_)")
    lines += em_rest.lines
    lines.append(f"    g[i] = {tail}")
    if em_rest.checked:
        lines += ["    err_all = np.zeros(x_all.shape[-1], np.bool_)", "    err_all[i] = err",
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
    return em.ts.var_at(slot).domain.size


def _monotone(em: _Emitter, guard: Expr, updates: tuple[Assign, ...]) -> bool:
    if em.layout.n_words != 1:  # wide states are ordered by a hash: nothing is monotone
        return False
    written = 0
    for u in updates:
        if not isinstance(u.value, Const) or (u.index is not None
                                              and not isinstance(u.index, Const)):
            return False
        slot = em.offsets[u.name] + (0 if u.index is None else u.index.value)
        written |= em.layout.mask(slot)
    return written & ~_fixed_bits(em, guard) == 0


def compile_batch(ts: TransitionSystem, layout: Layout | None = None) -> BatchSystem:
    """Generate and compile the batch guard and post-state function of every action."""
    layout = layout or layout_of(ts)
    chunks: list[str] = []
    ns: dict[str, Any] = {"np": np}
    flags: list[tuple[bool, bool, bool]] = []
    for k, inst in enumerate(ts.actions):
        where = f"model {ts.name}, action {inst.label}"
        em = _Emitter(ts, layout, where)
        g = em.expr(inst.guard)
        # A constant guard whose evaluation may still raise keeps its function.
        never = g.kind == "const" and not g.const and not em.checked
        always = g.kind == "const" and bool(g.const) and not em.checked
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
