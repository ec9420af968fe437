"""Kaleidoscope's syntax: tokens, the abstract syntax tree, and a parser.

The language of LLVM's tutorial (chapters 2-5): every value is a double.

    def fib(n) if n < 3 then 1 else fib(n - 1) + fib(n - 2)
    extern sin(x)
    for i = 0, i < 3, 1 in printd(i)
    fib(10) + sin(0.5)

| form | meaning |
|---|---|
| ``def name(a b ...) expr`` | a function (parameters separated by spaces or commas) |
| ``extern name(a ...)`` | a function of the executor process (``sin``, ``cos``, ``pow`` ...) |
| ``expr`` | evaluated, its value printed |
| numbers, names, ``f(x, y)``, ``(e)``, ``-e`` | as usual |
| ``a < b``, ``a > b`` | 1.0 or 0.0 |
| ``+ - * /`` | arithmetic (``*``, ``/`` bind tighter than ``+``, ``-``, tighter than ``<``, ``>``) |
| ``if c then a else b`` | ``a`` if ``c`` is not 0.0 |
| ``for v = start, cond, step in body`` | loops while ``cond`` is not 0.0 (step default 1); 0.0 |

`parse` turns source text into top-level items; incomplete text (an open parenthesis, a
trailing operator, ``def`` without a body) raises `Incomplete`, so a REPL can read another
line; other mistakes raise `SyntaxProblem` with the column.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

__all__ = [
    "Binary",
    "Call",
    "Definition",
    "Expression",
    "Extern",
    "For",
    "If",
    "Incomplete",
    "Number",
    "Prototype",
    "SyntaxProblem",
    "TopLevel",
    "Unary",
    "Variable",
    "parse",
]

PRECEDENCE: Final = {"<": 10, ">": 10, "+": 20, "-": 20, "*": 40, "/": 40}
KEYWORDS: Final = frozenset({"def", "extern", "if", "then", "else", "for", "in"})
_TOKEN: Final = re.compile(
    r"\s*(?:(?P<number>\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[-+*/<>(),;=])|(?P<comment>#.*)|(?P<bad>\S))"
)


class SyntaxProblem(ValueError):
    """The text is not Kaleidoscope (the message says where and why)."""


class Incomplete(SyntaxProblem):
    """The text ends in the middle of an item: more input may complete it."""


@dataclass(frozen=True)
class Number:
    """A literal."""

    value: float


@dataclass(frozen=True)
class Variable:
    """A parameter or loop variable."""

    name: str


@dataclass(frozen=True)
class Unary:
    """``-operand``."""

    op: str
    operand: Expression


@dataclass(frozen=True)
class Binary:
    """``left op right``."""

    op: str
    left: Expression
    right: Expression


@dataclass(frozen=True)
class Call:
    """``callee(args...)``."""

    callee: str
    args: tuple[Expression, ...]


@dataclass(frozen=True)
class If:
    """``if condition then then_ else else_``."""

    condition: Expression
    then_: Expression
    else_: Expression


@dataclass(frozen=True)
class For:
    """``for variable = start, end, step in body``."""

    variable: str
    start: Expression
    end: Expression
    step: Expression | None
    body: Expression


Expression = Number | Variable | Unary | Binary | Call | If | For


@dataclass(frozen=True)
class Prototype:
    """A function's name and parameter names."""

    name: str
    params: tuple[str, ...]


@dataclass(frozen=True)
class Definition:
    """``def``: a prototype and its body."""

    prototype: Prototype
    body: Expression


@dataclass(frozen=True)
class Extern:
    """``extern``: a prototype of a function the executor provides."""

    prototype: Prototype


TopLevel = Definition | Extern | Expression


@dataclass(frozen=True)
class _Token:
    kind: str  # number, name, op, end
    text: str
    column: int


def _tokens(text: str) -> list[_Token]:
    found: list[_Token] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind is None or kind == "comment":
            continue
        if kind == "bad":
            raise SyntaxProblem(f"column {match.start(kind) + 1}: unexpected {match.group(kind)!r}")
        found.append(_Token(kind, match.group(kind), match.start(kind) + 1))
    found.append(_Token("end", "", len(text) + 1))
    return found


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.token
        self.at += 1
        return token

    def expect(self, text: str, what: str) -> None:
        token = self.take()
        if token.text != text or token.kind == "end":
            self.fail(token, f"expected {text!r} {what}")

    def fail(self, token: _Token, message: str) -> None:
        if token.kind == "end":
            raise Incomplete(f"column {token.column}: {message}, found the end of the input")
        raise SyntaxProblem(f"column {token.column}: {message}, found {token.text!r}")

    def items(self) -> Iterator[TopLevel]:
        while self.token.kind != "end":
            if self.token.text == ";":
                self.take()
                continue
            if self.token.text == "def":
                self.take()
                prototype = self.prototype()
                yield Definition(prototype, self.expression())
            elif self.token.text == "extern":
                self.take()
                yield Extern(self.prototype())
            else:
                yield self.expression()

    def prototype(self) -> Prototype:
        name = self.take()
        if name.kind != "name" or name.text in KEYWORDS:
            self.fail(name, "expected a function name")
        self.expect("(", "after the function name")
        params: list[str] = []
        while self.token.text != ")":
            param = self.take()
            if param.kind != "name" or param.text in KEYWORDS:
                self.fail(param, "expected a parameter name or ')'")
            if param.text in params:
                self.fail(param, f"parameter {param.text!r} appears twice")
            params.append(param.text)
            if self.token.text == ",":
                self.take()
        self.take()
        return Prototype(name.text, tuple(params))

    def expression(self, min_precedence: int = 1) -> Expression:
        left = self.unary()
        while True:
            op = self.token
            precedence = PRECEDENCE.get(op.text, -1) if op.kind == "op" else -1
            if precedence < min_precedence:
                return left
            self.take()
            right = self.expression(precedence + 1)
            left = Binary(op.text, left, right)

    def unary(self) -> Expression:
        if self.token.text == "-":
            self.take()
            return Unary("-", self.unary())
        return self.primary()

    def primary(self) -> Expression:
        token = self.take()
        if token.kind == "number":
            return Number(float(token.text))
        if token.text == "(":
            inner = self.expression()
            self.expect(")", "to close '('")
            return inner
        if token.text == "if":
            condition = self.expression()
            self.expect("then", "after the if condition")
            then_ = self.expression()
            self.expect("else", "after the then branch")
            return If(condition, then_, self.expression())
        if token.text == "for":
            variable = self.take()
            if variable.kind != "name" or variable.text in KEYWORDS:
                self.fail(variable, "expected the loop variable")
            self.expect("=", "after the loop variable")
            start = self.expression()
            self.expect(",", "after the loop start")
            end = self.expression()
            step = None
            if self.token.text == ",":
                self.take()
                step = self.expression()
            self.expect("in", "before the loop body")
            return For(variable.text, start, end, step, self.expression())
        if token.kind == "name" and token.text not in KEYWORDS:
            if self.token.text != "(":
                return Variable(token.text)
            self.take()
            args: list[Expression] = []
            while self.token.text != ")":
                args.append(self.expression())
                if self.token.text == ",":
                    self.take()
                elif self.token.text != ")":
                    self.fail(self.token, "expected ',' or ')' in the argument list")
            self.take()
            return Call(token.text, tuple(args))
        self.fail(token, "expected an expression")
        raise AssertionError("unreachable")


def parse(text: str) -> list[TopLevel]:
    """The top-level items of ``text``.

    Raises:
        Incomplete: the text stops in the middle of an item.
        SyntaxProblem: anything else that is not Kaleidoscope.
    """
    return list(_Parser(text).items())
