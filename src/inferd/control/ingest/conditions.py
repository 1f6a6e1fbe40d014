"""A processor's `if`: the simple Painless conditions pipelines are written with, read without running a script.

    ctx.category == 'books' && ctx?.price != null
    ctx.lang == "en" || !(ctx.skip == true)
    ctx.tags.size() > 0 ... (refused: method calls other than containsKey are not run)

Comparisons (`==`, `!=`, `<`, `<=`, `>`, `>=`) of `ctx` fields (`ctx.a.b`, null-safe `ctx?.a?.b`, `ctx['a']`)
with strings, numbers, `true`, `false` and `null`; `ctx.containsKey('a')`; `&&`, `||`, `!` and parentheses.
Anything else is refused when the pipeline is stored, with a message that says what inferd runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from inferd.control.ingest.document import IngestDocument
from inferd.errors import ElasticsearchParseError, IllegalArgument

_TOKEN = re.compile(r"""\s*(?:(?P<number>-?\d+(?:\.\d+)?)|(?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|"""
                    r"""(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>\?\.|==|!=|<=|>=|&&|\|\||[.!<>()\[\]]))""")
SUPPORTED = ("inferd runs simple conditions only: comparisons (==, !=, <, <=, >, >=) of ctx fields (ctx.a.b, "
             "ctx?.a?.b, ctx['a']) with strings, numbers, true, false or null, ctx.containsKey('a'), and &&, ||, ! "
             "and parentheses")


class ConditionRefused(ElasticsearchParseError):
    pass


@dataclass(frozen=True)
class Path:
    parts: tuple[tuple[str, bool], ...]
    """Each field name, with whether it is read null-safely (`?.`)."""
    text: str


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class ContainsKey:
    path: Path
    key: str


@dataclass(frozen=True)
class Not:
    operand: Expression


@dataclass(frozen=True)
class Binary:
    operator: str
    left: Expression
    right: Expression


Expression = Path | Literal | ContainsKey | Not | Binary


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens: list[tuple[str, str]] = []
        position = 0
        text = source.strip()
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                self.refuse(f"cannot read [{text[position:position + 20]}]")
            assert match is not None
            kind = match.lastgroup
            assert kind is not None
            self.tokens.append((kind, match.group(kind)))
            position = match.end()
        self.index = 0

    def refuse(self, why: str) -> None:
        raise ConditionRefused(f"[if] condition [{self.source}] is not supported: {why}; {SUPPORTED}",
                               metadata={"property_name": "if"})

    def peek(self) -> str | None:
        return self.tokens[self.index][1] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        if self.index >= len(self.tokens):
            self.refuse("it ends too early")
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, value: str) -> None:
        if self.take()[1] != value:
            self.refuse(f"expected [{value}]")

    def parse(self) -> Expression:
        expression = self.disjunction()
        if self.index != len(self.tokens):
            self.refuse(f"unexpected [{self.tokens[self.index][1]}]")
        return expression

    def disjunction(self) -> Expression:
        left = self.conjunction()
        while self.peek() == "||":
            self.take()
            left = Binary("||", left, self.conjunction())
        return left

    def conjunction(self) -> Expression:
        left = self.negation()
        while self.peek() == "&&":
            self.take()
            left = Binary("&&", left, self.negation())
        return left

    def negation(self) -> Expression:
        if self.peek() == "!":
            self.take()
            return Not(self.negation())
        return self.comparison()

    def comparison(self) -> Expression:
        left = self.operand()
        if self.peek() in ("==", "!=", "<", "<=", ">", ">="):
            operator = self.take()[1]
            return Binary(operator, left, self.operand())
        return left

    def operand(self) -> Expression:
        kind, value = self.take()
        if value == "(":
            inner = self.disjunction()
            self.expect(")")
            return inner
        if kind == "number":
            return Literal(float(value) if "." in value else int(value))
        if kind == "string":
            return Literal(re.sub(r"\\(.)", r"\1", value[1:-1]))
        if value in ("true", "false"):
            return Literal(value == "true")
        if value == "null":
            return Literal(None)
        if value == "ctx":
            return self.path()
        self.refuse(f"[{value}] is neither ctx nor a literal")
        raise AssertionError

    def path(self) -> Expression:
        parts: list[tuple[str, bool]] = []
        start = self.index - 1
        while self.peek() in (".", "?.", "["):
            separator = self.take()[1]
            if separator == "[":
                kind, key = self.take()
                if kind != "string":
                    self.refuse("ctx[...] takes a quoted field name")
                self.expect("]")
                parts.append((key[1:-1], False))
                continue
            kind, name = self.take()
            if kind != "name":
                self.refuse(f"expected a field name after [{separator}]")
            if self.peek() == "(":
                if name != "containsKey":
                    self.refuse(f"the method [{name}] is not run")
                self.take()
                kind, key = self.take()
                if kind != "string":
                    self.refuse("containsKey takes a quoted field name")
                self.expect(")")
                return ContainsKey(Path(tuple(parts), "ctx"), key[1:-1])
            parts.append((name, separator == "?."))
        text = "".join(token for _, token in self.tokens[start:self.index])
        return Path(tuple(parts), text)


def parse_condition(source: str) -> Expression:
    """The condition, or `ConditionRefused` saying what inferd runs."""
    return _Parser(source).parse()


def _read(path: Path, document: IngestDocument) -> Any:
    node: Any = {**document.source, **{name: value for name, value in document.metadata.items()}}
    if document.ingest:
        node["_ingest"] = document.ingest
    for name, null_safe in path.parts:
        if node is None:
            if null_safe:
                return None
            raise IllegalArgument(f"cannot read [{name}] of null in [{path.text}] (a NullPointerException in "
                                  "Painless); read it null-safely with ?.")
        node = node.get(name) if isinstance(node, dict) else None
    return node


def _compare(operator: str, left: Any, right: Any) -> bool:
    if operator == "==":
        return bool(left == right)
    if operator == "!=":
        return bool(left != right)
    numbers = all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in (left, right))
    if not numbers:
        raise IllegalArgument(f"cannot compare [{left}] and [{right}] with [{operator}]: both must be numbers")
    return bool({"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[operator])


def evaluate(expression: Expression, document: IngestDocument) -> Any:
    if isinstance(expression, Literal):
        return expression.value
    if isinstance(expression, Path):
        return _read(expression, document)
    if isinstance(expression, ContainsKey):
        container = _read(expression.path, document)
        return isinstance(container, dict) and expression.key in container
    if isinstance(expression, Not):
        return not _boolean(evaluate(expression.operand, document))
    if expression.operator == "&&":
        return _boolean(evaluate(expression.left, document)) and _boolean(evaluate(expression.right, document))
    if expression.operator == "||":
        return _boolean(evaluate(expression.left, document)) or _boolean(evaluate(expression.right, document))
    return _compare(expression.operator, evaluate(expression.left, document), evaluate(expression.right, document))


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise IllegalArgument(f"the condition's value [{value}] is not a boolean")
    return value


def holds(expression: Expression, document: IngestDocument) -> bool:
    return _boolean(evaluate(expression, document))
