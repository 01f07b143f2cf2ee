"""BSON values as dbplay values, and the Extended JSON copy formats.

pymongo decodes most BSON types into plain Python (str, int, float, bool, None, dict,
list, bytes for binary subtype 0, aware UTC datetime, ``uuid.UUID`` for subtype 4); the
JSON types stay as they are. The others (ObjectId, Int64, Decimal128, dates, binary,
Timestamp, Regex, MinKey, MaxKey, Code, DBRef) become
:class:`~dbplay_desktop.values.Tagged`: their mongosh-like text, their relaxed Extended
JSON value and the bson object itself (``raw``), so the window shows them without bson and
the copy formats here write them back exactly. UUIDs are tagged too (``UUID("...")``), so
they keep their type in a copy.
"""

from __future__ import annotations

import base64
import datetime
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from bson import json_util
from bson.binary import Binary, UuidRepresentation
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

from dbplay_desktop.values import MISSING, Tagged

RELAXED = json_util.JSONOptions(
    json_mode=json_util.JSONMode.RELAXED, uuid_representation=UuidRepresentation.STANDARD,
    tz_aware=True,
)
CANONICAL = json_util.JSONOptions(
    json_mode=json_util.JSONMode.CANONICAL, uuid_representation=UuidRepresentation.STANDARD,
    tz_aware=True,
)

_PLAIN = (str, bool, float, type(None))


def _relaxed(value: Any) -> Any:
    """The relaxed Extended JSON value of a bson object, as parsed JSON."""
    return json.loads(json_util.dumps(value, json_options=RELAXED))


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def tag(value: Any) -> Any:
    """A single BSON value as a dbplay value (documents and arrays recursively)."""
    if isinstance(value, Code):  # before str: Code is a str
        return _code(value)
    if isinstance(value, DBRef):
        return _dbref(value)
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, Int64):  # before int: Int64 is an int
        number = int(value)
        return Tagged("Int64", str(number), json=number, raw=value, number=True)
    if isinstance(value, int):
        return value
    if isinstance(value, Mapping):
        return {key: tag(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [tag(item) for item in value]
    if isinstance(value, ObjectId):
        text = str(value)
        return Tagged("ObjectId", f"ObjectId({_quote(text)})", json={"$oid": text}, raw=value)
    if isinstance(value, Decimal128):
        text = str(value)
        return Tagged("Decimal128", text, json={"$numberDecimal": text}, raw=value,
                      number=True)
    if isinstance(value, uuid.UUID):
        text = str(value)
        return Tagged("UUID", f"UUID({_quote(text)})", json={"$uuid": text}, raw=value)
    if isinstance(value, Binary):  # subtype 0 arrives as bytes, 4 as UUID
        if value.subtype == 4 and len(value) == 16:
            return tag(value.as_uuid(UuidRepresentation.STANDARD))
        encoded = base64.b64encode(bytes(value)).decode("ascii")
        return Tagged("Binary", f"Binary.createFromBase64({_quote(encoded)}, {value.subtype})",
                      json=_relaxed(value), raw=value)
    if isinstance(value, Timestamp):
        return Tagged("Timestamp", f"Timestamp({{ t: {value.time}, i: {value.inc} }})",
                      json={"$timestamp": {"t": value.time, "i": value.inc}}, raw=value)
    if isinstance(value, Regex):
        flags = value.flags if isinstance(value.flags, str) else _flag_text(value.flags)
        return Tagged("Regex", f"/{value.pattern}/{flags}",
                      json={"$regularExpression": {"pattern": value.pattern,
                                                   "options": flags}}, raw=value)
    if isinstance(value, MinKey):
        return Tagged("MinKey", "MinKey()", json={"$minKey": 1}, raw=value)
    if isinstance(value, MaxKey):
        return Tagged("MaxKey", "MaxKey()", json={"$maxKey": 1}, raw=value)
    if isinstance(value, DatetimeMS):  # a date outside Python's datetime range
        millis = int(value)
        return Tagged("Date", f"Date({millis})", json={"$date": {"$numberLong": str(millis)}},
                      raw=value, number=False)
    if isinstance(value, datetime.datetime):  # BSON's Date: relaxed JSON {"$date": ...}
        return Tagged("Date", value.isoformat(sep=" ", timespec="milliseconds"),
                      json=_relaxed(value), raw=value)
    if isinstance(value, (bytes, bytearray)):  # binary subtype 0
        return tag(Binary(bytes(value), 0))
    return value  # anything else pymongo made plain


def _code(value: Code) -> Tagged:
    if value.scope:
        scope = json.dumps(_relaxed(value.scope), ensure_ascii=False)
        return Tagged("Code", f"Code({_quote(str(value))}, {scope})",
                      json=_relaxed(value), raw=value)
    return Tagged("Code", f"Code({_quote(str(value))})", json={"$code": str(value)},
                  raw=value)


def _dbref(value: DBRef) -> Tagged:
    target = tag(value.id)
    id_text = target.text if isinstance(target, Tagged) else json.dumps(_relaxed(value.id))
    args = [_quote(value.collection), id_text]
    if value.database:
        args.append(_quote(value.database))
    return Tagged("DBRef", f"DBRef({', '.join(args)})", json=_relaxed(value), raw=value)


def _flag_text(flags: int) -> str:
    import re

    letters = ""
    for flag, letter in ((re.IGNORECASE, "i"), (re.LOCALE, "l"), (re.MULTILINE, "m"),
                         (re.DOTALL, "s"), (re.UNICODE, "u"), (re.VERBOSE, "x")):
        if flags & flag:
            letters += letter
    return letters


def untag(value: Any) -> Any:
    """A dbplay value back as the BSON value it came from (for Extended JSON)."""
    if isinstance(value, Tagged):
        return value.raw if value.raw is not None else value.json
    if isinstance(value, Mapping):
        return {key: untag(item) for key, item in value.items() if item is not MISSING}
    if isinstance(value, (list, tuple)):
        return [untag(item) for item in value]
    return value


def _documents(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    documents = []
    for row in rows:
        document: dict[str, Any] = {}
        for name, value in zip(columns, row, strict=False):
            if value is not MISSING:
                document[str(name)] = untag(value)
        documents.append(document)
    return documents


def copy_relaxed_json(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """One relaxed Extended JSON document per row (fields a row lacks are left out)."""
    return "\n".join(json_util.dumps(doc, json_options=RELAXED)
                     for doc in _documents(columns, rows))


def copy_canonical_json(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """One canonical Extended JSON document per row (every number typed)."""
    return "\n".join(json_util.dumps(doc, json_options=CANONICAL)
                     for doc in _documents(columns, rows))
