"""Ask your own question: a small expression language over a model's variables.

A property the model does not declare can be written on the command line
(``--invariant-expr``, ``--reachable-expr``) or in a spec (``invariant_expr``,
``reachable_expr``) without touching the package. The text is parsed here by a
recursive-descent parser (never ``eval``) and translated into the model's IR, so every
engine checks it like a declared property. Grammar, loosest binding first::

    expr     := 'if' expr 'then' expr 'else' expr
              | ('forall' | 'exists') NAME 'in' SET ':' expr
              | implies
    implies  := or (('implies' | '=>') expr)?           right to left
    or       := and (('or' | '|' | '||') and)*
    and      := not (('and' | '&' | '&&') not)*
    not      := ('not' | '~' | '!') not | cmp
    cmp      := sum (('==' | '!=' | '<' | '<=' | '>' | '>=') sum)?
    sum      := product (('+' | '-') product)*
    product  := unary (('*' | '//' | '%') unary)*
    unary    := '-' unary | atom
    atom     := INT | 'true' | 'false' | NAME | NAME '[' expr ']' | STRING
              | '(' expr ')' | ('min' | 'max') '(' expr (',' expr)* ')' | 'abs' '(' expr ')'
              | ('count' | 'sum') '(' NAME 'in' SET ':' expr ')'

A quantifier or ``if`` may also start any operand (``pc[0] == if b then left else
eating``); its last part then extends as far right as it can. A NAME is, in this
order: an index bound by an enclosing quantifier, a state variable (a family must be
indexed), a parameter of the model, or an enum label (``eating``; quote a label
that is not an identifier, or that a variable shadows: ``"eating"``). An index may
also be a label of the family's index set. ``SET`` names an index set of the model
(``phil`` in ``forall i in phil: ...``); quantifiers are expanded over it, so
``fork[(i + 1) % n]`` has a constant index. Integer operators are Python's (``//``
and ``%`` floor); ``count`` counts the indices where a condition holds and ``sum``
adds integers over an index set.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass

from .domains import EnumDomain
from .errors import ModelError, UsageError
from .expr import (
    DIVISIONS,
    FALSE,
    TRUE,
    And,
    Arith,
    ArithOp,
    Cmp,
    CmpOp,
    Const,
    Expr,
    Implies,
    Ite,
    Not,
    Or,
    Sort,
    Var,
)
from .system import IndexSet, Invariant, Property, Reachable, TransitionSystem, VarDecl

#: The property kinds a user's expression can state, and the prefix of their names.
KINDS = ("invariant", "reachable")

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<int>\d+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>"[^"]*"|'[^']*')
  | (?P<op>//|<=|>=|==|!=|=>|&&|\|\||[-+*%<>()\[\],:&|~!=])
""", re.VERBOSE)

#: The largest integer literal: products of a few stay within 64 bits.
MAX_LITERAL = 2**31 - 1

_KEYWORDS = frozenset(("and", "or", "not", "implies", "true", "false", "if", "then", "else",
                       "forall", "exists", "in"))
_CMP_OPS = frozenset(("==", "!=", "<", "<=", ">", ">="))


@dataclass(frozen=True)
class _Token:
    kind: str  # "int", "name", "string", "op", "end"
    text: str
    col: int  # 1-based


# -- syntax tree (positions kept for messages) ----------------------------------------------
@dataclass(frozen=True)
class _Node:
    col: int


@dataclass(frozen=True)
class _Num(_Node):
    value: int


@dataclass(frozen=True)
class _Truth(_Node):
    value: bool


@dataclass(frozen=True)
class _Name(_Node):
    name: str
    quoted: bool = False


@dataclass(frozen=True)
class _Index(_Node):
    name: str
    index: _Node


@dataclass(frozen=True)
class _Unary(_Node):
    op: str  # "-" or "not"
    arg: _Node


@dataclass(frozen=True)
class _Binary(_Node):
    op: str  # an arithmetic or comparison operator, "and", "or", "implies"
    lhs: _Node
    rhs: _Node


@dataclass(frozen=True)
class _If(_Node):
    cond: _Node
    then: _Node
    orelse: _Node


@dataclass(frozen=True)
class _Over(_Node):
    """``forall``/``exists``/``count``/``sum`` of ``body`` with ``var`` over ``over``."""

    fn: str
    var: str
    over: str
    over_col: int
    body: _Node


@dataclass(frozen=True)
class _Call(_Node):
    fn: str  # "min", "max" or "abs"
    args: tuple[_Node, ...]


class ExprSyntaxError(Exception):
    """A problem at a column of the text (turned into a UsageError by ``parse_expr``)."""

    def __init__(self, col: int, message: str) -> None:
        super().__init__(message)
        self.col = col


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ExprSyntaxError(pos + 1, f"unexpected character {text[pos]!r}")
        kind = m.lastgroup or "op"
        if kind != "space":
            out.append(_Token(kind, m.group(), pos + 1))
        pos = m.end()
    out.append(_Token("end", "", len(text) + 1))
    return out


class _Parser:
    """Recursive descent over the tokens, one method per grammar rule."""

    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.pos = 0

    @property
    def tok(self) -> _Token:
        return self.toks[self.pos]

    def at(self, *texts: str) -> bool:
        t = self.tok
        return t.kind in ("op", "name") and t.text in texts

    def take(self) -> _Token:
        t = self.tok
        self.pos += 1
        return t

    def expect(self, text: str) -> _Token:
        if not self.at(text):
            raise ExprSyntaxError(self.tok.col, f"expected '{text}', found {_shown(self.tok)}")
        return self.take()

    def name(self, what: str) -> _Token:
        t = self.tok
        if t.kind != "name" or t.text in _KEYWORDS:
            raise ExprSyntaxError(t.col, f"expected {what}, found {_shown(t)}")
        return self.take()

    def parse(self) -> _Node:
        node = self.expr()
        if self.tok.kind != "end":
            t = self.tok
            hint = " (compare with ==)" if t.text == "=" else ""
            raise ExprSyntaxError(t.col, f"unexpected {_shown(t)}{hint}")
        return node

    def expr(self) -> _Node:
        t = self.tok
        if self.at("if"):
            self.take()
            cond = self.expr()
            self.expect("then")
            then = self.expr()
            self.expect("else")
            return _If(t.col, cond, then, self.expr())
        if self.at("forall", "exists"):
            self.take()
            var, over, over_col = self.binder()
            return _Over(t.col, t.text, var, over, over_col, self.expr())
        return self.implies()

    def binder(self) -> tuple[str, str, int]:
        """``NAME in SET :``"""
        var = self.name("an index name").text
        self.expect("in")
        over = self.name("an index set")
        self.expect(":")
        return var, over.text, over.col

    def implies(self) -> _Node:
        lhs = self.or_()
        if self.at("implies", "=>"):
            t = self.take()
            return _Binary(t.col, "implies", lhs, self.expr())
        return lhs

    def or_(self) -> _Node:
        node = self.and_()
        while self.at("or", "|", "||"):
            t = self.take()
            node = _Binary(t.col, "or", node, self.and_())
        return node

    def and_(self) -> _Node:
        node = self.not_()
        while self.at("and", "&", "&&"):
            t = self.take()
            node = _Binary(t.col, "and", node, self.not_())
        return node

    def not_(self) -> _Node:
        t = self.tok
        if self.at("not", "~", "!"):
            self.take()
            return _Unary(t.col, "not", self.not_())
        return self.cmp()

    def cmp(self) -> _Node:
        lhs = self.sum()
        if self.tok.kind == "op" and self.tok.text in _CMP_OPS:
            t = self.take()
            node = _Binary(t.col, t.text, lhs, self.sum())
            if self.tok.kind == "op" and self.tok.text in _CMP_OPS:
                raise ExprSyntaxError(self.tok.col, "comparisons do not chain: write "
                                      "a < b and b < c")
            return node
        return lhs

    def sum(self) -> _Node:
        node = self.product()
        while self.at("+", "-"):
            t = self.take()
            node = _Binary(t.col, t.text, node, self.product())
        return node

    def product(self) -> _Node:
        node = self.unary()
        while self.at("*", "//", "%"):
            t = self.take()
            node = _Binary(t.col, t.text, node, self.unary())
        return node

    def unary(self) -> _Node:
        t = self.tok
        if self.at("-"):
            self.take()
            return _Unary(t.col, "-", self.unary())
        return self.atom()

    def atom(self) -> _Node:
        t = self.tok
        if t.kind == "int":
            self.take()
            if int(t.text) > MAX_LITERAL:  # the batch engine computes in 64-bit integers
                raise ExprSyntaxError(t.col, f"integer {t.text} is too large (at most "
                                      f"{MAX_LITERAL})")
            return _Num(t.col, int(t.text))
        if t.kind == "string":
            self.take()
            return _Name(t.col, t.text[1:-1], quoted=True)
        if self.at("if", "forall", "exists"):
            return self.expr()
        if self.at("("):
            self.take()
            node = self.expr()
            self.expect(")")
            return node
        if self.at("true", "false"):
            self.take()
            return _Truth(t.col, t.text == "true")
        if t.kind == "name" and t.text not in _KEYWORDS:
            self.take()
            if t.text in ("count", "sum") and self.at("("):
                self.take()
                var, over, over_col = self.binder()
                body = self.expr()
                self.expect(")")
                return _Over(t.col, t.text, var, over, over_col, body)
            if t.text in ("min", "max", "abs") and self.at("("):
                self.take()
                args = [self.expr()]
                while self.at(","):
                    self.take()
                    args.append(self.expr())
                self.expect(")")
                if t.text == "abs" and len(args) != 1:
                    raise ExprSyntaxError(t.col, "abs takes one argument")
                return _Call(t.col, t.text, tuple(args))
            if self.at("["):
                self.take()
                index = self.expr()
                self.expect("]")
                return _Index(t.col, t.text, index)
            return _Name(t.col, t.text)
        if t.kind == "end":
            raise ExprSyntaxError(t.col, "the expression ends too early")
        raise ExprSyntaxError(t.col, f"unexpected {_shown(t)}")


def _shown(t: _Token) -> str:
    return "the end" if t.kind == "end" else f"'{t.text}'"


def _sort_name(sort: Sort) -> str:
    if isinstance(sort, EnumDomain):
        return f"a label of {sort.name}"
    return "an integer" if sort == "int" else "a truth value"


# -- translation into the IR ------------------------------------------------------------------
class _Translator:
    """The IR of a syntax tree over one transition system's variables."""

    def __init__(self, ts: TransitionSystem) -> None:
        self.ts = ts
        self.decls: dict[str, VarDecl] = {v.name: v for v in ts.variables}
        self.sets: dict[str, IndexSet] = {v.index.name: v.index for v in ts.variables
                                          if v.index is not None}
        self.params = {k: v for k, v in ts.params if isinstance(v, int)}
        self.enums: list[EnumDomain] = []
        for v in ts.variables:
            if isinstance(v.domain, EnumDomain) and v.domain not in self.enums:
                self.enums.append(v.domain)
        self.env: dict[str, int] = {}

    # names ------------------------------------------------------------------------------
    def is_label(self, node: _Node) -> bool:
        """Whether ``node`` is an enum label, whose enum the other operand decides."""
        if not isinstance(node, _Name):
            return False
        return node.quoted or not (node.name in self.env or node.name in self.decls
                                   or node.name in self.params)

    def label(self, node: _Name, want: Sort | None) -> Expr:
        if isinstance(want, EnumDomain):
            if node.name in want.labels:
                return Const(want.labels.index(node.name), want)
            raise ExprSyntaxError(node.col, f"{node.name!r} is not a label of enum {want.name} "
                                  f"({', '.join(want.labels)})")
        owners = [e for e in self.enums if node.name in e.labels]
        if len(owners) == 1:
            return Const(owners[0].labels.index(node.name), owners[0])
        if len(owners) > 1:
            raise ExprSyntaxError(node.col, f"label {node.name!r} belongs to several enums "
                                  f"({', '.join(e.name for e in owners)}): compare it with a "
                                  "variable")
        known = ", ".join(self.decls)
        raise ExprSyntaxError(node.col, f"unknown name {node.name!r}: not a variable, parameter, "
                              f"bound index or label (variables: {known})")

    def name(self, node: _Name, want: Sort | None) -> Expr:
        if node.quoted:
            return self.label(node, want)
        if node.name in self.env:
            return Const(self.env[node.name])
        decl = self.decls.get(node.name)
        if decl is not None:
            if decl.index is not None:
                raise ExprSyntaxError(node.col, f"{decl.name} is a family over "
                                      f"{decl.index.name}: index it, as in {decl.name}[0] or "
                                      f"forall i in {decl.index.name}: ... {decl.name}[i] ...")
            return Var(decl.name, decl.domain)
        if node.name in self.params:
            return Const(int(self.params[node.name]))
        return self.label(node, want)

    def index(self, node: _Index) -> Expr:
        decl = self.decls.get(node.name)
        if decl is None:
            known = ", ".join(v.name for v in self.ts.variables if v.index is not None)
            raise ExprSyntaxError(node.col, f"unknown family {node.name!r} (families: "
                                  f"{known or 'none'})")
        if decl.index is None:
            raise ExprSyntaxError(node.col, f"{decl.name} is not a family: write it without "
                                  "an index")
        size = decl.index.size
        raw = node.index
        if (isinstance(raw, _Name) and raw.name in decl.index.labels
                and raw.name not in self.env and raw.name not in self.decls):
            index: Expr = Const(decl.index.labels.index(raw.name))
        else:
            index = self.int_(raw, f"the index of {decl.name}")
        if isinstance(index, Const) and not 0 <= index.value < size:
            raise ExprSyntaxError(raw.col, f"{decl.name}[{index.value}]: index outside "
                                  f"0..{size - 1}")
        return Var(decl.name, decl.domain, index, size)

    # sorts ------------------------------------------------------------------------------
    def bool_(self, node: _Node, what: str) -> Expr:
        e = self.expr(node, "bool")
        if e.sort != "bool":
            raise ExprSyntaxError(node.col, f"{what} must be a condition, not "
                                  f"{_sort_name(e.sort)}")
        return e

    def int_(self, node: _Node, what: str) -> Expr:
        e = self.expr(node, "int")
        if e.sort != "int":
            raise ExprSyntaxError(node.col, f"{what} must be an integer, not "
                                  f"{_sort_name(e.sort)}")
        return e

    def arith(self, op: ArithOp, a: Expr, b: Expr, col: int) -> Expr:
        if isinstance(a, Const) and isinstance(b, Const):  # fold: i + 1 under a quantifier
            if op in DIVISIONS and b.value == 0:
                raise ExprSyntaxError(col, f"'{op}' by zero")
            fold: dict[str, Callable[[int, int], int]] = {
                "+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y,
                "//": lambda x, y: x // y, "%": lambda x, y: x % y, "min": min, "max": max}
            return Const(fold[op](a.value, b.value))
        return Arith(op, a, b)

    # expressions ------------------------------------------------------------------------
    def expr(self, node: _Node, want: Sort | None = None) -> Expr:
        if isinstance(node, _Num):
            return Const(node.value)
        if isinstance(node, _Truth):
            return TRUE if node.value else FALSE
        if isinstance(node, _Name):
            return self.name(node, want)
        if isinstance(node, _Index):
            return self.index(node)
        if isinstance(node, _Unary):
            if node.op == "not":
                return Not(self.bool_(node.arg, "the operand of not"))
            return self.arith("-", Const(0), self.int_(node.arg, "the operand of -"), node.col)
        if isinstance(node, _Binary):
            return self.binary(node)
        if isinstance(node, _If):
            cond = self.bool_(node.cond, "the condition of if")
            if self.is_label(node.then) and not self.is_label(node.orelse):
                orelse = self.expr(node.orelse, want)  # a label takes the other's enum
                then = self.expr(node.then, orelse.sort)
            else:
                then = self.expr(node.then, want)
                orelse = self.expr(node.orelse, then.sort)
            if then.sort != orelse.sort:
                raise ExprSyntaxError(node.orelse.col, f"the branches of if differ: "
                                      f"{_sort_name(then.sort)} and {_sort_name(orelse.sort)}")
            return Ite(cond, then, orelse)
        if isinstance(node, _Over):
            return self.over(node)
        if isinstance(node, _Call):
            args = [self.int_(a, f"an argument of {node.fn}") for a in node.args]
            if node.fn == "abs":
                x = args[0]
                return self.arith("max", x, self.arith("-", Const(0), x, node.col), node.col)
            out = args[0]
            for a in args[1:]:
                out = self.arith("min" if node.fn == "min" else "max", out, a, node.col)
            return out
        raise ExprSyntaxError(node.col, f"unknown syntax node {type(node).__name__}")

    def binary(self, node: _Binary) -> Expr:
        op = node.op
        if op in ("and", "or"):
            a, b = self.bool_(node.lhs, f"an operand of {op}"), self.bool_(node.rhs,
                                                                           f"an operand of {op}")
            cls = And if op == "and" else Or
            args = [*(a.args if isinstance(a, cls) else (a,)),
                    *(b.args if isinstance(b, cls) else (b,))]
            return cls(tuple(args))
        if op == "implies":
            return Implies(self.bool_(node.lhs, "the premise of implies"),
                           self.bool_(node.rhs, "the conclusion of implies"))
        if op in _CMP_OPS:
            # a bare label takes the enum of the other side
            first, second = ((node.rhs, node.lhs) if self.is_label(node.lhs)
                             else (node.lhs, node.rhs))
            x = self.expr(first)
            y = self.expr(second, x.sort)
            a, b = (y, x) if first is node.rhs else (x, y)
            if a.sort != b.sort:
                raise ExprSyntaxError(node.col, f"'{op}' between {_sort_name(a.sort)} and "
                                      f"{_sort_name(b.sort)}")
            if op not in ("==", "!=") and a.sort != "int":
                raise ExprSyntaxError(node.col, f"'{op}' orders integers, not "
                                      f"{_sort_name(a.sort)}")
            cmp_op: CmpOp = op  # type: ignore[assignment]
            return Cmp(cmp_op, a, b)
        arith_op: ArithOp = op  # type: ignore[assignment]
        return self.arith(arith_op, self.int_(node.lhs, f"an operand of '{op}'"),
                          self.int_(node.rhs, f"an operand of '{op}'"), node.col)

    def over(self, node: _Over) -> Expr:
        index_set = self.sets.get(node.over)
        if index_set is None:
            known = ", ".join(self.sets) or "none"
            raise ExprSyntaxError(node.over_col, f"unknown index set {node.over!r} (index "
                                  f"sets: {known})")
        outer = self.env.get(node.var)
        parts: list[Expr] = []
        try:
            for i in range(index_set.size):
                self.env[node.var] = i
                if node.fn in ("forall", "exists", "count"):
                    parts.append(self.bool_(node.body, f"the body of {node.fn}"))
                else:
                    parts.append(self.int_(node.body, "the body of sum"))
        finally:
            if outer is None:
                del self.env[node.var]
            else:
                self.env[node.var] = outer
        if node.fn == "forall":
            return And(tuple(parts))
        if node.fn == "exists":
            return Or(tuple(parts))
        terms = [Ite(p, Const(1), Const(0)) for p in parts] if node.fn == "count" else parts
        total = terms[0]
        for t in terms[1:]:
            total = self.arith("+", total, t, node.col)
        return total


def parse_expr(ts: TransitionSystem, text: str, where: str = "expression",
               condition: bool = False) -> Expr:
    """The IR of ``text`` over ``ts``'s variables (with ``condition``, a truth value);
    a UsageError names the column and the unknown variable, label, index set or
    operator."""
    try:
        tree = _Parser(text).parse()
        tr = _Translator(ts)
        return tr.bool_(tree, "the expression") if condition else tr.expr(tree)
    except ExprSyntaxError as err:
        raise UsageError(f"{where} {text!r}: column {err.col}: {err}") from None
    except RecursionError:
        raise UsageError(f"{where}: the expression is nested too deeply") from None


def property_name(kind: str, text: str) -> str:
    """The name of the property ``text`` of ``kind`` states, e.g. ``invariant-expr:x < 3``:
    a trace records it, and the viewer rebuilds the property from it."""
    return f"{kind}-expr:{text}"


def parse_property_name(name: str) -> tuple[str, str] | None:
    """``(kind, text)`` of a name made by ``property_name``, else None."""
    for kind in KINDS:
        prefix = property_name(kind, "")
        if name.startswith(prefix):
            return kind, name[len(prefix):]
    return None


def with_expr_property(ts: TransitionSystem, kind: str, text: str,
                       where: str = "expression") -> tuple[TransitionSystem, Property]:
    """``ts`` with the property ``text`` of ``kind`` (an invariant, or a state to reach)
    added, and that property. The system is a new one (systems are immutable); its
    derived artefacts are computed afresh."""
    if kind not in KINDS:
        raise UsageError(f"{where}: a property of your own is an invariant or reachable, "
                         f"not {kind!r}")
    name = property_name(kind, text)
    for prop in ts.properties:
        if prop.name == name:
            return ts, prop
    if not text.strip():
        raise UsageError(f"{where}: the expression is empty")
    expr = parse_expr(ts, text, where, condition=True)
    doc = f"your own {kind} property: {text}"
    prop = (Invariant(name, doc, (), expr) if kind == "invariant"
            else Reachable(name, doc, (), expr))
    grown = dataclasses.replace(ts, properties=(*ts.properties, prop), _by_name={})
    return grown, prop


def with_named_property(ts: TransitionSystem, name: str) -> TransitionSystem:
    """``ts``, with the property ``name`` added when it is a user's expression that ``ts``
    lacks (a trace or spec names it): how a viewer and a spec rebuild it."""
    parsed = parse_property_name(name)
    if parsed is None:
        return ts
    try:
        ts.property(name)
        return ts
    except ModelError:
        pass
    kind, text = parsed
    return with_expr_property(ts, kind, text)[0]
