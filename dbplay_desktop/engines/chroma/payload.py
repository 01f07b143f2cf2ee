"""The Chroma payload's layout, shared by the dump, the scan and the restore.

A payload holds, for each collection in name order, three files in a folder named by the
collection's 0-based index (never by its name)::

    collections/<index>/collection.json   name, metadata, configuration, count, dimension
    collections/<index>/records.jsonl     one JSON object per record: id, document, metadata
    collections/<index>/embeddings.npy    float32 little-endian rows, shape (count, dimension)

``collection.json`` is one JSON object: ``{"name": str, "metadata": {...} | null,
"configuration": {"hnsw": {...}} | {"spann": {...}} | {}, "embedding_function": {...} |
null, "count": int, "dimension": int | null, "dtype": "float32-le"}``. ``records.jsonl``
has ``count`` lines, each ``{"id": str, "document": str, "metadata": {...}, "uri": str}``
with ``document``, ``metadata`` and ``uri`` left out when the record has none; its n-th line is the
record whose vector is row n of ``embeddings.npy``. ``embeddings.npy`` is numpy's
``.npy`` format (version 1.0 or 2.0 header), ``descr`` ``'<f4'``, C order, shape
``(count, dimension)`` (``(0, 0)`` for an empty collection of unknown dimension), the
raw rows right after the header. Nothing in a payload is a pickle.
"""

from __future__ import annotations

import re
from typing import IO

FOLDER = "collections"
COLLECTION_FILE = "collection.json"
RECORDS_FILE = "records.jsonl"
EMBEDDINGS_FILE = "embeddings.npy"
FILES = (COLLECTION_FILE, RECORDS_FILE, EMBEDDINGS_FILE)
DTYPE = "float32-le"
NPY_DESCR = "<f4"
ITEM_SIZE = 4

#: collection.json may be this large and nest this deep.
MAX_COLLECTION_FILE = 1024 * 1024
MAX_DEPTH = 32
#: One line of records.jsonl (a record with its document and metadata) may be this large.
MAX_RECORD_LINE = 16 * 1024 * 1024
#: Limits on what a collection declares (checked before anything is allocated).
MAX_DIMENSION = 65536
MAX_COUNT = 10**9
#: The restore adds at most this many bytes of vectors per call (and never more records
#: than the client's ``get_max_batch_size()``).
BATCH_BYTES = 32 * 1024 * 1024
#: The dump reads this many records per ``get``.
DUMP_BATCH = 5000

#: Chroma's rule for collection names (chromadb 1.5): 3-512 characters of
#: ``[a-zA-Z0-9._-]``, starting and ending with a letter or a digit.
NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]")
#: Integers Chroma stores in metadata (signed 64-bit).
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


def collection_path(index: int, file: str) -> str:
    return f"{FOLDER}/{index}/{file}"


def valid_name(name: object) -> bool:
    return isinstance(name, str) and NAME.fullmatch(name) is not None


def json_depth(data: bytes) -> int:
    """The deepest nesting of objects and lists in JSON text, without parsing it."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x7B, 0x5B):  # { [
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x7D, 0x5D):
            depth -= 1
    return deepest


def read_limited(stream: IO[bytes], limit: int, what: str) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{what} is larger than {limit} bytes")
    return data


def read_exactly(stream: IO[bytes], size: int) -> bytes:
    """``size`` bytes from ``stream`` (fewer only at its end)."""
    parts = []
    left = size
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)
