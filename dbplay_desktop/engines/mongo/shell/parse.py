"""mongosh statements read into :class:`~.commands.ShellCommand` values, never evaluated.

Each statement the splitter cut is parsed on its own by tree-sitter and must have one
shape: a target (``db.name``, ``db["name"]``, ``db.getCollection("name")`` or ``db``
itself), one allow-listed method (:mod:`.allow`) with literal arguments (:mod:`.literals`),
and a cursor chain (``.sort().limit()``); or ``show collections`` / ``show dbs``. The first
thing off that list stops the whole text with a one-line :class:`QueryError` that says
where (line, column and offset into the text the user ran).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dbplay_desktop.engines.base import LineIndex
from dbplay_desktop.engines.mongo.shell import allow, literals
from dbplay_desktop.engines.mongo.shell.commands import (
    COLLECTION,
    DATABASE,
    SHOW,
    Call,
    ShellCommand,
)
from dbplay_desktop.engines.mongo.shell.split import Piece, split_pieces
from dbplay_desktop.engines.mongo.shell.tree import (
    SourceText,
    Where,
    first_problem,
    parse_bytes,
)
from dbplay_desktop.engines.quoting import clip, shown
from dbplay_desktop.errors import QueryError

if TYPE_CHECKING:
    from tree_sitter import Node

#: The longest statement read (BSON documents stop at 16 MB anyway).
MAX_STATEMENT = 16 * 1024 * 1024
#: Seconds one statement may take to parse (hostile text can make tree-sitter slow).
PARSE_BUDGET = 10.0
#: The longest call chain (``db.a.find().sort().limit()...``).
MAX_CALLS = 16
_SKIP = frozenset({"comment", "html_comment"})
_SHOW_ALIASES = {"tables": "collections", "databases": "dbs"}
_STATEMENT_WORDS = {
    "lexical_declaration": "declarations (let, const) are not allowed",
    "variable_declaration": "declarations (var) are not allowed",
    "function_declaration": "functions are not allowed",
    "generator_function_declaration": "functions are not allowed",
    "class_declaration": "classes are not allowed",
    "for_statement": "loops are not allowed",
    "for_in_statement": "loops are not allowed",
    "while_statement": "loops are not allowed",
    "do_statement": "loops are not allowed",
    "import_statement": "import is not allowed",
    "export_statement": "export is not allowed",
}


def parse_shell(text: str) -> list[ShellCommand]:
    """Every statement of ``text`` as a command; raises QueryError for the first bad one."""
    index = LineIndex(text)
    return [parse_piece(piece, index) for piece in split_pieces(text)]


def parse_piece(piece: Piece, index: LineIndex) -> ShellCommand:
    """One statement cut by :func:`~.split.split_pieces` as a command."""
    statement = piece.statement
    if piece.kind != "js":
        return _directive(piece, index)
    if len(statement.text) > MAX_STATEMENT:
        line, column = statement.line, statement.column
        raise QueryError(f"statement is longer than {MAX_STATEMENT // (1024 * 1024)} MB "
                         f"at line {line}, column {column}", line=line, column=column,
                         position=statement.start)
    source = SourceText(statement.text)
    where = Where(source, statement.start, index)
    tree = parse_bytes(source.data, PARSE_BUDGET)
    if tree is None:
        raise where.error(f"statement is too complex to read within {PARSE_BUDGET:g} seconds",
                          None)
    root = tree.root_node
    problem = first_problem(root)
    if problem is not None:
        if problem.is_missing:
            raise where.error(f"syntax error: missing {problem.type!r}", problem)
        opener = _unclosed(problem)
        if opener is not None:
            raise where.error(f"syntax error: {where.source.node_text(opener)!r} is never "
                              "closed", opener)
        raise where.error(f"syntax error near {where.snippet(problem)!r}", problem)
    body = [node for node in root.named_children if node.type not in _SKIP]
    if len(body) != 1:
        raise where.error("one command per statement", body[1] if len(body) > 1 else None)
    node = body[0]
    if node.type != "expression_statement":
        what = _STATEMENT_WORDS.get(node.type, f"{node.type.replace('_', ' ')} is not allowed")
        raise where.error(f"{what} (only db... commands)", node)
    expression = next(child for child in node.named_children if child.type not in _SKIP)
    return _expression(piece, where, expression)


def _directive(piece: Piece, index: LineIndex) -> ShellCommand:
    """``show collections`` / ``show dbs`` (``use`` is refused: a playground has one database)."""
    statement = piece.statement
    words = statement.text.split()
    line, column = statement.line, statement.column
    if piece.kind == "use":
        raise QueryError(f"use is not available: a playground works in its own database "
                         f"at line {line}, column {column}", line=line, column=column,
                         position=statement.start)
    word = words[1] if len(words) > 1 else ""
    at = statement.start + statement.text.find(word, len(words[0])) if word else statement.start
    line, column = index.locate(at)
    if len(words) != 2 or word not in allow.SHOW_WORDS:
        raise QueryError(f"show {clip(' '.join(words[1:]))} is not available (show collections or "
                         f"show dbs) at line {line}, column {column}", line=line, column=column,
                         position=at)
    call = Call(_SHOW_ALIASES.get(word, word), (), line, column)
    return ShellCommand(statement, SHOW, None, (call,))


def _expression(piece: Piece, where: Where, expression: Node) -> ShellCommand:
    """The target and calls of ``db....(...)``, checked against the allow-list."""
    links: list[tuple[str, Node, Node]] = []  # (method name, name node, arguments node)
    node = expression
    while node.type == "call_expression":
        if len(links) >= MAX_CALLS:
            raise where.error(f"more than {MAX_CALLS} chained calls", node)
        function = node.child_by_field_name("function")
        arguments = node.child_by_field_name("arguments")
        if function is None or arguments is None or arguments.type != "arguments":
            raise where.error("tagged templates are not allowed", node)
        if function.type != "member_expression":
            if function.type == "identifier":
                name = clip(where.source.node_text(function))
                raise where.error(f"{name}() is not allowed (commands start with db.)", function)
            raise where.error(f"not a method call: {where.snippet(function)!r}", function)
        prop = _property(function, where)
        links.append((where.source.node_text(prop), prop, arguments))
        node = function.child_by_field_name("object")  # type: ignore[assignment]
    links.reverse()
    target, collection, consumed = _target(node, links, where)
    links = links[consumed:]
    if not links:
        raise where.error(f"{where.snippet(expression)!r} does nothing: call a method, "
                          "e.g. .find()", expression)
    calls = tuple(_call(name, prop, arguments, where) for name, prop, arguments in links)
    methods = allow.COLLECTION_METHODS if target == COLLECTION else allow.DATABASE_METHODS
    first = calls[0]
    if first.name not in methods:
        owner = "db" if target == DATABASE else f"db.{clip(collection or '')}"
        raise where.error(f"{owner}.{clip(first.name)}() is not an allowed method", links[0][1])
    _check_arguments(first.name, methods[first.name], links[0], first, where)
    chain_fault = allow.chain_problem(target, first.name, [call.name for call in calls[1:]])
    if chain_fault is not None:
        raise where.error(chain_fault[0], links[chain_fault[1] + 1][1])
    for link, call in zip(links[1:], calls[1:], strict=True):
        _check_arguments(call.name, allow.CURSOR[call.name], link, call, where)
    if target == DATABASE and first.name == "runCommand":
        refused = allow.run_command_problem(first.args[0])
        if refused is not None:
            raise where.error(refused, _arguments(links[0][2])[0])
    crossing = allow.cross_database_problem(tuple(arg for call in calls for arg in call.args))
    if crossing is not None:
        raise where.error(crossing, links[0][2])
    return ShellCommand(piece.statement, target, collection, calls)


_CLOSERS = {"(": ")", "[": "]", "{": "}"}
_CLOSING = frozenset(_CLOSERS.values())


def _unclosed(problem: Node) -> Node | None:
    """The innermost bracket an ERROR node opens and never closes, if any (iterative)."""
    openers: list[Node] = []
    stack = [problem]
    while stack:
        node = stack.pop()
        if node.child_count:
            stack.extend(reversed(node.children))
        elif node.type in _CLOSERS:
            openers.append(node)
        elif node.type in _CLOSING and not node.is_missing:
            if not openers:
                return None
            if node.type != _CLOSERS[openers[-1].type]:
                return openers[-1]  # closed by the wrong bracket: this one is unclosed
            openers.pop()
    return openers[-1] if openers else None


def _property(member: Node, where: Where) -> Node:
    """The name node of ``object.name`` (``?.`` and ``#private`` are refused)."""
    if any(child.type == "optional_chain" for child in member.children):
        raise where.error("optional chaining (?.) is not allowed", member)
    prop = member.child_by_field_name("property")
    if prop is None or prop.type != "property_identifier":
        raise where.error(f"not a method name: {where.snippet(member)!r}", member)
    return prop


def _target(node: Node, links: list[tuple[str, Node, Node]],
            where: Where) -> tuple[str, str | None, int]:
    """What the calls apply to: ``(DATABASE, None)`` or ``(COLLECTION, name)``, and how
    many of ``links`` named it (1 for ``db.getCollection("name")``)."""
    names: list[str] = []
    base = node
    while base.type == "member_expression":
        names.append(where.source.node_text(_property(base, where)))
        base = base.child_by_field_name("object")  # type: ignore[assignment]
    names.reverse()
    if base.type == "subscript_expression":
        holder = base.child_by_field_name("object")
        if holder is None or not _is_db(holder, where):
            raise where.error("only db[\"name\"] may be indexed", base)
        index = base.child_by_field_name("index")
        name = literals.value(index, where) if index is not None else None
        if not isinstance(name, str):
            raise where.error("a collection name must be a string: db[\"name\"]", index or base)
        return COLLECTION, _collection_name(".".join([name, *names]), index, where), 0
    if not _is_db(base, where):
        if base.type == "identifier":
            raise where.error(f"unknown name {shown(where.source.node_text(base))}: commands start "
                              "with db", base)
        if base.type == "this":
            raise where.error("'this' is not available (commands start with db)", base)
        if base.type == "call_expression":
            raise where.error(f"{where.snippet(base)} cannot hold collections (write db.name, "
                              "db[\"name\"] or db.getCollection(\"name\"))", base)
        raise literals.refusal(base, where)
    if names:
        return COLLECTION, _collection_name(".".join(names), node, where), 0
    if links and links[0][0] == "getCollection":
        name_node, args = links[0][1], _arguments(links[0][2])
        values = [literals.value(arg, where) for arg in args]
        if len(values) != 1 or not isinstance(values[0], str):
            raise where.error("db.getCollection() takes one string: the collection's name",
                              name_node)
        return COLLECTION, _collection_name(values[0], args[0], where), 1
    return DATABASE, None, 0


def _is_db(node: Node, where: Where) -> bool:
    return node.type == "identifier" and where.source.node_text(node) == "db"


def _collection_name(name: str, node: Node | None, where: Where) -> str:
    if not name or "\0" in name or name.startswith(".") or name.endswith("."):
        raise where.error(f"not a collection name: {shown(name)}", node)
    return name


def _arguments(arguments: Node) -> list[Node]:
    """The argument nodes of ``(...)`` without comments."""
    return [child for child in arguments.named_children if child.type not in _SKIP]


def _call(name: str, prop: Node, arguments: Node, where: Where) -> Call:
    """One call with its arguments read as literals."""
    args: list[Any] = []
    for child in _arguments(arguments):
        if child.type == "spread_element":
            raise literals.refusal(child, where)
        args.append(literals.value(child, where))
    line, column = where.locate(prop)
    return Call(name, tuple(args), line, column)


def _check_arguments(label: str, spec: Any, link: tuple[str, Node, Node], call: Call,
                     where: Where) -> None:
    """Refuses a call whose argument count or kinds are off, pointing at the argument."""
    fault = allow.argument_problem(label, spec, call.args)
    if fault is None:
        return
    message, at = fault
    nodes = _arguments(link[2])
    raise where.error(message, nodes[at] if at is not None and at < len(nodes) else link[1])
