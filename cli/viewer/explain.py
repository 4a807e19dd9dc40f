"""Why a property fails in a state: evaluate the IR, print it, find the guilty atoms.

``evaluate`` is a direct interpreter of the expression IR on integer-coded states
(the compiled semantics in ``model.compile`` is the reference; this one exists
because the viewer needs the value of every sub-expression, not only the truth of
the whole). ``culprits`` walks a formula down to the atoms whose values decide it,
and ``readings`` lists the variables those atoms read, with their values: the
values that falsify the property.
"""

from __future__ import annotations

from dataclasses import dataclass

from mhpcheck.model.domains import EnumDomain
from mhpcheck.model.expr import And, Arith, Cmp, Const, Expr, Implies, Ite, Not, Or, Var
from mhpcheck.model.system import State, TransitionSystem

_PREC = {"or": 1, "implies": 0, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "//": 6,
         "%": 6}


def evaluate(expr: Expr, s: State, t: State | None = None,
             offsets: dict[str, int] | None = None) -> int:
    """The integer code of ``expr`` in state ``s`` (``t``: the post-state, for primes)."""
    off = offsets if offsets is not None else {}

    def ev(e: Expr) -> int:
        if isinstance(e, Const):
            return e.value
        if isinstance(e, Var):
            state = t if e.primed else s
            assert state is not None, "a primed variable needs a post-state"
            i = 0 if e.index is None else ev(e.index)
            return state[off[e.name] + i]
        if isinstance(e, Not):
            return int(not ev(e.arg))
        if isinstance(e, And):
            return int(all(ev(a) for a in e.args))
        if isinstance(e, Or):
            return int(any(ev(a) for a in e.args))
        if isinstance(e, Implies):
            return int((not ev(e.lhs)) or bool(ev(e.rhs)))
        if isinstance(e, Cmp):
            a, b = ev(e.lhs), ev(e.rhs)
            return int({"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b,
                        ">=": a >= b}[e.op])
        if isinstance(e, Arith):
            a, b = ev(e.lhs), ev(e.rhs)
            if e.op == "+":
                return a + b
            if e.op == "-":
                return a - b
            if e.op == "*":
                return a * b
            if e.op in ("//", "%"):  # a zero divisor is a model error: never in a trace
                return 0 if b == 0 else (a // b if e.op == "//" else a % b)
            return min(a, b) if e.op == "min" else max(a, b)
        if isinstance(e, Ite):
            return ev(e.then) if ev(e.cond) else ev(e.orelse)
        raise TypeError(f"unknown expression node {type(e).__name__}")

    return ev(expr)


class Explainer:
    """Prints and explains expressions of one transition system."""

    def __init__(self, ts: TransitionSystem) -> None:
        self.ts = ts
        self.offsets = {v.name: v.offset for v in ts.variables}
        self.decls = {v.name: v for v in ts.variables}

    def value(self, expr: Expr, s: State, t: State | None = None) -> int:
        return evaluate(expr, s, t, self.offsets)

    def show_code(self, code: int, sort: object) -> str:
        """A code as the user writes it: a label, true/false or a number."""
        if isinstance(sort, EnumDomain):
            return str(sort.decode(code))
        if sort == "bool":
            return "true" if code else "false"
        return str(code)

    def _index_label(self, name: str, i: int) -> str:
        decl = self.decls.get(name)
        if decl is not None and decl.index is not None and 0 <= i < decl.index.size:
            return decl.index.label(i)
        return str(i)

    # -- printing -------------------------------------------------------------------
    def show(self, e: Expr, parent: int = -1) -> str:
        """``e`` as text, with the parentheses precedence needs."""
        text, prec = self._show(e)
        return f"({text})" if prec < parent else text

    def _show(self, e: Expr) -> tuple[str, int]:
        if isinstance(e, Const):
            return self.show_code(e.value, e.sort), 9
        if isinstance(e, Var):
            name = f"{e.name}'" if e.primed else e.name
            if e.index is None:
                return name, 9
            if isinstance(e.index, Const):
                return f"{name}[{self._index_label(e.name, e.index.value)}]", 9
            return f"{name}[{self.show(e.index)}]", 9
        if isinstance(e, Not):
            if isinstance(e.arg, Cmp) and e.arg.op == "==":
                return self._show(Cmp("!=", e.arg.lhs, e.arg.rhs))
            return f"not {self.show(e.arg, 3)}", 3
        if isinstance(e, And):
            if not e.args:
                return "true", 9
            return " and ".join(self.show(a, 3) for a in e.args), 2
        if isinstance(e, Or):
            if not e.args:
                return "false", 9
            return " or ".join(self.show(a, 3) for a in e.args), 1
        if isinstance(e, Implies):
            return f"{self.show(e.lhs, 1)} implies {self.show(e.rhs, 1)}", 0
        if isinstance(e, Cmp):
            return f"{self.show(e.lhs, 5)} {e.op} {self.show(e.rhs, 5)}", 4
        if isinstance(e, Arith):
            counted = _counted(e)
            if counted is not None:
                return f"count({', '.join(self.show(c) for c in counted)})", 9
            if e.op in ("min", "max"):
                return f"{e.op}({self.show(e.lhs)}, {self.show(e.rhs)})", 9
            p = _PREC[e.op]
            return f"{self.show(e.lhs, p)} {e.op} {self.show(e.rhs, p + 1)}", p
        if isinstance(e, Ite):
            if _is_indicator(e):
                return f"count({self.show(e.cond)})", 9
            return (f"if {self.show(e.cond)} then {self.show(e.then)} "
                    f"else {self.show(e.orelse)}"), 0
        return type(e).__name__, 9

    # -- explaining -----------------------------------------------------------------
    def culprits(self, e: Expr, want: bool, s: State, t: State | None = None,
                 limit: int = 4) -> list[Expr]:
        """Atoms of ``e`` whose values make ``e`` evaluate to ``want`` in ``s`` (and ``t``).

        For a false conjunction, the false conjuncts (up to ``limit``); for a true
        disjunction, the first true disjunct; and so on down to comparisons and
        Boolean variables.
        """
        if isinstance(e, Not):
            return self.culprits(e.arg, not want, s, t, limit)
        if isinstance(e, (And, Or)):
            decisive = want is False if isinstance(e, And) else want is True
            if decisive:
                hits = [a for a in e.args if bool(self.value(a, s, t)) == want]
                out: list[Expr] = []
                for a in hits[:limit]:
                    out += self.culprits(a, want, s, t, limit)
                return out
            out = []
            for a in e.args:
                out += self.culprits(a, want, s, t, limit)
            return out
        if isinstance(e, Implies):
            if not want:
                return (self.culprits(e.lhs, True, s, t, limit)
                        + self.culprits(e.rhs, False, s, t, limit))
            if not self.value(e.lhs, s, t):
                return self.culprits(e.lhs, False, s, t, limit)
            return self.culprits(e.rhs, True, s, t, limit)
        if isinstance(e, Ite) and e.sort == "bool":
            cond = bool(self.value(e.cond, s, t))
            branch = e.then if cond else e.orelse
            return (self.culprits(e.cond, cond, s, t, limit)
                    + self.culprits(branch, want, s, t, limit))
        if isinstance(e, Const):
            return []
        return [e]

    def failing_parts(self, e: Expr, s: State, t: State | None = None,
                      limit: int = 3) -> list[Expr]:
        """The top-level conjuncts of ``e`` that are false (``e`` itself if not an And)."""
        if isinstance(e, And):
            return [a for a in e.args if not self.value(a, s, t)][:limit]
        return [e]

    def readings(self, atoms: list[Expr], s: State,
                 t: State | None = None) -> list[tuple[str, str]]:
        """The variables ``atoms`` read, as (name[index], value), each once, in order.

        A computed sub-expression that is not a plain variable (a count, a sum) is
        listed too, with its value.
        """
        seen: dict[str, str] = {}

        def visit(e: Expr, top: bool, inside: bool = False) -> None:
            if isinstance(e, Var):
                if e.index is not None:
                    visit(e.index, False, inside)
                i = 0 if e.index is None else self.value(e.index, s, t)
                name = f"{e.name}'" if e.primed else e.name
                key = name if e.index is None else f"{name}[{self._index_label(e.name, i)}]"
                seen.setdefault(key, self.show_code(self.value(e, s, t), e.sort))
                return
            if isinstance(e, Const):
                return
            computed = not top and not inside and e.sort == "int"
            if computed:
                key = self.show(e)
                if len(key) <= 60:
                    seen.setdefault(key, str(self.value(e, s, t)))
            for c in e.children():
                visit(c, False, inside or computed)

        for atom in atoms:
            visit(atom, True)
        return list(seen.items())


def _is_indicator(e: Expr) -> bool:
    return (isinstance(e, Ite) and isinstance(e.then, Const) and isinstance(e.orelse, Const)
            and e.then.value == 1 and e.orelse.value == 0 and e.sort == "int")


def _counted(e: Expr) -> list[Expr] | None:
    """The conditions of a sum of indicators (what ``count`` builds), else None."""
    out: list[Expr] = []
    node: Expr = e
    while isinstance(node, Arith) and node.op == "+":
        if not _is_indicator(node.rhs):
            return None
        assert isinstance(node.rhs, Ite)
        out.append(node.rhs.cond)
        node = node.lhs
    if not _is_indicator(node):
        return None
    assert isinstance(node, Ite)
    out.append(node.cond)
    return list(reversed(out))


@dataclass(frozen=True)
class Falsification:
    """Where and why a formula has the wrong value: its parts and the values they read."""

    parts: tuple[str, ...]
    values: tuple[tuple[str, str], ...]
