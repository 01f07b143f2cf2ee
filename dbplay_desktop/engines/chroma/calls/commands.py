"""What a Chroma call means once parsed: the client or a collection, a method, literals.

The parser (:mod:`.parse`) builds these from Python's syntax tree and refuses anything off
the allow-list; the session runs them through chromadb. Arguments are plain literals
(numbers, strings, lists, dicts, ``True``/``False``, ``None``), never code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dbplay_desktop.engines.base import Statement

#: ``list_collections()``, ``create_collection(...)``: a method of the client.
CLIENT = "client"
#: ``docs.get(...)`` or ``collection("my-docs").get(...)``: a method of a collection.
COLLECTION = "collection"


@dataclass(frozen=True)
class ChromaCall:
    """One call: ``target`` is :data:`CLIENT` or :data:`COLLECTION` (then ``collection``
    names it); ``args``/``kwargs`` are the literal arguments; ``line``/``column`` (1-based)
    are where the method name is, for errors."""

    statement: Statement
    target: str
    collection: str | None
    method: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    line: int = 1
    column: int = 1
