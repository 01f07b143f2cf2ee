"""The catalog of a MongoDB database: collections with their indexes and sampled fields,
and views.

MongoDB has no schema, so a collection's fields are those of its first
:data:`SAMPLE_SIZE` documents (in natural order, ``_id`` first, then as first seen), each
with the BSON types seen (``string | null``). Indexes say their key and options (unique,
sparse, partial, TTL, hidden, collation). ``system.*`` collections are left out.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

from bson.binary import Binary
from bson.code import Code
from bson.datetime_ms import DatetimeMS
from bson.dbref import DBRef
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.objectid import ObjectId
from bson.regex import Regex
from bson.timestamp import Timestamp
from pymongo.errors import PyMongoError

from dbplay_desktop.engines.base import CatalogItem

SAMPLE_SIZE = 100
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*\Z")
#: Names ``db.<name>`` would read as a method of the database, not a collection.
_DATABASE_WORDS = frozenset({
    "aggregate", "createCollection", "createView", "dropDatabase", "getCollection",
    "getCollectionInfos", "getCollectionNames", "getName", "getSiblingDB", "runCommand",
    "stats", "version", "adminCommand", "commandHelp", "currentOp", "killOp", "help",
    "getMongo", "serverStatus", "hostInfo", "watch", "constructor", "prototype",
})


def insert_text(name: str) -> str:
    """What completion inserts for a collection: ``db.name`` or ``db.getCollection("…")``."""
    if _IDENTIFIER.match(name) and name not in _DATABASE_WORDS:
        return f"db.{name}"
    return f"db.getCollection({json.dumps(name, ensure_ascii=False)})"


def bson_type(value: Any) -> str:
    """The BSON type name of a decoded value, as ``$type`` spells it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Int64):
        return "long"
    if isinstance(value, int):
        return "int" if -(2**31) <= value < 2**31 else "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, DBRef):
        return "dbPointer"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, ObjectId):
        return "objectId"
    if isinstance(value, _dt.datetime | DatetimeMS):
        return "date"
    if isinstance(value, uuid.UUID):
        return "uuid"
    if isinstance(value, bytes | Binary):
        return "binData"
    if isinstance(value, Decimal128):
        return "decimal"
    if isinstance(value, Timestamp):
        return "timestamp"
    if isinstance(value, Regex | re.Pattern):
        return "regex"
    if isinstance(value, Code):
        return "javascript"
    if isinstance(value, MinKey):
        return "minKey"
    if isinstance(value, MaxKey):
        return "maxKey"
    return type(value).__name__


def _key_text(key: Mapping[str, Any]) -> str:
    parts = []
    for field, direction in key.items():
        if isinstance(direction, float) and direction.is_integer():
            direction = int(direction)
        shown = json.dumps(direction) if isinstance(direction, str) else direction
        parts.append(f"{field}: {shown}")
    return "{ " + ", ".join(parts) + " }"


def index_detail(index: Mapping[str, Any]) -> str:
    words = [_key_text(index.get("key") or {})]
    if index.get("unique"):
        words.append("unique")
    if index.get("sparse"):
        words.append("sparse")
    if "partialFilterExpression" in index:
        words.append("partial")
    if "expireAfterSeconds" in index:
        words.append(f"ttl {index['expireAfterSeconds']} s")
    if index.get("hidden"):
        words.append("hidden")
    if "collation" in index:
        locale = (index.get("collation") or {}).get("locale")
        words.append(f"collation {locale}" if locale else "collation")
    return ", ".join(words)


def collection_detail(info: Mapping[str, Any]) -> str:
    options = info.get("options") or {}
    words = []
    if info.get("type") == "timeseries" or "timeseries" in options:
        field = (options.get("timeseries") or {}).get("timeField")
        words.append(f"time series on {field}" if field else "time series")
    if options.get("capped"):
        size = options.get("size")
        limit = options.get("max")
        text = "capped"
        if size:
            text += f" {size:,} bytes"
        if limit:
            text += f", max {limit:,}"
        words.append(text)
    if options.get("validator"):
        level = options.get("validationLevel")
        words.append(f"validator ({level})" if level else "validator")
    if options.get("clusteredIndex"):
        words.append("clustered")
    if options.get("collation"):
        words.append(f"collation {options['collation'].get('locale', '')}".rstrip())
    return ", ".join(words)


def sample_fields(collection: Any) -> list[CatalogItem]:
    """The fields of the first documents, ``_id`` first, each with the types seen."""
    types: dict[str, list[str]] = {}
    try:
        for document in collection.find({}, limit=SAMPLE_SIZE, max_time_ms=5000,
                                        batch_size=SAMPLE_SIZE):
            for key, value in document.items():
                seen = types.setdefault(key, [])
                name = bson_type(value)
                if name not in seen:
                    seen.append(name)
    except PyMongoError:
        return []
    names = list(types)
    if "_id" in types:
        names.remove("_id")
        names.insert(0, "_id")
    return [CatalogItem(name, "field", detail=" | ".join(types[name]), insert_text=name)
            for name in names]


def load_catalog(database: Any) -> list[CatalogItem]:
    """Collections (with fields, then indexes) and views, by name."""
    items: list[CatalogItem] = []
    infos = sorted(database.list_collections(), key=lambda info: info.get("name", ""))
    for info in infos:
        name = info.get("name", "")
        if name.startswith("system."):
            continue
        collection = database[name]
        if info.get("type") == "view":
            options = info.get("options") or {}
            detail = f"on {options.get('viewOn', '')}".rstrip()
            items.append(CatalogItem(name, "view", detail=detail, insert_text=insert_text(name),
                                     children=sample_fields(collection)))
            continue
        children = sample_fields(collection)
        try:
            indexes = list(collection.list_indexes())
        except PyMongoError:
            indexes = []
        for index in indexes:
            index_name = str(index.get("name", ""))
            children.append(CatalogItem(index_name, "index", detail=index_detail(index),
                                        insert_text=json.dumps(index_name)))
        items.append(CatalogItem(name, "collection", detail=collection_detail(info),
                                 insert_text=insert_text(name), children=children))
    return items
