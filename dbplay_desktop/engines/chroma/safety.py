"""The static scan of an untrusted Chroma payload: JSON and a pickle-free ``.npy``, nothing else.

No chromadb here: the payload is read as data. Refused, as a
:class:`~dbplay_desktop.engines.base.Finding` naming the file (and the line of
``records.jsonl``):

* the layout: any file other than ``collections/<i>/collection.json``, ``records.jsonl``,
  ``embeddings.npy`` for ``i`` = 0, 1, ... in that order (a pickle's name, ``.pkl``, is
  named as such);
* ``collection.json``: more than 1 MiB or nesting more than 32 deep, not one JSON object,
  unknown keys, a name Chroma would refuse or used twice, a configuration key not on the
  allow-list or out of its range (``space`` one of ``l2``, ``ip``, ``cosine``), metadata
  values other than strings, integers (64-bit), finite floats, booleans and non-empty
  lists of one of those, a count or dimension out of range;
* ``records.jsonl``: a line over 16 MiB, not a JSON object, unknown keys, an id that is not
  a non-empty string or is repeated, a document or uri that is not a string, metadata as above,
  a number of lines other than the count;
* ``embeddings.npy``: not an ``.npy`` file, a dtype other than ``'<f4'`` (an object dtype,
  which numpy stores as a pickle, is named so), Fortran order, a shape other than
  ``(count, dimension)``, a size other than the header plus ``count * dimension * 4``
  bytes (checked before anything is read or allocated), non-finite values.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from dbplay_desktop.engines.base import Finding, PayloadSource, ProgressCallback, RestoreError
from dbplay_desktop.engines.chroma.payload import (
    COLLECTION_FILE,
    DTYPE,
    FILES,
    FOLDER,
    INT_MAX,
    INT_MIN,
    ITEM_SIZE,
    MAX_COLLECTION_FILE,
    MAX_COUNT,
    MAX_DEPTH,
    MAX_DIMENSION,
    MAX_RECORD_LINE,
    NPY_DESCR,
    collection_path,
    json_depth,
    read_exactly,
    read_limited,
    valid_name,
)

COLLECTION_KEYS = frozenset({"name", "metadata", "configuration", "embedding_function",
                             "count", "dimension", "dtype"})
RECORD_KEYS = frozenset({"id", "document", "metadata", "uri"})
SPACES = frozenset({"l2", "ip", "cosine"})
#: Each index parameter Chroma takes, with its type and the range dbplay accepts.
HNSW_PARAMS: dict[str, tuple[type, float, float]] = {
    "ef_construction": (int, 1, 100_000),
    "ef_search": (int, 1, 100_000),
    "max_neighbors": (int, 2, 10_000),
    "num_threads": (int, 1, 1024),
    "batch_size": (int, 2, 10_000_000),
    "sync_threshold": (int, 2, 10_000_000),
    "resize_factor": (float, 1.0, 100.0),
}
SPANN_PARAMS: dict[str, tuple[type, float, float]] = {
    "search_nprobe": (int, 1, 10_000),
    "write_nprobe": (int, 1, 10_000),
    "ef_construction": (int, 1, 100_000),
    "ef_search": (int, 1, 100_000),
    "max_neighbors": (int, 2, 10_000),
    "reassign_neighbor_count": (int, 1, 10_000),
    "split_threshold": (int, 1, 10_000_000),
    "merge_threshold": (int, 1, 10_000_000),
}
#: Legacy collection metadata that configures the index (``hnsw:space`` and friends).
LEGACY_HNSW = {
    "hnsw:construction_ef": HNSW_PARAMS["ef_construction"],
    "hnsw:search_ef": HNSW_PARAMS["ef_search"],
    "hnsw:M": HNSW_PARAMS["max_neighbors"],
    "hnsw:num_threads": HNSW_PARAMS["num_threads"],
    "hnsw:batch_size": HNSW_PARAMS["batch_size"],
    "hnsw:sync_threshold": HNSW_PARAMS["sync_threshold"],
    "hnsw:resize_factor": HNSW_PARAMS["resize_factor"],
}
EF_TYPES = frozenset({"known", "legacy", "custom", "unknown"})
_PICKLE_NAME = re.compile(r"\.(pkl|pickle|p)$", re.IGNORECASE)
_PATH = re.compile(rf"{FOLDER}/(0|[1-9][0-9]{{0,8}})/([^/]+)")


class PayloadRefused(ValueError):
    """Why a payload file is refused; ``line`` is 1-based (0: the whole file)."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Declared:
    """What a checked ``collection.json`` declares."""

    name: str
    count: int
    dimension: int | None
    metadata: dict[str, Any] | None
    configuration: dict[str, Any]
    embedding_function: dict[str, Any] | None


# --------------------------------------------------------------------------- the scan


def scan_payload(source: PayloadSource, progress: ProgressCallback | None = None) -> list[Finding]:
    """The findings of the static scan; an empty list means nothing was refused."""
    paths = list(source.paths())
    findings = list(check_layout(paths))
    if findings:
        return findings
    sizes = [source.size(p) for p in paths]
    total = None if None in sizes else sum(s or 0 for s in sizes)
    done = 0
    names: set[str] = set()
    for start in range(0, len(paths), 3):
        meta_path, records_path, npy_path = paths[start:start + 3]
        try:
            declared = load_collection(source, meta_path)
            if declared.name in names:
                raise PayloadRefused(f"collection {declared.name!r} is listed twice")
            names.add(declared.name)
        except PayloadRefused as exc:
            findings.append(Finding(meta_path, exc.line or 1, str(exc)))
            done += sum(s or 0 for s in sizes[start:start + 3])
            continue
        try:
            with source.open(records_path) as stream:
                for _ in read_records(stream, declared.count, records_path):
                    pass
        except PayloadRefused as exc:
            findings.append(Finding(records_path, exc.line, str(exc)))
        done += (sizes[start] or 0) + (sizes[start + 1] or 0)
        _tick(progress, done, total, "scan cancelled")
        try:
            with source.open(npy_path) as stream:
                rows = open_embeddings(stream, declared, source.size(npy_path))
                for block in rows.blocks(max(1, 1_048_576 // rows.row_bytes)):
                    check_finite(block, rows)
                    done += len(block)
                    _tick(progress, done, total, "scan cancelled")
        except PayloadRefused as exc:
            findings.append(Finding(npy_path, exc.line, str(exc)))
    if progress is not None and total is not None:
        progress(total, total)
    return findings


def _tick(progress: ProgressCallback | None, done: int, total: int | None, what: str) -> None:
    if progress is not None and progress(done, total):
        raise RestoreError(what)


def check_layout(paths: list[str]) -> Iterator[Finding]:
    """File names and order: each collection's three files, folders numbered from 0."""
    for number, path in enumerate(paths):
        if _PICKLE_NAME.search(path):
            yield Finding(path, 0, "a pickle file; dbplay never loads pickles")
            continue
        expected = collection_path(number // 3, FILES[number % 3])
        if path == expected:
            continue
        match = _PATH.fullmatch(path)
        if match is None or match.group(2) not in FILES:
            yield Finding(path, 0, "not a Chroma payload file (expected collections/<index>/"
                                   "collection.json, records.jsonl and embeddings.npy)")
        else:
            yield Finding(path, 0, f"out of order: {expected} was expected here")
    if len(paths) % 3:
        index = len(paths) // 3
        missing = collection_path(index, FILES[len(paths) % 3])
        yield Finding(missing, 0, "missing: each collection has collection.json, "
                                  "records.jsonl and embeddings.npy")


# --------------------------------------------------------------------------- collection.json


def load_collection(source: PayloadSource, path: str) -> Declared:
    with source.open(path) as stream:
        try:
            data = read_limited(stream, MAX_COLLECTION_FILE, "the file")
        except ValueError as exc:
            raise PayloadRefused(str(exc), 1) from None
    return parse_collection(data)


def parse_collection(data: bytes) -> Declared:
    """Parse and check ``collection.json``; raises :class:`PayloadRefused`."""
    if json_depth(data) > MAX_DEPTH:
        raise PayloadRefused(f"nests objects or lists more than {MAX_DEPTH} deep", 1)
    value = _loads(data, 1)
    if not isinstance(value, dict):
        raise PayloadRefused("is not a JSON object", 1)
    unknown = sorted(set(value) - COLLECTION_KEYS)
    if unknown:
        raise PayloadRefused(f"unknown key {unknown[0]!r}", 1)
    name = value.get("name")
    if not valid_name(name):
        raise PayloadRefused(f"{name!r} is not a Chroma collection name (3-512 characters of "
                             "a-z, A-Z, 0-9, '.', '_', '-', starting and ending with a "
                             "letter or digit)", 1)
    if value.get("dtype", DTYPE) != DTYPE:
        raise PayloadRefused(f"dtype {value.get('dtype')!r} is not {DTYPE!r}", 1)
    count = value.get("count")
    if not _is_int(count) or not 0 <= count <= MAX_COUNT:
        raise PayloadRefused(f"count {count!r} is not an integer from 0 to {MAX_COUNT}", 1)
    dimension = value.get("dimension")
    if dimension is None:
        if count:
            raise PayloadRefused("a collection with records needs a dimension", 1)
    elif not _is_int(dimension) or not 1 <= dimension <= MAX_DIMENSION:
        raise PayloadRefused(f"dimension {dimension!r} is not an integer from 1 to "
                             f"{MAX_DIMENSION}", 1)
    metadata = value.get("metadata")
    if metadata is not None:
        problem = metadata_problem(metadata, collection=True)
        if problem:
            raise PayloadRefused(f"collection metadata: {problem}", 1)
    configuration = value.get("configuration") or {}
    problem = configuration_problem(configuration)
    if problem:
        raise PayloadRefused(f"configuration: {problem}", 1)
    function = value.get("embedding_function")
    problem = function_problem(function)
    if problem:
        raise PayloadRefused(f"embedding_function: {problem}", 1)
    return Declared(name, count, dimension, metadata, configuration, function)


def configuration_problem(configuration: Any) -> str | None:
    if not isinstance(configuration, dict):
        return "is not an object"
    for key in configuration:
        if key not in ("hnsw", "spann"):
            return f"unknown key {key!r} (only hnsw and spann are restored)"
    present = [key for key, value in configuration.items() if value is not None]
    if len(present) > 1:
        return "has both hnsw and spann"
    for key in present:
        params = HNSW_PARAMS if key == "hnsw" else SPANN_PARAMS
        section = configuration[key]
        if not isinstance(section, dict):
            return f"{key} is not an object"
        for name, item in section.items():
            if name == "space":
                if item not in SPACES:
                    return f"{key}.space {item!r} is not l2, ip or cosine"
                continue
            if name not in params:
                return f"unknown {key} parameter {name!r}"
            problem = _param_problem(item, *params[name])
            if problem:
                return f"{key}.{name} {problem}"
    return None


def _param_problem(value: Any, kind: type, low: float, high: float) -> str | None:
    ok = _is_int(value) if kind is int else (_is_int(value) or isinstance(value, float))
    if not ok or not math.isfinite(value) or not low <= value <= high:
        what = "an integer" if kind is int else "a number"
        return f"{value!r} is not {what} from {low:g} to {high:g}"
    return None


def function_problem(function: Any) -> str | None:
    """The embedding function is recorded, never restored: only its shape is checked."""
    if function is None:
        return None
    if not isinstance(function, dict):
        return "is not an object"
    unknown = sorted(set(function) - {"type", "name", "config"})
    if unknown:
        return f"unknown key {unknown[0]!r}"
    if function.get("type") not in EF_TYPES:
        return f"type {function.get('type')!r} is not one of {', '.join(sorted(EF_TYPES))}"
    name = function.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > 200):
        return "name is not a string of at most 200 characters"
    if not isinstance(function.get("config", {}), dict | type(None)):
        return "config is not an object"
    return None


# --------------------------------------------------------------------------- values


def metadata_problem(metadata: Any, *, collection: bool = False) -> str | None:
    """Why a metadata object is refused: Chroma's value types only, numbers finite."""
    if not isinstance(metadata, dict):
        return "is not an object"
    if not metadata:
        return "is empty (Chroma stores no empty metadata; leave it out)"
    for key, value in metadata.items():
        if not key or key == "chroma:document":
            return f"key {key!r} is reserved or empty"
        if collection and key.startswith(("hnsw:", "spann:")):
            problem = _legacy_problem(key, value)
            if problem:
                return problem
            continue
        problem = _value_problem(value)
        if problem:
            return f"{key!r}: {problem}"
    return None


def _legacy_problem(key: str, value: Any) -> str | None:
    if key == "hnsw:space":
        return None if value in SPACES else f"{key} {value!r} is not l2, ip or cosine"
    if key not in LEGACY_HNSW:
        return f"unknown index setting {key!r}"
    problem = _param_problem(value, *LEGACY_HNSW[key])
    return f"{key} {problem}" if problem else None


def _value_problem(value: Any) -> str | None:
    if isinstance(value, list):
        if not value:
            return "an empty list (Chroma refuses them)"
        kinds = {_kind(item) for item in value}
        if len(kinds) != 1 or None in kinds:
            return "a list must hold strings, integers, floats or booleans, all of one type"
        for item in value:
            problem = _scalar_problem(item)
            if problem:
                return problem
        return None
    if value is None:
        return None
    if _kind(value) is None:
        return f"a {type(value).__name__} is not a Chroma metadata value"
    return _scalar_problem(value)


def _kind(value: Any) -> type | None:
    if isinstance(value, bool):
        return bool
    for kind in (int, float, str):
        if isinstance(value, kind):
            return kind
    return None


def _scalar_problem(value: Any) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value!r} is not a finite number"
    if _is_int(value) and not INT_MIN <= value <= INT_MAX:
        return f"{value} does not fit in 64 bits"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a finite number")


def _loads(data: bytes | str, line: int) -> Any:
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except RecursionError:
        raise PayloadRefused("nests too deep", line) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadRefused(f"not JSON ({' '.join(str(exc).split())[:200]})", line) from None


# --------------------------------------------------------------------------- records.jsonl


def read_records(stream: IO[bytes], count: int, path: str) -> Iterator[dict[str, Any]]:
    """Each checked record of ``records.jsonl``, in order; raises :class:`PayloadRefused`
    at the first bad line, a repeated id, or a number of lines other than ``count``."""
    seen: set[bytes] = set()
    number = 0
    while True:
        line = stream.readline(MAX_RECORD_LINE + 1)
        if not line:
            break
        number += 1
        if len(line) > MAX_RECORD_LINE:
            raise PayloadRefused(f"line {number} is longer than {MAX_RECORD_LINE} bytes", number)
        if number > count:
            raise PayloadRefused(f"more records than the collection's count ({count})", number)
        record = parse_record(line, number)
        digest = hashlib.blake2b(record["id"].encode("utf-8", "surrogatepass"),
                                 digest_size=16).digest()
        if digest in seen:
            raise PayloadRefused(f"line {number}: id {record['id']!r} is repeated", number)
        seen.add(digest)
        yield record
    if number != count:
        raise PayloadRefused(f"{number} records, but the collection's count is {count}",
                             number)


def parse_record(line: bytes, number: int) -> dict[str, Any]:
    record = _loads(line, number)
    where = f"line {number}"
    if not isinstance(record, dict):
        raise PayloadRefused(f"{where}: not a JSON object", number)
    unknown = sorted(set(record) - RECORD_KEYS)
    if unknown:
        raise PayloadRefused(f"{where}: unknown key {unknown[0]!r}", number)
    record_id = record.get("id")
    if not isinstance(record_id, str) or not record_id:
        raise PayloadRefused(f"{where}: the id is not a non-empty string", number)
    if not isinstance(record.get("document", ""), str):
        raise PayloadRefused(f"{where}: the document is not a string", number)
    if not isinstance(record.get("uri", ""), str):
        raise PayloadRefused(f"{where}: the uri is not a string", number)
    if "metadata" in record:
        problem = metadata_problem(record["metadata"])
        if problem:
            raise PayloadRefused(f"{where}: metadata: {problem}", number)
    return record


# --------------------------------------------------------------------------- embeddings.npy


class Embeddings:
    """An ``embeddings.npy`` stream whose header was checked: rows read in blocks."""

    def __init__(self, stream: IO[bytes], count: int, dimension: int) -> None:
        self.stream = stream
        self.count = count
        self.dimension = dimension
        self.row_bytes = max(1, dimension) * ITEM_SIZE
        self.read = 0

    def blocks(self, rows: int) -> Iterator[Any]:
        """Arrays of at most ``rows`` rows (float32, shape (n, dimension)), in order."""
        import numpy as np

        while self.read < self.count:
            take = min(rows, self.count - self.read)
            data = read_exactly(self.stream, take * self.row_bytes)
            if len(data) != take * self.row_bytes:
                raise PayloadRefused(f"ends after {self.read + len(data) // self.row_bytes} of "
                                     f"{self.count} rows")
            self.read += take
            yield np.frombuffer(data, dtype=NPY_DESCR).reshape(take, self.dimension)
        if self.stream.read(1):
            raise PayloadRefused("has bytes after its last row")


def open_embeddings(stream: IO[bytes], declared: Declared, size: int | None) -> Embeddings:
    """Check the ``.npy`` header against ``declared`` (and ``size``, when known); raises
    :class:`PayloadRefused`. Nothing is allocated from the header's numbers."""
    import numpy.lib.format as npy

    try:
        major, minor = npy.read_magic(stream)
        if (major, minor) == (1, 0):
            header = npy.read_array_header_1_0(stream)
        elif (major, minor) == (2, 0):
            header = npy.read_array_header_2_0(stream)
        else:
            raise PayloadRefused(f"npy format version {major}.{minor} is not 1.0 or 2.0")
    except PayloadRefused:
        raise
    except Exception as exc:
        raise PayloadRefused(f"not an .npy file ({' '.join(str(exc).split())[:200]})") from None
    shape, fortran, dtype = header
    if dtype.hasobject:
        raise PayloadRefused("holds Python objects (a pickle); dbplay never loads pickles")
    if dtype.str != NPY_DESCR:
        raise PayloadRefused(f"dtype {dtype.str!r} is not {NPY_DESCR!r} (float32 "
                             "little-endian)")
    if fortran:
        raise PayloadRefused("is in Fortran order; C order is expected")
    dimension = declared.dimension or 0
    if tuple(shape) != (declared.count, dimension):
        raise PayloadRefused(f"shape {tuple(shape)} is not (count, dimension) = "
                             f"({declared.count}, {dimension}) from {COLLECTION_FILE}")
    offset = _tell(stream)
    if size is not None and offset is not None:
        expected = offset + declared.count * dimension * ITEM_SIZE
        if size != expected:
            raise PayloadRefused(f"is {size} bytes; its header declares {expected}")
    return Embeddings(stream, declared.count, dimension)


def check_finite(block: Any, rows: Embeddings) -> None:
    import numpy as np

    if block.size and not np.isfinite(block).all():
        bad = int(np.flatnonzero(~np.isfinite(block).all(axis=1))[0])
        row = rows.read - len(block) + bad + 1
        raise PayloadRefused(f"row {row} holds a value that is not a finite number", row)


def _tell(stream: object) -> int | None:
    try:
        return int(stream.tell())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return None

