"""Chroma call text read into :class:`~.commands.ChromaCall` values, never evaluated.

Each statement the splitter cut is parsed on its own by :func:`ast.parse` and must have
one shape: a client method (``list_collections()``), or a collection method on a bare
name (``docs.get(...)``) or on ``collection("my-docs")``, taken from the allow-list
(:mod:`.allow`), with literal arguments only -- numbers, strings, lists, tuples, dicts
with string keys, ``True``/``False``/``None`` -- built from the syntax tree's nodes by
hand. The first thing off that list stops the whole text with a one-line
:class:`QueryError` that says where (line, column and offset into the text the user ran).
"""

from __future__ import annotations

import ast
import math
from typing import Any, NoReturn

from dbplay_desktop.engines.base import LineIndex, Statement
from dbplay_desktop.engines.chroma.calls import allow
from dbplay_desktop.engines.chroma.calls.commands import CLIENT, COLLECTION, ChromaCall
from dbplay_desktop.engines.chroma.calls.split import PySource, quiet_parse, split_calls
from dbplay_desktop.engines.quoting import MESSAGE_LIMIT, clip, shown
from dbplay_desktop.errors import QueryError

#: The longest statement read, in characters.
MAX_STATEMENT = 64 * 1024 * 1024
#: How deep lists and dicts may nest in one argument.
MAX_DEPTH = 32
#: How many list, tuple and dict elements one statement may hold.
MAX_ELEMENTS = 10_000_000

_STATEMENT_WORDS: dict[type, str] = {
    ast.Import: "import is not allowed",
    ast.ImportFrom: "import is not allowed",
    ast.Assign: "assignments are not allowed",
    ast.AugAssign: "assignments are not allowed",
    ast.AnnAssign: "assignments are not allowed",
    ast.FunctionDef: "function definitions are not allowed",
    ast.AsyncFunctionDef: "function definitions are not allowed",
    ast.ClassDef: "class definitions are not allowed",
    ast.For: "loops are not allowed",
    ast.AsyncFor: "loops are not allowed",
    ast.While: "loops are not allowed",
    ast.If: "if statements are not allowed",
    ast.With: "with statements are not allowed",
    ast.AsyncWith: "with statements are not allowed",
    ast.Try: "try statements are not allowed",
    ast.Delete: "del is not allowed",
    ast.Global: "global is not allowed",
    ast.Nonlocal: "nonlocal is not allowed",
    ast.Return: "return is not allowed",
    ast.Raise: "raise is not allowed",
    ast.Assert: "assert is not allowed",
}

_VALUE_WORDS: dict[type, str] = {
    ast.Lambda: "lambdas are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
    ast.Starred: "starred arguments are not allowed",
    ast.Attribute: "attributes are not allowed as values",
    ast.Subscript: "subscripts are not allowed",
    ast.Slice: "subscripts are not allowed",
    ast.Call: "calls are not allowed inside arguments",
    ast.BinOp: "arithmetic is not allowed",
    ast.UnaryOp: "only - or + before a number is allowed",
    ast.BoolOp: "expressions (and, or) are not allowed",
    ast.Compare: "comparisons are not allowed",
    ast.IfExp: "conditional expressions are not allowed",
    ast.Set: "sets are not allowed (use a list)",
    ast.NamedExpr: "assignments are not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
}


def parse_calls(text: str) -> list[ChromaCall]:
    """Every statement of ``text`` as a call; raises QueryError for the first bad one."""
    index = LineIndex(text)
    calls: list[ChromaCall] = []
    for statement in split_calls(text):
        if _indented(text, statement.start):
            line, column = index.locate(statement.start)
            raise QueryError(f"syntax error: unexpected indent at line {line}, column {column}",
                             line=line, column=column, position=statement.start)
        calls.extend(_Reader(statement, index).calls())
    return calls


def _indented(text: str, start: int) -> bool:
    """Whether a statement starting at ``start`` is indented (Python refuses that).

    The splitter cuts a text that does not parse with :mod:`tokenize`, which drops the
    indentation; a statement alone after a backslash continuation is no indent.
    """
    at = start
    while at > 0 and text[at - 1] in " \t\f":
        at -= 1
    if not text[at:start].strip("\f"):
        return False  # no indent (a form feed alone is none for Python either)
    if at > 0 and text[at - 1] not in "\r\n":
        return False  # after a ``;`` on the same line
    before = at - 1
    if before > 0 and text[before] == "\n" and text[before - 1] == "\r":
        before -= 1
    return not (before > 0 and text[before - 1] == "\\")


def _dunder(name: str) -> bool:
    return name.startswith("__")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Reader:
    """Reads one statement; knows where its nodes are in the whole text."""

    def __init__(self, statement: Statement, index: LineIndex) -> None:
        self.statement = statement
        self.index = index
        self._source: PySource | None = None
        self.elements = 0

    # ----------------------------------------------------------------- positions

    @property
    def source(self) -> PySource:
        if self._source is None:
            self._source = PySource(self.statement.text)
        return self._source

    def offset(self, node: ast.AST) -> int:
        """Where ``node`` starts, as an offset into the whole text."""
        lineno = getattr(node, "lineno", 1)
        column = getattr(node, "col_offset", 0)
        return self.statement.start + self.source.byte_offset(lineno, column)

    def error(self, message: str, at: ast.AST | int | None = None) -> NoReturn:
        """Raise ``message`` at ``at`` (a node, an offset, or the statement's start)."""
        if isinstance(at, ast.AST):
            position = self.offset(at)
        elif isinstance(at, int):
            position = at
        else:
            position = self.statement.start
        line, column = self.index.locate(position)
        message = clip(message, MESSAGE_LIMIT)
        raise QueryError(f"{message} at line {line}, column {column}", line=line,
                         column=column, position=position)

    # ----------------------------------------------------------------- statements

    def calls(self) -> list[ChromaCall]:
        """The statement's calls (one, unless the splitter fell back on a piece with more)."""
        text = self.statement.text
        if len(text) > MAX_STATEMENT:
            self.error(f"statement is longer than {MAX_STATEMENT // (1024 * 1024)} MiB")
        if text.count(",") > MAX_ELEMENTS:
            self.error(f"statement holds more than {MAX_ELEMENTS:,} elements")
        try:
            module = quiet_parse(text)
        except SyntaxError as exc:
            lineno = exc.lineno or 1
            start = self.statement.start + self.source.char_offset(lineno, (exc.offset or 1) - 1)
            reason = clip(str(exc.msg).split(" - ")[0], 120)
            self.error(f"syntax error: {reason}", start)
        except (ValueError, OverflowError) as exc:
            self.error(f"syntax error: {clip(str(exc), 120)}")
        except (RecursionError, MemoryError):
            self.error("statement is too deeply nested to read")
        return [self.call(node, len(module.body) > 1) for node in module.body]

    def call(self, node: ast.stmt, several: bool = False) -> ChromaCall:
        """One top-level statement as a call; ``several`` when the splitter gave more
        than one in this statement (a huge text), so the call gets its own."""
        if not isinstance(node, ast.Expr):
            word = _STATEMENT_WORDS.get(type(node))
            self.error(word or f"{type(node).__name__.lower()} statements are not allowed", node)
        value = node.value
        if not isinstance(value, ast.Call):
            if isinstance(value, (ast.Name, ast.Attribute)):
                self.error("expected a call such as docs.get() or list_collections()", value)
            self.error(_VALUE_WORDS.get(type(value), "expected a call such as docs.get()"), value)
        target, collection, method, name_at = self.callee(value.func)
        spec = allow.methods(target)[method]
        label = f"{method}()"
        args, kwargs = self.arguments(value, spec, label)
        line, column = self.index.locate(name_at)
        statement = self.statement
        if several:
            end = self.source.byte_offset(node.end_lineno or node.lineno, node.end_col_offset or 0)
            line_at, column_at = self.index.locate(self.offset(node))
            start = self.offset(node)
            statement = Statement(statement.text[start - statement.start:end], start,
                                  statement.start + end, line_at, column_at)
        return ChromaCall(statement, target, collection, method, tuple(args), kwargs,
                          line, column)

    def callee(self, func: ast.expr) -> tuple[str, str | None, str, int]:
        """``(target, collection, method, offset of the method name)`` of a call."""
        if isinstance(func, ast.Name):
            name = func.id
            if _dunder(name):
                self.error("names starting with __ are not allowed", func)
            if name in allow.CLIENT_METHODS:
                return CLIENT, None, name, self.offset(func)
            if name == allow.COLLECTION_FUNCTION:
                self.error('collection(...) needs a method, e.g. collection("my-docs").get()',
                           func)
            if name in allow.COLLECTION_METHODS:
                self.error(f"{name}() is a collection method: call it on one, e.g. "
                           f"docs.{name}()", func)
            self.error(f"unknown call {clip(name)}(): expected one of "
                       f"{', '.join(allow.CLIENT_METHODS)}", func)
        if isinstance(func, ast.Attribute):
            collection = self.owner(func.value)
            method = func.attr
            at = self.attribute_offset(func)
            if _dunder(method):
                self.error("names starting with __ are not allowed", at)
            if method not in allow.COLLECTION_METHODS:
                self.error(f"unknown collection method {clip(method)}(): expected one of "
                           f"{', '.join(allow.COLLECTION_METHODS)}", at)
            return COLLECTION, collection, method, at
        if isinstance(func, ast.Call):
            self.error("calls cannot be chained", func)
        self.error(_VALUE_WORDS.get(type(func), "expected a call such as docs.get()"), func)

    def owner(self, node: ast.expr) -> str:
        """The collection a method is called on: a bare name or ``collection("name")``."""
        if isinstance(node, ast.Name):
            if _dunder(node.id):
                self.error("names starting with __ are not allowed", node)
            return node.id
        if isinstance(node, ast.Attribute):
            self.error("attribute chains beyond name.method are not allowed", node)
        if isinstance(node, ast.Subscript):
            self.error('subscripts are not allowed: use collection("name") for a name '
                       "that is no identifier", node)
        if isinstance(node, ast.Call):
            func = node.func
            if not (isinstance(func, ast.Name) and func.id == allow.COLLECTION_FUNCTION):
                self.error("calls cannot be chained", node)
            arg = node.args[0] if len(node.args) == 1 else None
            if (node.keywords or arg is None or not isinstance(arg, ast.Constant)
                    or not isinstance(arg.value, str) or not arg.value):
                self.error('collection() takes one collection name as a string, e.g. '
                           'collection("my-docs")', node)
            return arg.value
        self.error(_VALUE_WORDS.get(type(node), "expected a collection name before the "
                                               "method"), node)

    def attribute_offset(self, node: ast.Attribute) -> int:
        """Where the method name of ``owner.method`` starts in the whole text."""
        end = self.source.byte_offset(node.end_lineno or node.lineno, node.end_col_offset or 0)
        start = max(0, end - len(node.attr))
        return self.statement.start + start

    # ----------------------------------------------------------------- arguments

    def arguments(self, call: ast.Call, spec: allow.Method,
                  label: str) -> tuple[list[Any], dict[str, Any]]:
        """The literal arguments of ``call``, checked against the method's ``spec``."""
        args: list[Any] = []
        given: dict[str, ast.AST] = {}
        for position, node in enumerate(call.args):
            if isinstance(node, ast.Starred):
                self.error("starred arguments are not allowed", node)
            if position >= len(spec.positional):
                most = len(spec.positional)
                self.error(f"{label} takes {most or 'no'} positional argument"
                           f"{'' if most == 1 else 's'}"
                           f"{'; pass the rest by keyword' if spec.keywords else ''}", node)
            value = self.literal(node, 0)
            self.checked(spec.positional[position], value, node, spec)
            args.append(value)
            given[spec.positional[position]] = node
        kwargs: dict[str, Any] = {}
        for keyword in call.keywords:
            name = keyword.arg
            if name is None:
                self.error("** arguments are not allowed", keyword)
            if name not in spec.parameters:
                expected = ", ".join(f"{word}=" for word in spec.parameters) or "no arguments"
                self.error(f"unknown argument {clip(name)}= for {label}: expected {expected}",
                           keyword)
            if name in given:
                self.error(f"{label} got {name}= twice", keyword)
            value = self.literal(keyword.value, 0)
            self.checked(name, value, keyword.value, spec)
            kwargs[name] = value
            given[name] = keyword
        for name in spec.required:
            if name not in given:
                self.error(f"{label} needs {name}=", call)
        if spec.one_of:
            present = [name for name in spec.one_of if name in given]
            choice = " or ".join(f"{name}=" for name in spec.one_of)
            if not present:
                self.error(f"{label} needs {choice}", call)
            if len(present) > 1:
                self.error(f"{label} takes {choice}, not both", given[present[1]])
        return args, kwargs

    def checked(self, name: str, value: Any, node: ast.AST, spec: allow.Method) -> None:
        """Refuse ``value`` for parameter ``name`` when it is the wrong kind."""
        if value is None and name not in spec.required:
            return
        problem = allow.check(name, value)
        if problem is not None:
            self.error(f"{name}= {problem}", node)

    def literal(self, node: ast.AST, depth: int) -> Any:
        """``node`` as a plain value, or a QueryError for anything but a literal."""
        if isinstance(node, ast.Constant):
            return self.constant(node, node.value)
        if isinstance(node, (ast.List, ast.Tuple)):
            self.deeper(node, depth, len(node.elts))
            return [self.literal(item, depth + 1) for item in node.elts]
        if isinstance(node, ast.Dict):
            self.deeper(node, depth, len(node.keys))
            result: dict[str, Any] = {}
            for key, item in zip(node.keys, node.values, strict=True):
                if key is None:
                    self.error("** in a dict is not allowed", item)
                if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                    self.error("dict keys must be strings", key)
                if key.value in result:
                    self.error(f"duplicate key {shown(key.value)}", key)
                result[key.value] = self.literal(item, depth + 1)
            return result
        if (isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd))
                and isinstance(node.operand, ast.Constant) and _is_number(node.operand.value)):
            number = self.constant(node.operand, node.operand.value)
            return -number if isinstance(node.op, ast.USub) else number
        if isinstance(node, ast.Name):
            if _dunder(node.id):
                self.error("names starting with __ are not allowed", node)
            self.error(f"names are not allowed as values (got {clip(node.id)}); quote a string",
                       node)
        self.error(_VALUE_WORDS.get(type(node), f"{type(node).__name__} is not allowed"), node)

    def constant(self, node: ast.AST, value: Any) -> Any:
        """A vetted constant: None, a bool, a string, an int or a finite float."""
        if value is None or isinstance(value, (bool, str, int)):
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                self.error("numbers must be finite", node)
            return value
        if isinstance(value, bytes):
            self.error("bytes literals are not allowed", node)
        if isinstance(value, complex):
            self.error("complex numbers are not allowed", node)
        self.error(f"{shown(value)} is not allowed", node)

    def deeper(self, node: ast.AST, depth: int, size: int) -> None:
        """Count a list's or dict's elements and refuse too deep or too many."""
        if depth >= MAX_DEPTH:
            self.error(f"lists and dicts nested more than {MAX_DEPTH} deep are not allowed",
                       node)
        self.elements += size
        if self.elements > MAX_ELEMENTS:
            self.error(f"statement holds more than {MAX_ELEMENTS:,} elements", node)
