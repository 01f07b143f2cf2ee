"""The MongoDB payload's layout, shared by the dump, the scan, the restore and the importers.

A payload is mongodump's directory layout, one database, as template files:

* ``<name>.metadata.json``: one JSON object in canonical Extended JSON v2, mongodump's
  format: ``{"options": {...}, "indexes": [...], "uuid": "<32 hex digits>",
  "collectionName": "<name>", "type": "collection" | "view" | "timeseries"}``;
* ``<name>.bson``: the collection's documents, raw BSON, concatenated (no framing besides
  each document's own int32 length), right after its metadata file.

A view has a metadata file only (``options`` holds ``viewOn`` and ``pipeline``); every
collection, even an empty one, has both files. ``<name>`` is the collection name escaped
as mongodump escapes it (Go's ``url.QueryEscape``): ASCII letters, digits and ``-_.~``
stay, a space becomes ``+``, every other byte of the UTF-8 name is ``%XX``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import IO, Any
from urllib.parse import quote_plus, unquote_plus

from bson import json_util
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions, DatetimeConversion

METADATA_SUFFIX = ".metadata.json"
BSON_SUFFIX = ".bson"
#: A BSON document may be this large (the server's limit for a stored document).
MAX_DOCUMENT_SIZE = 16 * 1024 * 1024
#: A metadata file may be this large (validators and view pipelines included).
MAX_METADATA_SIZE = 16 * 1024 * 1024
#: Documents and metadata may nest this deep (MongoDB's own limit for documents is 100).
MAX_DEPTH = 100
#: Restores insert at most this many documents, or about this many bytes, per call.
BATCH_DOCUMENTS = 1000
BATCH_BYTES = 8 * 1024 * 1024
#: BSON files are read this many bytes at a time.
READ_CHUNK = 1024 * 1024

#: BSON decoded without losing a type: UUIDs stay Binary, dates out of range stay dates.
CODEC = CodecOptions(
    tz_aware=True,
    uuid_representation=UuidRepresentation.UNSPECIFIED,
    datetime_conversion=DatetimeConversion.DATETIME_AUTO,
    unicode_decode_error_handler="surrogateescape",
)
JSON_OPTIONS = json_util.JSONOptions(
    json_mode=json_util.JSONMode.CANONICAL,
    uuid_representation=UuidRepresentation.UNSPECIFIED,
    tz_aware=True,
    datetime_conversion=DatetimeConversion.DATETIME_AUTO,
)
_LENGTH = struct.Struct("<i")


class FramingError(ValueError):
    """A BSON file that is not a sequence of whole documents; ``index`` is 1-based."""

    def __init__(self, message: str, index: int, offset: int) -> None:
        super().__init__(message)
        self.index = index
        self.offset = offset


def escape_name(name: str) -> str:
    """A collection name as mongodump writes it in a file name (``url.QueryEscape``)."""
    return quote_plus(name, safe="")


def unescape_name(escaped: str) -> str:
    return unquote_plus(escaped, errors="strict")


def metadata_path(name: str) -> str:
    return escape_name(name) + METADATA_SUFFIX


def bson_path(name: str) -> str:
    return escape_name(name) + BSON_SUFFIX


def dumps_metadata(metadata: dict[str, Any]) -> bytes:
    """Canonical Extended JSON, one line, as mongodump writes it."""
    return json_util.dumps(metadata, json_options=JSON_OPTIONS).encode("utf-8")


def loads_metadata(data: bytes) -> Any:
    """Parse a metadata file (size and nesting are the caller's to check first)."""
    return json_util.loads(data.decode("utf-8"), json_options=JSON_OPTIONS)


def json_depth_exceeded(text: bytes, limit: int = MAX_DEPTH + 8) -> bool:
    """Whether JSON ``text`` nests objects or lists deeper than ``limit`` (before parsing)."""
    depth = 0
    in_string = escaped = False
    for byte in text:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x7B, 0x5B):
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x7D, 0x5D):
            depth -= 1
    return False


def value_depth(value: Any) -> int:
    """How deep documents and lists nest in a decoded value (iterative)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def read_documents(stream: IO[bytes], chunk: int = READ_CHUNK) -> Iterator[bytes]:
    """The documents of a BSON file, one ``bytes`` each, checking only their framing.

    Raises :class:`FramingError` for a length outside 5 bytes .. 16 MiB, a truncated
    document, one not ended by a NUL byte, or bytes left over at the end. The file is
    read ``chunk`` bytes at a time (more for a larger document), not document by document.
    """
    data = b""
    position = 0
    index = 0
    offset = 0
    while True:
        if len(data) - position < 4:
            data, position = _refill(stream, data, position, 4, chunk)
            if position == len(data):
                return
        index += 1
        left = len(data) - position
        if left < 4:
            raise FramingError(f"{left} stray bytes at the end (not a whole document)",
                               index, offset)
        (length,) = _LENGTH.unpack_from(data, position)
        if length < 5 or length > MAX_DOCUMENT_SIZE:
            raise FramingError(
                f"document {index} declares {length} bytes; a BSON document has 5 to "
                f"{MAX_DOCUMENT_SIZE} (16 MiB)", index, offset)
        if left < length:
            data, position = _refill(stream, data, position, length, chunk)
            left = len(data) - position
            if left < length:
                raise FramingError(f"document {index} is cut short ({left} of "
                                   f"{length} bytes)", index, offset)
        end = position + length
        if data[end - 1] != 0:
            raise FramingError(f"document {index} does not end with a NUL byte",
                               index, offset)
        yield data[position:end]
        position = end
        offset += length


def _refill(stream: IO[bytes], data: bytes, position: int, need: int,
            chunk: int) -> tuple[bytes, int]:
    """``data`` from ``position`` on, followed by enough of ``stream`` to hold ``need``
    bytes (fewer only at its end), and the new position (0)."""
    rest = data[position:]
    more = _read_exactly(stream, max(chunk, need - len(rest)))
    return (rest + more if rest else more), 0


def count_documents(batch: bytes) -> int:
    """How many documents a raw batch (concatenated BSON documents) holds."""
    count = position = 0
    end = len(batch)
    while position < end:
        (length,) = _LENGTH.unpack_from(batch, position)
        position += length
        count += 1
    return count


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if not data or len(data) == size:
        return data or b""
    parts = [data]
    got = len(data)
    while got < size:
        more = stream.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def read_limited(stream: IO[bytes], limit: int, what: str) -> bytes:
    """All of ``stream``, or ``ValueError`` when it holds more than ``limit`` bytes."""
    data = stream.read(limit + 1)
    while data and len(data) <= limit:
        more = stream.read(limit + 1 - len(data))
        if not more:
            break
        data += more
    if len(data) > limit:
        raise ValueError(f"{what} is larger than {limit // (1024 * 1024)} MiB")
    return data


def view_order(views: dict[str, str]) -> list[str]:
    """View names so that a view comes after the views it reads (``{name: viewOn}``)."""
    remaining = sorted(views)
    done: list[str] = []
    while remaining:
        ready = [n for n in remaining if views[n] not in remaining or views[n] == n]
        if not ready:  # a cycle (the server refuses it): keep the rest in name order
            ready = remaining
        done.extend(ready)
        remaining = [n for n in remaining if n not in ready]
    return done
