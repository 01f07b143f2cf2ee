"""The allow-list: which client and collection methods a Chroma playground may call.

Kept apart from the parser so the list reads as a table. Each method says which
arguments it takes by position, which by keyword, which it needs, and what kind of
literal each must be; the parser reports a problem with the line and column of the
argument. :func:`changes_state` says whether a call may change the store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dbplay_desktop.engines.chroma.calls.commands import CLIENT, COLLECTION, ChromaCall
from dbplay_desktop.engines.quoting import shown

#: What ``include=`` may name (Chroma's ``IncludeEnum``).
INCLUDE = ("documents", "embeddings", "metadatas", "distances", "uris", "data")
#: Operators of ``where=`` and ``where_document=`` filters.
WHERE_OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$and", "$or",
                   "$contains", "$not_contains")

#: A check: the value's problem as a phrase ("must be a string"), or None.
Check = Callable[[Any], "str | None"]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _string(value: Any) -> str | None:
    return None if isinstance(value, str) else "must be a string"


def _name(value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    return None if value else "must not be empty"


def _bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be True or False"


def _count(value: Any) -> str | None:
    return None if _is_int(value) and value >= 0 else "must be a whole number >= 0"


def _positive(value: Any) -> str | None:
    return None if _is_int(value) and value >= 1 else "must be a whole number >= 1"


def _dict(value: Any) -> str | None:
    return None if isinstance(value, dict) else "must be a dict"


def _strings(value: Any) -> str | None:
    if isinstance(value, str) or (isinstance(value, list)
                                  and all(isinstance(item, str) for item in value)):
        return None
    return "must be a string or a list of strings"


def _dicts(value: Any) -> str | None:
    if isinstance(value, dict) or (isinstance(value, list)
                                   and all(isinstance(item, dict) or item is None
                                           for item in value)):
        return None
    return "must be a dict or a list of dicts"


def _embeddings(value: Any) -> str | None:
    if isinstance(value, list) and (
            all(_is_number(item) for item in value)
            or all(isinstance(row, list) and all(_is_number(item) for item in row)
                   for row in value)):
        return None
    return "must be a list of numbers or a list of lists of numbers"


def _include(value: Any) -> str | None:
    if not isinstance(value, list):
        return f"must be a list of: {', '.join(INCLUDE)}"
    for item in value:
        if item not in INCLUDE:
            return f"names {shown(item)}, which is not one of: {', '.join(INCLUDE)}"
    return None


@dataclass(frozen=True)
class Method:
    """How a method is called: its positional parameters in order, its keyword-only ones,
    which it needs, and at most one of which groups (``one_of``) it needs."""

    positional: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()

    @property
    def parameters(self) -> tuple[str, ...]:
        """Every parameter name, positional ones first."""
        return self.positional + self.keywords


#: What each parameter must hold (``None`` passes for every parameter not required).
CHECKS: dict[str, Check] = {
    "name": _name,
    "metadata": _dict,
    "configuration": _dict,
    "get_or_create": _bool,
    "ids": _strings,
    "documents": _strings,
    "metadatas": _dicts,
    "embeddings": _embeddings,
    "uris": _strings,
    "where": _dict,
    "where_document": _dict,
    "limit": _count,
    "offset": _count,
    "include": _include,
    "query_texts": _strings,
    "query_embeddings": _embeddings,
    "n_results": _positive,
}

_RECORDS = Method(positional=("ids",), keywords=("documents", "metadatas", "embeddings", "uris"),
                  required=("ids",))

#: Methods of the client: ``list_collections()``.
CLIENT_METHODS: dict[str, Method] = {
    "list_collections": Method(keywords=("limit", "offset")),
    "count_collections": Method(),
    "create_collection": Method(positional=("name",),
                                keywords=("metadata", "configuration", "get_or_create"),
                                required=("name",)),
    "get_or_create_collection": Method(positional=("name",),
                                       keywords=("metadata", "configuration"),
                                       required=("name",)),
    "get_collection": Method(positional=("name",), required=("name",)),
    "delete_collection": Method(positional=("name",), required=("name",)),
    "heartbeat": Method(),
    "get_version": Method(),
}

#: Methods of a collection: ``docs.get(...)``.
COLLECTION_METHODS: dict[str, Method] = {
    "add": _RECORDS,
    "upsert": _RECORDS,
    "update": _RECORDS,
    "delete": Method(positional=("ids",), keywords=("where", "where_document")),
    "get": Method(positional=("ids",),
                  keywords=("where", "where_document", "limit", "offset", "include")),
    "query": Method(keywords=("query_texts", "query_embeddings", "n_results", "where",
                              "where_document", "include"),
                    one_of=("query_texts", "query_embeddings")),
    "count": Method(),
    "peek": Method(positional=("limit",)),
    "modify": Method(keywords=("name", "metadata", "configuration")),
}

#: The function that names a collection whose name is no identifier: ``collection("a-b")``.
COLLECTION_FUNCTION = "collection"

_READS = {
    CLIENT: frozenset({"list_collections", "count_collections", "get_collection",
                       "heartbeat", "get_version"}),
    COLLECTION: frozenset({"get", "query", "count", "peek"}),
}


def methods(target: str) -> dict[str, Method]:
    """The methods of :data:`~.commands.CLIENT` or :data:`~.commands.COLLECTION`."""
    return CLIENT_METHODS if target == CLIENT else COLLECTION_METHODS


def check(parameter: str, value: Any) -> str | None:
    """What is wrong with ``value`` for ``parameter`` (a phrase), or None."""
    checker = CHECKS.get(parameter)
    return checker(value) if checker is not None else None


def changes_state(call: ChromaCall) -> bool:
    """Whether ``call`` may change the store (reads never mark a playground modified)."""
    return call.method not in _READS.get(call.target, frozenset())
