"""The one door to Z3: a small typed wrapper over the ``z3`` Python API.

Nothing else in mhpcheck imports ``z3``. Terms are opaque ``Term`` handles (the z3
objects themselves, typed as a NewType so mypy --strict checks every use); every
operation the engines need is a function here. ``view`` takes a term apart into a
``Node`` so that a solver's answer (an inductive invariant) can be turned back into
the model's IR without z3 leaking out.
"""

from __future__ import annotations

import contextvars
import functools
import signal
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NewType, ParamSpec, TypeVar

import z3  # type: ignore[import-untyped]

Term = NewType("Term", object)
Answer = Literal["sat", "unsat", "unknown"]
SortName = Literal["bool", "int"]


def _raw(t: Term) -> Any:
    """The z3 object behind a handle (only this module looks inside)."""
    return t


def version() -> str:
    return str(z3.get_version_string())


# -- contexts ----------------------------------------------------------------------------
class _Run:
    """The Z3 context of one engine run, and whether Ctrl-C (SIGINT) interrupted it.

    Z3's own Ctrl-C handling is off (``ctrl_c`` false on every solver): it would take
    the signal from Python, turn a check into a plain "unknown" (which BMC, say, reads
    as "nothing found in time") and leave Python none the wiser. Instead, in the main
    thread, Python's signal handler writes the signal's number to a socket (its wakeup
    fd) even while a Z3 call holds the main thread; a watcher thread reads it and
    interrupts the context, so the call returns within milliseconds. Python then raises
    KeyboardInterrupt in the main thread. Where that exception is lost (raised inside a
    Z3 callback, which an interrupted Spacer query turns into a Z3Exception, or inside a
    term's ``__del__``, which Python only prints), ``check_interrupt``, called before
    and after every check and query, raises it again from the flag the watcher set.
    """

    def __init__(self) -> None:
        self.ctx = z3.Context()
        self.interrupted = False
        self._socks: tuple[socket.socket, socket.socket] | None = None
        self._old_fd = -1
        self._watcher: threading.Thread | None = None

    def __enter__(self) -> _Run:
        if threading.current_thread() is not threading.main_thread():
            return self  # signals reach the main thread only
        read, write = socket.socketpair()
        write.setblocking(False)
        try:
            self._old_fd = signal.set_wakeup_fd(write.fileno(), warn_on_full_buffer=False)
        except ValueError:  # no Python handler can run here: leave signals alone
            read.close()
            write.close()
            return self
        self._socks = (read, write)
        self._watcher = threading.Thread(target=self._watch, args=(read,),
                                         name="z3-interrupt", daemon=True)
        self._watcher.start()
        return self

    def _watch(self, read: socket.socket) -> None:
        while data := read.recv(64):
            if signal.SIGINT in data:
                self.interrupted = True
                self.ctx.interrupt()

    def __exit__(self, *exc: object) -> None:
        if self._socks is None:
            return
        signal.set_wakeup_fd(self._old_fd, warn_on_full_buffer=False)
        read, write = self._socks
        write.shutdown(socket.SHUT_RDWR)  # the watcher's recv returns b""
        if self._watcher is not None:
            self._watcher.join()
        write.close()
        read.close()
        self._socks = None


#: The run whose context new terms and solvers are made in (None: Z3's main context).
#: A context variable, not a global: each thread (and nested run) sees its own.
_current: contextvars.ContextVar[_Run | None] = contextvars.ContextVar("z3_run", default=None)
P = ParamSpec("P")
R = TypeVar("R")


def _ctx() -> Any:
    run = _current.get()
    return None if run is None else run.ctx


def context() -> Any:
    """The current run's Z3 context, for the engines that build quantified formulas with
    uninterpreted sorts (the forall engine's encoding) directly."""
    return _ctx()


def check_interrupt() -> None:
    """Raise KeyboardInterrupt if Ctrl-C interrupted the current run's Z3 calls."""
    run = _current.get()
    if run is not None and run.interrupted:
        raise KeyboardInterrupt


def fresh_context(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` with every term and solver it makes in a new Z3 context, which Ctrl-C
    interrupts (``_Run``). Z3's search follows the order terms were created in, so
    without this an engine's answer (a certificate's lemmas, the time it takes) would
    depend on what else ran before it in the same process: the same spec would give
    another certificate when run with others."""
    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with _Run() as current:
            token = _current.set(current)
            try:
                return fn(*args, **kwargs)
            finally:
                _current.reset(token)
    return run


# -- constants and variables -------------------------------------------------------------
def bool_var(name: str) -> Term:
    return Term(z3.Bool(name, _ctx()))


def int_var(name: str) -> Term:
    return Term(z3.Int(name, _ctx()))


def var(name: str, sort: SortName) -> Term:
    return bool_var(name) if sort == "bool" else int_var(name)


def true() -> Term:
    return Term(z3.BoolVal(True, _ctx()))


def false() -> Term:
    return Term(z3.BoolVal(False, _ctx()))


def int_val(value: int) -> Term:
    return Term(z3.IntVal(value, _ctx()))


def is_bool(t: Term) -> bool:
    return bool(z3.is_bool(t))


def is_true(t: Term) -> bool:
    return bool(z3.is_true(t))


def is_false(t: Term) -> bool:
    return bool(z3.is_false(t))


# -- connectives (they fold constants, which keeps unrolled formulas small) -------------
def and_(args: Sequence[Term]) -> Term:
    parts = [a for a in args if not is_true(a)]
    if any(is_false(a) for a in parts):
        return false()
    if not parts:
        return true()
    if len(parts) == 1:
        return parts[0]
    return Term(z3.And(*parts))


def or_(args: Sequence[Term]) -> Term:
    parts = [a for a in args if not is_false(a)]
    if any(is_true(a) for a in parts):
        return true()
    if not parts:
        return false()
    if len(parts) == 1:
        return parts[0]
    return Term(z3.Or(*parts))


def not_(t: Term) -> Term:
    if is_true(t):
        return false()
    if is_false(t):
        return true()
    return Term(z3.Not(t))


def implies(a: Term, b: Term) -> Term:
    if is_true(a):
        return b
    if is_false(a) or is_true(b):
        return true()
    return Term(z3.Implies(a, b))


def ite(c: Term, a: Term, b: Term) -> Term:
    if is_true(c):
        return a
    if is_false(c):
        return b
    return Term(z3.If(c, a, b))


def and_raw(args: Sequence[Term]) -> Term:
    """A conjunction without constant folding (cheaper, for terms known to be atoms)."""
    if not args:
        return true()
    return args[0] if len(args) == 1 else Term(z3.And(*args))


def or_raw(args: Sequence[Term]) -> Term:
    if not args:
        return false()
    return args[0] if len(args) == 1 else Term(z3.Or(*args))


def not_raw(t: Term) -> Term:
    return Term(z3.Not(t))


def to_bool(t: Term) -> Term:
    """A truth value: a Bool as is, an integer as ``t != 0`` (Python truthiness)."""
    return t if is_bool(t) else Term(_raw(t) != 0)


def to_int(t: Term) -> Term:
    """An integer: a Bool as 1/0 (``True == 1`` in Python), an Int as is."""
    if not is_bool(t):
        return t
    if is_true(t):
        return int_val(1)
    if is_false(t):
        return int_val(0)
    return Term(z3.If(t, z3.IntVal(1, _raw(t).ctx), z3.IntVal(0, _raw(t).ctx)))


CmpOp = Literal["==", "!=", "<", "<=", ">", ">="]


def cmp(op: CmpOp, a: Term, b: Term) -> Term:
    """A comparison; two truth values compare as Bools, anything else as integers."""
    if not (is_bool(a) and is_bool(b)) or op not in ("==", "!="):
        a, b = to_int(a), to_int(b)
    x, y = _raw(a), _raw(b)
    if op == "==":
        return Term(x == y)
    if op == "!=":
        return Term(x != y)
    if op == "<":
        return Term(x < y)
    if op == "<=":
        return Term(x <= y)
    if op == ">":
        return Term(x > y)
    return Term(x >= y)


def eq(a: Term, b: Term) -> Term:
    return cmp("==", a, b)


def arith(op: Literal["+", "-", "*", "//", "%", "min", "max"], a: Term, b: Term) -> Term:
    """An integer operation; ``//`` and ``%`` are Python's (floor division, and the
    remainder with the divisor's sign), whatever the signs, and 0 for a zero divisor
    (the callers treat that as an error state). SMT-LIB's ``div`` and ``mod`` agree
    with Python's only for a positive divisor, so a negative one divides the negated
    dividend by the negated divisor: ``x // y == (-x) // (-y)``."""
    x, y = _raw(to_int(a)), _raw(to_int(b))
    if op in ("//", "%"):
        zero = z3.IntVal(0, x.ctx)
        quotient = z3.If(y > 0, x / y, z3.If(y < 0, (-x) / (-y), zero))
        if op == "//":
            return Term(quotient)
        return Term(z3.If(y == 0, zero, x - y * quotient))
    if op == "+":
        return Term(x + y)
    if op == "-":
        return Term(x - y)
    if op == "*":
        return Term(x * y)
    if op == "min":
        return Term(z3.If(x <= y, x, y))
    return Term(z3.If(x >= y, x, y))


def substitute(t: Term, pairs: Sequence[tuple[Term, Term]]) -> Term:
    if not pairs:
        return t
    return Term(z3.substitute(t, *pairs))


def simplify(t: Term) -> Term:
    return Term(z3.simplify(t))


def const_value(t: Term) -> int | None:
    """The value of a closed term (a Bool as 0/1), or None if it does not simplify to one."""
    v = z3.simplify(t)
    if z3.is_true(v):
        return 1
    if z3.is_false(v):
        return 0
    if z3.is_int_value(v):
        return int(v.as_long())
    return None


def text(t: Term) -> str:
    return str(t)


def name(t: Term) -> str:
    """The name of a constant (a state variable of some frame)."""
    return str(_raw(t).decl().name())


# -- taking terms apart ---------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    """One node of a term: ``kind`` names the operator (or "var", "int", "bool")."""

    kind: str
    args: tuple[Term, ...] = ()
    value: int = 0
    name: str = ""


_KINDS = {
    z3.Z3_OP_AND: "and", z3.Z3_OP_OR: "or", z3.Z3_OP_NOT: "not",
    z3.Z3_OP_IMPLIES: "=>", z3.Z3_OP_ITE: "ite", z3.Z3_OP_EQ: "==",
    z3.Z3_OP_DISTINCT: "distinct", z3.Z3_OP_LE: "<=", z3.Z3_OP_LT: "<",
    z3.Z3_OP_GE: ">=", z3.Z3_OP_GT: ">", z3.Z3_OP_ADD: "+", z3.Z3_OP_SUB: "-",
    z3.Z3_OP_MUL: "*", z3.Z3_OP_UMINUS: "neg", z3.Z3_OP_XOR: "xor",
    z3.Z3_OP_IFF: "==", z3.Z3_OP_IDIV: "div", z3.Z3_OP_MOD: "mod",
}


def view(term: Term) -> Node:
    """The top node of ``t``; an unsupported operator comes back as kind "other:NAME"."""
    t = _raw(term)
    if z3.is_true(t):
        return Node("bool", value=1)
    if z3.is_false(t):
        return Node("bool", value=0)
    if z3.is_int_value(t):
        return Node("int", value=int(t.as_long()))
    if z3.is_const(t):
        return Node("var", name=str(t.decl().name()))
    if z3.is_app(t):
        kind = _KINDS.get(t.decl().kind())
        args = tuple(Term(t.arg(i)) for i in range(t.num_args()))
        if kind is None:
            return Node(f"other:{t.decl().name()}", args)
        return Node(kind, args)
    return Node(f"other:{t}")


# -- solvers ----------------------------------------------------------------------------
class Model:
    """A satisfying assignment."""

    def __init__(self, raw: Any) -> None:
        self._m = raw

    def value(self, t: Term) -> int:
        """The value of ``t`` (a Bool as 0/1); unconstrained terms get a default."""
        v = self._m.eval(t, model_completion=True)
        if z3.is_true(v):
            return 1
        if z3.is_false(v):
            return 0
        return int(v.as_long())


def _ms(seconds: float | None) -> int:
    if seconds is None:
        return 0
    return max(1, int(seconds * 1000))


class Solver:
    """An incremental SMT solver.

    Every state variable of mhpcheck is bounded, so the default is Z3's finite-domain
    solver (bounded integers bit-blasted to SAT), which is far faster on unrolled
    transition relations than the arithmetic core. Should it give up ("unknown" for a
    reason other than a timeout), the assertions are replayed into a general solver
    and the check repeated there.
    """

    def __init__(self, finite: bool = True) -> None:
        self._ctx = _ctx()
        self._s = z3.SolverFor("QF_FD", ctx=self._ctx) if finite else z3.Solver(ctx=self._ctx)
        self._s.set("ctrl_c", False)  # Ctrl-C interrupts the context instead (``_Run``)
        self._finite = finite
        self._levels: list[list[object]] = [[]]
        self.checks = 0

    def add(self, t: Term) -> None:
        if not is_true(t):
            self._s.add(t)
            self._levels[-1].append(t)

    def push(self) -> None:
        self._s.push()
        self._levels.append([])

    def pop(self) -> None:
        self._s.pop()
        self._levels.pop()

    def _general(self) -> None:
        self._s = z3.Solver(ctx=self._ctx)
        self._s.set("ctrl_c", False)
        self._finite = False
        for i, level in enumerate(self._levels):
            if i:
                self._s.push()
            for t in level:
                self._s.add(t)

    def check(self, assumptions: Sequence[Term] = (), timeout: float | None = None) -> Answer:
        """Satisfiability of the assertions (and ``assumptions``) within ``timeout`` seconds."""
        check_interrupt()  # a KeyboardInterrupt raised inside a __del__ is lost: the flag is not
        self._s.set("timeout", _ms(timeout) if timeout is not None else 4294967295)
        self.checks += 1
        r = self._s.check(*assumptions)
        check_interrupt()
        if r == z3.unknown and self._finite and "timeout" not in self.reason_unknown() \
                and "canceled" not in self.reason_unknown():
            self._general()
            self._s.set("timeout", _ms(timeout) if timeout is not None else 4294967295)
            r = self._s.check(*assumptions)
        if r == z3.sat:
            return "sat"
        if r == z3.unsat:
            return "unsat"
        return "unknown"

    def model(self) -> Model:
        return Model(self._s.model())

    def reason_unknown(self) -> str:
        return str(self._s.reason_unknown())

    def unsat_core(self) -> list[Term]:
        return [Term(t) for t in self._s.unsat_core()]


class Relation:
    """An uninterpreted predicate of a Horn problem."""

    def __init__(self, raw: Any, arity: int) -> None:
        self._f = raw
        self.arity = arity

    def __call__(self, args: Sequence[Term]) -> Term:
        return Term(self._f(*args))


class Horn:
    """Constrained Horn clauses solved by Spacer (IC3/PDR generalised to SMT)."""

    def __init__(self, timeout: float | None = None) -> None:
        self._fp = z3.Fixedpoint(ctx=_ctx())
        self._fp.set(engine="spacer")
        self._fp.set("ctrl_c", False)  # Ctrl-C interrupts the context instead (``_Run``)
        # keep the transition relation as written: no inlining or slicing of arguments
        self._fp.set("xform.inline_linear", False)
        self._fp.set("xform.inline_eager", False)
        self._fp.set("xform.slice", False)
        if timeout is not None:
            self._fp.set("timeout", _ms(timeout))
        self._vars: list[object] = []
        self._why = ""

    def relation(self, name: str, sorts: Sequence[SortName]) -> Relation:
        ctx = _ctx()
        z3sorts = [z3.BoolSort(ctx) if s == "bool" else z3.IntSort(ctx) for s in sorts]
        f = z3.Function(name, *z3sorts, z3.BoolSort(ctx))
        self._fp.register_relation(f)
        return Relation(f, len(sorts))

    def declare(self, vs: Sequence[Term]) -> None:
        """Declare the rule variables (universally quantified in every rule)."""
        self._fp.declare_var(*vs)
        self._vars.extend(vs)

    def rule(self, head: Term, body: Sequence[Term]) -> None:
        self._fp.rule(head, list(body) if body else [])

    def query(self, rel: Relation) -> Answer:
        """Is ``rel`` (a nullary error relation) derivable? sat: yes (unsafe)."""
        check_interrupt()
        try:
            r = self._fp.query(rel._f)
        except z3.Z3Exception as err:  # a timeout surfaces as "canceled"; so does Ctrl-C
            check_interrupt()
            self._why = str(err)
            return "unknown"
        check_interrupt()
        if r == z3.sat:
            return "sat"
        if r == z3.unsat:
            return "unsat"
        return "unknown"

    def interpretation(self, rel: Relation, args: Sequence[Term]) -> Term:
        """The solution for ``rel`` (after unsat) as a formula over ``args``."""
        body = self._fp.get_cover_delta(-1, rel._f)
        return Term(z3.substitute_vars(body, *args))  # Var(i) is argument i

    def reason_unknown(self) -> str:
        return self._why or str(self._fp.reason_unknown())

    def levels(self, rel: Relation) -> int:
        return int(self._fp.get_num_levels(rel._f))
