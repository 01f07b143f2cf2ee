"""The shell's value constructors: ``ObjectId("...")``, ``ISODate("...")``, ``NumberLong(1)``...

Each is read from its literal arguments into the BSON value mongosh would send; no other
call is allowed in a value. ``UUID("...")`` gives a :class:`uuid.UUID`, which pymongo only
encodes with ``uuidRepresentation="standard"`` (as BSON binary subtype 4, like mongosh).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from bson import Binary, Decimal128, Int64, MaxKey, MinKey, ObjectId, Timestamp
from bson.errors import InvalidId

from dbplay_desktop.engines.mongo.shell import literals
from dbplay_desktop.engines.quoting import clip, shown

if TYPE_CHECKING:
    from tree_sitter import Node

    from dbplay_desktop.engines.mongo.shell.tree import Where

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_INT32 = 1 << 31
_UINT32 = 1 << 32
_INT64 = 1 << 63


class _Bad(Exception):
    """A constructor's arguments are wrong: the message, at the call."""


def construct(node: Node, where: Where, depth: int) -> Any:
    """The value of ``Name(...)`` or ``new Name(...)`` for an allowed constructor ``Name``."""
    is_new = node.type == "new_expression"
    callee = node.child_by_field_name("constructor" if is_new else "function")
    arguments = node.child_by_field_name("arguments")
    if callee is None or callee.type != "identifier":
        what = where.snippet(callee) if callee is not None else where.snippet(node)
        raise where.error(f"calls are not allowed in values: {what!r}", node)
    name = where.source.node_text(callee)
    maker = _MAKERS.get(name)
    if maker is None:
        raise where.error(f"{clip(name)}() is not allowed (only literal values and the shell's "
                          "value constructors such as ObjectId, ISODate, NumberLong)", callee)
    if arguments is not None and arguments.type == "template_string":
        raise where.error("tagged templates are not allowed", arguments)
    args = []
    for child in arguments.named_children if arguments is not None else ():
        if child.type in ("comment", "html_comment"):
            continue
        if child.type == "spread_element":
            raise literals.refusal(child, where)
        args.append(literals.value(child, where, depth + 1))
    try:
        if name == "Date":
            return _new_date(args) if is_new else _date_string()
        return maker(args)
    except _Bad as bad:
        raise where.error(f"{name}(): {bad}", callee) from None


def _count(args: list[Any], low: int, high: int, usage: str) -> None:
    if not low <= len(args) <= high:
        raise _Bad(f"takes {usage}, got {len(args)} argument{'s' if len(args) != 1 else ''}")


def _integral(raw: Any, what: str, low: int, high: int) -> int:
    """An integer from a number or a string of digits, within ``low..high``."""
    if isinstance(raw, str):
        try:
            raw = int(raw.strip(), 10)
        except ValueError:
            raise _Bad(f"{what} {shown(raw)} is not an integer") from None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise _Bad(f"{what} must be a number")
    if isinstance(raw, float):
        if not raw.is_integer():
            raise _Bad(f"{what} {shown(raw)} is not an integer")
        raw = int(raw)
    if not low <= int(raw) < high:
        raise _Bad(f"{what} {shown(raw)} is out of range")
    return int(raw)


def _text(args: list[Any], at: int, what: str) -> str:
    if not isinstance(args[at], str):
        raise _Bad(f"{what} must be a string")
    return args[at]


def _object_id(args: list[Any]) -> ObjectId:
    _count(args, 0, 1, "no argument or a 24-digit hex string")
    if not args:
        return ObjectId()
    try:
        return ObjectId(_text(args, 0, "the id"))
    except InvalidId:
        raise _Bad(f"{shown(args[0])} is not 24 hex digits") from None


def _parse_date(text: str, local_without_zone: bool) -> datetime:
    """An ISO 8601 date (as mongosh reads ISODate: no zone means UTC)."""
    cleaned = text.strip()
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        raise _Bad(f"{shown(text)} is not an ISO 8601 date") from None
    if parsed.tzinfo is None:
        date_only = "T" not in cleaned.upper() and " " not in cleaned
        if local_without_zone and not date_only:
            parsed = parsed.astimezone()  # JavaScript: a date-time without zone is local
        else:
            parsed = parsed.replace(tzinfo=timezone.utc)
    parsed = parsed.astimezone(timezone.utc)
    return parsed.replace(microsecond=parsed.microsecond // 1000 * 1000)


def _now() -> datetime:
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _iso_date(args: list[Any]) -> datetime:
    _count(args, 0, 1, "no argument or an ISO 8601 string")
    if not args:
        return _now()
    if isinstance(args[0], datetime):
        return args[0]
    return _parse_date(_text(args, 0, "the date"), local_without_zone=False)


def _new_date(args: list[Any]) -> datetime:
    _count(args, 0, 1, "no argument, a date string or milliseconds since 1970")
    if not args:
        return _now()
    raw = args[0]
    if isinstance(raw, datetime):
        return raw
    if isinstance(raw, str):
        return _parse_date(raw, local_without_zone=True)
    millis = _integral(raw, "the milliseconds", -_INT64, _INT64)
    try:
        return _EPOCH + timedelta(milliseconds=millis)
    except OverflowError:
        raise _Bad(f"{millis} milliseconds is beyond the dates Python can hold") from None


def _date_string() -> str:
    """What ``Date()`` (without ``new``) returns in JavaScript: now, as text."""
    now = datetime.now().astimezone()
    return f"{now:%a %b %d %Y %H:%M:%S} GMT{now:%z} ({now.tzname()})"


def _number_long(args: list[Any]) -> Int64:
    _count(args, 0, 1, "one number or string")
    return Int64(_integral(args[0], "the value", -_INT64, _INT64) if args else 0)


def _number_int(args: list[Any]) -> int:
    _count(args, 0, 1, "one number or string")
    return _integral(args[0], "the value", -_INT32, _INT32) if args else 0


def _number_decimal(args: list[Any]) -> Decimal128:
    _count(args, 0, 1, "one string (or number)")
    if not args:
        return Decimal128("0")
    raw = args[0]
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float, Int64)):
        raise _Bad("the value must be a string")
    try:
        return Decimal128(str(raw).strip())
    except Exception:  # bson raises decimal's errors for malformed text
        raise _Bad(f"{shown(raw)} is not a decimal number") from None


def _uuid(args: list[Any]) -> uuid.UUID:
    _count(args, 0, 1, "no argument or a UUID string")
    if not args:
        return uuid.uuid4()
    try:
        return uuid.UUID(_text(args, 0, "the UUID"))
    except ValueError:
        raise _Bad(f"{shown(args[0])} is not a UUID") from None


def _subtype(args: list[Any]) -> int:
    return _integral(args[0], "the subtype", 0, 256)


def _bin_data(args: list[Any]) -> Binary:
    _count(args, 2, 2, "a subtype and a base64 string")
    try:
        data = base64.b64decode(_text(args, 1, "the data"), validate=True)
    except binascii.Error:
        raise _Bad(f"{shown(args[1])} is not base64") from None
    return Binary(data, _subtype(args))


def _hex_data(args: list[Any]) -> Binary:
    _count(args, 2, 2, "a subtype and a hex string")
    try:
        data = bytes.fromhex(_text(args, 1, "the data"))
    except ValueError:
        raise _Bad(f"{shown(args[1])} is not hex") from None
    return Binary(data, _subtype(args))


def _timestamp(args: list[Any]) -> Timestamp:
    _count(args, 0, 2, "(t, i) or ({t: ..., i: ...})")
    if len(args) == 1:
        if not isinstance(args[0], dict) or set(args[0]) != {"t", "i"}:
            raise _Bad("takes (t, i) or ({t: ..., i: ...})")
        args = [args[0]["t"], args[0]["i"]]
    if not args:
        return Timestamp(0, 0)
    if len(args) != 2:
        raise _Bad("takes (t, i) or ({t: ..., i: ...})")
    return Timestamp(_integral(args[0], "t", 0, _UINT32), _integral(args[1], "i", 0, _UINT32))


def _min_key(args: list[Any]) -> MinKey:
    _count(args, 0, 0, "no argument")
    return MinKey()


def _max_key(args: list[Any]) -> MaxKey:
    _count(args, 0, 0, "no argument")
    return MaxKey()


_MAKERS: dict[str, Callable[[list[Any]], Any]] = {
    "ObjectId": _object_id,
    "ISODate": _iso_date,
    "Date": _new_date,  # Date() without new is handled in construct()
    "NumberLong": _number_long,
    "NumberInt": _number_int,
    "NumberDecimal": _number_decimal,
    "UUID": _uuid,
    "BinData": _bin_data,
    "HexData": _hex_data,
    "Timestamp": _timestamp,
    "MinKey": _min_key,
    "MaxKey": _max_key,
}

#: The constructor names a value may call (for completion and messages).
CONSTRUCTORS = tuple(_MAKERS)
