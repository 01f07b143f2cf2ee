"""What a mongosh statement means, once parsed: a target and a chain of method calls.

The parser (:mod:`.parse`) builds these from tree-sitter's syntax tree and refuses
anything off the allow-list (:mod:`.allow`); the session runs them through pymongo.
Arguments are plain Python and BSON values (dict, list, str, int, float, bool, None,
``bson.ObjectId``, ``datetime``, ``bson.Int64``, ``bson.Decimal128``, ``bson.Binary``,
``bson.Timestamp``, ``bson.Regex``, ``bson.MinKey``/``MaxKey``, ``uuid.UUID``), never code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dbplay_desktop.engines.base import Statement

#: ``db.method(...)``: a method of the database (createCollection, runCommand, stats...).
DATABASE = "database"
#: ``db.name.method(...)``, ``db["name"]...``, ``db.getCollection("name")...``.
COLLECTION = "collection"
#: ``show collections`` / ``show dbs`` (the first call's name says which).
SHOW = "show"


@dataclass(frozen=True)
class Call:
    """One method call: its name, its literal arguments, and where its name is (1-based)."""

    name: str
    args: tuple[Any, ...]
    line: int
    column: int


@dataclass(frozen=True)
class ShellCommand:
    """One statement: ``target`` is :data:`DATABASE`, :data:`COLLECTION` or :data:`SHOW`;
    ``collection`` names the collection for :data:`COLLECTION`; ``calls[0]`` is the method
    on the target and the rest the cursor chain (``.sort().limit()``)."""

    statement: Statement
    target: str
    collection: str | None
    calls: tuple[Call, ...]

    @property
    def method(self) -> str:
        return self.calls[0].name

    @property
    def chain(self) -> tuple[Call, ...]:
        return self.calls[1:]
