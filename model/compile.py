"""The explicit semantics: the IR compiled once per model into Python functions.

``compile_system`` turns every guard, update and property into Python source over a
state tuple ``s`` (and ``t``, the post-state, for step invariants) and compiles it
with ``compile``. The generated code is the reference semantics: replay, the BFS
engine and the cross-checks of the symbolic engines all use it.

Values leaving a variable's domain, dynamic indices outside a family and a zero
divisor of ``//`` or ``%`` raise a ``ModelError`` that names the action (and the
variable); checks are generated only where interval analysis cannot rule the problem
out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .errors import ModelError, ResourceLimit
from .expr import DIVISIONS, And, Arith, Assign, Cmp, Const, Expr, Implies, Ite, Not, Or, Var
from .resources import available_memory, gigabytes
from .system import (
    DeadlockFree,
    Invariant,
    Property,
    Reachable,
    State,
    StepInvariant,
    TransitionSystem,
)

Successors = Callable[[State], list[tuple[int, State]]]
Predicate = Callable[[State], bool]
StepPredicate = Callable[[State, State], bool]


@dataclass(frozen=True)
class SafetyChecks:
    """Compiled safety properties by kind: (name, predicate) pairs, and the names of
    the deadlock-freedom properties."""

    invariants: list[tuple[str, Predicate]]
    targets: list[tuple[str, Predicate]]
    steps: list[tuple[str, StepPredicate]]
    deadlock: list[str]


def bounds(expr: Expr) -> tuple[int, int]:
    """An interval that contains every value ``expr`` can take (codes for enums)."""
    if isinstance(expr, Const):
        return expr.value, expr.value
    if isinstance(expr, Var):
        return expr.domain.lo, expr.domain.hi
    if isinstance(expr, (Not, And, Or, Implies, Cmp)):
        return 0, 1
    if isinstance(expr, Ite):
        a, b = bounds(expr.then), bounds(expr.orelse)
        return min(a[0], b[0]), max(a[1], b[1])
    if isinstance(expr, Arith):
        (a0, a1), (b0, b1) = bounds(expr.lhs), bounds(expr.rhs)
        if expr.op == "+":
            return a0 + b0, a1 + b1
        if expr.op == "-":
            return a0 - b1, a1 - b0
        if expr.op == "*":
            corners = (a0 * b0, a0 * b1, a1 * b0, a1 * b1)
            return min(corners), max(corners)
        if expr.op == "min":
            return min(a0, b0), min(a1, b1)
        if expr.op == "max":
            return max(a0, b0), max(a1, b1)
        return _division_bounds(expr.op, (a0, a1), (b0, b1))
    raise ModelError(f"unknown expression node {type(expr).__name__}")


def _division_bounds(op: str, a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """An interval for ``x // y`` or ``x % y`` with x in ``a`` and y in ``b``, zero left
    out of ``b`` (a zero divisor raises instead of giving a value).

    On each side of zero, floor division is monotone in each operand, so its extremes
    lie at the corners; the remainder lies between 0 and the divisor (exclusive), and
    for a non-negative dividend and positive divisors never exceeds the dividend.
    """
    sides = [(lo, hi) for lo, hi in ((b[0], min(b[1], -1)), (max(b[0], 1), b[1])) if lo <= hi]
    if not sides:  # the divisor is always zero: every evaluation raises
        return 0, 0
    if op == "//":
        corners = [x // y for lo, hi in sides for x in a for y in (lo, hi)]
        return min(corners), max(corners)
    out_lo, out_hi = 0, 0
    for lo, hi in sides:
        if hi < 0:
            out_lo = min(out_lo, lo + 1)
        else:
            out_hi = max(out_hi, min(hi - 1, a[1]) if a[0] >= 0 else hi - 1)
    return out_lo, out_hi


def divisor_may_be_zero(expr: Arith) -> bool:
    """Whether ``expr`` is a division or modulo whose divisor's interval contains zero
    (the explicit semantics then check the divisor at run time)."""
    if expr.op not in DIVISIONS:
        return False
    lo, hi = bounds(expr.rhs)
    return lo <= 0 <= hi


class _Emitter:
    """Python source for expressions over a slot layout; collects runtime checks."""

    def __init__(self, ts: TransitionSystem) -> None:
        self.offsets = {v.name: v.offset for v in ts.variables}
        self.checks: list[str] = []  # messages for _index_error / _range_error, by number

    def message(self, text: str) -> int:
        self.checks.append(text)
        return len(self.checks) - 1

    def slot(self, name: str, index: Expr | None, size: int, where: str) -> str:
        base = self.offsets[name]
        if index is None:
            return str(base)
        if isinstance(index, Const):
            return str(base + index.value)
        lo, hi = bounds(index)
        code = self.expr(index, where)
        if lo < 0 or hi >= size:
            msg = self.message(f"{where}: index of {name} outside 0..{size - 1}")
            code = f"_ix({code}, {size}, {msg})"
        return f"{base} + {code}" if base else code

    def expr(self, e: Expr, where: str) -> str:
        if isinstance(e, Const):
            return str(e.value)
        if isinstance(e, Var):
            state = "t" if e.primed else "s"
            return f"{state}[{self.slot(e.name, e.index, e.size, where)}]"
        if isinstance(e, Not):
            return f"(not {self.expr(e.arg, where)})"
        if isinstance(e, (And, Or)):
            if not e.args:
                return "True" if isinstance(e, And) else "False"
            joiner = " and " if isinstance(e, And) else " or "
            return "(" + joiner.join(self.expr(a, where) for a in e.args) + ")"
        if isinstance(e, Implies):
            return f"((not {self.expr(e.lhs, where)}) or {self.expr(e.rhs, where)})"
        if isinstance(e, Cmp):
            return f"({self.expr(e.lhs, where)} {e.op} {self.expr(e.rhs, where)})"
        if isinstance(e, Arith):
            a, b = self.expr(e.lhs, where), self.expr(e.rhs, where)
            if e.op in ("min", "max"):
                return f"{e.op}({a}, {b})"
            if divisor_may_be_zero(e):
                what = "modulo" if e.op == "%" else "floor division"
                msg = self.message(f"{where}: {what} by zero ({e.op})")
                return f"_div({a}, {b}, {msg}, {e.op == '%'})"
            return f"({a} {e.op} {b})"
        if isinstance(e, Ite):
            c, a, b = (self.expr(x, where) for x in (e.cond, e.then, e.orelse))
            return f"({a} if {c} else {b})"
        raise ModelError(f"{where}: unknown expression node {type(e).__name__}")

    def value(self, u: Assign, where: str) -> str:
        """The stored value of an update: a bool as 0/1, an int range-checked if needed."""
        code = self.expr(u.value, where)
        if u.value.sort == "bool" and not isinstance(u.value, Const):
            return f"(1 if {code} else 0)"
        lo, hi = bounds(u.value)
        if lo < u.domain.lo or hi > u.domain.hi:
            msg = self.message(
                f"{where}: sets {u.name} outside its domain {u.domain.lo}..{u.domain.hi}")
            return f"_rng({code}, {u.domain.lo}, {u.domain.hi}, {msg})"
        return code


def _index_error(messages: Sequence[str]) -> Callable[[int, int, int], int]:
    def check(i: int, size: int, msg: int) -> int:
        if 0 <= i < size:
            return i
        raise ModelError(f"{messages[msg]} (got {i})")
    return check


def _division(messages: Sequence[str]) -> Callable[[int, int, int, bool], int]:
    def divide(a: int, b: int, msg: int, modulo: bool) -> int:
        if b == 0:
            raise ModelError(messages[msg])
        return a % b if modulo else a // b
    return divide


def _range_error(messages: Sequence[str]) -> Callable[[int, int, int, int], int]:
    def check(v: int, lo: int, hi: int, msg: int) -> int:
        if lo <= v <= hi:
            return v
        raise ModelError(f"{messages[msg]} (got {v})")
    return check


def _successor_code(em: _Emitter, k: int, updates: tuple[Assign, ...], n_slots: int,
                    where: str, indent: str) -> list[str]:
    """Lines that append ``(k, successor)`` for one enabled action instance."""
    static: dict[int, str] = {}
    dynamic: list[tuple[str, str]] = []
    for u in updates:
        value = em.value(u, where)
        slot = em.slot(u.name, u.index, u.size, where)
        if slot.isdigit():
            static[int(slot)] = value
        else:
            dynamic.append((slot, value))
    if not dynamic and n_slots <= 8:
        items = [static.get(i, f"s[{i}]") for i in range(n_slots)]
        return [f"{indent}ap(({k}, ({', '.join(items)},)))"]
    # Values and dynamic slots are evaluated in the pre-state before any store.
    lines = [f"{indent}v{j} = {value}" for j, (_, value) in enumerate(dynamic)]
    lines += [f"{indent}i{j} = {slot}" for j, (slot, _) in enumerate(dynamic)]
    static_vals = [f"{indent}w{j} = {value}" for j, value in enumerate(static.values())]
    lines += static_vals
    lines.append(f"{indent}n = list(s)")
    lines += [f"{indent}n[{slot}] = w{j}" for j, slot in enumerate(static)]
    lines += [f"{indent}n[i{j}] = v{j}" for j in range(len(dynamic))]
    lines.append(f"{indent}ap(({k}, tuple(n)))")
    return lines


@dataclass(frozen=True)
class Compiled:
    """The explicit semantics of one transition system."""

    ts: TransitionSystem
    successors: Successors
    apply: tuple[Callable[[State], State | None], ...]
    source: str

    def safety(self, properties: Sequence[Property]) -> SafetyChecks:
        """The safety properties among ``properties``, compiled and grouped by kind, as
        every explicit engine evaluates them on each state and step."""
        return SafetyChecks(
            [(p.name, self.predicate(p.expr, p.name))
             for p in properties if isinstance(p, Invariant)],
            [(p.name, self.predicate(p.expr, p.name))
             for p in properties if isinstance(p, Reachable)],
            [(p.name, self.step_predicate(p.expr, p.name))
             for p in properties if isinstance(p, StepInvariant)],
            [p.name for p in properties if isinstance(p, DeadlockFree)])

    def predicate(self, expr: Expr, where: str = "property") -> Predicate:
        return _compile_pred(self.ts, expr, where, step=False)  # type: ignore[return-value]

    def step_predicate(self, expr: Expr, where: str = "property") -> StepPredicate:
        return _compile_pred(self.ts, expr, where, step=True)  # type: ignore[return-value]

    def enabled(self, state: State) -> list[int]:
        return [k for k, _ in self.successors(state)]


def _namespace(em: _Emitter) -> dict[str, object]:
    return {"_ix": _index_error(em.checks), "_rng": _range_error(em.checks),
            "_div": _division(em.checks)}


def _compile_pred(ts: TransitionSystem, expr: Expr, where: str,
                  step: bool) -> Predicate | StepPredicate:
    em = _Emitter(ts)
    body = em.expr(expr, where)
    args = "s, t" if step else "s"
    src = f"def pred({args}):\n    return bool({body})\n"
    ns = _namespace(em)
    exec(compile(src, f"<{ts.name}:{where}>", "exec"), ns)
    return ns["pred"]  # type: ignore[return-value]


def tree_size(e: Expr, memo: dict[int, int]) -> int:
    """The number of nodes of ``e`` written out as a tree, as the code generator does.

    Expressions share subterms (an update substituted into the next is one object
    used many times), so the tree can be exponentially larger than the objects in
    memory; this counts it in time linear in the objects, memoized by identity
    (structural hashing of such a term would itself take exponential time).
    """
    stack: list[tuple[Expr, bool]] = [(e, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in memo:
            continue
        kids = node.children()
        if done or not kids:
            memo[id(node)] = 1 + sum(memo[id(k)] for k in kids)
            continue
        stack.append((node, True))
        stack.extend((k, False) for k in kids if id(k) not in memo)
    return memo[id(e)]


@dataclass(frozen=True)
class CodeSize:
    """How big the generated explicit semantics of a system will be, before generating it."""

    nodes: int  # expression nodes written out, guards and updates, over every instance
    largest: str  # the action instance with the most
    largest_nodes: int


def code_size(ts: TransitionSystem) -> CodeSize:
    """The expression nodes ``compile_system`` would write out for ``ts`` (each instance
    twice: in ``successors`` and in its ``apply``)."""
    memo: dict[int, int] = {}
    total, largest, most = 0, "", -1
    for inst in ts.actions:
        n = tree_size(inst.guard, memo)
        for u in inst.updates:
            n += tree_size(u.value, memo)
            if u.index is not None:
                n += tree_size(u.index, memo)
        total += 2 * n
        if n > most:
            largest, most = inst.label, n
    return CodeSize(total, largest, max(most, 0))


#: Peak memory and time of generating and compiling one expression node, measured on
#: hotplug instances from 9e3 to 1.3e6 nodes (820-2800 bytes and 2.5-2.9 us a node,
#: the larger figures for small instances, where the interpreter's baseline counts).
BYTES_PER_NODE = 900
SECONDS_PER_NODE = 3e-6


def check_fits(ts: TransitionSystem, seconds: float | None = None) -> CodeSize:
    """Refuse ``ts`` with a ResourceLimit when compiling its semantics would not fit
    this machine's memory, or take longer than ``seconds`` (what is left of a
    timeout); the estimate counts the expression nodes first (``code_size``)."""
    size = code_size(ts)
    need = size.nodes * BYTES_PER_NODE
    setting = ", ".join(f"{k}={v}" for k, v in ts.params)
    what = (f"model {ts.name} ({setting}): its semantics write out {size.nodes:,} "
            f"expression nodes ({size.largest_nodes:,} in {size.largest})")
    free = available_memory()
    if free is not None and need > free:
        raise ResourceLimit(f"{what}, which needs about {gigabytes(need)} of memory to "
                            f"compile; this machine has {gigabytes(free)} available: "
                            "give smaller parameters")
    took = size.nodes * SECONDS_PER_NODE
    if seconds is not None and took > seconds and took >= 1.0:  # below 1 s: noise
        raise ResourceLimit(f"{what}, which takes about {took:,.0f} s to compile, more than "
                            f"the {max(seconds, 0):,.1f} s left of the timeout")
    return size


def compile_system(ts: TransitionSystem, seconds: float | None = None) -> Compiled:
    """Generate and compile the successor function and one ``apply`` per action instance.

    An instance whose semantics would not fit in memory (or, given ``seconds``, not
    compile in that time) is refused first with a ResourceLimit (``check_fits``).

    Nothing is kept on ``ts``: a ``Checker`` compiles its system once and hands the
    result to its engines and to replay; other callers get a fresh compilation."""
    check_fits(ts, seconds)
    em = _Emitter(ts)
    n = ts.n_slots
    lines = ["def successors(s):", "    out = []", "    ap = out.append"]
    apply_src: list[str] = []
    for k, inst in enumerate(ts.actions):
        where = f"model {ts.name}, action {inst.label}"
        guard = em.expr(inst.guard, where)
        lines.append(f"    if {guard}:")
        lines += _successor_code(em, k, inst.updates, n, where, "        ")
        apply_src.append(f"def apply_{k}(s):")
        apply_src.append("    out = []")
        apply_src.append("    ap = out.append")
        apply_src.append(f"    if {guard}:")
        apply_src += _successor_code(em, k, inst.updates, n, where, "        ")
        apply_src.append("    return out[0][1] if out else None")
    lines.append("    return out")
    source = "\n".join(lines + apply_src) + "\n"
    ns = _namespace(em)
    exec(compile(source, f"<{ts.name}>", "exec"), ns)
    applies = tuple(ns[f"apply_{k}"] for k in range(len(ts.actions)))
    return Compiled(ts, ns["successors"], applies, source)  # type: ignore[arg-type]
