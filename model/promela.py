"""Export a transition system as a Promela model: the SPIN twin, for cross-checking.

The twin has a single-process form:
global variables only, and one process whose body is one non-deterministic ``do``
loop with one ``d_step { guard -> updates }`` option per action instance. A
``d_step`` is one indivisible transition that stores no intermediate state, and the
process never leaves the loop head, so SPIN's ``states, stored`` is the number of
reachable valuations of the globals, and ``transitions - 1`` the number of (state,
enabled action) pairs: the same counts as our engines give.

Details that keep the counts equal:

- The initial state is set by declaration initialisers, not by statements (a
  statement before the loop would be one more stored state). A family whose initial
  values differ is declared as one scalar per element (``name_0``, ``name_1``...),
  and a read or write at a dynamic index becomes a conditional over the elements.
  With several initial states, a non-deterministic ``if`` of ``d_step``s before the
  loop chooses one: SPIN then stores one extra state (``spin_offset`` is 1).
- Updates are simultaneous here and sequential in Promela: when one update reads a
  variable an earlier one writes, every value is first copied into a temporary, and
  the temporaries are reset to 0 at the end of the step so they never tell states
  apart.
- A value that may leave its variable's domain (interval analysis cannot rule it
  out) is asserted to stay inside, as the explicit semantics insist.
- SPIN keeps a global out of its state vector when no statement reads it (a ghost
  written only for a property, or a flag that no guard of this configuration tests)
  and so merges states that differ only in it; ``spin -o2`` turns that off. Compile
  the twin with ``spin -o2 -a`` to compare counts (the header says so too).
- ``//`` and ``%`` are Python's (floor division; the remainder takes the divisor's
  sign), rewritten where an operand may be negative. A zero divisor, a model error
  in our engines, is not asserted against.

Values are the integer codes of the IR: a bool is 0/1, an enum label its position (a
comment lists the labels), an int range the integer itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .compile import bounds
from .domains import Domain, EnumDomain
from .errors import ModelError
from .expr import And, Arith, Assign, Cmp, Const, Expr, Implies, Ite, Not, Or, Var, reads
from .system import Invariant, TransitionSystem

#: Promela keywords and pan.c names a variable must not take.
RESERVED = frozenset((
    "active", "assert", "atomic", "bit", "bool", "break", "byte", "c_code", "c_decl", "c_expr",
    "c_state", "c_track", "chan", "d_step", "do", "else", "empty", "enabled", "eval", "false",
    "fi", "full", "get_priority", "goto", "hidden", "if", "in", "init", "inline", "int", "len",
    "local", "ltl", "mtype", "nempty", "never", "nfull", "notrace", "np_", "od", "of",
    "pc_value", "pid", "print", "printf", "printm", "priority", "proctype", "provided", "run",
    "select", "set_priority", "short", "show", "skip", "timeout", "trace", "true", "typedef",
    "unless", "unsigned", "xr", "xs", "main", "now", "Q_", "try", "for",
))

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class PromelaModel:
    """The exported twin: its text, and how SPIN's state count relates to ours."""

    text: str
    #: SPIN's ``states, stored`` = our distinct states + ``spin_offset`` (0 with one
    #: initial state; 1 when a choice of initial states precedes the loop).
    spin_offset: int


def _ctype(domain: Domain) -> str:
    lo, hi = domain.lo, domain.hi
    if lo >= 0 and hi <= 1:
        return "bit"
    if lo >= 0 and hi <= 255:
        return "byte"
    if lo >= -32768 and hi <= 32767:
        return "short"
    return "int"


def _describe(domain: Domain) -> str:
    if isinstance(domain, EnumDomain):
        return ", ".join(f"{i} {label}" for i, label in enumerate(domain.labels))
    return domain.describe()


class _Writer:
    """Promela text for the expressions and updates of one transition system."""

    def __init__(self, ts: TransitionSystem) -> None:
        self.ts = ts
        init = ts.init[0]
        self.names: dict[str, str] = {}
        self.split: set[str] = set()  # families declared one scalar per element
        taken: set[str] = set()
        for v in ts.variables:
            name = v.name if _IDENT.match(v.name) and v.name not in RESERVED else \
                "v_" + re.sub(r"[^A-Za-z0-9_]", "_", v.name)
            while name in taken:
                name += "_"
            taken.add(name)
            self.names[v.name] = name
            values = init[v.offset:v.offset + v.width]
            if v.index is not None and len(set(values)) > 1 and len(ts.init) == 1:
                self.split.add(v.name)

    def element(self, name: str, i: int) -> str:
        base = self.names[name]
        return f"{base}_{i}" if name in self.split else f"{base}[{i}]"

    def declarations(self) -> list[str]:
        ts = self.ts
        single = len(ts.init) == 1
        init = ts.init[0]
        out: list[str] = []
        for v in ts.variables:
            ctype = _ctype(v.domain)
            dom = _describe(v.domain)
            if dom != v.domain.name:
                dom = f"{v.domain.name}: {dom}"
            doc = dom + (f"; {v.doc}" if v.doc else "")
            name = self.names[v.name]
            values = init[v.offset:v.offset + v.width]
            if v.index is None:
                value = f" = {values[0]}" if single and values[0] else ""
                out.append(f"{ctype} {name}{value};  /* {doc} */")
            elif v.name in self.split:
                out.append(f"/* {name}[{v.index.name}]: {doc} */")
                out += [f"{ctype} {name}_{i} = {x};" for i, x in enumerate(values)]
            else:
                value = f" = {values[0]}" if single and values[0] else ""
                out.append(f"{ctype} {name}[{v.width}]{value};  /* over {v.index.name}; "
                           f"{doc} */")
        return out

    def expr(self, e: Expr) -> str:
        if isinstance(e, Const):
            return str(e.value)
        if isinstance(e, Var):
            if e.primed:
                raise ModelError(f"model {self.ts.name}: a primed variable ({e.name}') cannot "
                                 "be exported")
            name = self.names[e.name]
            if e.index is None:
                return name
            if isinstance(e.index, Const):
                return self.element(e.name, e.index.value)
            index = self.expr(e.index)
            if e.name not in self.split:
                return f"{name}[{index}]"
            lo, hi = bounds(e.index)
            lo, hi = max(lo, 0), min(hi, e.size - 1)
            code = self.element(e.name, hi)
            for i in range(hi - 1, lo - 1, -1):
                code = f"({index} == {i} -> {self.element(e.name, i)} : {code})"
            return code
        if isinstance(e, Not):
            # Parenthesised: SPIN reads ``!!`` as its send operator, not a double negation.
            return f"(!{self.expr(e.arg)})"
        if isinstance(e, (And, Or)):
            if not e.args:
                return "true" if isinstance(e, And) else "false"
            joiner = " && " if isinstance(e, And) else " || "
            return "(" + joiner.join(self.expr(a) for a in e.args) + ")"
        if isinstance(e, Implies):
            return f"(!{self.expr(e.lhs)} || {self.expr(e.rhs)})"
        if isinstance(e, Cmp):
            return f"({self.expr(e.lhs)} {e.op} {self.expr(e.rhs)})"
        if isinstance(e, Arith):
            a, b = self.expr(e.lhs), self.expr(e.rhs)
            if e.op == "min":
                return f"({a} < {b} -> {a} : {b})"
            if e.op == "max":
                return f"({a} > {b} -> {a} : {b})"
            if e.op in ("//", "%"):
                return self.division(e, a, b)
            return f"({a} {e.op} {b})"
        if isinstance(e, Ite):
            return f"({self.expr(e.cond)} -> {self.expr(e.then)} : {self.expr(e.orelse)})"
        raise ModelError(f"model {self.ts.name}: cannot export {type(e).__name__}")

    def division(self, e: Arith, a: str, b: str) -> str:
        """Python's ``//`` or ``%`` in Promela, whose ``/`` and ``%`` truncate toward zero
        (C's): they agree when neither operand can be negative; otherwise C's remainder
        ``r`` is corrected by the divisor when ``r`` and the divisor differ in sign."""
        (alo, _), (blo, _) = bounds(e.lhs), bounds(e.rhs)
        op = "/" if e.op == "//" else "%"
        if alo >= 0 and blo >= 0:
            return f"({a} {op} {b})"
        r = f"({a} % {b})"
        off = f"({r} != 0 && ({r} < 0) != ({b} < 0))"
        if e.op == "%":
            return f"({off} -> {r} + {b} : {r})"
        return f"({off} -> {a} / {b} - 1 : {a} / {b})"

    def store(self, u: Assign, index: str | None, value: str) -> str:
        """The statement that writes ``value`` into ``u``'s target."""
        name = self.names[u.name]
        if u.index is None:
            return f"{name} = {value}"
        if isinstance(u.index, Const):
            return f"{self.element(u.name, u.index.value)} = {value}"
        assert index is not None
        if u.name not in self.split:
            return f"{name}[{index}] = {value}"
        lo, hi = bounds(u.index)
        options = " ".join(f":: {index} == {i} -> {self.element(u.name, i)} = {value}"
                           for i in range(max(lo, 0), min(hi, u.size - 1) + 1))
        return f"if {options} fi"

    def updates(self, updates: tuple[Assign, ...]) -> tuple[list[str], list[str]]:
        """Statements for simultaneous ``updates``, and the temporaries they need."""
        checks: list[str] = []
        for u in updates:
            lo, hi = bounds(u.value)
            if u.value.sort == "bool":
                lo, hi = 0, 1
            if lo < u.domain.lo or hi > u.domain.hi:
                v = self.expr(u.value)
                checks.append(f"assert({v} >= {u.domain.lo} && {v} <= {u.domain.hi})")
            if u.index is not None and not isinstance(u.index, Const):
                ilo, ihi = bounds(u.index)
                if ilo < 0 or ihi >= u.size:
                    i = self.expr(u.index)
                    checks.append(f"assert({i} >= 0 && {i} < {u.size})")
        written: set[str] = set()
        clash = False
        for u in updates:
            read = reads(u.value) | (reads(u.index) if u.index is not None else frozenset())
            if read & written:
                clash = True
            written.add(u.name)
        if not clash:
            stmts = [self.store(u, None if u.index is None else self.expr(u.index),
                                self.expr(u.value)) for u in updates]
            return checks + stmts, []
        temps: list[str] = []
        stmts, stores = [], []
        for u in updates:
            t = f"mhp_t{len(temps)}"
            temps.append(t)
            stmts.append(f"{t} = {self.expr(u.value)}")
            index = None
            if u.index is not None and not isinstance(u.index, Const):
                ti = f"mhp_t{len(temps)}"
                temps.append(ti)
                stmts.append(f"{ti} = {self.expr(u.index)}")
                index = ti
            stores.append(self.store(u, index, t))
        return checks + stmts + stores + [f"{t} = 0" for t in temps], temps


def _header(ts: TransitionSystem) -> str:
    params = ", ".join(f"{k}={v}" for k, v in ts.params)
    knobs = ", ".join(f"{k}={v}" for k, v in ts.knobs)
    return (f"/* {ts.name} ({params or 'no parameters'}; knobs: {knobs or 'none'}): the SPIN "
            "twin, single process, guarded d_step actions.\n"
            "   Generated by `check-model export`; do not edit. Compare state counts with\n"
            "   `spin -o2 -a` (SPIN otherwise drops a global that nothing reads). */")


def export_promela(ts: TransitionSystem, invariants: bool = False) -> PromelaModel:
    """The Promela twin of ``ts``.

    ``invariants`` asserts every invariant at the end of each step (the initial state
    is not asserted: a statement before the loop would add a stored state).
    """
    if not ts.init:
        raise ModelError(f"model {ts.name}: no initial state to export")
    w = _Writer(ts)
    lines = [_header(ts), "", *w.declarations()]
    body: list[str] = []
    temps: list[str] = []
    asserts: list[str] = []
    if invariants:
        asserts = [f"assert({w.expr(p.expr)})" for p in ts.properties
                   if isinstance(p, Invariant)]
    for inst in ts.actions:
        stmts, used = w.updates(inst.updates)
        temps += [t for t in used if t not in temps]
        stmts += asserts
        guard = w.expr(inst.guard)
        action = "; ".join(stmts) if stmts else "skip"
        body.append(f"  :: d_step {{ {guard} -> {action} }}   /* {inst.label} */")
    if temps:
        lines.append(f"int {', '.join(temps)};  /* temporaries of simultaneous updates, 0 "
                     "between steps */")
    lines += ["", "active proctype main()", "{"]
    offset = 0
    if len(ts.init) > 1:
        offset = 1
        lines.append("  if")
        for s in ts.init:
            sets = [f"{w.element(v.name, i) if v.index is not None else w.names[v.name]} = "
                    f"{s[v.offset + i]}" for v in ts.variables for i in range(v.width)]
            lines.append(f"  :: d_step {{ {'; '.join(sets)} }}")
        lines.append("  fi;")
    lines += ["  do", *body, "  od", "}", ""]
    return PromelaModel("\n".join(lines), offset)
