"""The static scan of an untrusted MongoDB payload: no server, nothing but JSON and BSON.

Each metadata file is read (at most 16 MiB, nesting checked before it is parsed) with
``bson.json_util`` and checked against an allow-list of keys and options; each BSON file
is read as a stream of documents, checking every document's framing (int32 length within
16 MiB, ending NUL, no bytes left over) and that it decodes as BSON within the nesting
limit. Refused, as a :class:`~dbplay_desktop.engines.base.Finding` naming the file:

* server-side JavaScript: ``$where``, ``$function``, ``$accumulator`` anywhere (validators,
  view pipelines, partial filter expressions), and JavaScript code values in metadata;
* another namespace: ``$lookup``/``$graphLookup``/``$unionWith``/``$out``/``$merge`` naming
  a ``db``, ``from`` given as a namespace document, ``$out``/``$merge`` in a view, a
  ``viewOn`` that is not a plain collection name, ``system.*`` collections;
* stages that read the server rather than the database (``$currentOp``, ``$listSessions``,
  ``$collStats``, ...);
* options that touch the server (``storageEngine``, ``indexOptionDefaults``,
  ``encryptedFields``, ...) and any metadata, option or index key not on the allow-list;
* files that are not listed as pairs (``X.metadata.json`` then ``X.bson``; a view's
  metadata alone), unknown file names, a ``collectionName`` other than the file's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bson import decode
from bson.code import Code
from bson.errors import BSONError

from dbplay_desktop.engines.base import Finding, PayloadSource, ProgressCallback, RestoreError
from dbplay_desktop.engines.mongo.payload import (
    BSON_SUFFIX,
    CODEC,
    MAX_DEPTH,
    MAX_METADATA_SIZE,
    METADATA_SUFFIX,
    FramingError,
    json_depth_exceeded,
    loads_metadata,
    read_documents,
    read_limited,
    unescape_name,
    value_depth,
)

METADATA_KEYS = frozenset({"options", "indexes", "uuid", "collectionName", "type"})
TYPES = frozenset({"collection", "view", "timeseries"})
OPTIONS = frozenset({
    "capped", "size", "max", "validator", "validationLevel", "validationAction",
    "collation", "timeseries", "expireAfterSeconds", "clusteredIndex", "viewOn",
    "pipeline", "changeStreamPreAndPostImages",
})
#: Options that reach the server's storage or key management, named in the refusal.
SERVER_OPTIONS = frozenset({
    "storageEngine", "indexOptionDefaults", "encryptedFields", "recordPreImages",
    "temp", "autoIndexId", "flags", "writeConcern", "idIndex",
})
INDEX_KEYS = frozenset({
    "v", "key", "name", "ns", "unique", "sparse", "partialFilterExpression",
    "expireAfterSeconds", "collation", "hidden", "weights", "default_language",
    "language_override", "textIndexVersion", "2dsphereIndexVersion", "bits", "min", "max",
    "wildcardProjection", "background", "prepareUnique", "bucketSize", "clustered",
})
INDEX_KINDS = frozenset({"2dsphere", "2d", "text", "hashed", "geoHaystack"})
JAVASCRIPT = frozenset({"$where", "$function", "$accumulator"})
CROSS_NAMESPACE = frozenset({"$lookup", "$graphLookup", "$unionWith", "$out", "$merge"})
SERVER_STAGES = frozenset({
    "$currentOp", "$listSessions", "$listLocalSessions", "$collStats", "$indexStats",
    "$planCacheStats", "$changeStream", "$changeStreamSplitLargeEvent",
    "$listSearchIndexes", "$listSampledQueries", "$queryStats",
    "$shardedDataDistribution", "$listCatalog", "$listClusterCatalog",
})


class MetadataRefused(ValueError):
    pass


def scan_payload(source: PayloadSource, progress: ProgressCallback | None = None) -> list[Finding]:
    """The findings of the static scan; an empty list means nothing was refused."""
    findings: list[Finding] = []
    paths = list(source.paths())
    sizes = [source.size(p) for p in paths]
    total = None if None in sizes else sum(s or 0 for s in sizes)
    done = 0
    for finding in check_layout(paths):
        findings.append(finding)
    for index, (path, size) in enumerate(zip(paths, sizes, strict=True)):
        if path.endswith(METADATA_SUFFIX):
            found, metadata = _scan_metadata(source, path)
            findings.extend(found)
            following = paths[index + 1] if index + 1 < len(paths) else ""
            has_data = following == path[: -len(METADATA_SUFFIX)] + BSON_SUFFIX
            if metadata is not None:
                view = metadata.get("type") == "view"
                if view and has_data:
                    findings.append(Finding(following, 0, "a view has no BSON file"))
                elif not view and not has_data:
                    findings.append(Finding(path, 0, "a collection's metadata must be "
                                    "followed by its BSON file"))
        elif path.endswith(BSON_SUFFIX):
            findings.extend(_scan_bson(source, path, progress, done, total))
        done += size or 0
        if progress is not None and progress(done, total):
            raise RestoreError("scan cancelled")
    return findings


def check_layout(paths: list[str]) -> Iterator[Finding]:
    """File names and order: each metadata file, then its BSON file unless it is a view's."""
    seen: set[str] = set()
    for index, path in enumerate(paths):
        if path in seen:
            yield Finding(path, 0, "listed twice")
        seen.add(path)
        if "/" in path:
            yield Finding(path, 0, "a MongoDB payload has no folders")
        elif path.endswith(METADATA_SUFFIX):
            _name_of(path, METADATA_SUFFIX)
        elif path.endswith(BSON_SUFFIX):
            stem = path[: -len(BSON_SUFFIX)]
            before = paths[index - 1] if index else ""
            if before != stem + METADATA_SUFFIX:
                yield Finding(path, 0, f"not listed right after its metadata file "
                                       f"{stem + METADATA_SUFFIX}")
        else:
            yield Finding(path, 0, "not a MongoDB payload file (expected NAME.metadata.json "
                                   "and NAME.bson)")
        if path.endswith((METADATA_SUFFIX, BSON_SUFFIX)):
            suffix = METADATA_SUFFIX if path.endswith(METADATA_SUFFIX) else BSON_SUFFIX
            name = _name_of(path, suffix)
            if name is None:
                yield Finding(path, 0, "the file name is not a percent-escaped collection name")
            elif not name or name.startswith("system.") or "\x00" in name or "$" in name:
                yield Finding(path, 0, f"{name!r} is not a collection dbplay restores "
                                       "(system.*, $ or NUL in the name)")


def _name_of(path: str, suffix: str) -> str | None:
    try:
        return unescape_name(path[: -len(suffix)])
    except UnicodeDecodeError:
        return None


def read_metadata(data: bytes, path: str) -> dict[str, Any]:
    """Parse and check one metadata file; raises :class:`MetadataRefused`."""
    if json_depth_exceeded(data):
        raise MetadataRefused(f"nests objects or lists more than {MAX_DEPTH} deep")
    try:
        value = loads_metadata(data)
    except (ValueError, TypeError, BSONError, RecursionError) as exc:
        raise MetadataRefused(f"not Extended JSON ({' '.join(str(exc).split())[:200]})") from None
    if not isinstance(value, dict):
        raise MetadataRefused("is not a JSON object")
    return value


def metadata_problems(metadata: dict[str, Any], path: str) -> list[str]:
    """Why a parsed metadata object is refused (empty: it is fine)."""
    problems: list[str] = []
    unknown = sorted(set(metadata) - METADATA_KEYS)
    if unknown:
        problems.append(f"unknown metadata key {unknown[0]!r}")
    name = _name_of(path, METADATA_SUFFIX)
    declared = metadata.get("collectionName", name)
    if declared != name:
        problems.append(f"collectionName {declared!r} is not the file's collection {name!r}")
    kind = metadata.get("type", "collection")
    if kind not in TYPES:
        problems.append(f"type {kind!r} is not collection, view or timeseries")
    options = metadata.get("options", {})
    if not isinstance(options, dict):
        return [*problems, "options is not an object"]
    for key in options:
        if key in SERVER_OPTIONS:
            problems.append(f"option {key!r} reaches the server's configuration; refused")
        elif key not in OPTIONS:
            problems.append(f"unknown collection option {key!r}")
    is_view = kind == "view" or "viewOn" in options
    if is_view:
        view_on = options.get("viewOn")
        if not isinstance(view_on, str) or not view_on or "\x00" in view_on \
                or view_on.startswith(("system.", "$")):
            problems.append(f"viewOn {view_on!r} is not a collection of this database")
        if not isinstance(options.get("pipeline", []), list):
            problems.append("a view's pipeline must be a list")
    indexes = metadata.get("indexes", [])
    if not isinstance(indexes, list):
        problems.append("indexes is not a list")
        indexes = []
    for spec in indexes:
        problems.extend(_index_problems(spec))
    problems.extend(_walk(options, in_view=is_view))
    for spec in indexes:
        if isinstance(spec, dict):
            problems.extend(_walk(spec, in_view=False))
    return problems


def _index_problems(spec: Any) -> list[str]:
    if not isinstance(spec, dict):
        return ["an index is not an object"]
    name = spec.get("name")
    label = f"index {name!r}"
    problems = []
    for key in spec:
        if key == "storageEngine":
            problems.append(f"{label}: storageEngine reaches the server's configuration")
        elif key not in INDEX_KEYS:
            problems.append(f"{label}: unknown index option {key!r}")
    if not isinstance(name, str) or not name:
        problems.append(f"{label}: an index needs a name")
    key = spec.get("key")
    if not isinstance(key, dict) or not key:
        problems.append(f"{label}: key must be a non-empty object")
    else:
        for field, kind in key.items():
            if isinstance(kind, str) and kind not in INDEX_KINDS:
                problems.append(f"{label}: unknown index kind {kind!r} on {field!r}")
            elif (not isinstance(kind, str | int | float) or isinstance(kind, bool)) \
                    and type(kind).__name__ not in ("Int64", "Decimal128"):
                problems.append(f"{label}: the key of {field!r} is not a number or a kind")
    return problems


def _walk(value: Any, *, in_view: bool) -> list[str]:
    """Operators anywhere in ``value`` that run JavaScript or reach another namespace."""
    problems: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Code):
            problems.append("holds JavaScript code; server-side JavaScript is refused")
        elif isinstance(item, dict):
            for key, child in item.items():
                if key in JAVASCRIPT:
                    problems.append(f"{key} runs server-side JavaScript; refused")
                elif key in SERVER_STAGES:
                    problems.append(f"{key} reads the server, not the database; refused")
                elif key in CROSS_NAMESPACE:
                    reason = _namespace(key, child, in_view)
                    if reason:
                        problems.append(reason)
                stack.append(child)
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return problems


def _namespace(stage: str, spec: Any, in_view: bool) -> str | None:
    if in_view and stage in ("$out", "$merge"):
        return f"{stage} writes to a collection; refused in a view"
    if stage in ("$out", "$merge"):
        if isinstance(spec, dict):
            into = spec.get("into", spec)
            if isinstance(into, dict) and "db" in into:
                return f"{stage} names another database ({into['db']!r})"
            if "db" in spec:
                return f"{stage} names another database ({spec['db']!r})"
        return None
    if isinstance(spec, dict):
        if "db" in spec:
            return f"{stage} names another database ({spec['db']!r})"
        source = spec.get("from", spec.get("coll"))
        if isinstance(source, dict):
            return f"{stage} reads a namespace of another database"
    return None


def _scan_metadata(
    source: PayloadSource, path: str
) -> tuple[list[Finding], dict[str, Any] | None]:
    try:
        with source.open(path) as stream:
            data = read_limited(stream, MAX_METADATA_SIZE, "the metadata file")
        metadata = read_metadata(data, path)
    except (MetadataRefused, ValueError) as exc:
        return [Finding(path, 1, str(exc))], None
    problems = dict.fromkeys(metadata_problems(metadata, path))
    return [Finding(path, 1, problem) for problem in problems], metadata


def _scan_bson(
    source: PayloadSource, path: str, progress: ProgressCallback | None, done: int,
    total: int | None,
) -> list[Finding]:
    with source.open(path) as stream:
        try:
            for number, document in enumerate(read_documents(stream), 1):
                problem = document_problem(document)
                if problem:
                    return [Finding(path, number, f"document {number}: {problem}")]
                if (progress is not None and number % 1000 == 0
                        and progress(done + _tell(stream), total)):
                    raise RestoreError("scan cancelled")
        except FramingError as exc:
            return [Finding(path, exc.index, f"not a BSON document sequence: {exc} "
                                             f"(at byte {exc.offset})")]
    return []


def document_problem(document: bytes) -> str | None:
    """Why one framed document is refused: not BSON, or nested too deep."""
    try:
        value = decode(document, CODEC)
    except RecursionError:
        return f"nests documents or arrays more than {MAX_DEPTH} deep"
    except Exception as exc:
        return f"not valid BSON ({' '.join(str(exc).split())[:200]})"
    # Each level of nesting takes at least 7 bytes (type, empty name, length, end).
    if len(document) > 7 * MAX_DEPTH and value_depth(value) > MAX_DEPTH:
        return f"nests documents or arrays more than {MAX_DEPTH} deep"
    return None


def _tell(stream: object) -> int:
    try:
        return int(stream.tell())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return 0
