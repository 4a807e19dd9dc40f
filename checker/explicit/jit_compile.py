"""The compiled semantics of ``bfs-jit``: the IR as scalar Python source for numba.

Every guard, update and safety property becomes straight-line Python over the words
of one packed state (``x0``, ``x1``... as ``uint64``; ``y0``... for the post-state),
laid out as ``vector_compile.Layout`` says. The source of the whole search kernel
(``jit_kernels``) is assembled around it and compiled by numba to machine code; the
compiled module is cached on disk under the hash of its source (``load``).

The scalar code keeps the explicit semantics' evaluation order: ``and``, ``or``,
implication and if-then-else short-circuit exactly as ``model.compile`` does, so a
read outside a family, a value outside its domain or a zero divisor is flagged
(``err[0] = 1``) on exactly the states where the explicit semantics raise. The
engine then re-runs that state through the explicit semantics, which raise the
``ModelError`` with its message.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from mhpcheck.model.compile import bounds, divisor_may_be_zero
from mhpcheck.model.errors import ModelError, UsageError
from mhpcheck.model.expr import And, Arith, Assign, Cmp, Const, Expr, Implies, Ite, Not, Or, Var
from mhpcheck.model.system import (
    Invariant,
    Property,
    Reachable,
    StepInvariant,
    TransitionSystem,
)

from . import jit_kernels
from .vector_compile import MASK64, Layout, flatten

#: Expressions whose code is longer than this are computed once per block, into a
#: temporary (where evaluating them cannot raise): the same term recurs in many places.
HOIST = 60
#: Bumped whenever the generated code changes meaning (part of every cache key).
CODE_VERSION = "3"


def _u(v: int) -> str:
    """A uint64 literal (numba would widen a plain int mixed with uint64 to float)."""
    return f"np.uint64({v & MASK64})"


@dataclass(frozen=True)
class _Code:
    """Emitted source and whether it is a truth value or an int64."""

    code: str
    kind: str  # "bool" | "int"


class ScalarEmitter:
    """Scalar numba source for expressions over one packed state's words."""

    def __init__(self, ts: TransitionSystem, layout: Layout) -> None:
        self.ts = ts
        self.layout = layout
        self.offsets = {v.name: v.offset for v in ts.variables}
        self.readers: dict[tuple[str, int, int], str] = {}  # (state, base, size) -> helper
        self.helpers: list[str] = []
        self.pre: list[str] = []  # temporaries of the current block, in order
        self.shared: set[int] = set()
        self.temps: dict[int, _Code] = {}
        self.texts: dict[str, _Code] = {}
        self.n_temps = 0
        self._fails: dict[int, bool] = {}

    def begin(self, roots: list[Expr]) -> None:
        """Start a block over ``roots``: nodes reached twice (the same object: a term the
        model builder substituted into several places) are computed once, into a
        temporary, unless evaluating them may raise (then they stay in place, so that
        they short-circuit as the explicit semantics do)."""
        seen: set[int] = set()
        self.shared = set()
        self.temps = {}
        self.texts = {}
        self.pre = []
        stack = list(roots)
        while stack:
            node = stack.pop()
            if id(node) in seen:
                self.shared.add(id(node))
                continue
            seen.add(id(node))
            stack.extend(node.children())

    def fails(self, e: Expr) -> bool:
        """``may_fail``, memoized by identity (the terms are DAGs, exponential as trees)."""
        key = id(e)
        if key not in self._fails:
            self._fails[key] = may_fail_here(e) or any(self.fails(c) for c in e.children())
        return self._fails[key]

    def words(self, state: str) -> str:
        """The names of a state's words as arguments: ``x0, x1``."""
        return ", ".join(f"{state}{j}" for j in range(self.layout.n_words))

    # -- values -------------------------------------------------------------------------
    def field(self, state: str, slot: int) -> str:
        """The value of ``slot`` as an int64 expression (a constant for one-value domains)."""
        lay = self.layout
        if lay.bits[slot] == 0:
            return str(lay.los[slot])
        m = (1 << lay.bits[slot]) - 1
        code = f"np.int64(({state}{lay.words[slot]} >> {_u(lay.shifts[slot])}) & {_u(m)})"
        return f"({code} + {lay.los[slot]})" if lay.los[slot] else code

    def as_bool(self, c: _Code) -> str:
        return c.code if c.kind == "bool" else f"({c.code} != 0)"

    def as_int(self, c: _Code) -> str:
        return f"(1 if {c.code} else 0)" if c.kind == "bool" else c.code

    def reader(self, state: str, base: int, size: int) -> str:
        """The name of a helper ``(ix, words) -> value`` reading element ``ix`` (in range)."""
        key = (state, base, size)
        if key in self.readers:
            return self.readers[key]
        name = f"_get_{state}_{base}"
        lay = self.layout
        width, m = lay.bits[base], (1 << lay.bits[base]) - 1
        groups = lay.groups(base, size)
        lines = ["@njit(cache=True, inline='always')",
                 f"def {name}(ix, {self.words(state)}):"]
        for n, g in enumerate(groups):
            shift = f"np.uint64({g.shift} + {width} * (ix - {g.first}))"
            read = f"np.int64(({state}{g.word} >> {shift}) & {_u(m)})"
            if n + 1 < len(groups):
                lines.append(f"    if ix < {g.first + g.count}:")
                lines.append(f"        return {read} + {lay.los[base]}")
            else:
                lines.append(f"    return {read} + {lay.los[base]}")
        self.helpers.append("\n".join(lines) + "\n")
        self.readers[key] = name
        return name

    def index(self, e: Expr, size: int) -> str:
        """A dynamic index as int64, flagged (and clamped to 0) where it may leave 0..size-1."""
        code = self.as_int(self.expr(e))
        lo, hi = bounds(e)
        if lo < 0 or hi >= size:
            return f"_ix({code}, {size}, err)"
        return code

    def expr(self, e: Expr, state: str = "x") -> _Code:
        """The code of ``e``, or of its temporary where it was hoisted (``begin``)."""
        if id(e) in self.temps:
            return self.temps[id(e)]
        code = self._expr(e, state)
        if ((id(e) in self.shared or len(code.code) > HOIST) and not isinstance(e, Const)
                and not (isinstance(e, Var) and e.index is None) and not self.fails(e)):
            if code.code not in self.texts:
                name = f"c{self.n_temps}"
                self.n_temps += 1
                self.pre.append(f"{name} = {code.code}")
                self.texts[code.code] = _Code(name, code.kind)
            code = self.texts[code.code]
            self.temps[id(e)] = code
        return code

    def _expr(self, e: Expr, state: str) -> _Code:
        if isinstance(e, Const):
            return _Code(str(e.value), "int")
        if isinstance(e, Var):
            st = "y" if e.primed else state
            base = self.offsets[e.name]
            if e.index is None:
                return _Code(self.field(st, base), "int")
            if isinstance(e.index, Const):
                if not 0 <= e.index.value < e.size:
                    raise ModelError(f"model {self.ts.name}: index {e.index.value} of "
                                     f"{e.name} outside 0..{e.size - 1}")
                return _Code(self.field(st, base + e.index.value), "int")
            ix = self.index(e.index, e.size)
            if self.layout.bits[base] == 0:
                return _Code(f"(0 * {ix} + {self.layout.los[base]})", "int")
            return _Code(f"{self.reader(st, base, e.size)}({ix}, {self.words(st)})", "int")
        if isinstance(e, Not):
            return _Code(f"(not {self.as_bool(self.expr(e.arg, state))})", "bool")
        if isinstance(e, And):
            return self.junction(e.args, state, conj=True)
        if isinstance(e, Or):
            return self.junction(e.args, state, conj=False)
        if isinstance(e, Implies):
            a, b = self.expr(e.lhs, state), self.expr(e.rhs, state)
            op = " or " if self.fails(e.rhs) else " | "
            return _Code(f"((not {self.as_bool(a)}){op}{self.as_bool(b)})", "bool")
        if isinstance(e, Cmp):
            a, b = self.expr(e.lhs, state), self.expr(e.rhs, state)
            return _Code(f"({self.as_int(a)} {e.op} {self.as_int(b)})", "bool")
        if isinstance(e, Arith):
            x = self.as_int(self.expr(e.lhs, state))
            y = self.as_int(self.expr(e.rhs, state))
            if e.op in ("min", "max"):
                return _Code(f"{e.op}({x}, {y})", "int")
            if divisor_may_be_zero(e):
                return _Code(f"_div({x}, {y}, err, {e.op == '%'})", "int")
            return _Code(f"({x} {e.op} {y})", "int")
        if isinstance(e, Ite):
            c = self.as_bool(self.expr(e.cond, state))
            a, b = self.expr(e.then, state), self.expr(e.orelse, state)
            if a.kind == b.kind == "bool":
                return _Code(f"({a.code} if {c} else {b.code})", "bool")
            return _Code(f"({self.as_int(a)} if {c} else {self.as_int(b)})", "int")
        raise ModelError(f"unknown expression node {type(e).__name__}")

    def static_test(self, e: Expr) -> tuple[int, int, int] | None:
        """``slot == c`` on the pre-state as (word, mask, value), where it is one."""
        if not isinstance(e, Cmp) or e.op != "==":
            return None
        var, const = e.lhs, e.rhs
        if isinstance(var, Const):
            var, const = const, var
        if not (isinstance(var, Var) and isinstance(const, Const)) or var.primed:
            return None
        if var.index is not None and not isinstance(var.index, Const):
            return None
        if var.index is not None and not 0 <= var.index.value < var.size:
            return None
        slot = self.offsets[var.name] + (0 if var.index is None else var.index.value)
        lay = self.layout
        code = const.value - lay.los[slot]
        if lay.bits[slot] == 0 or not 0 <= code < (1 << lay.bits[slot]):
            return None
        return lay.words[slot], lay.mask(slot), code << lay.shifts[slot]

    def split_tests(self, flat: list[Expr]) -> tuple[str, list[Expr]]:
        """Conjuncts as (one mask test per word of their ``slot == constant`` tests that
        come before any conjunct that may raise, the other conjuncts in order).

        Two tests of one slot against different constants cannot both hold: the
        conjunction is false (OR-ing their values into one mask test would test a
        third constant instead).
        """
        tests: dict[int, list[int]] = {}
        rest: list[Expr] = []
        for n, a in enumerate(flat):
            if self.fails(a):
                rest += flat[n:]
                break
            t = self.static_test(a)
            if t is None:
                rest.append(a)
                continue
            mv = tests.setdefault(t[0], [0, 0])
            if (mv[1] ^ t[2]) & mv[0] & t[1]:
                return "False", []
            mv[0] |= t[1]
            mv[1] |= t[2]
        parts = [f"((x{w} & {_u(m)}) == {_u(v)})" for w, (m, v) in sorted(tests.items())]
        prefix = parts[0] if len(parts) == 1 else "(" + " & ".join(parts) + ")" if parts else ""
        return prefix, rest

    def junction(self, args: tuple[Expr, ...], state: str, conj: bool) -> _Code:
        """A conjunction (disjunction) short-circuiting as Python's ``and`` (``or``).

        In a conjunction over the pre-state, the ``slot == constant`` tests that come
        before any conjunct that may raise are merged into one mask test per word and
        tested first: a state failing them fails before anything could raise.
        """
        flat = flatten(args, conj)
        if not flat:
            return _Code("True" if conj else "False", "bool")
        prefix, rest = self.split_tests(flat) if conj and state == "x" else ("", flat)
        parts = [prefix] if prefix else []
        parts += [self.as_bool(self.expr(a, state)) for a in rest]
        if len(parts) == 1:
            return _Code(parts[0], "bool")
        # Branch-free where nothing after the first operand may raise (numba compiles
        # every short-circuit into blocks of its own, which is slow to compile).
        if any(map(self.fails, rest if prefix else rest[1:])):
            op = " and " if conj else " or "
        else:
            op = " & " if conj else " | "
        return _Code("(" + op.join(parts) + ")", "bool")

    # -- updates ------------------------------------------------------------------------
    def updates(self, updates: tuple[Assign, ...], indent: str) -> list[str]:
        """Statements computing the post-state words ``y0``... of ``updates`` over ``x``.

        As in the explicit semantics, every value and index is computed in the
        pre-state first; static slots are written, then dynamic ones in order.
        """
        lay = self.layout
        lines: list[str] = []
        static: list[tuple[int, str, bool]] = []  # slot, value code, is a constant
        dynamic: list[tuple[int, int, str, str]] = []  # base, size, index code, value code
        for n, u in enumerate(updates):
            value = self.expr(u.value)
            code = self.as_int(value)
            lo, hi = (0, 1) if value.kind == "bool" else bounds(u.value)
            if lo < u.domain.lo or hi > u.domain.hi:
                code = f"_rng({code}, {u.domain.lo}, {u.domain.hi}, err)"
            const = isinstance(u.value, Const) and u.domain.lo <= u.value.value <= u.domain.hi
            base = self.offsets[u.name]
            if u.index is None or isinstance(u.index, Const):
                at = 0 if u.index is None else u.index.value
                if u.index is not None and not 0 <= at < u.size:
                    raise ModelError(f"model {self.ts.name}: index {at} of {u.name} "
                                     f"outside 0..{u.size - 1}")
                if not const:
                    lines.append(f"{indent}v{n} = {code}")
                static.append((base + at, str(u.value.value) if const else f"v{n}", const))  # type: ignore[attr-defined]
            else:
                lines.append(f"{indent}v{n} = {code}")
                lines.append(f"{indent}i{n} = {self.index(u.index, u.size)}")
                dynamic.append((base, u.size, f"i{n}", f"v{n}"))
        keep = [MASK64] * lay.n_words
        const_bits = [0] * lay.n_words
        for slot, code, const in static:
            if lay.bits[slot] == 0:
                continue
            w = lay.words[slot]
            keep[w] &= ~lay.mask(slot)
            if const:
                const_bits[w] |= (int(code) - lay.los[slot]) << lay.shifts[slot]
        for j in range(lay.n_words):
            if keep[j] == MASK64:
                lines.append(f"{indent}y{j} = x{j}")
            else:
                lines.append(f"{indent}y{j} = (x{j} & {_u(keep[j])}) | {_u(const_bits[j])}")
        for slot, code, const in static:
            if const or lay.bits[slot] == 0:
                continue
            m = (1 << lay.bits[slot]) - 1
            w = lay.words[slot]
            lines.append(f"{indent}y{w} |= (np.uint64({code} - {lay.los[slot]}) & {_u(m)})"
                         f" << {_u(lay.shifts[slot])}")
        for base, size, ix, val in dynamic:
            width = lay.bits[base]
            if not width:
                continue
            m = (1 << width) - 1
            bits = f"(np.uint64({val} - {lay.los[base]}) & {_u(m)})"
            groups = lay.groups(base, size)
            for g in groups:
                inside = f"{g.first} <= {ix} < {g.first + g.count}"
                sh = f"np.uint64({g.shift} + {width} * ({ix} - {g.first}))"
                lines.append(f"{indent}if {inside}:")
                lines.append(f"{indent}    y{g.word} = (y{g.word} & ~({_u(m)} << {sh})) | "
                             f"({bits} << {sh})")
        return lines


def kernel_source(ts: TransitionSystem, layout: Layout, properties: tuple[Property, ...],
                  parallel: bool = False) -> str:
    """The numba module for ``ts`` checking ``properties``: the search kernel
    (``jit_kernels``) around the guards, updates and predicates (its probe on several
    threads where ``parallel``)."""
    em = ScalarEmitter(ts, layout)
    steps = [p for p in properties if isinstance(p, StepInvariant)]
    states: list[Invariant | Reachable] = [p for p in properties
                                           if isinstance(p, (Invariant, Reachable))]
    ind = "            "
    body: list[str] = []
    live = [k for k, inst in enumerate(ts.actions)
            if not (isinstance(inst.guard, Const) and not inst.guard.value)]
    for k in live:
        inst = ts.actions[k]
        body.append(f"{ind}# {inst.label}")
        body += _action_lines(em, k, inst.guard, inst.updates, bool(steps), ind)
    step_fn = ["@njit(cache=True)",
               f"def _steps(i, k, {em.words('x')}, {em.words('y')}, step_at, step_act, "
               "step_post, err):"]
    for j, p in enumerate(steps):
        em.begin([p.expr])
        ok = em.as_bool(em.expr(p.expr))
        step_fn.append(f"    if step_at[{j}] == -1:")
        step_fn += ["        " + line for line in em.pre]
        step_fn.append(f"        ok = {ok}")
        if _flags(ok):
            step_fn.append("        if err[0]:")
            step_fn.append(f"            err[3] = {j + 1}")
            step_fn.append("            return True")
        step_fn.append("        if not ok:")
        step_fn.append(f"            step_at[{j}] = i")
        step_fn.append(f"            step_act[{j}] = k")
        for w in range(layout.n_words):
            step_fn.append(f"            step_post[{j}, {w}] = y{w}")
    step_fn.append("    return False")
    if steps:
        em.helpers.append("\n".join(step_fn) + "\n")
    checks: list[str] = []
    for j, q in enumerate(states):
        em.begin([q.expr])
        ok = em.as_bool(em.expr(q.expr))
        hit = f"not {ok}" if isinstance(q, Invariant) else ok
        checks.append(f"        if found[{j}] == -1:")
        checks += ["            " + line for line in em.pre]
        checks.append(f"            hit = {hit}")
        if _flags(hit):
            checks.append("            if err[0]:")
            checks.append(f"                return i, {j}")
        checks.append("            if hit:")
        checks.append(f"                found[{j}] = i")
    return jit_kernels.module_source(
        n_words=layout.n_words, n_succ=max(1, len(live)), expand_body="\n".join(body),
        check_body="\n".join(checks) if checks else "        pass",
        helpers="\n\n".join(em.helpers), parallel=parallel)


def _action_lines(em: ScalarEmitter, k: int, guard: Expr, updates: tuple[Assign, ...],
                  steps: bool, ind: str) -> list[str]:
    """One action instance in the kernel: its guard, then (where it holds) its update
    and the successor appended to the buffer.

    The guard's leading ``slot == constant`` tests are one mask test per word, tested
    before anything else is computed (the temporaries of the rest of the guard
    included): most states fail it, and they then cost a few instructions.
    """
    prefix, rest = em.split_tests(flatten((guard,), True))
    lines: list[str] = []
    if prefix:
        lines.append(f"{ind}if {prefix}:")
        ind += "    "
    em.begin([*rest, *(u.value for u in updates),
              *(u.index for u in updates if u.index is not None)])
    cond = em.as_bool(em.expr(And(tuple(rest)))) if rest else ""
    lines += [ind + line for line in em.pre]
    em.pre = []
    if _flags(cond):
        lines += [f"{ind}g = {cond}", f"{ind}if err[0]:",
                  f"{ind}    return _failed(err, i, {k}, count)", f"{ind}if g:"]
        ind += "    "
    elif cond:
        lines.append(f"{ind}if {cond}:")
        ind += "    "
    update = em.updates(updates, ind)
    update = [ind + line for line in em.pre] + update
    lines += update
    if any(_flags(line) for line in update):
        lines += [f"{ind}if err[0]:", f"{ind}    return _failed(err, i, {k}, count)"]
    lines += [f"{ind}if mode == 0:", f"{ind}    fired[{k}] += 1"]
    if steps:
        lines += [f"{ind}    if _steps(i, {k}, {em.words('x')}, {em.words('y')}, "
                  "step_at, step_act, step_post, err):",
                  f"{ind}        return _failed(err, i, {k}, count)"]
    lines += [f"{ind}buf[nb, {w}] = y{w}" for w in range(em.layout.n_words)]
    lines += [f"{ind}act[nb] = {k}", f"{ind}nb += 1"]
    return lines


def may_fail_here(e: Expr) -> bool:
    """Whether evaluating the node ``e`` itself (not its operands) may raise."""
    if isinstance(e, Var) and e.index is not None and not isinstance(e.index, Const):
        lo, hi = bounds(e.index)
        return lo < 0 or hi >= e.size
    return isinstance(e, Arith) and divisor_may_be_zero(e)


def _flags(code: str) -> bool:
    """Whether generated code may raise the error flag."""
    return any(f in code for f in ("_ix(", "_rng(", "_div("))


def cache_dir() -> Path:
    """Where compiled kernels are kept: ``$MHPCHECK_JIT_CACHE``, else
    ``~/.cache/mhpcheck/jit``."""
    env = os.environ.get("MHPCHECK_JIT_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "mhpcheck" / "jit"


_LOCK = threading.Lock()


@dataclass(frozen=True)
class Loaded:
    """A compiled kernel module, and whether its machine code came from the disk cache."""

    module: ModuleType
    key: str
    path: Path


def load(source: str) -> Loaded:
    """Import ``source`` as a module saved under the hash of its text (and of the
    numba version), so numba's own cache next to it finds code compiled by an earlier
    run of the same system."""
    import numba

    # the kernels call prefetch, defined in jit_kernels.py: its text is part of the key
    kernels = Path(jit_kernels.__file__).read_text()
    key = hashlib.sha256(f"{CODE_VERSION}\n{numba.__version__}\n{sys.version}\n{kernels}\n"
                         f"{source}".encode()).hexdigest()[:24]
    folder = cache_dir()
    path = folder / f"mhpjit_{key}.py"
    with _LOCK:
        if not path.exists():
            try:
                folder.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(source)
                os.replace(tmp, path)
            except OSError as err:
                raise UsageError(f"bfs-jit: cannot write its compile cache in {folder} "
                                 f"({err.strerror}): set $MHPCHECK_JIT_CACHE to a folder "
                                 "it may write") from None
        name = f"mhpjit_{key}"
        if name in sys.modules:
            return Loaded(sys.modules[name], key, path)
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return Loaded(module, key, path)
