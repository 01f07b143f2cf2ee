"""The allow-list: which methods, cursor modifiers and commands a playground may run.

Kept apart from the parser so the list reads as a table. Each method says how many
arguments it takes and of which kind; a problem is reported as ``(message, argument
index or None)`` and the parser puts the line and column on it. :func:`changes_state`
says whether a command may change the database (reads never mark a playground modified).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bson import Int64

from dbplay_desktop.engines.mongo.shell.commands import COLLECTION, DATABASE, SHOW, ShellCommand
from dbplay_desktop.engines.quoting import clip

#: Cursor modifiers: name -> (fewest, most arguments, kinds, ends the chain).
CURSOR: dict[str, tuple[int, int, tuple[str, ...], bool]] = {
    "sort": (1, 1, ("doc",), False),
    "limit": (1, 1, ("int",), False),
    "skip": (1, 1, ("int",), False),
    "hint": (1, 1, ("doc|str",), False),
    "collation": (1, 1, ("doc",), False),
    "maxTimeMS": (1, 1, ("int",), False),
    "pretty": (0, 0, (), False),
    "count": (0, 1, ("bool",), True),
    "explain": (0, 1, ("str|bool",), True),
    "toArray": (0, 0, (), True),
}
_FIND_CHAIN = frozenset(CURSOR)
_AGGREGATE_CHAIN = frozenset({"explain", "toArray", "pretty", "maxTimeMS"})


@dataclass(frozen=True)
class Method:
    """How a method is called: argument count bounds, kinds, names and the chain after it."""

    low: int
    high: int
    kinds: tuple[str, ...] = ()
    names: str = ""
    chain: frozenset[str] = frozenset()


COLLECTION_METHODS: dict[str, Method] = {
    "find": Method(0, 3, ("doc", "doc", "doc"), "filter, projection, options", _FIND_CHAIN),
    "findOne": Method(0, 3, ("doc", "doc", "doc"), "filter, projection, options"),
    "aggregate": Method(0, 2, ("pipeline", "doc"), "pipeline, options", _AGGREGATE_CHAIN),
    "countDocuments": Method(0, 2, ("doc", "doc"), "filter, options"),
    "estimatedDocumentCount": Method(0, 1, ("doc",), "options"),
    "distinct": Method(1, 3, ("str", "doc", "doc"), "field, filter, options"),
    "insertOne": Method(1, 2, ("doc", "doc"), "document, options"),
    "insertMany": Method(1, 2, ("docs", "doc"), "documents, options"),
    "updateOne": Method(2, 3, ("doc", "update", "doc"), "filter, update, options"),
    "updateMany": Method(2, 3, ("doc", "update", "doc"), "filter, update, options"),
    "replaceOne": Method(2, 3, ("doc", "doc", "doc"), "filter, replacement, options"),
    "deleteOne": Method(1, 2, ("doc", "doc"), "filter, options"),
    "deleteMany": Method(1, 2, ("doc", "doc"), "filter, options"),
    "findOneAndUpdate": Method(2, 3, ("doc", "update", "doc"), "filter, update, options"),
    "findOneAndReplace": Method(2, 3, ("doc", "doc", "doc"), "filter, replacement, options"),
    "findOneAndDelete": Method(1, 2, ("doc", "doc"), "filter, options"),
    "bulkWrite": Method(1, 2, ("docs", "doc"), "operations, options"),
    "update": Method(2, 3, ("doc", "update", "doc"), "query, update, {upsert, multi}"),
    "insert": Method(1, 2, ("doc|docs", "doc"), "document or documents, options"),
    "remove": Method(1, 2, ("doc", "doc|bool"), "query, justOne or options"),
    "createIndex": Method(1, 3, ("doc", "doc", "any"), "keys, options, commitQuorum"),
    "createIndexes": Method(1, 3, ("docs", "doc", "any"), "key patterns, options, commitQuorum"),
    "getIndexes": Method(0, 0),
    "dropIndex": Method(1, 1, ("doc|str",), "index name or key pattern"),
    "dropIndexes": Method(0, 1, ("any",), "index names"),
    "drop": Method(0, 1, ("doc",), "options"),
    "renameCollection": Method(1, 2, ("str", "bool"), "new name, dropTarget"),
    "stats": Method(0, 1, ("doc|num",), "scale or options"),
    "count": Method(0, 2, ("doc", "doc"), "query, options"),
}

DATABASE_METHODS: dict[str, Method] = {
    "createCollection": Method(1, 2, ("str", "doc"), "name, options"),
    "getCollectionNames": Method(0, 0),
    "getCollectionInfos": Method(0, 2, ("doc", "doc"), "filter, options"),
    "runCommand": Method(1, 2, ("doc|str", "doc"), "command, options"),
    "stats": Method(0, 1, ("doc|num",), "scale or options"),
    "dropDatabase": Method(0, 1, ("doc",), "writeConcern"),
    "createView": Method(3, 4, ("str", "str", "pipeline", "doc"),
                         "name, source, pipeline, options"),
}

#: ``show <word>``: what each word lists.
SHOW_WORDS = frozenset({"collections", "tables", "dbs", "databases"})

#: Commands ``db.runCommand`` may run: this database's data and harmless server facts.
RUN_COMMANDS = frozenset({
    "ping", "buildInfo", "buildinfo", "hello", "isMaster", "ismaster", "connectionStatus",
    "listCommands", "listCollections", "listIndexes", "collStats", "dbStats", "dataSize",
    "count", "distinct", "find", "aggregate", "insert", "update", "delete", "findAndModify",
    "create", "drop", "createIndexes", "dropIndexes", "collMod", "validate", "explain",
    "convertToCapped", "dropDatabase",
})
_READ_COMMANDS = frozenset({
    "ping", "buildInfo", "buildinfo", "hello", "isMaster", "ismaster", "connectionStatus",
    "listCommands", "listCollections", "listIndexes", "collStats", "dbStats", "dataSize",
    "count", "distinct", "find", "explain", "validate",
})
_READ_METHODS = frozenset({
    "find", "findOne", "countDocuments", "estimatedDocumentCount", "distinct", "count",
    "getIndexes", "stats",
})
_READ_DATABASE = frozenset({"getCollectionNames", "getCollectionInfos", "stats"})
_KIND_NAMES = {
    "doc": "a document ({...})", "docs": "an array of documents", "pipeline":
    "an array of stages", "update": "a document or an array of stages", "str": "a string",
    "int": "an integer", "num": "a number", "bool": "true or false", "doc|str":
    "a document or a string", "doc|docs": "a document or an array of documents",
    "doc|num": "a document or a number", "doc|bool": "a document or true/false",
    "str|bool": "a string or true/false",
}


def _is(kind: str, value: Any) -> bool:
    """Whether ``value`` is of argument kind ``kind`` (``"doc|str"``: either)."""
    if "|" in kind:
        return any(_is(part, value) for part in kind.split("|"))
    if kind == "doc":
        return isinstance(value, dict)
    if kind in ("docs", "pipeline"):
        return isinstance(value, list) and all(isinstance(item, dict) for item in value)
    if kind == "update":
        return _is("doc", value) or _is("pipeline", value)
    if kind == "str":
        return isinstance(value, str)
    if kind == "int":
        if isinstance(value, float):
            return value.is_integer()
        return isinstance(value, (int, Int64)) and not isinstance(value, bool)
    if kind == "num":
        return isinstance(value, (int, float, Int64)) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    return True


def _plural(count: int) -> str:
    return f"{count} argument{'' if count == 1 else 's'}"


def argument_problem(label: str, spec: Method | tuple[int, int, tuple[str, ...], bool],
                     args: tuple[Any, ...]) -> tuple[str, int | None] | None:
    """What is wrong with ``args`` for the method ``label`` (e.g. ``"find"``), if anything."""
    if isinstance(spec, Method):
        low, high, kinds, names = spec.low, spec.high, spec.kinds, spec.names
    else:
        low, high, kinds, _ = spec
        names = ""
    usage = f"{label}({names})"
    if len(args) < low:
        fewest = "no argument" if low == 0 else _plural(low)
        return f"{usage} needs at least {fewest}, got {len(args)}", None
    if len(args) > high:
        most = "no arguments" if high == 0 else f"at most {_plural(high)}"
        return f"{usage} takes {most}, got {len(args)}", high
    for at, (kind, value) in enumerate(zip(kinds, args, strict=False)):
        if not _is(kind, value):
            return f"argument {at + 1} of {usage} must be {_KIND_NAMES.get(kind, kind)}", at
    return None


def chain_problem(target: str, method: str, chain: list[str]) -> tuple[str, int] | None:
    """What is wrong with the cursor chain after ``method`` (index into ``chain``)."""
    methods = COLLECTION_METHODS if target == COLLECTION else DATABASE_METHODS
    allowed = methods[method].chain if method in methods else frozenset()
    seen: set[str] = set()
    for at, name in enumerate(chain):
        if name not in CURSOR:
            return f".{clip(name)}() is not an allowed cursor method", at
        if name not in allowed:
            if not allowed:
                return f".{name}() cannot follow {method}() (it returns no cursor)", at
            return f".{name}() cannot follow {method}()", at
        if name in seen:
            return f".{name}() is given twice", at
        if at > 0 and CURSOR[chain[at - 1]][3]:
            return f".{name}() cannot follow .{chain[at - 1]}() (it returns no cursor)", at
        seen.add(name)
    return None


def run_command_problem(command: Any) -> str | None:
    """Why ``db.runCommand(command)`` is refused, if it is."""
    name = command if isinstance(command, str) else next(iter(command), None)
    if name is None:
        return "db.runCommand() needs a command ({name: ...})"
    if name not in RUN_COMMANDS:
        return f"db.runCommand({{{clip(str(name))}: ...}}) is not allowed in a playground"
    return None


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    """Every document inside ``value`` (iterative: values may nest 100 deep)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def cross_database_problem(args: tuple[Any, ...]) -> str | None:
    """A stage that reads or writes another database (``$out: {db: ...}``...), if any."""
    for doc in _dicts(list(args)):
        for stage, field in (("$out", None), ("$merge", "into"), ("$lookup", "from"),
                             ("$unionWith", "coll"), ("$graphLookup", "from")):
            spec = doc.get(stage)
            if isinstance(spec, dict) and field is not None and isinstance(spec.get(field), dict):
                spec = spec[field]
            if isinstance(spec, dict) and "db" in spec:
                return f"{stage} into another database is not allowed in a playground"
    return None


def _writes(pipeline: Any) -> bool:
    """Whether an aggregation pipeline ends in ``$out`` or ``$merge``."""
    return isinstance(pipeline, list) and any(
        isinstance(stage, dict) and ("$out" in stage or "$merge" in stage) for stage in pipeline)


def changes_state(command: ShellCommand) -> bool:
    """False for a command that only reads; True for anything else (when unsure too)."""
    if command.target == SHOW:
        return False
    if any(call.name == "explain" for call in command.chain):
        return False
    method, args = command.method, command.calls[0].args
    if command.target == COLLECTION:
        if method == "aggregate":
            return bool(args) and _writes(args[0])
        return method not in _READ_METHODS
    if command.target == DATABASE:
        if method == "runCommand" and args:
            body = args[0]
            name = body if isinstance(body, str) else next(iter(body), None) if isinstance(
                body, dict) else None
            if name == "aggregate" and isinstance(body, dict):
                return _writes(body.get("pipeline"))
            return name not in _READ_COMMANDS
        return method not in _READ_DATABASE
    return True
